/* weft-stats-view.c — WeftStatsView: small Cairo charts stacked
 * vertically: samples per label and per split, caption lengths and sound
 * durations. The counts are computed once per dataset, the durations on a
 * worker; the drawing is cached as a render node and rebuilt only when the
 * numbers, the width or the style (light/dark) change. */

#include "weft-config.h"

#include <glib/gi18n.h>

#include "data/weft-audio.h"

#include "weft-stats-view.h"

#define WEFT_STATS_BAR_HEIGHT   18
#define WEFT_STATS_TITLE_HEIGHT 28
#define WEFT_STATS_MAX_BARS     24   /* labels beyond are summed as "Other" */
#define WEFT_STATS_HIST_BINS    16
#define WEFT_STATS_HIST_HEIGHT  90
#define WEFT_STATS_PAD          12
/* Sound durations come from the files (a WAV header, else GStreamer): at
 * most this many clips, evenly spread over the rows, are measured. */
#define WEFT_STATS_MAX_PROBED   2000

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
  /* Sound durations */
  guint          n_sounds;         /* rows with a sound */
  guint          n_measured;       /* clips measured so far (0: none yet) */
  gboolean       measuring;
  guint          dur_hist[WEFT_STATS_HIST_BINS];
  double         dur_bin_width;    /* seconds per bin */
  double         dur_min, dur_median, dur_max;
  GCancellable  *measure_cancellable;
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

static char *weft_stats_view_durations_note (WeftStatsView *self);

/* What the charts show, in words, for screen readers. */
static void
weft_stats_view_update_description (WeftStatsView *self)
{
  g_autoptr(GString) text = g_string_new (NULL);

  g_string_printf (text, ngettext ("%u sample in %u label", "%u samples in %u labels",
                                   self->n_samples),
                   self->n_samples, self->labels->len);
  if (self->n_sounds > 0)
    {
      g_autofree char *note = weft_stats_view_durations_note (self);

      g_string_append_printf (text, _("; sound durations: %s"), note);
    }
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                  text->str, -1);
}

static void
weft_stats_view_invalidate (WeftStatsView *self)
{
  g_clear_pointer (&self->cache, gsk_render_node_unref);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* ---- Sound durations, measured on a worker ---- */

static void
weft_stats_view_measure_thread (GTask        *task,
                                gpointer      source_object,
                                gpointer      task_data,
                                GCancellable *cancellable)
{
  GStrv paths = task_data;
  g_autoptr(GArray) seconds = g_array_new (FALSE, FALSE, sizeof (double));

  for (guint i = 0; paths[i] != NULL; i++)
    {
      double s;

      if (g_cancellable_is_cancelled (cancellable))
        break;
      /* A clip that cannot be read is left out here; featurisation puts
       * it in the validation report with its cause. */
      if (weft_audio_probe (paths[i], &s, NULL) && s >= 0)
        g_array_append_val (seconds, s);
    }
  g_task_return_pointer (task, g_steal_pointer (&seconds), (GDestroyNotify) g_array_unref);
}

static int
weft_double_compare (gconstpointer a,
                     gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static void
weft_stats_view_measure_done (GObject      *source,
                              GAsyncResult *result,
                              gpointer      user_data)
{
  WeftStatsView *self = WEFT_STATS_VIEW (source);
  g_autoptr(GArray) seconds = g_task_propagate_pointer (G_TASK (result), NULL);
  static const double steps[] = { 0.1, 0.2, 0.5 };
  double step = steps[0];

  /* Cancelled: another dataset (or none) is shown now. */
  if (seconds == NULL || g_cancellable_is_cancelled (g_task_get_cancellable (G_TASK (result))))
    return;

  self->measuring = FALSE;
  self->n_measured = seconds->len;
  memset (self->dur_hist, 0, sizeof self->dur_hist);
  if (seconds->len > 0)
    {
      g_array_sort (seconds, weft_double_compare);
      self->dur_min = g_array_index (seconds, double, 0);
      self->dur_median = g_array_index (seconds, double, (seconds->len - 1) / 2);
      self->dur_max = g_array_index (seconds, double, seconds->len - 1);
      /* Bins of a round width (0.1, 0.2, 0.5, 1, 2, 5 … s) that hold the
       * longest clip. */
      for (guint i = 1, decade = 1; step * WEFT_STATS_HIST_BINS <= self->dur_max; i++)
        {
          if (i % 3 == 0)
            decade *= 10;
          step = steps[i % 3] * decade;
        }
      self->dur_bin_width = step;
      for (guint i = 0; i < seconds->len; i++)
        {
          guint b = (guint) (g_array_index (seconds, double, i) / step);

          self->dur_hist[MIN (WEFT_STATS_HIST_BINS - 1, b)]++;
        }
    }
  weft_stats_view_update_description (self);
  gtk_widget_queue_resize (GTK_WIDGET (self));
  weft_stats_view_invalidate (self);
}

static void
weft_stats_view_start_measuring (WeftStatsView     *self,
                                 const WeftDataset *ds)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  guint stride, k = 0;

  if (self->measure_cancellable != NULL)
    g_cancellable_cancel (self->measure_cancellable);
  g_clear_object (&self->measure_cancellable);
  self->measuring = FALSE;
  self->n_measured = 0;
  if (ds == NULL || self->n_sounds == 0)
    return;

  /* Every stride-th sound, so that a large set is measured evenly. */
  stride = (self->n_sounds + WEFT_STATS_MAX_PROBED - 1) / WEFT_STATS_MAX_PROBED;
  for (guint i = 0; i < ds->samples->len; i++)
    {
      const WeftSample *s = g_ptr_array_index (ds->samples, i);

      if (s->audio != NULL && k++ % stride == 0)
        g_strv_builder_add (builder, s->audio);
    }

  self->measuring = TRUE;
  self->measure_cancellable = g_cancellable_new ();
  task = g_task_new (self, self->measure_cancellable, weft_stats_view_measure_done, NULL);
  g_task_set_source_tag (task, weft_stats_view_start_measuring);
  g_task_set_task_data (task, g_strv_builder_end (builder), (GDestroyNotify) g_strfreev);
  g_task_run_in_thread (task, weft_stats_view_measure_thread);
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
  self->n_sounds = 0;

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
          if (s->audio != NULL)
            self->n_sounds++;
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

  weft_stats_view_start_measuring (self, ds);
  weft_stats_view_update_description (self);
  gtk_widget_queue_resize (GTK_WIDGET (self));
  weft_stats_view_invalidate (self);
}

static int
weft_stats_view_content_height (WeftStatsView *self)
{
  int height;

  if (self->n_samples == 0)
    return 0;
  height = 3 * (WEFT_STATS_TITLE_HEIGHT + WEFT_STATS_PAD) +
           (self->labels->len + self->splits->len) * WEFT_STATS_BAR_HEIGHT +
           WEFT_STATS_HIST_HEIGHT + 20;
  /* Sound durations: a title, the chart once measured, two lines of note. */
  if (self->n_sounds > 0)
    height += WEFT_STATS_TITLE_HEIGHT + (self->n_measured > 0 ? WEFT_STATS_HIST_HEIGHT + 20 : 0) +
              40 + WEFT_STATS_PAD;
  return height;
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
weft_stats_view_histogram (GtkWidget   *widget,
                           cairo_t     *cr,
                           const guint *hist,
                           const char  *right,
                           double       y,
                           int          width,
                           GdkRGBA     *fg,
                           GdkRGBA     *accent)
{
  g_autoptr(PangoLayout) layout = gtk_widget_create_pango_layout (widget, NULL);
  double bin_w = (double) width / WEFT_STATS_HIST_BINS;
  double h = WEFT_STATS_HIST_HEIGHT;
  guint max = 1;
  int tw;

  for (guint b = 0; b < WEFT_STATS_HIST_BINS; b++)
    max = MAX (max, hist[b]);

  gdk_cairo_set_source_rgba (cr, accent);
  for (guint b = 0; b < WEFT_STATS_HIST_BINS; b++)
    {
      double bh = h * hist[b] / max;

      if (hist[b] > 0)
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
  gdk_cairo_set_source_rgba (cr, fg);
  pango_layout_set_text (layout, "0", -1);
  cairo_move_to (cr, 0, y + h + 2);
  pango_cairo_show_layout (cr, layout);
  pango_layout_set_text (layout, right, -1);
  pango_layout_get_pixel_size (layout, &tw, NULL);
  cairo_move_to (cr, width - tw, y + h + 2);
  pango_cairo_show_layout (cr, layout);
}

/* A dim line of text (a note under a chart); returns its height. */
static int
weft_stats_view_note (GtkWidget  *widget,
                      cairo_t    *cr,
                      const char *text,
                      double      y,
                      int         width,
                      GdkRGBA    *fg)
{
  g_autoptr(PangoLayout) layout = gtk_widget_create_pango_layout (widget, text);
  GdkRGBA dim = *fg;
  int th;

  dim.alpha *= 0.6;
  pango_layout_set_width (layout, width * PANGO_SCALE);
  pango_layout_set_wrap (layout, PANGO_WRAP_WORD_CHAR);
  pango_layout_get_pixel_size (layout, NULL, &th);
  gdk_cairo_set_source_rgba (cr, &dim);
  cairo_move_to (cr, 0, y);
  pango_cairo_show_layout (cr, layout);
  return th;
}

static char *
weft_stats_view_durations_note (WeftStatsView *self)
{
  if (self->n_measured == 0)
    return g_strdup (self->measuring ? _("Measuring the sounds…")
                                     : _("No sound could be measured"));
  if (self->n_measured < self->n_sounds)
    return g_strdup_printf (_("Shortest %.1f s, median %.1f s, longest %.1f s "
                              "(from %u of %u sounds)"),
                            self->dur_min, self->dur_median, self->dur_max,
                            self->n_measured, self->n_sounds);
  return g_strdup_printf (_("Shortest %.1f s, median %.1f s, longest %.1f s"),
                          self->dur_min, self->dur_median, self->dur_max);
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
  {
    g_autofree char *right = g_strdup_printf (_("%u tokens"),
                                              self->hist_bin_width * WEFT_STATS_HIST_BINS);

    weft_stats_view_title (widget, cr, _("Caption length (tokens)"), y, &fg);
    weft_stats_view_histogram (widget, cr, self->hist, right, y + WEFT_STATS_TITLE_HEIGHT,
                               width, &fg, &accent);
    y += WEFT_STATS_TITLE_HEIGHT + WEFT_STATS_HIST_HEIGHT + 20 + WEFT_STATS_PAD;
  }
  if (self->n_sounds > 0)
    {
      g_autofree char *note = weft_stats_view_durations_note (self);

      weft_stats_view_title (widget, cr, _("Sound duration (seconds)"), y, &fg);
      y += WEFT_STATS_TITLE_HEIGHT;
      if (self->n_measured > 0)
        {
          g_autofree char *right = g_strdup_printf (_("%.1f s"),
                                                    self->dur_bin_width * WEFT_STATS_HIST_BINS);

          weft_stats_view_histogram (widget, cr, self->dur_hist, right, y, width, &fg, &accent);
          y += WEFT_STATS_HIST_HEIGHT + 20;
        }
      weft_stats_view_note (widget, cr, note, y, width, &fg);
    }
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
weft_stats_view_dispose (GObject *object)
{
  WeftStatsView *self = WEFT_STATS_VIEW (object);

  if (self->measure_cancellable != NULL)
    g_cancellable_cancel (self->measure_cancellable);
  g_clear_object (&self->measure_cancellable);

  G_OBJECT_CLASS (weft_stats_view_parent_class)->dispose (object);
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

  object_class->dispose = weft_stats_view_dispose;
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
