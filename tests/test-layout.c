/* test-layout.c — the editor's spec helpers: automatic layered layout for a
 * hand-written spec, and inspection that still reports known shapes (and
 * names the failing node) when the model does not compile. */
#include <glib.h>

#include "graph/weft-layout.h"

static const char *late_fusion_no_layout =
  "{ \"weft_model\": 1,"
  "  \"inputs\": [ {\"id\": \"image\", \"modality\": \"image\"},"
  "                {\"id\": \"text\", \"modality\": \"text\"},"
  "                {\"id\": \"label\", \"modality\": \"label\"} ],"
  "  \"nodes\": ["
  "    {\"id\": \"img_enc\", \"type\": \"cnn\", \"inputs\": [\"image\"], \"params\": {\"out\": 32}},"
  "    {\"id\": \"txt_emb\", \"type\": \"embedding_bag\", \"inputs\": [\"text\"], \"params\": {\"dim\": 16}},"
  "    {\"id\": \"img_cls\", \"type\": \"classifier\", \"inputs\": [\"img_enc\"]},"
  "    {\"id\": \"txt_cls\", \"type\": \"classifier\", \"inputs\": [\"txt_emb\"]},"
  "    {\"id\": \"fusion\", \"type\": \"late_fusion\", \"inputs\": [\"img_cls\", \"txt_cls\"]},"
  "    {\"id\": \"loss\", \"type\": \"cross_entropy\", \"inputs\": [\"fusion\", \"label\"]} ],"
  "  \"losses\": [ {\"node\": \"loss\", \"weight\": 1} ] }";

static WeftSpec *
parse (const char *text)
{
  g_autoptr(GError) error = NULL;
  WeftSpec *spec = weft_spec_parse_data (text, -1, &error);
  g_assert_no_error (error);
  return spec;
}

static void
test_layout_layers_by_depth (void)
{
  g_autoptr(WeftSpec) spec = parse (late_fusion_no_layout);
  double x, y, x2, y2;

  g_assert_false (weft_layout_is_complete (spec));
  weft_layout_arrange (spec, FALSE);
  g_assert_true (weft_layout_is_complete (spec));

  /* Inputs on the left, each later stage one column further right. */
  g_assert_true (weft_layout_get (spec, "image", &x, &y));
  g_assert_cmpfloat (x, ==, WEFT_LAYOUT_MARGIN);
  g_assert_true (weft_layout_get (spec, "label", &x2, &y2));
  g_assert_cmpfloat (x2, ==, x);
  g_assert_cmpfloat (y2, >, y);
  g_assert_true (weft_layout_get (spec, "img_enc", &x, &y));
  g_assert_cmpfloat (x, ==, WEFT_LAYOUT_MARGIN + WEFT_LAYOUT_COLUMN);
  g_assert_true (weft_layout_get (spec, "fusion", &x, &y));
  g_assert_cmpfloat (x, ==, WEFT_LAYOUT_MARGIN + 3 * WEFT_LAYOUT_COLUMN);
  g_assert_true (weft_layout_get (spec, "loss", &x, &y));
  g_assert_cmpfloat (x, ==, WEFT_LAYOUT_MARGIN + 4 * WEFT_LAYOUT_COLUMN);

  /* No two nodes share a place. */
  g_assert_true (weft_layout_get (spec, "img_cls", &x, &y));
  g_assert_true (weft_layout_get (spec, "txt_cls", &x2, &y2));
  g_assert_cmpfloat (x, ==, x2);
  g_assert_cmpfloat (y, !=, y2);

  /* The layout survives the JSON round trip. */
  g_autofree char *text = weft_spec_to_string (spec);
  g_autoptr(WeftSpec) again = parse (text);
  g_assert_true (weft_layout_get (again, "fusion", &x2, &y2));
  g_assert_true (weft_layout_get (spec, "fusion", &x, &y));
  g_assert_cmpfloat (x, ==, x2);
  g_assert_cmpfloat (y, ==, y2);
}

static void
test_layout_keeps_placed_nodes (void)
{
  g_autoptr(WeftSpec) spec = parse (late_fusion_no_layout);
  double x, y;

  weft_layout_set (spec, "fusion", 1000, 500);
  weft_layout_arrange (spec, TRUE);
  g_assert_true (weft_layout_get (spec, "fusion", &x, &y));
  g_assert_cmpfloat (x, ==, 1000);
  g_assert_cmpfloat (y, ==, 500);
  g_assert_true (weft_layout_is_complete (spec));
}

static void
test_inspect_valid_model (void)
{
  g_autoptr(WeftSpec) spec = parse (late_fusion_no_layout);
  WeftBinding b;
  weft_binding_init_default (&b);

  g_autoptr(WeftInspection) insp = weft_inspect (spec, &b);
  g_assert_cmpstr (insp->error, ==, NULL);
  const WeftInspectNode *n = weft_inspection_lookup (insp, "img_enc");
  g_assert_nonnull (n);
  g_assert_true (n->known);
  g_assert_cmpint (n->shape.n, ==, 1);
  g_assert_cmpint (n->shape.d[0], ==, 32);
  g_assert_cmpuint (n->params, >, 32);
  n = weft_inspection_lookup (insp, "img_cls");
  g_assert_cmpint (n->shape.d[0], ==, b.n_classes);
  g_assert_cmpuint (insp->total_params, >, n->params);
  g_assert_cmpuint (insp->total_flops, >, 0);
  g_assert_nonnull (weft_inspection_lookup (insp, "image"));
}

static void
test_inspect_names_failing_node (void)
{
  g_autoptr(WeftSpec) spec = parse (late_fusion_no_layout);
  WeftBinding b;
  weft_binding_init_default (&b);

  /* Late fusion of a 10-class prediction and a 16-wide embedding: wrong. */
  WeftSpecNode *fusion = (WeftSpecNode *) weft_spec_find_node (spec, "fusion");
  g_free (fusion->inputs[1]);
  fusion->inputs[1] = g_strdup ("txt_emb");

  g_autoptr(WeftInspection) insp = weft_inspect (spec, &b);
  g_assert_nonnull (insp->error);
  g_assert_cmpstr (insp->error_id, ==, "fusion");
  /* Upstream shapes are still known; the failing node and after are not. */
  g_assert_nonnull (weft_inspection_lookup (insp, "img_cls"));
  g_assert_nonnull (weft_inspection_lookup (insp, "txt_emb"));
  g_assert_null (weft_inspection_lookup (insp, "fusion"));
  g_assert_null (weft_inspection_lookup (insp, "loss"));
}

static void
test_inspect_unfinished_model (void)
{
  /* No loss yet: the model is invalid, but the encoder's shape is known. */
  g_autoptr(WeftSpec) spec = parse (
    "{ \"weft_model\": 1, \"inputs\": [ {\"id\": \"image\", \"modality\": \"image\"} ],"
    "  \"nodes\": [ {\"id\": \"enc\", \"type\": \"cnn\", \"inputs\": [\"image\"]} ] }");
  WeftBinding b;
  weft_binding_init_default (&b);

  g_autoptr(WeftInspection) insp = weft_inspect (spec, &b);
  g_assert_nonnull (insp->error);
  g_assert_null (insp->error_id);
  const WeftInspectNode *n = weft_inspection_lookup (insp, "enc");
  g_assert_nonnull (n);
  g_assert_cmpuint (n->params, >, 0);
  g_assert_null (weft_inspection_lookup (insp, "__weft_probe"));
}

static void
test_error_node_id (void)
{
  g_autofree char *a = weft_error_dup_node_id ("node 'enc.conv1': wrong");
  g_autofree char *b = weft_error_dup_node_id ("input 'label': the dataset has no labels");
  g_autofree char *c = weft_error_dup_node_id ("the model has no loss");
  g_assert_cmpstr (a, ==, "enc");
  g_assert_cmpstr (b, ==, "label");
  g_assert_null (c);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/layout/layers-by-depth", test_layout_layers_by_depth);
  g_test_add_func ("/layout/keeps-placed-nodes", test_layout_keeps_placed_nodes);
  g_test_add_func ("/inspect/valid-model", test_inspect_valid_model);
  g_test_add_func ("/inspect/names-failing-node", test_inspect_names_failing_node);
  g_test_add_func ("/inspect/unfinished-model", test_inspect_unfinished_model);
  g_test_add_func ("/inspect/error-node-id", test_error_node_id);
  return g_test_run ();
}
