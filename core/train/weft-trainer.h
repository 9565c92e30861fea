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
} WeftProgress;

void weft_progress_clear (WeftProgress *p);

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

G_END_DECLS
