/* weft-gru.c — a single-layer, unidirectional GRU over a (T, D) sequence
 * with torch.nn.GRU's weights, gate order (r, z, n) and h0 = 0. */
#include "weft-block.h"

#include <math.h>
#include <string.h>

#include "tensor/weft-blas.h"
#include "weft-activation.h"

enum { P_HIDDEN, P_RETURN_SEQUENCE };

static const WeftParamSpec gru_params[] = {
  { "hidden", WEFT_PARAM_INT, 64, 1, 65536, NULL,
    "Size of the memory carried from one step of the sequence to the next." },
  { "return_sequence", WEFT_PARAM_BOOL, 0, 0, 1, NULL,
    "Output the memory at every step instead of only after the last one." },
};

static const char *const gru_ports[] = { "in", NULL };

enum { W_IH, W_HH, B_IH, B_HH };

/* Scratch per sample, kept from forward to backward:
 *   G  (T, 3H)  the gates r, z, n after their non-linearity;
 *   Gh (T, 3H)  W_hh · h_{t-1} + b_hh (backward needs its n part);
 *   Hp (T, H)   h_{t-1} for every step (row 0 is h0 = 0);
 *   dH (H)      backward's running gradient w.r.t. the hidden state.
 * Each block is laid out (B, T, ·), so one step across the batch is a
 * strided matrix that sgemm takes directly (row stride T·width). Backward
 * overwrites G and Gh with the gate gradients: one backward per forward. */
typedef struct {
  float *G, *Gh, *Hp, *dH;
} GruScratch;

static GruScratch
gru_scratch (const WeftNode *node, int B, int T, int H)
{
  GruScratch s;
  gsize th = (gsize) B * T * H;
  s.G = node->scratch;
  s.Gh = s.G + 3 * th;
  s.Hp = s.Gh + 3 * th;
  s.dH = s.Hp + th;
  return s;
}

static gboolean
gru_infer (WeftNode *node, GError **error)
{
  const WeftShape *s = &node->in_shape[0];
  int H = (int) node->p[P_HIDDEN];

  if (s->n != 2)
    return weft_node_error (node, error,
                            "input 1 must be a sequence (steps, features), "
                            "got %d dimensions", s->n);
  int T = s->d[0], D = s->d[1];
  float k = 1.f / sqrtf ((float) H);

  node->out_shape = node->p[P_RETURN_SEQUENCE] ? weft_shape_2 (T, H)
                                                : weft_shape_1 (H);
  /* U(±1/sqrt(H)) on everything, as torch.nn.GRU.reset_parameters. */
  weft_node_add_weight (node, "weight_ih", weft_shape_2 (3 * H, D),
                        WEFT_INIT_UNIFORM, k, D, 3 * H);
  weft_node_add_weight (node, "weight_hh", weft_shape_2 (3 * H, H),
                        WEFT_INIT_UNIFORM, k, H, 3 * H);
  weft_node_weight_no_decay (node,
                             weft_node_add_weight (node, "bias_ih", weft_shape_1 (3 * H),
                                                   WEFT_INIT_UNIFORM, k, D, 3 * H));
  weft_node_weight_no_decay (node,
                             weft_node_add_weight (node, "bias_hh", weft_shape_1 (3 * H),
                                                   WEFT_INIT_UNIFORM, k, H, 3 * H));
  node->scratch_per_sample = 7 * (gsize) T * H + H;
  return TRUE;
}

static void
gru_forward (WeftNode *node, const WeftPass *pass)
{
  int B = pass->B;
  int T = node->in_shape[0].d[0], D = node->in_shape[0].d[1];
  int H = (int) node->p[P_HIDDEN];
  gboolean seq = node->p[P_RETURN_SEQUENCE] != 0;
  int N = B * T, G3 = 3 * H;
  const float *x = node->in[0];        /* (B, T, D) */
  const float *Wih = node->w[W_IH];    /* (3H, D) */
  const float *Whh = node->w[W_HH];    /* (3H, H) */
  const float *bih = node->w[B_IH];    /* (3H) */
  const float *bhh = node->w[B_HH];    /* (3H) */
  float *y = node->out;                /* (B, T, H) or (B, H) */
  GruScratch s = gru_scratch (node, B, T, H);

  /* Input projection of every step of every sample at once:
   * G (N, 3H) = b_ih + x (N, D) · W_ihᵀ (W_ih stored (3H, D): trans_b). */
  for (int r = 0; r < N; r++)
    memcpy (s.G + (gsize) r * G3, bih, G3 * sizeof (float));
  weft_sgemm (FALSE, TRUE, N, G3, D, 1.f, x, D, Wih, D, 1.f, s.G, G3);

  for (int b = 0; b < B; b++)
    memset (s.Hp + (gsize) b * T * H, 0, H * sizeof (float));

  for (int t = 0; t < T; t++)
    {
      /* Gh[:, t] (B, 3H) = b_hh + h_{t-1} (B, H) · W_hhᵀ; rows of both are
       * one sample apart, hence the T·width strides. h0 = 0 needs no product. */
      float *gh_t = s.Gh + (gsize) t * G3;
      for (int b = 0; b < B; b++)
        memcpy (gh_t + (gsize) b * T * G3, bhh, G3 * sizeof (float));
      if (t > 0)
        weft_sgemm (FALSE, TRUE, B, G3, H, 1.f, s.Hp + (gsize) t * H, T * H,
                    Whh, H, 1.f, gh_t, T * G3);

      for (int b = 0; b < B; b++)
        {
          gsize bt = (gsize) b * T + t;
          float *g = s.G + bt * G3;            /* (3H): r, z, n */
          const float *gh = s.Gh + bt * G3;    /* (3H) */
          const float *hp = s.Hp + bt * H;     /* (H)  h_{t-1} */
          float *hnext = t + 1 < T ? s.Hp + (bt + 1) * H : NULL;
          float *out = seq ? y + bt * H : (t == T - 1 ? y + (gsize) b * H : NULL);

          for (int j = 0; j < H; j++)
            {
              float r = weft_sigmoid (g[j] + gh[j]);
              float z = weft_sigmoid (g[H + j] + gh[H + j]);
              float n = tanhf (g[2 * H + j] + r * gh[2 * H + j]);
              float h = (1.f - z) * n + z * hp[j];
              g[j] = r;
              g[H + j] = z;
              g[2 * H + j] = n;
              if (hnext)
                hnext[j] = h;
              if (out)
                out[j] = h;
            }
        }
    }
}

static void
gru_backward (WeftNode *node, const WeftPass *pass)
{
  if (!node->din[0] && !node->dw[W_IH] && !node->dw[W_HH]
      && !node->dw[B_IH] && !node->dw[B_HH])
    return;

  int B = pass->B;
  int T = node->in_shape[0].d[0], D = node->in_shape[0].d[1];
  int H = (int) node->p[P_HIDDEN];
  gboolean seq = node->p[P_RETURN_SEQUENCE] != 0;
  int N = B * T, G3 = 3 * H;
  const float *dy = node->dout;        /* (B, T, H) or (B, H) */
  GruScratch s = gru_scratch (node, B, T, H);

  /* dH (B, H): gradient reaching h_t from above and from step t+1. */
  if (seq)
    memset (s.dH, 0, (gsize) B * H * sizeof (float));
  else
    memcpy (s.dH, dy, (gsize) B * H * sizeof (float));

  for (int t = T - 1; t >= 0; t--)
    {
      for (int b = 0; b < B; b++)
        {
          gsize bt = (gsize) b * T + t;
          float *g = s.G + bt * G3;      /* r, z, n  ->  d r_pre, d z_pre, d n_pre */
          float *gh = s.Gh + bt * G3;    /* W_h·h+b  ->  d r_pre, d z_pre, d (W_hn h + b_hn) */
          const float *hp = s.Hp + bt * H;
          float *dh = s.dH + (gsize) b * H;
          const float *dyt = seq ? dy + bt * H : NULL;

          for (int j = 0; j < H; j++)
            {
              float r = g[j], z = g[H + j], n = g[2 * H + j];
              float hn = gh[2 * H + j];
              float d = dh[j] + (dyt ? dyt[j] : 0.f);
              /* h = (1 - z) n + z h_{t-1} */
              float dn_pre = d * (1.f - z) * (1.f - n * n);
              float dz_pre = d * (hp[j] - n) * z * (1.f - z);
              /* n = tanh (i_n + r · hn) */
              float dr_pre = dn_pre * hn * r * (1.f - r);
              g[j] = dr_pre;
              g[H + j] = dz_pre;
              g[2 * H + j] = dn_pre;
              gh[j] = dr_pre;
              gh[H + j] = dz_pre;
              gh[2 * H + j] = dn_pre * r;
              dh[j] = d * z;
            }
        }
      /* dH (B, H) += dGh[:, t] (B, 3H) · W_hh (3H, H): the recurrent path
       * to h_{t-1}. Step 0's h0 is a constant, so it stops there. */
      if (t > 0)
        weft_sgemm (FALSE, FALSE, B, H, G3, 1.f, s.Gh + (gsize) t * G3, T * G3,
                    node->w[W_HH], H, 1.f, s.dH, H);
    }

  /* Now G = dG_i and Gh = dG_h, both (N, 3H), for every step at once. */
  if (node->din[0])   /* dx (N, D) += dG_i (N, 3H) · W_ih (3H, D) */
    weft_sgemm (FALSE, FALSE, N, D, G3, 1.f, s.G, G3, node->w[W_IH], D,
                1.f, node->din[0], D);
  if (node->dw[W_IH]) /* dW_ih (3H, D) += dG_iᵀ (3H, N) · x (N, D) */
    weft_sgemm (TRUE, FALSE, G3, D, N, 1.f, s.G, G3, node->in[0], D,
                1.f, node->dw[W_IH], D);
  if (node->dw[W_HH]) /* dW_hh (3H, H) += dG_hᵀ (3H, N) · h_prev (N, H) */
    weft_sgemm (TRUE, FALSE, G3, H, N, 1.f, s.Gh, G3, s.Hp, H,
                1.f, node->dw[W_HH], H);
  if (node->dw[B_IH])
    for (int r = 0; r < N; r++)
      for (int j = 0; j < G3; j++)
        node->dw[B_IH][j] += s.G[(gsize) r * G3 + j];
  if (node->dw[B_HH])
    for (int r = 0; r < N; r++)
      for (int j = 0; j < G3; j++)
        node->dw[B_HH][j] += s.Gh[(gsize) r * G3 + j];
}

static guint64
gru_flops (const WeftNode *node)
{
  guint64 T = node->in_shape[0].d[0], D = node->in_shape[0].d[1];
  guint64 H = (guint64) node->p[P_HIDDEN];
  /* two projections plus ~12 element-wise operations per unit and step */
  return T * (2 * 3 * H * D + 2 * 3 * H * H + 12 * H);
}

const WeftBlock weft_block_gru = {
  .type = "gru", .group = "encoders", .title = "GRU",
  .blurb = "Reads a sequence step by step, updating a memory that keeps what matters; outputs the final memory or every step.",
  .params = gru_params, .n_params = G_N_ELEMENTS (gru_params),
  .ports = gru_ports, .min_inputs = 1, .max_inputs = 1,
  .infer = gru_infer, .forward = gru_forward,
  .backward = gru_backward, .flops = gru_flops,
};
