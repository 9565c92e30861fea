/* test-predict.c — class predictions equal the argmax of the classifier's
 * logits, batch size does not change them, and the confusion matrix counts. */
#include <math.h>
#include <string.h>

#include <glib.h>

#include "train/weft-predict.h"
#include "weft-error.h"

static const char *classifier_json =
  "{\"weft_model\": 1, \"name\": \"tiny\","
  " \"inputs\": [{\"id\": \"image\", \"modality\": \"image\"}, {\"id\": \"label\", \"modality\": \"label\"}],"
  " \"nodes\": [{\"id\": \"enc\", \"type\": \"mlp\", \"inputs\": [\"image\"], \"params\": {\"hidden\": 8, \"out\": 6, \"dropout\": 0.5}},"
  "  {\"id\": \"cls\", \"type\": \"classifier\", \"inputs\": [\"enc\"]},"
  "  {\"id\": \"ce\", \"type\": \"cross_entropy\", \"inputs\": [\"cls\", \"label\"]}]}";

static const char *encoder_json =
  "{\"weft_model\": 1, \"name\": \"no-head\","
  " \"inputs\": [{\"id\": \"image\", \"modality\": \"image\"}],"
  " \"nodes\": [{\"id\": \"enc\", \"type\": \"dense\", \"inputs\": [\"image\"], \"params\": {\"units\": 3}},"
  "  {\"id\": \"rec\", \"type\": \"mse\", \"inputs\": [\"enc\", \"image\"]}]}";

static WeftFeatures *
synthetic (int n)
{
  WeftFeatures *f = weft_features_new (n);
  float *x = weft_features_add_column (f, WEFT_MODALITY_IMAGE, weft_shape_3 (1, 3, 3));
  float *y = weft_features_add_column (f, WEFT_MODALITY_LABEL, weft_shape_1 (1));
  g_autoptr(GRand) r = g_rand_new_with_seed (3);

  f->n_classes = 4;
  for (int i = 0; i < n; i++)
    {
      y[i] = i % 4;
      for (int k = 0; k < 9; k++)
        x[i * 9 + k] = (float) g_rand_double_range (r, -1, 1);
    }
  return f;
}

static WeftGraph *
compile (const char *json, WeftFeatures *f, int batch)
{
  GError *error = NULL;
  g_autoptr(WeftSpec) s = weft_spec_parse_data (json, -1, &error);
  WeftBinding b;
  WeftGraph *g;

  g_assert_no_error (error);
  weft_features_get_binding (f, &b);
  g = weft_graph_compile (s, &b, &error);
  g_assert_no_error (error);
  weft_graph_allocate (g, batch, 5);
  return g;
}

static void
test_argmax (void)
{
  const int n = 23;
  g_autoptr(WeftFeatures) f = synthetic (n);
  g_autoptr(WeftGraph) g = compile (classifier_json, f, 8);
  g_autofree int *rows = g_new (int, n);
  g_autofree int *pred = NULL, *pred3 = NULL;
  GError *error = NULL;
  int K = 0;
  int k = weft_predict_find_classifier (g, &K);
  int seen[4] = { 0 };

  g_assert_cmpint (k, ==, weft_graph_find_output (g, "cls"));
  g_assert_cmpint (K, ==, 4);
  /* Rows in a shuffled order, so that a mix-up of row and position shows. */
  for (int i = 0; i < n; i++)
    rows[i] = (i * 7) % n;
  pred = weft_predict_classes (g, f, rows, n, 0, NULL, &error);
  g_assert_no_error (error);
  pred3 = weft_predict_classes (g, f, rows, n, 3, NULL, &error);
  g_assert_no_error (error);

  /* One row at a time, by hand: the argmax of its logits. Dropout is on in
   * the spec, so evaluation mode is needed for these to agree. */
  WeftNode *logits = weft_graph_get_node (g, k)->node;
  for (int i = 0; i < n; i++)
    {
      int best = 0;

      weft_features_gather (f, g, &rows[i], 1);
      weft_graph_forward (g, 1, FALSE);
      for (int c = 1; c < K; c++)
        if (logits->out[c] > logits->out[best])
          best = c;
      g_assert_cmpint (pred[i], ==, best);
      g_assert_cmpint (pred3[i], ==, best);
      seen[best]++;
    }
  /* Random weights on random inputs: more than one class comes out, or the
   * test above would prove little. */
  int distinct = 0;
  for (int c = 0; c < 4; c++)
    distinct += seen[c] > 0;
  g_assert_cmpint (distinct, >=, 2);

  /* The matrix from these predictions: every row counted once, in its true
   * class's row; the diagonal sums to weft_evaluate's accuracy. */
  gint64 counts[16];
  double acc[4];
  WeftEvalResult r;
  gint64 diag = 0, total = weft_confusion_matrix (f->label, rows, pred, n, 4, counts);
  g_assert_cmpint (total, ==, n);
  for (int t = 0; t < 4; t++)
    {
      gint64 row = 0;
      for (int c = 0; c < 4; c++)
        row += counts[t * 4 + c];
      g_assert_cmpint (row, ==, t < 3 ? 6 : 5);   /* 23 rows, labels i % 4 */
      diag += counts[t * 4 + t];
    }
  weft_evaluate (g, f, rows, n, 0, &r);
  g_assert_cmpfloat (fabs (r.accuracy - (double) diag / n), <, 1e-12);
  weft_confusion_class_accuracy (counts, 4, acc);
  for (int t = 0; t < 4; t++)
    g_assert_cmpfloat (fabs (acc[t] - (double) counts[t * 5] / (t < 3 ? 6 : 5)), <, 1e-12);
}

static void
test_matrix_counts (void)
{
  /* Labels by row index; rows 4 and 5 are unlabelled / out of range. */
  const float labels[] = { 0, 1, 2, 1, -1, 7, 2, 0 };
  const int rows[] = { 0, 1, 2, 3, 4, 5, 6, 7 };
  const int pred[] = { 0, 2, 2, 1, 0, 1, 0, 0 };
  gint64 counts[9];
  const gint64 want[9] = { 2, 0, 0,
                           0, 1, 1,
                           1, 0, 1 };
  double acc[3];

  g_assert_cmpint (weft_confusion_matrix (labels, rows, pred, 8, 3, counts), ==, 6);
  for (int i = 0; i < 9; i++)
    g_assert_cmpint (counts[i], ==, want[i]);
  weft_confusion_class_accuracy (counts, 3, acc);
  g_assert_cmpfloat (acc[0], ==, 1.0);
  g_assert_cmpfloat (acc[1], ==, 0.5);
  g_assert_cmpfloat (acc[2], ==, 0.5);

  /* A class with no rows has no accuracy, not zero. */
  const float two[] = { 0, 0 };
  const int p2[] = { 1, 0 };
  g_assert_cmpint (weft_confusion_matrix (two, NULL, p2, 2, 3, counts), ==, 2);
  weft_confusion_class_accuracy (counts, 3, acc);
  g_assert_cmpfloat (acc[0], ==, 0.5);
  g_assert_true (isnan (acc[1]) && isnan (acc[2]));
  g_assert_cmpint (weft_confusion_matrix (NULL, NULL, p2, 2, 3, counts), ==, 0);
}

static void
test_no_classifier (void)
{
  g_autoptr(WeftFeatures) f = synthetic (4);
  g_autoptr(WeftGraph) g = compile (encoder_json, f, 4);
  g_autoptr(GError) error = NULL;
  int rows[] = { 0, 1, 2, 3 };
  int K = -1;

  g_assert_cmpint (weft_predict_find_classifier (g, &K), ==, -1);
  g_assert_cmpint (K, ==, 0);
  g_assert_null (weft_predict_classes (g, f, rows, 4, 0, NULL, &error));
  g_assert_error (error, WEFT_ERROR, WEFT_ERROR_ARGS);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/predict/argmax", test_argmax);
  g_test_add_func ("/predict/matrix-counts", test_matrix_counts);
  g_test_add_func ("/predict/no-classifier", test_no_classifier);
  return g_test_run ();
}
