/* test-sequence.c — what the parity fixtures of the sequence blocks cannot
 * show: hostile token ids, shape errors, accumulation, softmax overflow. */
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
  gsize osz = B * weft_node_out_size (n);
  n->out = r->out = g_new0 (float, osz);
  n->dout = r->dout = g_new (float, osz);
  for (gsize k = 0; k < osz; k++)
    r->dout[k] = weft_rng_normal (&rng);
  n->scratch = r->scratch = g_new0 (float, MAX (B * n->scratch_per_sample + n->scratch_fixed, 1));
  for (int i = 0; i < n->n_w; i++)
    {
      gsize sz = weft_shape_size (&n->w_spec[i].shape);
      n->w[i] = r->w[i] = g_new (float, sz);
      n->dw[i] = r->dw[i] = g_new0 (float, sz);
      weft_node_init_weight (n, i, &rng);
      /* Zero-initialised biases would hide bias mistakes. */
      for (gsize k = 0; k < sz; k++)
        r->w[i][k] += 0.1f * weft_rng_normal (&rng);
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
rig_step (Rig *r)
{
  WeftPass pass = { r->B, TRUE };
  r->node->block->forward (r->node, &pass);
  r->node->block->backward (r->node, &pass);
}

/* Ids that are NaN, huge, negative or past the table are padding: zero
 * rows, no gradient, and (under ASan) no read outside the table. */
static void
test_embedding_hostile_ids (void)
{
  const float bad[] = { NAN, 1e30f, -1e30f, 5.f, 5.5f, -0.5f, INFINITY };
  WeftShape s = weft_shape_1 (G_N_ELEMENTS (bad) + 1);
  Rig r;

  rig_new (&r, "embedding", "{\"dim\": 3, \"vocab\": 5}", 1, &s, 1, 1);
  memcpy (r.in[0], bad, sizeof bad);
  r.in[0][G_N_ELEMENTS (bad)] = 2.9f;   /* truncates to row 2 */
  rig_step (&r);
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    for (int j = 0; j < 3; j++)
      g_assert_cmpfloat (r.out[i * 3 + j], ==, 0.f);
  for (int j = 0; j < 3; j++)
    g_assert_cmpfloat (r.out[G_N_ELEMENTS (bad) * 3 + j], ==, r.w[0][2 * 3 + j]);
  for (int k = 0; k < 5 * 3; k++)
    {
      float want = k / 3 == 2 ? r.dout[G_N_ELEMENTS (bad) * 3 + k % 3] : 0.f;
      g_assert_cmpfloat (r.dw[0][k], ==, want);
    }
  rig_free (&r);

  /* The bag of the same ids holds one word: the mean is that row. */
  rig_new (&r, "embedding_bag", "{\"dim\": 3, \"vocab\": 5}", 1, &s, 1, 1);
  memcpy (r.in[0], bad, sizeof bad);
  r.in[0][G_N_ELEMENTS (bad)] = 2.f;
  rig_step (&r);
  for (int j = 0; j < 3; j++)
    g_assert_cmpfloat (r.out[j], ==, r.w[0][2 * 3 + j]);
  rig_free (&r);
}

static void
assert_spec_error (const char *type, const char *params, int n_in,
                   const WeftShape *shapes, const char *words)
{
  g_autoptr(JsonObject) po = params_from (params);
  GError *error = NULL;
  WeftNode *n = weft_node_new (type, "n", po, n_in, shapes, &error);
  g_assert_null (n);
  g_assert_error (error, WEFT_ERROR, WEFT_ERROR_SPEC);
  if (strstr (error->message, words) == NULL)
    g_error ("'%s' does not say '%s'", error->message, words);
  g_clear_error (&error);
}

static void
test_shape_errors (void)
{
  WeftShape ids = weft_shape_1 (8);
  WeftShape seq = weft_shape_2 (5, 6);
  WeftShape img = weft_shape_3 (1, 5, 6);
  WeftShape qc_ok[2] = { weft_shape_2 (5, 6), weft_shape_1 (3) };
  WeftShape qc_img[2] = { weft_shape_2 (5, 6), img };

  /* vocab 0 = bound from the dataset; standalone, nothing binds it */
  assert_spec_error ("embedding", "{}", 1, &ids, "vocabulary size is not known");
  assert_spec_error ("embedding_bag", "{\"vocab\": 0}", 1, &ids, "vocabulary size is not known");
  assert_spec_error ("gru", "{}", 1, &ids, "must be a sequence");
  assert_spec_error ("self_attention", "{\"heads\": 4}", 1, &seq, "6 features");
  assert_spec_error ("self_attention", "{}", 1, &img, "must be a sequence");
  assert_spec_error ("cross_attention", "{\"dim\": 6, \"heads\": 4}", 2, qc_ok, "into 4 heads");
  assert_spec_error ("cross_attention", "{}", 2, qc_img, "input 2 (context)");
}

/* backward adds into din and dw: a second consumer's gradient survives.
 * One step from zeros gives g; from ones it must give 1 + g. */
static void
check_accumulates (const char *type, const char *params, int n_in,
                   const WeftShape *shapes, gboolean int_input)
{
  Rig a, b;
  rig_new (&a, type, params, n_in, shapes, 3, 7);
  rig_new (&b, type, params, n_in, shapes, 3, 7);
  if (int_input)
    for (gsize k = 0; k < 3 * weft_node_in_size (a.node, 0); k++)
      a.in[0][k] = b.in[0][k] = (float) (k % 7) - 1.f;   /* some padding */
  for (int i = 0; i < n_in; i++)
    for (gsize k = 0; k < 3 * weft_node_in_size (b.node, i); k++)
      b.din[i][k] = 1.f;
  for (int i = 0; i < b.node->n_w; i++)
    for (gsize k = 0; k < weft_shape_size (&b.node->w_spec[i].shape); k++)
      b.dw[i][k] = 1.f;
  rig_step (&a);
  rig_step (&b);

  double total = 0;
  for (int i = 0; i < n_in; i++)
    for (gsize k = 0; k < 3 * weft_node_in_size (a.node, i); k++)
      g_assert_cmpfloat_with_epsilon (b.din[i][k], 1.f + a.din[i][k], 1e-5);
  for (int i = 0; i < a.node->n_w; i++)
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
  WeftShape ids = weft_shape_1 (6);
  WeftShape seq = weft_shape_2 (4, 6);
  WeftShape qc[2] = { weft_shape_1 (5), weft_shape_2 (3, 4) };

  check_accumulates ("embedding", "{\"dim\": 4, \"vocab\": 6}", 1, &ids, TRUE);
  check_accumulates ("embedding_bag", "{\"dim\": 4, \"vocab\": 6}", 1, &ids, TRUE);
  check_accumulates ("gru", "{\"hidden\": 5}", 1, &seq, FALSE);
  check_accumulates ("gru", "{\"hidden\": 5, \"return_sequence\": true}", 1, &seq, FALSE);
  check_accumulates ("self_attention", "{\"heads\": 2, \"causal\": true}", 1, &seq, FALSE);
  check_accumulates ("cross_attention", "{\"dim\": 6, \"heads\": 3}", 2, qc, FALSE);
}

/* Scores of 1e4 and more overflow expf unless the row max is subtracted. */
static void
test_softmax_large_scores (void)
{
  WeftShape seq = weft_shape_2 (5, 4);
  Rig r;

  rig_new (&r, "self_attention", "{\"heads\": 2}", 1, &seq, 2, 3);
  for (gsize k = 0; k < 2 * 5 * 4; k++)
    r.in[0][k] *= 1e3f;
  rig_step (&r);
  for (gsize k = 0; k < 2 * 5 * 4; k++)
    {
      g_assert_true (isfinite (r.out[k]));
      g_assert_true (isfinite (r.din[0][k]));
    }
  rig_free (&r);
}

/* A causal step must not depend on later steps. */
static void
test_causal_ignores_future (void)
{
  WeftShape seq = weft_shape_2 (5, 4);
  Rig r;

  rig_new (&r, "self_attention", "{\"heads\": 2, \"causal\": true}", 1, &seq, 1, 5);
  WeftPass pass = { 1, TRUE };
  r.node->block->forward (r.node, &pass);
  g_autofree float *before = g_memdup2 (r.out, 5 * 4 * sizeof (float));
  for (int j = 0; j < 4; j++)
    r.in[0][4 * 4 + j] += 3.f;   /* change the last step only */
  r.node->block->forward (r.node, &pass);
  for (int k = 0; k < 4 * 4; k++)
    g_assert_cmpfloat (r.out[k], ==, before[k]);
  g_assert_cmpfloat (fabsf (r.out[4 * 4] - before[4 * 4]), >, 0.f);
  rig_free (&r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  weft_blas_set_threads (1);
  g_test_add_func ("/sequence/embedding/hostile-ids-are-padding", test_embedding_hostile_ids);
  g_test_add_func ("/sequence/shape-errors-name-the-problem", test_shape_errors);
  g_test_add_func ("/sequence/backward-accumulates", test_backward_accumulates);
  g_test_add_func ("/sequence/attention/softmax-large-scores", test_softmax_large_scores);
  g_test_add_func ("/sequence/attention/causal-ignores-future", test_causal_ignores_future);
  return g_test_run ();
}
