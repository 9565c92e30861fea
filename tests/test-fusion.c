/* test-fusion.c — what the parity fixtures of the fusion, head and loss
 * blocks cannot show: shape errors, size limits, hostile labels, accumulation. */
#include <math.h>
#include <string.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "nn/weft-block.h"
#include "tensor/weft-blas.h"
#include "weft-error.h"

typedef struct {
  WeftNode *node;
  int B;
  float *in[WEFT_MAX_INPUTS], *din[WEFT_MAX_INPUTS];
  float *out, *dout, *scratch;
  float *w[WEFT_MAX_WEIGHTS], *dw[WEFT_MAX_WEIGHTS];
} Rig;

static JsonObject *
params_from (const char *json)
{
  g_autoptr(JsonParser) p = json_parser_new ();
  g_assert_true (json_parser_load_from_data (p, json, -1, NULL));
  return json_object_ref (json_node_get_object (json_parser_get_root (p)));
}

/* Returns the infer error message (NULL when the node builds). */
static char *
infer_error (const char *type, const char *params, int n_in, const WeftShape *shapes)
{
  g_autoptr(JsonObject) po = params_from (params);
  GError *error = NULL;
  WeftNode *n = weft_node_new (type, "n", po, n_in, shapes, &error);
  if (n)
    {
      weft_node_free (n);
      return NULL;
    }
  g_assert_error (error, WEFT_ERROR, WEFT_ERROR_SPEC);
  char *msg = g_strdup (error->message);
  g_error_free (error);
  return msg;
}

static void
rig_new (Rig *r, const char *type, const char *params, int n_in,
         const WeftShape *shapes, int B, guint64 seed)
{
  g_autoptr(JsonObject) po = params_from (params);
  GError *error = NULL;
  WeftRng rng;

  memset (r, 0, sizeof *r);
  r->node = weft_node_new (type, "n", po, n_in, shapes, &error);
  g_assert_no_error (error);
  WeftNode *n = r->node;
  r->B = B;
  n->max_batch = B;
  weft_rng_init (&rng, seed);
  for (int i = 0; i < n_in; i++)
    {
      gsize sz = B * weft_node_in_size (n, i);
      n->in[i] = r->in[i] = g_new (float, sz);
      n->din[i] = r->din[i] = g_new0 (float, sz);
      for (gsize k = 0; k < sz; k++)
        r->in[i][k] = weft_rng_normal (&rng);
    }
  gsize osz = (n->block->flags & WEFT_BLOCK_LOSS) ? 1 : B * weft_node_out_size (n);
  n->out = r->out = g_new0 (float, osz);
  n->dout = r->dout = g_new (float, osz);
  for (gsize k = 0; k < osz; k++)
    r->dout[k] = weft_rng_normal (&rng);
  gsize ssz = n->block->scratch_size ? n->block->scratch_size (n, B)
                                     : B * n->scratch_per_sample + n->scratch_fixed;
  n->scratch = r->scratch = g_new0 (float, MAX (ssz, 1));
  for (int i = 0; i < n->n_w; i++)
    {
      gsize sz = weft_shape_size (&n->w_spec[i].shape);
      n->w[i] = r->w[i] = g_new (float, sz);
      if (!n->w_spec[i].buffer)
        n->dw[i] = r->dw[i] = g_new0 (float, sz);
      weft_node_init_weight (n, i, &rng);
      if (n->w_spec[i].init == WEFT_INIT_ZEROS)    /* make biases matter */
        for (gsize k = 0; k < sz; k++)
          r->w[i][k] = 0.1f * weft_rng_normal (&rng);
    }
}

static void
rig_free (Rig *r)
{
  for (int i = 0; i < WEFT_MAX_INPUTS; i++)
    {
      g_free (r->in[i]);
      g_free (r->din[i]);
    }
  for (int i = 0; i < WEFT_MAX_WEIGHTS; i++)
    {
      g_free (r->w[i]);
      g_free (r->dw[i]);
    }
  g_free (r->out);
  g_free (r->dout);
  g_free (r->scratch);
  weft_node_free (r->node);
}

static void
rig_run (Rig *r)
{
  WeftPass pass = { r->B, TRUE };
  r->node->block->forward (r->node, &pass);
  r->node->block->backward (r->node, &pass);
}

static void
test_concat_shape_error (void)
{
  WeftShape s[2] = { weft_shape_2 (4, 8), weft_shape_2 (3, 8) };
  g_autofree char *msg = infer_error ("concat", "{}", 2, s);
  g_assert_cmpstr (msg, ==,
                   "node 'n': input 2 has shape (3, 8) but input 1 has (4, 8); "
                   "Concat joins only the last dimension");
  WeftShape ok[2] = { weft_shape_2 (4, 8), weft_shape_2 (4, 3) };
  g_assert_null (infer_error ("concat", "{}", 2, ok));
}

static void
test_sum_feature_error (void)
{
  WeftShape s[3] = { weft_shape_1 (128), weft_shape_1 (64), weft_shape_1 (128) };
  g_autofree char *msg = infer_error ("sum", "{}", 3, s);
  g_assert_cmpstr (msg, ==, "node 'n': input 2 has 64 features, expected 128 for Sum");
}

static void
test_tensor_fusion_limit (void)
{
  /* 100 × 100 × 100 = 1e6 is allowed, 100 × 100 × 101 is not */
  WeftShape ok[3] = { weft_shape_1 (99), weft_shape_1 (99), weft_shape_1 (99) };
  g_assert_null (infer_error ("tensor_fusion", "{}", 3, ok));
  WeftShape big[3] = { weft_shape_1 (99), weft_shape_1 (99), weft_shape_1 (100) };
  g_autofree char *msg = infer_error ("tensor_fusion", "{}", 3, big);
  g_assert_nonnull (msg);
  g_assert_nonnull (strstr (msg, "1010000 features"));
}

static void
test_gated_input_limit (void)
{
  const WeftBlock *b = weft_block_lookup ("gated");
  g_assert_nonnull (b);
  /* two weights per modality plus the gate's two must fit the table */
  g_assert_cmpint (2 * b->max_inputs + 2, <=, WEFT_MAX_WEIGHTS);
  WeftShape s[WEFT_MAX_INPUTS];
  for (int i = 0; i < WEFT_MAX_INPUTS; i++)
    s[i] = weft_shape_1 (3);
  g_autofree char *msg = infer_error ("gated", "{}", b->max_inputs + 1, s);
  g_assert_nonnull (msg);
}

static void
test_heads_errors (void)
{
  WeftShape seq = weft_shape_2 (5, 8);
  g_autofree char *msg = infer_error ("classifier", "{\"classes\": 3}", 1, &seq);
  g_assert_nonnull (strstr (msg, "Flatten or Global pool"));
  WeftShape v = weft_shape_1 (8);
  g_autofree char *unbound = infer_error ("classifier", "{}", 1, &v);
  g_assert_nonnull (unbound);
}

/* Labels >= K or NaN must not index the logits: the rows are skipped
 * and counted in scratch[0]; negative labels are skipped silently. */
static void
test_cross_entropy_hostile_labels (void)
{
  WeftShape s[2] = { weft_shape_1 (3), weft_shape_1 (1) };
  Rig r;
  rig_new (&r, "cross_entropy", "{}", 2, s, 5, 1);
  const float labels[5] = { 1, 3, -1, NAN, 1e9f };
  memcpy (r.in[1], labels, sizeof labels);
  g_free (r.din[1]);
  r.din[1] = r.node->din[1] = NULL;
  r.dout[0] = 1.f;
  rig_run (&r);
  g_assert_true (isfinite (r.out[0]));
  g_assert_cmpfloat (r.scratch[0], ==, 3);        /* 3, NaN, 1e9 */
  /* only row 0 is labelled: its gradient sums to zero, the others are 0 */
  float sum = 0.f;
  for (int j = 0; j < 3; j++)
    sum += r.din[0][j];
  g_assert_cmpfloat (fabsf (sum), <, 1e-6f);
  for (int k = 3; k < 15; k++)
    g_assert_cmpfloat (r.din[0][k], ==, 0.f);
  rig_free (&r);
}

static void
test_infonce_scratch_size (void)
{
  WeftShape s[2] = { weft_shape_1 (4), weft_shape_1 (4) };
  Rig r;
  rig_new (&r, "infonce", "{}", 2, s, 7, 2);
  g_assert_nonnull (r.node->block->scratch_size);
  g_assert_cmpuint (r.node->block->scratch_size (r.node, 7), ==, 2 * 49 + 14);
  r.dout[0] = 1.f;
  rig_run (&r);
  g_assert_true (isfinite (r.out[0]));
  rig_free (&r);
}

/* backward adds to what is already in din / dw */
static void
check_accumulates (const char *type, const char *params, int n_in,
                   const WeftShape *s, int B)
{
  Rig r;
  rig_new (&r, type, params, n_in, s, B, 3);
  WeftNode *n = r.node;
  rig_run (&r);
  float *first[WEFT_MAX_INPUTS + WEFT_MAX_WEIGHTS] = { 0 };
  for (int i = 0; i < n_in; i++)
    first[i] = g_memdup2 (r.din[i], B * weft_node_in_size (n, i) * sizeof (float));
  for (int i = 0; i < n->n_w; i++)
    if (r.dw[i])
      first[WEFT_MAX_INPUTS + i] = g_memdup2 (r.dw[i], weft_shape_size (&n->w_spec[i].shape) * sizeof (float));
  WeftPass pass = { B, TRUE };
  n->block->backward (n, &pass);
  for (int t = 0; t < WEFT_MAX_INPUTS + WEFT_MAX_WEIGHTS; t++)
    {
      if (first[t] == NULL)
        continue;
      const float *now = t < WEFT_MAX_INPUTS ? r.din[t] : r.dw[t - WEFT_MAX_INPUTS];
      gsize sz = t < WEFT_MAX_INPUTS ? B * weft_node_in_size (n, t)
                                     : weft_shape_size (&n->w_spec[t - WEFT_MAX_INPUTS].shape);
      for (gsize k = 0; k < sz; k++)
        if (!(fabsf (now[k] - 2.f * first[t][k]) <= 1e-5f + 1e-5f * fabsf (now[k])))
          g_error ("%s: gradient %d[%zu] is %g after two backward passes, expected %g",
                   type, t, k, now[k], 2.f * first[t][k]);
      g_free (first[t]);
    }
  rig_free (&r);
}

static void
test_backward_accumulates (void)
{
  WeftShape v3[3] = { weft_shape_1 (4), weft_shape_1 (4), weft_shape_1 (4) };
  WeftShape mixed[3] = { weft_shape_1 (3), weft_shape_1 (5), weft_shape_1 (2) };
  WeftShape dec[2] = { weft_shape_1 (3), weft_shape_3 (1, 2, 2) };
  WeftShape ce[2] = { weft_shape_1 (4), weft_shape_1 (1) };

  check_accumulates ("concat", "{}", 3, mixed, 3);
  check_accumulates ("sum", "{}", 3, v3, 3);
  check_accumulates ("product", "{}", 3, v3, 3);
  check_accumulates ("gated", "{\"units\": 3}", 3, mixed, 3);
  check_accumulates ("tensor_fusion", "{}", 3, mixed, 2);
  check_accumulates ("late_fusion", "{}", 3, v3, 3);
  check_accumulates ("classifier", "{\"classes\": 3}", 1, mixed, 3);
  check_accumulates ("projection", "{\"dim\": 3, \"bias\": true}", 1, mixed, 3);
  check_accumulates ("decoder", "{\"hidden\": 5}", 2, dec, 3);
  check_accumulates ("infonce", "{}", 2, v3, 4);
  check_accumulates ("triplet", "{\"margin\": 5.0}", 3, v3, 3);
  check_accumulates ("triplet", "{\"margin\": 5.0}", 2, v3, 3);
  check_accumulates ("mse", "{}", 2, v3, 3);
  /* labels are random normals: some rows land on class 0, the rest are skipped */
  check_accumulates ("cross_entropy", "{}", 2, ce, 6);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  weft_blas_set_threads (1);
  g_test_add_func ("/fusion/concat-shape-error", test_concat_shape_error);
  g_test_add_func ("/fusion/sum-feature-error", test_sum_feature_error);
  g_test_add_func ("/fusion/tensor-fusion-limit", test_tensor_fusion_limit);
  g_test_add_func ("/fusion/gated-input-limit", test_gated_input_limit);
  g_test_add_func ("/heads/errors", test_heads_errors);
  g_test_add_func ("/losses/cross-entropy-hostile-labels", test_cross_entropy_hostile_labels);
  g_test_add_func ("/losses/infonce-scratch-size", test_infonce_scratch_size);
  g_test_add_func ("/blocks/backward-accumulates", test_backward_accumulates);
  return g_test_run ();
}
