/* weft-confusion-view.c — the confusion matrix as Cairo cells; colour is the
 * share of the true class's rows, so a rare class reads as clearly as a
 * common one, and the count is printed when the cell is big enough. */

#include "weft-config.h"

#include <math.h>
#include <glib/gi18n.h>
#include <adwaita.h>

#include "weft-confusion-view.h"

#define MAX_LABEL   110   /* px: longer class names are ellipsised */
#define MAX_CELL    44
#define NAT_CELL    30
#define MIN_CELL    6
#define GAP         6
#define N_SUMMARY   3     /* confusions named in the description */

struct _WeftConfusionView
{
  GtkWidget parent_instance;

  gint64 *counts;            /* (K, K) */
  gint64 *row_total;         /* (K) */
  char  **names;             /* (K + 1), NULL-terminated */
  int K;
  double hover_x, hover_y;
  gboolean hovering;
};

G_DEFINE_FINAL_TYPE (WeftConfusionView, weft_confusion_view, GTK_TYPE_WIDGET)

static PangoLayout *
small_layout (WeftConfusionView *self, const char *text)
{
  PangoLayout *layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), text);
  PangoFontDescription *font = pango_font_description_from_string ("Sans 8");

  pango_layout_set_font_description (layout, font);
  pango_font_description_free (font);
  return layout;
}

/* The widest class name (capped) and the height of a line of small text. */
static void
label_extent (WeftConfusionView *self, int *name_w, int *line_h)
{
  g_autoptr(PangoLayout) layout = small_layout (self, "Ag");

  pango_layout_get_pixel_size (layout, NULL, line_h);
  *name_w = 0;
  for (int i = 0; i < self->K; i++)
    {
      int tw;

      pango_layout_set_text (layout, self->names[i], -1);
      pango_layout_get_pixel_size (layout, &tw, NULL);
      *name_w = MAX (*name_w, MIN (tw, MAX_LABEL));
    }
}

/* Cells start at (x0, y0): on the left the rotated "True class" caption and
 * the row names, above the "Predicted class" caption and the column names
 * written upwards. */
static void
get_grid (WeftConfusionView *self, int w, double *x0, double *y0, double *cell)
{
  int name_w, line_h;

  label_extent (self, &name_w, &line_h);
  *x0 = line_h + GAP + name_w + GAP;
  *y0 = line_h + GAP + name_w + GAP;
  *cell = self->K > 0 ? floor ((w - *x0 - GAP) / self->K) : MIN_CELL;
  *cell = CLAMP (*cell, MIN_CELL, MAX_CELL);
}

/* Sequential: the window's background for none of the class's rows, the
 * accent blue for all of them; the two ends hold on light and dark. */
static void
share_color (double s, gboolean dark, double *r, double *g, double *b)
{
  double bg = dark ? 0.24 : 0.96;
  double hr = dark ? 0.30 : 0.11, hg = dark ? 0.56 : 0.38, hb = dark ? 0.96 : 0.80;

  s = CLAMP (s, 0, 1);
  *r = bg + (hr - bg) * s;
  *g = bg + (hg - bg) * s;
  *b = bg + (hb - bg) * s;
}

static void
show_clipped (cairo_t *cr, PangoLayout *layout, const char *text, int max_w)
{
  pango_layout_set_text (layout, text, -1);
  pango_layout_set_width (layout, max_w * PANGO_SCALE);
  pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
  pango_cairo_show_layout (cr, layout);
}

static void
weft_confusion_view_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  WeftConfusionView *self = WEFT_CONFUSION_VIEW (widget);
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  gboolean dark = adw_style_manager_get_dark (adw_style_manager_get_default ());
  double fg = dark ? 1 : 0;
  double x0, y0, cell;
  int K = self->K, name_w, line_h, tw, th;
  g_autoptr(PangoLayout) layout = NULL;
  cairo_t *cr;

  if (w <= 0 || h <= 0 || K == 0)
    return;
  get_grid (self, w, &x0, &y0, &cell);
  label_extent (self, &name_w, &line_h);
  layout = small_layout (self, NULL);
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));

  for (int t = 0; t < K; t++)
    for (int c = 0; c < K; c++)
      {
        gint64 n = self->counts[t * K + c];
        double share = self->row_total[t] > 0 ? (double) n / self->row_total[t] : 0;
        double r, g, b;

        share_color (share, dark, &r, &g, &b);
        cairo_set_source_rgb (cr, r, g, b);
        cairo_rectangle (cr, x0 + c * cell, y0 + t * cell, cell - 1, cell - 1);
        cairo_fill (cr);
        if (cell >= 18 && n > 0)
          {
            g_autofree char *text = g_strdup_printf ("%" G_GINT64_FORMAT, n);
            double ink = share > 0.45 ? 1 : fg;

            pango_layout_set_width (layout, -1);
            pango_layout_set_text (layout, text, -1);
            pango_layout_get_pixel_size (layout, &tw, &th);
            if (tw <= cell - 2)
              {
                cairo_set_source_rgba (cr, ink, ink, ink, 0.9);
                cairo_move_to (cr, x0 + c * cell + (cell - 1 - tw) / 2, y0 + t * cell + (cell - 1 - th) / 2);
                pango_cairo_show_layout (cr, layout);
              }
          }
      }
  /* The diagonal is where correct answers go: outline it faintly. */
  cairo_set_source_rgba (cr, fg, fg, fg, 0.35);
  cairo_set_line_width (cr, 1);
  for (int t = 0; t < K; t++)
    cairo_rectangle (cr, x0 + t * cell + 0.5, y0 + t * cell + 0.5, cell - 2, cell - 2);
  cairo_stroke (cr);

  /* Names: rows right-aligned before the cells, columns written upwards. */
  cairo_set_source_rgba (cr, fg, fg, fg, 0.8);
  if (cell >= line_h - 2)
    for (int i = 0; i < K; i++)
      {
        pango_layout_set_width (layout, -1);
        pango_layout_set_text (layout, self->names[i], -1);
        pango_layout_get_pixel_size (layout, &tw, &th);
        cairo_move_to (cr, x0 - GAP - MIN (tw, MAX_LABEL), y0 + i * cell + (cell - th) / 2);
        show_clipped (cr, layout, self->names[i], MAX_LABEL);

        cairo_save (cr);
        cairo_translate (cr, x0 + i * cell + (cell - th) / 2, y0 - GAP);
        cairo_rotate (cr, -G_PI / 2);
        cairo_move_to (cr, 0, 0);
        show_clipped (cr, layout, self->names[i], MAX_LABEL);
        cairo_restore (cr);
      }
  cairo_set_source_rgba (cr, fg, fg, fg, 0.55);
  pango_layout_set_width (layout, -1);
  pango_layout_set_text (layout, _("Predicted class"), -1);
  pango_layout_get_pixel_size (layout, &tw, &th);
  cairo_move_to (cr, x0 + MAX (0, (cell * K - tw) / 2), 0);
  pango_cairo_show_layout (cr, layout);
  pango_layout_set_text (layout, _("True class"), -1);
  pango_layout_get_pixel_size (layout, &tw, &th);
  cairo_save (cr);
  cairo_translate (cr, 0, y0 + (cell * K + tw) / 2);
  cairo_rotate (cr, -G_PI / 2);
  cairo_move_to (cr, 0, 0);
  pango_cairo_show_layout (cr, layout);
  cairo_restore (cr);

  if (self->hovering)
    {
      int c = (int) floor ((self->hover_x - x0) / cell), t = (int) floor ((self->hover_y - y0) / cell);

      if (t >= 0 && c >= 0 && t < K && c < K)
        {
          gint64 n = self->counts[t * K + c];
          g_autofree char *text =
            g_strdup_printf (_("True %s, predicted %s: %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " (%.0f%%)"),
                             self->names[t], self->names[c], n, self->row_total[t],
                             self->row_total[t] > 0 ? 100.0 * n / self->row_total[t] : 0.0);
          double bx, by;

          pango_layout_set_width (layout, -1);
          pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_NONE);
          pango_layout_set_text (layout, text, -1);
          pango_layout_get_pixel_size (layout, &tw, &th);
          bx = CLAMP (self->hover_x + 12, 0, MAX (0, w - tw - 12));
          by = self->hover_y > th + 14 ? self->hover_y - th - 14 : self->hover_y + 18;
          cairo_set_line_width (cr, 2);
          cairo_set_source_rgba (cr, fg, fg, fg, 0.9);
          cairo_rectangle (cr, x0 + c * cell, y0 + t * cell, cell - 1, cell - 1);
          cairo_stroke (cr);
          cairo_set_source_rgba (cr, dark ? 0.2 : 1, dark ? 0.2 : 1, dark ? 0.22 : 1, 0.95);
          cairo_rectangle (cr, bx, by, tw + 12, th + 8);
          cairo_fill (cr);
          cairo_set_source_rgba (cr, fg, fg, fg, 0.9);
          cairo_move_to (cr, bx + 6, by + 4);
          pango_cairo_show_layout (cr, layout);
        }
    }
  cairo_destroy (cr);
}

static void
weft_confusion_view_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                             int *minimum, int *natural, int *min_baseline, int *nat_baseline)
{
  WeftConfusionView *self = WEFT_CONFUSION_VIEW (widget);
  int name_w, line_h, margin;

  if (self->K == 0)
    {
      *minimum = *natural = 0;
      return;
    }
  label_extent (self, &name_w, &line_h);
  margin = line_h + GAP + name_w + GAP;
  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = margin + self->K * MIN_CELL + GAP;
      *natural = margin + self->K * NAT_CELL + GAP;
    }
  else
    {
      double x0, y0, cell;

      /* As tall as the cells the width gives, so the grid stays square. */
      get_grid (self, for_size > 0 ? for_size : margin + self->K * NAT_CELL + GAP, &x0, &y0, &cell);
      *minimum = *natural = (int) (y0 + cell * self->K + GAP);
    }
}

static GtkSizeRequestMode
weft_confusion_view_get_request_mode (GtkWidget *widget)
{
  return GTK_SIZE_REQUEST_HEIGHT_FOR_WIDTH;
}

static void
motion_cb (GtkEventControllerMotion *motion, double x, double y, WeftConfusionView *self)
{
  self->hover_x = x;
  self->hover_y = y;
  self->hovering = TRUE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
leave_cb (GtkEventControllerMotion *motion, WeftConfusionView *self)
{
  self->hovering = FALSE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

typedef struct { int t, c; gint64 n; } Confusion;

static int
cmp_confusion (gconstpointer a, gconstpointer b)
{
  const Confusion *x = a, *y = b;

  if (x->n != y->n)
    return x->n < y->n ? 1 : -1;
  return x->t != y->t ? x->t - y->t : x->c - y->c;
}

char *
weft_confusion_view_dup_summary (WeftConfusionView *self)
{
  g_autoptr(GArray) off = g_array_new (FALSE, FALSE, sizeof (Confusion));
  GString *s;
  gint64 total = 0, correct = 0;
  int K;

  g_return_val_if_fail (WEFT_IS_CONFUSION_VIEW (self), NULL);

  K = self->K;
  if (K == 0)
    return g_strdup (_("No predictions yet"));
  for (int t = 0; t < K; t++)
    for (int c = 0; c < K; c++)
      {
        Confusion x = { t, c, self->counts[t * K + c] };

        total += x.n;
        if (t == c)
          correct += x.n;
        else if (x.n > 0)
          g_array_append_val (off, x);
      }
  g_array_sort (off, cmp_confusion);
  s = g_string_new (NULL);
  g_string_append_printf (s, _("%" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " rows predicted correctly over %d classes."),
                          correct, total, K);
  if (off->len == 0)
    g_string_append (s, _(" No confusions."));
  else
    {
      g_string_append (s, _(" Most confused:"));
      for (guint i = 0; i < MIN (off->len, N_SUMMARY); i++)
        {
          const Confusion *x = &g_array_index (off, Confusion, i);

          g_string_append_printf (s, i == 0 ? " " : "; ");
          g_string_append_printf (s, _("%s taken for %s %" G_GINT64_FORMAT " times"),
                                  self->names[x->t], self->names[x->c], x->n);
        }
      g_string_append_c (s, '.');
    }
  return g_string_free (s, FALSE);
}

void
weft_confusion_view_set_matrix (WeftConfusionView  *self,
                                const gint64       *counts,
                                int                 K,
                                const char * const *class_names)
{
  g_autofree char *summary = NULL;
  gboolean names_ok = class_names != NULL;

  g_return_if_fail (WEFT_IS_CONFUSION_VIEW (self));
  g_return_if_fail (K == 0 || counts != NULL);

  g_clear_pointer (&self->counts, g_free);
  g_clear_pointer (&self->row_total, g_free);
  g_clear_pointer (&self->names, g_strfreev);
  self->K = MAX (K, 0);
  if (self->K > 0)
    {
      self->counts = g_memdup2 (counts, (gsize) K * K * sizeof (gint64));
      self->row_total = g_new0 (gint64, K);
      self->names = g_new0 (char *, K + 1);
      for (int t = 0; t < K; t++)
        {
          for (int c = 0; c < K; c++)
            self->row_total[t] += counts[t * K + c];
          names_ok = names_ok && class_names[t] != NULL;
          self->names[t] = names_ok ? g_strdup (class_names[t]) : g_strdup_printf ("%d", t);
        }
    }
  summary = weft_confusion_view_dup_summary (self);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, summary, -1);
  gtk_widget_queue_resize (GTK_WIDGET (self));
}

static void
weft_confusion_view_finalize (GObject *object)
{
  WeftConfusionView *self = WEFT_CONFUSION_VIEW (object);

  g_free (self->counts);
  g_free (self->row_total);
  g_strfreev (self->names);
  G_OBJECT_CLASS (weft_confusion_view_parent_class)->finalize (object);
}

static void
weft_confusion_view_class_init (WeftConfusionViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = weft_confusion_view_finalize;
  widget_class->snapshot = weft_confusion_view_snapshot;
  widget_class->measure = weft_confusion_view_measure;
  widget_class->get_request_mode = weft_confusion_view_get_request_mode;
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
  gtk_widget_class_set_css_name (widget_class, "weft-confusion-view");
}

static void
weft_confusion_view_init (WeftConfusionView *self)
{
  GtkEventController *motion = gtk_event_controller_motion_new ();

  g_signal_connect (motion, "motion", G_CALLBACK (motion_cb), self);
  g_signal_connect (motion, "leave", G_CALLBACK (leave_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);
  g_signal_connect_object (adw_style_manager_get_default (), "notify::dark",
                           G_CALLBACK (gtk_widget_queue_draw), self, G_CONNECT_SWAPPED);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Confusion matrix"), -1);
}

GtkWidget *
weft_confusion_view_new (void)
{
  return g_object_new (WEFT_TYPE_CONFUSION_VIEW, NULL);
}
