/* weft-plot.h — a line plot drawn with Cairo: series of (x, y) points on two
 * WeftPlotAxis objects, legend, hover read-out, zoom, log scale and export. */
#pragma once

#include <gtk/gtk.h>

#include "weft-plot-axis.h"

G_BEGIN_DECLS

#define WEFT_TYPE_PLOT (weft_plot_get_type ())

G_DECLARE_FINAL_TYPE (WeftPlot, weft_plot, WEFT, PLOT, GtkWidget)

typedef enum {
  WEFT_PLOT_LINE,            /* a polyline (dense data is min/max decimated) */
  WEFT_PLOT_LINE_POINTS,     /* a polyline with a dot on each point (epochs) */
  WEFT_PLOT_FAINT,           /* a thin, translucent polyline (raw step loss) */
  WEFT_PLOT_DASHED,          /* an overlaid earlier run */
} WeftPlotStyle;

/* Number of distinct series colours; colour indices wrap around. */
#define WEFT_PLOT_N_COLORS 6

GtkWidget    *weft_plot_new           (void);

const char   *weft_plot_get_title     (WeftPlot *self);
void          weft_plot_set_title     (WeftPlot *self, const char *title);
/* Borrowed; the plot owns its axes. */
WeftPlotAxis *weft_plot_get_x_axis    (WeftPlot *self);
WeftPlotAxis *weft_plot_get_y_axis    (WeftPlot *self);

/* Adds an empty series and returns its index. Points must come in
 * ascending x order (the hover read-out bisects). */
guint         weft_plot_add_series    (WeftPlot *self, const char *name,
                                       WeftPlotStyle style, guint color);
guint         weft_plot_get_n_series  (WeftPlot *self);
void          weft_plot_append        (WeftPlot *self, guint series, double x, double y);
/* Appends n points at once (one redraw, however many points). */
void          weft_plot_append_many   (WeftPlot *self, guint series, const double *x,
                                       const double *y, guint n);
void          weft_plot_clear_points  (WeftPlot *self, guint series);
void          weft_plot_set_series_visible (WeftPlot *self, guint series, gboolean visible);
/* Removes every series from index `from` on. */
void          weft_plot_truncate_series (WeftPlot *self, guint from);
/* Points in visible series. */
guint         weft_plot_get_n_points  (WeftPlot *self);

void          weft_plot_reset_zoom    (WeftPlot *self);

/* Draws the plot (without hover) into cr at width x height, in the current
 * style's colours; used for the widget and for export. */
void          weft_plot_render        (WeftPlot *self, cairo_t *cr, int width, int height,
                                       gboolean dark);
/* Writes the plot to path as PNG, SVG or PDF, chosen by the extension. */
gboolean      weft_plot_export        (WeftPlot *self, const char *path, int width,
                                       int height, GError **error);

G_END_DECLS
