/* weft-dense.c — the fully connected layer, y = x · Wᵀ + b, acting on the
 * last dimension (as torch.nn.Linear), with an optional fused activation. */
#include "weft-block.h"

#include <string.h>

#include "tensor/weft-blas.h"
#include "weft-activation.h"

enum { P_UNITS, P_BIAS, P_ACT };

static const WeftParamSpec dense_params[] = {
  { "units", WEFT_PARAM_INT, 64, 1, 65536, NULL,
    "Number of output features (neurons)." },
  { "bias", WEFT_PARAM_BOOL, 1, 0, 1, NULL,
    "Add a learned offset to each output." },
  { "activation", WEFT_PARAM_ENUM, WEFT_ACT_NONE, 0, 4, weft_act_choices,
    "Non-linearity applied right after the layer (fused, so it costs no extra pass)." },
};

static const char *const dense_ports[] = { "in", NULL };

/* rows = batch × every leading dim; the layer maps the last dim. */
static int
dense_rows_per_sample (const WeftNode *node)
{
  const WeftShape *s = &node->in_shape[0];
  int r = 1;
  for (int i = 0; i < s->n - 1; i++)
    r *= s->d[i];
  return r;
}

static gboolean
dense_infer (WeftNode *node, GError **error)
{
  const WeftShape *s = &node->in_shape[0];
  int in = s->d[s->n - 1];
  int units = (int) node->p[P_UNITS];

  node->out_shape = *s;
  node->out_shape.d[s->n - 1] = units;
  weft_node_add_weight (node, "weight", weft_shape_2 (units, in),
                        WEFT_INIT_XAVIER, 0, in, units);
  if (node->p[P_ACT] == WEFT_ACT_RELU)
    node->w_spec[0].init = WEFT_INIT_HE;
  if (node->p[P_BIAS])
    {
      int b = weft_node_add_weight (node, "bias", weft_shape_1 (units),
                                    WEFT_INIT_ZEROS, 0, in, units);
      weft_node_weight_no_decay (node, b);
    }
  if (weft_act_needs_pre ((WeftAct) node->p[P_ACT]))
    node->scratch_per_sample = weft_node_out_size (node);
  return TRUE;
}

static void
dense_forward (WeftNode *node, const WeftPass *pass)
{
  int N = pass->B * dense_rows_per_sample (node);
  int units = (int) node->p[P_UNITS];
  int in = node->w_spec[0].shape.d[1];
  WeftAct act = (WeftAct) node->p[P_ACT];
  const float *x = node->in[0];    /* (N, in) */
  const float *W = node->w[0];     /* (units, in) */
  float *y = node->out;            /* (N, units) */

  /* Start from the bias broadcast over rows, then y += x · Wᵀ
   * (B stored as (units, in), hence trans_b). */
  if (node->p[P_BIAS])
    {
      const float *b = node->w[1];
      for (int r = 0; r < N; r++)
        memcpy (y + (gsize) r * units, b, units * sizeof (float));
    }
  weft_sgemm (FALSE, TRUE, N, units, in, 1.f, x, in, W, in,
              node->p[P_BIAS] ? 1.f : 0.f, y, units);
  if (act != WEFT_ACT_NONE)
    {
      gsize n = (gsize) N * units;
      if (weft_act_needs_pre (act))
        memcpy (node->scratch, y, n * sizeof (float));
      weft_act_forward (act, y, y, n);
    }
}

static void
dense_backward (WeftNode *node, const WeftPass *pass)
{
  int N = pass->B * dense_rows_per_sample (node);
  int units = (int) node->p[P_UNITS];
  int in = node->w_spec[0].shape.d[1];
  WeftAct act = (WeftAct) node->p[P_ACT];
  const float *dy = node->dout;   /* (N, units) */

  if (act != WEFT_ACT_NONE)
    {
      /* dy ← dy ⊙ act'(pre), in place: dout belongs to this node and is
       * rewritten by the executor before the next backward. */
      weft_act_backward (act, node->dout, node->dout, node->out, node->scratch,
                         (gsize) N * units, FALSE);
    }
  /* dx (N, in) += dy (N, units) · W (units, in) */
  if (node->din[0])
    weft_sgemm (FALSE, FALSE, N, in, units, 1.f, dy, units, node->w[0], in,
                1.f, node->din[0], in);
  /* dW (units, in) += dyᵀ (units, N) · x (N, in) */
  if (node->dw[0])
    weft_sgemm (TRUE, FALSE, units, in, N, 1.f, dy, units, node->in[0], in,
                1.f, node->dw[0], in);
  if (node->p[P_BIAS] && node->dw[1])
    {
      float *db = node->dw[1];
      for (int r = 0; r < N; r++)
        for (int j = 0; j < units; j++)
          db[j] += dy[(gsize) r * units + j];
    }
}

static guint64
dense_flops (const WeftNode *node)
{
  return 2ull * dense_rows_per_sample (node) * node->w_spec[0].shape.d[0]
         * node->w_spec[0].shape.d[1];
}

const WeftBlock weft_block_dense = {
  .type = "dense", .group = "layers", .title = "Dense",
  .blurb = "Every output is a learned weighted sum of all inputs plus an offset (a fully connected layer).",
  .params = dense_params, .n_params = G_N_ELEMENTS (dense_params),
  .ports = dense_ports, .min_inputs = 1, .max_inputs = 1,
  .infer = dense_infer, .forward = dense_forward,
  .backward = dense_backward, .flops = dense_flops,
};
