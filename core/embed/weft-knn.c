/* weft-knn.c — exact k nearest neighbours: similarities of a block of
 * queries against a block of vectors in one sgemm, then each query's
 * running top-k updated on two threads; and retrieval ranks on top. */
#include "weft-knn.h"

#include <math.h>
#include <string.h>

#include "embed/weft-workers.h"
#include "tensor/weft-blas.h"

/* Block sizes: a (QB, XB) similarity tile is 4 MiB, in L2/L3 while the
 * selection reads it right after the sgemm wrote it. */
#define QB 512
#define XB 2048

static void
normalise_rows (float *x, int n, int d)
{
  for (int i = 0; i < n; i++)
    {
      float *r = x + (gsize) i * d;
      double s = 0;
      for (int j = 0; j < d; j++)
        s += (double) r[j] * r[j];
      if (s > 0)
        {
          float inv = (float) (1.0 / sqrt (s));
          for (int j = 0; j < d; j++)
            r[j] *= inv;
        }
    }
}

static float *
squared_norms (const float *x, int n, int d)
{
  float *out = g_new (float, MAX (n, 1));
  for (int i = 0; i < n; i++)
    {
      const float *r = x + (gsize) i * d;
      double s = 0;
      for (int j = 0; j < d; j++)
        s += (double) r[j] * r[j];
      out[i] = (float) s;
    }
  return out;
}

typedef struct {
  const float *S;            /* (qn, xn) similarity tile, row stride xn */
  int q0, qn, x0, xn, k;
  const float *xsq;          /* euclidean: squared norms of X, else NULL */
  gboolean exclude_self;
  int *idx;                  /* (nq, k) running top-k, best first */
  float *val;                /* (nq, k) scores, descending */
} SelectJob;

/* Inserts (v, j) into the sorted row if it beats the last entry. Strictly
 * greater only: columns arrive in ascending order, so on ties the lower
 * index stays ahead. */
static inline void
topk_insert (int *idx, float *val, int k, float v, int j)
{
  int p = k - 1;
  while (p > 0 && val[p - 1] < v)
    {
      val[p] = val[p - 1];
      idx[p] = idx[p - 1];
      p--;
    }
  val[p] = v;
  idx[p] = j;
}

static void
select_part (int part, int n_parts, gpointer data)
{
  SelectJob *job = data;
  int start, end;
  weft_workers_range (job->qn, part, n_parts, &start, &end);
  int k = job->k;
  for (int r = start; r < end; r++)
    {
      int q = job->q0 + r;
      const float *s = job->S + (gsize) r * job->xn;
      int *idx = job->idx + (gsize) q * k;
      float *val = job->val + (gsize) q * k;
      float thr = val[k - 1];
      for (int c = 0; c < job->xn; c++)
        {
          /* Euclidean scores are 2 q·x − |x|², larger is nearer. */
          float v = job->xsq ? 2.f * s[c] - job->xsq[job->x0 + c] : s[c];
          if (v > thr)
            {
              int j = job->x0 + c;
              if (job->exclude_self && j == q)
                continue;
              topk_insert (idx, val, k, v, j);
              thr = val[k - 1];
            }
        }
    }
}

static gboolean
knn_run (const float *Q, int nq, const float *X, int nx, int d, int k,
         gboolean exclude_self, int threads, gboolean euclidean,
         int *out_idx, float *out_val, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (k >= 1 && d >= 1 && nq >= 0 && nx >= 0, FALSE);
  if (nq == 0)
    return TRUE;
  g_autofree float *q = NULL, *x = NULL, *xsq = NULL, *qsq = NULL;
  const float *qa = Q, *xa = X;
  if (!euclidean)
    {
      q = g_memdup2 (Q, (gsize) nq * d * sizeof (float));
      normalise_rows (q, nq, d);
      qa = q;
      if (X == Q && nx == nq)
        xa = q;
      else
        {
          x = g_memdup2 (X, (gsize) MAX (nx, 1) * d * sizeof (float));
          normalise_rows (x, nx, d);
          xa = x;
        }
    }
  else
    {
      xsq = squared_norms (X, nx, d);
      qsq = squared_norms (Q, nq, d);
    }

  float *val = g_new (float, (gsize) nq * k);
  for (gsize i = 0; i < (gsize) nq * k; i++)
    {
      val[i] = -INFINITY;
      out_idx[i] = -1;
    }
  g_autofree float *S = g_new (float, (gsize) QB * XB);
  g_autoptr(WeftWorkers) workers = weft_workers_new (threads > 0 ? threads : 2);
  gboolean ok = TRUE;
  for (int q0 = 0; q0 < nq && ok; q0 += QB)
    {
      int qn = MIN (QB, nq - q0);
      for (int x0 = 0; x0 < nx; x0 += XB)
        {
          int xn = MIN (XB, nx - x0);
          /* S (qn, xn) = Q[q0..] (qn, d) · X[x0..]ᵀ (d, xn): X is stored
           * (xn, d), hence trans_b. */
          weft_sgemm (FALSE, TRUE, qn, xn, d, 1.f, qa + (gsize) q0 * d, d,
                      xa + (gsize) x0 * d, d, 0.f, S, xn);
          SelectJob job = { S, q0, qn, x0, xn, k, xsq, exclude_self, out_idx, val };
          weft_workers_run (workers, select_part, &job);
        }
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        ok = FALSE;
    }
  if (ok && out_val)
    {
      for (int i = 0; i < nq; i++)
        for (int j = 0; j < k; j++)
          {
            gsize p = (gsize) i * k + j;
            if (out_idx[p] < 0)
              out_val[p] = euclidean ? INFINITY : -INFINITY;
            else if (euclidean)
              out_val[p] = MAX (qsq[i] - val[p], 0.f);
            else
              out_val[p] = val[p];
          }
    }
  g_free (val);
  return ok;
}

gboolean
weft_knn_cosine (const float *Q, int nq, const float *X, int nx, int d,
                 int k, gboolean exclude_self, int threads,
                 int *idx, float *sim, GCancellable *cancellable, GError **error)
{
  return knn_run (Q, nq, X, nx, d, k, exclude_self, threads, FALSE,
                  idx, sim, cancellable, error);
}

gboolean
weft_knn_euclidean (const float *Q, int nq, const float *X, int nx, int d,
                    int k, gboolean exclude_self, int threads,
                    int *idx, float *dist, GCancellable *cancellable, GError **error)
{
  return knn_run (Q, nq, X, nx, d, k, exclude_self, threads, TRUE,
                  idx, dist, cancellable, error);
}

/* ---- neighbours inside an embedding ---- */

int
weft_embedding_neighbours_of (const WeftEmbedding *e, const float *vector,
                              const char *to, int k, int *idx, float *sim)
{
  return weft_embedding_neighbours_excluding (e, vector, to, -1, k, idx, sim);
}

int
weft_embedding_neighbours_excluding (const WeftEmbedding *e, const float *vector,
                                     const char *to, int exclude, int k,
                                     int *idx, float *sim)
{
  WeftEmbedSpace *t = weft_embedding_get_space (e, to);
  g_return_val_if_fail (t != NULL && k >= 1, 0);
  int n = e->n, d = t->dim;
  g_autofree float *q = g_memdup2 (vector, (gsize) d * sizeof (float));
  normalise_rows (q, 1, d);
  g_autofree float *row = g_new (float, d);
  g_autofree float *val = g_new (float, k);
  for (int j = 0; j < k; j++)
    {
      val[j] = -INFINITY;
      idx[j] = -1;
    }
  for (int i = 0; i < n; i++)
    {
      if (i == exclude || !t->present[i])
        continue;
      memcpy (row, t->data + (gsize) i * d, (gsize) d * sizeof (float));
      normalise_rows (row, 1, d);
      float s = weft_sdot (d, q, row);
      if (s > val[k - 1])
        topk_insert (idx, val, k, s, i);
    }
  int found = 0;
  for (int j = 0; j < k; j++)
    {
      if (idx[j] >= 0)
        found++;
      if (sim)
        sim[j] = val[j];
    }
  return found;
}

int
weft_embedding_neighbours (const WeftEmbedding *e, const char *from, int sample,
                           const char *to, int k, int *idx, float *sim)
{
  WeftEmbedSpace *f = weft_embedding_get_space (e, from);
  WeftEmbedSpace *t = weft_embedding_get_space (e, to);
  g_return_val_if_fail (f != NULL && t != NULL && f->dim == t->dim, 0);
  g_return_val_if_fail (sample >= 0 && sample < e->n, 0);
  return weft_embedding_neighbours_excluding (e, f->data + (gsize) sample * f->dim, to,
                                              f == t ? sample : -1, k, idx, sim);
}

/* ---- retrieval ---- */

static int
cmp_int (gconstpointer a, gconstpointer b)
{
  int x = *(const int *) a, y = *(const int *) b;
  return (x > y) - (x < y);
}

void
weft_retrieval_ranks (const float *A, const float *B, int n, int d,
                      int *ranks, double recall[3], double *median_rank,
                      double *mean_rank)
{
  if (n <= 0)
    {
      recall[0] = recall[1] = recall[2] = NAN;
      if (median_rank)
        *median_rank = NAN;
      if (mean_rank)
        *mean_rank = NAN;
      return;
    }
  g_autofree float *a = g_memdup2 (A, (gsize) n * d * sizeof (float));
  g_autofree float *b = g_memdup2 (B, (gsize) n * d * sizeof (float));
  normalise_rows (a, n, d);
  normalise_rows (b, n, d);
  g_autofree int *r = g_new (int, n);
  int rb = MAX (1, MIN (n, (1 << 22) / MAX (n, 1)));
  g_autofree float *S = g_new (float, (gsize) rb * n);
  for (int i0 = 0; i0 < n; i0 += rb)
    {
      int m = MIN (rb, n - i0);
      /* S (m, n) = a[i0..] (m, d) · bᵀ (d, n) */
      weft_sgemm (FALSE, TRUE, m, n, d, 1.f, a + (gsize) i0 * d, d, b, d, 0.f, S, n);
      for (int ii = 0; ii < m; ii++)
        {
          int i = i0 + ii;
          const float *s = S + (gsize) ii * n;
          float own = s[i];
          int rank = 1;
          /* Ties count against the query when the rival comes first, as
           * in weft_retrieval_recall, so a collapsed space scores badly. */
          for (int j = 0; j < n; j++)
            rank += s[j] > own || (s[j] == own && j < i);
          r[i] = rank;
        }
    }
  int hits[3] = { 0, 0, 0 };
  double sum = 0;
  for (int i = 0; i < n; i++)
    {
      hits[0] += r[i] <= 1;
      hits[1] += r[i] <= 5;
      hits[2] += r[i] <= 10;
      sum += r[i];
    }
  for (int k = 0; k < 3; k++)
    recall[k] = (double) hits[k] / n;
  if (mean_rank)
    *mean_rank = sum / n;
  if (ranks)
    memcpy (ranks, r, (gsize) n * sizeof (int));
  qsort (r, n, sizeof (int), cmp_int);
  if (median_rank)
    *median_rank = n % 2 ? r[n / 2] : 0.5 * (r[n / 2 - 1] + r[n / 2]);
}

static char
space_letter (const char *name)
{
  return name[0];            /* image, text, audio, fused */
}

/* Rows present in both spaces (at most max), gathered into (m, d) copies. */
static int
gather_pair (const WeftEmbedding *e, const WeftEmbedSpace *qs, const WeftEmbedSpace *ts,
             int max_queries, float **A, float **B, int **samples)
{
  int d = qs->dim, m = 0;
  int cap = max_queries > 0 ? MIN (max_queries, e->n) : e->n;
  *A = g_new (float, (gsize) MAX (cap, 1) * d);
  *B = g_new (float, (gsize) MAX (cap, 1) * d);
  *samples = g_new (int, MAX (cap, 1));
  for (int i = 0; i < e->n && m < cap; i++)
    {
      if (!qs->present[i] || !ts->present[i])
        continue;
      memcpy (*A + (gsize) m * d, qs->data + (gsize) i * d, (gsize) d * sizeof (float));
      memcpy (*B + (gsize) m * d, ts->data + (gsize) i * d, (gsize) d * sizeof (float));
      (*samples)[m++] = i;
    }
  return m;
}

GArray *
weft_embedding_retrieval (const WeftEmbedding *e, int max_queries)
{
  GArray *out = g_array_new (FALSE, TRUE, sizeof (WeftRetrievalMetrics));
  static const char *const pairs[][2] = {
    { "image", "text" }, { "text", "image" },
    { "image", "audio" }, { "audio", "image" },
    { "text", "audio" }, { "audio", "text" },
  };
  for (guint p = 0; p < G_N_ELEMENTS (pairs); p++)
    {
      WeftEmbedSpace *qs = weft_embedding_get_space (e, pairs[p][0]);
      WeftEmbedSpace *ts = weft_embedding_get_space (e, pairs[p][1]);
      if (qs == NULL || ts == NULL || !qs->joint || !ts->joint || qs->dim != ts->dim)
        continue;
      g_autofree float *A = NULL, *B = NULL;
      g_autofree int *samples = NULL;
      int m = gather_pair (e, qs, ts, max_queries, &A, &B, &samples);
      WeftRetrievalMetrics r = { 0 };
      g_snprintf (r.name, sizeof r.name, "%c2%c", space_letter (qs->name), space_letter (ts->name));
      g_strlcpy (r.query, qs->name, sizeof r.query);
      g_strlcpy (r.target, ts->name, sizeof r.target);
      r.n = m;
      weft_retrieval_ranks (A, B, m, qs->dim, NULL, r.recall, &r.median_rank, &r.mean_rank);
      g_array_append_val (out, r);
    }
  return out;
}

int
weft_embedding_worst_failures (const WeftEmbedding *e, const char *query,
                               const char *target, int max_queries,
                               int n_worst, WeftRetrievalFailure *failures)
{
  WeftEmbedSpace *qs = weft_embedding_get_space (e, query);
  WeftEmbedSpace *ts = weft_embedding_get_space (e, target);
  g_return_val_if_fail (qs != NULL && ts != NULL && qs->dim == ts->dim, 0);
  g_autofree float *A = NULL, *B = NULL;
  g_autofree int *samples = NULL;
  int m = gather_pair (e, qs, ts, max_queries, &A, &B, &samples);
  if (m == 0 || n_worst <= 0)
    return 0;
  int d = qs->dim;
  g_autofree int *ranks = g_new (int, m);
  double recall[3];
  weft_retrieval_ranks (A, B, m, d, ranks, recall, NULL, NULL);
  /* Worst first: a selection over m ranks, n_worst is small. */
  int nw = MIN (n_worst, m);
  g_autofree int *order = g_new (int, m);
  for (int i = 0; i < m; i++)
    order[i] = i;
  for (int w = 0; w < nw; w++)
    {
      int best = w;
      for (int i = w + 1; i < m; i++)
        if (ranks[order[i]] > ranks[order[best]] ||
            (ranks[order[i]] == ranks[order[best]] && order[i] < order[best]))
          best = i;
      int t = order[w]; order[w] = order[best]; order[best] = t;
    }
  g_assert (nw > 0 && d > 0);   /* also tells the compiler the sizes below are small */
  g_autofree int *idx = g_new (int, (gsize) nw * 5);
  g_autofree float *sim = g_new (float, (gsize) nw * 5);
  g_autofree float *Q = g_new (float, (gsize) nw * d);
  for (int w = 0; w < nw; w++)
    memcpy (Q + (gsize) w * d, A + (gsize) order[w] * d, (gsize) d * sizeof (float));
  weft_knn_cosine (Q, nw, B, m, d, MIN (5, m), FALSE, 1, idx, sim, NULL, NULL);
  int kk = MIN (5, m);
  for (int w = 0; w < nw; w++)
    {
      WeftRetrievalFailure *f = &failures[w];
      int qi = order[w];
      f->query = samples[qi];
      f->rank = ranks[qi];
      g_autofree float *a = g_memdup2 (A + (gsize) qi * d, (gsize) d * sizeof (float));
      g_autofree float *b = g_memdup2 (B + (gsize) qi * d, (gsize) d * sizeof (float));
      normalise_rows (a, 1, d);
      normalise_rows (b, 1, d);
      f->true_sim = weft_sdot (d, a, b);
      for (int j = 0; j < 5; j++)
        {
          gboolean ok = j < kk && idx[(gsize) w * kk + j] >= 0;
          f->top[j] = ok ? samples[idx[(gsize) w * kk + j]] : -1;
          f->top_sim[j] = ok ? sim[(gsize) w * kk + j] : -INFINITY;
        }
    }
  return nw;
}
