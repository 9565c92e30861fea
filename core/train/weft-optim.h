/* weft-optim.h — the optimizers (SGD, Adam, AdamW) with gradient clipping
 * and learning-rate schedules, updating segments of the parameter arena in place.
 *
 * Every update matches PyTorch 1.13 (tests/parity/optim_gen.py records the
 * reference trajectories):
 *
 *  g ← grad · c, where c = clip coefficient below (1 when not clipping)
 *
 *  SGD    torch.optim.SGD (momentum, nesterov, weight_decay, dampening 0)
 *         d ← g + wd·p                     (decay segments only)
 *         buf ← μ·buf + d                  (buf starts at 0, so the first buf = d)
 *         d ← nesterov ? d + μ·buf : buf   (no buffer at all when μ = 0)
 *         p ← p − lr·d
 *  Adam   torch.optim.Adam, t = step count after this update (1, 2, …)
 *         g ← g + wd·p                     (decay segments only: L2 added to the grad)
 *         m ← β1·m + (1−β1)·g
 *         v ← β2·v + (1−β2)·g·g
 *         p ← p − (lr / (1−β1^t)) · m / (√v / √(1−β2^t) + ε)
 *  AdamW  torch.optim.AdamW: first p ← p·(1 − lr·wd) (decay segments only),
 *         then the Adam update without the L2 term.
 *
 * Clipping (torch.nn.utils.clip_grad_norm_): the norm N = √(Σ g²) over every
 * added segment; when clip_norm > 0, c = min(1, clip_norm / (N + 1e-6)).
 *
 * Schedules: lr_at(k) is the learning rate of update k = 0, 1, 2, … and with
 * W = warmup_steps:
 *   k < W      lr · (k + 1) / W                       (linear warm-up)
 *   otherwise, with s = k − W:
 *   constant   lr
 *   step       lr · gamma^⌊s / step_size⌋
 *   cosine     min_lr + (lr − min_lr) · ½·(1 + cos(π · min(s, S) / S)),
 *              S = total_steps − W: reaches min_lr at update total_steps
 *              (warm-up included) and stays there; while total_steps <= W
 *              (not set yet) it holds lr.
 * This is torch.optim.lr_scheduler.LambdaLR with lambda k: lr_at(k) / lr,
 * its step() called after each optimizer step.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum {
  WEFT_OPTIM_SGD,
  WEFT_OPTIM_ADAM,
  WEFT_OPTIM_ADAMW,
} WeftOptimKind;

typedef enum {
  WEFT_SCHEDULE_CONSTANT,
  WEFT_SCHEDULE_STEP,
  WEFT_SCHEDULE_COSINE,
} WeftScheduleKind;

typedef struct {
  WeftOptimKind kind;
  float lr;
  float momentum;            /* SGD */
  gboolean nesterov;         /* SGD; needs momentum > 0 */
  float beta1, beta2, eps;   /* Adam / AdamW */
  float weight_decay;        /* SGD, Adam: L2 added to the grad (torch); AdamW: decoupled */
  float clip_norm;           /* 0 = off; global L2 norm over all updated segments */
  WeftScheduleKind schedule;
  int warmup_steps;
  int step_size;             /* step: lr *= gamma every step_size updates */
  float gamma;
  int total_steps;           /* cosine: the update at which lr reaches min_lr; set by the trainer */
  float min_lr;
} WeftOptimConfig;

/* SGD: lr 0.05, momentum 0.9; Adam: lr 1e-3, betas 0.9 / 0.999, eps 1e-8;
 * AdamW: as Adam with weight_decay 0.01. No clipping, constant schedule
 * (step_size 1000 and gamma 0.1 for when "step" is chosen). */
void        weft_optim_config_init_default (WeftOptimConfig *c, WeftOptimKind kind);

/* Reads the keys optimizer ("sgd" | "adam" | "adamw"), lr, momentum,
 * nesterov, beta1, beta2, eps, weight_decay, clip_norm, schedule
 * ("constant" | "step" | "cosine"), warmup_steps, step_size, gamma,
 * total_steps, min_lr. Missing keys keep the values in c; other keys are
 * ignored (the object may hold the rest of the training settings). An
 * "optimizer" naming another kind first resets lr, momentum, nesterov, the
 * betas, eps and weight_decay to that kind's defaults. On a bad value, sets a
 * WEFT_ERROR_ARGS error, leaves c unchanged and returns FALSE. */
gboolean    weft_optim_config_from_json (WeftOptimConfig *c, JsonObject *o, GError **error);
/* Every key above; the caller owns the returned object. */
JsonObject *weft_optim_config_to_json (const WeftOptimConfig *c);

/* The learning rate of update step (counted from 0); formula at the top. */
float       weft_optim_lr_at (const WeftOptimConfig *c, int step);

typedef struct _WeftOptim WeftOptim;

/* params and grads are the whole arena, n floats each, borrowed: they must
 * outlive the optimizer. The state (exp_avg, exp_avg_sq or momentum_buffer,
 * n floats each, zeroed) is allocated here once. */
WeftOptim  *weft_optim_new (const WeftOptimConfig *c, float *params, float *grads, gsize n);
/* Only added segments are read, clipped and updated: frozen weights are
 * simply not added. decay: whether weight_decay applies (FALSE for biases
 * and norm gains). Segments must not overlap. */
void        weft_optim_add_segment (WeftOptim *o, gsize offset, gsize len, gboolean decay);
/* One update from the grads (which are read, not modified: clipping is
 * folded into the update). Returns the global L2 norm of the grads before
 * clipping (NaN or inf when a grad is) and increments the step. Allocates
 * nothing. */
float       weft_optim_step (WeftOptim *o);
int         weft_optim_get_step (const WeftOptim *o);
/* The lr of the last update, or of the next one before any update. */
float       weft_optim_get_lr (const WeftOptim *o);
/* For checkpoints: the arena-wide state buffer "exp_avg", "exp_avg_sq"
 * (Adam, AdamW) or "momentum_buffer" (SGD with momentum), n floats indexed
 * like params, owned by the optimizer; NULL if this optimizer has none of
 * that name. Restore by writing into it and calling weft_optim_set_step. */
float      *weft_optim_get_state (WeftOptim *o, const char *name);
void        weft_optim_set_step (WeftOptim *o, int step);
void        weft_optim_free (WeftOptim *o);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WeftOptim, weft_optim_free)

G_END_DECLS
