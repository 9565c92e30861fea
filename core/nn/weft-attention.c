/* weft-attention.c — multi-head scaled dot-product attention: a residual
 * self-attention block (torch.nn.MultiheadAttention) and cross-attention fusion. */
#include "weft-block.h"

#include <math.h>
#include <string.h>

#include "tensor/weft-blas.h"

/* ---- one head of one sample, shared by both blocks ---- */

/* P (Tq, Tk) = softmax (scale · Q Kᵀ) row by row, O (Tq, hd) = P V.
 * Q, K, V and O are column slices of wider matrices, hence their row
 * strides. With causal, query i only sees keys j <= i. */
static void
attend_forward (float *O, int ldo, float *P,
                const float *Q, int ldq, const float *K, int ldk,
                const float *V, int ldv,
                int Tq, int Tk, int hd, float scale, gboolean causal)
{
  /* S (Tq, Tk) = scale · Q (Tq, hd) · Kᵀ (K stored (Tk, hd): trans_b) */
  weft_sgemm (FALSE, TRUE, Tq, Tk, hd, scale, Q, ldq, K, ldk, 0.f, P, Tk);
  for (int i = 0; i < Tq; i++)
    {
      float *p = P + (gsize) i * Tk;
      int n = causal ? MIN (i + 1, Tk) : Tk;
      /* Subtract the row maximum so that expf never overflows. */
      float m = p[0];
      for (int j = 1; j < n; j++)
        m = MAX (m, p[j]);
      float sum = 0.f;
      for (int j = 0; j < n; j++)
        {
          p[j] = expf (p[j] - m);
          sum += p[j];
        }
      float inv = 1.f / sum;
      for (int j = 0; j < n; j++)
        p[j] *= inv;
      for (int j = n; j < Tk; j++)
        p[j] = 0.f;
    }
  /* O (Tq, hd) = P (Tq, Tk) · V (Tk, hd) */
  weft_sgemm (FALSE, FALSE, Tq, hd, Tk, 1.f, P, Tk, V, ldv, 0.f, O, ldo);
}

/* Given dO, writes (overwrites) dQ, dK, dV. dP (Tq, Tk) is workspace. */
static void
attend_backward (float *dQ, int lddq, float *dK, int lddk, float *dV, int lddv,
                 float *dP, const float *P, const float *dO, int lddo,
                 const float *Q, int ldq, const float *K, int ldk,
                 const float *V, int ldv,
                 int Tq, int Tk, int hd, float scale)
{
  /* dV (Tk, hd) = Pᵀ (Tk, Tq) · dO (Tq, hd); P stored (Tq, Tk): trans_a */
  weft_sgemm (TRUE, FALSE, Tk, hd, Tq, 1.f, P, Tk, dO, lddo, 0.f, dV, lddv);
  /* dP (Tq, Tk) = dO (Tq, hd) · Vᵀ; V stored (Tk, hd): trans_b */
  weft_sgemm (FALSE, TRUE, Tq, Tk, hd, 1.f, dO, lddo, V, ldv, 0.f, dP, Tk);
  /* Softmax backward in place: dS = P ⊙ (dP − Σ_j P dP). Masked keys have
   * P = 0 and get no gradient. */
  for (int i = 0; i < Tq; i++)
    {
      const float *p = P + (gsize) i * Tk;
      float *d = dP + (gsize) i * Tk;
      float dot = 0.f;
      for (int j = 0; j < Tk; j++)
        dot += p[j] * d[j];
      for (int j = 0; j < Tk; j++)
        d[j] = p[j] * (d[j] - dot);
    }
  /* dQ (Tq, hd) = scale · dS (Tq, Tk) · K (Tk, hd) */
  weft_sgemm (FALSE, FALSE, Tq, hd, Tk, scale, dP, Tk, K, ldk, 0.f, dQ, lddq);
  /* dK (Tk, hd) = scale · dSᵀ (Tk, Tq) · Q (Tq, hd); dS stored (Tq, Tk): trans_a */
  weft_sgemm (TRUE, FALSE, Tk, hd, Tq, scale, dP, Tk, Q, ldq, 0.f, dK, lddk);
}

/* y (N, out) (+)= b + x (N, in) · Wᵀ, W stored (out, in) as torch.nn.Linear
 * (hence trans_b). With accumulate, y keeps what it holds (a residual). */
static void
linear_forward (float *y, const float *x, const float *W, const float *b,
                int N, int in, int out, gboolean accumulate)
{
  if (!accumulate)
    for (int r = 0; r < N; r++)
      memcpy (y + (gsize) r * out, b, out * sizeof (float));
  else
    for (int r = 0; r < N; r++)
      for (int j = 0; j < out; j++)
        y[(gsize) r * out + j] += b[j];
  weft_sgemm (FALSE, TRUE, N, out, in, 1.f, x, in, W, in, 1.f, y, out);
}

/* The matching backward; each of dx, dW, db may be NULL. */
static void
linear_backward (float *dx, float *dW, float *db, const float *dy,
                 const float *x, const float *W, int N, int in, int out)
{
  if (dx)   /* dx (N, in) += dy (N, out) · W (out, in) */
    weft_sgemm (FALSE, FALSE, N, in, out, 1.f, dy, out, W, in, 1.f, dx, in);
  if (dW)   /* dW (out, in) += dyᵀ (out, N) · x (N, in) */
    weft_sgemm (TRUE, FALSE, out, in, N, 1.f, dy, out, x, in, 1.f, dW, in);
  if (db)
    for (int r = 0; r < N; r++)
      for (int j = 0; j < out; j++)
        db[j] += dy[(gsize) r * out + j];
}

/* ---- Self-attention: y = x + MHA (x, x, x) ---- */

enum { SA_HEADS, SA_CAUSAL };

static const WeftParamSpec self_attention_params[] = {
  { "heads", WEFT_PARAM_INT, 4, 1, 256, NULL,
    "Number of attention heads; each looks at the sequence in its own way. Must divide the number of features." },
  { "causal", WEFT_PARAM_BOOL, 0, 0, 1, NULL,
    "Each step only looks at itself and earlier steps." },
};

static const char *const self_attention_ports[] = { "in", NULL };

enum { SA_IN_W, SA_IN_B, SA_OUT_W, SA_OUT_B };

/* Scratch per sample (forward keeps the first three for backward):
 *   QKV (T, 3D)   the projected queries, keys and values;
 *   P   (h, T, T) the attention weights of every head;
 *   A   (T, D)    the heads' outputs, concatenated;
 *   dA  (T, D), dQKV (T, 3D)  backward only.
 * Fixed: dP (T, T), workspace of one head's softmax backward. */
typedef struct {
  float *qkv, *P, *A, *dA, *dqkv, *dP;
} SaScratch;

static SaScratch
sa_scratch (const WeftNode *node, int B, int T, int D, int h)
{
  SaScratch s;
  gsize td = (gsize) B * T * D;
  s.qkv = node->scratch;
  s.P = s.qkv + 3 * td;
  s.A = s.P + (gsize) B * h * T * T;
  s.dA = s.A + td;
  s.dqkv = s.dA + td;
  s.dP = s.dqkv + 3 * td;
  return s;
}

static gboolean
self_attention_infer (WeftNode *node, GError **error)
{
  const WeftShape *s = &node->in_shape[0];
  int h = (int) node->p[SA_HEADS];

  if (s->n != 2)
    return weft_node_error (node, error,
                            "input 1 must be a sequence (steps, features), "
                            "got %d dimensions", s->n);
  int T = s->d[0], D = s->d[1];
  if (D % h != 0)
    return weft_node_error (node, error,
                            "input 1 has %d features, which cannot be split "
                            "evenly into %d heads", D, h);
  node->out_shape = *s;
  /* As nn.MultiheadAttention._reset_parameters: Xavier on the packed
   * (3D, D) projection, zero biases. */
  weft_node_add_weight (node, "in_proj_weight", weft_shape_2 (3 * D, D),
                        WEFT_INIT_XAVIER, 0, D, 3 * D);
  weft_node_weight_no_decay (node,
                             weft_node_add_weight (node, "in_proj_bias", weft_shape_1 (3 * D),
                                                   WEFT_INIT_ZEROS, 0, D, 3 * D));
  weft_node_add_weight (node, "out_proj.weight", weft_shape_2 (D, D),
                        WEFT_INIT_XAVIER, 0, D, D);
  weft_node_weight_no_decay (node,
                             weft_node_add_weight (node, "out_proj.bias", weft_shape_1 (D),
                                                   WEFT_INIT_ZEROS, 0, D, D));
  node->scratch_per_sample = 9 * (gsize) T * D + (gsize) h * T * T;
  node->scratch_fixed = (gsize) T * T;
  return TRUE;
}

static void
self_attention_forward (WeftNode *node, const WeftPass *pass)
{
  int B = pass->B;
  int T = node->in_shape[0].d[0], D = node->in_shape[0].d[1];
  int h = (int) node->p[SA_HEADS], hd = D / h, N = B * T;
  float scale = 1.f / sqrtf ((float) hd);
  const float *x = node->in[0];   /* (N, D) */
  float *y = node->out;           /* (N, D) */
  SaScratch s = sa_scratch (node, B, T, D, h);

  /* QKV (N, 3D) = x · in_projᵀ + b: queries, keys, values side by side. */
  linear_forward (s.qkv, x, node->w[SA_IN_W], node->w[SA_IN_B], N, D, 3 * D, FALSE);
  for (int b = 0; b < B; b++)
    for (int k = 0; k < h; k++)
      {
        const float *q = s.qkv + (gsize) b * T * 3 * D + k * hd; /* (T, hd) in (T, 3D) */
        attend_forward (s.A + (gsize) b * T * D + k * hd, D,
                        s.P + ((gsize) b * h + k) * T * T,
                        q, 3 * D, q + D, 3 * D, q + 2 * D, 3 * D,
                        T, T, hd, scale, node->p[SA_CAUSAL] != 0);
      }
  /* y = x + A · out_projᵀ + b_out (the residual goes in first). */
  memcpy (y, x, (gsize) N * D * sizeof (float));
  linear_forward (y, s.A, node->w[SA_OUT_W], node->w[SA_OUT_B], N, D, D, TRUE);
}

static void
self_attention_backward (WeftNode *node, const WeftPass *pass)
{
  int B = pass->B;
  int T = node->in_shape[0].d[0], D = node->in_shape[0].d[1];
  int h = (int) node->p[SA_HEADS], hd = D / h, N = B * T;
  float scale = 1.f / sqrtf ((float) hd);
  const float *dy = node->dout;   /* (N, D) */
  float *dx = node->din[0];       /* (N, D), may be NULL */
  SaScratch s = sa_scratch (node, B, T, D, h);

  if (dx)                         /* the residual path */
    for (gsize i = 0; i < (gsize) N * D; i++)
      dx[i] += dy[i];
  if (!dx && !node->dw[SA_IN_W] && !node->dw[SA_IN_B]
      && !node->dw[SA_OUT_W] && !node->dw[SA_OUT_B])
    return;

  memset (s.dA, 0, (gsize) N * D * sizeof (float));
  linear_backward (s.dA, node->dw[SA_OUT_W], node->dw[SA_OUT_B], dy, s.A,
                   node->w[SA_OUT_W], N, D, D);
  for (int b = 0; b < B; b++)
    for (int k = 0; k < h; k++)
      {
        gsize off = (gsize) b * T * 3 * D + k * hd;
        const float *q = s.qkv + off;
        float *dq = s.dqkv + off;
        attend_backward (dq, 3 * D, dq + D, 3 * D, dq + 2 * D, 3 * D, s.dP,
                         s.P + ((gsize) b * h + k) * T * T,
                         s.dA + (gsize) b * T * D + k * hd, D,
                         q, 3 * D, q + D, 3 * D, q + 2 * D, 3 * D,
                         T, T, hd, scale);
      }
  linear_backward (dx, node->dw[SA_IN_W], node->dw[SA_IN_B], s.dqkv, node->in[0],
                   node->w[SA_IN_W], N, D, 3 * D);
}

static guint64
self_attention_flops (const WeftNode *node)
{
  guint64 T = node->in_shape[0].d[0], D = node->in_shape[0].d[1];
  /* projections 2·T·D·4D, scores and mixing 2·2·T·T·D, softmax ~5·h·T² */
  return 8 * T * D * D + 4 * T * T * D + 5 * (guint64) node->p[SA_HEADS] * T * T;
}

const WeftBlock weft_block_self_attention = {
  .type = "self_attention", .group = "encoders", .title = "Self-attention",
  .blurb = "Lets every step of a sequence look at all the others and mix in what is relevant (a transformer attention layer with a shortcut).",
  .params = self_attention_params, .n_params = G_N_ELEMENTS (self_attention_params),
  .ports = self_attention_ports, .min_inputs = 1, .max_inputs = 1,
  .infer = self_attention_infer, .forward = self_attention_forward,
  .backward = self_attention_backward, .flops = self_attention_flops,
};

/* ---- Cross-attention: the query attends to the context ---- */

enum { CA_DIM, CA_HEADS };

static const WeftParamSpec cross_attention_params[] = {
  { "dim", WEFT_PARAM_INT, 64, 1, 65536, NULL,
    "Width of the attention and of the output features." },
  { "heads", WEFT_PARAM_INT, 4, 1, 256, NULL,
    "Number of attention heads; must divide the width." },
};

static const char *const cross_attention_ports[] = { "query", "context", NULL };

enum { CA_QW, CA_QB, CA_KW, CA_KB, CA_VW, CA_VB, CA_OW, CA_OB };

/* A vector input (D) is a sequence of one step. */
static void
ca_dims (const WeftNode *node, int port, int *T, int *D)
{
  const WeftShape *s = &node->in_shape[port];
  *T = s->n == 2 ? s->d[0] : 1;
  *D = s->d[s->n - 1];
}

/* Scratch per sample: Q (Tq, dim), K, V (Tk, dim), P (h, Tq, Tk),
 * A (Tq, dim) from forward; dA, dQ (Tq, dim), dK, dV (Tk, dim) for
 * backward. Fixed: dP (Tq, Tk). */
typedef struct {
  float *Q, *K, *V, *P, *A, *dA, *dQ, *dK, *dV, *dP;
} CaScratch;

static CaScratch
ca_scratch (const WeftNode *node, int B, int Tq, int Tk, int dim, int h)
{
  CaScratch s;
  gsize q = (gsize) B * Tq * dim, k = (gsize) B * Tk * dim;
  s.Q = node->scratch;
  s.K = s.Q + q;
  s.V = s.K + k;
  s.P = s.V + k;
  s.A = s.P + (gsize) B * h * Tq * Tk;
  s.dA = s.A + q;
  s.dQ = s.dA + q;
  s.dK = s.dQ + q;
  s.dV = s.dK + k;
  s.dP = s.dV + k;
  return s;
}

static gboolean
cross_attention_infer (WeftNode *node, GError **error)
{
  int dim = (int) node->p[CA_DIM], h = (int) node->p[CA_HEADS];
  int Tq, Dq, Tk, Dk;

  for (int i = 0; i < 2; i++)
    if (node->in_shape[i].n != 1 && node->in_shape[i].n != 2)
      return weft_node_error (node, error,
                              "input %d (%s) must be a vector or a sequence "
                              "(steps, features), got %d dimensions",
                              i + 1, cross_attention_ports[i], node->in_shape[i].n);
  if (dim % h != 0)
    return weft_node_error (node, error,
                            "a width of %d cannot be split evenly into %d heads",
                            dim, h);
  ca_dims (node, 0, &Tq, &Dq);
  ca_dims (node, 1, &Tk, &Dk);
  node->out_shape = node->in_shape[0].n == 2 ? weft_shape_2 (Tq, dim)
                                             : weft_shape_1 (dim);
  /* Xavier weights and zero biases, as nn.MultiheadAttention. */
  weft_node_add_weight (node, "q_proj.weight", weft_shape_2 (dim, Dq),
                        WEFT_INIT_XAVIER, 0, Dq, dim);
  weft_node_weight_no_decay (node,
                             weft_node_add_weight (node, "q_proj.bias", weft_shape_1 (dim),
                                                   WEFT_INIT_ZEROS, 0, Dq, dim));
  weft_node_add_weight (node, "k_proj.weight", weft_shape_2 (dim, Dk),
                        WEFT_INIT_XAVIER, 0, Dk, dim);
  weft_node_weight_no_decay (node,
                             weft_node_add_weight (node, "k_proj.bias", weft_shape_1 (dim),
                                                   WEFT_INIT_ZEROS, 0, Dk, dim));
  weft_node_add_weight (node, "v_proj.weight", weft_shape_2 (dim, Dk),
                        WEFT_INIT_XAVIER, 0, Dk, dim);
  weft_node_weight_no_decay (node,
                             weft_node_add_weight (node, "v_proj.bias", weft_shape_1 (dim),
                                                   WEFT_INIT_ZEROS, 0, Dk, dim));
  weft_node_add_weight (node, "out_proj.weight", weft_shape_2 (dim, dim),
                        WEFT_INIT_XAVIER, 0, dim, dim);
  weft_node_weight_no_decay (node,
                             weft_node_add_weight (node, "out_proj.bias", weft_shape_1 (dim),
                                                   WEFT_INIT_ZEROS, 0, dim, dim));
  node->scratch_per_sample = (gsize) dim * (4 * Tq + 4 * Tk) + (gsize) h * Tq * Tk;
  node->scratch_fixed = (gsize) Tq * Tk;
  return TRUE;
}

static void
cross_attention_forward (WeftNode *node, const WeftPass *pass)
{
  int B = pass->B;
  int dim = (int) node->p[CA_DIM], h = (int) node->p[CA_HEADS], hd = dim / h;
  int Tq, Dq, Tk, Dk;
  ca_dims (node, 0, &Tq, &Dq);
  ca_dims (node, 1, &Tk, &Dk);
  float scale = 1.f / sqrtf ((float) hd);
  CaScratch s = ca_scratch (node, B, Tq, Tk, dim, h);

  /* Projections over the whole batch: Q (B·Tq, dim), K and V (B·Tk, dim). */
  linear_forward (s.Q, node->in[0], node->w[CA_QW], node->w[CA_QB], B * Tq, Dq, dim, FALSE);
  linear_forward (s.K, node->in[1], node->w[CA_KW], node->w[CA_KB], B * Tk, Dk, dim, FALSE);
  linear_forward (s.V, node->in[1], node->w[CA_VW], node->w[CA_VB], B * Tk, Dk, dim, FALSE);
  for (int b = 0; b < B; b++)
    for (int k = 0; k < h; k++)
      {
        gsize oq = (gsize) b * Tq * dim + k * hd, ok = (gsize) b * Tk * dim + k * hd;
        attend_forward (s.A + oq, dim, s.P + ((gsize) b * h + k) * Tq * Tk,
                        s.Q + oq, dim, s.K + ok, dim, s.V + ok, dim,
                        Tq, Tk, hd, scale, FALSE);
      }
  linear_forward (node->out, s.A, node->w[CA_OW], node->w[CA_OB], B * Tq, dim, dim, FALSE);
}

static void
cross_attention_backward (WeftNode *node, const WeftPass *pass)
{
  int B = pass->B;
  int dim = (int) node->p[CA_DIM], h = (int) node->p[CA_HEADS], hd = dim / h;
  int Tq, Dq, Tk, Dk;
  ca_dims (node, 0, &Tq, &Dq);
  ca_dims (node, 1, &Tk, &Dk);
  float scale = 1.f / sqrtf ((float) hd);
  CaScratch s = ca_scratch (node, B, Tq, Tk, dim, h);

  memset (s.dA, 0, (gsize) B * Tq * dim * sizeof (float));
  linear_backward (s.dA, node->dw[CA_OW], node->dw[CA_OB], node->dout, s.A,
                   node->w[CA_OW], B * Tq, dim, dim);
  for (int b = 0; b < B; b++)
    for (int k = 0; k < h; k++)
      {
        gsize oq = (gsize) b * Tq * dim + k * hd, ok = (gsize) b * Tk * dim + k * hd;
        attend_backward (s.dQ + oq, dim, s.dK + ok, dim, s.dV + ok, dim, s.dP,
                         s.P + ((gsize) b * h + k) * Tq * Tk, s.dA + oq, dim,
                         s.Q + oq, dim, s.K + ok, dim, s.V + ok, dim,
                         Tq, Tk, hd, scale);
      }
  linear_backward (node->din[0], node->dw[CA_QW], node->dw[CA_QB], s.dQ,
                   node->in[0], node->w[CA_QW], B * Tq, Dq, dim);
  linear_backward (node->din[1], node->dw[CA_KW], node->dw[CA_KB], s.dK,
                   node->in[1], node->w[CA_KW], B * Tk, Dk, dim);
  linear_backward (node->din[1], node->dw[CA_VW], node->dw[CA_VB], s.dV,
                   node->in[1], node->w[CA_VW], B * Tk, Dk, dim);
}

static guint64
cross_attention_flops (const WeftNode *node)
{
  int Tq, Dq, Tk, Dk;
  ca_dims (node, 0, &Tq, &Dq);
  ca_dims (node, 1, &Tk, &Dk);
  guint64 dim = (guint64) node->p[CA_DIM];
  return 2 * dim * ((guint64) Tq * Dq + 2ull * Tk * Dk + (guint64) Tq * dim)
         + 4ull * Tq * Tk * dim + 5 * (guint64) node->p[CA_HEADS] * Tq * Tk;
}

const WeftBlock weft_block_cross_attention = {
  .type = "cross_attention", .group = "fusion", .title = "Cross-attention",
  .blurb = "Lets one modality (the query) pick out the relevant parts of another (the context) by attention.",
  .params = cross_attention_params, .n_params = G_N_ELEMENTS (cross_attention_params),
  .ports = cross_attention_ports, .min_inputs = 2, .max_inputs = 2,
  .infer = cross_attention_infer, .forward = cross_attention_forward,
  .backward = cross_attention_backward, .flops = cross_attention_flops,
};
