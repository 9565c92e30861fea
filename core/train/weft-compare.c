/* weft-compare.c — the fusion comparison: one worker thread that trains each
 * template in turn through its own WeftTrainer, then tests it whole and
 * with each modality removed, and hands results to the main loop. */
#include "weft-compare.h"

#include <math.h>
#include <string.h>

#include "graph/weft-checkpoint.h"
#include "weft-error.h"

struct _WeftCompare {
  GObject parent_instance;

  /* Owned, fixed after new */
  WeftFeatures *features;
  GStrv paths;
  WeftTrainConfig config;
  char *comparison_id;

  /* Owned, main thread only */
  WeftProject *project;
  GMainContext *context;
  GThread *thread;
  guint n_emitted;           /* results announced by "result-added" */
  gint64 start_time;         /* monotonic, microseconds */

  /* Shared with the worker, under lock */
  GMutex lock;
  WeftCompareProgress progress;
  GArray *results;           /* WeftCompareResult */
  WeftTrainer *current;
  gboolean cancelled, idle_queued, finished_queued;
  gboolean disposing;        /* no more idles: the object is going away */
};

enum { SIGNAL_PROGRESS, SIGNAL_RESULT_ADDED, SIGNAL_FINISHED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (WeftCompare, weft_compare, G_TYPE_OBJECT)

static const char *const modality_names[WEFT_N_MODALITIES] = { "image", "text", "audio", "label" };

void
weft_compare_result_copy (WeftCompareResult *dst, const WeftCompareResult *src)
{
  *dst = *src;
  dst->name = g_strdup (src->name);
  dst->path = g_strdup (src->path);
  dst->message = g_strdup (src->message);
  dst->run_id = g_strdup (src->run_id);
  dst->run = src->run ? json_object_ref (src->run) : NULL;
}

void
weft_compare_result_clear (WeftCompareResult *r)
{
  g_clear_pointer (&r->name, g_free);
  g_clear_pointer (&r->path, g_free);
  g_clear_pointer (&r->message, g_free);
  g_clear_pointer (&r->run_id, g_free);
  g_clear_pointer (&r->run, json_object_unref);
}

void
weft_compare_progress_clear (WeftCompareProgress *p)
{
  g_clear_pointer (&p->name, g_free);
  g_clear_pointer (&p->message, g_free);
}

static void
weft_compare_finalize (GObject *object)
{
  WeftCompare *self = WEFT_COMPARE (object);

  if (self->thread)
    {
      g_mutex_lock (&self->lock);
      self->disposing = TRUE;
      g_mutex_unlock (&self->lock);
      weft_compare_cancel (self);
      g_thread_join (self->thread);
    }
  for (guint i = 0; i < self->results->len; i++)
    weft_compare_result_clear (&g_array_index (self->results, WeftCompareResult, i));
  g_array_unref (self->results);
  weft_compare_progress_clear (&self->progress);
  g_clear_object (&self->project);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_pointer (&self->features, weft_features_free);
  g_strfreev (self->paths);
  g_free (self->comparison_id);
  weft_train_config_clear (&self->config);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (weft_compare_parent_class)->finalize (object);
}

static void
weft_compare_class_init (WeftCompareClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = weft_compare_finalize;

  signals[SIGNAL_PROGRESS] = g_signal_new ("progress", G_TYPE_FROM_CLASS (klass),
                                           G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                           G_TYPE_NONE, 0);
  signals[SIGNAL_RESULT_ADDED] = g_signal_new ("result-added", G_TYPE_FROM_CLASS (klass),
                                               G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                               G_TYPE_NONE, 1, G_TYPE_UINT);
  signals[SIGNAL_FINISHED] = g_signal_new ("finished", G_TYPE_FROM_CLASS (klass),
                                           G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                           G_TYPE_NONE, 0);
}

static void
weft_compare_init (WeftCompare *self)
{
  g_mutex_init (&self->lock);
  self->results = g_array_new (FALSE, TRUE, sizeof (WeftCompareResult));
}

WeftCompare *
weft_compare_new (WeftFeatures *features, const char *const *template_paths,
                  const WeftTrainConfig *config)
{
  g_return_val_if_fail (features != NULL && template_paths != NULL && config != NULL, NULL);

  WeftCompare *self = g_object_new (WEFT_TYPE_COMPARE, NULL);
  self->features = weft_features_ref (features);
  self->paths = g_strdupv ((char **) template_paths);
  self->config = *config;
  self->config.checkpoint_path = NULL;
  self->config.features = config->features ? json_object_ref (config->features) : NULL;
  self->progress.n = g_strv_length (self->paths);
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");
  g_autofree char *uuid = g_uuid_string_random ();
  self->comparison_id = g_strdup_printf ("compare-%s-%.8s", stamp, uuid);
  return self;
}

void
weft_compare_set_project (WeftCompare *self, WeftProject *project)
{
  g_return_if_fail (WEFT_IS_COMPARE (self));
  g_return_if_fail (self->thread == NULL);
  g_set_object (&self->project, project);
}

/* ---- main-loop side ---- */

static void
run_unref (gpointer run)
{
  if (run != NULL)
    json_object_unref (run);
}

static gboolean
emit_idle (gpointer data)
{
  WeftCompare *self = data;
  g_autoptr(GPtrArray) runs = g_ptr_array_new_with_free_func (run_unref);
  guint from = self->n_emitted, to;
  gboolean finished;

  g_mutex_lock (&self->lock);
  self->idle_queued = FALSE;
  finished = self->finished_queued;
  self->finished_queued = FALSE;
  to = self->results->len;
  for (guint i = from; i < to; i++)
    {
      WeftCompareResult *r = &g_array_index (self->results, WeftCompareResult, i);
      g_ptr_array_add (runs, r->run && r->run_id ? json_object_ref (r->run) : NULL);
    }
  g_mutex_unlock (&self->lock);

  g_signal_emit (self, signals[SIGNAL_PROGRESS], 0);
  self->n_emitted = to;
  for (guint i = from; i < to; i++)
    {
      JsonObject *run = g_ptr_array_index (runs, i - from);
      if (self->project && run)
        weft_project_add_run (self->project, run);
      g_signal_emit (self, signals[SIGNAL_RESULT_ADDED], 0, i);
    }
  if (finished)
    g_signal_emit (self, signals[SIGNAL_FINISHED], 0);
  return G_SOURCE_REMOVE;
}

/* Called with the lock held. */
static void
queue_notify (WeftCompare *self)
{
  if (self->idle_queued || self->disposing)
    return;
  self->idle_queued = TRUE;
  GSource *src = g_idle_source_new ();
  g_source_set_priority (src, G_PRIORITY_DEFAULT);
  g_source_set_callback (src, emit_idle, g_object_ref (self), g_object_unref);
  g_source_attach (src, self->context);
  g_source_unref (src);
}

/* ---- worker ---- */

static void
set_message (WeftCompare *self, char *message)
{
  g_mutex_lock (&self->lock);
  g_free (self->progress.message);
  self->progress.message = message;
  queue_notify (self);
  g_mutex_unlock (&self->lock);
}

/* The trainer's signals arrive here, on the worker's own context. */
static void
on_trainer_progress (WeftTrainer *trainer, WeftCompare *self)
{
  WeftProgress p;
  weft_trainer_get_progress (trainer, &p);
  g_mutex_lock (&self->lock);
  WeftCompareProgress *cp = &self->progress;
  cp->epoch = p.epoch;
  cp->epochs = p.epochs;
  cp->step = p.step;
  cp->steps_per_epoch = p.steps_per_epoch;
  cp->total_steps = p.total_steps;
  cp->loss = p.loss;
  cp->samples_per_s = p.samples_per_s;
  double part = p.total_steps > 0 ? (double) p.step / p.total_steps : 0;
  cp->fraction = (cp->index + part) / MAX (cp->n, 1);
  queue_notify (self);
  g_mutex_unlock (&self->lock);
  weft_progress_clear (&p);
}

static void
on_trainer_finished (WeftTrainer *trainer, GMainLoop *loop)
{
  g_main_loop_quit (loop);
}

static const char *
state_name (WeftTrainState s)
{
  switch (s)
    {
    case WEFT_TRAIN_FINISHED: return "finished";
    case WEFT_TRAIN_STOPPED: return "stopped";
    case WEFT_TRAIN_FAILED: return "failed";
    default: return "running";
    }
}

static char *
now_iso8601 (void)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  return g_date_time_format_iso8601 (now);
}

static void
set_double_or_null (JsonObject *o, const char *name, double v)
{
  if (isfinite (v))
    json_object_set_double_member (o, name, v);
  else
    json_object_set_null_member (o, name);
}

/* The run record shared by the Train page, the explorer and the CLI. */
static JsonObject *
build_run (WeftCompare *self, const WeftCompareResult *r, const WeftSpec *spec,
           GArray *history, const char *started, const char *checkpoint)
{
  JsonObject *run = json_object_new ();
  g_autofree char *finished = now_iso8601 ();

  json_object_set_string_member (run, "id", r->run_id ? r->run_id : "");
  json_object_set_string_member (run, "template", r->name);
  json_object_set_string_member (run, "started", started);
  json_object_set_string_member (run, "finished", finished);
  json_object_set_string_member (run, "state", state_name (r->state));
  if (r->message)
    json_object_set_string_member (run, "message", r->message);
  json_object_set_string_member (run, "comparison", self->comparison_id);
  json_object_set_object_member (run, "settings", weft_train_config_to_json (&self->config));
  if (spec)
    json_object_set_member (run, "model", weft_spec_to_json (spec));

  JsonArray *epochs = json_array_new ();
  for (guint i = 0; history && i < history->len; i++)
    {
      const WeftEpochMetrics *m = &g_array_index (history, WeftEpochMetrics, i);
      json_array_add_object_element (epochs, weft_epoch_metrics_to_json (m));
    }
  json_object_set_array_member (run, "epochs", epochs);

  JsonObject *fin = json_object_new ();
  set_double_or_null (fin, "accuracy", r->accuracy);
  set_double_or_null (fin, "recall1", r->recall1);
  json_object_set_int_member (fin, "parameters", (gint64) r->parameters);
  set_double_or_null (fin, "seconds", r->seconds);
  set_double_or_null (fin, "samples_per_s", r->samples_per_s);
  static const char *const split_names[] = { "train", "validation", "test" };
  json_object_set_string_member (fin, "eval_split", split_names[r->eval_split]);
  json_object_set_int_member (fin, "eval_rows", r->eval_rows);
  for (int m = 0; m < WEFT_MODALITY_LABEL; m++)
    if (r->used & (1u << m))
      {
        g_autofree char *key = g_strdup_printf ("accuracy_without_%s", modality_names[m]);
        set_double_or_null (fin, key, r->missing[m]);
      }
  json_object_set_object_member (run, "final", fin);
  if (checkpoint)
    json_object_set_string_member (run, "checkpoint", checkpoint);
  return run;
}

static int *
eval_rows (const WeftFeatures *f, WeftSplit *split, int *n)
{
  static const WeftSplit order[] = { WEFT_SPLIT_TEST, WEFT_SPLIT_VALIDATION, WEFT_SPLIT_TRAIN };
  for (guint i = 0; i < G_N_ELEMENTS (order); i++)
    {
      int *rows = weft_features_split_rows (f, order[i], n);
      if (*n > 0 || i + 1 == G_N_ELEMENTS (order))
        {
          *split = order[i];
          return rows;
        }
      g_free (rows);
    }
  g_assert_not_reached ();
}

/* Trains and tests template i; fills r (name and path already set). */
static void
run_template (WeftCompare *self, guint index, WeftCompareResult *r)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *started = now_iso8601 ();
  g_autofree char *checkpoint = NULL;
  g_autoptr(WeftSpec) spec = weft_spec_load (r->path, &error);
  g_autoptr(GArray) history = NULL;
  WeftBinding binding;

  r->accuracy = r->recall1 = r->seconds = r->samples_per_s = NAN;
  for (int m = 0; m < WEFT_N_MODALITIES; m++)
    r->missing[m] = NAN;
  r->state = WEFT_TRAIN_FAILED;
  if (spec && spec->name && *spec->name)
    {
      g_free (r->name);
      r->name = g_strdup (spec->name);
    }

  g_mutex_lock (&self->lock);
  g_free (self->progress.name);
  self->progress.name = g_strdup (r->name);
  self->progress.index = index;
  self->progress.step = self->progress.epoch = 0;
  self->progress.fraction = (double) index / MAX (self->progress.n, 1);
  g_free (self->progress.message);
  self->progress.message = g_strdup_printf ("Training %s (%u of %d)", r->name, index + 1,
                                            self->progress.n);
  queue_notify (self);
  g_mutex_unlock (&self->lock);

  if (spec == NULL)
    {
      r->message = g_strdup (error->message);
      r->run = build_run (self, r, NULL, NULL, started, NULL);
      return;
    }
  for (guint i = 0; i < spec->inputs->len; i++)
    {
      const WeftSpecInput *in = g_ptr_array_index (spec->inputs, i);
      if (in->modality != WEFT_MODALITY_LABEL)
        r->used |= 1u << in->modality;
    }

  weft_features_get_binding (self->features, &binding);
  g_autoptr(WeftGraph) g = weft_graph_compile (spec, &binding, &error);
  g_autofree char *spec_dir = g_path_get_dirname (r->path);
  if (g != NULL)
    {
      weft_graph_allocate (g, self->config.batch_size, self->config.seed);
      if (!weft_checkpoint_load_transfers (g, spec_dir, &error))
        g_clear_pointer (&g, weft_graph_free);
    }
  if (g == NULL)
    {
      r->message = g_strdup_printf ("%s cannot be used with this dataset: %s", r->name, error->message);
      r->run = build_run (self, r, spec, NULL, started, NULL);
      return;
    }
  r->parameters = weft_graph_param_count (g);

  if (self->project)
    {
      r->run_id = weft_project_new_run_id ();
      g_autofree char *dir = weft_project_dup_run_dir (r->run_id, &error);
      if (dir == NULL)
        {
          r->message = g_strdup (error->message);
          r->run = build_run (self, r, spec, NULL, started, NULL);
          return;
        }
      checkpoint = g_build_filename (dir, "model.safetensors", NULL);
    }

  /* The trainer emits on the thread-default context of whoever starts it:
   * here a private one, iterated by this worker only. */
  WeftTrainConfig c = self->config;
  c.checkpoint_path = checkpoint;
  GMainContext *ctx = g_main_context_new ();
  g_main_context_push_thread_default (ctx);
  GMainLoop *loop = g_main_loop_new (ctx, FALSE);
  WeftTrainer *t = weft_trainer_new (g, self->features, &c);
  g_signal_connect (t, "progress", G_CALLBACK (on_trainer_progress), self);
  g_signal_connect (t, "finished", G_CALLBACK (on_trainer_finished), loop);
  g_autoptr(GTimer) timer = g_timer_new ();
  gboolean started_ok = weft_trainer_start (t, &error);
  if (started_ok)
    {
      g_mutex_lock (&self->lock);
      self->current = g_object_ref (t);
      gboolean cancelled = self->cancelled;
      g_mutex_unlock (&self->lock);
      if (cancelled)
        weft_trainer_stop (t);
      g_main_loop_run (loop);
      weft_trainer_join (t);
    }
  r->seconds = g_timer_elapsed (timer, NULL);

  g_mutex_lock (&self->lock);
  g_clear_object (&self->current);
  g_mutex_unlock (&self->lock);
  g_signal_handlers_disconnect_by_data (t, self);
  g_signal_handlers_disconnect_by_data (t, loop);
  /* Idles the trainer queued hold a reference on it: run them out. */
  while (g_main_context_iteration (ctx, FALSE))
    ;

  WeftProgress p;
  weft_trainer_get_progress (t, &p);
  history = weft_trainer_dup_history (t);
  g_object_unref (t);
  g_main_loop_unref (loop);
  g_main_context_pop_thread_default (ctx);
  g_main_context_unref (ctx);

  if (!started_ok)
    {
      r->message = g_strdup (error->message);
      r->run = build_run (self, r, spec, NULL, started, NULL);
      weft_progress_clear (&p);
      return;
    }
  r->state = p.state;
  r->message = g_steal_pointer (&p.message);
  r->epochs_done = p.epochs_done;
  weft_progress_clear (&p);
  if (history->len > 0)
    {
      double s = 0;
      for (guint i = 0; i < history->len; i++)
        s += g_array_index (history, WeftEpochMetrics, i).samples_per_s;
      r->samples_per_s = s / history->len;
    }

  /* A cancelled or failed run is kept as it is; testing only what finished
   * keeps the table honest and the cancel quick. */
  if (r->state == WEFT_TRAIN_FINISHED)
    {
      int n;
      g_autofree int *rows = eval_rows (self->features, &r->eval_split, &n);
      WeftEvalResult ev;
      r->eval_rows = n;
      set_message (self, g_strdup_printf ("Testing %s", r->name));
      weft_evaluate_perturbed (g, self->features, rows, n, NULL, &ev);
      r->accuracy = ev.accuracy;
      r->recall1 = ev.recall_ab[0];
      for (int m = 0; m < WEFT_MODALITY_LABEL; m++)
        {
          if (isnan (r->accuracy))
            break;
          if (!(r->used & (1u << m)))
            {
              r->missing[m] = r->accuracy;
              continue;
            }
          g_mutex_lock (&self->lock);
          gboolean cancelled = self->cancelled;
          g_mutex_unlock (&self->lock);
          if (cancelled)
            break;
          set_message (self, g_strdup_printf ("Testing %s without %s", r->name, modality_names[m]));
          WeftPerturb pert;
          weft_perturb_init (&pert);
          pert.drop = 1u << m;
          weft_evaluate_perturbed (g, self->features, rows, n, &pert, &ev);
          r->missing[m] = ev.accuracy;
        }
    }
  r->run = build_run (self, r, spec, history, started,
                      checkpoint && r->epochs_done > 0 ? checkpoint : NULL);
}

static gpointer
compare_thread (gpointer data)
{
  WeftCompare *self = data;
  guint n = g_strv_length (self->paths);

  for (guint i = 0; i < n; i++)
    {
      g_mutex_lock (&self->lock);
      gboolean cancelled = self->cancelled;
      g_mutex_unlock (&self->lock);
      if (cancelled)
        break;

      WeftCompareResult r = { 0 };
      r.path = g_strdup (self->paths[i]);
      g_autofree char *base = g_path_get_basename (r.path);
      if (g_str_has_suffix (base, ".json"))
        base[strlen (base) - 5] = 0;
      r.name = g_strdup (base);
      run_template (self, i, &r);

      g_mutex_lock (&self->lock);
      g_array_append_val (self->results, r);
      self->progress.fraction = (double) (i + 1) / MAX (n, 1);
      queue_notify (self);
      g_mutex_unlock (&self->lock);
    }

  g_mutex_lock (&self->lock);
  self->progress.running = FALSE;
  self->progress.elapsed = (g_get_monotonic_time () - self->start_time) * 1e-6;
  g_free (self->progress.message);
  self->progress.message = g_strdup (self->cancelled ? "Comparison cancelled" : "Comparison finished");
  self->finished_queued = TRUE;
  self->idle_queued = FALSE;   /* a fresh idle carries "finished" */
  queue_notify (self);
  g_mutex_unlock (&self->lock);
  return NULL;
}

gboolean
weft_compare_start (WeftCompare *self, GError **error)
{
  g_return_val_if_fail (WEFT_IS_COMPARE (self), FALSE);
  g_return_val_if_fail (self->thread == NULL, FALSE);

  if (self->paths[0] == NULL)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_ARGS, "choose at least one model template to compare");
      return FALSE;
    }
  self->context = g_main_context_ref_thread_default ();
  self->progress.running = TRUE;
  self->start_time = g_get_monotonic_time ();
  self->thread = g_thread_try_new ("weft-compare", compare_thread, self, error);
  if (self->thread == NULL)
    self->progress.running = FALSE;
  return self->thread != NULL;
}

void
weft_compare_cancel (WeftCompare *self)
{
  g_return_if_fail (WEFT_IS_COMPARE (self));
  g_mutex_lock (&self->lock);
  self->cancelled = TRUE;
  if (self->current)
    weft_trainer_stop (self->current);
  g_mutex_unlock (&self->lock);
}

void
weft_compare_join (WeftCompare *self)
{
  g_return_if_fail (WEFT_IS_COMPARE (self));
  if (self->thread)
    {
      g_thread_join (self->thread);
      self->thread = NULL;
    }
}

gboolean
weft_compare_is_running (WeftCompare *self)
{
  g_return_val_if_fail (WEFT_IS_COMPARE (self), FALSE);
  g_mutex_lock (&self->lock);
  gboolean running = self->progress.running;
  g_mutex_unlock (&self->lock);
  return running;
}

void
weft_compare_get_progress (WeftCompare *self, WeftCompareProgress *out)
{
  g_return_if_fail (WEFT_IS_COMPARE (self));
  g_mutex_lock (&self->lock);
  *out = self->progress;
  out->name = g_strdup (self->progress.name);
  out->message = g_strdup (self->progress.message);
  if (self->progress.running)
    out->elapsed = (g_get_monotonic_time () - self->start_time) * 1e-6;
  g_mutex_unlock (&self->lock);
}

guint
weft_compare_get_n_templates (WeftCompare *self)
{
  g_return_val_if_fail (WEFT_IS_COMPARE (self), 0);
  return g_strv_length (self->paths);
}

guint
weft_compare_get_n_results (WeftCompare *self)
{
  g_return_val_if_fail (WEFT_IS_COMPARE (self), 0);
  g_mutex_lock (&self->lock);
  guint n = self->results->len;
  g_mutex_unlock (&self->lock);
  return n;
}

gboolean
weft_compare_get_result (WeftCompare *self, guint i, WeftCompareResult *out)
{
  g_return_val_if_fail (WEFT_IS_COMPARE (self), FALSE);
  g_mutex_lock (&self->lock);
  gboolean ok = i < self->results->len;
  if (ok)
    weft_compare_result_copy (out, &g_array_index (self->results, WeftCompareResult, i));
  else
    memset (out, 0, sizeof *out);
  g_mutex_unlock (&self->lock);
  return ok;
}

WeftTrainer *
weft_compare_dup_trainer (WeftCompare *self)
{
  g_return_val_if_fail (WEFT_IS_COMPARE (self), NULL);
  g_mutex_lock (&self->lock);
  WeftTrainer *t = self->current ? g_object_ref (self->current) : NULL;
  g_mutex_unlock (&self->lock);
  return t;
}

static void
append_cell (GString *s, double v, int decimals, int width)
{
  if (isnan (v))
    g_string_append_printf (s, "%*s", width, "-");
  else
    g_string_append_printf (s, "%*.*f", width, decimals, v);
}

char *
weft_compare_format_table (WeftCompare *self)
{
  g_return_val_if_fail (WEFT_IS_COMPARE (self), NULL);
  GString *s = g_string_new (NULL);
  guint used = 0;
  int name_width = 8;

  g_mutex_lock (&self->lock);
  for (guint i = 0; i < self->results->len; i++)
    {
      WeftCompareResult *r = &g_array_index (self->results, WeftCompareResult, i);
      used |= r->used;
      name_width = MAX (name_width, (int) strlen (r->name));
    }
  g_string_append_printf (s, "%-*s %9s", name_width, "template", "accuracy");
  for (int m = 0; m < WEFT_MODALITY_LABEL; m++)
    if (used & (1u << m))
      {
        g_autofree char *h = g_strdup_printf ("no %s", modality_names[m]);
        g_string_append_printf (s, " %9s", h);
      }
  g_string_append_printf (s, " %11s %9s  %s\n", "parameters", "seconds", "state");
  for (guint i = 0; i < self->results->len; i++)
    {
      WeftCompareResult *r = &g_array_index (self->results, WeftCompareResult, i);
      g_string_append_printf (s, "%-*s ", name_width, r->name);
      append_cell (s, r->accuracy, 4, 9);
      for (int m = 0; m < WEFT_MODALITY_LABEL; m++)
        if (used & (1u << m))
          {
            g_string_append_c (s, ' ');
            append_cell (s, r->missing[m], 4, 9);
          }
      g_string_append_printf (s, " %11" G_GSIZE_FORMAT " ", r->parameters);
      append_cell (s, r->seconds, 1, 9);
      g_string_append_printf (s, "  %s\n", state_name (r->state));
    }
  g_mutex_unlock (&self->lock);
  return g_string_free (s, FALSE);
}
