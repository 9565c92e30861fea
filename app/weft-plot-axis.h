/* weft-plot-axis.h — one axis of a WeftPlot: the range the data spans, the
 * range the user zoomed to, linear or logarithmic mapping, and tick values. */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define WEFT_TYPE_PLOT_AXIS (weft_plot_axis_get_type ())

G_DECLARE_FINAL_TYPE (WeftPlotAxis, weft_plot_axis, WEFT, PLOT_AXIS, GObject)

WeftPlotAxis *weft_plot_axis_new          (const char *label);

const char   *weft_plot_axis_get_label    (WeftPlotAxis *self);
void          weft_plot_axis_set_label    (WeftPlotAxis *self, const char *label);
gboolean      weft_plot_axis_get_log      (WeftPlotAxis *self);
void          weft_plot_axis_set_log      (WeftPlotAxis *self, gboolean log);

/* The range of the data (set by the plot whenever points change). */
void          weft_plot_axis_set_data_range (WeftPlotAxis *self, double min, double max);
/* A zoomed range; NaN, NaN goes back to the data range. */
void          weft_plot_axis_set_view     (WeftPlotAxis *self, double min, double max);
void          weft_plot_axis_reset_view   (WeftPlotAxis *self);
gboolean      weft_plot_axis_is_zoomed    (WeftPlotAxis *self);
/* The range drawn: the zoom if any, else the data range padded and, on a
 * log axis, kept positive. */
void          weft_plot_axis_get_range    (WeftPlotAxis *self, double *min, double *max);

/* Position of value in the drawn range, 0 at min and 1 at max (log axes
 * map log10); and back. */
double        weft_plot_axis_map          (WeftPlotAxis *self, double value);
double        weft_plot_axis_unmap        (WeftPlotAxis *self, double t);

/* Up to max_ticks "round" tick values inside the drawn range; returns how
 * many were written to ticks. */
guint         weft_plot_axis_ticks        (WeftPlotAxis *self, double *ticks, guint max_ticks);
/* A tick label, short ("0.25", "1e-4", "12k"); caller frees. */
char         *weft_plot_axis_format       (WeftPlotAxis *self, double value);

G_END_DECLS
