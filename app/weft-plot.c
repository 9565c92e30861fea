/* weft-plot.c — a Cairo line plot with plain axis objects, as Sysprof's charts:
 * the dense drawing is rendered once into a cached node, only the hover overlay is redrawn. */

#include "weft-config.h"

#include <math.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <adwaita.h>
#include <cairo-pdf.h>
#include <cairo-svg.h>

#include "weft-error.h"
#include "weft-plot.h"

typedef struct {
  double x, y;
} Point;

typedef struct {
  char *name;
  WeftPlotStyle style;
  guint color;
  gboolean visible;
  GArray *points;            /* Point, ascending x */
} Series;

/* Space around the plotting area for title, ticks and labels (pixels). */
#define MARGIN_LEFT   58
#define MARGIN_RIGHT  14
#define MARGIN_TOP    54
#define MARGIN_BOTTOM 38

struct _WeftPlot
{
  GtkWidget parent_instance;

  /* Template widgets */
  GtkWidget *toolbar;
  GtkWidget *log_button;
  GtkWidget *reset_button;
  GtkWidget *export_button;

  /* Owned */
  char *title;
  WeftPlotAxis *x_axis, *y_axis;
  GPtrArray *series;         /* Series* */
  GskRenderNode *cache;      /* the plot without hover, for cache_w x cache_h */
  int cache_w, cache_h;
  gboolean cache_dark;

  /* Pointer state */
  double hover_x, hover_y;
  gboolean hovering;
  double drag_x0, drag_dx;
  gboolean dragging;
};

G_DEFINE_FINAL_TYPE (WeftPlot, weft_plot, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_TITLE,
  PROP_LOG_Y,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* GNOME palette: darker shades on light backgrounds, lighter on dark. */
static const GdkRGBA palette_light[WEFT_PLOT_N_COLORS] = {
  { 0.208, 0.518, 0.894, 1 },  /* blue 3 */
  { 0.902, 0.380, 0.000, 1 },  /* orange 5 */
  { 0.149, 0.635, 0.412, 1 },  /* green 5 */
  { 0.569, 0.255, 0.675, 1 },  /* purple 3 */
  { 0.878, 0.106, 0.141, 1 },  /* red 3 */
  { 0.596, 0.416, 0.267, 1 },  /* brown 3 */
};
static const GdkRGBA palette_dark[WEFT_PLOT_N_COLORS] = {
  { 0.384, 0.627, 0.918, 1 },  /* blue 2 */
  { 1.000, 0.639, 0.282, 1 },  /* orange 2 */
  { 0.341, 0.890, 0.537, 1 },  /* green 2 */
  { 0.753, 0.380, 0.796, 1 },  /* purple 2 */
  { 0.965, 0.380, 0.318, 1 },  /* red 2 */
  { 0.804, 0.671, 0.561, 1 },  /* brown 2 */
};

static void
series_free (gpointer data)
{
  Series *s = data;

  g_free (s->name);
  g_array_unref (s->points);
  g_free (s);
}

static gboolean
is_dark (void)
{
  return adw_style_manager_get_dark (adw_style_manager_get_default ());
}

static void
invalidate (WeftPlot *self)
{
  g_clear_pointer (&self->cache, gsk_render_node_unref);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* The data ranges: x over every visible point, y over the visible points
 * inside the x range drawn (so zooming into x refits y). */
static void
update_ranges (WeftPlot *self)
{
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  gboolean ylog = weft_plot_axis_get_log (self->y_axis);

  for (guint i = 0; i < self->series->len; i++)
    {
      Series *s = g_ptr_array_index (self->series, i);
      if (!s->visible)
        continue;
      for (guint j = 0; j < s->points->len; j++)
        {
          const Point *p = &g_array_index (s->points, Point, j);
          if (!isfinite (p->x))
            continue;
          x0 = MIN (x0, p->x);
          x1 = MAX (x1, p->x);
        }
    }
  if (x0 > x1)
    weft_plot_axis_set_data_range (self->x_axis, NAN, NAN);
  else
    weft_plot_axis_set_data_range (self->x_axis, x0, x1);

  double vx0, vx1;
  weft_plot_axis_get_range (self->x_axis, &vx0, &vx1);
  for (guint i = 0; i < self->series->len; i++)
    {
      Series *s = g_ptr_array_index (self->series, i);
      if (!s->visible)
        continue;
      for (guint j = 0; j < s->points->len; j++)
        {
          const Point *p = &g_array_index (s->points, Point, j);
          if (p->x < vx0 || p->x > vx1 || !isfinite (p->y) || (ylog && p->y <= 0))
            continue;
          y0 = MIN (y0, p->y);
          y1 = MAX (y1, p->y);
        }
    }
  if (y0 > y1)
    weft_plot_axis_set_data_range (self->y_axis, NAN, NAN);
  else if (ylog)
    weft_plot_axis_set_data_range (self->y_axis, y0 / 1.15, y1 * 1.15);
  else
    {
      double pad = (y1 - y0) * 0.06;
      /* Losses and accuracies start at zero: keep 0 in view when close. */
      if (y0 >= 0 && y0 < (y1 - y0) * 0.5)
        y0 = 0, pad = (y1 - y0) * 0.06;
      weft_plot_axis_set_data_range (self->y_axis, y0 == 0 ? 0 : y0 - pad, y1 + pad);
    }
}

static gboolean
series_has_finite (Series *s)
{
  for (guint j = 0; j < s->points->len; j++)
    if (isfinite (g_array_index (s->points, Point, j).y))
      return TRUE;
  return FALSE;
}

static void
update_accessible (WeftPlot *self)
{
  g_autofree char *desc = NULL;
  GString *s = g_string_new (NULL);
  guint n = weft_plot_get_n_points (self);

  g_string_append_printf (s, ngettext ("%u point", "%u points", n), n);
  for (guint i = 0; i < self->series->len; i++)
    {
      Series *se = g_ptr_array_index (self->series, i);
      if (!se->visible || !series_has_finite (se))
        continue;
      const Point *last = &g_array_index (se->points, Point, se->points->len - 1);
      g_string_append_printf (s, "; %s %.4g at %g", se->name, last->y, last->x);
    }
  desc = g_string_free (s, FALSE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, desc, -1);
}

static void
data_changed (WeftPlot *self)
{
  update_ranges (self);
  update_accessible (self);
  invalidate (self);
}

/* ---- drawing ---- */

typedef struct {
  double x, y, w, h;         /* plotting area */
} Area;

static void
get_area (int width, int height, Area *a)
{
  a->x = MARGIN_LEFT;
  a->y = MARGIN_TOP;
  a->w = MAX (1, width - MARGIN_LEFT - MARGIN_RIGHT);
  a->h = MAX (1, height - MARGIN_TOP - MARGIN_BOTTOM);
}

static double
to_px (WeftPlot *self, const Area *a, double x)
{
  return a->x + weft_plot_axis_map (self->x_axis, x) * a->w;
}

static double
to_py (WeftPlot *self, const Area *a, double y)
{
  return a->y + a->h - weft_plot_axis_map (self->y_axis, y) * a->h;
}

static void
set_fg (cairo_t *cr, gboolean dark, double alpha)
{
  if (dark)
    cairo_set_source_rgba (cr, 1, 1, 1, alpha);
  else
    cairo_set_source_rgba (cr, 0, 0, 0, alpha);
}

static void
text_at (cairo_t *cr, PangoLayout *layout, const char *text, double x, double y,
         double xalign, double yalign)
{
  int w, h;

  pango_layout_set_text (layout, text, -1);
  pango_layout_get_pixel_size (layout, &w, &h);
  cairo_move_to (cr, round (x - xalign * w), round (y - yalign * h));
  pango_cairo_show_layout (cr, layout);
}

static void
draw_series (WeftPlot *self, cairo_t *cr, const Area *a, Series *s, const GdkRGBA *c)
{
  GArray *pts = s->points;
  double vx0, vx1;
  guint first = 0, last = pts->len;

  if (pts->len == 0)
    return;
  weft_plot_axis_get_range (self->x_axis, &vx0, &vx1);
  /* One point either side of the view keeps lines running to the edge. */
  while (first < pts->len && g_array_index (pts, Point, first).x < vx0)
    first++;
  if (first > 0)
    first--;
  while (last > first + 1 && g_array_index (pts, Point, last - 1).x > vx1)
    last--;
  if (last < pts->len)
    last++;

  double alpha = s->style == WEFT_PLOT_FAINT ? 0.35 : s->style == WEFT_PLOT_DASHED ? 0.7 : 1;
  cairo_set_source_rgba (cr, c->red, c->green, c->blue, alpha);
  cairo_set_line_width (cr, s->style == WEFT_PLOT_FAINT ? 1 : 2);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  if (s->style == WEFT_PLOT_DASHED)
    {
      static const double dash[] = { 6, 4 };
      cairo_set_dash (cr, dash, 2, 0);
    }

  guint n = last - first;
  gboolean pen = FALSE;
  if (n > 2 * (guint) a->w)
    {
      /* More points than pixels: draw each pixel column's min and max so
       * a spike is never lost and the cost stays one segment per pixel. */
      int col = INT_MIN;
      double ymin = 0, ymax = 0;
      for (guint i = first; i <= last; i++)
        {
          int c2 = INT_MAX;
          double py = 0;
          if (i < last)
            {
              const Point *p = &g_array_index (pts, Point, i);
              if (!isfinite (p->y))
                continue;
              c2 = (int) floor (to_px (self, a, p->x));
              py = to_py (self, a, p->y);
              if (!isfinite (py))
                continue;
            }
          if (c2 != col)
            {
              if (col != INT_MIN)
                {
                  if (!pen)
                    cairo_move_to (cr, col + 0.5, ymin);
                  else
                    cairo_line_to (cr, col + 0.5, ymin);
                  cairo_line_to (cr, col + 0.5, ymax);
                  pen = TRUE;
                }
              col = c2;
              ymin = ymax = py;
            }
          else
            {
              ymin = MIN (ymin, py);
              ymax = MAX (ymax, py);
            }
        }
    }
  else
    {
      for (guint i = first; i < last; i++)
        {
          const Point *p = &g_array_index (pts, Point, i);
          double px = to_px (self, a, p->x), py = to_py (self, a, p->y);
          if (!isfinite (py) || !isfinite (px))
            {
              pen = FALSE;
              continue;
            }
          if (pen)
            cairo_line_to (cr, px, py);
          else
            cairo_move_to (cr, px, py);
          pen = TRUE;
        }
    }
  cairo_stroke (cr);
  cairo_set_dash (cr, NULL, 0, 0);

  if (s->style == WEFT_PLOT_LINE_POINTS && n <= (guint) a->w / 4)
    {
      for (guint i = first; i < last; i++)
        {
          const Point *p = &g_array_index (pts, Point, i);
          double px = to_px (self, a, p->x), py = to_py (self, a, p->y);
          if (!isfinite (py))
            continue;
          cairo_new_sub_path (cr);
          cairo_arc (cr, px, py, 3, 0, 2 * G_PI);
        }
      cairo_fill (cr);
    }
}

void
weft_plot_render (WeftPlot *self, cairo_t *cr, int width, int height, gboolean dark)
{
  Area a;
  double ticks[16];
  guint n;
  const GdkRGBA *pal = dark ? palette_dark : palette_light;
  g_autoptr(PangoLayout) layout = NULL;
  PangoFontDescription *font;

  g_return_if_fail (WEFT_IS_PLOT (self));

  get_area (width, height, &a);
  layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), NULL);

  /* Title */
  font = pango_font_description_from_string ("Sans Bold 10");
  pango_layout_set_font_description (layout, font);
  set_fg (cr, dark, 0.85);
  text_at (cr, layout, self->title ? self->title : "", 12, 12, 0, 0);
  pango_font_description_free (font);

  font = pango_font_description_from_string ("Sans 8");
  pango_layout_set_font_description (layout, font);
  pango_font_description_free (font);

  /* Grid and tick labels */
  cairo_set_line_width (cr, 1);
  n = weft_plot_axis_ticks (self->y_axis, ticks, MAX (2, MIN (8, (guint) (a.h / 28))));
  for (guint i = 0; i < n; i++)
    {
      double py = round (to_py (self, &a, ticks[i])) + 0.5;
      g_autofree char *label = weft_plot_axis_format (self->y_axis, ticks[i]);
      set_fg (cr, dark, 0.10);
      cairo_move_to (cr, a.x, py);
      cairo_line_to (cr, a.x + a.w, py);
      cairo_stroke (cr);
      set_fg (cr, dark, 0.6);
      text_at (cr, layout, label, a.x - 6, py, 1, 0.5);
    }
  n = weft_plot_axis_ticks (self->x_axis, ticks, MAX (2, MIN (10, (guint) (a.w / 70))));
  for (guint i = 0; i < n; i++)
    {
      double px = round (to_px (self, &a, ticks[i])) + 0.5;
      g_autofree char *label = weft_plot_axis_format (self->x_axis, ticks[i]);
      set_fg (cr, dark, 0.10);
      cairo_move_to (cr, px, a.y);
      cairo_line_to (cr, px, a.y + a.h);
      cairo_stroke (cr);
      set_fg (cr, dark, 0.6);
      text_at (cr, layout, label, px, a.y + a.h + 4, 0.5, 0);
    }
  set_fg (cr, dark, 0.3);
  cairo_rectangle (cr, a.x + 0.5, a.y + 0.5, a.w - 1, a.h - 1);
  cairo_stroke (cr);

  /* Axis labels */
  set_fg (cr, dark, 0.6);
  if (weft_plot_axis_get_label (self->x_axis))
    text_at (cr, layout, weft_plot_axis_get_label (self->x_axis), a.x + a.w / 2, height - 4, 0.5, 1);
  if (weft_plot_axis_get_label (self->y_axis))
    {
      cairo_save (cr);
      cairo_translate (cr, 4, a.y + a.h / 2);
      cairo_rotate (cr, -G_PI / 2);
      text_at (cr, layout, weft_plot_axis_get_label (self->y_axis), 0, 0, 0.5, 0);
      cairo_restore (cr);
    }

  /* Data, clipped to the area */
  cairo_save (cr);
  cairo_rectangle (cr, a.x, a.y, a.w, a.h);
  cairo_clip (cr);
  for (guint i = 0; i < self->series->len; i++)
    {
      Series *s = g_ptr_array_index (self->series, i);
      if (s->visible)
        draw_series (self, cr, &a, s, &pal[s->color % WEFT_PLOT_N_COLORS]);
    }
  cairo_restore (cr);

  /* Legend, in the band between the title and the area, so it never
   * hides data; only series that have something to draw. */
  double lx = a.x, ly = 32;
  for (guint i = 0; i < self->series->len; i++)
    {
      Series *s = g_ptr_array_index (self->series, i);
      int tw, th;
      if (!s->visible || !series_has_finite (s))
        continue;
      pango_layout_set_text (layout, s->name, -1);
      pango_layout_get_pixel_size (layout, &tw, &th);
      if (lx + 18 + tw > a.x + a.w && lx > a.x)
        break;
      const GdkRGBA *c = &pal[s->color % WEFT_PLOT_N_COLORS];
      cairo_set_source_rgba (cr, c->red, c->green, c->blue, s->style == WEFT_PLOT_FAINT ? 0.5 : 1);
      cairo_rectangle (cr, lx, ly + th / 2.0 - 1.5, 12, 3);
      cairo_fill (cr);
      set_fg (cr, dark, 0.8);
      cairo_move_to (cr, lx + 16, ly);
      pango_cairo_show_layout (cr, layout);
      lx += tw + 30;
    }

  if (weft_plot_get_n_points (self) == 0)
    {
      set_fg (cr, dark, 0.45);
      text_at (cr, layout, _("No data yet"), a.x + a.w / 2, a.y + a.h / 2, 0.5, 0.5);
    }
}

/* The point nearest the pointer (in screen distance) among visible series. */
static gboolean
find_hover (WeftPlot *self, const Area *a, Series **out_s, const Point **out_p)
{
  double best = 30 * 30;   /* pixels squared */
  gboolean found = FALSE;

  for (guint i = 0; i < self->series->len; i++)
    {
      Series *s = g_ptr_array_index (self->series, i);
      if (!s->visible || s->points->len == 0)
        continue;
      double x = weft_plot_axis_unmap (self->x_axis, (self->hover_x - a->x) / a->w);
      /* Bisect for the first point at or after x, then look around it. */
      guint lo = 0, hi = s->points->len;
      while (lo < hi)
        {
          guint mid = (lo + hi) / 2;
          if (g_array_index (s->points, Point, mid).x < x)
            lo = mid + 1;
          else
            hi = mid;
        }
      for (guint j = lo > 3 ? lo - 3 : 0; j < MIN (lo + 3, s->points->len); j++)
        {
          const Point *p = &g_array_index (s->points, Point, j);
          double dx = to_px (self, a, p->x) - self->hover_x;
          double dy = to_py (self, a, p->y) - self->hover_y;
          if (!isfinite (dy))
            continue;
          double d = dx * dx + dy * dy * 0.25;  /* favour the column under the pointer */
          if (d < best)
            {
              best = d;
              *out_s = s;
              *out_p = p;
              found = TRUE;
            }
        }
    }
  return found;
}

static void
weft_plot_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  WeftPlot *self = WEFT_PLOT (widget);
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  gboolean dark = is_dark ();
  Area a;

  if (w <= 0 || h <= 0)
    return;

  if (self->cache == NULL || self->cache_w != w || self->cache_h != h || self->cache_dark != dark)
    {
      GtkSnapshot *s = gtk_snapshot_new ();
      cairo_t *cr = gtk_snapshot_append_cairo (s, &GRAPHENE_RECT_INIT (0, 0, w, h));
      weft_plot_render (self, cr, w, h, dark);
      cairo_destroy (cr);
      g_clear_pointer (&self->cache, gsk_render_node_unref);
      self->cache = gtk_snapshot_free_to_node (s);
      self->cache_w = w;
      self->cache_h = h;
      self->cache_dark = dark;
    }
  if (self->cache != NULL)
    gtk_snapshot_append_node (snapshot, self->cache);

  get_area (w, h, &a);

  /* The drag selection */
  if (self->dragging && fabs (self->drag_dx) > 2)
    {
      double x0 = CLAMP (MIN (self->drag_x0, self->drag_x0 + self->drag_dx), a.x, a.x + a.w);
      double x1 = CLAMP (MAX (self->drag_x0, self->drag_x0 + self->drag_dx), a.x, a.x + a.w);
      GdkRGBA sel = dark ? palette_dark[0] : palette_light[0];
      sel.alpha = 0.2;
      gtk_snapshot_append_color (snapshot, &sel, &GRAPHENE_RECT_INIT (x0, a.y, x1 - x0, a.h));
    }

  /* Hover read-out: a crosshair, a dot and the exact value */
  Series *s;
  const Point *p;
  if (self->hovering && !self->dragging && find_hover (self, &a, &s, &p))
    {
      const GdkRGBA *pal = dark ? palette_dark : palette_light;
      const GdkRGBA *c = &pal[s->color % WEFT_PLOT_N_COLORS];
      double px = to_px (self, &a, p->x), py = to_py (self, &a, p->y);
      GdkRGBA line = dark ? (GdkRGBA) { 1, 1, 1, 0.35 } : (GdkRGBA) { 0, 0, 0, 0.3 };
      gtk_snapshot_append_color (snapshot, &line, &GRAPHENE_RECT_INIT (round (px), a.y, 1, a.h));

      g_autofree char *text = g_strdup_printf ("%s: %.5g  (%s %g)", s->name, p->y,
                                               weft_plot_axis_get_label (self->x_axis) ?
                                               weft_plot_axis_get_label (self->x_axis) : "x", p->x);
      g_autoptr(PangoLayout) layout = gtk_widget_create_pango_layout (widget, text);
      int tw, th;
      pango_layout_get_pixel_size (layout, &tw, &th);
      double bx = px + 10, by = py - th - 12;
      if (bx + tw + 12 > w)
        bx = px - tw - 22;
      if (by < a.y)
        by = py + 10;

      cairo_t *cr = gtk_snapshot_append_cairo (snapshot,
                                               &GRAPHENE_RECT_INIT (MIN (px - 6, bx), MIN (py - 6, by),
                                                                    MAX (px + 6, bx + tw + 12) - MIN (px - 6, bx),
                                                                    MAX (py + 6, by + th + 8) - MIN (py - 6, by)));
      cairo_set_source_rgba (cr, c->red, c->green, c->blue, 1);
      cairo_arc (cr, px, py, 4.5, 0, 2 * G_PI);
      cairo_fill (cr);
      if (dark)
        cairo_set_source_rgba (cr, 0.2, 0.2, 0.22, 0.95);
      else
        cairo_set_source_rgba (cr, 1, 1, 1, 0.95);
      cairo_rectangle (cr, bx, by, tw + 12, th + 8);
      cairo_fill_preserve (cr);
      set_fg (cr, dark, 0.25);
      cairo_set_line_width (cr, 1);
      cairo_stroke (cr);
      set_fg (cr, dark, 0.9);
      cairo_move_to (cr, bx + 6, by + 4);
      pango_cairo_show_layout (cr, layout);
      cairo_destroy (cr);
    }

  gtk_widget_snapshot_child (widget, self->toolbar, snapshot);
}

static void
weft_plot_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                   int *minimum, int *natural, int *min_baseline, int *nat_baseline)
{
  WeftPlot *self = WEFT_PLOT (widget);
  int tmin, tnat;

  gtk_widget_measure (self->toolbar, orientation, -1, &tmin, &tnat, NULL, NULL);
  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = MAX (tmin + 140, 240);
      *natural = MAX (tnat + 200, 420);
    }
  else
    {
      *minimum = 170;
      *natural = 240;
    }
}

static void
weft_plot_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  WeftPlot *self = WEFT_PLOT (widget);
  int tw, th;

  gtk_widget_measure (self->toolbar, GTK_ORIENTATION_HORIZONTAL, -1, NULL, &tw, NULL, NULL);
  gtk_widget_measure (self->toolbar, GTK_ORIENTATION_VERTICAL, tw, NULL, &th, NULL, NULL);
  gtk_widget_size_allocate (self->toolbar,
                            &(GtkAllocation) { MAX (0, width - tw - 6), 4, tw, th }, -1);
}

/* ---- input ---- */

static void
motion_cb (GtkEventControllerMotion *motion, double x, double y, WeftPlot *self)
{
  self->hover_x = x;
  self->hover_y = y;
  self->hovering = TRUE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
leave_cb (GtkEventControllerMotion *motion, WeftPlot *self)
{
  self->hovering = FALSE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static gboolean
scroll_cb (GtkEventControllerScroll *scroll, double dx, double dy, WeftPlot *self)
{
  Area a;
  double lo, hi;

  if (weft_plot_get_n_points (self) == 0 || dy == 0)
    return FALSE;
  get_area (gtk_widget_get_width (GTK_WIDGET (self)), gtk_widget_get_height (GTK_WIDGET (self)), &a);
  double t = CLAMP ((self->hover_x - a.x) / a.w, 0, 1);
  double factor = dy > 0 ? 1.25 : 0.8;
  weft_plot_axis_get_range (self->x_axis, &lo, &hi);
  double centre = lo + t * (hi - lo);
  double nlo = centre - (centre - lo) * factor, nhi = centre + (hi - centre) * factor;
  weft_plot_axis_set_view (self->x_axis, nlo, nhi);
  data_changed (self);
  return TRUE;
}

static void
drag_begin_cb (GtkGestureDrag *drag, double x, double y, WeftPlot *self)
{
  self->dragging = TRUE;
  self->drag_x0 = x;
  self->drag_dx = 0;
}

static void
drag_update_cb (GtkGestureDrag *drag, double dx, double dy, WeftPlot *self)
{
  self->drag_dx = dx;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
drag_end_cb (GtkGestureDrag *drag, double dx, double dy, WeftPlot *self)
{
  Area a;

  self->dragging = FALSE;
  get_area (gtk_widget_get_width (GTK_WIDGET (self)), gtk_widget_get_height (GTK_WIDGET (self)), &a);
  if (fabs (dx) > 4 && weft_plot_get_n_points (self) > 0)
    {
      double t0 = CLAMP ((MIN (self->drag_x0, self->drag_x0 + dx) - a.x) / a.w, 0, 1);
      double t1 = CLAMP ((MAX (self->drag_x0, self->drag_x0 + dx) - a.x) / a.w, 0, 1);
      double x0 = weft_plot_axis_unmap (self->x_axis, t0), x1 = weft_plot_axis_unmap (self->x_axis, t1);
      if (x1 > x0)
        weft_plot_axis_set_view (self->x_axis, x0, x1);
      data_changed (self);
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
pressed_cb (GtkGestureClick *click, int n_press, double x, double y, WeftPlot *self)
{
  if (n_press == 2)
    weft_plot_reset_zoom (self);
}

/* ---- actions ---- */

static void
export_response_cb (GtkNativeDialog *dialog, int response, WeftPlot *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = g_file_get_path (file);
      g_autoptr(GError) error = NULL;
      if (path != NULL && !weft_plot_export (self, path, 900, 540, &error))
        {
          GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
          GtkWidget *msg = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                                   _("The Plot Could Not Be Exported"), error->message);
          adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (msg), "close", _("_Close"));
          gtk_window_present (GTK_WINDOW (msg));
        }
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
  g_object_unref (self);
}

static void
plot_export (GtkWidget *widget, const char *action_name, GVariant *param)
{
  WeftPlot *self = WEFT_PLOT (widget);
  const char *format = g_variant_get_string (param, NULL);
  g_autofree char *name = g_strdup_printf ("%s.%s", self->title ? self->title : "plot", format);
  const char *test_dir = g_getenv ("WEFT_TEST_EXPORT_DIR");

  /* The GUI tests cannot drive a native file chooser; they name a folder. */
  if (test_dir != NULL)
    {
      g_autofree char *path = g_build_filename (test_dir, name, NULL);
      g_autoptr(GError) error = NULL;
      if (!weft_plot_export (self, path, 900, 540, &error))
        g_warning ("%s", error->message);
      return;
    }

  GtkRoot *root = gtk_widget_get_root (widget);
  GtkFileChooserNative *chooser =
    gtk_file_chooser_native_new (_("Export Plot"), GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                 GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), _("_Cancel"));
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect (chooser, "response", G_CALLBACK (export_response_cb), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
plot_reset_zoom (GtkWidget *widget, const char *action_name, GVariant *param)
{
  weft_plot_reset_zoom (WEFT_PLOT (widget));
}

/* ---- object ---- */

static void
weft_plot_dispose (GObject *object)
{
  WeftPlot *self = WEFT_PLOT (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), WEFT_TYPE_PLOT);
  g_clear_pointer (&self->cache, gsk_render_node_unref);
  G_OBJECT_CLASS (weft_plot_parent_class)->dispose (object);
}

static void
weft_plot_finalize (GObject *object)
{
  WeftPlot *self = WEFT_PLOT (object);

  g_free (self->title);
  g_clear_object (&self->x_axis);
  g_clear_object (&self->y_axis);
  g_ptr_array_unref (self->series);
  G_OBJECT_CLASS (weft_plot_parent_class)->finalize (object);
}

static void
weft_plot_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  WeftPlot *self = WEFT_PLOT (object);

  switch (prop_id)
    {
    case PROP_TITLE:
      g_value_set_string (value, self->title);
      break;
    case PROP_LOG_Y:
      g_value_set_boolean (value, weft_plot_axis_get_log (self->y_axis));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
weft_plot_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  WeftPlot *self = WEFT_PLOT (object);

  switch (prop_id)
    {
    case PROP_TITLE:
      weft_plot_set_title (self, g_value_get_string (value));
      break;
    case PROP_LOG_Y:
      if (weft_plot_axis_get_log (self->y_axis) != g_value_get_boolean (value))
        {
          weft_plot_axis_set_log (self->y_axis, g_value_get_boolean (value));
          data_changed (self);
          g_object_notify_by_pspec (object, properties[PROP_LOG_Y]);
        }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dark_changed_cb (WeftPlot *self)
{
  invalidate (self);
}

static void
weft_plot_class_init (WeftPlotClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = weft_plot_dispose;
  object_class->finalize = weft_plot_finalize;
  object_class->get_property = weft_plot_get_property;
  object_class->set_property = weft_plot_set_property;

  widget_class->snapshot = weft_plot_snapshot;
  widget_class->measure = weft_plot_measure;
  widget_class->size_allocate = weft_plot_size_allocate;

  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LOG_Y] =
    g_param_spec_boolean ("log-y", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_install_property_action (widget_class, "plot.log-y", "log-y");
  gtk_widget_class_install_action (widget_class, "plot.reset-zoom", NULL, plot_reset_zoom);
  gtk_widget_class_install_action (widget_class, "plot.export", "s", plot_export);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/weft/Weft/ui/weft-plot.ui");
  gtk_widget_class_bind_template_child (widget_class, WeftPlot, toolbar);
  gtk_widget_class_bind_template_child (widget_class, WeftPlot, log_button);
  gtk_widget_class_bind_template_child (widget_class, WeftPlot, reset_button);
  gtk_widget_class_bind_template_child (widget_class, WeftPlot, export_button);

  /* A group, not an image: its toolbar buttons must stay reachable. */
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
  gtk_widget_class_set_css_name (widget_class, "weft-plot");
}

static void
weft_plot_init (WeftPlot *self)
{
  GtkEventController *motion, *scroll;
  GtkGesture *drag, *click;

  gtk_widget_init_template (GTK_WIDGET (self));

  self->series = g_ptr_array_new_with_free_func (series_free);
  self->x_axis = weft_plot_axis_new (NULL);
  self->y_axis = weft_plot_axis_new (NULL);

  motion = gtk_event_controller_motion_new ();
  g_signal_connect (motion, "motion", G_CALLBACK (motion_cb), self);
  g_signal_connect (motion, "leave", G_CALLBACK (leave_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);

  scroll = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL);
  g_signal_connect (scroll, "scroll", G_CALLBACK (scroll_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), scroll);

  drag = gtk_gesture_drag_new ();
  g_signal_connect (drag, "drag-begin", G_CALLBACK (drag_begin_cb), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (drag_update_cb), self);
  g_signal_connect (drag, "drag-end", G_CALLBACK (drag_end_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drag));

  click = gtk_gesture_click_new ();
  g_signal_connect (click, "pressed", G_CALLBACK (pressed_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));

  g_signal_connect_object (adw_style_manager_get_default (), "notify::dark",
                           G_CALLBACK (dark_changed_cb), self, G_CONNECT_SWAPPED);
  update_accessible (self);
}

GtkWidget *
weft_plot_new (void)
{
  return g_object_new (WEFT_TYPE_PLOT, NULL);
}

const char *
weft_plot_get_title (WeftPlot *self)
{
  g_return_val_if_fail (WEFT_IS_PLOT (self), NULL);
  return self->title;
}

void
weft_plot_set_title (WeftPlot *self, const char *title)
{
  g_return_if_fail (WEFT_IS_PLOT (self));

  if (g_strcmp0 (self->title, title) == 0)
    return;
  g_free (self->title);
  self->title = g_strdup (title);

  /* Every plot's buttons need names of their own for screen readers. */
  g_autofree char *log = g_strdup_printf (_("Logarithmic scale: %s"), title ? title : "");
  g_autofree char *reset = g_strdup_printf (_("Reset zoom: %s"), title ? title : "");
  g_autofree char *exp = g_strdup_printf (_("Export plot: %s"), title ? title : "");
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->log_button), GTK_ACCESSIBLE_PROPERTY_LABEL, log, -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->reset_button), GTK_ACCESSIBLE_PROPERTY_LABEL, reset, -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->export_button), GTK_ACCESSIBLE_PROPERTY_LABEL, exp, -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, title ? title : "", -1);
  invalidate (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
}

WeftPlotAxis *
weft_plot_get_x_axis (WeftPlot *self)
{
  g_return_val_if_fail (WEFT_IS_PLOT (self), NULL);
  return self->x_axis;
}

WeftPlotAxis *
weft_plot_get_y_axis (WeftPlot *self)
{
  g_return_val_if_fail (WEFT_IS_PLOT (self), NULL);
  return self->y_axis;
}

guint
weft_plot_add_series (WeftPlot *self, const char *name, WeftPlotStyle style, guint color)
{
  Series *s;

  g_return_val_if_fail (WEFT_IS_PLOT (self), 0);

  s = g_new0 (Series, 1);
  s->name = g_strdup (name);
  s->style = style;
  s->color = color;
  s->visible = TRUE;
  s->points = g_array_new (FALSE, FALSE, sizeof (Point));
  g_ptr_array_add (self->series, s);
  return self->series->len - 1;
}

guint
weft_plot_get_n_series (WeftPlot *self)
{
  g_return_val_if_fail (WEFT_IS_PLOT (self), 0);
  return self->series->len;
}

void
weft_plot_append (WeftPlot *self, guint series, double x, double y)
{
  Point p = { x, y };

  g_return_if_fail (WEFT_IS_PLOT (self));
  g_return_if_fail (series < self->series->len);

  g_array_append_val (((Series *) g_ptr_array_index (self->series, series))->points, p);
  data_changed (self);
}

void
weft_plot_append_many (WeftPlot *self, guint series, const double *x, const double *y, guint n)
{
  GArray *pts;

  g_return_if_fail (WEFT_IS_PLOT (self));
  g_return_if_fail (series < self->series->len);

  if (n == 0)
    return;
  pts = ((Series *) g_ptr_array_index (self->series, series))->points;
  for (guint i = 0; i < n; i++)
    {
      Point p = { x[i], y[i] };
      g_array_append_val (pts, p);
    }
  data_changed (self);
}

void
weft_plot_clear_points (WeftPlot *self, guint series)
{
  g_return_if_fail (WEFT_IS_PLOT (self));
  g_return_if_fail (series < self->series->len);

  g_array_set_size (((Series *) g_ptr_array_index (self->series, series))->points, 0);
  data_changed (self);
}

void
weft_plot_set_series_visible (WeftPlot *self, guint series, gboolean visible)
{
  g_return_if_fail (WEFT_IS_PLOT (self));
  g_return_if_fail (series < self->series->len);

  ((Series *) g_ptr_array_index (self->series, series))->visible = visible;
  data_changed (self);
}

void
weft_plot_truncate_series (WeftPlot *self, guint from)
{
  g_return_if_fail (WEFT_IS_PLOT (self));

  if (from < self->series->len)
    {
      g_ptr_array_set_size (self->series, from);
      data_changed (self);
    }
}

guint
weft_plot_get_n_points (WeftPlot *self)
{
  guint n = 0;

  g_return_val_if_fail (WEFT_IS_PLOT (self), 0);
  for (guint i = 0; i < self->series->len; i++)
    {
      Series *s = g_ptr_array_index (self->series, i);
      if (s->visible)
        n += s->points->len;
    }
  return n;
}

void
weft_plot_reset_zoom (WeftPlot *self)
{
  g_return_if_fail (WEFT_IS_PLOT (self));

  weft_plot_axis_reset_view (self->x_axis);
  weft_plot_axis_reset_view (self->y_axis);
  data_changed (self);
}

gboolean
weft_plot_export (WeftPlot *self, const char *path, int width, int height, GError **error)
{
  cairo_surface_t *surface;
  cairo_t *cr;
  cairo_status_t status;
  g_autofree char *tmp = NULL;
  gboolean png = g_str_has_suffix (path, ".png") || g_str_has_suffix (path, ".PNG");
  gboolean dark = FALSE;   /* exports go on paper and slides: always light */

  g_return_val_if_fail (WEFT_IS_PLOT (self), FALSE);

  /* Write next to the target, then rename, so a failed export never leaves
   * half a file under the chosen name. */
  tmp = g_strdup_printf ("%s.tmp-%u", path, g_random_int ());
  if (png)
    surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width * 2, height * 2);
  else if (g_str_has_suffix (path, ".svg") || g_str_has_suffix (path, ".SVG"))
    surface = cairo_svg_surface_create (tmp, width, height);
  else if (g_str_has_suffix (path, ".pdf") || g_str_has_suffix (path, ".PDF"))
    surface = cairo_pdf_surface_create (tmp, width, height);
  else
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO,
                   _("“%s”: choose a name ending in .png, .svg or .pdf"), path);
      return FALSE;
    }

  cr = cairo_create (surface);
  if (png)
    cairo_scale (cr, 2, 2);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  weft_plot_render (self, cr, width, height, dark);
  cairo_destroy (cr);
  if (png)
    status = cairo_surface_write_to_png (surface, tmp);
  else
    {
      cairo_surface_finish (surface);
      status = cairo_surface_status (surface);
    }
  cairo_surface_destroy (surface);

  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_unlink (tmp);
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, _("“%s” could not be written: %s"),
                   path, cairo_status_to_string (status));
      return FALSE;
    }
  if (g_rename (tmp, path) != 0)
    {
      int e = errno;
      g_unlink (tmp);
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, _("“%s” could not be written: %s"),
                   path, g_strerror (e));
      return FALSE;
    }
  return TRUE;
}
