/* weft-dropout.c — inverted dropout (as F.dropout): during training each
 * value is zeroed with probability p and the survivors scaled by 1/(1−p). */
#include "weft-block.h"

#include <string.h>

#include "tensor/weft-blas.h"

enum { P_P };

static const WeftParamSpec dropout_params[] = {
  { "p", WEFT_PARAM_FLOAT, 0.5, 0, 0.95, NULL,
    "Share of values randomly silenced during training, against over-fitting; "
    "nothing is silenced when the model is used." },
};

static const char *const dropout_ports[] = { "in", NULL };

/* scratch: one flag saying whether the last forward dropped anything (so
 * that backward matches what forward did), then the mask (B, size), each
 * entry 0 or 1/(1−p). */
static gboolean
dropout_infer (WeftNode *node, GError **error)
{
  node->out_shape = node->in_shape[0];
  node->scratch_per_sample = weft_node_in_size (node, 0);
  node->scratch_fixed = 1;
  return TRUE;
}

static void
dropout_forward (WeftNode *node, const WeftPass *pass)
{
  gsize n = pass->B * weft_node_out_size (node);
  float p = (float) node->p[P_P];
  gboolean active = pass->training && p > 0.f;

  node->scratch[0] = active;
  if (!active)
    {
      memcpy (node->out, node->in[0], n * sizeof (float));
      return;
    }
  float *mask = node->scratch + 1;  /* (B, size) */
  float scale = 1.f / (1.f - p);
  for (gsize i = 0; i < n; i++)
    {
      mask[i] = weft_rng_uniform (&node->rng) < p ? 0.f : scale;
      node->out[i] = node->in[0][i] * mask[i];
    }
}

static void
dropout_backward (WeftNode *node, const WeftPass *pass)
{
  if (node->din[0] == NULL)
    return;
  gsize n = pass->B * weft_node_out_size (node);
  float *dx = node->din[0];

  if (node->scratch[0] == 0.f)
    {
      weft_saxpy ((int) n, 1.f, node->dout, dx);
      return;
    }
  const float *mask = node->scratch + 1;
  for (gsize i = 0; i < n; i++)
    dx[i] += node->dout[i] * mask[i];
}

static guint64
dropout_flops (const WeftNode *node)
{
  return weft_node_out_size (node);
}

const WeftBlock weft_block_dropout = {
  .type = "dropout", .group = "layers", .title = "Dropout",
  .blurb = "During training, randomly silences a share of the values so that the model cannot rely on any single one; does nothing once trained.",
  .params = dropout_params, .n_params = G_N_ELEMENTS (dropout_params),
  .ports = dropout_ports, .min_inputs = 1, .max_inputs = 1,
  .infer = dropout_infer, .forward = dropout_forward,
  .backward = dropout_backward, .flops = dropout_flops,
};
