/* weft-metrics.c — evaluation passes: accuracy from the classifier feeding
 * the first cross-entropy, and retrieval recall from the two embeddings
 * feeding the first InfoNCE loss. */
#include "weft-metrics.h"

#include <math.h>
#include <string.h>

#include "tensor/weft-blas.h"
#include "tensor/weft-rng.h"

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
weft_perturb_init (WeftPerturb *p)
{
  memset (p, 0, sizeof *p);
  p->audio_snr_db = INFINITY;
  p->seed = 1;
}

static gboolean
perturb_is_identity (const WeftPerturb *p)
{
  return p == NULL
         || (p->drop == 0 && !(p->image_sigma > 0)
             && (isnan (p->audio_snr_db) || isinf (p->audio_snr_db)));
}

static gboolean
text_input_is_bow (WeftGraph *g)
{
  const WeftSpec *spec = weft_graph_get_spec (g);
  for (guint i = 0; spec && i < spec->inputs->len; i++)
    {
      const WeftSpecInput *in = g_ptr_array_index (spec->inputs, i);
      if (in->modality == WEFT_MODALITY_TEXT)
        return in->text_bow;
    }
  return FALSE;
}

void
weft_perturb_apply (const WeftPerturb *p, WeftGraph *g, int B, guint64 batch_index)
{
  gsize size;
  float *x;

  if (perturb_is_identity (p))
    return;
  for (int m = 0; m < WEFT_N_MODALITIES; m++)
    {
      if (m == WEFT_MODALITY_LABEL || !(p->drop & (1u << m)))
        continue;
      if ((x = weft_graph_get_input (g, m, &size)) == NULL)
        continue;
      /* Token ids use -1 for padding; a bag of words of no words is 0. */
      float fill = m == WEFT_MODALITY_TEXT && !text_input_is_bow (g) ? -1.f : 0.f;
      for (gsize i = 0; i < (gsize) B * size; i++)
        x[i] = fill;
    }

  WeftRng rng;
  weft_rng_init (&rng, p->seed ^ (batch_index * G_GUINT64_CONSTANT (0x9E3779B97F4A7C15)));
  if (p->image_sigma > 0 && !(p->drop & (1u << WEFT_MODALITY_IMAGE))
      && (x = weft_graph_get_input (g, WEFT_MODALITY_IMAGE, &size)))
    for (gsize i = 0; i < (gsize) B * size; i++)
      x[i] += (float) p->image_sigma * weft_rng_normal (&rng);
  if (isfinite (p->audio_snr_db) && !(p->drop & (1u << WEFT_MODALITY_AUDIO))
      && (x = weft_graph_get_input (g, WEFT_MODALITY_AUDIO, &size)))
    for (int b = 0; b < B; b++)
      {
        float *row = x + (gsize) b * size;
        double power = 0;
        for (gsize i = 0; i < size; i++)
          power += (double) row[i] * row[i];
        power /= MAX (size, 1);
        /* SNR = 10 log10 (signal power / noise power) */
        float sigma = (float) sqrt (power / pow (10.0, p->audio_snr_db / 10.0));
        for (gsize i = 0; i < size; i++)
          row[i] += sigma * weft_rng_normal (&rng);
      }
}

static void evaluate (WeftGraph *g, const WeftFeatures *f, const int *rows, int n,
                      int max_retrieval_rows, const WeftPerturb *p, WeftEvalResult *out);

void
weft_evaluate (WeftGraph *g, const WeftFeatures *f, const int *rows, int n,
               int max_retrieval_rows, WeftEvalResult *out)
{
  evaluate (g, f, rows, n, max_retrieval_rows, NULL, out);
}

void
weft_evaluate_perturbed (WeftGraph *g, const WeftFeatures *f, const int *rows, int n,
                         const WeftPerturb *p, WeftEvalResult *out)
{
  evaluate (g, f, rows, n, 1000, p, out);
}

static void
evaluate (WeftGraph *g, const WeftFeatures *f, const int *rows, int n,
          int max_retrieval_rows, const WeftPerturb *p, WeftEvalResult *out)
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
      weft_perturb_apply (p, g, b, (guint64) (start / B));
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
