/* weft-losses.c — the training objectives: Cross-entropy, symmetric InfoNCE
 * (CLIP), Triplet and MSE. Each writes its batch mean into out[0] and scales
 * its gradients by the loss weight found in dout[0].
 *
 *  cross_entropy  logits (K), label (1) holding a class index as a float.
 *                 loss_i = -(1-ε) log p_i[y_i] - (ε/K) Σ_j log p_i[j],
 *                 p = softmax(logits); mean over labelled rows =
 *                 F.cross_entropy(logits, y, label_smoothing=ε) with rows
 *                 whose label is negative left out (0 when none is left).
 *                 A label >= K (or NaN) is treated as unlabelled too and
 *                 counted in scratch[0] for the data layer to report.
 *  infonce        a, b (D) as given — it does NOT normalise, so put a
 *                 Projection (normalize on) or L2 norm before it.
 *                 s = exp(min(t, log 100)), logits = s A Bᵀ (B×B),
 *                 L = (CE(logits, arange(B)) + CE(logitsᵀ, arange(B))) / 2
 *                 as CLIP; weight "logit_scale" t (1), init log(1/T0). The
 *                 clamp passes the gradient while t <= log 100 (torch.clamp).
 *                 With learn_temperature off, t is a buffer (never trained).
 *  triplet        anchor, positive [, negative] (D); without a negative,
 *                 row i uses positive row (i+1) mod B.
 *                 L = mean_i max(0, d(a_i, p_i) - d(a_i, n_i) + margin),
 *                 d(x, y) = ‖x - y + 1e-6‖₂ = F.triplet_margin_loss(p=2,
 *                 eps=1e-6), which adds eps inside pairwise_distance.
 *  mse            prediction, target of equal shapes; L = mean (p - t)² over
 *                 every element (F.mse_loss); the target gets -dL/dp when
 *                 its gradient is wanted.
 */
#include "weft-block.h"

#include <math.h>
#include <string.h>

#include "tensor/weft-blas.h"

/* ---- Cross-entropy ----------------------------------------------------- */

enum { CE_SMOOTHING };

static const WeftParamSpec ce_params[] = {
  { "label_smoothing", WEFT_PARAM_FLOAT, 0, 0, 0.5, NULL,
    "Moves this share of the target away from the true class, spread over all classes; discourages over-confident predictions." },
};

static const char *const ce_ports[] = { "logits", "label", NULL };

/* scratch: [0] labels out of range in the last forward, [1] labelled rows,
 * then softmax probabilities (B, K) for backward. */
#define CE_FIXED 2

static gboolean
ce_infer (WeftNode *node, GError **error)
{
  const WeftShape *s = &node->in_shape[0];

  if (s->n != 1)
    {
      g_autofree char *str = weft_shape_to_string (s);
      return weft_node_error (node, error,
                              "input 1 has shape %s, but Cross-entropy wants one score per class (a vector); "
                              "add a Classifier before it", str);
    }
  if (weft_node_in_size (node, 1) != 1)
    {
      g_autofree char *str = weft_shape_to_string (&node->in_shape[1]);
      return weft_node_error (node, error,
                              "input 2 has shape %s, but Cross-entropy wants one class label per sample", str);
    }
  node->out_shape = weft_shape_1 (1);
  node->scratch_fixed = CE_FIXED;
  node->scratch_per_sample = s->d[0];
  return TRUE;
}

static void
ce_forward (WeftNode *node, const WeftPass *pass)
{
  int K = node->in_shape[0].d[0];
  float eps = (float) node->p[CE_SMOOTHING];
  const float *x = node->in[0];               /* (B, K) */
  const float *lab = node->in[1];             /* (B) */
  float *prob = node->scratch + CE_FIXED;     /* (B, K) */
  int bad = 0, n = 0;
  double total = 0;

  for (int r = 0; r < pass->B; r++)
    {
      float y = lab[r];
      if (!(y >= 0.f))
        {
          if (isnan (y))
            bad++;
          continue;
        }
      if (!(y < K))
        {
          bad++;
          continue;
        }
      const float *xr = x + (gsize) r * K;
      float *pr = prob + (gsize) r * K;
      float m = xr[0];
      for (int j = 1; j < K; j++)
        m = MAX (m, xr[j]);
      double s = 0, sx = 0;
      for (int j = 0; j < K; j++)
        {
          pr[j] = expf (xr[j] - m);
          s += pr[j];
          sx += xr[j];
        }
      double lse = m + log (s);
      for (int j = 0; j < K; j++)
        pr[j] = (float) (pr[j] / s);
      /* -log p[y] = lse - x[y]; -Σ_j log p[j] = K lse - Σ x */
      double li = (1.0 - eps) * (lse - xr[(int) y]);
      if (eps > 0.f)
        li += eps * (lse - sx / K);
      total += li;
      n++;
    }
  node->scratch[0] = bad;
  node->scratch[1] = n;
  node->out[0] = n > 0 ? (float) (total / n) : 0.f;
}

static void
ce_backward (WeftNode *node, const WeftPass *pass)
{
  int K = node->in_shape[0].d[0];
  float eps = (float) node->p[CE_SMOOTHING];
  const float *lab = node->in[1];
  const float *prob = node->scratch + CE_FIXED;
  int n = (int) node->scratch[1];
  float *dx = node->din[0];

  if (dx == NULL || n == 0)
    return;
  /* d loss_i / d x_j = p_j - (1-ε) [j = y] - ε/K, times weight / n */
  float c = node->dout[0] / n;
  for (int r = 0; r < pass->B; r++)
    {
      float y = lab[r];
      if (!(y >= 0.f && y < K))
        continue;
      const float *pr = prob + (gsize) r * K;
      float *dxr = dx + (gsize) r * K;
      for (int j = 0; j < K; j++)
        dxr[j] += c * (pr[j] - eps / K);
      dxr[(int) y] -= c * (1.f - eps);
    }
}

static guint64
ce_flops (const WeftNode *node)
{
  return 5ull * node->in_shape[0].d[0];
}

const WeftBlock weft_block_cross_entropy = {
  .type = "cross_entropy", .group = "losses", .title = "Cross-entropy",
  .blurb = "Classification loss: rewards giving a high score to the true class. Samples without a label are skipped.",
  .flags = WEFT_BLOCK_LOSS,
  .params = ce_params, .n_params = G_N_ELEMENTS (ce_params),
  .ports = ce_ports, .min_inputs = 2, .max_inputs = 2,
  .infer = ce_infer, .forward = ce_forward,
  .backward = ce_backward, .flops = ce_flops,
};

/* ---- InfoNCE ----------------------------------------------------------- */

enum { NCE_LEARN_T, NCE_INIT_T };

static const WeftParamSpec nce_params[] = {
  { "learn_temperature", WEFT_PARAM_BOOL, 1, 0, 1, NULL,
    "Let training adjust how sharply the loss separates matching from non-matching pairs." },
  { "init_temperature", WEFT_PARAM_FLOAT, 0.07, 0.001, 10, NULL,
    "Starting temperature: smaller values make the loss focus on the hardest non-matching pairs." },
};

static const char *const nce_ports[] = { "a", "b", NULL };

/* log 100 in float, the largest logit scale CLIP allows */
#define NCE_MAX_LOG_SCALE 4.6051701859880914f

static gboolean
nce_infer (WeftNode *node, GError **error)
{
  if (!weft_shape_equal (&node->in_shape[0], &node->in_shape[1]))
    {
      g_autofree char *a = weft_shape_to_string (&node->in_shape[1]);
      g_autofree char *b = weft_shape_to_string (&node->in_shape[0]);
      return weft_node_error (node, error,
                              "input 2 has shape %s, expected %s like input 1: InfoNCE compares embeddings of the same size",
                              a, b);
    }
  node->out_shape = weft_shape_1 (1);
  int w = weft_node_add_weight (node, "logit_scale", weft_shape_1 (1), WEFT_INIT_CONST,
                                (float) log (1.0 / node->p[NCE_INIT_T]), 1, 1);
  if (node->p[NCE_LEARN_T])
    weft_node_weight_no_decay (node, w);
  else
    weft_node_weight_buffer (node, w);
  return TRUE;
}

/* logits (B, B), their gradient (B, B), row and column log-sum-exp (B each) */
static gsize
nce_scratch_size (const WeftNode *node, int max_batch)
{
  gsize B = max_batch;
  return 2 * B * B + 2 * B;
}

static void
nce_forward (WeftNode *node, const WeftPass *pass)
{
  int B = pass->B;
  int D = (int) weft_node_in_size (node, 0);
  float t = MIN (node->w[0][0], NCE_MAX_LOG_SCALE);
  float s = expf (t);
  float *L = node->scratch;                     /* (B, B) */
  float *rlse = L + 2 * (gsize) B * B;          /* (B) */
  float *clse = rlse + B;                       /* (B) */

  /* L (B, B) = s · A (B, D) · Bᵀ; b is stored (B, D), hence trans_b */
  weft_sgemm (FALSE, TRUE, B, B, D, s, node->in[0], D, node->in[1], D, 0.f, L, B);

  double total = 0;
  for (int i = 0; i < B; i++)
    {
      const float *row = L + (gsize) i * B;
      float m = row[0];
      for (int j = 1; j < B; j++)
        m = MAX (m, row[j]);
      double acc = 0;
      for (int j = 0; j < B; j++)
        acc += expf (row[j] - m);
      rlse[i] = m + (float) log (acc);
      total += rlse[i] - row[i];
    }
  for (int j = 0; j < B; j++)
    {
      float m = L[j];
      for (int i = 1; i < B; i++)
        m = MAX (m, L[(gsize) i * B + j]);
      double acc = 0;
      for (int i = 0; i < B; i++)
        acc += expf (L[(gsize) i * B + j] - m);
      clse[j] = m + (float) log (acc);
      total += clse[j] - L[(gsize) j * B + j];
    }
  node->out[0] = (float) (total / (2.0 * B));
}

static void
nce_backward (WeftNode *node, const WeftPass *pass)
{
  int B = pass->B;
  int D = (int) weft_node_in_size (node, 0);
  float t = node->w[0][0];
  float s = expf (MIN (t, NCE_MAX_LOG_SCALE));
  const float *L = node->scratch;               /* (B, B) */
  float *G = node->scratch + (gsize) B * B;     /* (B, B) dL/dlogits */
  const float *rlse = G + (gsize) B * B;
  const float *clse = rlse + B;
  float c = node->dout[0] / (2.f * B);

  /* row CE gives softmax_row - I, column CE softmax_col - I */
  double dt = 0;
  for (int i = 0; i < B; i++)
    for (int j = 0; j < B; j++)
      {
        gsize k = (gsize) i * B + j;
        float g = expf (L[k] - rlse[i]) + expf (L[k] - clse[j]) - (i == j ? 2.f : 0.f);
        G[k] = c * g;
        dt += (double) G[k] * L[k];
      }
  /* logits = s A Bᵀ: dA (B, D) += s G (B, B) · Bmat (B, D) */
  if (node->din[0])
    weft_sgemm (FALSE, FALSE, B, D, B, s, G, B, node->in[1], D, 1.f, node->din[0], D);
  /* dBmat (B, D) += s Gᵀ · A; G is (rows of a, rows of b), hence trans_a */
  if (node->din[1])
    weft_sgemm (TRUE, FALSE, B, D, B, s, G, B, node->in[0], D, 1.f, node->din[1], D);
  /* d logits / dt = logits while unclamped (ds/dt = s) */
  if (node->p[NCE_LEARN_T] && node->dw[0] && t <= NCE_MAX_LOG_SCALE)
    node->dw[0][0] += (float) dt;
}

static guint64
nce_flops (const WeftNode *node)
{
  /* per sample, one row of the B × B product at a nominal batch of 64 */
  return 2ull * 64 * weft_node_in_size (node, 0) * 3;
}

const WeftBlock weft_block_infonce = {
  .type = "infonce", .group = "losses", .title = "InfoNCE",
  .blurb = "Contrastive loss (as in CLIP): pulls each pair of matching embeddings together and pushes the other pairs in the batch apart. Feed it normalised embeddings, e.g. from Projection.",
  .flags = WEFT_BLOCK_LOSS,
  .params = nce_params, .n_params = G_N_ELEMENTS (nce_params),
  .ports = nce_ports, .min_inputs = 2, .max_inputs = 2,
  .infer = nce_infer, .forward = nce_forward,
  .backward = nce_backward, .flops = nce_flops,
  .scratch_size = nce_scratch_size,
};

/* ---- Triplet ----------------------------------------------------------- */

enum { TRI_MARGIN };

static const WeftParamSpec tri_params[] = {
  { "margin", WEFT_PARAM_FLOAT, 0.2, 0, 100, NULL,
    "How much closer the matching example must be than the non-matching one before the loss stops pushing." },
};

static const char *const tri_ports[] = { "anchor", "positive", "negative", NULL };

#define TRI_EPS 1e-6f

static gboolean
tri_infer (WeftNode *node, GError **error)
{
  for (int i = 1; i < node->n_in; i++)
    if (!weft_shape_equal (&node->in_shape[i], &node->in_shape[0]))
      {
        g_autofree char *a = weft_shape_to_string (&node->in_shape[i]);
        g_autofree char *b = weft_shape_to_string (&node->in_shape[0]);
        return weft_node_error (node, error,
                                "input %d has shape %s, expected %s like the anchor", i + 1, a, b);
      }
  node->out_shape = weft_shape_1 (1);
  node->scratch_per_sample = 2;                 /* d(a,p), d(a,n) */
  return TRUE;
}

/* the row holding sample i's negative, and the tensor it lives in */
static const float *
tri_negative (const WeftNode *node, int B, int i, int *row)
{
  if (node->n_in == 3)
    {
      *row = i;
      return node->in[2];
    }
  *row = (i + 1) % B;
  return node->in[1];
}

static float
tri_dist (const float *x, const float *y, int D)
{
  double ss = 0;
  for (int j = 0; j < D; j++)
    {
      float d = x[j] - y[j] + TRI_EPS;
      ss += (double) d * d;
    }
  return (float) sqrt (ss);
}

static void
tri_forward (WeftNode *node, const WeftPass *pass)
{
  int B = pass->B;
  int D = (int) weft_node_in_size (node, 0);
  float margin = (float) node->p[TRI_MARGIN];
  float *dist = node->scratch;                  /* (B, 2) */
  double total = 0;

  for (int i = 0; i < B; i++)
    {
      int nr;
      const float *neg = tri_negative (node, B, i, &nr);
      const float *a = node->in[0] + (gsize) i * D;
      dist[2 * i] = tri_dist (a, node->in[1] + (gsize) i * D, D);
      dist[2 * i + 1] = tri_dist (a, neg + (gsize) nr * D, D);
      total += MAX (dist[2 * i] - dist[2 * i + 1] + margin, 0.f);
    }
  node->out[0] = (float) (total / B);
}

static void
tri_backward (WeftNode *node, const WeftPass *pass)
{
  int B = pass->B;
  int D = (int) weft_node_in_size (node, 0);
  float margin = (float) node->p[TRI_MARGIN];
  const float *dist = node->scratch;
  float c = node->dout[0] / B;

  for (int i = 0; i < B; i++)
    {
      /* clamp_min passes the gradient at >= 0, as torch does */
      if (!(dist[2 * i] - dist[2 * i + 1] + margin >= 0.f))
        continue;
      int nr;
      const float *neg = tri_negative (node, B, i, &nr);
      float *dneg = node->n_in == 3 ? node->din[2] : node->din[1];
      const float *a = node->in[0] + (gsize) i * D;
      const float *p = node->in[1] + (gsize) i * D;
      const float *n = neg + (gsize) nr * D;
      /* d‖u‖/du = u/‖u‖ with u = x - y + eps; 0 at u = 0 like torch */
      float cp = dist[2 * i] > 0.f ? c / dist[2 * i] : 0.f;
      float cn = dist[2 * i + 1] > 0.f ? c / dist[2 * i + 1] : 0.f;
      for (int j = 0; j < D; j++)
        {
          float up = cp * (a[j] - p[j] + TRI_EPS);
          float un = cn * (a[j] - n[j] + TRI_EPS);
          if (node->din[0])
            node->din[0][(gsize) i * D + j] += up - un;
          if (node->din[1])
            node->din[1][(gsize) i * D + j] -= up;
          if (dneg)
            dneg[(gsize) nr * D + j] += un;
        }
    }
}

static guint64
tri_flops (const WeftNode *node)
{
  return 6ull * weft_node_in_size (node, 0);
}

const WeftBlock weft_block_triplet = {
  .type = "triplet", .group = "losses", .title = "Triplet",
  .blurb = "Metric-learning loss: an anchor must be closer to its positive than to a negative by a margin. Without a negative input, another sample of the batch serves as one.",
  .flags = WEFT_BLOCK_LOSS,
  .params = tri_params, .n_params = G_N_ELEMENTS (tri_params),
  .ports = tri_ports, .min_inputs = 2, .max_inputs = 3,
  .infer = tri_infer, .forward = tri_forward,
  .backward = tri_backward, .flops = tri_flops,
};

/* ---- MSE --------------------------------------------------------------- */

static const char *const mse_ports[] = { "prediction", "target", NULL };

static gboolean
mse_infer (WeftNode *node, GError **error)
{
  if (!weft_shape_equal (&node->in_shape[0], &node->in_shape[1]))
    {
      g_autofree char *a = weft_shape_to_string (&node->in_shape[1]);
      g_autofree char *b = weft_shape_to_string (&node->in_shape[0]);
      return weft_node_error (node, error,
                              "input 2 has shape %s, but the prediction has %s; MSE compares tensors of the same shape",
                              a, b);
    }
  node->out_shape = weft_shape_1 (1);
  return TRUE;
}

static void
mse_forward (WeftNode *node, const WeftPass *pass)
{
  gsize N = pass->B * weft_node_in_size (node, 0);
  const float *p = node->in[0], *t = node->in[1];
  double total = 0;

  for (gsize i = 0; i < N; i++)
    {
      float d = p[i] - t[i];
      total += (double) d * d;
    }
  node->out[0] = (float) (total / N);
}

static void
mse_backward (WeftNode *node, const WeftPass *pass)
{
  gsize N = pass->B * weft_node_in_size (node, 0);
  const float *p = node->in[0], *t = node->in[1];
  float c = 2.f * node->dout[0] / N;

  for (gsize i = 0; i < N; i++)
    {
      float g = c * (p[i] - t[i]);
      if (node->din[0])
        node->din[0][i] += g;
      if (node->din[1])
        node->din[1][i] -= g;
    }
}

static guint64
mse_flops (const WeftNode *node)
{
  return 3ull * weft_node_in_size (node, 0);
}

const WeftBlock weft_block_mse = {
  .type = "mse", .group = "losses", .title = "MSE",
  .blurb = "Reconstruction loss: the average squared difference between a prediction and its target.",
  .flags = WEFT_BLOCK_LOSS,
  .params = NULL, .n_params = 0,
  .ports = mse_ports, .min_inputs = 2, .max_inputs = 2,
  .infer = mse_infer, .forward = mse_forward,
  .backward = mse_backward, .flops = mse_flops,
};
