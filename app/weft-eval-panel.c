/* weft-eval-panel.c — WeftEvalPanel: retrieval metrics and failures from the
 * embedding; the confusion matrix, modality removal and noise evaluated on
 * a worker thread. */

#include "weft-config.h"

#include <math.h>

#include <glib/gi18n.h>

#include "embed/weft-knn.h"
#include "graph/weft-checkpoint.h"
#include "train/weft-metrics.h"
#include "train/weft-predict.h"

#include "weft-confusion-view.h"
#include "weft-eval-panel.h"

#define WEFT_EVAL_MAX_ROWS  500   /* rows a robustness check evaluates */
#define WEFT_EVAL_DEBOUNCE  300   /* ms after the last slider move */
#define WEFT_EVAL_N_WORST   5
#define WEFT_EVAL_MAX_CLASS_ROWS 5000  /* rows the confusion matrix counts */

struct _WeftEvalPanel
{
  GtkWidget       parent_instance;

  /* Children */
  GtkWidget      *box;
  GtkGrid        *retrieval_grid;
  GtkLabel       *retrieval_title;
  GtkBox         *failures_box;
  GtkLabel       *failures_title;
  GtkLabel       *classes_title;
  GtkLabel       *classes_status;
  WeftConfusionView *confusion;
  GtkLabel       *per_class_title;
  GtkGrid        *per_class_grid;
  GtkGrid        *robust_grid;
  GtkLabel       *robust_status;
  GtkScale       *image_noise;
  GtkScale       *audio_snr;
  GtkLabel       *noise_result;

  /* Borrowed */
  const WeftEmbedding *embedding;

  /* Owned */
  char           *checkpoint;
  WeftFeatures   *features;
  double          baseline;     /* score with no perturbation, NaN: unknown */
  gboolean        score_is_accuracy;
  guint           serial;       /* results of older requests are dropped */
  guint           debounce_id;
  GCancellable   *cancellable;
};

G_DEFINE_FINAL_TYPE (WeftEvalPanel, weft_eval_panel, GTK_TYPE_WIDGET)

enum {
  SHOW_FAILURE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* ---- The worker ---- */

typedef struct
{
  char *checkpoint;
  WeftFeatures *features;
  GArray *perturbs;           /* WeftPerturb */
  GArray *results;            /* WeftEvalResult */
  guint serial;
  gboolean noise;             /* a slider request, not the removal table */
  /* With the removal table, for a model with a classifier: */
  int n_classes;              /* 0: no classifier */
  gint64 *counts;             /* (n_classes, n_classes) confusion matrix */
  gint64 n_counted;
  WeftSplit split;            /* the rows the matrix counts */
  gboolean all_rows;          /* no validation or test split: every row */
} WeftEvalJob;

static void
weft_eval_job_free (WeftEvalJob *job)
{
  g_free (job->checkpoint);
  weft_features_free (job->features);
  g_array_unref (job->perturbs);
  g_free (job->counts);
  if (job->results != NULL)
    g_array_unref (job->results);
  g_free (job);
}

static void
weft_eval_job_run (GTask        *task,
                   gpointer      source,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  WeftEvalJob *job = task_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(WeftGraph) graph = NULL;
  g_autofree int *rows = NULL;
  int n_rows = 0;

  /* A graph of its own: the page's graph answers searches meanwhile. */
  graph = weft_checkpoint_load (job->checkpoint, 64, NULL, &error);
  if (graph == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  job->split = WEFT_SPLIT_VALIDATION;
  rows = weft_features_split_rows (job->features, WEFT_SPLIT_VALIDATION, &n_rows);
  if (n_rows == 0)
    {
      g_free (rows);
      job->split = WEFT_SPLIT_TEST;
      rows = weft_features_split_rows (job->features, WEFT_SPLIT_TEST, &n_rows);
    }
  if (n_rows == 0)
    {
      g_free (rows);
      job->all_rows = TRUE;
      n_rows = job->features->n_rows;
      rows = g_new (int, n_rows);
      for (int i = 0; i < n_rows; i++)
        rows[i] = i;
    }

  /* Predictions per row for the confusion matrix: only with labels and a
   * classifier head, and only for the table (not for each slider move). */
  if (!job->noise && job->features->label != NULL && !g_cancellable_is_cancelled (cancellable)
      && weft_predict_find_classifier (graph, &job->n_classes) >= 0 && job->n_classes > 0)
    {
      int n = MIN (n_rows, WEFT_EVAL_MAX_CLASS_ROWS);
      g_autofree int *predicted = weft_predict_classes (graph, job->features, rows, n, 0, NULL, NULL);

      if (predicted != NULL)
        {
          job->counts = g_new (gint64, (gsize) job->n_classes * job->n_classes);
          job->n_counted = weft_confusion_matrix (job->features->label, rows, predicted, n,
                                                  job->n_classes, job->counts);
        }
    }
  n_rows = MIN (n_rows, WEFT_EVAL_MAX_ROWS);

  job->results = g_array_new (FALSE, TRUE, sizeof (WeftEvalResult));
  for (guint k = 0; k < job->perturbs->len; k++)
    {
      WeftEvalResult r = { 0 };

      if (g_cancellable_is_cancelled (cancellable))
        break;
      weft_evaluate_perturbed (graph, job->features, rows, n_rows,
                               &g_array_index (job->perturbs, WeftPerturb, k), &r);
      g_array_append_val (job->results, r);
    }
  g_task_return_boolean (task, TRUE);
}

/* ---- Display ---- */

static double
weft_eval_score (WeftEvalPanel        *self,
                 const WeftEvalResult *r)
{
  return self->score_is_accuracy ? r->accuracy : r->recall_ab[0];
}

static void
weft_eval_grid_clear (GtkGrid *grid)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (grid))) != NULL)
    gtk_grid_remove (grid, child);
}

static GtkWidget *
weft_eval_cell (const char *text,
                gboolean    heading,
                float       xalign)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), xalign);
  if (heading)
    gtk_widget_add_css_class (label, "dim-label");
  else
    gtk_widget_add_css_class (label, "numeric");
  return label;
}

static int
cmp_accuracy (gconstpointer a,
              gconstpointer b,
              gpointer      user_data)
{
  const double *acc = user_data;
  double x = acc[*(const int *) a], y = acc[*(const int *) b];

  /* Worst first; classes with no rows last. */
  if (isnan (x) || isnan (y))
    return isnan (x) - isnan (y);
  return x < y ? -1 : x > y ? 1 : *(const int *) a - *(const int *) b;
}

/* The confusion matrix and the per-class accuracy, worst class first. */
static void
weft_eval_panel_fill_classes (WeftEvalPanel *self,
                              WeftEvalJob   *job)
{
  const char * const *names = (const char * const *) self->features->class_names;
  int K = job->n_classes;
  g_autofree double *acc = NULL;
  g_autofree int *order = NULL;
  g_autofree char *status = NULL;
  const char *which;

  weft_eval_grid_clear (self->per_class_grid);
  if (job->counts == NULL || job->n_counted == 0)
    {
      weft_confusion_view_set_matrix (self->confusion, NULL, 0, NULL);
      gtk_widget_set_visible (GTK_WIDGET (self->classes_title), FALSE);
      gtk_widget_set_visible (GTK_WIDGET (self->classes_status), FALSE);
      gtk_widget_set_visible (GTK_WIDGET (self->per_class_title), FALSE);
      gtk_widget_set_visible (GTK_WIDGET (self->confusion), FALSE);
      return;
    }
  /* Names only when they cover every class the head predicts. */
  if (names != NULL && (int) g_strv_length ((char **) names) < K)
    names = NULL;
  weft_confusion_view_set_matrix (self->confusion, job->counts, K, names);

  which = job->all_rows ? _("all") : job->split == WEFT_SPLIT_TEST ? _("test") : _("validation");
  status = g_strdup_printf (ngettext ("Predictions on %" G_GINT64_FORMAT " %s row; hover a cell for its count.",
                                      "Predictions on %" G_GINT64_FORMAT " %s rows; hover a cell for its count.",
                                      job->n_counted),
                            job->n_counted, which);
  gtk_label_set_text (self->classes_status, status);
  gtk_widget_set_visible (GTK_WIDGET (self->classes_title), TRUE);
  gtk_widget_set_visible (GTK_WIDGET (self->classes_status), TRUE);
  gtk_widget_set_visible (GTK_WIDGET (self->per_class_title), TRUE);
  gtk_widget_set_visible (GTK_WIDGET (self->confusion), TRUE);

  acc = g_new (double, K);
  order = g_new (int, K);
  weft_confusion_class_accuracy (job->counts, K, acc);
  for (int t = 0; t < K; t++)
    order[t] = t;
  g_qsort_with_data (order, K, sizeof (int), cmp_accuracy, acc);

  gtk_grid_attach (self->per_class_grid, weft_eval_cell (_("Class"), TRUE, 0), 0, 0, 1, 1);
  gtk_grid_attach (self->per_class_grid, weft_eval_cell (_("Accuracy"), TRUE, 0), 1, 0, 2, 1);
  gtk_grid_attach (self->per_class_grid, weft_eval_cell (_("Rows"), TRUE, 1), 3, 0, 1, 1);
  for (int i = 0; i < K; i++)
    {
      int t = order[i];
      gint64 total = 0;
      g_autofree char *fallback = g_strdup_printf ("%d", t);
      const char *name = names ? names[t] : fallback;
      g_autofree char *value = isnan (acc[t]) ? g_strdup ("–") : g_strdup_printf ("%.2f", acc[t]);
      g_autofree char *rows = NULL;
      g_autofree char *a11y = g_strdup_printf (_("Accuracy of %s"), name);
      GtkWidget *label = weft_eval_cell (name, FALSE, 0);
      GtkWidget *bar = gtk_level_bar_new_for_interval (0, 1);

      for (int c = 0; c < K; c++)
        total += job->counts[(gsize) t * K + c];
      rows = g_strdup_printf ("%" G_GINT64_FORMAT, total);
      gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
      gtk_label_set_max_width_chars (GTK_LABEL (label), 24);
      gtk_level_bar_set_value (GTK_LEVEL_BAR (bar), isnan (acc[t]) ? 0 : acc[t]);
      /* The default offsets colour low values as warnings: a plain bar
       * reads as a share here. */
      gtk_level_bar_remove_offset_value (GTK_LEVEL_BAR (bar), GTK_LEVEL_BAR_OFFSET_LOW);
      gtk_level_bar_remove_offset_value (GTK_LEVEL_BAR (bar), GTK_LEVEL_BAR_OFFSET_HIGH);
      gtk_level_bar_remove_offset_value (GTK_LEVEL_BAR (bar), GTK_LEVEL_BAR_OFFSET_FULL);
      gtk_widget_set_size_request (bar, 120, -1);
      gtk_widget_set_valign (bar, GTK_ALIGN_CENTER);
      gtk_accessible_update_property (GTK_ACCESSIBLE (bar), GTK_ACCESSIBLE_PROPERTY_LABEL, a11y, -1);
      gtk_grid_attach (self->per_class_grid, label, 0, i + 1, 1, 1);
      gtk_grid_attach (self->per_class_grid, bar, 1, i + 1, 1, 1);
      gtk_grid_attach (self->per_class_grid, weft_eval_cell (value, FALSE, 1), 2, i + 1, 1, 1);
      gtk_grid_attach (self->per_class_grid, weft_eval_cell (rows, FALSE, 1), 3, i + 1, 1, 1);
    }
}

static void
on_job_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  WeftEvalPanel *self = WEFT_EVAL_PANEL (source);
  GTask *task = G_TASK (result);
  WeftEvalJob *job = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  const char *what;

  if (!g_task_propagate_boolean (task, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && job->serial == self->serial)
        gtk_label_set_text (self->robust_status, error->message);
      return;
    }
  if (job->serial != self->serial || job->results->len == 0)
    return;

  /* The guess made from the embedding can be wrong (a fusion model's
   * encoders may look like a joint space): score by what the model can
   * actually be measured on. */
  if (!job->noise)
    {
      const WeftEvalResult *r = &g_array_index (job->results, WeftEvalResult, 0);

      if (isnan (r->recall_ab[0]) != isnan (r->accuracy))
        self->score_is_accuracy = !isnan (r->accuracy);
    }
  what = self->score_is_accuracy ? _("Accuracy") : _("Recall@1");

  if (job->noise)
    {
      double s = weft_eval_score (self, &g_array_index (job->results, WeftEvalResult, 0));
      g_autofree char *text = NULL;

      if (isnan (self->baseline))
        text = g_strdup_printf (_("%s with this noise: %.3f"), what, s);
      else
        text = g_strdup_printf (_("%s with this noise: %.3f (%+.3f)"), what, s, s - self->baseline);
      gtk_label_set_text (self->noise_result, text);
      gtk_accessible_update_property (GTK_ACCESSIBLE (self->noise_result),
                                      GTK_ACCESSIBLE_PROPERTY_LABEL, text, -1);
      return;
    }

  weft_eval_panel_fill_classes (self, job);

  /* The removal table: the first result has nothing removed. */
  weft_eval_grid_clear (self->robust_grid);
  gtk_grid_attach (self->robust_grid, weft_eval_cell (_("Inputs"), TRUE, 0), 0, 0, 1, 1);
  gtk_grid_attach (self->robust_grid, weft_eval_cell (what, TRUE, 1), 1, 0, 1, 1);
  gtk_grid_attach (self->robust_grid, weft_eval_cell (_("Change"), TRUE, 1), 2, 0, 1, 1);
  self->baseline = weft_eval_score (self, &g_array_index (job->results, WeftEvalResult, 0));
  for (guint k = 0; k < job->results->len; k++)
    {
      const WeftPerturb *p = &g_array_index (job->perturbs, WeftPerturb, k);
      double s = weft_eval_score (self, &g_array_index (job->results, WeftEvalResult, k));
      g_autofree char *value = isnan (s) ? g_strdup ("–") : g_strdup_printf ("%.3f", s);
      g_autofree char *change = k == 0 || isnan (s) ? g_strdup ("") : g_strdup_printf ("%+.3f", s - self->baseline);
      const char *name = _("All modalities");

      if (p->drop == (1u << WEFT_MODALITY_IMAGE))
        name = _("Without image");
      else if (p->drop == (1u << WEFT_MODALITY_TEXT))
        name = _("Without text");
      else if (p->drop == (1u << WEFT_MODALITY_AUDIO))
        name = _("Without audio");
      gtk_grid_attach (self->robust_grid, weft_eval_cell (name, FALSE, 0), 0, k + 1, 1, 1);
      gtk_grid_attach (self->robust_grid, weft_eval_cell (value, FALSE, 1), 1, k + 1, 1, 1);
      gtk_grid_attach (self->robust_grid, weft_eval_cell (change, FALSE, 1), 2, k + 1, 1, 1);
    }
  gtk_label_set_text (self->robust_status, "");
}

static void
weft_eval_panel_start (WeftEvalPanel *self,
                       GArray        *perturbs,
                       gboolean       noise)
{
  g_autoptr(GTask) task = NULL;
  WeftEvalJob *job;

  if (self->checkpoint == NULL || self->features == NULL)
    {
      g_array_unref (perturbs);
      return;
    }
  job = g_new0 (WeftEvalJob, 1);
  job->checkpoint = g_strdup (self->checkpoint);
  job->features = weft_features_ref (self->features);
  job->perturbs = perturbs;
  job->serial = ++self->serial;
  job->noise = noise;
  task = g_task_new (self, self->cancellable, on_job_done, NULL);
  g_task_set_task_data (task, job, (GDestroyNotify) weft_eval_job_free);
  g_task_run_in_thread (task, weft_eval_job_run);
}

static gboolean
weft_eval_panel_run_noise (gpointer user_data)
{
  WeftEvalPanel *self = user_data;
  GArray *perturbs = g_array_new (FALSE, TRUE, sizeof (WeftPerturb));
  WeftPerturb p;
  double snr = gtk_range_get_value (GTK_RANGE (self->audio_snr));

  self->debounce_id = 0;
  weft_perturb_init (&p);
  p.image_sigma = gtk_range_get_value (GTK_RANGE (self->image_noise));
  /* The right end of the SNR slider means no noise at all. */
  p.audio_snr_db = snr >= 40 ? INFINITY : snr;
  g_array_append_val (perturbs, p);
  gtk_label_set_text (self->noise_result, _("Evaluating…"));
  weft_eval_panel_start (self, perturbs, TRUE);
  return G_SOURCE_REMOVE;
}

static void
on_noise_changed (GtkRange      *range,
                  WeftEvalPanel *self)
{
  g_clear_handle_id (&self->debounce_id, g_source_remove);
  self->debounce_id = g_timeout_add (WEFT_EVAL_DEBOUNCE, weft_eval_panel_run_noise, self);
}

static void
on_failure_clicked (GtkButton     *button,
                    WeftEvalPanel *self)
{
  int query = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (button), "query"));
  const char *space = g_object_get_data (G_OBJECT (button), "space");
  const char *target = g_object_get_data (G_OBJECT (button), "target");

  g_signal_emit (self, signals[SHOW_FAILURE], 0, query, space, target);
}

static void
weft_eval_panel_fill_retrieval (WeftEvalPanel *self)
{
  g_autoptr(GArray) metrics = NULL;
  GtkWidget *child;

  weft_eval_grid_clear (self->retrieval_grid);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->failures_box))) != NULL)
    gtk_box_remove (self->failures_box, child);
  if (self->embedding == NULL)
    return;

  metrics = weft_embedding_retrieval (self->embedding, 1000);
  gtk_widget_set_visible (GTK_WIDGET (self->retrieval_title), metrics->len > 0);
  gtk_widget_set_visible (GTK_WIDGET (self->failures_title), metrics->len > 0);
  if (metrics->len == 0)
    return;

  gtk_grid_attach (self->retrieval_grid, weft_eval_cell (_("Direction"), TRUE, 0), 0, 0, 1, 1);
  gtk_grid_attach (self->retrieval_grid, weft_eval_cell ("R@1", TRUE, 1), 1, 0, 1, 1);
  gtk_grid_attach (self->retrieval_grid, weft_eval_cell ("R@5", TRUE, 1), 2, 0, 1, 1);
  gtk_grid_attach (self->retrieval_grid, weft_eval_cell ("R@10", TRUE, 1), 3, 0, 1, 1);
  gtk_grid_attach (self->retrieval_grid, weft_eval_cell (_("Median rank"), TRUE, 1), 4, 0, 1, 1);
  for (guint k = 0; k < metrics->len; k++)
    {
      const WeftRetrievalMetrics *m = &g_array_index (metrics, WeftRetrievalMetrics, k);
      g_autofree char *dir = g_strdup_printf ("%s → %s", m->query, m->target);
      g_autofree char *r1 = g_strdup_printf ("%.2f", m->recall[0]);
      g_autofree char *r5 = g_strdup_printf ("%.2f", m->recall[1]);
      g_autofree char *r10 = g_strdup_printf ("%.2f", m->recall[2]);
      g_autofree char *medr = g_strdup_printf ("%.0f", m->median_rank);

      gtk_grid_attach (self->retrieval_grid, weft_eval_cell (dir, FALSE, 0), 0, k + 1, 1, 1);
      gtk_grid_attach (self->retrieval_grid, weft_eval_cell (r1, FALSE, 1), 1, k + 1, 1, 1);
      gtk_grid_attach (self->retrieval_grid, weft_eval_cell (r5, FALSE, 1), 2, k + 1, 1, 1);
      gtk_grid_attach (self->retrieval_grid, weft_eval_cell (r10, FALSE, 1), 3, k + 1, 1, 1);
      gtk_grid_attach (self->retrieval_grid, weft_eval_cell (medr, FALSE, 1), 4, k + 1, 1, 1);
    }

  /* The worst failures of the first direction: clicking one shows the
   * query, what came first and where its partner is. */
  {
    const WeftRetrievalMetrics *m = &g_array_index (metrics, WeftRetrievalMetrics, 0);
    WeftRetrievalFailure worst[WEFT_EVAL_N_WORST];
    int n = weft_embedding_worst_failures (self->embedding, m->query, m->target, 1000,
                                           WEFT_EVAL_N_WORST, worst);
    g_autofree char *title = g_strdup_printf (_("Worst failures, %s → %s"), m->query, m->target);

    gtk_label_set_text (self->failures_title, title);
    for (int k = 0; k < n; k++)
      {
        int row = self->embedding->sample_index ? self->embedding->sample_index[worst[k].query] : -1;
        g_autofree char *text = g_strdup_printf (_("Sample %d: its partner ranked %d (similarity %.2f)"),
                                                 row >= 0 ? row : worst[k].query, worst[k].rank,
                                                 worst[k].true_sim);
        GtkWidget *button = gtk_button_new_with_label (text);

        gtk_widget_add_css_class (button, "flat");
        gtk_label_set_xalign (GTK_LABEL (gtk_button_get_child (GTK_BUTTON (button))), 0);
        g_object_set_data (G_OBJECT (button), "query", GINT_TO_POINTER (worst[k].query));
        g_object_set_data_full (G_OBJECT (button), "space", g_strdup (m->query), g_free);
        g_object_set_data_full (G_OBJECT (button), "target", g_strdup (m->target), g_free);
        g_signal_connect (button, "clicked", G_CALLBACK (on_failure_clicked), self);
        gtk_box_append (self->failures_box, button);
      }
  }
}

void
weft_eval_panel_set_run (WeftEvalPanel       *self,
                         const WeftEmbedding *embedding,
                         const char          *checkpoint,
                         WeftFeatures        *features)
{
  GArray *perturbs;
  WeftPerturb p;

  g_return_if_fail (WEFT_IS_EVAL_PANEL (self));

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  self->serial++;
  g_clear_handle_id (&self->debounce_id, g_source_remove);

  self->embedding = embedding;
  g_clear_pointer (&self->checkpoint, g_free);
  self->checkpoint = g_strdup (checkpoint);
  if (features != NULL)
    weft_features_ref (features);
  g_clear_pointer (&self->features, weft_features_free);
  self->features = features;
  self->baseline = NAN;
  weft_eval_grid_clear (self->robust_grid);
  gtk_label_set_text (self->noise_result, "");
  weft_eval_grid_clear (self->per_class_grid);
  weft_confusion_view_set_matrix (self->confusion, NULL, 0, NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->classes_title), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->classes_status), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->per_class_title), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->confusion), FALSE);

  weft_eval_panel_fill_retrieval (self);

  if (self->checkpoint == NULL || self->features == NULL)
    {
      gtk_label_set_text (self->robust_status,
                          _("Open the run's dataset to test the model without a modality or with noise."));
      return;
    }
  /* Classifiers are scored by accuracy, joint-embedding models by R@1. */
  self->score_is_accuracy = self->features->label != NULL
                            && (embedding == NULL || weft_embedding_joint_dim (embedding) == 0
                                || embedding->spaces->len < 2);
  gtk_label_set_text (self->robust_status, _("Evaluating…"));
  perturbs = g_array_new (FALSE, TRUE, sizeof (WeftPerturb));
  weft_perturb_init (&p);
  g_array_append_val (perturbs, p);
  if (features->image.shape.n > 0)
    {
      p.drop = 1u << WEFT_MODALITY_IMAGE;
      g_array_append_val (perturbs, p);
    }
  if (features->text.shape.n > 0)
    {
      p.drop = 1u << WEFT_MODALITY_TEXT;
      g_array_append_val (perturbs, p);
    }
  if (features->audio.shape.n > 0)
    {
      p.drop = 1u << WEFT_MODALITY_AUDIO;
      g_array_append_val (perturbs, p);
    }
  gtk_widget_set_sensitive (GTK_WIDGET (self->image_noise), features->image.shape.n > 0);
  gtk_widget_set_sensitive (GTK_WIDGET (self->audio_snr), features->audio.shape.n > 0);
  weft_eval_panel_start (self, perturbs, FALSE);
}

static GtkLabel *
weft_eval_heading (GtkWidget  *box,
                   const char *text)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_widget_add_css_class (label, "heading");
  gtk_widget_set_margin_top (label, 12);
  gtk_box_append (GTK_BOX (box), label);
  return GTK_LABEL (label);
}

static GtkGrid *
weft_eval_grid (GtkWidget *box)
{
  GtkWidget *grid = gtk_grid_new ();

  gtk_grid_set_column_spacing (GTK_GRID (grid), 12);
  gtk_grid_set_row_spacing (GTK_GRID (grid), 4);
  gtk_box_append (GTK_BOX (box), grid);
  return GTK_GRID (grid);
}

static GtkScale *
weft_eval_slider (GtkWidget  *box,
                  const char *name,
                  double      lower,
                  double      upper,
                  double      value,
                  double      step)
{
  GtkWidget *label = gtk_label_new (name);
  GtkWidget *scale = gtk_scale_new_with_range (GTK_ORIENTATION_HORIZONTAL, lower, upper, step);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_box_append (GTK_BOX (box), label);
  gtk_range_set_value (GTK_RANGE (scale), value);
  gtk_scale_set_draw_value (GTK_SCALE (scale), TRUE);
  gtk_scale_set_value_pos (GTK_SCALE (scale), GTK_POS_RIGHT);
  gtk_accessible_update_property (GTK_ACCESSIBLE (scale), GTK_ACCESSIBLE_PROPERTY_LABEL, name, -1);
  gtk_box_append (GTK_BOX (box), scale);
  return GTK_SCALE (scale);
}

static void
weft_eval_panel_dispose (GObject *object)
{
  WeftEvalPanel *self = WEFT_EVAL_PANEL (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_handle_id (&self->debounce_id, g_source_remove);
  g_clear_pointer (&self->box, gtk_widget_unparent);
  g_clear_pointer (&self->checkpoint, g_free);
  g_clear_pointer (&self->features, weft_features_free);

  G_OBJECT_CLASS (weft_eval_panel_parent_class)->dispose (object);
}

static void
weft_eval_panel_class_init (WeftEvalPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = weft_eval_panel_dispose;
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);

  /* A failure was clicked: (query sample, query space, target space). */
  signals[SHOW_FAILURE] =
    g_signal_new ("show-failure", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 3, G_TYPE_INT, G_TYPE_STRING, G_TYPE_STRING);
}

static void
weft_eval_panel_init (WeftEvalPanel *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);

  self->box = box;
  self->baseline = NAN;
  self->cancellable = g_cancellable_new ();
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_widget_set_margin_bottom (box, 12);
  gtk_widget_set_parent (box, GTK_WIDGET (self));

  self->retrieval_title = weft_eval_heading (box, _("Retrieval"));
  self->retrieval_grid = weft_eval_grid (box);
  self->failures_title = weft_eval_heading (box, _("Worst failures"));
  self->failures_box = GTK_BOX (gtk_box_new (GTK_ORIENTATION_VERTICAL, 0));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->failures_box));

  /* Shown for a model with a classifier once its predictions are in. */
  self->classes_title = weft_eval_heading (box, _("Confusion matrix"));
  self->classes_status = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_wrap (self->classes_status, TRUE);
  gtk_label_set_xalign (self->classes_status, 0);
  gtk_widget_add_css_class (GTK_WIDGET (self->classes_status), "dim-label");
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->classes_status));
  self->confusion = WEFT_CONFUSION_VIEW (weft_confusion_view_new ());
  gtk_widget_set_halign (GTK_WIDGET (self->confusion), GTK_ALIGN_FILL);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->confusion));
  self->per_class_title = weft_eval_heading (box, _("Accuracy per class"));
  self->per_class_grid = weft_eval_grid (box);
  gtk_widget_set_visible (GTK_WIDGET (self->classes_title), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->classes_status), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->per_class_title), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->confusion), FALSE);

  weft_eval_heading (box, _("Without a modality"));
  self->robust_status = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_wrap (self->robust_status, TRUE);
  gtk_label_set_xalign (self->robust_status, 0);
  gtk_widget_add_css_class (GTK_WIDGET (self->robust_status), "dim-label");
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->robust_status));
  self->robust_grid = weft_eval_grid (box);

  weft_eval_heading (box, _("Noise"));
  self->image_noise = weft_eval_slider (box, _("Image noise (standard deviation)"), 0, 1, 0, 0.05);
  self->audio_snr = weft_eval_slider (box, _("Audio signal-to-noise ratio (dB)"), -10, 40, 40, 1);
  g_signal_connect (self->image_noise, "value-changed", G_CALLBACK (on_noise_changed), self);
  g_signal_connect (self->audio_snr, "value-changed", G_CALLBACK (on_noise_changed), self);
  self->noise_result = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (self->noise_result, 0);
  gtk_label_set_wrap (self->noise_result, TRUE);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->noise_result));
}

GtkWidget *
weft_eval_panel_new (void)
{
  return g_object_new (WEFT_TYPE_EVAL_PANEL, NULL);
}
