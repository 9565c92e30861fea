/* weft-heatmap.c — coloured cells for an (n, n) similarity matrix: blue for
 * negative, red for positive; the dense cells are cached, the hover is not. */

#include "weft-config.h"

#include <math.h>
#include <glib/gi18n.h>
#include <adwaita.h>

#include "weft-heatmap.h"

struct _WeftHeatmap
{
  GtkWidget parent_instance;

  char *title;
  char *rows_caption, *columns_caption;
  float *values;             /* (n, n) */
  int n;
  GskRenderNode *cache;
  int cache_w, cache_h;
  gboolean cache_dark;
  double hover_x, hover_y;
  gboolean hovering;
};

G_DEFINE_FINAL_TYPE (WeftHeatmap, weft_heatmap, GTK_TYPE_WIDGET)

#define TOP 34
#define PAD 30

static void
get_grid (WeftHeatmap *self, int w, int h, double *x0, double *y0, double *cell)
{
  double side = MIN (w - 2 * PAD, h - TOP - PAD);
  side = MAX (side, 10);
  *cell = self->n > 0 ? floor (side / self->n) : side;
  *x0 = floor ((w - *cell * MAX (self->n, 1)) / 2);
  *y0 = TOP;
}

/* A diverging map that reads on light and dark backgrounds: blue through a
 * neutral grey to red. */
static void
value_color (double v, gboolean dark, double *r, double *g, double *b)
{
  double mid = dark ? 0.28 : 0.94;
  v = CLAMP (v, -1, 1);
  if (v >= 0)
    {
      *r = mid + (0.88 - mid) * v;
      *g = mid + (0.11 - mid) * v;
      *b = mid + (0.14 - mid) * v;
    }
  else
    {
      *r = mid + (0.21 - mid) * -v;
      *g = mid + (0.52 - mid) * -v;
      *b = mid + (0.89 - mid) * -v;
    }
}

static void
render (WeftHeatmap *self, cairo_t *cr, int w, int h, gboolean dark)
{
  g_autoptr(PangoLayout) layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), self->title);
  PangoFontDescription *font = pango_font_description_from_string ("Sans Bold 10");
  double x0, y0, cell;
  int tw, th;

  pango_layout_set_font_description (layout, font);
  pango_font_description_free (font);
  cairo_set_source_rgba (cr, dark, dark, dark, 0.85);
  cairo_move_to (cr, 12, 12);
  pango_cairo_show_layout (cr, layout);

  font = pango_font_description_from_string ("Sans 8");
  pango_layout_set_font_description (layout, font);
  pango_font_description_free (font);

  get_grid (self, w, h, &x0, &y0, &cell);
  if (self->n == 0)
    {
      pango_layout_set_text (layout, _("Shown while a contrastive model trains"), -1);
      pango_layout_get_pixel_size (layout, &tw, &th);
      cairo_set_source_rgba (cr, dark, dark, dark, 0.45);
      cairo_move_to (cr, (w - tw) / 2.0, (h - th) / 2.0);
      pango_cairo_show_layout (cr, layout);
      return;
    }
  for (int i = 0; i < self->n; i++)
    for (int j = 0; j < self->n; j++)
      {
        double r, g, b;
        value_color (self->values[i * self->n + j], dark, &r, &g, &b);
        cairo_set_source_rgb (cr, r, g, b);
        cairo_rectangle (cr, x0 + j * cell, y0 + i * cell, cell - (cell > 6), cell - (cell > 6));
        cairo_fill (cr);
      }
  cairo_set_source_rgba (cr, dark, dark, dark, 0.6);
  if (self->columns_caption)
    {
      pango_layout_set_text (layout, self->columns_caption, -1);
      pango_layout_get_pixel_size (layout, &tw, &th);
      cairo_move_to (cr, x0 + (cell * self->n - tw) / 2, y0 + cell * self->n + 4);
      pango_cairo_show_layout (cr, layout);
    }
  if (self->rows_caption)
    {
      pango_layout_set_text (layout, self->rows_caption, -1);
      pango_layout_get_pixel_size (layout, &tw, &th);
      cairo_save (cr);
      cairo_translate (cr, x0 - th - 4, y0 + (cell * self->n + tw) / 2);
      cairo_rotate (cr, -G_PI / 2);
      cairo_move_to (cr, 0, 0);
      pango_cairo_show_layout (cr, layout);
      cairo_restore (cr);
    }
}

static void
weft_heatmap_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  WeftHeatmap *self = WEFT_HEATMAP (widget);
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  gboolean dark = adw_style_manager_get_dark (adw_style_manager_get_default ());
  double x0, y0, cell;

  if (w <= 0 || h <= 0)
    return;
  if (self->cache == NULL || self->cache_w != w || self->cache_h != h || self->cache_dark != dark)
    {
      GtkSnapshot *s = gtk_snapshot_new ();
      cairo_t *cr = gtk_snapshot_append_cairo (s, &GRAPHENE_RECT_INIT (0, 0, w, h));
      render (self, cr, w, h, dark);
      cairo_destroy (cr);
      g_clear_pointer (&self->cache, gsk_render_node_unref);
      self->cache = gtk_snapshot_free_to_node (s);
      self->cache_w = w;
      self->cache_h = h;
      self->cache_dark = dark;
    }
  if (self->cache)
    gtk_snapshot_append_node (snapshot, self->cache);

  get_grid (self, w, h, &x0, &y0, &cell);
  if (self->hovering && self->n > 0)
    {
      int j = (int) floor ((self->hover_x - x0) / cell), i = (int) floor ((self->hover_y - y0) / cell);
      if (i >= 0 && j >= 0 && i < self->n && j < self->n)
        {
          g_autofree char *text = g_strdup_printf (_("row %d, column %d: %.3f%s"), i + 1, j + 1,
                                                   self->values[i * self->n + j],
                                                   i == j ? _(" (matching pair)") : "");
          g_autoptr(PangoLayout) layout = gtk_widget_create_pango_layout (widget, text);
          int tw, th;
          pango_layout_get_pixel_size (layout, &tw, &th);
          double bx = CLAMP (self->hover_x + 12, 0, MAX (0, w - tw - 12)), by = MAX (0, self->hover_y - th - 14);
          cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
          cairo_set_line_width (cr, 2);
          cairo_set_source_rgba (cr, dark, dark, dark, 0.9);
          cairo_rectangle (cr, x0 + j * cell, y0 + i * cell, cell, cell);
          cairo_stroke (cr);
          cairo_set_source_rgba (cr, dark ? 0.2 : 1, dark ? 0.2 : 1, dark ? 0.22 : 1, 0.95);
          cairo_rectangle (cr, bx, by, tw + 12, th + 8);
          cairo_fill (cr);
          cairo_set_source_rgba (cr, dark, dark, dark, 0.9);
          cairo_move_to (cr, bx + 6, by + 4);
          pango_cairo_show_layout (cr, layout);
          cairo_destroy (cr);
        }
    }
}

static void
weft_heatmap_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                      int *minimum, int *natural, int *min_baseline, int *nat_baseline)
{
  *minimum = 160;
  *natural = 260;
}

static void
motion_cb (GtkEventControllerMotion *motion, double x, double y, WeftHeatmap *self)
{
  self->hover_x = x;
  self->hover_y = y;
  self->hovering = TRUE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
leave_cb (GtkEventControllerMotion *motion, WeftHeatmap *self)
{
  self->hovering = FALSE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
invalidate_cb (WeftHeatmap *self)
{
  g_clear_pointer (&self->cache, gsk_render_node_unref);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
weft_heatmap_dispose (GObject *object)
{
  WeftHeatmap *self = WEFT_HEATMAP (object);

  g_clear_pointer (&self->cache, gsk_render_node_unref);
  G_OBJECT_CLASS (weft_heatmap_parent_class)->dispose (object);
}

static void
weft_heatmap_finalize (GObject *object)
{
  WeftHeatmap *self = WEFT_HEATMAP (object);

  g_free (self->title);
  g_free (self->rows_caption);
  g_free (self->columns_caption);
  g_free (self->values);
  G_OBJECT_CLASS (weft_heatmap_parent_class)->finalize (object);
}

static void
weft_heatmap_class_init (WeftHeatmapClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = weft_heatmap_dispose;
  object_class->finalize = weft_heatmap_finalize;
  widget_class->snapshot = weft_heatmap_snapshot;
  widget_class->measure = weft_heatmap_measure;
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
  gtk_widget_class_set_css_name (widget_class, "weft-heatmap");
}

static void
weft_heatmap_init (WeftHeatmap *self)
{
  GtkEventController *motion = gtk_event_controller_motion_new ();

  g_signal_connect (motion, "motion", G_CALLBACK (motion_cb), self);
  g_signal_connect (motion, "leave", G_CALLBACK (leave_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);
  g_signal_connect_object (adw_style_manager_get_default (), "notify::dark",
                           G_CALLBACK (invalidate_cb), self, G_CONNECT_SWAPPED);
}

GtkWidget *
weft_heatmap_new (void)
{
  return g_object_new (WEFT_TYPE_HEATMAP, NULL);
}

void
weft_heatmap_set_title (WeftHeatmap *self, const char *title)
{
  g_return_if_fail (WEFT_IS_HEATMAP (self));

  g_free (self->title);
  self->title = g_strdup (title);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  title ? title : "", -1);
  invalidate_cb (self);
}

void
weft_heatmap_set_matrix (WeftHeatmap *self, const float *values, int n, int stride,
                         const char *rows_caption, const char *columns_caption)
{
  double diag = 0, off = 0;

  g_return_if_fail (WEFT_IS_HEATMAP (self));
  g_return_if_fail (n == 0 || (values != NULL && stride >= n));

  g_free (self->values);
  self->values = g_new (float, MAX (n * n, 1));
  self->n = n;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      {
        float v = values[i * stride + j];
        self->values[i * n + j] = v;
        if (i == j)
          diag += v;
        else
          off += v;
      }
  g_free (self->rows_caption);
  g_free (self->columns_caption);
  self->rows_caption = g_strdup (rows_caption);
  self->columns_caption = g_strdup (columns_caption);

  g_autofree char *desc = n > 0 ?
    g_strdup_printf (_("%d by %d; mean similarity of matching pairs %.3f, of other pairs %.3f"),
                     n, n, diag / n, n > 1 ? off / (n * (n - 1)) : 0) :
    g_strdup (_("empty"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, desc, -1);
  invalidate_cb (self);
}

int
weft_heatmap_get_size (WeftHeatmap *self)
{
  g_return_val_if_fail (WEFT_IS_HEATMAP (self), 0);
  return self->n;
}
