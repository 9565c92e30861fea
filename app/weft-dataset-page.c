/* weft-dataset-page.c — WeftDatasetPage: owns the shared dataset, the list
 * of WeftSampleItems, the filters over it, the thumbnail loader and the
 * audio player, and runs weft_featurize in a GTask whose progress crosses
 * to the main loop as a snapshot under a mutex (one idle at a time). */

#include "weft-config.h"

#include <errno.h>
#include <sys/resource.h>
#include <time.h>

#include <glib/gi18n.h>

#include "data/weft-featurize.h"

#include "weft-audio-player.h"
#include "weft-dataset-page.h"
#include "weft-report-view.h"
#include "weft-sample-card.h"
#include "weft-sample-loader.h"
#include "weft-stats-view.h"

/* Settings changes come in bursts (a spin button held down). */
#define WEFT_DATASET_PAGE_REFEATURIZE_DELAY_MS 600
/* Featurisation runs behind the window's main thread. */
#define WEFT_DATASET_PAGE_FEATURIZE_NICE 10
/* Frames the WEFT_BENCH_SCROLL run takes at most. */
#define WEFT_BENCH_FRAMES 300.0

enum {
  WEFT_MISSING_ANY,
  WEFT_MISSING_IMAGE,
  WEFT_MISSING_AUDIO,
  WEFT_MISSING_TEXT,
};

struct _WeftDatasetPage
{
  AdwBin              parent_instance;

  /* Template widgets */
  GtkRevealer        *progress_revealer;
  GtkLabel           *progress_label;
  GtkProgressBar     *progress_bar;
  GtkSearchEntry     *search_entry;
  GtkDropDown        *label_dropdown;
  GtkDropDown        *split_dropdown;
  GtkDropDown        *missing_dropdown;
  GtkLabel           *count_label;
  GtkPaned           *paned;
  GtkStack           *grid_stack;
  GtkScrolledWindow  *grid_scroller;
  GtkGridView        *grid_view;
  GtkWidget          *side_panel;
  GtkStack           *panel_stack;
  GtkToggleButton    *report_button;
  GtkLabel           *report_button_label;
  WeftStatsView      *stats_view;
  WeftReportView     *report_view;
  GtkLabel           *features_label;
  GtkSpinButton      *image_size_spin;
  GtkSwitch          *colour_switch;
  GtkSpinButton      *mel_bands_spin;
  GtkSpinButton      *vocab_spin;

  /* Owned */
  WeftSharedDataset  *shared;
  GListStore         *samples;      /* WeftSampleItem */
  GtkFilterListModel *filtered;
  GtkCustomFilter    *filter;
  GtkSingleSelection *selection;
  WeftSampleLoader   *loader;
  WeftAudioPlayer    *player;
  WeftFeatures       *features;
  GPtrArray          *decode_issues;  /* WeftIssue* from the last featurisation */
  GTask              *featurize_task; /* the run whose results count */
  GCancellable       *featurize_cancellable;
  char               *panel;          /* "stats" or "report" */
  char               *search;         /* casefolded, or NULL */
  guint               refeaturize_source;
  gboolean            side_panel_visible;

  /* Benchmark (WEFT_BENCH_SCROLL) */
  gint64              bench_start;
  GArray             *bench_frames;   /* gint64 frame intervals, µs */
  GArray             *bench_work;     /* gint64 paint work per frame, µs */
  GArray             *bench_cpu;      /* gint64 main-thread CPU per frame, µs */
  gint64              bench_last_cpu;
  GdkFrameClock      *bench_clock;
  gint64              bench_last;
  gint64              bench_paint_start;
  gint64              bench_first_frame;
  gint64              bench_first_frame_age;
  guint               bench_tick;
  gboolean            bench_scrolling;
};

G_DEFINE_FINAL_TYPE (WeftDatasetPage, weft_dataset_page, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_FEATURES,
  PROP_PANEL,
  PROP_SIDE_PANEL_VISIBLE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void weft_dataset_page_featurize (WeftDatasetPage *self);
static void weft_dataset_page_bench_start (WeftDatasetPage *self);

/* ---- Issues ---- */

static void
weft_issue_free (WeftIssue *issue)
{
  g_free (issue->file);
  g_free (issue->message);
  g_free (issue);
}

/* The report is the issues of opening plus those of the last featurisation
 * (each run collects its own, so re-running never lists a failure twice). */
static void
weft_dataset_page_update_report (WeftDatasetPage *self)
{
  g_autoptr(GPtrArray) all = g_ptr_array_new ();
  WeftDataset *ds = self->shared ? *self->shared : NULL;
  g_autofree char *label = NULL;
  guint n;

  if (ds != NULL)
    for (guint i = 0; i < ds->issues->len; i++)
      g_ptr_array_add (all, g_ptr_array_index (ds->issues, i));
  for (guint i = 0; self->decode_issues && i < self->decode_issues->len; i++)
    g_ptr_array_add (all, g_ptr_array_index (self->decode_issues, i));

  weft_report_view_set_issues (self->report_view, ds ? ds->root : NULL, all);

  n = all->len;
  label = n == 0 ? g_strdup (_("Problems"))
                 : g_strdup_printf ("%s (%u)", _("Problems"), n);
  /* The button's accessible name stays "Validation Report"; only the
   * visible label counts. */
  gtk_label_set_text (self->report_button_label, label);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->report_button),
                               n == 0 ? _("No problems found")
                                      : g_dngettext (GETTEXT_PACKAGE, "%u problem found",
                                                     "%u problems found", n));
}

/* ---- Filters ---- */

static gboolean
weft_dataset_page_match (gpointer item,
                         gpointer user_data)
{
  WeftDatasetPage *self = user_data;
  const WeftSample *s = weft_sample_item_get_sample (item);
  WeftDataset *ds = *self->shared;
  guint label = gtk_drop_down_get_selected (self->label_dropdown);
  guint split = gtk_drop_down_get_selected (self->split_dropdown);
  guint missing = gtk_drop_down_get_selected (self->missing_dropdown);

  if (label != GTK_INVALID_LIST_POSITION && label > 0 && ds->labels != NULL)
    {
      if (s->label == NULL || g_strcmp0 (s->label, ds->labels[label - 1]) != 0)
        return FALSE;
    }

  if (split >= 1 && split <= 3 && s->split != (int) split - 1)
    return FALSE;
  if (split == 4 && s->split >= 0)
    return FALSE;

  if ((missing == WEFT_MISSING_IMAGE && s->image != NULL) ||
      (missing == WEFT_MISSING_AUDIO && s->audio != NULL) ||
      (missing == WEFT_MISSING_TEXT && s->text != NULL))
    return FALSE;

  if (self->search != NULL)
    {
      g_autofree char *id = g_utf8_casefold (s->id, -1);
      g_autofree char *text = NULL;

      if (strstr (id, self->search) != NULL)
        return TRUE;
      if (s->text == NULL)
        return FALSE;
      text = g_utf8_casefold (s->text, -1);
      return strstr (text, self->search) != NULL;
    }

  return TRUE;
}

static void
weft_dataset_page_update_count (WeftDatasetPage *self)
{
  guint shown = g_list_model_get_n_items (G_LIST_MODEL (self->filtered));
  guint total = g_list_model_get_n_items (G_LIST_MODEL (self->samples));
  g_autofree char *text = NULL;

  if (shown == total)
    text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u sample", "%u samples", total),
                            total);
  else
    text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u of %u sample",
                                         "%u of %u samples", total), shown, total);
  gtk_label_set_text (self->count_label, text);
  gtk_stack_set_visible_child_name (self->grid_stack,
                                    shown > 0 || total == 0 ? "grid" : "no-match");
}

static void
weft_dataset_page_filter_changed (WeftDatasetPage *self)
{
  guint label = gtk_drop_down_get_selected (self->label_dropdown);
  guint split = gtk_drop_down_get_selected (self->split_dropdown);
  guint missing = gtk_drop_down_get_selected (self->missing_dropdown);
  gboolean everything = (label == 0 || label == GTK_INVALID_LIST_POSITION) &&
                        (split == 0 || split == GTK_INVALID_LIST_POSITION) &&
                        (missing == 0 || missing == GTK_INVALID_LIST_POSITION) &&
                        self->search == NULL;

  if (self->shared == NULL)
    return;
  /* Without a filter function the model passes its items through: no
   * bitset of 70,000 matches to look positions up in while scrolling. */
  if (everything)
    gtk_custom_filter_set_filter_func (self->filter, NULL, NULL, NULL);
  else
    gtk_custom_filter_set_filter_func (self->filter, weft_dataset_page_match, self, NULL);
}

static void
weft_dataset_page_search_changed (WeftDatasetPage *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->search_entry));
  g_autofree char *stripped = g_strstrip (g_strdup (text));

  g_clear_pointer (&self->search, g_free);
  if (*stripped != '\0')
    self->search = g_utf8_casefold (stripped, -1);
  weft_dataset_page_filter_changed (self);
}

/* ---- Grid ---- */

static void
weft_dataset_page_setup_card (GtkSignalListItemFactory *factory,
                              GtkListItem              *list_item,
                              WeftDatasetPage          *self)
{
  gtk_list_item_set_child (list_item, weft_sample_card_new (self->loader, self->player));
}

/* The benchmark's peer (WEFT_BENCH_SCROLL=plain): the same grid with a
 * bare label of the same size per item, the floor GtkGridView itself sets
 * on this machine at this moment. */
static void
weft_dataset_page_setup_plain (GtkSignalListItemFactory *factory,
                               GtkListItem              *list_item,
                               WeftDatasetPage          *self)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_widget_set_size_request (label, 192, 240);
  gtk_list_item_set_child (list_item, label);
}

static void
weft_dataset_page_bind_plain (GtkSignalListItemFactory *factory,
                              GtkListItem              *list_item,
                              WeftDatasetPage          *self)
{
  gtk_label_set_text (GTK_LABEL (gtk_list_item_get_child (list_item)),
                      weft_sample_item_get_id (gtk_list_item_get_item (list_item)));
}

static void
weft_dataset_page_bind_card (GtkSignalListItemFactory *factory,
                             GtkListItem              *list_item,
                             WeftDatasetPage          *self)
{
  weft_sample_card_set_item (WEFT_SAMPLE_CARD (gtk_list_item_get_child (list_item)),
                             gtk_list_item_get_item (list_item));
}

static void
weft_dataset_page_unbind_card (GtkSignalListItemFactory *factory,
                               GtkListItem              *list_item,
                               WeftDatasetPage          *self)
{
  weft_sample_card_set_item (WEFT_SAMPLE_CARD (gtk_list_item_get_child (list_item)), NULL);
}

/* The card holding the keyboard focus, else the selected one. */
static WeftSampleItem *
weft_dataset_page_get_focus_item (WeftDatasetPage *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkWidget *focus = root ? gtk_root_get_focus (root) : NULL;

  for (GtkWidget *w = focus; w != NULL; w = gtk_widget_get_parent (w))
    {
      GtkWidget *child = gtk_widget_get_first_child (w);

      if (WEFT_IS_SAMPLE_CARD (w))
        return weft_sample_card_get_item (WEFT_SAMPLE_CARD (w));
      if (child != NULL && WEFT_IS_SAMPLE_CARD (child))
        return weft_sample_card_get_item (WEFT_SAMPLE_CARD (child));
      if (w == GTK_WIDGET (self->grid_view))
        break;
    }

  return gtk_single_selection_get_selected_item (self->selection);
}

static void
weft_dataset_page_play_focused (GtkWidget  *widget,
                                const char *action_name,
                                GVariant   *parameter)
{
  WeftDatasetPage *self = WEFT_DATASET_PAGE (widget);
  WeftSampleItem *item = weft_dataset_page_get_focus_item (self);

  if (item != NULL && weft_sample_item_get_audio_path (item) != NULL)
    weft_audio_player_toggle (self->player, item);
}

static void
weft_dataset_page_find (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *parameter)
{
  WeftDatasetPage *self = WEFT_DATASET_PAGE (widget);

  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
}

/* ---- Featurisation ---- */

typedef struct
{
  WeftSharedDataset  *shared;
  WeftDataset        *run;         /* shallow copy of the dataset with its
                                      own issues array */
  WeftFeatureSettings settings;
  char               *cache_dir;

  GMutex              lock;        /* guards the fields below */
  double              fraction;
  char               *message;
  gboolean            idle_queued;
  gint64              last_shown;  /* when the last idle was queued, µs */
} WeftFeaturizeJob;

static void
weft_featurize_job_free (WeftFeaturizeJob *job)
{
  if (job->run != NULL)
    {
      g_ptr_array_unref (job->run->issues);
      g_free (job->run);
    }
  g_clear_pointer (&job->shared, weft_shared_dataset_unref);
  g_free (job->cache_dir);
  g_free (job->message);
  g_mutex_clear (&job->lock);
  g_free (job);
}

static gboolean
weft_dataset_page_progress_idle (gpointer data)
{
  GTask *task = data;
  WeftDatasetPage *self = g_task_get_source_object (task);
  WeftFeaturizeJob *job = g_task_get_task_data (task);
  g_autofree char *message = NULL;
  double fraction;

  g_mutex_lock (&job->lock);
  fraction = job->fraction;
  message = g_strdup (job->message);
  job->idle_queued = FALSE;
  g_mutex_unlock (&job->lock);

  if (task == self->featurize_task)
    {
      gtk_progress_bar_set_fraction (self->progress_bar, fraction);
      if (message != NULL)
        gtk_label_set_text (self->progress_label, message);
    }
  return G_SOURCE_REMOVE;
}

/* Runs on the featurisation thread. */
static void
weft_dataset_page_progress (double      fraction,
                            const char *message,
                            gpointer    user_data)
{
  GTask *task = user_data;
  WeftFeaturizeJob *job = g_task_get_task_data (task);
  gboolean queue;

  g_mutex_lock (&job->lock);
  job->fraction = fraction;
  g_free (job->message);
  job->message = g_strdup (message);
  /* A few updates a second: each new text relays out the page's header,
   * work the main thread should spend on scrolling. */
  queue = !job->idle_queued &&
          g_get_monotonic_time () - job->last_shown >= G_USEC_PER_SEC / 4;
  if (queue)
    {
      job->idle_queued = TRUE;
      job->last_shown = g_get_monotonic_time ();
    }
  g_mutex_unlock (&job->lock);

  if (queue)
    g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, weft_dataset_page_progress_idle,
                     g_object_ref (task), g_object_unref);
}

/* Runs on a thread of its own, not GTask's pool: it lowers its priority
 * (Linux keeps a nice value per thread, and the decoding threads
 * weft_featurize starts inherit it) so that featurising 70,000 rows in the
 * background never takes the CPU the window needs to scroll. A pool thread
 * would keep the lowered priority for whatever ran on it next. */
static gpointer
weft_dataset_page_featurize_thread (gpointer data)
{
  g_autoptr(GTask) task = data;
  WeftFeaturizeJob *job = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  WeftFeatures *features;

#ifdef __linux__
  if (setpriority (PRIO_PROCESS, 0, WEFT_DATASET_PAGE_FEATURIZE_NICE) != 0)
    g_debug ("Could not lower the featurisation's priority: %s", g_strerror (errno));
#endif

  features = weft_featurize (job->run, &job->settings, job->cache_dir, 0,
                             weft_dataset_page_progress, task,
                             g_task_get_cancellable (task), &error);
  if (features == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, features, (GDestroyNotify) weft_features_free);
  return NULL;
}

static void
weft_dataset_page_update_features_label (WeftDatasetPage *self)
{
  g_autofree char *text = NULL;
  WeftFeatures *f = self->features;

  if (f == NULL)
    {
      gtk_label_set_text (self->features_label, "");
      return;
    }
  text = g_strdup_printf (_("Features ready: %d samples · images %s · sounds %s · vocabulary %d words"),
                          f->n_rows,
                          f->image.shape.n ? _("yes") : _("none"),
                          f->audio.shape.n ? _("yes") : _("none"),
                          f->vocab_size);
  gtk_label_set_text (self->features_label, text);
}

static void
weft_dataset_page_featurize_done (GObject      *source,
                                  GAsyncResult *result,
                                  gpointer      user_data)
{
  WeftDatasetPage *self = WEFT_DATASET_PAGE (source);
  GTask *task = G_TASK (result);
  WeftFeaturizeJob *job = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  WeftFeatures *features;

  features = g_task_propagate_pointer (task, &error);
  if (task != self->featurize_task)
    {
      /* Superseded by a run with other settings. */
      g_clear_pointer (&features, weft_features_free);
      return;
    }
  g_clear_object (&self->featurize_task);
  g_clear_object (&self->featurize_cancellable);

  if (features == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          gtk_revealer_set_reveal_child (self->progress_revealer, FALSE);
          gtk_label_set_text (self->features_label,
                              _("Feature extraction was cancelled; change a feature "
                                "setting to run it again."));
          return;
        }
      gtk_label_set_text (self->progress_label, error->message);
      gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), FALSE);
      gtk_widget_action_set_enabled (GTK_WIDGET (self), "dataset.cancel-features", FALSE);
      return;
    }

  g_clear_pointer (&self->features, weft_features_free);
  self->features = features;

  /* The run's decode issues join the report. */
  g_clear_pointer (&self->decode_issues, g_ptr_array_unref);
  self->decode_issues = g_ptr_array_ref (job->run->issues);
  weft_dataset_page_update_report (self);

  gtk_revealer_set_reveal_child (self->progress_revealer, FALSE);
  weft_dataset_page_update_features_label (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FEATURES]);
}

static void
weft_dataset_page_read_settings (WeftDatasetPage     *self,
                                 WeftFeatureSettings *s)
{
  weft_feature_settings_init (s);
  s->image_size = gtk_spin_button_get_value_as_int (self->image_size_spin);
  s->image_channels = gtk_switch_get_active (self->colour_switch) ? 3 : 1;
  s->mel.mel_bands = gtk_spin_button_get_value_as_int (self->mel_bands_spin);
  s->vocab_max_size = gtk_spin_button_get_value_as_int (self->vocab_spin);
}

static void
weft_dataset_page_cancel_featurize (WeftDatasetPage *self)
{
  if (self->featurize_cancellable != NULL)
    g_cancellable_cancel (self->featurize_cancellable);
}

static void
weft_dataset_page_featurize (WeftDatasetPage *self)
{
  g_autoptr(GTask) task = NULL;
  WeftFeaturizeJob *job;

  if (self->shared == NULL)
    return;

  if (self->featurize_task != NULL)
    {
      g_cancellable_cancel (self->featurize_cancellable);
      g_clear_object (&self->featurize_task);
      g_clear_object (&self->featurize_cancellable);
    }

  if (g_getenv ("WEFT_NO_FEATURIZE") != NULL)
    return;

  job = g_new0 (WeftFeaturizeJob, 1);
  g_mutex_init (&job->lock);
  job->shared = weft_shared_dataset_ref (self->shared);
  job->run = g_new (WeftDataset, 1);
  *job->run = **self->shared;
  job->run->issues = g_ptr_array_new_with_free_func ((GDestroyNotify) weft_issue_free);
  job->cache_dir = weft_features_default_cache_dir ();
  weft_dataset_page_read_settings (self, &job->settings);

  self->featurize_cancellable = g_cancellable_new ();
  task = g_task_new (self, self->featurize_cancellable, weft_dataset_page_featurize_done, NULL);
  g_task_set_source_tag (task, weft_dataset_page_featurize);
  g_task_set_task_data (task, job, (GDestroyNotify) weft_featurize_job_free);
  self->featurize_task = g_object_ref (task);

  gtk_progress_bar_set_fraction (self->progress_bar, 0.0);
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), TRUE);
  gtk_label_set_text (self->progress_label, _("Preparing features…"));
  gtk_label_set_text (self->features_label, "");
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "dataset.cancel-features", TRUE);
  gtk_revealer_set_reveal_child (self->progress_revealer, TRUE);

  g_thread_unref (g_thread_new ("weft-featurize", weft_dataset_page_featurize_thread,
                                g_object_ref (task)));
}

static gboolean
weft_dataset_page_refeaturize_timeout (gpointer data)
{
  WeftDatasetPage *self = data;

  self->refeaturize_source = 0;
  weft_dataset_page_featurize (self);
  return G_SOURCE_REMOVE;
}

static void
weft_dataset_page_settings_changed (WeftDatasetPage *self)
{
  g_clear_handle_id (&self->refeaturize_source, g_source_remove);
  self->refeaturize_source = g_timeout_add (WEFT_DATASET_PAGE_REFEATURIZE_DELAY_MS,
                                            weft_dataset_page_refeaturize_timeout, self);
}

static void
weft_dataset_page_cancel_action (GtkWidget  *widget,
                                 const char *action_name,
                                 GVariant   *parameter)
{
  weft_dataset_page_cancel_featurize (WEFT_DATASET_PAGE (widget));
}

/* ---- Public ---- */

void
weft_dataset_page_take_dataset (WeftDatasetPage *self,
                                WeftDataset     *ds)
{
  g_autoptr(GPtrArray) items = NULL;
  g_autoptr(GtkStringList) labels = NULL;

  g_return_if_fail (WEFT_IS_DATASET_PAGE (self));
  g_return_if_fail (ds != NULL);

  weft_dataset_page_stop (self);
  weft_sample_loader_clear (self->loader);
  g_clear_pointer (&self->features, weft_features_free);
  g_clear_pointer (&self->decode_issues, g_ptr_array_unref);
  g_clear_pointer (&self->shared, weft_shared_dataset_unref);
  self->shared = weft_shared_dataset_new (ds);

  /* Filters back to "everything" before the new items arrive. */
  labels = gtk_string_list_new (NULL);
  gtk_string_list_append (labels, _("All labels"));
  for (guint i = 0; ds->labels != NULL && ds->labels[i] != NULL; i++)
    gtk_string_list_append (labels, ds->labels[i]);
  gtk_drop_down_set_model (self->label_dropdown, G_LIST_MODEL (labels));
  gtk_drop_down_set_selected (self->label_dropdown, 0);
  gtk_widget_set_visible (GTK_WIDGET (self->label_dropdown), ds->labels != NULL);
  gtk_drop_down_set_selected (self->split_dropdown, 0);
  gtk_drop_down_set_selected (self->missing_dropdown, 0);
  gtk_editable_set_text (GTK_EDITABLE (self->search_entry), "");

  /* A kept row with a problem (a missing file, a caption cut short) is
   * marked on its card; the issues are in row order, like the samples. */
  items = g_ptr_array_new_full (ds->samples->len, g_object_unref);
  for (guint i = 0, k = 0; i < ds->samples->len; i++)
    {
      const WeftSample *sample = g_ptr_array_index (ds->samples, i);
      WeftSampleItem *item = weft_sample_item_new (self->shared, sample);

      while (sample->row > 0 && k < ds->issues->len &&
             ((WeftIssue *) g_ptr_array_index (ds->issues, k))->row < sample->row)
        k++;
      if (sample->row > 0 && k < ds->issues->len)
        {
          const WeftIssue *issue = g_ptr_array_index (ds->issues, k);

          if (issue->row == sample->row && !issue->skipped)
            _weft_sample_item_set_issue (item, issue);
        }
      g_ptr_array_add (items, item);
    }
  g_list_store_splice (self->samples, 0, g_list_model_get_n_items (G_LIST_MODEL (self->samples)),
                       items->pdata, items->len);
  /* Large sets filter in slices so that typing stays responsive. */
  gtk_filter_list_model_set_incremental (self->filtered, ds->samples->len > 20000);
  weft_dataset_page_filter_changed (self);
  weft_dataset_page_update_count (self);

  weft_stats_view_set_dataset (self->stats_view, ds);
  weft_dataset_page_update_report (self);
  gtk_label_set_text (self->features_label, "");

  if (g_getenv ("WEFT_BENCH_SCROLL") != NULL)
    weft_dataset_page_bench_start (self);

  weft_dataset_page_featurize (self);
}

const WeftDataset *
weft_dataset_page_get_dataset (WeftDatasetPage *self)
{
  g_return_val_if_fail (WEFT_IS_DATASET_PAGE (self), NULL);

  return self->shared ? *self->shared : NULL;
}

WeftFeatures *
weft_dataset_page_get_features (WeftDatasetPage *self)
{
  g_return_val_if_fail (WEFT_IS_DATASET_PAGE (self), NULL);

  return self->features;
}

void
weft_dataset_page_stop (WeftDatasetPage *self)
{
  g_return_if_fail (WEFT_IS_DATASET_PAGE (self));

  g_clear_handle_id (&self->refeaturize_source, g_source_remove);
  weft_dataset_page_cancel_featurize (self);
  g_clear_object (&self->featurize_task);
  g_clear_object (&self->featurize_cancellable);
  if (self->player != NULL)
    weft_audio_player_stop (self->player);
}

/* ---- Benchmark: WEFT_BENCH_SCROLL=1 scrolls the grid top to bottom, one
 * step per frame, prints frame times measured on the GdkFrameClock (the
 * interval between painted frames, and the work from before-paint to
 * after-paint of each), and quits. ---- */

/* When the program was loaded: a constructor runs before main(), so
 * that the time to first frame includes GTK's start-up. */
static gint64 weft_bench_process_start;

__attribute__((constructor)) static void
weft_bench_record_start (void)
{
  weft_bench_process_start = g_get_monotonic_time ();
}

/* CPU time of the calling thread: unlike wall time, it does not grow when
 * other processes take the CPU, so it is comparable on a loaded machine. */
static gint64
weft_bench_thread_cpu (void)
{
  struct timespec ts;

  if (clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
    return 0;
  return (gint64) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

static gint64
weft_bench_process_age (void)
{
  return g_get_monotonic_time () - weft_bench_process_start;
}

static int
weft_gint64_compare (gconstpointer a,
                     gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static void
weft_bench_print (const char *what,
                  GArray     *f)
{
  gint64 worst = 0, sum = 0, p99 = 0, p50 = 0;

  g_array_sort (f, weft_gint64_compare);
  for (guint i = 0; i < f->len; i++)
    sum += g_array_index (f, gint64, i);
  if (f->len > 0)
    {
      worst = g_array_index (f, gint64, f->len - 1);
      p99 = g_array_index (f, gint64, MIN (f->len - 1, (guint) (f->len * 0.99)));
      p50 = g_array_index (f, gint64, f->len / 2);
    }
  g_print ("bench: %s: frames %u, mean %.2f ms, p50 %.2f ms, p99 %.2f ms, worst %.2f ms\n",
           what, f->len, f->len ? sum / 1000.0 / f->len : 0.0, p50 / 1000.0, p99 / 1000.0,
           worst / 1000.0);
}

static void
weft_dataset_page_bench_before_paint (GdkFrameClock   *clock,
                                      WeftDatasetPage *self)
{
  self->bench_paint_start = g_get_monotonic_time ();
}

static void
weft_dataset_page_bench_after_paint (GdkFrameClock   *clock,
                                     WeftDatasetPage *self)
{
  gint64 now = g_get_monotonic_time ();
  gint64 cpu = weft_bench_thread_cpu ();

  if (self->bench_first_frame == 0)
    {
      self->bench_first_frame = now;
      self->bench_first_frame_age = weft_bench_process_age ();
    }
  else if (self->bench_scrolling)
    {
      g_array_append_val (self->bench_frames, (gint64) { now - self->bench_last });
      /* WEFT_BENCH_TRACE=1: every frame, to find which ones run late. */
      if (g_getenv ("WEFT_BENCH_TRACE") != NULL)
        g_print ("bench: frame %u: interval %.1f ms, work %.1f ms, CPU %.1f ms\n",
                 self->bench_frames->len, (now - self->bench_last) / 1000.0,
                 (now - self->bench_paint_start) / 1000.0, (cpu - self->bench_last_cpu) / 1000.0);
      g_array_append_val (self->bench_work, (gint64) { now - self->bench_paint_start });
      g_array_append_val (self->bench_cpu, (gint64) { cpu - self->bench_last_cpu });
    }
  self->bench_last = now;
  self->bench_last_cpu = cpu;
}

static gboolean
weft_dataset_page_bench_tick (GtkWidget     *widget,
                              GdkFrameClock *clock,
                              gpointer       user_data)
{
  WeftDatasetPage *self = WEFT_DATASET_PAGE (widget);
  GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment (self->grid_scroller);
  double value = gtk_adjustment_get_value (adj);
  double page = gtk_adjustment_get_page_size (adj);
  double upper = gtk_adjustment_get_upper (adj) - page;

  if (self->bench_clock == NULL)
    {
      self->bench_clock = g_object_ref (clock);
      g_signal_connect (clock, "before-paint",
                        G_CALLBACK (weft_dataset_page_bench_before_paint), self);
      g_signal_connect (clock, "after-paint",
                        G_CALLBACK (weft_dataset_page_bench_after_paint), self);
      return G_SOURCE_CONTINUE;
    }

  /* Let the first screen of thumbnails settle for half a second, and a
   * large set finish filtering in slices (until then the grid, and so the
   * distance to scroll, is shorter than the dataset). */
  if (self->bench_first_frame == 0 ||
      g_get_monotonic_time () - self->bench_first_frame < G_USEC_PER_SEC / 2 ||
      gtk_filter_list_model_get_pending (self->filtered) > 0)
    return G_SOURCE_CONTINUE;

  if (self->bench_scrolling && value >= upper - 0.5)
    {
      /* The warm-up run (WEFT_BENCH_SCROLL=warm) stays until the features
       * are ready, so that they are in the cache for the measured run. */
      if (g_strcmp0 (g_getenv ("WEFT_BENCH_SCROLL"), "warm") == 0 && self->features == NULL)
        return G_SOURCE_CONTINUE;
      g_print ("bench: samples %u\n", g_list_model_get_n_items (G_LIST_MODEL (self->samples)));
      g_print ("bench: time to first frame %.1f ms from program load "
               "(%.1f ms after the dataset was read)\n",
               self->bench_first_frame_age / 1000.0,
               (self->bench_first_frame - self->bench_start) / 1000.0);
      weft_bench_print ("frame interval", self->bench_frames);
      weft_bench_print ("frame work (before-paint to after-paint)", self->bench_work);
      weft_bench_print ("main-thread CPU per frame", self->bench_cpu);
      g_signal_handlers_disconnect_by_data (self->bench_clock, self);
      g_clear_object (&self->bench_clock);
      self->bench_tick = 0;
      g_application_quit (g_application_get_default ());
      return G_SOURCE_REMOVE;
    }

  self->bench_scrolling = TRUE;
  /* A tenth of a screen per frame, or faster for a long list so that the
   * run lasts about WEFT_BENCH_FRAMES frames (a quick scrollbar drag:
   * every frame then binds a screenful of new cards). */
  gtk_adjustment_set_value (adj, MIN (upper, value + MAX (page / 10.0, upper / WEFT_BENCH_FRAMES)));
  return G_SOURCE_CONTINUE;
}

static void
weft_dataset_page_bench_start (WeftDatasetPage *self)
{
  if (self->bench_tick != 0)
    return;
  self->bench_start = g_get_monotonic_time ();
  self->bench_frames = g_array_new (FALSE, FALSE, sizeof (gint64));
  self->bench_work = g_array_new (FALSE, FALSE, sizeof (gint64));
  self->bench_cpu = g_array_new (FALSE, FALSE, sizeof (gint64));
  self->bench_tick = gtk_widget_add_tick_callback (GTK_WIDGET (self),
                                                   weft_dataset_page_bench_tick, NULL, NULL);
}

/* ---- GObject ---- */

static void
weft_dataset_page_dispose (GObject *object)
{
  WeftDatasetPage *self = WEFT_DATASET_PAGE (object);

  weft_dataset_page_stop (self);
  /* The template's root is a bound child and AdwBin's child: let the
   * bin drop it first, or its dispose unparents it a second time. */
  adw_bin_set_child (ADW_BIN (self), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), WEFT_TYPE_DATASET_PAGE);

  g_clear_object (&self->selection);
  g_clear_object (&self->filtered);
  g_clear_object (&self->filter);
  g_clear_object (&self->samples);
  g_clear_object (&self->loader);
  g_clear_object (&self->player);
  g_clear_pointer (&self->features, weft_features_free);
  g_clear_pointer (&self->decode_issues, g_ptr_array_unref);
  g_clear_pointer (&self->shared, weft_shared_dataset_unref);
  if (self->bench_clock != NULL)
    g_signal_handlers_disconnect_by_data (self->bench_clock, self);
  g_clear_object (&self->bench_clock);
  g_clear_pointer (&self->bench_frames, g_array_unref);
  g_clear_pointer (&self->bench_work, g_array_unref);
  g_clear_pointer (&self->bench_cpu, g_array_unref);
  g_clear_pointer (&self->panel, g_free);
  g_clear_pointer (&self->search, g_free);

  G_OBJECT_CLASS (weft_dataset_page_parent_class)->dispose (object);
}

static void
weft_dataset_page_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  WeftDatasetPage *self = WEFT_DATASET_PAGE (object);

  switch (prop_id)
    {
    case PROP_FEATURES:
      g_value_set_pointer (value, self->features);
      break;

    case PROP_PANEL:
      g_value_set_string (value, self->panel);
      break;

    case PROP_SIDE_PANEL_VISIBLE:
      g_value_set_boolean (value, self->side_panel_visible);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
weft_dataset_page_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  WeftDatasetPage *self = WEFT_DATASET_PAGE (object);

  switch (prop_id)
    {
    case PROP_PANEL:
      {
        const char *panel = g_value_get_string (value);

        if (g_strcmp0 (panel, "report") != 0)
          panel = "stats";
        if (g_strcmp0 (self->panel, panel) != 0)
          {
            g_free (self->panel);
            self->panel = g_strdup (panel);
            gtk_stack_set_visible_child_name (self->panel_stack, panel);
            g_object_notify_by_pspec (object, pspec);
          }
        /* Asking for a panel shows it. */
        if (!self->side_panel_visible)
          g_object_set (self, "side-panel-visible", TRUE, NULL);
      }
      break;

    case PROP_SIDE_PANEL_VISIBLE:
      if (self->side_panel_visible != g_value_get_boolean (value))
        {
          self->side_panel_visible = g_value_get_boolean (value);
          gtk_widget_set_visible (self->side_panel, self->side_panel_visible);
          g_object_notify_by_pspec (object, pspec);
        }
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
weft_dataset_page_load_css (void)
{
  g_autoptr(GtkCssProvider) provider = gtk_css_provider_new ();
  GdkDisplay *display = gdk_display_get_default ();

  if (display == NULL)
    return;
  gtk_css_provider_load_from_resource (provider, "/org/weft/Weft/weft-dataset-page.css");
  gtk_style_context_add_provider_for_display (display, GTK_STYLE_PROVIDER (provider),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
}

static void
weft_dataset_page_class_init (WeftDatasetPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = weft_dataset_page_dispose;
  object_class->get_property = weft_dataset_page_get_property;
  object_class->set_property = weft_dataset_page_set_property;

  /**
   * WeftDatasetPage:features: (type gpointer)
   *
   * The WeftFeatures of the last finished featurisation, or %NULL.
   */
  properties[PROP_FEATURES] =
    g_param_spec_pointer ("features", NULL, NULL,
                          (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_PANEL] =
    g_param_spec_string ("panel", NULL, NULL, "stats",
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_SIDE_PANEL_VISIBLE] =
    g_param_spec_boolean ("side-panel-visible", NULL, NULL, TRUE,
                          (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  g_object_class_install_properties (object_class, N_PROPS, properties);

  weft_dataset_page_load_css ();
  g_type_ensure (WEFT_TYPE_STATS_VIEW);
  g_type_ensure (WEFT_TYPE_REPORT_VIEW);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/weft/Weft/ui/weft-dataset-page.ui");
  gtk_widget_class_bind_template_child (widget_class, WeftDatasetPage, progress_revealer);
  gtk_widget_class_bind_template_child (widget_class, WeftDatasetPage, progress_label);
  gtk_widget_class_bind_template_child (widget_class, WeftDatasetPage, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, WeftDatasetPage, search_entry);
  gtk_widget_class_bind_template_child (widget_class, WeftDatasetPage, label_dropdown);
  gtk_widget_class_bind_template_child (widget_class, WeftDatasetPage, split_dropdown);
  gtk_widget_class_bind_template_child (widget_class, WeftDatasetPage, missing_dropdown);
  gtk_widget_class_bind_template_child (widget_class, WeftDatasetPage, count_label);
  gtk_widget_class_bind_template_child (widget_class, WeftDatasetPage, paned);
  gtk_widget_class_bind_template_child (widget_class, WeftDatasetPage, grid_stack);
  gtk_widget_class_bind_template_child (widget_class, WeftDatasetPage, grid_scroller);
  gtk_widget_class_bind_template_child (widget_class, WeftDatasetPage, grid_view);
  gtk_widget_class_bind_template_child (widget_class, WeftDatasetPage, side_panel);
  gtk_widget_class_bind_template_child (widget_class, WeftDatasetPage, panel_stack);
  gtk_widget_class_bind_template_child (widget_class, WeftDatasetPage, report_button);
  gtk_widget_class_bind_template_child (widget_class, WeftDatasetPage, report_button_label);
  gtk_widget_class_bind_template_child (widget_class, WeftDatasetPage, stats_view);
  gtk_widget_class_bind_template_child (widget_class, WeftDatasetPage, report_view);
  gtk_widget_class_bind_template_child (widget_class, WeftDatasetPage, features_label);
  gtk_widget_class_bind_template_child (widget_class, WeftDatasetPage, image_size_spin);
  gtk_widget_class_bind_template_child (widget_class, WeftDatasetPage, colour_switch);
  gtk_widget_class_bind_template_child (widget_class, WeftDatasetPage, mel_bands_spin);
  gtk_widget_class_bind_template_child (widget_class, WeftDatasetPage, vocab_spin);

  gtk_widget_class_install_property_action (widget_class, "dataset.panel", "panel");
  gtk_widget_class_install_property_action (widget_class, "dataset.side-panel-visible",
                                            "side-panel-visible");
  gtk_widget_class_install_action (widget_class, "dataset.cancel-features", NULL,
                                   weft_dataset_page_cancel_action);
  gtk_widget_class_install_action (widget_class, "dataset.find", NULL,
                                   weft_dataset_page_find);
  gtk_widget_class_install_action (widget_class, "dataset.play-focused", NULL,
                                   weft_dataset_page_play_focused);
}

static void
weft_dataset_page_init (WeftDatasetPage *self)
{
  GtkListItemFactory *factory;
  GtkEventController *shortcuts;

  gtk_widget_init_template (GTK_WIDGET (self));

  self->panel = g_strdup ("stats");
  self->side_panel_visible = TRUE;
  self->loader = weft_sample_loader_new ();
  self->player = weft_audio_player_new ();

  self->samples = g_list_store_new (WEFT_TYPE_SAMPLE_ITEM);
  self->filter = gtk_custom_filter_new (weft_dataset_page_match, self, NULL);
  self->filtered = gtk_filter_list_model_new (G_LIST_MODEL (g_object_ref (self->samples)),
                                              GTK_FILTER (g_object_ref (self->filter)));
  self->selection = gtk_single_selection_new (G_LIST_MODEL (g_object_ref (self->filtered)));
  gtk_single_selection_set_autoselect (self->selection, FALSE);
  gtk_single_selection_set_can_unselect (self->selection, TRUE);
  g_signal_connect_object (self->filtered, "items-changed",
                           G_CALLBACK (weft_dataset_page_update_count), self,
                           G_CONNECT_SWAPPED);

  factory = gtk_signal_list_item_factory_new ();
  if (g_strcmp0 (g_getenv ("WEFT_BENCH_SCROLL"), "plain") == 0)
    {
      g_signal_connect (factory, "setup", G_CALLBACK (weft_dataset_page_setup_plain), self);
      g_signal_connect (factory, "bind", G_CALLBACK (weft_dataset_page_bind_plain), self);
    }
  else
    {
      g_signal_connect (factory, "setup", G_CALLBACK (weft_dataset_page_setup_card), self);
      g_signal_connect (factory, "bind", G_CALLBACK (weft_dataset_page_bind_card), self);
      g_signal_connect (factory, "unbind", G_CALLBACK (weft_dataset_page_unbind_card), self);
    }
  gtk_grid_view_set_factory (self->grid_view, factory);
  g_object_unref (factory);
  gtk_grid_view_set_model (self->grid_view, GTK_SELECTION_MODEL (self->selection));

  g_signal_connect_object (self->search_entry, "search-changed",
                           G_CALLBACK (weft_dataset_page_search_changed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->label_dropdown, "notify::selected",
                           G_CALLBACK (weft_dataset_page_filter_changed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->split_dropdown, "notify::selected",
                           G_CALLBACK (weft_dataset_page_filter_changed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->missing_dropdown, "notify::selected",
                           G_CALLBACK (weft_dataset_page_filter_changed), self,
                           G_CONNECT_SWAPPED);

  g_signal_connect_object (self->image_size_spin, "value-changed",
                           G_CALLBACK (weft_dataset_page_settings_changed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->mel_bands_spin, "value-changed",
                           G_CALLBACK (weft_dataset_page_settings_changed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->vocab_spin, "value-changed",
                           G_CALLBACK (weft_dataset_page_settings_changed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->colour_switch, "notify::active",
                           G_CALLBACK (weft_dataset_page_settings_changed), self,
                           G_CONNECT_SWAPPED);

  /* Ctrl+F anywhere in the window; Space on the grid plays the focused
   * card (captured before the grid's own Space, which selects). */
  shortcuts = gtk_shortcut_controller_new ();
  gtk_shortcut_controller_set_scope (GTK_SHORTCUT_CONTROLLER (shortcuts),
                                     GTK_SHORTCUT_SCOPE_MANAGED);
  gtk_shortcut_controller_add_shortcut (GTK_SHORTCUT_CONTROLLER (shortcuts),
    gtk_shortcut_new (gtk_shortcut_trigger_parse_string ("<Control>f"),
                      gtk_named_action_new ("dataset.find")));
  gtk_widget_add_controller (GTK_WIDGET (self), shortcuts);

  shortcuts = gtk_shortcut_controller_new ();
  gtk_event_controller_set_propagation_phase (shortcuts, GTK_PHASE_CAPTURE);
  gtk_shortcut_controller_add_shortcut (GTK_SHORTCUT_CONTROLLER (shortcuts),
    gtk_shortcut_new (gtk_keyval_trigger_new (GDK_KEY_space, 0),
                      gtk_named_action_new ("dataset.play-focused")));
  gtk_widget_add_controller (GTK_WIDGET (self->grid_view), shortcuts);
}
