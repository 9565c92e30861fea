/* weft-conv.c — Conv2D and Conv1D (as F.conv2d / F.conv1d) by im2col over
 * the whole batch and one GEMM per pass, with bias and activation fused. */
#include "weft-block.h"

#include <string.h>

#include "tensor/weft-blas.h"
#include "weft-activation.h"

enum { P_FILTERS, P_KERNEL, P_STRIDE, P_PADDING, P_BIAS, P_ACT };

/* Conv1D is Conv2D on a plane of height 1 with a 1-high kernel, so both
 * blocks share one geometry and one set of kernels. */
typedef struct {
  int C, H, W;          /* input channels and plane */
  int OC, OH, OW;       /* output channels and plane */
  int KH, KW;           /* kernel */
  int SH, SW;           /* stride */
  int PH, PW;           /* zero padding on each side */
} ConvGeom;

static gboolean
conv_is_1d (const WeftNode *node)
{
  return g_str_equal (node->block->type, "conv1d");
}

static ConvGeom
conv_geom (const WeftNode *node)
{
  const WeftShape *s = &node->in_shape[0];
  ConvGeom g;
  int k = (int) node->p[P_KERNEL], st = (int) node->p[P_STRIDE];
  int pad = (int) node->p[P_PADDING];

  g.OC = (int) node->p[P_FILTERS];
  if (conv_is_1d (node))
    {
      /* (C, L), or (L) as one channel */
      g.C = s->n == 2 ? s->d[0] : 1;
      g.H = 1;
      g.W = s->d[s->n - 1];
      g.KH = 1, g.SH = 1, g.PH = 0;
    }
  else
    {
      /* (C, H, W), or (H, W) as one channel (a spectrogram) */
      g.C = s->n == 3 ? s->d[0] : 1;
      g.H = s->d[s->n - 2];
      g.W = s->d[s->n - 1];
      g.KH = k, g.SH = st, g.PH = pad;
    }
  g.KW = k, g.SW = st, g.PW = pad;
  g.OH = (g.H + 2 * g.PH - g.KH) / g.SH + 1;
  g.OW = (g.W + 2 * g.PW - g.KW) / g.SW + 1;
  return g;
}

/* Rows of the im2col matrix: one per weight of a filter, (C, KH, KW). */
static inline int
conv_patch (const ConvGeom *g)
{
  return g->C * g->KH * g->KW;
}

/* Output positions [lo, hi) whose input column ow·S + kw − P falls inside
 * [0, W); the others read the zero padding. */
static inline void
conv_valid_range (int n_out, int n_in, int k, int stride, int pad,
                  int *lo, int *hi)
{
  int a = pad - k;           /* need ow·S >= P − k */
  int b = n_in + pad - k;    /* need ow·S <  W + P − k */
  *lo = a <= 0 ? 0 : (a + stride - 1) / stride;
  *hi = b <= 0 ? 0 : MIN ((b + stride - 1) / stride, n_out);
  if (*lo > *hi)
    *lo = *hi;
}

/* The loops below run over rows of a few dozen floats. Written as blocks
 * of eight with a fixed inner count, GCC vectorises them even at -O2
 * (whose cost model skips loops that need a scalar remainder), and
 * restrict spares it the aliasing checks. Plain copies and zeroing are
 * left to memcpy / memset, which GCC would call anyway. */
#define CONV_LANES 8

static inline void
conv_add (float *restrict d, const float *restrict s, int n)
{
  int i = 0;
  for (; i + CONV_LANES <= n; i += CONV_LANES)
    for (int k = 0; k < CONV_LANES; k++)
      d[i + k] += s[i + k];
  for (; i < n; i++)
    d[i] += s[i];
}

static inline void
conv_zero (float *d, int n)
{
  if (n > 0)
    memset (d, 0, n * sizeof (float));
}

/* col (C·KH·KW, B·OH·OW): column b·OH·OW + oh·OW + ow holds the patch that
 * output pixel (oh, ow) of sample b sees, so one GEMM covers the batch. */
static void
conv_im2col (const ConvGeom *g, int B, const float *x, float *col)
{
  gsize P = (gsize) g->OH * g->OW, BP = B * P;

  for (int c = 0; c < g->C; c++)
    for (int kh = 0; kh < g->KH; kh++)
      for (int kw = 0; kw < g->KW; kw++)
        {
          float *row = col + ((gsize) (c * g->KH + kh) * g->KW + kw) * BP;
          int lo, hi;
          conv_valid_range (g->OW, g->W, kw, g->SW, g->PW, &lo, &hi);
          for (int b = 0; b < B; b++)
            {
              const float *xc = x + ((gsize) b * g->C + c) * g->H * g->W; /* (H, W) */
              for (int oh = 0; oh < g->OH; oh++)
                {
                  float *d = row + b * P + (gsize) oh * g->OW;
                  int ih = oh * g->SH + kh - g->PH;
                  if (ih < 0 || ih >= g->H)
                    {
                      conv_zero (d, g->OW);
                      continue;
                    }
                  const float *xr = xc + (gsize) ih * g->W;
                  int off = kw - g->PW;
                  conv_zero (d, lo);
                  if (g->SW == 1 && hi > lo)
                    memcpy (d + lo, xr + lo + off, (hi - lo) * sizeof (float));
                  else if (g->SW > 1)
                    for (int ow = lo; ow < hi; ow++)
                      d[ow] = xr[ow * g->SW + off];
                  conv_zero (d + hi, g->OW - hi);
                }
            }
        }
}

/* The adjoint of im2col: dx += every patch gradient at the pixels it read. */
static void
conv_col2im (const ConvGeom *g, int B, const float *col, float *dx)
{
  gsize P = (gsize) g->OH * g->OW, BP = B * P;

  for (int c = 0; c < g->C; c++)
    for (int kh = 0; kh < g->KH; kh++)
      for (int kw = 0; kw < g->KW; kw++)
        {
          const float *row = col + ((gsize) (c * g->KH + kh) * g->KW + kw) * BP;
          int lo, hi;
          conv_valid_range (g->OW, g->W, kw, g->SW, g->PW, &lo, &hi);
          for (int b = 0; b < B; b++)
            {
              float *dxc = dx + ((gsize) b * g->C + c) * g->H * g->W; /* (H, W) */
              for (int oh = 0; oh < g->OH; oh++)
                {
                  int ih = oh * g->SH + kh - g->PH;
                  if (ih < 0 || ih >= g->H)
                    continue;
                  const float *s = row + b * P + (gsize) oh * g->OW;
                  float *dr = dxc + (gsize) ih * g->W;
                  int off = kw - g->PW;
                  if (g->SW == 1 && hi > lo)
                    conv_add (dr + lo + off, s + lo, hi - lo);
                  else if (g->SW > 1)
                    for (int ow = lo; ow < hi; ow++)
                      dr[ow * g->SW + off] += s[ow];
                }
            }
        }
}

/* Σ x[i] with eight running sums: the compiler may then use vector adds,
 * which it must not do for a single float accumulator. */
static float
conv_sum (const float *x, gsize n)
{
  float acc[CONV_LANES] = { 0 };
  gsize i = 0;
  for (; i + CONV_LANES <= n; i += CONV_LANES)
    for (int k = 0; k < CONV_LANES; k++)
      acc[k] += x[i + k];
  float s = 0.f;
  for (; i < n; i++)
    s += x[i];
  for (int k = 0; k < CONV_LANES; k++)
    s += acc[k];
  return s;
}

/* y = x + b, or max (x + b, 0) with relu. */
static inline void
conv_bias_relu (float *restrict y, const float *restrict x, float b, gsize n,
                gboolean relu)
{
  gsize i = 0;
  if (relu)
    {
      for (; i + CONV_LANES <= n; i += CONV_LANES)
        for (int k = 0; k < CONV_LANES; k++)
          {
            float v = x[i + k] + b;
            y[i + k] = v > 0.f ? v : 0.f;
          }
      for (; i < n; i++)
        {
          float v = x[i] + b;
          y[i] = v > 0.f ? v : 0.f;
        }
      return;
    }
  for (; i + CONV_LANES <= n; i += CONV_LANES)
    for (int k = 0; k < CONV_LANES; k++)
      y[i + k] = x[i + k] + b;
  for (; i < n; i++)
    y[i] = x[i] + b;
}

/* d = dy where the ReLU output y was positive, else 0. Both loads happen
 * unconditionally so that the choice compiles to a mask, not a branch. */
static inline void
conv_relu_grad (float *restrict d, const float *restrict dy,
                const float *restrict y, gsize n)
{
  gsize i = 0;
  for (; i + CONV_LANES <= n; i += CONV_LANES)
    for (int k = 0; k < CONV_LANES; k++)
      {
        float g = dy[i + k], v = y[i + k];
        d[i + k] = v > 0.f ? g : 0.f;
      }
  for (; i < n; i++)
    d[i] = y[i] > 0.f ? dy[i] : 0.f;
}

static const WeftParamSpec conv2d_params[] = {
  { "filters", WEFT_PARAM_INT, 32, 1, 4096, NULL,
    "Number of filters, i.e. output channels: each learns to detect one pattern." },
  { "kernel", WEFT_PARAM_INT, 3, 1, 15, NULL,
    "Width and height of each filter in pixels (odd sizes keep the picture centred)." },
  { "stride", WEFT_PARAM_INT, 1, 1, 8, NULL,
    "Step between two filter positions; 2 halves the width and height of the output." },
  { "padding", WEFT_PARAM_INT, 0, 0, 7, NULL,
    "Rows and columns of zeros added around the input; kernel / 2 keeps the size unchanged." },
  { "bias", WEFT_PARAM_BOOL, 1, 0, 1, NULL,
    "Add a learned offset to each output channel." },
  { "activation", WEFT_PARAM_ENUM, WEFT_ACT_NONE, 0, 4, weft_act_choices,
    "Non-linearity applied right after the layer (fused, so it costs no extra pass)." },
};

static const WeftParamSpec conv1d_params[] = {
  { "filters", WEFT_PARAM_INT, 64, 1, 4096, NULL,
    "Number of filters, i.e. output channels: each learns to detect one pattern." },
  { "kernel", WEFT_PARAM_INT, 5, 1, 63, NULL,
    "Length of each filter, in steps (frames) along the sequence." },
  { "stride", WEFT_PARAM_INT, 1, 1, 16, NULL,
    "Step between two filter positions; 2 halves the length of the output." },
  { "padding", WEFT_PARAM_INT, 0, 0, 31, NULL,
    "Zeros added at both ends of the sequence; kernel / 2 keeps the length unchanged." },
  { "bias", WEFT_PARAM_BOOL, 1, 0, 1, NULL,
    "Add a learned offset to each output channel." },
  { "activation", WEFT_PARAM_ENUM, WEFT_ACT_NONE, 0, 4, weft_act_choices,
    "Non-linearity applied right after the layer (fused, so it costs no extra pass)." },
};

static const char *const conv_ports[] = { "in", NULL };

static gboolean
conv_infer (WeftNode *node, GError **error)
{
  const WeftShape *s = &node->in_shape[0];
  gboolean is_1d = conv_is_1d (node);
  g_autofree char *str = weft_shape_to_string (s);

  if (is_1d && s->n > 2)
    return weft_node_error (node, error,
                            "Conv1D needs a sequence (channels, length); input 1 has shape %s "
                            "(use Conv2D for images, or Flatten first)", str);
  if (!is_1d && (s->n < 2 || s->n > 3))
    return weft_node_error (node, error,
                            "Conv2D needs an image (channels, height, width) or a 2-D grid "
                            "such as a spectrogram; input 1 has shape %s", str);

  ConvGeom g = conv_geom (node);
  int k = (int) node->p[P_KERNEL], pad = (int) node->p[P_PADDING];
  if (is_1d && g.W + 2 * pad < k)
    {
      if (pad > 0)
        return weft_node_error (node, error,
                                "input 1 has length %d (%d with padding), shorter than the "
                                "kernel of %d", g.W, g.W + 2 * pad, k);
      return weft_node_error (node, error,
                              "input 1 has length %d, shorter than the kernel of %d", g.W, k);
    }
  if (!is_1d && (g.H + 2 * pad < k || g.W + 2 * pad < k))
    {
      if (pad > 0)
        return weft_node_error (node, error,
                                "input 1 is %dx%d (%dx%d with padding), smaller than the "
                                "%dx%d kernel", g.H, g.W, g.H + 2 * pad, g.W + 2 * pad, k, k);
      return weft_node_error (node, error,
                              "input 1 is %dx%d, smaller than the %dx%d kernel", g.H, g.W, k, k);
    }

  node->out_shape = is_1d ? weft_shape_2 (g.OC, g.OW) : weft_shape_3 (g.OC, g.OH, g.OW);

  /* PyTorch layout: (OC, C, KH, KW) for Conv2D, (OC, C, K) for Conv1D. */
  WeftShape ws = is_1d ? weft_shape_3 (g.OC, g.C, g.KW)
                       : (WeftShape) { 4, { g.OC, g.C, g.KH, g.KW } };
  int fan_in = conv_patch (&g), fan_out = g.OC * g.KH * g.KW;
  int w = weft_node_add_weight (node, "weight", ws, WEFT_INIT_XAVIER, 0, fan_in, fan_out);
  if (node->p[P_ACT] == WEFT_ACT_RELU)
    node->w_spec[w].init = WEFT_INIT_HE;
  if (node->p[P_BIAS])
    {
      int b = weft_node_add_weight (node, "bias", weft_shape_1 (g.OC),
                                    WEFT_INIT_ZEROS, 0, fan_in, fan_out);
      weft_node_weight_no_decay (node, b);
    }

  /* col (C·KH·KW, B·P) for the input patches, then Y (OC, B·P): the GEMM's
   * output before it is scattered to (B, OC, P); Y keeps the
   * pre-activation for GELU and holds dY during backward. */
  gsize P = (gsize) g.OH * g.OW;
  node->scratch_per_sample = ((gsize) conv_patch (&g) + g.OC) * P;
  return TRUE;
}

static void
conv_forward (WeftNode *node, const WeftPass *pass)
{
  ConvGeom g = conv_geom (node);
  int B = pass->B, K = conv_patch (&g);
  gsize P = (gsize) g.OH * g.OW, BP = B * P;
  WeftAct act = (WeftAct) node->p[P_ACT];
  gboolean keep_pre = weft_act_needs_pre (act);
  const float *bias = node->p[P_BIAS] ? node->w[1] : NULL; /* (OC) */
  float *col = node->scratch;                              /* (K, B·P) */
  float *Y = col + (gsize) K * BP;                         /* (OC, B·P) */

  conv_im2col (&g, B, node->in[0], col);
  /* Y (OC, B·P) = W (OC, K) · col (K, B·P); W's (OC, C, KH, KW) layout is
   * already (OC, K) row-major, so neither operand is transposed. */
  weft_sgemm (FALSE, FALSE, g.OC, (int) BP, K, 1.f, node->w[0], K, col, (int) BP,
              0.f, Y, (int) BP);

  /* Scatter to (B, OC, P), adding the bias and applying the activation
   * row by row while the row is in cache; ReLU, the common case, inline. */
  for (int b = 0; b < B; b++)
    for (int oc = 0; oc < g.OC; oc++)
      {
        float *src = Y + oc * BP + b * P;                    /* (P) */
        float *y = node->out + ((gsize) b * g.OC + oc) * P;  /* (P) */
        float bo = bias ? bias[oc] : 0.f;
        if (keep_pre)
          for (gsize p = 0; p < P; p++)
            src[p] += bo;
        conv_bias_relu (y, src, keep_pre ? 0.f : bo, P, act == WEFT_ACT_RELU);
        if (act != WEFT_ACT_NONE && act != WEFT_ACT_RELU)
          weft_act_forward (act, y, y, P);
      }
}

static void
conv_backward (WeftNode *node, const WeftPass *pass)
{
  ConvGeom g = conv_geom (node);
  int B = pass->B, K = conv_patch (&g);
  gsize P = (gsize) g.OH * g.OW, BP = B * P;
  WeftAct act = (WeftAct) node->p[P_ACT];
  float *col = node->scratch;       /* (K, B·P), from forward */
  float *dY = col + (gsize) K * BP; /* (OC, B·P) */

  /* Gather dout (B, OC, P) into dY (OC, B·P) through the activation's
   * derivative (for GELU, dY still holds the pre-activation and is read in
   * place), summing each row for the bias gradient on the way. */
  float *db = node->p[P_BIAS] ? node->dw[1] : NULL;  /* (OC) */
  for (int b = 0; b < B; b++)
    for (int oc = 0; oc < g.OC; oc++)
      {
        gsize o = ((gsize) b * g.OC + oc) * P;
        const float *dy = node->dout + o, *y = node->out + o;  /* (P) */
        float *d = dY + oc * BP + b * P;                       /* (P) */
        if (act == WEFT_ACT_NONE)
          memcpy (d, dy, P * sizeof (float));
        else if (act == WEFT_ACT_RELU)
          conv_relu_grad (d, dy, y, P);
        else
          weft_act_backward (act, d, dy, y, d, P, FALSE);
        if (db)
          db[oc] += conv_sum (d, P);
      }

  /* dW (OC, K) += dY (OC, B·P) · colᵀ (B·P, K): col is stored (K, B·P),
   * hence trans_b. */
  if (node->dw[0])
    weft_sgemm (FALSE, TRUE, g.OC, K, (int) BP, 1.f, dY, (int) BP, col, (int) BP,
                1.f, node->dw[0], K);

  /* dcol (K, B·P) = Wᵀ (K, OC) · dY (OC, B·P): W is stored (OC, K), hence
   * trans_a. col is no longer needed, so dcol overwrites it. */
  if (node->din[0])
    {
      weft_sgemm (TRUE, FALSE, K, (int) BP, g.OC, 1.f, node->w[0], K, dY, (int) BP,
                  0.f, col, (int) BP);
      conv_col2im (&g, B, col, node->din[0]);
    }
}

static guint64
conv_flops (const WeftNode *node)
{
  ConvGeom g = conv_geom (node);
  return 2ull * g.OC * conv_patch (&g) * g.OH * g.OW;
}

const WeftBlock weft_block_conv2d = {
  .type = "conv2d", .group = "layers", .title = "Conv2D",
  .blurb = "Slides small learned filters over an image (or spectrogram) to detect local patterns such as edges and textures.",
  .params = conv2d_params, .n_params = G_N_ELEMENTS (conv2d_params),
  .ports = conv_ports, .min_inputs = 1, .max_inputs = 1,
  .infer = conv_infer, .forward = conv_forward,
  .backward = conv_backward, .flops = conv_flops,
};

const WeftBlock weft_block_conv1d = {
  .type = "conv1d", .group = "layers", .title = "Conv1D",
  .blurb = "Slides learned filters along a sequence (channels × length), such as the frames of a sound, to detect local patterns in time.",
  .params = conv1d_params, .n_params = G_N_ELEMENTS (conv1d_params),
  .ports = conv_ports, .min_inputs = 1, .max_inputs = 1,
  .infer = conv_infer, .forward = conv_forward,
  .backward = conv_backward, .flops = conv_flops,
};
