/* weft-heads.c — the blocks that turn a representation into what a loss
 * wants: Classifier (class logits), Projection (a point in the joint
 * embedding space) and Decoder (a reconstruction of another tensor).
 *
 *  classifier  y = W x + b, x a vector (D); weight (K, D), bias (K);
 *              nn.Linear(D, K). Produces logits: the softmax lives in the
 *              cross-entropy loss.
 *  projection  u = W x [+ b] on the last dim; y = u / max(‖u‖₂, 1e-12) when
 *              normalize is on (F.normalize(F.linear(x, W, b), dim=-1));
 *              weight (dim, D) [, bias (dim)].
 *  decoder     y = act (W_o relu (W_h z + b_h) + b_o), reshaped to the shape
 *              of the second input, whose values are never read (it only
 *              names the shape to rebuild, and gets no gradient); z is the
 *              first input flattened. Weights hidden.weight (H, D),
 *              hidden.bias (H), out.weight (P, H), out.bias (P) with
 *              P = size of the target; act is none or sigmoid.
 */
#include "weft-block.h"

#include <math.h>
#include <string.h>

#include "tensor/weft-blas.h"
#include "weft-activation.h"

/* y (N, out) = x (N, in) · Wᵀ [+ b]; W stored (out, in) as nn.Linear,
 * hence trans_b. */
static void
heads_linear_forward (float *y, const float *x, const float *W, const float *b,
                      int N, int in, int out)
{
  if (b)
    for (int r = 0; r < N; r++)
      memcpy (y + (gsize) r * out, b, out * sizeof (float));
  weft_sgemm (FALSE, TRUE, N, out, in, 1.f, x, in, W, in, b ? 1.f : 0.f, y, out);
}

/* Accumulates dx, dW, db for the layer above; any of them may be NULL. */
static void
heads_linear_backward (float *dx, float *dW, float *db, const float *dy,
                       const float *x, const float *W, int N, int in, int out)
{
  /* dx (N, in) += dy (N, out) · W (out, in) */
  if (dx)
    weft_sgemm (FALSE, FALSE, N, in, out, 1.f, dy, out, W, in, 1.f, dx, in);
  /* dW (out, in) += dyᵀ (out, N) · x (N, in) */
  if (dW)
    weft_sgemm (TRUE, FALSE, out, in, N, 1.f, dy, out, x, in, 1.f, dW, in);
  if (db)
    for (int r = 0; r < N; r++)
      for (int j = 0; j < out; j++)
        db[j] += dy[(gsize) r * out + j];
}

/* ---- Classifier -------------------------------------------------------- */

enum { CLS_CLASSES };

static const WeftParamSpec classifier_params[] = {
  { "classes", WEFT_PARAM_INT, 0, 1, 1000000, NULL,
    "Number of classes to choose from; 0 takes it from the dataset's labels.",
    WEFT_PARAM_BIND_CLASSES },
};

static const char *const classifier_ports[] = { "in", NULL };

static gboolean
classifier_infer (WeftNode *node, GError **error)
{
  const WeftShape *s = &node->in_shape[0];
  int K = (int) node->p[CLS_CLASSES];

  if (s->n != 1)
    {
      g_autofree char *str = weft_shape_to_string (s);
      return weft_node_error (node, error,
                              "Classifier takes a vector, but its input has shape %s; "
                              "add Flatten or Global pool before it", str);
    }
  if (K < 1)
    return weft_node_error (node, error,
                            "the number of classes is not known yet; set 'classes' or "
                            "use a dataset with labels");
  int D = s->d[0];
  node->out_shape = weft_shape_1 (K);
  weft_node_add_weight (node, "weight", weft_shape_2 (K, D), WEFT_INIT_XAVIER, 0, D, K);
  int b = weft_node_add_weight (node, "bias", weft_shape_1 (K), WEFT_INIT_ZEROS, 0, D, K);
  weft_node_weight_no_decay (node, b);
  return TRUE;
}

static void
classifier_forward (WeftNode *node, const WeftPass *pass)
{
  int K = node->w_spec[0].shape.d[0], D = node->w_spec[0].shape.d[1];
  heads_linear_forward (node->out, node->in[0], node->w[0], node->w[1], pass->B, D, K);
}

static void
classifier_backward (WeftNode *node, const WeftPass *pass)
{
  int K = node->w_spec[0].shape.d[0], D = node->w_spec[0].shape.d[1];
  heads_linear_backward (node->din[0], node->dw[0], node->dw[1], node->dout,
                         node->in[0], node->w[0], pass->B, D, K);
}

static guint64
classifier_flops (const WeftNode *node)
{
  return 2ull * node->w_spec[0].shape.d[0] * node->w_spec[0].shape.d[1];
}

const WeftBlock weft_block_classifier = {
  .type = "classifier", .group = "heads", .title = "Classifier",
  .blurb = "Scores every class from a feature vector; pair it with a Cross-entropy loss.",
  .params = classifier_params, .n_params = G_N_ELEMENTS (classifier_params),
  .ports = classifier_ports, .min_inputs = 1, .max_inputs = 1,
  .infer = classifier_infer, .forward = classifier_forward,
  .backward = classifier_backward, .flops = classifier_flops,
};

/* ---- Projection -------------------------------------------------------- */

enum { PROJ_DIM, PROJ_BIAS, PROJ_NORMALIZE };

static const WeftParamSpec projection_params[] = {
  { "dim", WEFT_PARAM_INT, 64, 1, 65536, NULL,
    "Size of the shared embedding space that all modalities are projected into." },
  { "bias", WEFT_PARAM_BOOL, 0, 0, 1, NULL,
    "Add a learned offset before normalising (usually off for joint embeddings)." },
  { "normalize", WEFT_PARAM_BOOL, 1, 0, 1, NULL,
    "Scale every output to length 1, so that similarity is the angle between embeddings." },
};

static const char *const projection_ports[] = { "in", NULL };

static int
projection_rows (const WeftNode *node)
{
  const WeftShape *s = &node->in_shape[0];
  int r = 1;
  for (int i = 0; i < s->n - 1; i++)
    r *= s->d[i];
  return r;
}

static gboolean
projection_infer (WeftNode *node, GError **error)
{
  const WeftShape *s = &node->in_shape[0];
  int D = s->d[s->n - 1];
  int dim = (int) node->p[PROJ_DIM];

  node->out_shape = *s;
  node->out_shape.d[s->n - 1] = dim;
  weft_node_add_weight (node, "weight", weft_shape_2 (dim, D), WEFT_INIT_XAVIER, 0, D, dim);
  if (node->p[PROJ_BIAS])
    {
      int b = weft_node_add_weight (node, "bias", weft_shape_1 (dim), WEFT_INIT_ZEROS, 0, D, dim);
      weft_node_weight_no_decay (node, b);
    }
  /* per row: its norm before normalising, and a row for d(pre-norm) */
  if (node->p[PROJ_NORMALIZE])
    node->scratch_per_sample = (gsize) projection_rows (node) * (dim + 1);
  return TRUE;
}

#define PROJ_EPS 1e-12f

static void
projection_forward (WeftNode *node, const WeftPass *pass)
{
  int N = pass->B * projection_rows (node);
  int dim = node->w_spec[0].shape.d[0], D = node->w_spec[0].shape.d[1];
  float *y = node->out;                         /* (N, dim) */

  heads_linear_forward (y, node->in[0], node->w[0],
                        node->p[PROJ_BIAS] ? node->w[1] : NULL, N, D, dim);
  if (!node->p[PROJ_NORMALIZE])
    return;
  float *norm = node->scratch;                  /* (N) */
  for (int r = 0; r < N; r++)
    {
      float *yr = y + (gsize) r * dim;
      double ss = 0;
      for (int j = 0; j < dim; j++)
        ss += (double) yr[j] * yr[j];
      float nr = (float) sqrt (ss);
      norm[r] = nr;
      float inv = 1.f / MAX (nr, PROJ_EPS);
      for (int j = 0; j < dim; j++)
        yr[j] *= inv;
    }
}

static void
projection_backward (WeftNode *node, const WeftPass *pass)
{
  int N = pass->B * projection_rows (node);
  int dim = node->w_spec[0].shape.d[0], D = node->w_spec[0].shape.d[1];
  const float *du = node->dout;                 /* (N, dim) */

  if (node->p[PROJ_NORMALIZE])
    {
      /* y = u / n with n = ‖u‖: du = (dy - y (y·dy)) / n. Below the clamp
       * the divisor is the constant 1e-12, so du = dy / 1e-12. */
      const float *norm = node->scratch;        /* (N) */
      float *g = node->scratch + N;             /* (N, dim) */
      for (int r = 0; r < N; r++)
        {
          const float *yr = node->out + (gsize) r * dim;
          const float *dyr = node->dout + (gsize) r * dim;
          float *gr = g + (gsize) r * dim;
          if (norm[r] > PROJ_EPS)
            {
              float dot = 0.f;
              for (int j = 0; j < dim; j++)
                dot += yr[j] * dyr[j];
              for (int j = 0; j < dim; j++)
                gr[j] = (dyr[j] - yr[j] * dot) / norm[r];
            }
          else
            for (int j = 0; j < dim; j++)
              gr[j] = dyr[j] / PROJ_EPS;
        }
      du = g;
    }
  heads_linear_backward (node->din[0], node->dw[0],
                         node->p[PROJ_BIAS] ? node->dw[1] : NULL, du,
                         node->in[0], node->w[0], N, D, dim);
}

static guint64
projection_flops (const WeftNode *node)
{
  guint64 dim = node->w_spec[0].shape.d[0], D = node->w_spec[0].shape.d[1];
  return projection_rows (node) * (2 * dim * D + (node->p[PROJ_NORMALIZE] ? 3 * dim : 0));
}

const WeftBlock weft_block_projection = {
  .type = "projection", .group = "heads", .title = "Projection",
  .blurb = "Maps features into a shared embedding space where different modalities can be compared; pair it with InfoNCE or Triplet.",
  .params = projection_params, .n_params = G_N_ELEMENTS (projection_params),
  .ports = projection_ports, .min_inputs = 1, .max_inputs = 1,
  .infer = projection_infer, .forward = projection_forward,
  .backward = projection_backward, .flops = projection_flops,
};

/* ---- Decoder ----------------------------------------------------------- */

enum { DEC_HIDDEN, DEC_OUT_ACT };
enum { DEC_ACT_NONE, DEC_ACT_SIGMOID };

static const char *const decoder_act_choices[] = { "none", "sigmoid", NULL };

static const WeftParamSpec decoder_params[] = {
  { "hidden", WEFT_PARAM_INT, 256, 1, 65536, NULL,
    "Size of the hidden layer between the code and the reconstruction." },
  { "output_activation", WEFT_PARAM_ENUM, DEC_ACT_SIGMOID, 0, 1, decoder_act_choices,
    "Sigmoid keeps every output between 0 and 1, like pixel values; none leaves them unbounded." },
};

static const char *const decoder_ports[] = { "latent", "target_shape", NULL };

enum { DEC_WH, DEC_BH, DEC_WO, DEC_BO };

static gboolean
decoder_infer (WeftNode *node, GError **error)
{
  int D = (int) weft_node_in_size (node, 0);
  int H = (int) node->p[DEC_HIDDEN];
  gsize P = weft_node_in_size (node, 1);

  if (P > G_MAXINT / 2)
    return weft_node_error (node, error, "the shape to reconstruct is too large");
  node->out_shape = node->in_shape[1];
  weft_node_add_weight (node, "hidden.weight", weft_shape_2 (H, D), WEFT_INIT_HE, 0, D, H);
  int b = weft_node_add_weight (node, "hidden.bias", weft_shape_1 (H), WEFT_INIT_ZEROS, 0, D, H);
  weft_node_weight_no_decay (node, b);
  weft_node_add_weight (node, "out.weight", weft_shape_2 ((int) P, H), WEFT_INIT_XAVIER, 0, H, (int) P);
  b = weft_node_add_weight (node, "out.bias", weft_shape_1 ((int) P), WEFT_INIT_ZEROS, 0, H, (int) P);
  weft_node_weight_no_decay (node, b);
  /* hidden activations, their gradient, and the output pre-activation gradient */
  node->scratch_per_sample = 2 * (gsize) H + P;
  return TRUE;
}

static void
decoder_forward (WeftNode *node, const WeftPass *pass)
{
  int B = pass->B;
  int D = (int) weft_node_in_size (node, 0);
  int H = (int) node->p[DEC_HIDDEN];
  int P = (int) weft_node_out_size (node);
  float *h = node->scratch;                     /* (B, H) */

  heads_linear_forward (h, node->in[0], node->w[DEC_WH], node->w[DEC_BH], B, D, H);
  weft_act_forward (WEFT_ACT_RELU, h, h, (gsize) B * H);
  heads_linear_forward (node->out, h, node->w[DEC_WO], node->w[DEC_BO], B, H, P);
  if (node->p[DEC_OUT_ACT] == DEC_ACT_SIGMOID)
    weft_act_forward (WEFT_ACT_SIGMOID, node->out, node->out, (gsize) B * P);
}

static void
decoder_backward (WeftNode *node, const WeftPass *pass)
{
  int B = pass->B;
  int D = (int) weft_node_in_size (node, 0);
  int H = (int) node->p[DEC_HIDDEN];
  int P = (int) weft_node_out_size (node);
  const float *h = node->scratch;               /* (B, H) */
  float *dh = node->scratch + (gsize) B * H;    /* (B, H) */
  float *dpre = dh + (gsize) B * H;             /* (B, P) */
  const float *dy = node->dout;

  if (node->p[DEC_OUT_ACT] == DEC_ACT_SIGMOID)
    {
      weft_act_backward (WEFT_ACT_SIGMOID, dpre, node->dout, node->out, NULL,
                         (gsize) B * P, FALSE);
      dy = dpre;
    }
  memset (dh, 0, (gsize) B * H * sizeof (float));
  heads_linear_backward (dh, node->dw[DEC_WO], node->dw[DEC_BO], dy, h,
                         node->w[DEC_WO], B, H, P);
  weft_act_backward (WEFT_ACT_RELU, dh, dh, h, NULL, (gsize) B * H, FALSE);
  heads_linear_backward (node->din[0], node->dw[DEC_WH], node->dw[DEC_BH], dh,
                         node->in[0], node->w[DEC_WH], B, D, H);
  /* din[1] stays untouched: the target only lends its shape. */
}

static guint64
decoder_flops (const WeftNode *node)
{
  guint64 D = weft_node_in_size (node, 0), H = (guint64) node->p[DEC_HIDDEN];
  guint64 P = weft_node_out_size (node);
  return 2 * D * H + H + 2 * H * P + (node->p[DEC_OUT_ACT] == DEC_ACT_SIGMOID ? 4 * P : 0);
}

const WeftBlock weft_block_decoder = {
  .type = "decoder", .group = "heads", .title = "Decoder",
  .blurb = "Rebuilds a tensor (for example an image) from a compact code, for autoencoders; connect the tensor to rebuild to its second port so it knows the shape.",
  .params = decoder_params, .n_params = G_N_ELEMENTS (decoder_params),
  .ports = decoder_ports, .min_inputs = 2, .max_inputs = 2,
  .infer = decoder_infer, .forward = decoder_forward,
  .backward = decoder_backward, .flops = decoder_flops,
};
