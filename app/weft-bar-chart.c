/* weft-bar-chart.c — grouped bars with value labels and a legend; colours
 * from the same palette as the plots so light and dark both read. */

#include "weft-config.h"

#include <math.h>
#include <glib/gi18n.h>
#include <adwaita.h>

#include "weft-bar-chart.h"
#include "weft-plot.h"

struct _WeftBarChart
{
  GtkWidget parent_instance;

  char *title;
  GStrv categories, series;
  double *values;
  guint n_categories, n_series;
};

G_DEFINE_FINAL_TYPE (WeftBarChart, weft_bar_chart, GTK_TYPE_WIDGET)

static const double colors_light[][3] = {
  { 0.208, 0.518, 0.894 }, { 0.902, 0.380, 0.000 }, { 0.149, 0.635, 0.412 },
  { 0.569, 0.255, 0.675 }, { 0.878, 0.106, 0.141 }, { 0.596, 0.416, 0.267 },
};
static const double colors_dark[][3] = {
  { 0.384, 0.627, 0.918 }, { 1.000, 0.639, 0.282 }, { 0.341, 0.890, 0.537 },
  { 0.753, 0.380, 0.796 }, { 0.965, 0.380, 0.318 }, { 0.804, 0.671, 0.561 },
};

void
weft_bar_chart_render (WeftBarChart *self, cairo_t *cr, int w, int h, gboolean dark)
{
  g_autoptr(PangoLayout) layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), self->title);
  PangoFontDescription *font = pango_font_description_from_string ("Sans Bold 10");
  const double (*pal)[3] = dark ? colors_dark : colors_light;
  double vmax = 0;
  int tw, th;

  g_return_if_fail (WEFT_IS_BAR_CHART (self));

  pango_layout_set_font_description (layout, font);
  pango_font_description_free (font);
  cairo_set_source_rgba (cr, dark, dark, dark, 0.85);
  cairo_move_to (cr, 12, 10);
  pango_cairo_show_layout (cr, layout);
  font = pango_font_description_from_string ("Sans 8");
  pango_layout_set_font_description (layout, font);
  pango_font_description_free (font);

  for (guint i = 0; i < self->n_categories * self->n_series; i++)
    if (isfinite (self->values[i]))
      vmax = MAX (vmax, self->values[i]);
  if (vmax <= 0)
    vmax = 1;
  /* Accuracies: a 0..1 scale makes templates comparable at a glance. */
  if (vmax <= 1)
    vmax = 1;

  /* Legend */
  double lx = 12, ly = 32;
  for (guint s = 0; s < self->n_series; s++)
    {
      pango_layout_set_text (layout, self->series[s], -1);
      pango_layout_get_pixel_size (layout, &tw, &th);
      cairo_set_source_rgb (cr, pal[s % 6][0], pal[s % 6][1], pal[s % 6][2]);
      cairo_rectangle (cr, lx, ly + 2, 10, 10);
      cairo_fill (cr);
      cairo_set_source_rgba (cr, dark, dark, dark, 0.8);
      cairo_move_to (cr, lx + 14, ly);
      pango_cairo_show_layout (cr, layout);
      lx += tw + 30;
    }

  double top = 56, bottom = h - 34, left = 40, right = w - 12;
  if (self->n_categories == 0 || bottom - top < 20)
    return;

  /* Grid at 0, 25, 50, 75, 100 % of the scale */
  cairo_set_line_width (cr, 1);
  for (int k = 0; k <= 4; k++)
    {
      double y = round (bottom - (bottom - top) * k / 4.0) + 0.5;
      g_autofree char *label = g_strdup_printf ("%.3g", vmax * k / 4.0);
      cairo_set_source_rgba (cr, dark, dark, dark, 0.1);
      cairo_move_to (cr, left, y);
      cairo_line_to (cr, right, y);
      cairo_stroke (cr);
      pango_layout_set_text (layout, label, -1);
      pango_layout_get_pixel_size (layout, &tw, &th);
      cairo_set_source_rgba (cr, dark, dark, dark, 0.6);
      cairo_move_to (cr, left - tw - 4, y - th / 2.0);
      pango_cairo_show_layout (cr, layout);
    }

  double group_w = (right - left) / self->n_categories;
  double bar_w = MIN (40, (group_w - 12) / MAX (1, self->n_series));
  for (guint c = 0; c < self->n_categories; c++)
    {
      double gx = left + c * group_w + (group_w - bar_w * self->n_series) / 2;
      for (guint s = 0; s < self->n_series; s++)
        {
          double v = self->values[c * self->n_series + s];
          if (!isfinite (v))
            continue;
          double bh = (bottom - top) * CLAMP (v / vmax, 0, 1);
          cairo_set_source_rgb (cr, pal[s % 6][0], pal[s % 6][1], pal[s % 6][2]);
          cairo_rectangle (cr, gx + s * bar_w + 1, bottom - bh, bar_w - 2, bh);
          cairo_fill (cr);
          if (bar_w >= 22)
            {
              g_autofree char *label = g_strdup_printf ("%.2f", v);
              pango_layout_set_text (layout, label, -1);
              pango_layout_get_pixel_size (layout, &tw, &th);
              cairo_set_source_rgba (cr, dark, dark, dark, 0.75);
              cairo_move_to (cr, gx + s * bar_w + (bar_w - tw) / 2, bottom - bh - th - 1);
              pango_cairo_show_layout (cr, layout);
            }
        }
      pango_layout_set_text (layout, self->categories[c], -1);
      pango_layout_set_width (layout, (int) (group_w - 4) * PANGO_SCALE);
      pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
      pango_layout_get_pixel_size (layout, &tw, &th);
      cairo_set_source_rgba (cr, dark, dark, dark, 0.75);
      cairo_move_to (cr, left + c * group_w + (group_w - tw) / 2, bottom + 6);
      pango_cairo_show_layout (cr, layout);
      pango_layout_set_width (layout, -1);
    }
}

static void
weft_bar_chart_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  cairo_t *cr;

  if (w <= 0 || h <= 0)
    return;
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
  weft_bar_chart_render (WEFT_BAR_CHART (widget), cr, w, h,
                         adw_style_manager_get_dark (adw_style_manager_get_default ()));
  cairo_destroy (cr);
}

static void
weft_bar_chart_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                        int *minimum, int *natural, int *min_baseline, int *nat_baseline)
{
  *minimum = orientation == GTK_ORIENTATION_HORIZONTAL ? 300 : 200;
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 600 : 260;
}

static void
weft_bar_chart_finalize (GObject *object)
{
  WeftBarChart *self = WEFT_BAR_CHART (object);

  g_free (self->title);
  g_strfreev (self->categories);
  g_strfreev (self->series);
  g_free (self->values);
  G_OBJECT_CLASS (weft_bar_chart_parent_class)->finalize (object);
}

static void
weft_bar_chart_class_init (WeftBarChartClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = weft_bar_chart_finalize;
  widget_class->snapshot = weft_bar_chart_snapshot;
  widget_class->measure = weft_bar_chart_measure;
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
  gtk_widget_class_set_css_name (widget_class, "weft-bar-chart");
}

static void
weft_bar_chart_init (WeftBarChart *self)
{
  self->values = g_new0 (double, 1);
  g_signal_connect_object (adw_style_manager_get_default (), "notify::dark",
                           G_CALLBACK (gtk_widget_queue_draw), self, G_CONNECT_SWAPPED);
}

GtkWidget *
weft_bar_chart_new (void)
{
  return g_object_new (WEFT_TYPE_BAR_CHART, NULL);
}

void
weft_bar_chart_set_title (WeftBarChart *self, const char *title)
{
  g_return_if_fail (WEFT_IS_BAR_CHART (self));

  g_free (self->title);
  self->title = g_strdup (title);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  title ? title : "", -1);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
weft_bar_chart_set_data (WeftBarChart *self,
                         const char *const *categories, guint n_categories,
                         const char *const *series, guint n_series,
                         const double *values)
{
  GString *desc = g_string_new (NULL);

  g_return_if_fail (WEFT_IS_BAR_CHART (self));

  g_strfreev (self->categories);
  g_strfreev (self->series);
  g_free (self->values);
  self->categories = g_new0 (char *, n_categories + 1);
  self->series = g_new0 (char *, n_series + 1);
  for (guint i = 0; i < n_categories; i++)
    self->categories[i] = g_strdup (categories[i]);
  for (guint i = 0; i < n_series; i++)
    self->series[i] = g_strdup (series[i]);
  self->values = g_memdup2 (values, MAX (1, n_categories * n_series) * sizeof (double));
  self->n_categories = n_categories;
  self->n_series = n_series;

  for (guint c = 0; c < n_categories; c++)
    {
      g_string_append_printf (desc, "%s%s:", c ? "; " : "", categories[c]);
      for (guint s = 0; s < n_series; s++)
        g_string_append_printf (desc, " %s %.3f", series[s], values[c * n_series + s]);
    }
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                  desc->str, -1);
  g_string_free (desc, TRUE);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}
