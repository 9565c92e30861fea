/* weft-plot-axis.c — one axis of a WeftPlot: data range, zoom, linear or
 * logarithmic mapping and round tick values. A plain object, drawn by the plot. */

#include <math.h>

#include "weft-plot-axis.h"

struct _WeftPlotAxis
{
  GObject parent_instance;

  char *label;
  gboolean log;
  double data_min, data_max;   /* NaN: no data */
  double view_min, view_max;   /* NaN: not zoomed */
};

G_DEFINE_FINAL_TYPE (WeftPlotAxis, weft_plot_axis, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_LABEL,
  PROP_LOG,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
weft_plot_axis_finalize (GObject *object)
{
  WeftPlotAxis *self = WEFT_PLOT_AXIS (object);

  g_free (self->label);
  G_OBJECT_CLASS (weft_plot_axis_parent_class)->finalize (object);
}

static void
weft_plot_axis_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  WeftPlotAxis *self = WEFT_PLOT_AXIS (object);

  switch (prop_id)
    {
    case PROP_LABEL:
      g_value_set_string (value, self->label);
      break;
    case PROP_LOG:
      g_value_set_boolean (value, self->log);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
weft_plot_axis_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  WeftPlotAxis *self = WEFT_PLOT_AXIS (object);

  switch (prop_id)
    {
    case PROP_LABEL:
      weft_plot_axis_set_label (self, g_value_get_string (value));
      break;
    case PROP_LOG:
      weft_plot_axis_set_log (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
weft_plot_axis_class_init (WeftPlotAxisClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = weft_plot_axis_finalize;
  object_class->get_property = weft_plot_axis_get_property;
  object_class->set_property = weft_plot_axis_set_property;

  properties[PROP_LABEL] =
    g_param_spec_string ("label", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LOG] =
    g_param_spec_boolean ("log", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
weft_plot_axis_init (WeftPlotAxis *self)
{
  self->data_min = self->data_max = NAN;
  self->view_min = self->view_max = NAN;
}

WeftPlotAxis *
weft_plot_axis_new (const char *label)
{
  return g_object_new (WEFT_TYPE_PLOT_AXIS, "label", label, NULL);
}

const char *
weft_plot_axis_get_label (WeftPlotAxis *self)
{
  g_return_val_if_fail (WEFT_IS_PLOT_AXIS (self), NULL);
  return self->label;
}

void
weft_plot_axis_set_label (WeftPlotAxis *self, const char *label)
{
  g_return_if_fail (WEFT_IS_PLOT_AXIS (self));
  if (g_strcmp0 (self->label, label) == 0)
    return;
  g_free (self->label);
  self->label = g_strdup (label);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LABEL]);
}

gboolean
weft_plot_axis_get_log (WeftPlotAxis *self)
{
  g_return_val_if_fail (WEFT_IS_PLOT_AXIS (self), FALSE);
  return self->log;
}

void
weft_plot_axis_set_log (WeftPlotAxis *self, gboolean log)
{
  g_return_if_fail (WEFT_IS_PLOT_AXIS (self));
  log = !!log;
  if (self->log == log)
    return;
  self->log = log;
  /* A zoom chosen on one scale means little on the other. */
  self->view_min = self->view_max = NAN;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOG]);
}

void
weft_plot_axis_set_data_range (WeftPlotAxis *self, double min, double max)
{
  g_return_if_fail (WEFT_IS_PLOT_AXIS (self));
  self->data_min = min;
  self->data_max = max;
}

void
weft_plot_axis_set_view (WeftPlotAxis *self, double min, double max)
{
  g_return_if_fail (WEFT_IS_PLOT_AXIS (self));
  if (!isnan (min) && !isnan (max) && min > max)
    {
      double t = min;
      min = max;
      max = t;
    }
  self->view_min = min;
  self->view_max = max;
}

void
weft_plot_axis_reset_view (WeftPlotAxis *self)
{
  weft_plot_axis_set_view (self, NAN, NAN);
}

gboolean
weft_plot_axis_is_zoomed (WeftPlotAxis *self)
{
  g_return_val_if_fail (WEFT_IS_PLOT_AXIS (self), FALSE);
  return !isnan (self->view_min);
}

void
weft_plot_axis_get_range (WeftPlotAxis *self, double *min, double *max)
{
  double lo, hi;

  g_return_if_fail (WEFT_IS_PLOT_AXIS (self));

  if (!isnan (self->view_min) && self->view_max > self->view_min)
    {
      lo = self->view_min;
      hi = self->view_max;
    }
  else if (isnan (self->data_min) || isnan (self->data_max))
    {
      lo = self->log ? 0.1 : 0;
      hi = 1;
    }
  else
    {
      lo = self->data_min;
      hi = self->data_max;
      if (self->log)
        {
          /* Values <= 0 cannot be drawn on a log scale; keep what can. */
          if (hi <= 0)
            hi = 1;
          if (lo <= 0)
            lo = hi / 1000;
          if (hi / lo < 1.01)
            {
              lo /= 1.5;
              hi *= 1.5;
            }
        }
      else if (hi - lo < 1e-12 * MAX (1, fabs (hi)))
        {
          double pad = fabs (hi) > 0 ? fabs (hi) * 0.1 : 1;
          lo -= pad;
          hi += pad;
        }
    }
  if (min)
    *min = lo;
  if (max)
    *max = hi;
}

double
weft_plot_axis_map (WeftPlotAxis *self, double value)
{
  double lo, hi;

  weft_plot_axis_get_range (self, &lo, &hi);
  if (self->log)
    {
      if (value <= 0)
        return -INFINITY;
      return (log10 (value) - log10 (lo)) / (log10 (hi) - log10 (lo));
    }
  return (value - lo) / (hi - lo);
}

double
weft_plot_axis_unmap (WeftPlotAxis *self, double t)
{
  double lo, hi;

  weft_plot_axis_get_range (self, &lo, &hi);
  if (self->log)
    return pow (10, log10 (lo) + t * (log10 (hi) - log10 (lo)));
  return lo + t * (hi - lo);
}

guint
weft_plot_axis_ticks (WeftPlotAxis *self, double *ticks, guint max_ticks)
{
  double lo, hi;
  guint n = 0;

  g_return_val_if_fail (WEFT_IS_PLOT_AXIS (self), 0);
  if (max_ticks == 0)
    return 0;

  weft_plot_axis_get_range (self, &lo, &hi);
  if (self->log)
    {
      int e0 = (int) floor (log10 (lo)), e1 = (int) ceil (log10 (hi));
      int decades = MAX (1, e1 - e0);
      int every = (decades + max_ticks - 1) / max_ticks;
      /* Few decades: 1, 2, 5 in each; many: every k-th power of ten. */
      static const double mult[] = { 1, 2, 5 };
      guint per = decades * 3 <= (int) max_ticks ? 3 : 1;
      for (int e = e0; e <= e1 && n < max_ticks; e++)
        {
          if (per == 1 && (e - e0) % MAX (1, every) != 0)
            continue;
          for (guint k = 0; k < per && n < max_ticks; k++)
            {
              double v = mult[k] * pow (10, e);
              if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9))
                ticks[n++] = v;
            }
        }
      return n;
    }

  double span = hi - lo;
  double raw = span / MAX (1, max_ticks - 1);
  double mag = pow (10, floor (log10 (raw)));
  double step = mag;
  static const double nice[] = { 1, 2, 2.5, 5, 10 };
  for (guint i = 0; i < G_N_ELEMENTS (nice); i++)
    if (nice[i] * mag >= raw)
      {
        step = nice[i] * mag;
        break;
      }
  for (double v = ceil (lo / step - 1e-9) * step; v <= hi + step * 1e-9 && n < max_ticks; v += step)
    ticks[n++] = fabs (v) < step * 1e-9 ? 0 : v;
  return n;
}

char *
weft_plot_axis_format (WeftPlotAxis *self, double value)
{
  double a = fabs (value);

  if (value == 0)
    return g_strdup ("0");
  if (a >= 1e6)
    return g_strdup_printf ("%.3gM", value / 1e6);
  if (a >= 1e4)
    return g_strdup_printf ("%.3gk", value / 1e3);
  if (a < 1e-3)
    return g_strdup_printf ("%.0e", value);
  return g_strdup_printf ("%.4g", value);
}
