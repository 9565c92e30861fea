/* weft-metrics.c — evaluation passes: accuracy from the classifier feeding
 * the first cross-entropy, and retrieval recall from the two embeddings
 * feeding the first InfoNCE loss. */
#include "weft-metrics.h"

#include <math.h>
#include <string.h>

#include "tensor/weft-blas.h"

int
weft_graph_find_loss (WeftGraph *g, const char *type)
{
  for (int k = 0; k < weft_graph_get_n_nodes (g); k++)
    {
      WeftGraphNode *gn = weft_graph_get_node (g, k);
      if (gn->loss_weight > 0 && g_str_equal (gn->node->block->type, type))
        return k;
    }
  return -1;
}

static int
cmp_int (gconstpointer a, gconstpointer b)
{
  return *(const int *) a - *(const int *) b;
}

static void
normalize_rows (float *X, int n, int d)
{
  for (int i = 0; i < n; i++)
    {
      float *x = X + (gsize) i * d;
      double s = 0;
      for (int j = 0; j < d; j++)
        s += (double) x[j] * x[j];
      float inv = s > 0 ? (float) (1.0 / sqrt (s)) : 0.f;
      for (int j = 0; j < d; j++)
        x[j] *= inv;
    }
}

void
weft_retrieval_recall (const float *A, const float *B, int n, int d,
                       double recall[3], double *median_rank)
{
  if (n <= 0)
    {
      recall[0] = recall[1] = recall[2] = NAN;
      *median_rank = NAN;
      return;
    }
  g_autofree float *a = g_memdup2 (A, (gsize) n * d * sizeof (float));
  g_autofree float *b = g_memdup2 (B, (gsize) n * d * sizeof (float));
  normalize_rows (a, n, d);
  normalize_rows (b, n, d);
  g_autofree float *S = g_new (float, (gsize) n * n);
  /* S (n, n) = a (n, d) · bᵀ (d, n) */
  weft_sgemm (FALSE, TRUE, n, n, d, 1.f, a, d, b, d, 0.f, S, n);
  g_autofree int *ranks = g_new (int, n);
  int hits[3] = { 0, 0, 0 };
  for (int i = 0; i < n; i++)
    {
      const float *s = S + (gsize) i * n;
      int r = 1;
      for (int j = 0; j < n; j++)
        if (s[j] > s[i] || (s[j] == s[i] && j < i))
          r++;
      ranks[i] = r;
      hits[0] += r <= 1;
      hits[1] += r <= 5;
      hits[2] += r <= 10;
    }
  for (int k = 0; k < 3; k++)
    recall[k] = (double) hits[k] / n;
  qsort (ranks, n, sizeof (int), cmp_int);
  *median_rank = n % 2 ? ranks[n / 2] : 0.5 * (ranks[n / 2 - 1] + ranks[n / 2]);
}

void
weft_evaluate (WeftGraph *g, const WeftFeatures *f, const int *rows, int n,
               int max_retrieval_rows, WeftEvalResult *out)
{
  int B = weft_graph_get_max_batch (g);
  int ce = weft_graph_find_loss (g, "cross_entropy");
  int nce = weft_graph_find_loss (g, "infonce");
  WeftNode *logits = NULL, *labels = NULL, *ea = NULL, *eb = NULL;
  int K = 0, da = 0;
  double loss = 0;
  gint64 correct = 0, labelled = 0;

  if (max_retrieval_rows <= 0)
    max_retrieval_rows = 1000;
  memset (out, 0, sizeof *out);
  out->n_rows = n;
  out->accuracy = NAN;
  for (int k = 0; k < 3; k++)
    out->recall_ab[k] = out->recall_ba[k] = NAN;
  out->median_rank_ab = out->median_rank_ba = NAN;

  if (ce >= 0)
    {
      WeftGraphNode *gn = weft_graph_get_node (g, ce);
      logits = weft_graph_get_node (g, gn->src[0])->node;
      labels = weft_graph_get_node (g, gn->src[1])->node;
      K = (int) weft_node_out_size (logits);
    }
  int n_ret = MIN (n, max_retrieval_rows);
  g_autofree float *A = NULL, *Bm = NULL;
  if (nce >= 0)
    {
      WeftGraphNode *gn = weft_graph_get_node (g, nce);
      ea = weft_graph_get_node (g, gn->src[0])->node;
      eb = weft_graph_get_node (g, gn->src[1])->node;
      da = (int) weft_node_out_size (ea);
      A = g_new (float, (gsize) MAX (n_ret, 1) * da);
      Bm = g_new (float, (gsize) MAX (n_ret, 1) * da);
    }

  for (int start = 0; start < n; start += B)
    {
      int b = MIN (B, n - start);
      weft_features_gather (f, g, rows + start, b);
      loss += weft_graph_forward (g, b, FALSE) * b;
      if (logits)
        for (int i = 0; i < b; i++)
          {
            float y = labels->out[i];
            if (y < 0 || y >= K)
              continue;
            const float *z = logits->out + (gsize) i * K;
            int best = 0;
            for (int c = 1; c < K; c++)
              if (z[c] > z[best])
                best = c;
            correct += best == (int) y;
            labelled++;
          }
      if (ea && start < n_ret)
        {
          int m = MIN (b, n_ret - start);
          memcpy (A + (gsize) start * da, ea->out, (gsize) m * da * sizeof (float));
          memcpy (Bm + (gsize) start * da, eb->out, (gsize) m * da * sizeof (float));
        }
    }
  out->loss = n ? loss / n : NAN;
  if (logits && labelled)
    out->accuracy = (double) correct / labelled;
  if (ea)
    {
      weft_retrieval_recall (A, Bm, n_ret, da, out->recall_ab, &out->median_rank_ab);
      weft_retrieval_recall (Bm, A, n_ret, da, out->recall_ba, &out->median_rank_ba);
    }
}
