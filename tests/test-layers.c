/* test-layers.c — what the parity fixtures of the layer blocks cannot show:
 * dropout's randomness, convolution at larger sizes, shape errors,
 * accumulation into gradients, BatchNorm's running statistics. */
#include <math.h>
#include <string.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "nn/weft-block.h"
#include "tensor/weft-blas.h"
#include "weft-error.h"

/* A node with every buffer allocated and weights initialised per spec. */
typedef struct {
  WeftNode *node;
  int B;
  float *in, *din, *out, *dout, *scratch;
  float *w[WEFT_MAX_WEIGHTS], *dw[WEFT_MAX_WEIGHTS];
} Rig;

static JsonObject *
params_from (const char *json)
{
  g_autoptr(JsonParser) p = json_parser_new ();
  g_assert_true (json_parser_load_from_data (p, json, -1, NULL));
  return json_object_ref (json_node_get_object (json_parser_get_root (p)));
}

static void
rig_new (Rig *r, const char *type, const char *params, WeftShape shape, int B,
         guint64 seed)
{
  g_autoptr(JsonObject) po = params_from (params);
  GError *error = NULL;
  WeftRng rng;

  memset (r, 0, sizeof *r);
  r->node = weft_node_new (type, "n", po, 1, &shape, &error);
  g_assert_no_error (error);
  WeftNode *n = r->node;
  r->B = B;
  n->max_batch = B;
  weft_rng_init (&rng, seed);
  weft_rng_init (&n->rng, seed + 1);
  gsize isz = B * weft_node_in_size (n, 0), osz = B * weft_node_out_size (n);
  n->in[0] = r->in = g_new (float, isz);
  n->din[0] = r->din = g_new0 (float, isz);
  for (gsize k = 0; k < isz; k++)
    r->in[k] = weft_rng_normal (&rng);
  n->out = r->out = g_new0 (float, osz);
  n->dout = r->dout = g_new (float, osz);
  for (gsize k = 0; k < osz; k++)
    r->dout[k] = weft_rng_normal (&rng);
  n->scratch = r->scratch = g_new0 (float, MAX (B * n->scratch_per_sample + n->scratch_fixed, 1));
  for (int i = 0; i < n->n_w; i++)
    {
      gsize sz = weft_shape_size (&n->w_spec[i].shape);
      n->w[i] = r->w[i] = g_new (float, sz);
      weft_node_init_weight (n, i, &rng);
      if (n->w_spec[i].buffer)
        continue;
      n->dw[i] = r->dw[i] = g_new0 (float, sz);
      /* Zero biases and unit gains would hide mistakes in their use. */
      for (gsize k = 0; k < sz; k++)
        r->w[i][k] += 0.1f * weft_rng_normal (&rng);
    }
}

static void
rig_free (Rig *r)
{
  for (int i = 0; i < WEFT_MAX_WEIGHTS; i++)
    {
      g_free (r->w[i]);
      g_free (r->dw[i]);
    }
  g_free (r->in);
  g_free (r->din);
  g_free (r->out);
  g_free (r->dout);
  g_free (r->scratch);
  weft_node_free (r->node);
}

static void
rig_forward (Rig *r, gboolean training)
{
  WeftPass pass = { r->B, training };
  r->node->block->forward (r->node, &pass);
}

static void
rig_backward (Rig *r, gboolean training)
{
  WeftPass pass = { r->B, training };
  r->node->block->backward (r->node, &pass);
}

/* ---- Dropout ---- */

/* About p of the values are zeroed, the others scaled by 1/(1−p); the
 * same rate holds for any p, and p = 0 changes nothing. */
static void
test_dropout_statistics (void)
{
  const float ps[] = { 0.1f, 0.5f, 0.9f };
  const int n = 20000;

  for (guint t = 0; t < G_N_ELEMENTS (ps); t++)
    {
      g_autofree char *params = g_strdup_printf ("{\"p\": %g}", ps[t]);
      Rig r;
      rig_new (&r, "dropout", params, weft_shape_1 (n / 4), 4, 3);
      rig_forward (&r, TRUE);
      int dropped = 0;
      for (int k = 0; k < n; k++)
        {
          if (r.out[k] == 0.f)
            dropped++;
          else
            g_assert_cmpfloat_with_epsilon (r.out[k], r.in[k] / (1.f - ps[t]),
                                            1e-5 * (1 + fabsf (r.out[k])));
        }
      /* binomial: the standard deviation of the rate is below 0.004 */
      g_assert_cmpfloat (fabs ((double) dropped / n - ps[t]), <, 0.02);
      rig_free (&r);
    }

  Rig r;
  rig_new (&r, "dropout", "{\"p\": 0}", weft_shape_1 (100), 2, 3);
  rig_forward (&r, TRUE);
  g_assert_cmpmem (r.out, 200 * sizeof (float), r.in, 200 * sizeof (float));
  rig_free (&r);
}

/* backward must use the mask of the forward before it, and two training
 * passes draw different masks. */
static void
test_dropout_backward_same_mask (void)
{
  Rig r;
  const int n = 3 * 500;

  rig_new (&r, "dropout", "{\"p\": 0.4}", weft_shape_1 (500), 3, 9);
  rig_forward (&r, TRUE);
  g_autofree float *first = g_memdup2 (r.out, n * sizeof (float));
  rig_backward (&r, TRUE);
  for (int k = 0; k < n; k++)
    {
      if (first[k] == 0.f)
        g_assert_cmpfloat (r.din[k], ==, 0.f);
      else
        g_assert_cmpfloat_with_epsilon (r.din[k], r.dout[k] / 0.6f,
                                        1e-5 * (1 + fabsf (r.din[k])));
    }

  rig_forward (&r, TRUE);
  int differ = 0;
  for (int k = 0; k < n; k++)
    differ += (first[k] == 0.f) != (r.out[k] == 0.f);
  g_assert_cmpint (differ, >, n / 10);
  rig_free (&r);
}

/* Outside training dropout is the identity, forward and backward, even
 * right after a training pass left a mask behind. */
static void
test_dropout_eval_identity (void)
{
  Rig r;
  rig_new (&r, "dropout", "{\"p\": 0.5}", weft_shape_2 (4, 5), 2, 4);
  rig_forward (&r, TRUE);
  rig_forward (&r, FALSE);
  g_assert_cmpmem (r.out, 40 * sizeof (float), r.in, 40 * sizeof (float));
  rig_backward (&r, FALSE);
  g_assert_cmpmem (r.din, 40 * sizeof (float), r.dout, 40 * sizeof (float));
  rig_free (&r);
}

/* ---- MaxPool ---- */

/* As PyTorch: a tie goes to the first maximum in row-major order, and a
 * NaN wins its window (the gradient then goes to the NaN). */
static void
test_maxpool_ties_and_nan (void)
{
  /* one (2, 4) plane, two 2x2 windows: [1 1; 1 0] and [2 NaN; 5 3] */
  const float x[] = { 1, 1, 2, NAN,
                      1, 0, 5, 3 };
  Rig r;

  rig_new (&r, "maxpool", "{\"window\": \"2d\"}", weft_shape_2 (2, 4), 1, 1);
  memcpy (r.in, x, sizeof x);
  r.dout[0] = 10.f;
  r.dout[1] = 20.f;
  rig_forward (&r, TRUE);
  g_assert_cmpfloat (r.out[0], ==, 1.f);
  g_assert_true (isnan (r.out[1]));
  rig_backward (&r, TRUE);
  const float want[] = { 10, 0, 0, 20,
                         0, 0, 0, 0 };
  for (int k = 0; k < 8; k++)
    g_assert_cmpfloat (r.din[k], ==, want[k]);
  rig_free (&r);
}

/* ---- Convolution against the textbook loops ---- */

static void
check_conv_direct (const char *type, const char *params, WeftShape shape, int B)
{
  Rig r;
  rig_new (&r, type, params, shape, B, 11);
  WeftNode *n = r.node;
  gboolean is_1d = g_str_equal (type, "conv1d");
  int C = shape.n == (is_1d ? 2 : 3) ? shape.d[0] : 1;
  int H = is_1d ? 1 : shape.d[shape.n - 2], W = shape.d[shape.n - 1];
  int OC = n->out_shape.d[0];
  int OH = is_1d ? 1 : n->out_shape.d[1], OW = n->out_shape.d[n->out_shape.n - 1];
  int K = n->w_spec[0].shape.d[n->w_spec[0].shape.n - 1], KH = is_1d ? 1 : K;
  int S = (int) n->p[weft_block_param_index (n->block, "stride")];
  int Pd = (int) n->p[weft_block_param_index (n->block, "padding")];
  int PH = is_1d ? 0 : Pd, SH = is_1d ? 1 : S;
  gsize isz = (gsize) C * H * W, osz = (gsize) OC * OH * OW;
  g_autofree double *want = g_new0 (double, B * osz);
  g_autofree double *dx = g_new0 (double, B * isz);

  /* y[b,o,i,j] = bias[o] + Σ w[o,c,u,v] x[b,c,i·S+u−P,j·S+v−P], and its
   * adjoint for dx, the slow and obvious way. */
  for (int b = 0; b < B; b++)
    for (int o = 0; o < OC; o++)
      for (int i = 0; i < OH; i++)
        for (int j = 0; j < OW; j++)
          {
            gsize yo = b * osz + ((gsize) o * OH + i) * OW + j;
            double s = r.w[1][o];
            for (int c = 0; c < C; c++)
              for (int u = 0; u < KH; u++)
                for (int v = 0; v < K; v++)
                  {
                    int ih = i * SH + u - PH, iw = j * S + v - Pd;
                    if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                      continue;
                    float wv = r.w[0][((o * C + c) * KH + u) * K + v];
                    gsize xi = b * isz + ((gsize) c * H + ih) * W + iw;
                    s += wv * r.in[xi];
                    dx[xi] += wv * r.dout[yo];
                  }
            want[yo] = s;
          }

  rig_forward (&r, TRUE);
  rig_backward (&r, TRUE);
  for (gsize k = 0; k < B * osz; k++)
    g_assert_cmpfloat_with_epsilon (r.out[k], want[k], 1e-4 * (1 + fabs (want[k])));
  for (gsize k = 0; k < B * isz; k++)
    g_assert_cmpfloat_with_epsilon (r.din[k], dx[k], 1e-4 * (1 + fabs (dx[k])));
  rig_free (&r);
}

static void
test_conv_matches_direct (void)
{
  check_conv_direct ("conv2d", "{\"filters\": 6, \"kernel\": 3, \"padding\": 1}",
                     weft_shape_3 (4, 17, 13), 5);
  check_conv_direct ("conv2d", "{\"filters\": 3, \"kernel\": 5, \"stride\": 2, \"padding\": 2}",
                     weft_shape_3 (3, 16, 19), 3);
  check_conv_direct ("conv2d", "{\"filters\": 4, \"kernel\": 4, \"stride\": 3, \"padding\": 3}",
                     weft_shape_2 (11, 10), 2);
  check_conv_direct ("conv2d", "{\"filters\": 2, \"kernel\": 7, \"stride\": 1, \"padding\": 0}",
                     weft_shape_3 (2, 7, 9), 4);
  check_conv_direct ("conv1d", "{\"filters\": 5, \"kernel\": 5, \"stride\": 2, \"padding\": 2}",
                     weft_shape_2 (6, 41), 3);
  check_conv_direct ("conv1d", "{\"filters\": 3, \"kernel\": 3, \"padding\": 1}",
                     weft_shape_2 (40, 32), 2);
}

/* ---- Errors ---- */

static void
assert_spec_error (const char *type, const char *params, WeftShape shape,
                   const char *words)
{
  g_autoptr(JsonObject) po = params_from (params);
  GError *error = NULL;
  WeftNode *n = weft_node_new (type, "n", po, 1, &shape, &error);
  g_assert_null (n);
  g_assert_error (error, WEFT_ERROR, WEFT_ERROR_SPEC);
  if (strstr (error->message, words) == NULL)
    g_error ("'%s' does not say '%s'", error->message, words);
  g_clear_error (&error);
}

static void
test_shape_errors (void)
{
  WeftShape img = weft_shape_3 (1, 3, 3);

  assert_spec_error ("conv2d", "{\"kernel\": 5}", img, "input 1 is 3x3, smaller than the 5x5 kernel");
  assert_spec_error ("conv2d", "{\"kernel\": 7, \"padding\": 1}", img,
                     "input 1 is 3x3 (5x5 with padding), smaller than the 7x7 kernel");
  assert_spec_error ("conv2d", "{}", weft_shape_1 (100), "needs an image");
  assert_spec_error ("conv1d", "{}", img, "needs a sequence (channels, length)");
  assert_spec_error ("conv1d", "{\"kernel\": 9}", weft_shape_2 (4, 6),
                     "input 1 has length 6, shorter than the kernel of 9");
  assert_spec_error ("maxpool", "{\"kernel\": 4}", img, "input 1 is 3x3, smaller than the 4x4 kernel");
  assert_spec_error ("avgpool", "{\"kernel\": 4}", weft_shape_2 (2, 3),
                     "input 1 has length 3, shorter than the kernel of 4");
  assert_spec_error ("maxpool", "{\"window\": \"1d\"}", img, "1-D pooling needs a sequence");
  assert_spec_error ("maxpool", "{\"window\": \"2d\"}", weft_shape_1 (8), "2-D pooling needs an image");
  assert_spec_error ("global_pool", "{}", weft_shape_1 (8), "GlobalPool needs channels");
  assert_spec_error ("transpose", "{}", weft_shape_1 (8), "only one");
  assert_spec_error ("dropout", "{\"p\": 0.99}", weft_shape_1 (8), "outside its range");
}

/* ---- backward adds into din and dw ---- */

/* One step from zeroed gradients gives g; from ones it must give 1 + g. */
static void
check_accumulates (const char *type, const char *params, WeftShape shape)
{
  Rig a, b;
  rig_new (&a, type, params, shape, 3, 7);
  rig_new (&b, type, params, shape, 3, 7);
  gsize isz = 3 * weft_node_in_size (a.node, 0);
  for (gsize k = 0; k < isz; k++)
    b.din[k] = 1.f;
  for (int i = 0; i < b.node->n_w; i++)
    if (b.dw[i])
      for (gsize k = 0; k < weft_shape_size (&b.node->w_spec[i].shape); k++)
        b.dw[i][k] = 1.f;
  rig_forward (&a, TRUE);
  rig_backward (&a, TRUE);
  rig_forward (&b, TRUE);
  rig_backward (&b, TRUE);

  double total = 0;
  for (gsize k = 0; k < isz; k++)
    {
      g_assert_cmpfloat_with_epsilon (b.din[k], 1.f + a.din[k], 1e-5);
      total += fabs (a.din[k]);
    }
  for (int i = 0; i < a.node->n_w; i++)
    if (a.dw[i])
      for (gsize k = 0; k < weft_shape_size (&a.node->w_spec[i].shape); k++)
        {
          g_assert_cmpfloat_with_epsilon (b.dw[i][k], 1.f + a.dw[i][k], 1e-5);
          total += fabs (a.dw[i][k]);
        }
  g_assert_cmpfloat (total, >, 0);   /* the check saw real gradients */
  rig_free (&a);
  rig_free (&b);
}

static void
test_backward_accumulates (void)
{
  WeftShape img = weft_shape_3 (2, 6, 5), seq = weft_shape_2 (3, 8);

  check_accumulates ("conv2d", "{\"filters\": 3, \"padding\": 1, \"activation\": \"gelu\"}", img);
  check_accumulates ("conv2d", "{\"filters\": 3, \"stride\": 2, \"activation\": \"relu\"}", img);
  check_accumulates ("conv1d", "{\"filters\": 2, \"kernel\": 3, \"activation\": \"tanh\"}", seq);
  check_accumulates ("maxpool", "{}", img);
  check_accumulates ("avgpool", "{\"kernel\": 3, \"stride\": 1}", seq);
  check_accumulates ("global_pool", "{\"mode\": \"max\"}", img);
  check_accumulates ("global_pool", "{}", seq);
  check_accumulates ("flatten", "{}", img);
  check_accumulates ("transpose", "{}", seq);
  check_accumulates ("dropout", "{\"p\": 0.3}", seq);
  check_accumulates ("layernorm", "{}", seq);
  check_accumulates ("batchnorm", "{}", img);
  check_accumulates ("l2norm", "{}", seq);
}

/* ---- BatchNorm ---- */

/* Trained long enough on one batch, the running statistics reach that
 * batch's mean and unbiased variance, and evaluation then uses them. */
static void
test_batchnorm_running_stats (void)
{
  Rig r;
  const int B = 4, C = 3, S = 5;

  rig_new (&r, "batchnorm", "{\"momentum\": 0.5}", weft_shape_2 (C, S), B, 5);
  for (int k = 0; k < B * C * S; k++)
    r.in[k] = r.in[k] * (1 + k % C) + (float) (k / S % C);   /* channel c: mean ~c */
  for (int it = 0; it < 40; it++)
    rig_forward (&r, TRUE);

  for (int c = 0; c < C; c++)
    {
      double s = 0, ss = 0;
      for (int b = 0; b < B; b++)
        for (int i = 0; i < S; i++)
          s += r.in[(b * C + c) * S + i];
      double mean = s / (B * S);
      for (int b = 0; b < B; b++)
        for (int i = 0; i < S; i++)
          {
            double d = r.in[(b * C + c) * S + i] - mean;
            ss += d * d;
          }
      double var = ss / (B * S - 1);
      g_assert_cmpfloat_with_epsilon (r.w[2][c], mean, 1e-4 * (1 + fabs (mean)));
      g_assert_cmpfloat_with_epsilon (r.w[3][c], var, 1e-4 * (1 + var));

      rig_forward (&r, FALSE);
      for (int b = 0; b < B; b++)
        for (int i = 0; i < S; i++)
          {
            int k = (b * C + c) * S + i;
            double y = (r.in[k] - mean) / sqrt (var + 1e-5) * r.w[0][c] + r.w[1][c];
            g_assert_cmpfloat_with_epsilon (r.out[k], y, 1e-4 * (1 + fabs (y)));
          }
    }
  rig_free (&r);
}

/* ---- the palette ---- */

static void
test_blocks_are_documented (void)
{
  const char *types[] = { "conv2d", "conv1d", "maxpool", "avgpool", "global_pool",
                          "flatten", "transpose", "dropout", "layernorm",
                          "batchnorm", "l2norm" };

  for (guint t = 0; t < G_N_ELEMENTS (types); t++)
    {
      const WeftBlock *b = weft_block_lookup (types[t]);
      g_assert_nonnull (b);
      g_assert_cmpstr (b->group, ==, "layers");
      g_assert_true (b->title && *b->title && b->blurb && strlen (b->blurb) > 20);
      g_assert_true (b->infer && b->forward && b->backward && b->flops);
      for (int i = 0; i < b->n_params; i++)
        {
          const WeftParamSpec *ps = &b->params[i];
          g_assert_true (ps->blurb && strlen (ps->blurb) > 10);
          g_assert_cmpfloat (ps->def, >=, ps->min);
          g_assert_cmpfloat (ps->def, <=, ps->max);
        }
      /* defaults give a working node on a reasonable input */
      WeftShape s = weft_shape_3 (3, 16, 16);
      if (g_str_equal (types[t], "conv1d"))
        s = weft_shape_2 (8, 32);
      GError *error = NULL;
      g_autoptr(WeftNode) n = weft_node_new (types[t], "n", NULL, 1, &s, &error);
      g_assert_no_error (error);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  weft_blas_set_threads (1);
  g_test_add_func ("/layers/dropout/drops-p-and-rescales", test_dropout_statistics);
  g_test_add_func ("/layers/dropout/backward-uses-forward-mask", test_dropout_backward_same_mask);
  g_test_add_func ("/layers/dropout/eval-is-identity", test_dropout_eval_identity);
  g_test_add_func ("/layers/maxpool/ties-and-nan-as-pytorch", test_maxpool_ties_and_nan);
  g_test_add_func ("/layers/conv/matches-direct-convolution", test_conv_matches_direct);
  g_test_add_func ("/layers/shape-errors-name-the-problem", test_shape_errors);
  g_test_add_func ("/layers/backward-accumulates", test_backward_accumulates);
  g_test_add_func ("/layers/batchnorm/running-stats-reach-batch-stats", test_batchnorm_running_stats);
  g_test_add_func ("/layers/blocks-are-documented", test_blocks_are_documented);
  return g_test_run ();
}
