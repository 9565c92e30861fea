/* weft-predict.c — class predictions in evaluation mode, batch by batch,
 * and the confusion matrix they give against the labels. */
#include "weft-predict.h"

#include <math.h>
#include <string.h>

#include "weft-error.h"

int
weft_predict_find_classifier (WeftGraph *g, int *K)
{
  int ce = weft_graph_find_loss (g, "cross_entropy");
  int k = -1;

  if (ce >= 0)
    k = weft_graph_get_node (g, ce)->src[0];
  else
    /* A model may keep a classifier head without training it by a loss
     * (say one loaded to inspect); its logits are still a prediction. */
    for (int i = 0; i < weft_graph_get_n_nodes (g) && k < 0; i++)
      if (g_str_equal (weft_graph_get_node (g, i)->node->block->type, "classifier"))
        k = i;
  if (K != NULL)
    *K = k >= 0 ? (int) weft_node_out_size (weft_graph_get_node (g, k)->node) : 0;
  return k;
}

int *
weft_predict_classes (WeftGraph *g, const WeftFeatures *f, const int *rows, int n,
                      int max_batch, const WeftPerturb *p, GError **error)
{
  int K = 0;
  int k = weft_predict_find_classifier (g, &K);
  int B = weft_graph_get_max_batch (g);
  g_autofree int *predicted = NULL;
  WeftNode *logits;

  if (k < 0 || K < 1)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_ARGS,
                   "this model has no classifier, so it predicts no classes");
      return NULL;
    }
  if (max_batch > 0 && max_batch < B)
    B = max_batch;
  logits = weft_graph_get_node (g, k)->node;
  predicted = g_new (int, MAX (n, 1));
  for (int start = 0; start < n; start += B)
    {
      int b = MIN (B, n - start);

      weft_features_gather (f, g, rows + start, b);
      weft_perturb_apply (p, g, b, (guint64) (start / B));
      weft_graph_forward (g, b, FALSE);
      for (int i = 0; i < b; i++)
        {
          const float *z = logits->out + (gsize) i * K;
          int best = 0;

          /* The first of equal maxima, as weft_evaluate counts it. */
          for (int c = 1; c < K; c++)
            if (z[c] > z[best])
              best = c;
          predicted[start + i] = best;
        }
    }
  return g_steal_pointer (&predicted);
}

gint64
weft_confusion_matrix (const float *labels, const int *rows, const int *predicted, int n,
                       int K, gint64 *counts)
{
  gint64 counted = 0;

  memset (counts, 0, (gsize) K * K * sizeof *counts);
  if (labels == NULL)
    return 0;
  for (int i = 0; i < n; i++)
    {
      float y = labels[rows ? rows[i] : i];
      int c = predicted[i];

      if (!(y >= 0 && y < K) || c < 0 || c >= K)
        continue;
      counts[(gsize) y * K + c]++;
      counted++;
    }
  return counted;
}

void
weft_confusion_class_accuracy (const gint64 *counts, int K, double *accuracy)
{
  for (int t = 0; t < K; t++)
    {
      gint64 total = 0;

      for (int c = 0; c < K; c++)
        total += counts[(gsize) t * K + c];
      accuracy[t] = total > 0 ? (double) counts[(gsize) t * K + t] / total : NAN;
    }
}
