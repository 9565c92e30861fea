/* weft-fusion.c — the blocks that join modalities: Concat, Sum, Product,
 * Gated (GMU), Tensor fusion (outer product) and Late fusion.
 *
 * All take 2..8 inputs on ports "a", "b", "b", ... (x_1 .. x_n below).
 *
 *  concat         y = [x_1; ...; x_n] along the last dim; leading dims equal
 *                 (torch.cat(xs, dim=-1)).
 *  sum            y = Σ_k x_k, shapes equal.
 *  product        y = Π_k x_k element-wise, shapes equal.
 *  gated          Gated Multimodal Unit (Arevalo et al. 2017) for n vectors:
 *                   h_k = tanh (W_k x_k + b_k)                  (units)
 *                   g   = W_z [x_1; ...; x_n] + b_z             (n·units)
 *                   z_k,u = softmax_k (g[k·units + u])          over modalities
 *                   y_u = Σ_k z_k,u h_k,u                        (units)
 *                 weights proj.<k>.weight (units, D_k), proj.<k>.bias (units),
 *                 gate.weight (n·units, ΣD_k), gate.bias (n·units). PyTorch:
 *                 z = gate(cat(xs,-1)).view(B, n, units).softmax(1);
 *                 y = (z * stack([tanh(proj[k](x_k))], 1)).sum(1).
 *                 For n = 2 the softmax is the GMU's sigmoid gate
 *                 σ(g_1 - g_2).
 *  tensor_fusion  y = flatten ([x_1; 1] ⊗ [x_2; 1] ⊗ ... ⊗ [x_n; 1])
 *                 (Zadeh et al. 2017), x_1's index most significant, size
 *                 Π (D_k + 1); einsum('bi,bj->bij') repeated then flattened.
 *  late_fusion    per-modality predictions of equal shape (logits (K)):
 *                 y = Σ_k softmax(a)_k x_k, weight "logits" a (n), init 0
 *                 (the plain average).
 */
#include "weft-block.h"

#include <math.h>
#include <string.h>

#include "tensor/weft-blas.h"

static const char *const fusion_ports[] = { "a", "b", NULL };

static gboolean
fusion_is_vector (WeftNode *node, const char *title, GError **error)
{
  for (int i = 0; i < node->n_in; i++)
    if (node->in_shape[i].n != 1)
      {
        g_autofree char *s = weft_shape_to_string (&node->in_shape[i]);
        return weft_node_error (node, error,
                                "input %d has shape %s, but %s joins vectors; add Flatten or Global pool before it",
                                i + 1, s, title);
      }
  return TRUE;
}

/* Sum, Product and Late fusion want every input shaped like the first. */
static gboolean
fusion_same_shapes (WeftNode *node, const char *title, GError **error)
{
  const WeftShape *s0 = &node->in_shape[0];
  for (int i = 1; i < node->n_in; i++)
    {
      const WeftShape *si = &node->in_shape[i];
      if (weft_shape_equal (si, s0))
        continue;
      if (si->n == 1 && s0->n == 1)
        return weft_node_error (node, error, "input %d has %d features, expected %d for %s",
                                i + 1, si->d[0], s0->d[0], title);
      g_autofree char *a = weft_shape_to_string (si);
      g_autofree char *b = weft_shape_to_string (s0);
      return weft_node_error (node, error, "input %d has shape %s, expected %s (the shape of input 1) for %s",
                              i + 1, a, b, title);
    }
  return TRUE;
}

/* ---- Concat ------------------------------------------------------------ */

/* rows per sample = product of the leading dims shared by all inputs */
static int
concat_rows (const WeftNode *node)
{
  const WeftShape *s = &node->in_shape[0];
  int r = 1;
  for (int i = 0; i < s->n - 1; i++)
    r *= s->d[i];
  return r;
}

static gboolean
concat_infer (WeftNode *node, GError **error)
{
  const WeftShape *s0 = &node->in_shape[0];
  int last = 0;

  for (int i = 0; i < node->n_in; i++)
    {
      const WeftShape *si = &node->in_shape[i];
      gboolean ok = si->n == s0->n;
      for (int k = 0; ok && k < s0->n - 1; k++)
        ok = si->d[k] == s0->d[k];
      if (!ok)
        {
          g_autofree char *a = weft_shape_to_string (si);
          g_autofree char *b = weft_shape_to_string (s0);
          return weft_node_error (node, error,
                                  "input %d has shape %s but input 1 has %s; Concat joins only the last dimension",
                                  i + 1, a, b);
        }
      last += si->d[si->n - 1];
    }
  node->out_shape = *s0;
  node->out_shape.d[s0->n - 1] = last;
  return TRUE;
}

static void
concat_forward (WeftNode *node, const WeftPass *pass)
{
  int N = pass->B * concat_rows (node);
  int out_d = node->out_shape.d[node->out_shape.n - 1];
  int off = 0;

  for (int i = 0; i < node->n_in; i++)
    {
      int d = node->in_shape[i].d[node->in_shape[i].n - 1];
      const float *x = node->in[i];      /* (N, d) */
      for (int r = 0; r < N; r++)
        memcpy (node->out + (gsize) r * out_d + off, x + (gsize) r * d, d * sizeof (float));
      off += d;
    }
}

static void
concat_backward (WeftNode *node, const WeftPass *pass)
{
  int N = pass->B * concat_rows (node);
  int out_d = node->out_shape.d[node->out_shape.n - 1];
  int off = 0;

  for (int i = 0; i < node->n_in; i++)
    {
      int d = node->in_shape[i].d[node->in_shape[i].n - 1];
      float *dx = node->din[i];          /* (N, d) */
      if (dx)
        for (int r = 0; r < N; r++)
          {
            const float *dy = node->dout + (gsize) r * out_d + off;
            float *dxr = dx + (gsize) r * d;
            for (int j = 0; j < d; j++)
              dxr[j] += dy[j];
          }
      off += d;
    }
}

static guint64
concat_flops (const WeftNode *node)
{
  return 0;
}

const WeftBlock weft_block_concat = {
  .type = "concat", .group = "fusion", .title = "Concat",
  .blurb = "Places the features of all inputs side by side in one longer vector (early or intermediate fusion).",
  .ports = fusion_ports, .min_inputs = 2, .max_inputs = 8,
  .infer = concat_infer, .forward = concat_forward,
  .backward = concat_backward, .flops = concat_flops,
};

/* ---- Sum and Product --------------------------------------------------- */

static gboolean
sum_infer (WeftNode *node, GError **error)
{
  if (!fusion_same_shapes (node, "Sum", error))
    return FALSE;
  node->out_shape = node->in_shape[0];
  return TRUE;
}

static void
sum_forward (WeftNode *node, const WeftPass *pass)
{
  gsize n = pass->B * weft_node_out_size (node);
  float *y = node->out;

  memcpy (y, node->in[0], n * sizeof (float));
  for (int i = 1; i < node->n_in; i++)
    {
      const float *x = node->in[i];
      for (gsize k = 0; k < n; k++)
        y[k] += x[k];
    }
}

static void
sum_backward (WeftNode *node, const WeftPass *pass)
{
  gsize n = pass->B * weft_node_out_size (node);

  for (int i = 0; i < node->n_in; i++)
    if (node->din[i])
      {
        float *dx = node->din[i];
        for (gsize k = 0; k < n; k++)
          dx[k] += node->dout[k];
      }
}

static guint64
sum_flops (const WeftNode *node)
{
  return (guint64) (node->n_in - 1) * weft_node_out_size (node);
}

const WeftBlock weft_block_sum = {
  .type = "sum", .group = "fusion", .title = "Sum",
  .blurb = "Adds the inputs feature by feature; all inputs must have the same shape.",
  .ports = fusion_ports, .min_inputs = 2, .max_inputs = 8,
  .infer = sum_infer, .forward = sum_forward,
  .backward = sum_backward, .flops = sum_flops,
};

static gboolean
product_infer (WeftNode *node, GError **error)
{
  if (!fusion_same_shapes (node, "Product", error))
    return FALSE;
  node->out_shape = node->in_shape[0];
  return TRUE;
}

static void
product_forward (WeftNode *node, const WeftPass *pass)
{
  gsize n = pass->B * weft_node_out_size (node);
  float *y = node->out;

  memcpy (y, node->in[0], n * sizeof (float));
  for (int i = 1; i < node->n_in; i++)
    {
      const float *x = node->in[i];
      for (gsize k = 0; k < n; k++)
        y[k] *= x[k];
    }
}

static void
product_backward (WeftNode *node, const WeftPass *pass)
{
  gsize n = pass->B * weft_node_out_size (node);
  int m = node->n_in;

  /* dx_i = dy · Π_{j≠i} x_j, from prefix and suffix products rather than
   * y / x_i, which breaks on zeros. */
  for (gsize k = 0; k < n; k++)
    {
      float pre[WEFT_MAX_INPUTS + 1];
      float suf = 1.f;
      pre[0] = 1.f;
      for (int i = 0; i < m; i++)
        pre[i + 1] = pre[i] * node->in[i][k];
      for (int i = m - 1; i >= 0; i--)
        {
          if (node->din[i])
            node->din[i][k] += node->dout[k] * pre[i] * suf;
          suf *= node->in[i][k];
        }
    }
}

const WeftBlock weft_block_product = {
  .type = "product", .group = "fusion", .title = "Product",
  .blurb = "Multiplies the inputs feature by feature, so one modality can scale or silence another; shapes must match.",
  .ports = fusion_ports, .min_inputs = 2, .max_inputs = 8,
  .infer = product_infer, .forward = product_forward,
  .backward = product_backward, .flops = sum_flops,
};

/* ---- Gated (GMU) ------------------------------------------------------- */

enum { GATED_UNITS };

static const WeftParamSpec gated_params[] = {
  { "units", WEFT_PARAM_INT, 64, 1, 65536, NULL,
    "Size of the fused vector (each modality is projected to this size before gating)." },
};

/* Two weights per modality plus the gate: the weight table bounds n. */
#define GATED_MAX_INPUTS MIN (8, (WEFT_MAX_WEIGHTS - 2) / 2)

static const char *const gated_w_names[8][2] = {
  { "proj.0.weight", "proj.0.bias" }, { "proj.1.weight", "proj.1.bias" },
  { "proj.2.weight", "proj.2.bias" }, { "proj.3.weight", "proj.3.bias" },
  { "proj.4.weight", "proj.4.bias" }, { "proj.5.weight", "proj.5.bias" },
  { "proj.6.weight", "proj.6.bias" }, { "proj.7.weight", "proj.7.bias" },
};

static int
gated_total_in (const WeftNode *node)
{
  int t = 0;
  for (int k = 0; k < node->n_in; k++)
    t += node->in_shape[k].d[0];
  return t;
}

static gboolean
gated_infer (WeftNode *node, GError **error)
{
  int n = node->n_in;
  int units = (int) node->p[GATED_UNITS];

  if (!fusion_is_vector (node, "Gated fusion", error))
    return FALSE;
  int total = gated_total_in (node);
  for (int k = 0; k < n; k++)
    {
      int d = node->in_shape[k].d[0];
      weft_node_add_weight (node, gated_w_names[k][0], weft_shape_2 (units, d),
                            WEFT_INIT_XAVIER, 0, d, units);
      int b = weft_node_add_weight (node, gated_w_names[k][1], weft_shape_1 (units),
                                    WEFT_INIT_ZEROS, 0, d, units);
      weft_node_weight_no_decay (node, b);
    }
  weft_node_add_weight (node, "gate.weight", weft_shape_2 (n * units, total),
                        WEFT_INIT_XAVIER, 0, total, n * units);
  int b = weft_node_add_weight (node, "gate.bias", weft_shape_1 (n * units),
                                WEFT_INIT_ZEROS, 0, total, n * units);
  weft_node_weight_no_decay (node, b);
  node->out_shape = weft_shape_1 (units);
  /* h, z kept from forward; dpre, dg are backward's work rows. */
  node->scratch_per_sample = 4 * (gsize) n * units;
  return TRUE;
}

static void
gated_forward (WeftNode *node, const WeftPass *pass)
{
  int B = pass->B, n = node->n_in;
  int units = (int) node->p[GATED_UNITS];
  int nu = n * units;
  int total = gated_total_in (node);
  float *h = node->scratch;                    /* (B, n, units) */
  float *z = h + (gsize) B * nu;               /* (B, n, units) */
  const float *Wz = node->w[2 * n];            /* (n·units, total) */
  const float *bz = node->w[2 * n + 1];        /* (n·units) */
  float *y = node->out;                        /* (B, units) */

  for (int r = 0; r < B; r++)
    {
      memcpy (z + (gsize) r * nu, bz, nu * sizeof (float));
      for (int k = 0; k < n; k++)
        memcpy (h + (gsize) r * nu + k * units, node->w[2 * k + 1], units * sizeof (float));
    }
  int off = 0;
  for (int k = 0; k < n; k++)
    {
      int d = node->in_shape[k].d[0];
      const float *x = node->in[k];            /* (B, d) */
      /* h[:, k, :] (B, units) += x (B, d) · W_kᵀ; W_k stored (units, d),
       * hence trans_b; ldc = n·units writes the k-th block of each row. */
      weft_sgemm (FALSE, TRUE, B, units, d, 1.f, x, d, node->w[2 * k], d,
                  1.f, h + k * units, nu);
      /* g (B, n·units) += x_k (B, d) · W_z[:, off:off+d]ᵀ: the columns of
       * the gate weight that see modality k, stored (n·units, d) with row
       * stride total, hence trans_b with ldb = total. */
      weft_sgemm (FALSE, TRUE, B, nu, d, 1.f, x, d, Wz + off, total,
                  1.f, z, nu);
      off += d;
    }

  gsize nh = (gsize) B * nu;
  for (gsize i = 0; i < nh; i++)
    h[i] = tanhf (h[i]);

  /* softmax over the n modalities, per unit, then the weighted sum */
  for (int r = 0; r < B; r++)
    {
      float *zr = z + (gsize) r * nu;
      const float *hr = h + (gsize) r * nu;
      float *yr = y + (gsize) r * units;
      for (int u = 0; u < units; u++)
        {
          float m = zr[u];
          for (int k = 1; k < n; k++)
            m = MAX (m, zr[k * units + u]);
          float s = 0.f;
          for (int k = 0; k < n; k++)
            {
              float e = expf (zr[k * units + u] - m);
              zr[k * units + u] = e;
              s += e;
            }
          float acc = 0.f;
          for (int k = 0; k < n; k++)
            {
              zr[k * units + u] /= s;
              acc += zr[k * units + u] * hr[k * units + u];
            }
          yr[u] = acc;
        }
    }
}

static void
gated_backward (WeftNode *node, const WeftPass *pass)
{
  int B = pass->B, n = node->n_in;
  int units = (int) node->p[GATED_UNITS];
  int nu = n * units;
  int total = gated_total_in (node);
  const float *h = node->scratch;              /* (B, n, units) */
  const float *z = h + (gsize) B * nu;         /* (B, n, units) */
  float *dpre = node->scratch + 2 * (gsize) B * nu; /* (B, n, units) d tanh input */
  float *dg = dpre + (gsize) B * nu;           /* (B, n·units) d gate logits */
  const float *y = node->out;                  /* (B, units) */
  const float *dy = node->dout;                /* (B, units) */

  /* dh_k = dy z_k, through tanh: dpre_k = dy z_k (1 - h_k²).
   * dz_k = dy h_k; the softmax Jacobian gives
   * dg_k = z_k (dz_k - Σ_j z_j dz_j) = dy z_k (h_k - y). */
  for (int r = 0; r < B; r++)
    for (int k = 0; k < n; k++)
      for (int u = 0; u < units; u++)
        {
          gsize i = (gsize) r * nu + k * units + u;
          float g = dy[(gsize) r * units + u];
          dpre[i] = g * z[i] * (1.f - h[i] * h[i]);
          dg[i] = g * z[i] * (h[i] - y[(gsize) r * units + u]);
        }

  int off = 0;
  for (int k = 0; k < n; k++)
    {
      int d = node->in_shape[k].d[0];
      const float *x = node->in[k];            /* (B, d) */
      const float *dpk = dpre + k * units;     /* (B, units), row stride nu */
      /* dW_k (units, d) += dpre_kᵀ (units, B) · x (B, d) */
      if (node->dw[2 * k])
        weft_sgemm (TRUE, FALSE, units, d, B, 1.f, dpk, nu, x, d,
                    1.f, node->dw[2 * k], d);
      if (node->dw[2 * k + 1])
        for (int r = 0; r < B; r++)
          for (int u = 0; u < units; u++)
            node->dw[2 * k + 1][u] += dpk[(gsize) r * nu + u];
      /* dW_z[:, off:off+d] (n·units, d) += dgᵀ (n·units, B) · x (B, d) */
      if (node->dw[2 * n])
        weft_sgemm (TRUE, FALSE, nu, d, B, 1.f, dg, nu, x, d,
                    1.f, node->dw[2 * n] + off, total);
      if (node->din[k])
        {
          /* dx (B, d) += dpre_k (B, units) · W_k (units, d) */
          weft_sgemm (FALSE, FALSE, B, d, units, 1.f, dpk, nu, node->w[2 * k], d,
                      1.f, node->din[k], d);
          /* dx (B, d) += dg (B, n·units) · W_z[:, off:off+d] (n·units, d) */
          weft_sgemm (FALSE, FALSE, B, d, nu, 1.f, dg, nu, node->w[2 * n] + off, total,
                      1.f, node->din[k], d);
        }
      off += d;
    }
  if (node->dw[2 * n + 1])
    for (int r = 0; r < B; r++)
      for (int i = 0; i < nu; i++)
        node->dw[2 * n + 1][i] += dg[(gsize) r * nu + i];
}

static guint64
gated_flops (const WeftNode *node)
{
  guint64 units = (guint64) node->p[GATED_UNITS];
  guint64 n = node->n_in;
  guint64 total = gated_total_in (node);
  /* projections + gate GEMMs, then tanh, softmax and the weighted sum */
  return 2 * units * total + 2 * n * units * total + 6 * n * units;
}

const WeftBlock weft_block_gated = {
  .type = "gated", .group = "fusion", .title = "Gated",
  .blurb = "Projects every modality to the same size and mixes them with learned gates that decide, feature by feature, which modality to trust (a Gated Multimodal Unit).",
  .params = gated_params, .n_params = G_N_ELEMENTS (gated_params),
  .ports = fusion_ports, .min_inputs = 2, .max_inputs = GATED_MAX_INPUTS,
  .infer = gated_infer, .forward = gated_forward,
  .backward = gated_backward, .flops = gated_flops,
};

/* ---- Tensor fusion ----------------------------------------------------- */

#define TENSOR_FUSION_MAX_OUT 1000000

/* Writes the flattened outer product of [x_k; 1] for k in [k0, k1) of
 * sample r into t (its size is returned). */
static gsize
tensor_fusion_outer (const WeftNode *node, int r, int k0, int k1, float *t)
{
  gsize S = 1;
  t[0] = 1.f;
  for (int k = k0; k < k1; k++)
    {
      int d = node->in_shape[k].d[0];
      const float *x = node->in[k] + (gsize) r * d;
      /* Expand in place from the back: entry i moves to i·(d+1) + j ≥ i,
       * so entries not yet expanded are never overwritten. */
      for (gsize i = S; i-- > 0;)
        {
          float v = t[i];
          float *dst = t + i * (d + 1);
          dst[d] = v;
          for (int j = d - 1; j >= 0; j--)
            dst[j] = v * x[j];
        }
      S *= d + 1;
    }
  return S;
}

static gsize
tensor_fusion_span (const WeftNode *node, int k0, int k1)
{
  gsize S = 1;
  for (int k = k0; k < k1; k++)
    S *= node->in_shape[k].d[0] + 1;
  return S;
}

static gboolean
tensor_fusion_infer (WeftNode *node, GError **error)
{
  if (!fusion_is_vector (node, "Tensor fusion", error))
    return FALSE;
  double total = 1;
  for (int k = 0; k < node->n_in; k++)
    total *= node->in_shape[k].d[0] + 1.0;
  if (total > TENSOR_FUSION_MAX_OUT)
    {
      GString *s = g_string_new (NULL);
      for (int k = 0; k < node->n_in; k++)
        g_string_append_printf (s, k ? " × %d" : "%d", node->in_shape[k].d[0] + 1);
      weft_node_error (node, error,
                       "Tensor fusion would make %s = %.0f features (the limit is %d); "
                       "shrink the inputs first, for example with a Dense layer of 16 to 32 units",
                       s->str, total, TENSOR_FUSION_MAX_OUT);
      g_string_free (s, TRUE);
      return FALSE;
    }
  node->out_shape = weft_shape_1 ((int) total);
  /* backward's work space: the outer products left and right of one input */
  gsize need = 0;
  for (int k = 0; k < node->n_in; k++)
    need = MAX (need, tensor_fusion_span (node, 0, k) + tensor_fusion_span (node, k + 1, node->n_in));
  node->scratch_fixed = need;
  return TRUE;
}

static void
tensor_fusion_forward (WeftNode *node, const WeftPass *pass)
{
  gsize P = weft_node_out_size (node);
  for (int r = 0; r < pass->B; r++)
    tensor_fusion_outer (node, r, 0, node->n_in, node->out + (gsize) r * P);
}

static void
tensor_fusion_backward (WeftNode *node, const WeftPass *pass)
{
  gsize P = weft_node_out_size (node);
  int n = node->n_in;

  for (int k = 0; k < n; k++)
    {
      if (node->din[k] == NULL)
        continue;
      int d = node->in_shape[k].d[0];
      gsize A = tensor_fusion_span (node, 0, k);
      gsize C = tensor_fusion_span (node, k + 1, n);
      float *L = node->scratch;                /* (A) */
      float *R = node->scratch + A;            /* (C) */
      for (int r = 0; r < pass->B; r++)
        {
          /* dy viewed as (A, d+1, C): dx_k[j] = Σ_{a,c} dy[a,j,c] L[a] R[c];
           * the appended 1 (j = d) gets no gradient. */
          const float *dy = node->dout + (gsize) r * P;
          float *dx = node->din[k] + (gsize) r * d;
          tensor_fusion_outer (node, r, 0, k, L);
          tensor_fusion_outer (node, r, k + 1, n, R);
          for (gsize a = 0; a < A; a++)
            for (int j = 0; j < d; j++)
              {
                const float *row = dy + (a * (d + 1) + j) * C;
                float acc = 0.f;
                for (gsize c = 0; c < C; c++)
                  acc += row[c] * R[c];
                dx[j] += L[a] * acc;
              }
        }
    }
}

static guint64
tensor_fusion_flops (const WeftNode *node)
{
  guint64 f = 0;
  for (int k = 1; k <= node->n_in; k++)
    f += tensor_fusion_span (node, 0, k);
  return f;
}

const WeftBlock weft_block_tensor_fusion = {
  .type = "tensor_fusion", .group = "fusion", .title = "Tensor fusion",
  .blurb = "Multiplies every feature of one modality with every feature of the others (an outer product), capturing all their interactions; the output grows quickly, so keep inputs small.",
  .ports = fusion_ports, .min_inputs = 2, .max_inputs = 8,
  .infer = tensor_fusion_infer, .forward = tensor_fusion_forward,
  .backward = tensor_fusion_backward, .flops = tensor_fusion_flops,
};

/* ---- Late fusion ------------------------------------------------------- */

static gboolean
late_fusion_infer (WeftNode *node, GError **error)
{
  if (!fusion_same_shapes (node, "Late fusion", error))
    return FALSE;
  node->out_shape = node->in_shape[0];
  int w = weft_node_add_weight (node, "logits", weft_shape_1 (node->n_in),
                                WEFT_INIT_ZEROS, 0, node->n_in, 1);
  /* decay would pull the mix towards the plain average; keep it free */
  weft_node_weight_no_decay (node, w);
  return TRUE;
}

static void
late_fusion_softmax (const WeftNode *node, float *s)
{
  const float *a = node->w[0];
  int n = node->n_in;
  float m = a[0], sum = 0.f;
  for (int k = 1; k < n; k++)
    m = MAX (m, a[k]);
  for (int k = 0; k < n; k++)
    sum += s[k] = expf (a[k] - m);
  for (int k = 0; k < n; k++)
    s[k] /= sum;
}

static void
late_fusion_forward (WeftNode *node, const WeftPass *pass)
{
  gsize N = pass->B * weft_node_out_size (node);
  float s[WEFT_MAX_INPUTS];
  float *y = node->out;

  late_fusion_softmax (node, s);
  for (gsize i = 0; i < N; i++)
    y[i] = s[0] * node->in[0][i];
  for (int k = 1; k < node->n_in; k++)
    {
      const float *x = node->in[k];
      for (gsize i = 0; i < N; i++)
        y[i] += s[k] * x[i];
    }
}

static void
late_fusion_backward (WeftNode *node, const WeftPass *pass)
{
  gsize N = pass->B * weft_node_out_size (node);
  int n = node->n_in;
  float s[WEFT_MAX_INPUTS];
  double ds[WEFT_MAX_INPUTS], dot = 0;
  const float *dy = node->dout;

  late_fusion_softmax (node, s);
  for (int k = 0; k < n; k++)
    {
      const float *x = node->in[k];
      if (node->din[k])
        for (gsize i = 0; i < N; i++)
          node->din[k][i] += s[k] * dy[i];
      /* ds_k = Σ dy · x_k over the batch, in double: it sums B·K terms */
      double acc = 0;
      for (gsize i = 0; i < N; i++)
        acc += (double) dy[i] * x[i];
      ds[k] = acc;
      dot += s[k] * acc;
    }
  /* softmax Jacobian: da_k = s_k (ds_k - Σ_j s_j ds_j) */
  if (node->dw[0])
    for (int k = 0; k < n; k++)
      node->dw[0][k] += (float) (s[k] * (ds[k] - dot));
}

static guint64
late_fusion_flops (const WeftNode *node)
{
  return 2ull * node->n_in * weft_node_out_size (node);
}

const WeftBlock weft_block_late_fusion = {
  .type = "late_fusion", .group = "fusion", .title = "Late fusion",
  .blurb = "Combines the predictions of separate per-modality models as a weighted average whose weights are learned.",
  .ports = fusion_ports, .min_inputs = 2, .max_inputs = 8,
  .infer = late_fusion_infer, .forward = late_fusion_forward,
  .backward = late_fusion_backward, .flops = late_fusion_flops,
};
