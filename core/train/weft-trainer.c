/* weft-trainer.c — the training loop on a worker thread: shuffled batches,
 * forward, backward, optimizer step; evaluation after each epoch; NaN
 * detection with roll-back to the last good weights; a progress snapshot
 * under a mutex, handed to the main loop through one queued idle. */
#include "weft-trainer.h"

#include <math.h>
#include <string.h>

#include "graph/weft-checkpoint.h"
#include "tensor/weft-blas.h"
#include "weft-error.h"

struct _WeftTrainer {
  GObject parent_instance;

  /* Borrowed */
  WeftGraph *graph;
  const WeftFeatures *features;

  /* Owned */
  WeftTrainConfig config;
  GThread *thread;
  GMainContext *context;
  WeftOptim *optim;
  WeftEpochHook epoch_hook;
  gpointer epoch_hook_data;
  GDestroyNotify epoch_hook_destroy;

  /* Worker-side snapshot state, set up by start */
  GArray *segments;          /* GradSegment: trainable weights and their branch */
  guint branch_mask;
  WeftNode *sim_a, *sim_b;   /* embeddings feeding the contrastive loss */
  WeftSimilarity sim_work;

  /* Shared with the worker, under lock */
  GMutex lock;
  GCond cond;
  WeftProgress progress;
  GArray *history;           /* WeftEpochMetrics */
  GArray *step_losses;       /* float */
  GArray *step_lrs;          /* float */
  GArray *grad_norms;        /* WeftGradNorms */
  WeftSimilarity sim;
  gboolean paused, stop_requested, idle_queued, finished_queued;
};

typedef struct {
  const float *grad;
  gsize size;
  int branch;                /* WeftModality, or -1: the rest */
} GradSegment;

enum { SIGNAL_PROGRESS, SIGNAL_FINISHED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (WeftTrainer, weft_trainer, G_TYPE_OBJECT)

static void
set_double_or_null (JsonObject *o, const char *name, double v)
{
  if (isfinite (v))
    json_object_set_double_member (o, name, v);
  else
    json_object_set_null_member (o, name);
}

JsonObject *
weft_epoch_metrics_to_json (const WeftEpochMetrics *m)
{
  JsonObject *e = json_object_new ();

  json_object_set_int_member (e, "epoch", m->epoch);
  set_double_or_null (e, "train_loss", m->train_loss);
  set_double_or_null (e, "val_loss", m->val_loss);
  set_double_or_null (e, "val_accuracy", m->val_accuracy);
  set_double_or_null (e, "val_recall1", m->val_recall1);
  set_double_or_null (e, "val_recall5", m->val_recall5);
  set_double_or_null (e, "samples_per_s", m->samples_per_s);
  set_double_or_null (e, "seconds", m->seconds);
  set_double_or_null (e, "lr", m->lr);
  return e;
}

void
weft_train_config_init (WeftTrainConfig *c)
{
  memset (c, 0, sizeof *c);
  weft_optim_config_init_default (&c->optim, WEFT_OPTIM_ADAM);
  c->epochs = 5;
  c->batch_size = 64;
  c->seed = 1;
  c->val_share = 0.1;
}

void
weft_train_config_clear (WeftTrainConfig *c)
{
  g_clear_pointer (&c->checkpoint_path, g_free);
  g_clear_pointer (&c->features, json_object_unref);
}

gboolean
weft_train_config_from_json (WeftTrainConfig *c, JsonObject *o, GError **error)
{
  if (!weft_optim_config_from_json (&c->optim, o, error))
    return FALSE;
  struct { const char *key; int *dst; int min, max; } ints[] = {
    { "epochs", &c->epochs, 1, 100000 },
    { "batch_size", &c->batch_size, 1, 65536 },
    { "threads", &c->threads, 0, 256 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (ints); i++)
    if (json_object_has_member (o, ints[i].key))
      {
        gint64 v = json_object_get_int_member (o, ints[i].key);
        if (v < ints[i].min || v > ints[i].max)
          {
            g_set_error (error, WEFT_ERROR, WEFT_ERROR_ARGS, "%s must be between %d and %d, not %" G_GINT64_FORMAT,
                         ints[i].key, ints[i].min, ints[i].max, v);
            return FALSE;
          }
        *ints[i].dst = (int) v;
      }
  JsonNode *fm = json_object_get_member (o, "features");
  if (fm && JSON_NODE_HOLDS_OBJECT (fm))
    {
      g_clear_pointer (&c->features, json_object_unref);
      c->features = json_object_ref (json_node_get_object (fm));
    }
  if (json_object_has_member (o, "seed"))
    c->seed = (guint64) json_object_get_int_member (o, "seed");
  if (json_object_has_member (o, "val_share"))
    {
      double v = json_object_get_double_member (o, "val_share");
      if (!(v >= 0 && v < 0.9))
        {
          g_set_error (error, WEFT_ERROR, WEFT_ERROR_ARGS, "val_share must be between 0 and 0.9, not %g", v);
          return FALSE;
        }
      c->val_share = v;
    }
  return TRUE;
}

JsonObject *
weft_train_config_to_json (const WeftTrainConfig *c)
{
  JsonObject *o = weft_optim_config_to_json (&c->optim);
  json_object_set_int_member (o, "epochs", c->epochs);
  json_object_set_int_member (o, "batch_size", c->batch_size);
  json_object_set_int_member (o, "seed", (gint64) c->seed);
  json_object_set_int_member (o, "threads", c->threads);
  json_object_set_double_member (o, "val_share", c->val_share);
  if (c->features)
    json_object_set_object_member (o, "features", json_object_ref (c->features));
  return o;
}

void
weft_progress_clear (WeftProgress *p)
{
  g_clear_pointer (&p->message, g_free);
}

static void
weft_trainer_finalize (GObject *object)
{
  WeftTrainer *self = WEFT_TRAINER (object);

  if (self->thread)
    {
      weft_trainer_stop (self);
      g_thread_join (self->thread);
    }
  g_clear_pointer (&self->optim, weft_optim_free);
  if (self->epoch_hook_destroy != NULL)
    self->epoch_hook_destroy (self->epoch_hook_data);
  g_clear_pointer (&self->context, g_main_context_unref);
  weft_train_config_clear (&self->config);
  weft_progress_clear (&self->progress);
  g_array_unref (self->history);
  g_array_unref (self->step_losses);
  g_array_unref (self->step_lrs);
  g_array_unref (self->grad_norms);
  g_array_unref (self->segments);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  G_OBJECT_CLASS (weft_trainer_parent_class)->finalize (object);
}

static void
weft_trainer_class_init (WeftTrainerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = weft_trainer_finalize;

  /* Emitted on the main context after the worker published new progress. */
  signals[SIGNAL_PROGRESS] = g_signal_new ("progress", G_TYPE_FROM_CLASS (klass),
                                           G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                           G_TYPE_NONE, 0);
  /* Emitted once on the main context when the worker has ended. */
  signals[SIGNAL_FINISHED] = g_signal_new ("finished", G_TYPE_FROM_CLASS (klass),
                                           G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                           G_TYPE_NONE, 0);
}

static void
weft_trainer_init (WeftTrainer *self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  self->history = g_array_new (FALSE, TRUE, sizeof (WeftEpochMetrics));
  self->step_losses = g_array_new (FALSE, FALSE, sizeof (float));
  self->step_lrs = g_array_new (FALSE, FALSE, sizeof (float));
  self->grad_norms = g_array_new (FALSE, FALSE, sizeof (WeftGradNorms));
  self->segments = g_array_new (FALSE, FALSE, sizeof (GradSegment));
}

WeftTrainer *
weft_trainer_new (WeftGraph *graph, const WeftFeatures *features,
                  const WeftTrainConfig *config)
{
  g_return_val_if_fail (graph != NULL && features != NULL && config != NULL, NULL);
  WeftTrainer *self = g_object_new (WEFT_TYPE_TRAINER, NULL);
  self->graph = graph;
  self->features = features;
  self->config = *config;
  self->config.checkpoint_path = g_strdup (config->checkpoint_path);
  self->config.features = config->features ? json_object_ref (config->features) : NULL;
  return self;
}

/* ---- main-loop side ---- */

static gboolean
emit_progress_idle (gpointer data)
{
  WeftTrainer *self = data;
  gboolean finished;

  g_mutex_lock (&self->lock);
  self->idle_queued = FALSE;
  finished = self->finished_queued;
  self->finished_queued = FALSE;
  g_mutex_unlock (&self->lock);

  g_signal_emit (self, signals[SIGNAL_PROGRESS], 0);
  if (finished)
    g_signal_emit (self, signals[SIGNAL_FINISHED], 0);
  return G_SOURCE_REMOVE;
}

/* Called with the lock held. */
static void
queue_notify (WeftTrainer *self)
{
  if (self->idle_queued)
    return;
  self->idle_queued = TRUE;
  GSource *src = g_idle_source_new ();
  g_source_set_priority (src, G_PRIORITY_DEFAULT);
  g_source_set_callback (src, emit_progress_idle, g_object_ref (self), g_object_unref);
  g_source_attach (src, self->context);
  g_source_unref (src);
}

/* ---- worker ---- */

static gboolean
check_pause_stop (WeftTrainer *self)
{
  gboolean stop;
  g_mutex_lock (&self->lock);
  if (self->paused && !self->stop_requested)
    {
      self->progress.state = WEFT_TRAIN_PAUSED;
      queue_notify (self);
      while (self->paused && !self->stop_requested)
        g_cond_wait (&self->cond, &self->lock);
      self->progress.state = WEFT_TRAIN_RUNNING;
      queue_notify (self);
    }
  stop = self->stop_requested;
  g_mutex_unlock (&self->lock);
  return stop;
}

static void
finish (WeftTrainer *self, WeftTrainState state, char *message)
{
  g_mutex_lock (&self->lock);
  self->progress.state = state;
  g_free (self->progress.message);
  self->progress.message = message;
  self->finished_queued = TRUE;
  self->idle_queued = FALSE;   /* force a fresh idle carrying "finished" */
  queue_notify (self);
  g_mutex_unlock (&self->lock);
}

/* ---- live snapshots (worker) ---- */

static void
compute_grad_norms (WeftTrainer *self, gint64 step, WeftGradNorms *out)
{
  double sum[WEFT_N_MODALITIES] = { 0 }, rest = 0;

  for (guint i = 0; i < self->segments->len; i++)
    {
      const GradSegment *seg = &g_array_index (self->segments, GradSegment, i);
      double s = 0;
      for (gsize j = 0; j < seg->size; j++)
        s += (double) seg->grad[j] * seg->grad[j];
      if (seg->branch >= 0)
        sum[seg->branch] += s;
      else
        rest += s;
    }
  out->step = step;
  double total = rest;
  for (int m = 0; m < WEFT_N_MODALITIES; m++)
    {
      total += sum[m];
      out->branch[m] = self->branch_mask & (1u << m) ? (float) sqrt (sum[m]) : NAN;
    }
  out->rest = (float) sqrt (rest);
  out->total = (float) sqrt (total);
}

/* Cosine similarity of the first rows of the two embeddings, a[i] · b[j]. */
static void
compute_similarity (WeftTrainer *self, int B, gint64 step)
{
  WeftSimilarity *s = &self->sim_work;
  int d = (int) weft_node_out_size (self->sim_a);
  int n = MIN (B, WEFT_SIMILARITY_MAX);
  double na[WEFT_SIMILARITY_MAX], nb[WEFT_SIMILARITY_MAX];

  for (int i = 0; i < n; i++)
    {
      const float *a = self->sim_a->out + (gsize) i * d, *b = self->sim_b->out + (gsize) i * d;
      double sa = 0, sb = 0;
      for (int k = 0; k < d; k++)
        {
          sa += (double) a[k] * a[k];
          sb += (double) b[k] * b[k];
        }
      na[i] = sa > 0 ? 1.0 / sqrt (sa) : 0;
      nb[i] = sb > 0 ? 1.0 / sqrt (sb) : 0;
    }
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      {
        const float *a = self->sim_a->out + (gsize) i * d, *b = self->sim_b->out + (gsize) j * d;
        double dot = 0;
        for (int k = 0; k < d; k++)
          dot += (double) a[k] * b[k];
        s->value[i * WEFT_SIMILARITY_MAX + j] = (float) (dot * na[i] * nb[j]);
      }
  s->n = n;
  s->step = step;
}

static gpointer
train_thread (gpointer data)
{
  WeftTrainer *self = data;
  const WeftTrainConfig *c = &self->config;
  const WeftFeatures *f = self->features;
  WeftGraph *g = self->graph;
  int B = c->batch_size;
  int n_train, n_val;
  g_autofree int *train_rows = weft_features_split_rows (f, WEFT_SPLIT_TRAIN, &n_train);
  g_autofree int *val_rows = weft_features_split_rows (f, WEFT_SPLIT_VALIDATION, &n_val);
  gsize n_arena;
  float *arena = weft_graph_get_arena (g, NULL, &n_arena);
  g_autofree float *good = g_memdup2 (arena, MAX (n_arena, 1) * sizeof (float));
  int steps = n_train / B;          /* the last partial batch is dropped */
  WeftRng rng;
  g_autoptr(GTimer) total = g_timer_new ();
  float recent[20];
  int n_recent = 0;

  weft_blas_set_threads (c->threads);
  weft_rng_init (&rng, c->seed);
  if (steps == 0)
    {
      finish (self, WEFT_TRAIN_FAILED,
              g_strdup_printf ("the training split has %d rows, fewer than one batch of %d; "
                               "lower the batch size", n_train, B));
      return NULL;
    }

  g_mutex_lock (&self->lock);
  self->progress.steps_per_epoch = steps;
  self->progress.total_steps = (gint64) steps * c->epochs;
  g_mutex_unlock (&self->lock);

  for (int epoch = 1; epoch <= c->epochs; epoch++)
    {
      /* Times training steps only: paused time and evaluation are left out. */
      g_autoptr(GTimer) timer = g_timer_new ();
      double loss_sum = 0;

      g_timer_stop (timer);
      g_timer_reset (timer);

      weft_rng_shuffle (&rng, train_rows, n_train);
      for (int s = 0; s < steps; s++)
        {
          if (check_pause_stop (self))
            {
              memcpy (arena, good, n_arena * sizeof (float));
              finish (self, WEFT_TRAIN_STOPPED,
                      g_strdup_printf ("stopped during epoch %d; the weights from the end of "
                                       "epoch %d are kept", epoch, epoch - 1));
              return NULL;
            }
          g_timer_continue (timer);
          weft_features_gather (f, g, train_rows + (gsize) s * B, B);
          double loss = weft_graph_forward (g, B, TRUE);
          weft_graph_backward (g, B);

          /* Snapshots read the gradients before the update (the optimizer
           * leaves them as they are) and the embeddings of this batch. */
          gint64 global_step = (gint64) (epoch - 1) * steps + s + 1;
          gint64 snap_start = g_get_monotonic_time ();
          gboolean want_norms = global_step == 1 || global_step % WEFT_GRAD_NORM_EVERY == 0;
          gboolean want_sim = self->sim_a != NULL
                              && (global_step == 1 || global_step % WEFT_SIMILARITY_EVERY == 0);
          WeftGradNorms norms;
          if (want_norms)
            compute_grad_norms (self, global_step, &norms);
          if (want_sim)
            compute_similarity (self, B, global_step);
          gint64 snap_time = g_get_monotonic_time () - snap_start;

          float gnorm = weft_optim_step (self->optim);
          g_timer_stop (timer);

          if (!isfinite (loss) || !isfinite (gnorm))
            {
              memcpy (arena, good, n_arena * sizeof (float));
              finish (self, WEFT_TRAIN_FAILED,
                      g_strdup_printf ("training diverged at epoch %d, step %d: the %s became %s. "
                                       "Try a lower learning rate (now %g), gradient clipping "
                                       "(clip_norm, e.g. 1.0), or check the data for extreme values. "
                                       "The weights from the end of epoch %d were kept.",
                                       epoch, s + 1, isfinite (loss) ? "gradient" : "loss",
                                       isnan (isfinite (loss) ? gnorm : loss) ? "NaN" : "infinite",
                                       weft_optim_get_lr (self->optim), epoch - 1));
              return NULL;
            }
          loss_sum += loss;
          recent[n_recent++ % 20] = (float) loss;

          g_mutex_lock (&self->lock);
          /* The arrays were sized for the whole run in start: no
           * allocation here. */
          float lf = (float) loss, lr = weft_optim_get_lr (self->optim);
          g_array_append_val (self->step_losses, lf);
          g_array_append_val (self->step_lrs, lr);
          if (want_norms)
            g_array_append_val (self->grad_norms, norms);
          if (want_sim)
            self->sim = self->sim_work;
          WeftProgress *p = &self->progress;
          p->snapshot_seconds += snap_time * 1e-6;
          p->epoch = epoch;
          p->step = global_step;
          double m = 0;
          for (int i = 0; i < MIN (n_recent, 20); i++)
            m += recent[i];
          p->loss = m / MIN (n_recent, 20);
          p->lr = weft_optim_get_lr (self->optim);
          p->elapsed = g_timer_elapsed (total, NULL);
          double el = g_timer_elapsed (timer, NULL);
          p->samples_per_s = el > 0 ? (double) (s + 1) * B / el : 0;
          p->eta = p->step > 0 ? p->elapsed / p->step * (p->total_steps - p->step) : 0;
          queue_notify (self);
          g_mutex_unlock (&self->lock);
        }

      double train_seconds = g_timer_elapsed (timer, NULL);
      WeftEvalResult ev;
      weft_evaluate (g, f, val_rows, n_val, 1000, &ev);
      memcpy (good, arena, n_arena * sizeof (float));

      WeftEpochMetrics em = {
        .epoch = epoch,
        .train_loss = loss_sum / steps,
        .val_loss = n_val ? ev.loss : NAN,
        .val_accuracy = ev.accuracy,
        .val_recall1 = ev.recall_ab[0],
        .val_recall5 = ev.recall_ab[1],
        .samples_per_s = train_seconds > 0 ? (double) steps * B / train_seconds : 0,
        .seconds = train_seconds,
        .lr = weft_optim_get_lr (self->optim),
      };

      if (c->checkpoint_path)
        {
          g_autoptr(GError) error = NULL;
          g_autoptr(JsonObject) tj = weft_train_config_to_json (c);
          json_object_set_int_member (tj, "epochs_done", epoch);
          if (!weft_checkpoint_save (g, f, tj, c->checkpoint_path, &error))
            {
              finish (self, WEFT_TRAIN_FAILED,
                      g_strdup_printf ("the checkpoint could not be saved: %s", error->message));
              return NULL;
            }
        }

      if (self->epoch_hook != NULL)
        self->epoch_hook (self, g, f, epoch, self->epoch_hook_data);

      g_mutex_lock (&self->lock);
      g_array_append_val (self->history, em);
      self->progress.last = em;
      self->progress.epochs_done = epoch;
      queue_notify (self);
      g_mutex_unlock (&self->lock);
    }

  finish (self, WEFT_TRAIN_FINISHED, NULL);
  return NULL;
}

void
weft_trainer_set_epoch_hook (WeftTrainer *self, WeftEpochHook hook, gpointer data,
                             GDestroyNotify destroy)
{
  g_return_if_fail (WEFT_IS_TRAINER (self));
  g_return_if_fail (self->thread == NULL);

  if (self->epoch_hook_destroy != NULL)
    self->epoch_hook_destroy (self->epoch_hook_data);
  self->epoch_hook = hook;
  self->epoch_hook_data = data;
  self->epoch_hook_destroy = destroy;
}

void
weft_graph_modality_masks (WeftGraph *g, guint *mask)
{
  int n = weft_graph_get_n_nodes (g);

  for (int k = 0; k < n; k++)
    {
      WeftGraphNode *gn = weft_graph_get_node (g, k);
      mask[k] = gn->modality >= 0 && gn->modality != WEFT_MODALITY_LABEL ? 1u << gn->modality : 0;
    }
  /* Nodes are compiled in dependency order, but a fixed point costs little
   * and does not rely on it. */
  gboolean changed = TRUE;
  while (changed)
    {
      changed = FALSE;
      for (int k = 0; k < n; k++)
        {
          WeftGraphNode *gn = weft_graph_get_node (g, k);
          guint m = mask[k];
          for (int i = 0; i < gn->node->n_in; i++)
            if (gn->src[i] >= 0)
              m |= mask[gn->src[i]];
          if (m != mask[k])
            {
              mask[k] = m;
              changed = TRUE;
            }
        }
    }
}

static int
single_modality (guint m)
{
  for (int i = 0; i < WEFT_N_MODALITIES; i++)
    if (m == 1u << i)
      return i;
  return -1;
}

/* Sorts the trainable weights into branches, finds the contrastive
 * embeddings and sizes the per-step arrays for the whole run. */
static void
setup_snapshots (WeftTrainer *self)
{
  WeftGraph *g = self->graph;
  int n = weft_graph_get_n_nodes (g);
  guint nw = weft_graph_get_n_weights (g);
  g_autofree guint *mask = g_new0 (guint, MAX (n, 1));
  g_autofree guint *wmask = g_new0 (guint, MAX (nw, 1));
  g_autofree gboolean *wused = g_new0 (gboolean, MAX (nw, 1));
  g_autoptr(GHashTable) by_data = g_hash_table_new (NULL, NULL);

  weft_graph_modality_masks (g, mask);
  for (guint i = 0; i < nw; i++)
    g_hash_table_insert (by_data, weft_graph_get_weight (g, i)->data, GUINT_TO_POINTER (i + 1));
  /* A shared weight is reached through every node that uses it. */
  for (int k = 0; k < n; k++)
    {
      WeftNode *node = weft_graph_get_node (g, k)->node;
      for (int j = 0; j < node->n_w; j++)
        {
          guint wi = GPOINTER_TO_UINT (g_hash_table_lookup (by_data, node->w[j]));
          if (wi == 0)
            continue;
          wmask[wi - 1] |= mask[k];
          wused[wi - 1] = TRUE;
        }
    }
  g_array_set_size (self->segments, 0);
  self->branch_mask = 0;
  for (guint i = 0; i < nw; i++)
    {
      const WeftGraphWeight *w = weft_graph_get_weight (g, i);
      if (w->grad == NULL || w->size == 0)
        continue;
      GradSegment seg = { w->grad, w->size, wused[i] ? single_modality (wmask[i]) : -1 };
      if (seg.branch >= 0)
        self->branch_mask |= 1u << seg.branch;
      g_array_append_val (self->segments, seg);
    }

  int loss = weft_graph_find_loss (g, "infonce");
  if (loss < 0)
    loss = weft_graph_find_loss (g, "triplet");
  memset (&self->sim_work, 0, sizeof self->sim_work);
  self->sim_work.modality_a = self->sim_work.modality_b = -1;
  if (loss >= 0)
    {
      WeftGraphNode *gn = weft_graph_get_node (g, loss);
      WeftGraphNode *a = weft_graph_get_node (g, gn->src[0]), *b = weft_graph_get_node (g, gn->src[1]);
      self->sim_a = a->node;
      self->sim_b = b->node;
      self->sim_work.modality_a = single_modality (mask[gn->src[0]]);
      self->sim_work.modality_b = single_modality (mask[gn->src[1]]);
      g_strlcpy (self->sim_work.a, a->spec_id, sizeof self->sim_work.a);
      g_strlcpy (self->sim_work.b, b->spec_id, sizeof self->sim_work.b);
    }
  self->sim = self->sim_work;

  int n_train;
  g_free (weft_features_split_rows (self->features, WEFT_SPLIT_TRAIN, &n_train));
  gint64 total = (gint64) (n_train / MAX (self->config.batch_size, 1)) * self->config.epochs;
  g_array_unref (self->step_losses);
  g_array_unref (self->step_lrs);
  g_array_unref (self->grad_norms);
  self->step_losses = g_array_sized_new (FALSE, FALSE, sizeof (float), (guint) total);
  self->step_lrs = g_array_sized_new (FALSE, FALSE, sizeof (float), (guint) total);
  self->grad_norms = g_array_sized_new (FALSE, FALSE, sizeof (WeftGradNorms),
                                        (guint) (total / WEFT_GRAD_NORM_EVERY + 2));
}

gboolean
weft_trainer_start (WeftTrainer *self, GError **error)
{
  g_return_val_if_fail (WEFT_IS_TRAINER (self), FALSE);
  g_return_val_if_fail (self->thread == NULL, FALSE);

  if (weft_graph_get_max_batch (self->graph) < self->config.batch_size)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_TRAIN,
                   "the model was prepared for batches of %d, not %d",
                   weft_graph_get_max_batch (self->graph), self->config.batch_size);
      return FALSE;
    }
  /* A cosine schedule spans the whole run unless told otherwise. */
  if (self->config.optim.total_steps <= 0)
    {
      int n_train;
      g_free (weft_features_split_rows (self->features, WEFT_SPLIT_TRAIN, &n_train));
      self->config.optim.total_steps = (n_train / self->config.batch_size) * self->config.epochs;
    }
  float *grads;
  gsize n;
  float *arena = weft_graph_get_arena (self->graph, &grads, &n);
  self->optim = weft_optim_new (&self->config.optim, arena, grads, n);
  for (guint i = 0; i < weft_graph_get_n_weights (self->graph); i++)
    {
      const WeftGraphWeight *w = weft_graph_get_weight (self->graph, i);
      if (w->grad)
        weft_optim_add_segment (self->optim, w->offset, w->size, !w->spec->no_decay);
    }

  setup_snapshots (self);
  self->context = g_main_context_ref_thread_default ();
  self->progress.state = WEFT_TRAIN_RUNNING;
  self->progress.epochs = self->config.epochs;
  self->thread = g_thread_try_new ("weft-train", train_thread, self, error);
  return self->thread != NULL;
}

void
weft_trainer_pause (WeftTrainer *self)
{
  g_mutex_lock (&self->lock);
  self->paused = TRUE;
  g_mutex_unlock (&self->lock);
}

void
weft_trainer_resume (WeftTrainer *self)
{
  g_mutex_lock (&self->lock);
  self->paused = FALSE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

void
weft_trainer_stop (WeftTrainer *self)
{
  g_mutex_lock (&self->lock);
  self->stop_requested = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

void
weft_trainer_join (WeftTrainer *self)
{
  if (self->thread)
    {
      g_thread_join (self->thread);
      self->thread = NULL;
    }
}

void
weft_trainer_get_progress (WeftTrainer *self, WeftProgress *out)
{
  g_mutex_lock (&self->lock);
  *out = self->progress;
  out->message = g_strdup (self->progress.message);
  g_mutex_unlock (&self->lock);
}

GArray *
weft_trainer_dup_history (WeftTrainer *self)
{
  g_mutex_lock (&self->lock);
  GArray *a = g_array_sized_new (FALSE, FALSE, sizeof (WeftEpochMetrics), self->history->len);
  g_array_append_vals (a, self->history->data, self->history->len);
  g_mutex_unlock (&self->lock);
  return a;
}

GArray *
weft_trainer_dup_step_losses (WeftTrainer *self, guint from)
{
  g_mutex_lock (&self->lock);
  GArray *a = g_array_new (FALSE, FALSE, sizeof (float));
  if (from < self->step_losses->len)
    g_array_append_vals (a, &g_array_index (self->step_losses, float, from),
                         self->step_losses->len - from);
  g_mutex_unlock (&self->lock);
  return a;
}

GArray *
weft_trainer_dup_step_lrs (WeftTrainer *self, guint from)
{
  g_mutex_lock (&self->lock);
  GArray *a = g_array_new (FALSE, FALSE, sizeof (float));
  if (from < self->step_lrs->len)
    g_array_append_vals (a, &g_array_index (self->step_lrs, float, from),
                         self->step_lrs->len - from);
  g_mutex_unlock (&self->lock);
  return a;
}

GArray *
weft_trainer_dup_grad_norms (WeftTrainer *self, guint from)
{
  g_mutex_lock (&self->lock);
  GArray *a = g_array_new (FALSE, FALSE, sizeof (WeftGradNorms));
  if (from < self->grad_norms->len)
    g_array_append_vals (a, &g_array_index (self->grad_norms, WeftGradNorms, from),
                         self->grad_norms->len - from);
  g_mutex_unlock (&self->lock);
  return a;
}

guint
weft_trainer_get_branch_mask (WeftTrainer *self)
{
  g_return_val_if_fail (WEFT_IS_TRAINER (self), 0);
  return self->branch_mask;
}

gboolean
weft_trainer_has_similarity (WeftTrainer *self)
{
  g_return_val_if_fail (WEFT_IS_TRAINER (self), FALSE);
  return self->sim_a != NULL;
}

gboolean
weft_trainer_get_similarity (WeftTrainer *self, WeftSimilarity *out)
{
  g_mutex_lock (&self->lock);
  *out = self->sim;
  g_mutex_unlock (&self->lock);
  return out->step > 0;
}
