/* weft-trainer.h — trains a compiled model on a worker thread and publishes
 * progress snapshots that the app and the CLI read from their main loop. */
#pragma once

#include <glib-object.h>

#include "data/weft-features.h"
#include "graph/weft-graph.h"
#include "train/weft-metrics.h"
#include "train/weft-optim.h"

G_BEGIN_DECLS

typedef struct {
  WeftOptimConfig optim;
  int epochs;
  int batch_size;
  guint64 seed;
  int threads;               /* BLAS threads; 0: environment / cores */
  double val_share;          /* used when the data has no validation rows */
  char *checkpoint_path;     /* saved after every good epoch; NULL: none */
  JsonObject *features;      /* feature settings, kept with the checkpoint so
                                evaluation featurises the same way; may be NULL */
} WeftTrainConfig;

void        weft_train_config_init (WeftTrainConfig *c);
void        weft_train_config_clear (WeftTrainConfig *c);
gboolean    weft_train_config_from_json (WeftTrainConfig *c, JsonObject *o, GError **error);
JsonObject *weft_train_config_to_json (const WeftTrainConfig *c);

typedef enum {
  WEFT_TRAIN_IDLE,
  WEFT_TRAIN_RUNNING,
  WEFT_TRAIN_PAUSED,
  WEFT_TRAIN_FINISHED,
  WEFT_TRAIN_STOPPED,        /* by the user; weights of the last epoch kept */
  WEFT_TRAIN_FAILED,         /* diverged or could not run; see message */
} WeftTrainState;

typedef struct {
  int epoch;                 /* 1-based */
  double train_loss;         /* mean over the epoch's steps */
  double val_loss;
  double val_accuracy;       /* NaN if the model has no classifier */
  double val_recall1, val_recall5; /* a→b, NaN if no contrastive loss */
  double samples_per_s;      /* training steps only, evaluation excluded */
  double seconds;
  double lr;                 /* at the end of the epoch */
} WeftEpochMetrics;

typedef struct {
  WeftTrainState state;
  int epoch, epochs;         /* current epoch, 1-based */
  gint64 step, steps_per_epoch, total_steps;
  double loss;               /* mean of the last 20 training steps */
  double samples_per_s;      /* current epoch so far */
  double lr;
  double elapsed, eta;       /* seconds */
  int epochs_done;
  WeftEpochMetrics last;     /* valid when epochs_done > 0 */
  char *message;             /* owned; failure or stop explanation */
  double snapshot_seconds;   /* worker time spent filling the live snapshots
                                (gradient norms, similarity), to keep their
                                cost in view; part of the training time */
} WeftProgress;

void weft_progress_clear (WeftProgress *p);

/* One epoch's metrics as a run record's "epochs" element (see the run
 * record in weft-project.h): {"epoch", "train_loss", ...}; NaN metrics
 * become null, since JSON has no NaN. */
JsonObject *weft_epoch_metrics_to_json (const WeftEpochMetrics *m);

#define WEFT_TYPE_TRAINER (weft_trainer_get_type ())
G_DECLARE_FINAL_TYPE (WeftTrainer, weft_trainer, WEFT, TRAINER, GObject)

/* The trainer borrows the graph (allocated for the batch size) and the
 * features; both must outlive it. */
WeftTrainer *weft_trainer_new (WeftGraph *graph, const WeftFeatures *features,
                               const WeftTrainConfig *config);

/* Called on the worker thread after each epoch's evaluation (and
 * checkpoint), with the graph holding that epoch's weights, e.g. to compute
 * the epoch's embeddings for the explorer's timeline. It must not touch
 * widgets; the time it takes is not counted as training time. Set before
 * weft_trainer_start; destroy(data) runs when the trainer is finalised. */
typedef void (*WeftEpochHook) (WeftTrainer *trainer, WeftGraph *graph,
                               const WeftFeatures *features, int epoch, gpointer data);
void weft_trainer_set_epoch_hook (WeftTrainer *self, WeftEpochHook hook, gpointer data,
                                  GDestroyNotify destroy);

/* Starts the worker. "progress" and "finished" are emitted on the thread-
 * default main context of the caller. */
gboolean weft_trainer_start  (WeftTrainer *self, GError **error);
void     weft_trainer_pause  (WeftTrainer *self);
void     weft_trainer_resume (WeftTrainer *self);
void     weft_trainer_stop   (WeftTrainer *self);
/* Blocks until the worker ends (the CLI and tests). */
void     weft_trainer_join   (WeftTrainer *self);

void     weft_trainer_get_progress (WeftTrainer *self, WeftProgress *out);
/* Per-epoch metrics so far (WeftEpochMetrics), a new array. */
GArray  *weft_trainer_dup_history (WeftTrainer *self);
/* Training loss of every step so far from index `from`, a new array. */
GArray  *weft_trainer_dup_step_losses (WeftTrainer *self, guint from);
/* Learning rate used by every step so far from index `from` (float), a new
 * array; index i matches index i of the step losses. */
GArray  *weft_trainer_dup_step_lrs (WeftTrainer *self, guint from);

/* ---- Live snapshots for the plots ----
 *
 * All are filled on the worker into preallocated buffers and read under the
 * trainer's lock, so a reader sees whole records. They are ready as soon as
 * weft_trainer_start has returned. */

/* A modality's encoder branch: the compiled nodes that depend on that input
 * modality and on no other (the label excepted), i.e. everything before
 * the first fusion. A weight shared by several nodes (siamese) belongs to
 * a branch only when all the nodes using it are in that branch. */
typedef struct {
  gint64 step;               /* global step, 1-based */
  /* L2 norm of the gradients of the branch's trainable weights, before
   * clipping; NaN when the model has no branch for that modality (also
   * WEFT_MODALITY_LABEL, always NaN). */
  float branch[WEFT_N_MODALITIES];
  float rest;                /* the other trainable weights (fusion, heads) */
  float total;               /* all trainable weights (what clipping sees) */
} WeftGradNorms;

/* Gradient norms are recorded every WEFT_GRAD_NORM_EVERY steps (and on the
 * first step); records from index `from` (WeftGradNorms), a new array. */
#define WEFT_GRAD_NORM_EVERY 5
GArray  *weft_trainer_dup_grad_norms (WeftTrainer *self, guint from);
/* Bit (1 << WeftModality) set for each modality that has a branch with
 * trainable weights, e.g. to decide which curves to draw. */
guint    weft_trainer_get_branch_mask (WeftTrainer *self);

/* In-batch similarity for contrastive models (an InfoNCE or, failing that,
 * a triplet loss): cosine similarities between the first n rows of the
 * last batch's two embeddings feeding the loss, a[i] · b[j], so the
 * positives are on the diagonal. Refreshed every WEFT_SIMILARITY_EVERY
 * steps. */
#define WEFT_SIMILARITY_MAX   16
#define WEFT_SIMILARITY_EVERY 10
typedef struct {
  gint64 step;               /* 0: nothing published yet */
  int n;                     /* rows and columns filled, <= WEFT_SIMILARITY_MAX */
  int modality_a, modality_b;/* WeftModality of each embedding's branch, -1 if mixed */
  char a[64], b[64];         /* spec ids of the two embedding nodes */
  float value[WEFT_SIMILARITY_MAX * WEFT_SIMILARITY_MAX]; /* (n, n) row-major,
                                                            stride WEFT_SIMILARITY_MAX */
} WeftSimilarity;

/* Whether the model has a contrastive loss (so a similarity is published). */
gboolean weft_trainer_has_similarity (WeftTrainer *self);
/* Copies the latest matrix into out; FALSE (out->step == 0) if none yet. */
gboolean weft_trainer_get_similarity (WeftTrainer *self, WeftSimilarity *out);

/* For every compiled node k, mask[k] gets bit (1 << WeftModality) for each
 * input modality it depends on (the label left out); node k is in the
 * branch of modality m when mask[k] == 1 << m. mask holds
 * weft_graph_get_n_nodes (g) entries. Exposed so the tests and the trainer
 * agree on what a branch is. */
void     weft_graph_modality_masks (WeftGraph *g, guint *mask);

G_END_DECLS
