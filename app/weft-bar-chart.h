/* weft-bar-chart.h — grouped vertical bars drawn with Cairo (one group per
 * category, one bar per series), e.g. accuracy of each fusion template with
 * all modalities and with each one missing. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define WEFT_TYPE_BAR_CHART (weft_bar_chart_get_type ())

G_DECLARE_FINAL_TYPE (WeftBarChart, weft_bar_chart, WEFT, BAR_CHART, GtkWidget)

GtkWidget *weft_bar_chart_new       (void);
void       weft_bar_chart_set_title (WeftBarChart *self, const char *title);
/* Copies everything: categories (n_categories names), series (n_series
 * names) and values (n_categories, n_series) row-major; NaN draws no bar. */
void       weft_bar_chart_set_data  (WeftBarChart *self,
                                     const char *const *categories, guint n_categories,
                                     const char *const *series, guint n_series,
                                     const double *values);
/* Draws into cr (no hover); for export. */
void       weft_bar_chart_render    (WeftBarChart *self, cairo_t *cr, int width, int height,
                                     gboolean dark);

G_END_DECLS
