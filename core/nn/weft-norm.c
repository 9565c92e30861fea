/* weft-norm.c — LayerNorm (last dim), BatchNorm (per channel, with running
 * statistics) and L2-normalize, as F.layer_norm, F.batch_norm, F.normalize. */
#include "weft-block.h"

#include <math.h>
#include <string.h>

static const char *const norm_ports[] = { "in", NULL };

/* ---- LayerNorm: y = (x − mean) / sqrt(var + eps) · weight + bias ---- */

enum { LN_EPS, LN_AFFINE };

static const WeftParamSpec layernorm_params[] = {
  { "eps", WEFT_PARAM_FLOAT, 1e-5, 1e-12, 1, NULL,
    "Small number added to the variance so that a constant input does not divide by zero." },
  { "affine", WEFT_PARAM_BOOL, 1, 0, 1, NULL,
    "Learn a scale and an offset per feature after normalising." },
};

static int
layernorm_dim (const WeftNode *node)
{
  const WeftShape *s = &node->in_shape[0];
  return s->d[s->n - 1];
}

static gboolean
layernorm_infer (WeftNode *node, GError **error)
{
  int D = layernorm_dim (node);

  node->out_shape = node->in_shape[0];
  if (node->p[LN_AFFINE])
    {
      int w = weft_node_add_weight (node, "weight", weft_shape_1 (D), WEFT_INIT_ONES, 0, D, D);
      weft_node_weight_no_decay (node, w);
      int b = weft_node_add_weight (node, "bias", weft_shape_1 (D), WEFT_INIT_ZEROS, 0, D, D);
      weft_node_weight_no_decay (node, b);
    }
  /* mean and 1/std of every row, for backward */
  node->scratch_per_sample = 2 * (weft_node_in_size (node, 0) / D);
  return TRUE;
}

static void
layernorm_forward (WeftNode *node, const WeftPass *pass)
{
  int D = layernorm_dim (node);
  gsize N = pass->B * weft_node_in_size (node, 0) / D;
  float eps = (float) node->p[LN_EPS];
  const float *w = node->p[LN_AFFINE] ? node->w[0] : NULL; /* (D) */
  const float *b = node->p[LN_AFFINE] ? node->w[1] : NULL; /* (D) */
  float *stats = node->scratch;                            /* (N, 2) */

  for (gsize r = 0; r < N; r++)
    {
      const float *x = node->in[0] + r * D; /* (D) */
      float *y = node->out + r * D;         /* (D) */
      double s = 0, ss = 0;
      for (int i = 0; i < D; i++)
        s += x[i];
      float mean = (float) (s / D);
      for (int i = 0; i < D; i++)
        ss += (double) (x[i] - mean) * (x[i] - mean);
      float rstd = 1.f / sqrtf ((float) (ss / D) + eps);
      stats[2 * r] = mean;
      stats[2 * r + 1] = rstd;
      if (w)
        for (int i = 0; i < D; i++)
          y[i] = (x[i] - mean) * rstd * w[i] + b[i];
      else
        for (int i = 0; i < D; i++)
          y[i] = (x[i] - mean) * rstd;
    }
}

static void
layernorm_backward (WeftNode *node, const WeftPass *pass)
{
  int D = layernorm_dim (node);
  gsize N = pass->B * weft_node_in_size (node, 0) / D;
  gboolean affine = node->p[LN_AFFINE] != 0;
  const float *w = affine ? node->w[0] : NULL;
  float *dw = affine ? node->dw[0] : NULL;
  float *db = affine ? node->dw[1] : NULL;
  const float *stats = node->scratch;

  for (gsize r = 0; r < N; r++)
    {
      const float *x = node->in[0] + r * D;
      const float *dy = node->dout + r * D;
      float mean = stats[2 * r], rstd = stats[2 * r + 1];

      /* With g = dy·weight and x̂ the normalised input:
       * dx = rstd · (g − mean(g) − x̂ · mean(g · x̂)). */
      double sg = 0, sgx = 0;
      for (int i = 0; i < D; i++)
        {
          float xh = (x[i] - mean) * rstd;
          float g = w ? dy[i] * w[i] : dy[i];
          sg += g;
          sgx += (double) g * xh;
          if (dw)
            dw[i] += dy[i] * xh;
          if (db)
            db[i] += dy[i];
        }
      if (node->din[0] == NULL)
        continue;
      float mg = (float) (sg / D), mgx = (float) (sgx / D);
      float *dx = node->din[0] + r * D;
      for (int i = 0; i < D; i++)
        {
          float xh = (x[i] - mean) * rstd;
          float g = w ? dy[i] * w[i] : dy[i];
          dx[i] += rstd * (g - mg - xh * mgx);
        }
    }
}

static guint64
layernorm_flops (const WeftNode *node)
{
  return 8ull * weft_node_in_size (node, 0);
}

const WeftBlock weft_block_layernorm = {
  .type = "layernorm", .group = "layers", .title = "LayerNorm",
  .blurb = "Rescales each sample's features to mean 0 and variance 1 (then learns a scale and offset), which steadies training.",
  .params = layernorm_params, .n_params = G_N_ELEMENTS (layernorm_params),
  .ports = norm_ports, .min_inputs = 1, .max_inputs = 1,
  .infer = layernorm_infer, .forward = layernorm_forward,
  .backward = layernorm_backward, .flops = layernorm_flops,
};

/* ---- BatchNorm: per channel over the batch (and positions) ----
 *
 * Input (C) is BatchNorm1d over features, (C, L) BatchNorm1d over
 * channels, (C, H, W) BatchNorm2d: always channel c = first dim, and the
 * statistics run over the batch and every position after it. */

enum { BN_MOMENTUM, BN_EPS };
enum { BN_WEIGHT, BN_BIAS, BN_RUNNING_MEAN, BN_RUNNING_VAR };

static const WeftParamSpec batchnorm_params[] = {
  { "momentum", WEFT_PARAM_FLOAT, 0.1, 0, 1, NULL,
    "How fast the running averages used after training follow each batch (0.1: slowly)." },
  { "eps", WEFT_PARAM_FLOAT, 1e-5, 1e-12, 1, NULL,
    "Small number added to the variance so that a constant channel does not divide by zero." },
};

static gboolean
batchnorm_infer (WeftNode *node, GError **error)
{
  const WeftShape *s = &node->in_shape[0];

  if (s->n > 3)
    {
      g_autofree char *str = weft_shape_to_string (s);
      return weft_node_error (node, error,
                              "BatchNorm takes features (C), a sequence (channels, length) or an "
                              "image (channels, height, width); input 1 has shape %s", str);
    }
  int C = s->d[0];
  node->out_shape = *s;
  int w = weft_node_add_weight (node, "weight", weft_shape_1 (C), WEFT_INIT_ONES, 0, C, C);
  weft_node_weight_no_decay (node, w);
  int b = weft_node_add_weight (node, "bias", weft_shape_1 (C), WEFT_INIT_ZEROS, 0, C, C);
  weft_node_weight_no_decay (node, b);
  int rm = weft_node_add_weight (node, "running_mean", weft_shape_1 (C), WEFT_INIT_ZEROS, 0, C, C);
  weft_node_weight_buffer (node, rm);
  int rv = weft_node_add_weight (node, "running_var", weft_shape_1 (C), WEFT_INIT_ONES, 0, C, C);
  weft_node_weight_buffer (node, rv);
  /* a flag (did forward use batch statistics), then the mean and 1/std
   * that forward normalised each channel with */
  node->scratch_fixed = 1 + 2 * (gsize) C;
  return TRUE;
}

static void
batchnorm_forward (WeftNode *node, const WeftPass *pass)
{
  int B = pass->B, C = node->in_shape[0].d[0];
  gsize S = weft_node_in_size (node, 0) / C;  /* positions per channel */
  gsize N = B * S;
  float eps = (float) node->p[BN_EPS], m = (float) node->p[BN_MOMENTUM];
  const float *w = node->w[BN_WEIGHT], *bias = node->w[BN_BIAS];
  float *rmean = node->w[BN_RUNNING_MEAN], *rvar = node->w[BN_RUNNING_VAR];
  float *mean = node->scratch + 1, *rstd = mean + C;

  node->scratch[0] = pass->training;
  for (int c = 0; c < C; c++)
    {
      if (pass->training)
        {
          double s = 0, ss = 0;
          for (int b = 0; b < B; b++)
            {
              const float *x = node->in[0] + ((gsize) b * C + c) * S; /* (S) */
              for (gsize i = 0; i < S; i++)
                s += x[i];
            }
          double mu = s / N;
          for (int b = 0; b < B; b++)
            {
              const float *x = node->in[0] + ((gsize) b * C + c) * S;
              for (gsize i = 0; i < S; i++)
                ss += (x[i] - mu) * (x[i] - mu);
            }
          /* Normalise with the biased variance; the running estimate takes
           * the unbiased one, as PyTorch (a single value per channel has
           * no spread to correct, and keeps the biased 0). */
          double var = ss / N;
          double unbiased = N > 1 ? ss / (N - 1) : var;
          mean[c] = (float) mu;
          rstd[c] = 1.f / sqrtf ((float) var + eps);
          rmean[c] = (1.f - m) * rmean[c] + m * (float) mu;
          rvar[c] = (1.f - m) * rvar[c] + m * (float) unbiased;
        }
      else
        {
          mean[c] = rmean[c];
          rstd[c] = 1.f / sqrtf (rvar[c] + eps);
        }

      float a = rstd[c] * w[c], o = bias[c] - mean[c] * a;  /* y = a·x + o */
      for (int b = 0; b < B; b++)
        {
          const float *x = node->in[0] + ((gsize) b * C + c) * S;
          float *y = node->out + ((gsize) b * C + c) * S;
          for (gsize i = 0; i < S; i++)
            y[i] = a * x[i] + o;
        }
    }
}

static void
batchnorm_backward (WeftNode *node, const WeftPass *pass)
{
  int B = pass->B, C = node->in_shape[0].d[0];
  gsize S = weft_node_in_size (node, 0) / C;
  gsize N = B * S;
  gboolean batch_stats = node->scratch[0] != 0.f;
  const float *w = node->w[BN_WEIGHT];
  float *dw = node->dw[BN_WEIGHT], *db = node->dw[BN_BIAS];
  const float *mean = node->scratch + 1, *rstd = mean + C;

  for (int c = 0; c < C; c++)
    {
      double sdy = 0, sdyx = 0;
      for (int b = 0; b < B; b++)
        {
          const float *x = node->in[0] + ((gsize) b * C + c) * S;
          const float *dy = node->dout + ((gsize) b * C + c) * S;
          for (gsize i = 0; i < S; i++)
            {
              sdy += dy[i];
              sdyx += (double) dy[i] * ((x[i] - mean[c]) * rstd[c]);
            }
        }
      if (dw)
        dw[c] += (float) sdyx;
      if (db)
        db[c] += (float) sdy;
      if (node->din[0] == NULL)
        continue;

      /* With batch statistics the mean and variance depend on x too:
       * dx = w·rstd · (dy − mean(dy) − x̂ · mean(dy · x̂)); with running
       * statistics they are constants and dx = w·rstd · dy. */
      float k = w[c] * rstd[c];
      float mdy = batch_stats ? (float) (sdy / N) : 0.f;
      float mdyx = batch_stats ? (float) (sdyx / N) : 0.f;
      for (int b = 0; b < B; b++)
        {
          const float *x = node->in[0] + ((gsize) b * C + c) * S;
          const float *dy = node->dout + ((gsize) b * C + c) * S;
          float *dx = node->din[0] + ((gsize) b * C + c) * S;
          for (gsize i = 0; i < S; i++)
            {
              float xh = (x[i] - mean[c]) * rstd[c];
              dx[i] += k * (dy[i] - mdy - xh * mdyx);
            }
        }
    }
}

static guint64
batchnorm_flops (const WeftNode *node)
{
  return 2ull * weft_node_in_size (node, 0);
}

const WeftBlock weft_block_batchnorm = {
  .type = "batchnorm", .group = "layers", .title = "BatchNorm",
  .blurb = "Rescales each channel to mean 0 and variance 1 using statistics of the batch during training and running averages afterwards.",
  .params = batchnorm_params, .n_params = G_N_ELEMENTS (batchnorm_params),
  .ports = norm_ports, .min_inputs = 1, .max_inputs = 1,
  .infer = batchnorm_infer, .forward = batchnorm_forward,
  .backward = batchnorm_backward, .flops = batchnorm_flops,
};

/* ---- L2-normalize: y = x / max(‖x‖, eps) over the last dim ---- */

enum { L2_EPS };

static const WeftParamSpec l2norm_params[] = {
  { "eps", WEFT_PARAM_FLOAT, 1e-12, 0, 1, NULL,
    "Smallest length divided by, so that an all-zero vector stays zero." },
};

static gboolean
l2norm_infer (WeftNode *node, GError **error)
{
  const WeftShape *s = &node->in_shape[0];

  node->out_shape = *s;
  node->scratch_per_sample = weft_node_in_size (node, 0) / s->d[s->n - 1];  /* divisor per row */
  return TRUE;
}

static void
l2norm_forward (WeftNode *node, const WeftPass *pass)
{
  const WeftShape *s = &node->in_shape[0];
  int D = s->d[s->n - 1];
  gsize N = pass->B * weft_node_in_size (node, 0) / D;
  float eps = (float) node->p[L2_EPS];

  for (gsize r = 0; r < N; r++)
    {
      const float *x = node->in[0] + r * D;
      float *y = node->out + r * D;
      double ss = 0;
      for (int i = 0; i < D; i++)
        ss += (double) x[i] * x[i];
      float d = MAX ((float) sqrt (ss), eps);
      node->scratch[r] = d;
      float inv = 1.f / d;
      for (int i = 0; i < D; i++)
        y[i] = x[i] * inv;
    }
}

static void
l2norm_backward (WeftNode *node, const WeftPass *pass)
{
  if (node->din[0] == NULL)
    return;
  const WeftShape *s = &node->in_shape[0];
  int D = s->d[s->n - 1];
  gsize N = pass->B * weft_node_in_size (node, 0) / D;
  float eps = (float) node->p[L2_EPS];

  for (gsize r = 0; r < N; r++)
    {
      const float *y = node->out + r * D;
      const float *dy = node->dout + r * D;
      float *dx = node->din[0] + r * D;
      float d = node->scratch[r], inv = 1.f / d;
      /* Above eps the divisor is ‖x‖: dx = (dy − y · (y·dy)) / ‖x‖.
       * Clamped to eps it is a constant: dx = dy / eps. */
      double ydy = 0;
      if (d > eps)
        for (int i = 0; i < D; i++)
          ydy += (double) y[i] * dy[i];
      float p = (float) ydy;
      for (int i = 0; i < D; i++)
        dx[i] += (dy[i] - y[i] * p) * inv;
    }
}

static guint64
l2norm_flops (const WeftNode *node)
{
  return 3ull * weft_node_in_size (node, 0);
}

const WeftBlock weft_block_l2norm = {
  .type = "l2norm", .group = "layers", .title = "L2-normalize",
  .blurb = "Scales each vector to length 1, so that only its direction counts (as for embeddings compared by cosine similarity).",
  .params = l2norm_params, .n_params = G_N_ELEMENTS (l2norm_params),
  .ports = norm_ports, .min_inputs = 1, .max_inputs = 1,
  .infer = l2norm_infer, .forward = l2norm_forward,
  .backward = l2norm_backward, .flops = l2norm_flops,
};
