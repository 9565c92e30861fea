/* weft-compare.h — compares fusion strategies: trains a list of model
 * templates one after another on the same features with the same settings,
 * then tests each one whole and with each input modality removed. */
#pragma once

#include <glib-object.h>

#include "data/weft-features.h"
#include "train/weft-trainer.h"
#include "weft-project.h"

G_BEGIN_DECLS

/* One template's outcome. */
typedef struct {
  char *name;                /* the spec's "name", else the file's basename */
  char *path;                /* the template file */
  WeftTrainState state;      /* FINISHED, STOPPED (cancelled) or FAILED */
  char *message;             /* why it stopped or failed; NULL when finished */
  guint used;                /* bits (1 << WeftModality): inputs it reads, label excluded */
  gsize parameters;          /* trainable */
  int epochs_done;
  double seconds;            /* wall time of its training (validation after each
                                epoch included, the final tests not) */
  double samples_per_s;      /* training steps only, mean over its epochs */
  WeftSplit eval_split;      /* rows tested: TEST, else VALIDATION, else TRAIN */
  int eval_rows;
  double accuracy;           /* on eval_split; NaN without a classifier */
  double recall1;            /* first contrastive loss, a→b; NaN without one */
  /* Accuracy with that modality removed at test time (see WeftPerturb).
   * For a modality the template does not read it equals accuracy; always
   * NaN for WEFT_MODALITY_LABEL and when there is no classifier. */
  double missing[WEFT_N_MODALITIES];
  char *run_id;              /* when saved to a project; else NULL */
  JsonObject *run;           /* the run record (see the brief / weft-project.h);
                                also built without a project; may be NULL */
} WeftCompareResult;

/* Deep copy into dst (clear it afterwards). */
void weft_compare_result_copy  (WeftCompareResult *dst, const WeftCompareResult *src);
void weft_compare_result_clear (WeftCompareResult *r);

typedef struct {
  gboolean running;
  int index, n;              /* template being trained (0-based) of n */
  char *name;                /* its name; owned, may be NULL */
  int epoch, epochs;         /* of the current template, 1-based */
  gint64 step, steps_per_epoch, total_steps; /* of the current template */
  double loss;               /* current template, recent steps */
  double samples_per_s;
  double fraction;           /* of the whole comparison, 0..1 */
  double elapsed;            /* seconds since start */
  char *message;             /* owned; e.g. "Testing late-fusion without audio" */
} WeftCompareProgress;

void weft_compare_progress_clear (WeftCompareProgress *p);

#define WEFT_TYPE_COMPARE (weft_compare_get_type ())
G_DECLARE_FINAL_TYPE (WeftCompare, weft_compare, WEFT, COMPARE, GObject)

/* Takes a reference on features. config is copied; its checkpoint_path is
 * ignored (each template gets its own, in its run folder when there is a
 * project, otherwise none). The same seed, batch, epochs and optimizer are
 * used for every template. */
WeftCompare *weft_compare_new (WeftFeatures *features, const char *const *template_paths,
                               const WeftTrainConfig *config);

/* When set (before start), each template's run is added to the project as
 * it ends, with its checkpoint saved in the run folder. Runs are added on
 * the main context of the caller of start, never from the worker. */
void     weft_compare_set_project (WeftCompare *self, WeftProject *project);

/* Starts the worker. Signals are emitted on the thread-default main context
 * of the caller:
 *   "progress"     new progress (at most one queued at a time);
 *   "result-added" (guint index) a template has ended (any state);
 *   "finished"     once, after the last template or a cancel. */
gboolean weft_compare_start  (WeftCompare *self, GError **error);
/* Stops the template in training (its run is kept as "stopped") and skips
 * the ones left. */
void     weft_compare_cancel (WeftCompare *self);
/* Blocks until the worker ends (the CLI and tests). */
void     weft_compare_join   (WeftCompare *self);
gboolean weft_compare_is_running (WeftCompare *self);

void     weft_compare_get_progress (WeftCompare *self, WeftCompareProgress *out);
guint    weft_compare_get_n_templates (WeftCompare *self);
/* Results of the templates that have ended so far, in template order. */
guint    weft_compare_get_n_results (WeftCompare *self);
/* Copies result i into out (clear it afterwards); FALSE if i is too large. */
gboolean weft_compare_get_result (WeftCompare *self, guint i, WeftCompareResult *out);

/* The trainer of the template being trained (a new reference) or NULL, so
 * a page can read its live snapshots (step losses, gradient norms). Its
 * own signals are emitted on the compare worker, not the main context:
 * poll it from the compare's "progress" handler. */
WeftTrainer *weft_compare_dup_trainer (WeftCompare *self);

/* The results as a plain text table (one row per template: accuracy,
 * parameters, seconds, accuracy without each modality); caller frees. */
char    *weft_compare_format_table (WeftCompare *self);

G_END_DECLS
