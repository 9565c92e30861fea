/* test-graph.c — model specs and the compiled graph: structural and
 * semantic errors name the node and port, specs round-trip losslessly, the
 * executor's gradients match finite differences across a whole graph (with
 * fan-out, shared and frozen weights), and checkpoints restore bit-identical
 * outputs and refuse other architectures. */
#include <math.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "graph/weft-checkpoint.h"
#include "graph/weft-graph.h"
#include "tensor/weft-blas.h"
#include "weft-error.h"

static WeftSpec *
parse_ok (const char *json)
{
  GError *error = NULL;
  WeftSpec *s = weft_spec_parse_data (json, -1, &error);
  g_assert_no_error (error);
  return s;
}

static void
assert_parse_error (const char *json, const char *expect)
{
  GError *error = NULL;
  WeftSpec *s = weft_spec_parse_data (json, -1, &error);
  g_assert_null (s);
  g_assert_error (error, WEFT_ERROR, WEFT_ERROR_SPEC);
  if (strstr (error->message, expect) == NULL)
    g_error ("expected an error containing «%s», got «%s»", expect, error->message);
  g_error_free (error);
}

static void
assert_compile_error (const char *json, const char *expect)
{
  g_autoptr(WeftSpec) s = parse_ok (json);
  WeftBinding b;
  weft_binding_init_default (&b);
  GError *error = NULL;
  WeftGraph *g = weft_graph_compile (s, &b, &error);
  g_assert_null (g);
  g_assert_error (error, WEFT_ERROR, WEFT_ERROR_SPEC);
  if (strstr (error->message, expect) == NULL)
    g_error ("expected an error containing «%s», got «%s»", expect, error->message);
  g_error_free (error);
}

#define HEAD "{\"weft_model\": 1, \"inputs\": [{\"id\": \"image\", \"modality\": \"image\"}," \
             " {\"id\": \"text\", \"modality\": \"text\"}, {\"id\": \"label\", \"modality\": \"label\"}], "

static void
test_parse_errors (void)
{
  assert_parse_error ("{\"weft_model\": 1, \"nodes\": [", "not valid JSON");
  assert_parse_error ("[1, 2]", "must be a JSON object");
  assert_parse_error ("{\"nodes\": []}", "no \"weft_model\"");
  assert_parse_error ("{\"weft_model\": 2, \"inputs\": [], \"nodes\": []}", "version 2 is not supported");
  assert_parse_error ("{\"weft_model\": 1, \"nodes\": []}", "no 'inputs' list");
  assert_parse_error (HEAD "\"nodes\": [{\"type\": \"dense\"}]}", "node 1: 'id' is missing");
  assert_parse_error (HEAD "\"nodes\": [{\"id\": \"a b\", \"type\": \"dense\"}]}", "ids use letters");
  assert_parse_error (HEAD "\"nodes\": [{\"id\": \"a\", \"type\": \"dense\", \"inputs\": [\"nope\"]}]}",
                      "node 'a': input 1 is 'nope', which is neither a node nor a model input");
  assert_parse_error (HEAD "\"nodes\": [{\"id\": \"a\", \"type\": \"dense\", \"inputs\": [\"image\"]},"
                      " {\"id\": \"a\", \"type\": \"dense\"}]}", "node 'a': the id is used twice");
  assert_parse_error (HEAD "\"nodes\": [{\"id\": \"a\", \"type\": 3}]}", "node 'a': 'type' must be a string");
  assert_parse_error (HEAD "\"nodes\": [{\"id\": \"a\", \"type\": \"dense\", \"share_weights_with\": \"a\"}]}",
                      "cannot share weights with itself");
  assert_parse_error (HEAD "\"nodes\": [{\"id\": \"a\", \"type\": \"dense\", \"params\": 5}]}",
                      "'params' must be an object");
  assert_parse_error (HEAD "\"nodes\": [], \"losses\": [{\"node\": \"x\"}]}", "loss 1 names 'x'");
  assert_parse_error ("{\"weft_model\": 1, \"inputs\": [{\"id\": \"v\", \"modality\": \"smell\"}], \"nodes\": []}",
                      "unknown modality 'smell'");
  assert_parse_error ("{\"weft_model\": 1, \"name\": \"\xff\xfe\", \"inputs\": [], \"nodes\": []}",
                      "not valid UTF-8");
}

static void
test_compile_errors (void)
{
  assert_compile_error (HEAD "\"nodes\": [{\"id\": \"a\", \"type\": \"wobble\", \"inputs\": [\"image\"]}]}",
                        "node 'a': unknown block type 'wobble'");
  assert_compile_error (HEAD "\"nodes\": ["
                        "{\"id\": \"a\", \"type\": \"relu\", \"inputs\": [\"b\"]},"
                        "{\"id\": \"b\", \"type\": \"relu\", \"inputs\": [\"a\"]}]}",
                        "cycle (a → b → a)");
  assert_compile_error (HEAD "\"nodes\": [{\"id\": \"f\", \"type\": \"flatten\", \"inputs\": [\"image\"]},"
                        "{\"id\": \"d\", \"type\": \"dense\", \"inputs\": [\"f\"]}]}",
                        "the model has no loss");
  assert_compile_error (HEAD "\"nodes\": [{\"id\": \"f\", \"type\": \"flatten\", \"inputs\": [\"image\"]}],"
                        " \"losses\": [{\"node\": \"f\"}]}",
                        "node 'f': listed as a loss, but a Flatten is not a loss block");
  assert_compile_error (HEAD "\"nodes\": [{\"id\": \"d\", \"type\": \"dense\", \"inputs\": [\"text\"],"
                        " \"params\": {\"units\": 0}}]}",
                        "node 'd': parameter 'units' is 0, outside its range");
  assert_compile_error (HEAD "\"nodes\": [{\"id\": \"d\", \"type\": \"dense\", \"inputs\": [\"text\"],"
                        " \"params\": {\"colour\": 3}}]}",
                        "node 'd': Dense has no parameter 'colour'");
  assert_compile_error (HEAD "\"nodes\": [{\"id\": \"d\", \"type\": \"dense\", \"inputs\": [\"text\", \"text\"]}]}",
                        "node 'd': Dense takes 1 input, it has 2");
  assert_compile_error (HEAD "\"nodes\": ["
                        "{\"id\": \"a\", \"type\": \"dense\", \"inputs\": [\"text\"], \"params\": {\"units\": 128}},"
                        "{\"id\": \"b\", \"type\": \"dense\", \"inputs\": [\"text\"], \"params\": {\"units\": 64}},"
                        "{\"id\": \"fuse\", \"type\": \"sum\", \"inputs\": [\"a\", \"b\"]}]}",
                        "node 'fuse': input 2 has 64 features, expected 128 for Sum");
  /* the dataset lacks audio */
  {
    g_autoptr(WeftSpec) s = parse_ok ("{\"weft_model\": 1, \"inputs\": [{\"id\": \"snd\", \"modality\": \"audio\"}],"
                                      " \"nodes\": [{\"id\": \"f\", \"type\": \"flatten\", \"inputs\": [\"snd\"]}]}");
    WeftBinding b;
    weft_binding_init_default (&b);
    b.audio.n = 0;
    GError *error = NULL;
    g_assert_null (weft_graph_compile (s, &b, &error));
    g_assert_cmpstr (error->message, ==, "input 'snd': the dataset has no audio");
    g_error_free (error);
  }
  /* siamese encoders on inputs of different sizes */
  assert_compile_error (HEAD "\"nodes\": ["
                        "{\"id\": \"fi\", \"type\": \"flatten\", \"inputs\": [\"image\"]},"
                        "{\"id\": \"a\", \"type\": \"dense\", \"inputs\": [\"fi\"]},"
                        "{\"id\": \"b\", \"type\": \"dense\", \"inputs\": [\"text\"], \"share_weights_with\": \"a\"},"
                        "{\"id\": \"l\", \"type\": \"mse\", \"inputs\": [\"a\", \"b\"]}]}",
                        "node 'b': cannot share weights with 'a': its weight is (64, 16) but 'a' has (64, 784)");
}

static const char *roundtrip_json =
  "{\"weft_model\": 1, \"name\": \"rt\", \"description\": \"ünïcode ✓\","
  " \"inputs\": [{\"id\": \"image\", \"modality\": \"image\"}, {\"id\": \"label\", \"modality\": \"label\"}],"
  " \"nodes\": [{\"id\": \"enc\", \"type\": \"mlp\", \"inputs\": [\"image\"], \"params\": {\"hidden\": 32, \"out\": 16}},"
  "  {\"id\": \"cls\", \"type\": \"classifier\", \"inputs\": [\"enc\"], \"frozen\": true},"
  "  {\"id\": \"ce\", \"type\": \"cross_entropy\", \"inputs\": [\"cls\", \"label\"]}],"
  " \"losses\": [{\"node\": \"ce\", \"weight\": 0.5}],"
  " \"layout\": {\"enc\": [10, 20], \"cls\": [200.5, 20]},"
  " \"x_custom\": {\"keep\": [1, 2, 3]}}";

static void
test_roundtrip (void)
{
  g_autoptr(WeftSpec) a = parse_ok (roundtrip_json);
  g_autofree char *t1 = weft_spec_to_string (a);
  g_autoptr(WeftSpec) b = parse_ok (t1);
  g_autofree char *t2 = weft_spec_to_string (b);
  g_assert_cmpstr (t1, ==, t2);
  g_assert_nonnull (strstr (t1, "\"x_custom\""));
  g_assert_nonnull (strstr (t1, "200.5"));
  g_assert_nonnull (strstr (t1, "ünïcode ✓"));
  g_assert_true (((WeftSpecNode *) g_ptr_array_index (b->nodes, 1))->frozen);
}

/* ---- whole-graph gradients ---- */

/* image → flatten → a (dense) ┬→ relu → cls1 ─┐
 *                              └→ b (shares a's weights? no: text) ...
 * The graph exercises fan-out (a feeds two nodes), concat, a shared
 * encoder (siamese over two text views), and two weighted losses. */
static const char *grad_json =
  "{\"weft_model\": 1,"
  " \"inputs\": [{\"id\": \"image\", \"modality\": \"image\"}, {\"id\": \"t\", \"modality\": \"text\", \"text_form\": \"bow\"},"
  "  {\"id\": \"label\", \"modality\": \"label\"}],"
  " \"nodes\": ["
  "  {\"id\": \"fi\", \"type\": \"flatten\", \"inputs\": [\"image\"]},"
  "  {\"id\": \"a\", \"type\": \"dense\", \"inputs\": [\"fi\"], \"params\": {\"units\": 6, \"activation\": \"tanh\"}},"
  "  {\"id\": \"s1\", \"type\": \"dense\", \"inputs\": [\"t\"], \"params\": {\"units\": 6}},"
  "  {\"id\": \"s2\", \"type\": \"dense\", \"inputs\": [\"t\"], \"params\": {\"units\": 6}, \"share_weights_with\": \"s1\"},"
  "  {\"id\": \"cat\", \"type\": \"concat\", \"inputs\": [\"a\", \"s1\", \"a\"]},"
  "  {\"id\": \"cls\", \"type\": \"classifier\", \"inputs\": [\"cat\"]},"
  "  {\"id\": \"ce\", \"type\": \"cross_entropy\", \"inputs\": [\"cls\", \"label\"]},"
  "  {\"id\": \"m\", \"type\": \"mse\", \"inputs\": [\"s2\", \"a\"]}],"
  " \"losses\": [{\"node\": \"ce\", \"weight\": 1.0}, {\"node\": \"m\", \"weight\": 0.3}]}";

static void
small_binding (WeftBinding *b)
{
  weft_binding_init_default (b);
  b->image = weft_shape_3 (1, 3, 3);
  b->text_length = 4;
  b->vocab_size = 5;
  b->n_classes = 3;
}

static void
fill_inputs (WeftGraph *g, int B, guint32 seed)
{
  g_autoptr(GRand) r = g_rand_new_with_seed (seed);
  for (int m = 0; m < WEFT_N_MODALITIES; m++)
    {
      gsize size;
      float *x = weft_graph_get_input (g, m, &size);
      if (x == NULL)
        continue;
      for (gsize i = 0; i < B * size; i++)
        x[i] = m == WEFT_MODALITY_LABEL ? (float) g_rand_int_range (r, 0, 3)
                                        : (float) g_rand_double_range (r, -1, 1);
    }
}

static void
test_graph_gradients (void)
{
  g_autoptr(WeftSpec) s = parse_ok (grad_json);
  WeftBinding b;
  small_binding (&b);
  GError *error = NULL;
  g_autoptr(WeftGraph) g = weft_graph_compile (s, &b, &error);
  g_assert_no_error (error);
  const int B = 4;
  weft_graph_allocate (g, B, 3);
  fill_inputs (g, B, 11);

  /* s1 and s2 share one weight: the arena holds it once. */
  g_assert_nonnull (weft_graph_lookup_weight (g, "s1.weight"));
  g_assert_null (weft_graph_lookup_weight (g, "s2.weight"));

  weft_graph_forward (g, B, TRUE);
  weft_graph_backward (g, B);
  float *grads;
  gsize n;
  float *w = weft_graph_get_arena (g, &grads, &n);
  g_autofree float *an = g_memdup2 (grads, n * sizeof (float));
  int checked = 0;
  for (guint k = 0; k < weft_graph_get_n_weights (g); k++)
    {
      const WeftGraphWeight *gw = weft_graph_get_weight (g, k);
      for (gsize i = 0; i < gw->size; i += 2)
        {
          gsize j = gw->offset + i;
          float keep = w[j];
          const float eps = 1e-3f;
          w[j] = keep + eps;
          double lp = weft_graph_forward (g, B, TRUE);
          w[j] = keep - eps;
          double lm = weft_graph_forward (g, B, TRUE);
          w[j] = keep;
          double fd = (lp - lm) / (2 * eps);
          if (!(fabs (fd - an[j]) <= 2e-3 + 2e-2 * MAX (fabs (fd), fabs (an[j]))))
            g_error ("%s[%zu]: analytic %g, finite difference %g", gw->name, i, an[j], fd);
          checked++;
        }
    }
  g_assert_cmpint (checked, >, 40);
}

static void
test_frozen_not_trained (void)
{
  g_autoptr(WeftSpec) s = parse_ok (roundtrip_json);
  WeftBinding b;
  small_binding (&b);
  GError *error = NULL;
  g_autoptr(WeftGraph) g = weft_graph_compile (s, &b, &error);
  g_assert_no_error (error);
  weft_graph_allocate (g, 4, 1);
  fill_inputs (g, 4, 5);
  weft_graph_forward (g, 4, TRUE);
  weft_graph_backward (g, 4);
  const WeftGraphWeight *cw = weft_graph_lookup_weight (g, "cls.weight");
  const WeftGraphWeight *ew = weft_graph_lookup_weight (g, "enc.out.weight");
  g_assert_nonnull (cw);
  g_assert_nonnull (ew);
  g_assert_null (cw->grad);        /* frozen: no gradient, no update */
  g_assert_nonnull (ew->grad);     /* but gradients still flow through it */
  double sum = 0;
  for (gsize i = 0; i < ew->size; i++)
    sum += fabs (ew->grad[i]);
  g_assert_cmpfloat (sum, >, 0);
}

static void
test_same_seed_same_weights (void)
{
  g_autoptr(WeftSpec) s = parse_ok (grad_json);
  WeftBinding b;
  small_binding (&b);
  g_autoptr(WeftGraph) g1 = weft_graph_compile (s, &b, NULL);
  g_autoptr(WeftGraph) g2 = weft_graph_compile (s, &b, NULL);
  g_autoptr(WeftGraph) g3 = weft_graph_compile (s, &b, NULL);
  weft_graph_allocate (g1, 2, 7);
  weft_graph_allocate (g2, 8, 7);
  weft_graph_allocate (g3, 2, 8);
  gsize n1, n2;
  float *a1 = weft_graph_get_arena (g1, NULL, &n1);
  float *a2 = weft_graph_get_arena (g2, NULL, &n2);
  float *a3 = weft_graph_get_arena (g3, NULL, NULL);
  g_assert_cmpuint (n1, ==, n2);
  g_assert_cmpmem (a1, n1 * sizeof (float), a2, n2 * sizeof (float));
  g_assert_true (memcmp (a1, a3, n1 * sizeof (float)) != 0);
}

/* ---- checkpoints ---- */

static void
test_checkpoint_roundtrip (void)
{
  g_autoptr(WeftSpec) s = parse_ok (grad_json);
  WeftBinding b;
  small_binding (&b);
  g_autoptr(WeftGraph) g = weft_graph_compile (s, &b, NULL);
  weft_graph_allocate (g, 4, 9);
  fill_inputs (g, 4, 2);
  weft_graph_forward (g, 4, FALSE);
  int cls = weft_graph_find (g, "cls");
  g_autofree float *before = g_memdup2 (weft_graph_get_node (g, cls)->node->out, 4 * 3 * sizeof (float));

  g_autofree char *dir = g_dir_make_tmp ("weft-ckpt-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "m.safetensors", NULL);
  GError *error = NULL;
  g_autoptr(JsonObject) tr = json_object_new ();
  json_object_set_int_member (tr, "epochs", 3);
  g_assert_true (weft_checkpoint_save (g, NULL, tr, path, &error));
  g_assert_no_error (error);

  WeftCheckpointInfo info;
  g_autoptr(WeftGraph) h = weft_checkpoint_load (path, 4, &info, &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_object_get_int_member (info.training, "epochs"), ==, 3);
  weft_checkpoint_info_clear (&info);
  /* same inputs → bit-identical outputs */
  for (int m = 0; m < WEFT_N_MODALITIES; m++)
    {
      gsize size;
      float *x = weft_graph_get_input (g, m, &size), *y = weft_graph_get_input (h, m, NULL);
      if (x)
        memcpy (y, x, 4 * size * sizeof (float));
    }
  weft_graph_forward (h, 4, FALSE);
  g_assert_cmpmem (before, 4 * 3 * sizeof (float),
                   weft_graph_get_node (h, weft_graph_find (h, "cls"))->node->out, 4 * 3 * sizeof (float));

  /* another architecture refuses it, naming the weight */
  g_autoptr(WeftSpec) other = parse_ok (roundtrip_json);
  g_autoptr(WeftGraph) o = weft_graph_compile (other, &b, NULL);
  weft_graph_allocate (o, 4, 1);
  g_autoptr(WeftSafetensors) st = weft_safetensors_load (path, &error);
  g_assert_no_error (error);
  g_assert_false (weft_checkpoint_apply (o, st, "m.safetensors", &error));
  g_assert_error (error, WEFT_ERROR, WEFT_ERROR_CHECKPOINT);
  g_assert_nonnull (strstr (error->message, "m.safetensors has no weight 'enc.hidden1.weight'"));
  g_clear_error (&error);

  /* a truncated file is an error, never a crash */
  g_autofree char *data = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  g_autofree char *cut = g_build_filename (dir, "cut.safetensors", NULL);
  g_assert_true (g_file_set_contents (cut, data, len - 7, NULL));
  g_assert_null (weft_checkpoint_load (cut, 4, NULL, &error));
  g_assert_error (error, WEFT_ERROR, WEFT_ERROR_CHECKPOINT);
  g_clear_error (&error);
  g_unlink (cut);
  g_unlink (path);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  weft_blas_set_threads (1);
  g_test_add_func ("/spec/parse-errors", test_parse_errors);
  g_test_add_func ("/spec/roundtrip-lossless", test_roundtrip);
  g_test_add_func ("/graph/compile-errors-name-node-and-port", test_compile_errors);
  g_test_add_func ("/graph/whole-graph-gradients", test_graph_gradients);
  g_test_add_func ("/graph/frozen-node-not-trained", test_frozen_not_trained);
  g_test_add_func ("/graph/same-seed-same-weights", test_same_seed_same_weights);
  g_test_add_func ("/checkpoint/roundtrip-and-refusals", test_checkpoint_roundtrip);
  return g_test_run ();
}
