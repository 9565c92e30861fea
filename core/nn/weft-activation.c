/* weft-activation.c — ReLU, GELU, Tanh and Sigmoid as blocks, and the
 * element-wise kernels that Dense and the convolutions fuse after GEMM. */
#include "weft-activation.h"

#include <string.h>

#include "weft-block.h"

const char *const weft_act_choices[] = { "none", "relu", "gelu", "tanh", "sigmoid", NULL };

void
weft_act_forward (WeftAct act, float *y, const float *x, gsize n)
{
  switch (act)
    {
    case WEFT_ACT_NONE:
      if (y != x)
        memcpy (y, x, n * sizeof (float));
      break;
    case WEFT_ACT_RELU:
      for (gsize i = 0; i < n; i++)
        y[i] = x[i] > 0.f ? x[i] : 0.f;
      break;
    case WEFT_ACT_GELU:
      for (gsize i = 0; i < n; i++)
        y[i] = weft_gelu (x[i]);
      break;
    case WEFT_ACT_TANH:
      for (gsize i = 0; i < n; i++)
        y[i] = tanhf (x[i]);
      break;
    case WEFT_ACT_SIGMOID:
      for (gsize i = 0; i < n; i++)
        y[i] = weft_sigmoid (x[i]);
      break;
    }
}

void
weft_act_backward (WeftAct act, float *dx, const float *dy,
                   const float *y, const float *pre, gsize n,
                   gboolean accumulate)
{
  float g;
  for (gsize i = 0; i < n; i++)
    {
      switch (act)
        {
        case WEFT_ACT_NONE:    g = dy[i]; break;
        case WEFT_ACT_RELU:    g = y[i] > 0.f ? dy[i] : 0.f; break;
        case WEFT_ACT_GELU:    g = dy[i] * weft_gelu_grad (pre[i]); break;
        case WEFT_ACT_TANH:    g = dy[i] * (1.f - y[i] * y[i]); break;
        case WEFT_ACT_SIGMOID: g = dy[i] * y[i] * (1.f - y[i]); break;
        default: g_assert_not_reached ();
        }
      dx[i] = accumulate ? dx[i] + g : g;
    }
}

/* ---- the activation blocks: one per function, shape-preserving ---- */

static gboolean
act_infer (WeftNode *node, GError **error)
{
  node->out_shape = node->in_shape[0];
  return TRUE;
}

static WeftAct
act_of (const WeftNode *node)
{
  const char *t = node->block->type;
  if (g_str_equal (t, "relu")) return WEFT_ACT_RELU;
  if (g_str_equal (t, "gelu")) return WEFT_ACT_GELU;
  if (g_str_equal (t, "tanh")) return WEFT_ACT_TANH;
  return WEFT_ACT_SIGMOID;
}

static void
act_forward (WeftNode *node, const WeftPass *pass)
{
  gsize n = pass->B * weft_node_out_size (node);
  weft_act_forward (act_of (node), node->out, node->in[0], n);
}

static void
act_backward (WeftNode *node, const WeftPass *pass)
{
  if (node->din[0] == NULL)
    return;
  gsize n = pass->B * weft_node_out_size (node);
  weft_act_backward (act_of (node), node->din[0], node->dout, node->out,
                     node->in[0], n, TRUE);
}

static guint64
act_flops (const WeftNode *node)
{
  return weft_node_out_size (node);
}

static const char *const act_ports[] = { "in", NULL };

#define ACT_BLOCK(ident, type_, title_, blurb_)                    \
  const WeftBlock ident = {                                        \
    .type = type_, .group = "layers", .title = title_,             \
    .blurb = blurb_, .ports = act_ports,                           \
    .min_inputs = 1, .max_inputs = 1,                              \
    .infer = act_infer, .forward = act_forward,                    \
    .backward = act_backward, .flops = act_flops,                  \
  };

ACT_BLOCK (weft_block_relu, "relu", "ReLU",
           "Keeps positive values and sets negative ones to zero; the usual non-linearity between layers.")
ACT_BLOCK (weft_block_gelu, "gelu", "GELU",
           "A smooth version of ReLU used in transformers: x times the chance that a standard normal is below x.")
ACT_BLOCK (weft_block_tanh, "tanh", "Tanh",
           "Squashes each value into the range -1 to 1.")
ACT_BLOCK (weft_block_sigmoid, "sigmoid", "Sigmoid",
           "Squashes each value into the range 0 to 1, like a probability or a gate.")
