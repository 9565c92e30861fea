/* weft-stats-view.c — WeftStatsView: three small Cairo charts stacked
 * vertically. The counts are computed once per dataset; the drawing is
 * cached as a render node and rebuilt only when the counts, the width or
 * the style (light/dark) change. */

#include "weft-config.h"

#include <glib/gi18n.h>

#include "weft-stats-view.h"

#define WEFT_STATS_BAR_HEIGHT   18
#define WEFT_STATS_TITLE_HEIGHT 28
#define WEFT_STATS_MAX_BARS     24   /* labels beyond are summed as "Other" */
#define WEFT_STATS_HIST_BINS    16
#define WEFT_STATS_HIST_HEIGHT  90
#define WEFT_STATS_PAD          12

typedef struct
{
  char *name;
  guint count;
} WeftStatsBar;

struct _WeftStatsView
{
  GtkWidget      parent_instance;

  /* Owned */
  GArray        *labels;      /* WeftStatsBar */
  GArray        *splits;      /* WeftStatsBar */
  guint          hist[WEFT_STATS_HIST_BINS];
  guint          hist_bin_width;   /* tokens per bin */
  guint          n_samples;
  GskRenderNode *cache;
  int            cache_width;
};

G_DEFINE_FINAL_TYPE (WeftStatsView, weft_stats_view, GTK_TYPE_WIDGET)

static void
weft_stats_bar_clear (WeftStatsBar *bar)
{
  g_free (bar->name);
}

static guint
weft_stats_count_tokens (const char *text)
{
  guint n = 0;
  gboolean in_word = FALSE;

  for (const char *p = text; p != NULL && *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      gboolean word = g_unichar_isalnum (c);

      if (word && !in_word)
        n++;
      else if (!word && !g_unichar_isspace (c))
        n++;  /* punctuation is a token of its own */
      in_word = word;
    }
  return n;
}

static void
weft_stats_view_invalidate (WeftStatsView *self)
{
  g_clear_pointer (&self->cache, gsk_render_node_unref);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
weft_stats_view_set_dataset (WeftStatsView     *self,
                             const WeftDataset *ds)
{
  guint n_labels;
  g_autofree guint *per_label = NULL;
  guint per_split[4] = { 0 };
  g_autofree guint *lengths = NULL;
  guint max_len = 0;

  g_return_if_fail (WEFT_IS_STATS_VIEW (self));

  g_array_set_size (self->labels, 0);
  g_array_set_size (self->splits, 0);
  memset (self->hist, 0, sizeof self->hist);
  self->n_samples = 0;

  if (ds != NULL)
    {
      n_labels = ds->labels ? g_strv_length (ds->labels) : 0;
      per_label = g_new0 (guint, n_labels + 1);   /* + unlabelled */
      lengths = g_new0 (guint, ds->samples->len);
      self->n_samples = ds->samples->len;

      for (guint i = 0; i < ds->samples->len; i++)
        {
          const WeftSample *s = g_ptr_array_index (ds->samples, i);
          int l = s->label ? weft_dataset_label_index (ds, s->label) : -1;

          per_label[l >= 0 ? (guint) l : n_labels]++;
          per_split[s->split >= 0 && s->split <= 2 ? s->split : 3]++;
          lengths[i] = weft_stats_count_tokens (s->text);
          max_len = MAX (max_len, lengths[i]);
        }

      for (guint l = 0; l <= n_labels; l++)
        {
          WeftStatsBar bar = { NULL, per_label[l] };

          if (per_label[l] == 0)
            continue;
          if (self->labels->len == WEFT_STATS_MAX_BARS)
            {
              WeftStatsBar *other = &g_array_index (self->labels, WeftStatsBar,
                                                    WEFT_STATS_MAX_BARS - 1);
              g_free (other->name);
              other->name = g_strdup (_("Other labels"));
              other->count += per_label[l];
              continue;
            }
          bar.name = g_strdup (l < n_labels ? ds->labels[l] : _("No label"));
          g_array_append_val (self->labels, bar);
        }

      {
        const char *names[4] = { _("Train"), _("Validation"), _("Test"), _("Not set") };

        for (guint k = 0; k < 4; k++)
          if (per_split[k] > 0)
            {
              WeftStatsBar bar = { g_strdup (names[k]), per_split[k] };
              g_array_append_val (self->splits, bar);
            }
      }

      self->hist_bin_width = MAX (1, (max_len + WEFT_STATS_HIST_BINS) / WEFT_STATS_HIST_BINS);
      for (guint i = 0; i < ds->samples->len; i++)
        self->hist[MIN (WEFT_STATS_HIST_BINS - 1, lengths[i] / self->hist_bin_width)]++;
    }

  gtk_widget_queue_resize (GTK_WIDGET (self));
  weft_stats_view_invalidate (self);
}

static int
weft_stats_view_content_height (WeftStatsView *self)
{
  if (self->n_samples == 0)
    return 0;
  return 3 * (WEFT_STATS_TITLE_HEIGHT + WEFT_STATS_PAD) +
         (self->labels->len + self->splits->len) * WEFT_STATS_BAR_HEIGHT +
         WEFT_STATS_HIST_HEIGHT + 20;
}

static void
weft_stats_view_measure (GtkWidget      *widget,
                         GtkOrientation  orientation,
                         int             for_size,
                         int            *minimum,
                         int            *natural,
                         int            *minimum_baseline,
                         int            *natural_baseline)
{
  WeftStatsView *self = WEFT_STATS_VIEW (widget);

  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    *minimum = *natural = 220;
  else
    *minimum = *natural = weft_stats_view_content_height (self);
}

static void
weft_stats_view_title (GtkWidget   *widget,
                       cairo_t     *cr,
                       const char  *text,
                       double       y,
                       GdkRGBA     *fg)
{
  g_autoptr(PangoLayout) layout = gtk_widget_create_pango_layout (widget, NULL);
  g_autofree char *markup = g_markup_printf_escaped ("<b>%s</b>", text);

  pango_layout_set_markup (layout, markup, -1);
  gdk_cairo_set_source_rgba (cr, fg);
  cairo_move_to (cr, 0, y + 4);
  pango_cairo_show_layout (cr, layout);
}

/* Draws a horizontal bar chart: name on the left, bar, count at the end. */
static double
weft_stats_view_bars (GtkWidget *widget,
                      cairo_t   *cr,
                      GArray    *bars,
                      double     y,
                      int        width,
                      GdkRGBA   *fg,
                      GdkRGBA   *accent)
{
  g_autoptr(PangoLayout) layout = gtk_widget_create_pango_layout (widget, NULL);
  double name_w = MIN (110, width * 0.4), bar_x = name_w + 6;
  double bar_max_w = MAX (10, width - bar_x - 48);
  guint max = 1;

  for (guint i = 0; i < bars->len; i++)
    max = MAX (max, g_array_index (bars, WeftStatsBar, i).count);

  pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
  pango_layout_set_width (layout, (int) name_w * PANGO_SCALE);
  for (guint i = 0; i < bars->len; i++)
    {
      WeftStatsBar *bar = &g_array_index (bars, WeftStatsBar, i);
      g_autofree char *count = g_strdup_printf ("%u", bar->count);
      double w = MAX (1.0, bar_max_w * bar->count / max);
      int th;

      pango_layout_set_width (layout, (int) name_w * PANGO_SCALE);
      pango_layout_set_text (layout, bar->name, -1);
      pango_layout_get_pixel_size (layout, NULL, &th);
      gdk_cairo_set_source_rgba (cr, fg);
      cairo_move_to (cr, 0, y + (WEFT_STATS_BAR_HEIGHT - th) / 2.0);
      pango_cairo_show_layout (cr, layout);

      gdk_cairo_set_source_rgba (cr, accent);
      cairo_rectangle (cr, bar_x, y + 3, w, WEFT_STATS_BAR_HEIGHT - 6);
      cairo_fill (cr);

      pango_layout_set_width (layout, -1);
      pango_layout_set_text (layout, count, -1);
      gdk_cairo_set_source_rgba (cr, fg);
      cairo_move_to (cr, bar_x + w + 4, y + (WEFT_STATS_BAR_HEIGHT - th) / 2.0);
      pango_cairo_show_layout (cr, layout);

      y += WEFT_STATS_BAR_HEIGHT;
    }
  return y;
}

static void
weft_stats_view_histogram (GtkWidget     *widget,
                           cairo_t       *cr,
                           WeftStatsView *self,
                           double         y,
                           int            width,
                           GdkRGBA       *fg,
                           GdkRGBA       *accent)
{
  g_autoptr(PangoLayout) layout = gtk_widget_create_pango_layout (widget, NULL);
  double bin_w = (double) width / WEFT_STATS_HIST_BINS;
  double h = WEFT_STATS_HIST_HEIGHT;
  guint max = 1;
  g_autofree char *left = NULL, *right = NULL;
  int tw;

  for (guint b = 0; b < WEFT_STATS_HIST_BINS; b++)
    max = MAX (max, self->hist[b]);

  gdk_cairo_set_source_rgba (cr, accent);
  for (guint b = 0; b < WEFT_STATS_HIST_BINS; b++)
    {
      double bh = h * self->hist[b] / max;

      if (self->hist[b] > 0)
        cairo_rectangle (cr, b * bin_w + 1, y + h - MAX (1.0, bh), bin_w - 2, MAX (1.0, bh));
    }
  cairo_fill (cr);

  /* Axis and its end labels: 0 and the upper edge of the last bin. */
  {
    GdkRGBA axis = *fg;
    axis.alpha *= 0.4;
    gdk_cairo_set_source_rgba (cr, &axis);
    cairo_rectangle (cr, 0, y + h, width, 1);
    cairo_fill (cr);
  }
  left = g_strdup ("0");
  right = g_strdup_printf (_("%u tokens"), self->hist_bin_width * WEFT_STATS_HIST_BINS);
  gdk_cairo_set_source_rgba (cr, fg);
  pango_layout_set_text (layout, left, -1);
  cairo_move_to (cr, 0, y + h + 2);
  pango_cairo_show_layout (cr, layout);
  pango_layout_set_text (layout, right, -1);
  pango_layout_get_pixel_size (layout, &tw, NULL);
  cairo_move_to (cr, width - tw, y + h + 2);
  pango_cairo_show_layout (cr, layout);
}

static GskRenderNode *
weft_stats_view_render (WeftStatsView *self,
                        int            width)
{
  GtkWidget *widget = GTK_WIDGET (self);
  g_autoptr(GtkSnapshot) snapshot = gtk_snapshot_new ();
  GtkStyleContext *style = gtk_widget_get_style_context (widget);
  int height = weft_stats_view_content_height (self);
  GdkRGBA fg, accent;
  cairo_t *cr;
  double y = 0;

  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_style_context_get_color (style, &fg);
  if (!gtk_style_context_lookup_color (style, "accent_color", &accent))
    accent = (GdkRGBA) { 0.21, 0.52, 0.89, 1.0 };
  G_GNUC_END_IGNORE_DEPRECATIONS

  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  weft_stats_view_title (widget, cr, _("Samples per label"), y, &fg);
  y = weft_stats_view_bars (widget, cr, self->labels, y + WEFT_STATS_TITLE_HEIGHT,
                            width, &fg, &accent) + WEFT_STATS_PAD;
  weft_stats_view_title (widget, cr, _("Samples per split"), y, &fg);
  y = weft_stats_view_bars (widget, cr, self->splits, y + WEFT_STATS_TITLE_HEIGHT,
                            width, &fg, &accent) + WEFT_STATS_PAD;
  weft_stats_view_title (widget, cr, _("Caption length (tokens)"), y, &fg);
  weft_stats_view_histogram (widget, cr, self, y + WEFT_STATS_TITLE_HEIGHT, width, &fg, &accent);
  cairo_destroy (cr);

  return gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
}

static void
weft_stats_view_snapshot (GtkWidget   *widget,
                          GtkSnapshot *snapshot)
{
  WeftStatsView *self = WEFT_STATS_VIEW (widget);
  int width = gtk_widget_get_width (widget);

  if (self->n_samples == 0 || width <= 0)
    return;

  if (self->cache == NULL || self->cache_width != width)
    {
      g_clear_pointer (&self->cache, gsk_render_node_unref);
      self->cache = weft_stats_view_render (self, width);
      self->cache_width = width;
    }
  if (self->cache != NULL)
    gtk_snapshot_append_node (snapshot, self->cache);
}

static void
weft_stats_view_css_changed (GtkWidget         *widget,
                             GtkCssStyleChange *change)
{
  GTK_WIDGET_CLASS (weft_stats_view_parent_class)->css_changed (widget, change);

  /* Light/dark switch or a new accent colour. */
  weft_stats_view_invalidate (WEFT_STATS_VIEW (widget));
}

static void
weft_stats_view_finalize (GObject *object)
{
  WeftStatsView *self = WEFT_STATS_VIEW (object);

  g_clear_pointer (&self->cache, gsk_render_node_unref);
  g_array_unref (self->labels);
  g_array_unref (self->splits);

  G_OBJECT_CLASS (weft_stats_view_parent_class)->finalize (object);
}

static void
weft_stats_view_class_init (WeftStatsViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = weft_stats_view_finalize;

  widget_class->measure = weft_stats_view_measure;
  widget_class->snapshot = weft_stats_view_snapshot;
  widget_class->css_changed = weft_stats_view_css_changed;

  gtk_widget_class_set_css_name (widget_class, "weftstatsview");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
weft_stats_view_init (WeftStatsView *self)
{
  self->labels = g_array_new (FALSE, TRUE, sizeof (WeftStatsBar));
  g_array_set_clear_func (self->labels, (GDestroyNotify) weft_stats_bar_clear);
  self->splits = g_array_new (FALSE, TRUE, sizeof (WeftStatsBar));
  g_array_set_clear_func (self->splits, (GDestroyNotify) weft_stats_bar_clear);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Dataset statistics"), -1);
}

GtkWidget *
weft_stats_view_new (void)
{
  return g_object_new (WEFT_TYPE_STATS_VIEW, NULL);
}
