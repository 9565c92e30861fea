/* weft-tsne.c — t-SNE as scikit-learn 1.2 runs it (sparse P from 3 ×
 * perplexity exact neighbours, PCA init, early exaggeration, momentum and
 * gains), with the repulsion by Barnes-Hut over a quadtree kept in one
 * flat array and rebuilt every iteration, split over a team of threads. */
#include "weft-tsne.h"

#include <math.h>
#include <string.h>

#include "embed/weft-knn.h"
#include "embed/weft-pca.h"
#include "embed/weft-workers.h"
#include "tensor/weft-rng.h"
#include "weft-error.h"

#define LEAF_SIZE 16         /* points per leaf before splitting */
#define MAX_DEPTH 40         /* coincident points stop splitting here */

void
weft_tsne_config_init (WeftTsneConfig *c)
{
  memset (c, 0, sizeof *c);
  c->perplexity = 30;
  c->early_exaggeration = 12;
  c->learning_rate = 0;
  c->n_iter = 1000;
  c->exaggeration_iter = 250;
  c->theta = 0.5;
  c->exact_below = 0;
  c->pca_init = TRUE;
  c->seed = 1;
  c->threads = 2;
  c->cosine = FALSE;
  c->snapshot_interval = 0.1;
}

/* A quadtree cell. Children are four consecutive nodes; the points of a
 * cell are a contiguous run of the tree-ordered arrays. */
typedef struct {
  float cx, cy;              /* centre of mass */
  float crit;                /* side² / θ²: summarised when d² exceeds it */
  float count;
  int child;                 /* first of four children; -1: leaf */
  int start;                 /* first point in tree order */
  float x0, y0, w;           /* lower corner and side (building only) */
} Node;

struct _WeftTsne {
  WeftTsneConfig c;
  int n, d;
  float *X;                  /* (n, d) */
  gboolean exact;

  /* P, symmetric, summing to 1, in CSR form. */
  gboolean have_p;
  int *row_ptr;              /* (n + 1) */
  int *col;
  float *val;

  float *Y;                  /* (n, 2) */
  float *update, *gains, *grad; /* (n, 2) */
  float *attr, *rep;         /* (n, 2) attractive and raw repulsive forces */

  /* Quadtree, rebuilt per gradient. */
  Node *nodes;
  int n_nodes, cap_nodes;
  int *perm;                 /* (n) tree order -> point */
  float *tx, *ty;            /* (n) positions in tree order */
  int *scratch_perm;
  float *scratch_x, *scratch_y;
  float theta2;

  WeftWorkers *workers;
  double *sumq;              /* per worker */
  float exaggeration;        /* applied to P in the attractive part */
  const float *cur_Y;        /* positions the workers read */

  GMutex lock;
  float *snap;               /* (n, 2) last published */
  guint serial;
  int snap_iter;
  gint stop;
  gint iteration;
};

WeftTsne *
weft_tsne_new (const float *X, int n, int d, const WeftTsneConfig *config)
{
  g_return_val_if_fail (X != NULL && n >= 2 && d >= 1, NULL);
  WeftTsne *t = g_new0 (WeftTsne, 1);
  if (config)
    t->c = *config;
  else
    weft_tsne_config_init (&t->c);
  if (t->c.n_iter < 1)
    t->c.n_iter = 1;
  t->c.exaggeration_iter = CLAMP (t->c.exaggeration_iter, 0, t->c.n_iter);
  if (t->c.snapshot_interval <= 0)
    t->c.snapshot_interval = 0.1;
  t->n = n;
  t->d = d;
  t->X = g_memdup2 (X, (gsize) n * d * sizeof (float));
  t->exact = t->c.theta <= 0 || n < t->c.exact_below;
  gsize n2 = (gsize) n * 2;
  t->Y = g_new0 (float, n2);
  t->update = g_new0 (float, n2);
  t->gains = g_new (float, n2);
  t->grad = g_new0 (float, n2);
  t->attr = g_new0 (float, n2);
  t->rep = g_new0 (float, n2);
  t->snap = g_new0 (float, n2);
  t->perm = g_new (int, n);
  t->tx = g_new (float, n);
  t->ty = g_new (float, n);
  t->scratch_perm = g_new (int, n);
  t->scratch_x = g_new (float, n);
  t->scratch_y = g_new (float, n);
  t->workers = weft_workers_new (t->c.threads > 0 ? t->c.threads : 2);
  t->sumq = g_new0 (double, weft_workers_get_n (t->workers));
  t->exaggeration = 1;
  g_mutex_init (&t->lock);
  return t;
}

void
weft_tsne_free (WeftTsne *t)
{
  if (t == NULL)
    return;
  weft_workers_free (t->workers);
  g_free (t->X);
  g_free (t->row_ptr);
  g_free (t->col);
  g_free (t->val);
  g_free (t->Y);
  g_free (t->update);
  g_free (t->gains);
  g_free (t->grad);
  g_free (t->attr);
  g_free (t->rep);
  g_free (t->snap);
  g_free (t->nodes);
  g_free (t->perm);
  g_free (t->tx);
  g_free (t->ty);
  g_free (t->scratch_perm);
  g_free (t->scratch_x);
  g_free (t->scratch_y);
  g_free (t->sumq);
  g_mutex_clear (&t->lock);
  g_free (t);
}

int
weft_tsne_get_n (WeftTsne *t)
{
  return t->n;
}

/* ---- Affinities ---- */

typedef struct {
  WeftTsne *t;
  const float *dist;         /* (n, k) */
  int k;
  float *cond;               /* (n, k) conditional P */
} SearchJob;

/* Per row, the precision beta of a gaussian over the neighbour distances
 * whose entropy is log(perplexity): bisection as scikit-learn does it. */
static void
search_part (int part, int n_parts, gpointer data)
{
  SearchJob *job = data;
  int start, end, k = job->k;
  weft_workers_range (job->t->n, part, n_parts, &start, &end);
  double want = log (job->t->c.perplexity);
  for (int i = start; i < end; i++)
    {
      const float *dist = job->dist + (gsize) i * k;
      float *p = job->cond + (gsize) i * k;
      double beta = 1, lo = -INFINITY, hi = INFINITY;
      for (int step = 0; step < 100; step++)
        {
          double sum = 0, sum_dp = 0;
          for (int j = 0; j < k; j++)
            {
              double v = exp (-(double) dist[j] * beta);
              p[j] = (float) v;
              sum += v;
            }
          if (sum == 0)
            sum = 1e-8;
          for (int j = 0; j < k; j++)
            {
              p[j] = (float) (p[j] / sum);
              sum_dp += (double) dist[j] * p[j];
            }
          double h = log (sum) + beta * sum_dp;
          double diff = h - want;
          if (fabs (diff) <= 1e-5)
            break;
          if (diff > 0)
            {
              lo = beta;
              beta = isinf (hi) ? beta * 2 : (beta + hi) / 2;
            }
          else
            {
              hi = beta;
              beta = isinf (lo) ? beta / 2 : (beta + lo) / 2;
            }
        }
    }
}

typedef struct {
  int col;
  float val;
} Entry;

static int
cmp_entry (const void *a, const void *b)
{
  const Entry *x = a, *y = b;
  return (x->col > y->col) - (x->col < y->col);
}

static gboolean
build_affinities (WeftTsne *t, GCancellable *cancellable, GError **error)
{
  if (t->have_p)
    return TRUE;
  int n = t->n;
  double perp = t->c.perplexity > 0 ? t->c.perplexity : 30;
  perp = MIN (perp, MAX ((n - 1) / 3.0, 1.0));
  t->c.perplexity = perp;
  int k = t->exact ? n - 1 : MIN (n - 1, (int) (3 * perp + 1));
  k = MAX (k, 1);
  g_autofree int *idx = g_new (int, (gsize) n * k);
  g_autofree float *dist = g_new (float, (gsize) n * k);
  int threads = weft_workers_get_n (t->workers);
  if (t->c.cosine)
    {
      if (!weft_knn_cosine (t->X, n, t->X, n, t->d, k, TRUE, threads, idx, dist,
                            cancellable, error))
        return FALSE;
      for (gsize i = 0; i < (gsize) n * k; i++)
        dist[i] = MAX (1.f - dist[i], 0.f);
    }
  else if (!weft_knn_euclidean (t->X, n, t->X, n, t->d, k, TRUE, threads, idx, dist,
                                cancellable, error))
    return FALSE;

  g_autofree float *cond = g_new (float, (gsize) n * k);
  SearchJob job = { t, dist, k, cond };
  weft_workers_run (t->workers, search_part, &job);

  /* P = (C + Cᵀ) / sum: both directions into per-row lists, then each
   * row sorted by column and duplicates merged. */
  g_autofree int *count = g_new0 (int, n + 1);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < k; j++)
      {
        int c = idx[(gsize) i * k + j];
        if (c < 0)
          continue;
        count[i]++;
        count[c]++;
      }
  g_autofree int *ptr = g_new0 (int, n + 1);
  for (int i = 0; i < n; i++)
    ptr[i + 1] = ptr[i] + count[i];
  g_autofree Entry *ent = g_new (Entry, MAX (ptr[n], 1));
  g_autofree int *fill = g_memdup2 (ptr, (gsize) (n + 1) * sizeof (int));
  for (int i = 0; i < n; i++)
    for (int j = 0; j < k; j++)
      {
        int c = idx[(gsize) i * k + j];
        if (c < 0)
          continue;
        float v = cond[(gsize) i * k + j];
        ent[fill[i]++] = (Entry) { c, v };
        ent[fill[c]++] = (Entry) { i, v };
      }
  t->row_ptr = g_new (int, n + 1);
  t->col = g_new (int, MAX (ptr[n], 1));
  t->val = g_new (float, MAX (ptr[n], 1));
  int nnz = 0;
  double total = 0;
  for (int i = 0; i < n; i++)
    {
      t->row_ptr[i] = nnz;
      Entry *row = ent + ptr[i];
      int m = ptr[i + 1] - ptr[i];
      qsort (row, m, sizeof (Entry), cmp_entry);
      for (int a = 0; a < m; a++)
        {
          if (nnz > t->row_ptr[i] && t->col[nnz - 1] == row[a].col)
            t->val[nnz - 1] += row[a].val;
          else
            {
              t->col[nnz] = row[a].col;
              t->val[nnz] = row[a].val;
              nnz++;
            }
        }
    }
  t->row_ptr[n] = nnz;
  for (int p = 0; p < nnz; p++)
    total += t->val[p];
  float inv = (float) (1.0 / MAX (total, 2.220446049250313e-16));
  for (int p = 0; p < nnz; p++)
    t->val[p] *= inv;
  t->have_p = TRUE;
  return TRUE;
}

/* ---- Quadtree ---- */

static int
new_nodes (WeftTsne *t, int count)
{
  if (t->n_nodes + count > t->cap_nodes)
    {
      t->cap_nodes = MAX (t->cap_nodes * 2, t->n_nodes + count + 64);
      t->nodes = g_renew (Node, t->nodes, t->cap_nodes);
    }
  int first = t->n_nodes;
  t->n_nodes += count;
  return first;
}

/* Splits node `ni` (its points at tree positions [start, start + count))
 * into quadrants, recursively. */
static void
build_node (WeftTsne *t, int ni, int depth)
{
  Node *nd = &t->nodes[ni];
  int start = nd->start, count = (int) nd->count;
  float *tx = t->tx, *ty = t->ty;
  float sx = 0, sy = 0;
  for (int p = start; p < start + count; p++)
    {
      sx += tx[p];
      sy += ty[p];
    }
  nd->cx = sx / count;
  nd->cy = sy / count;
  nd->crit = t->theta2 > 0 ? nd->w * nd->w / t->theta2 : INFINITY;
  nd->child = -1;
  if (count <= LEAF_SIZE || depth >= MAX_DEPTH)
    return;

  float h = nd->w * 0.5f, mx = nd->x0 + h, my = nd->y0 + h;
  float x0 = nd->x0, y0 = nd->y0;
  int cnt[4] = { 0, 0, 0, 0 };
  for (int p = start; p < start + count; p++)
    cnt[(tx[p] >= mx) + 2 * (ty[p] >= my)]++;
  int off[4] = { start, start + cnt[0], start + cnt[0] + cnt[1],
                 start + cnt[0] + cnt[1] + cnt[2] };
  int pos[4] = { off[0], off[1], off[2], off[3] };
  for (int p = start; p < start + count; p++)
    {
      int q = (tx[p] >= mx) + 2 * (ty[p] >= my);
      int dst = pos[q]++;
      t->scratch_perm[dst] = t->perm[p];
      t->scratch_x[dst] = tx[p];
      t->scratch_y[dst] = ty[p];
    }
  memcpy (t->perm + start, t->scratch_perm + start, (gsize) count * sizeof (int));
  memcpy (tx + start, t->scratch_x + start, (gsize) count * sizeof (float));
  memcpy (ty + start, t->scratch_y + start, (gsize) count * sizeof (float));

  int child = new_nodes (t, 4);   /* may move t->nodes */
  t->nodes[ni].child = child;
  for (int q = 0; q < 4; q++)
    {
      Node *c = &t->nodes[child + q];
      c->x0 = x0 + (q & 1 ? h : 0);
      c->y0 = y0 + (q & 2 ? h : 0);
      c->w = h;
      c->start = off[q];
      c->count = (float) cnt[q];
      c->child = -1;
      c->cx = c->cy = 0;
      c->crit = INFINITY;
    }
  for (int q = 0; q < 4; q++)
    if (cnt[q] > 0)
      build_node (t, child + q, depth + 1);
}

static void
build_tree (WeftTsne *t, const float *Y)
{
  int n = t->n;
  float xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  for (int i = 0; i < n; i++)
    {
      float x = Y[2 * i], y = Y[2 * i + 1];
      xmin = MIN (xmin, x); xmax = MAX (xmax, x);
      ymin = MIN (ymin, y); ymax = MAX (ymax, y);
      t->perm[i] = i;
      t->tx[i] = x;
      t->ty[i] = y;
    }
  float w = MAX (xmax - xmin, ymax - ymin);
  w = w * 1.0001f + 1e-12f;
  t->theta2 = (float) (t->c.theta * t->c.theta);
  t->n_nodes = 0;
  int root = new_nodes (t, 1);
  t->nodes[root] = (Node) { 0, 0, 0, (float) n, -1, 0, xmin, ymin, w };
  build_node (t, root, 0);
}

/* ---- Gradient ---- */

typedef struct {
  WeftTsne *t;
} RepJob;

/* Repulsion of points taken in tree order (neighbours in the tree walk
 * similar paths, which keeps the nodes they read in cache). A point's own
 * leaf is always opened (a cell holding the point is never far enough), so
 * its self-term (q = 1, no force) is counted once and taken off after. */
static void
repulsive_part (int part, int n_parts, gpointer data)
{
  RepJob *job = data;
  WeftTsne *t = job->t;
  const Node *nodes = t->nodes;
  const float *tx = t->tx, *ty = t->ty;
  int start, end;
  weft_workers_range (t->n, part, n_parts, &start, &end);
  int stack[4 * MAX_DEPTH + 8];
  double sumq = 0;
  for (int tp = start; tp < end; tp++)
    {
      float px = tx[tp], py = ty[tp];
      float fx = 0, fy = 0, sq = 0;
      int sp = 0;
      stack[sp++] = 0;
      while (sp > 0)
        {
          const Node *nd = &nodes[stack[--sp]];
          float dx = px - nd->cx, dy = py - nd->cy;
          float d2 = dx * dx + dy * dy;
          if (d2 > nd->crit)
            {
              /* Far enough: the whole cell acts as one point at its centre. */
              float q = 1.f / (1.f + d2);
              float nq = nd->count * q;
              sq += nq;
              fx += nq * q * dx;
              fy += nq * q * dy;
            }
          else if (nd->child < 0)
            {
              int s0 = nd->start, s1 = nd->start + (int) nd->count;
              for (int a = s0; a < s1; a++)
                {
                  float ex = px - tx[a], ey = py - ty[a];
                  float q = 1.f / (1.f + ex * ex + ey * ey);
                  sq += q;
                  fx += q * q * ex;
                  fy += q * q * ey;
                }
            }
          else
            for (int c = 3; c >= 0; c--)
              if (nodes[nd->child + c].count > 0)
                stack[sp++] = nd->child + c;
        }
      int i = t->perm[tp];
      t->rep[2 * i] = fx;
      t->rep[2 * i + 1] = fy;
      sumq += sq - 1.f;
    }
  t->sumq[part] = sumq;
}

/* Exact repulsion, O(n²): for small sets and to check Barnes-Hut. */
static void
exact_repulsive_part (int part, int n_parts, gpointer data)
{
  RepJob *job = data;
  WeftTsne *t = job->t;
  const float *Y = t->cur_Y;
  int start, end;
  weft_workers_range (t->n, part, n_parts, &start, &end);
  double sumq = 0;
  for (int i = start; i < end; i++)
    {
      double fx = 0, fy = 0;
      for (int j = 0; j < t->n; j++)
        {
          if (j == i)
            continue;
          float dx = Y[2 * i] - Y[2 * j], dy = Y[2 * i + 1] - Y[2 * j + 1];
          float q = 1.f / (1.f + dx * dx + dy * dy);
          sumq += q;
          fx += q * q * dx;
          fy += q * q * dy;
        }
      t->rep[2 * i] = (float) fx;
      t->rep[2 * i + 1] = (float) fy;
    }
  t->sumq[part] = sumq;
}

/* attr_i = Σ_j p_ij q_ij (y_i − y_j), q_ij = 1 / (1 + |y_i − y_j|²). */
static void
attractive_part (int part, int n_parts, gpointer data)
{
  WeftTsne *t = data;
  const float *Y = t->cur_Y;
  int start, end;
  weft_workers_range (t->n, part, n_parts, &start, &end);
  for (int i = start; i < end; i++)
    {
      float yx = Y[2 * i], yy = Y[2 * i + 1];
      float fx = 0, fy = 0;
      for (int p = t->row_ptr[i]; p < t->row_ptr[i + 1]; p++)
        {
          int j = t->col[p];
          float dx = yx - Y[2 * j], dy = yy - Y[2 * j + 1];
          float q = 1.f / (1.f + dx * dx + dy * dy);
          float pq = t->val[p] * q;
          fx += pq * dx;
          fy += pq * dy;
        }
      t->attr[2 * i] = fx * t->exaggeration;
      t->attr[2 * i + 1] = fy * t->exaggeration;
    }
}

static void
compute_gradient (WeftTsne *t, const float *Y, float *grad, gboolean exact)
{
  t->cur_Y = Y;
  weft_workers_run (t->workers, attractive_part, t);
  RepJob job = { t };
  if (exact)
    weft_workers_run (t->workers, exact_repulsive_part, &job);
  else
    {
      build_tree (t, Y);
      weft_workers_run (t->workers, repulsive_part, &job);
    }
  double Z = 0;
  for (int w = 0; w < weft_workers_get_n (t->workers); w++)
    Z += t->sumq[w];
  float invz = (float) (1.0 / MAX (Z, 1e-300));
  /* dC/dy_i = 4 (attr_i − rep_i / Z) for one degree of freedom. */
  for (int i = 0; i < 2 * t->n; i++)
    grad[i] = 4.f * (t->attr[i] - t->rep[i] * invz);
}

void
weft_tsne_gradient (WeftTsne *t, const float *Y, float *grad, gboolean exact)
{
  build_affinities (t, NULL, NULL);
  t->exaggeration = 1;
  compute_gradient (t, Y, grad, exact);
}

double
weft_tsne_kl_divergence (WeftTsne *t, const float *Y)
{
  build_affinities (t, NULL, NULL);
  int n = t->n;
  if (Y == NULL)
    Y = t->Y;
  double Z = 0;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      if (i != j)
        {
          double dx = Y[2 * i] - Y[2 * j], dy = Y[2 * i + 1] - Y[2 * j + 1];
          Z += 1.0 / (1.0 + dx * dx + dy * dy);
        }
  double kl = 0;
  for (int i = 0; i < n; i++)
    for (int p = t->row_ptr[i]; p < t->row_ptr[i + 1]; p++)
      {
        int j = t->col[p];
        double pij = t->val[p];
        if (pij <= 0)
          continue;
        double dx = Y[2 * i] - Y[2 * j], dy = Y[2 * i + 1] - Y[2 * j + 1];
        double q = 1.0 / (1.0 + dx * dx + dy * dy) / Z;
        kl += pij * log (pij / MAX (q, 1e-300));
      }
  return kl;
}

/* ---- Running ---- */

static void
publish (WeftTsne *t, int iter)
{
  g_mutex_lock (&t->lock);
  memcpy (t->snap, t->Y, (gsize) t->n * 2 * sizeof (float));
  t->serial++;
  t->snap_iter = iter;
  g_mutex_unlock (&t->lock);
}

static void
initialise (WeftTsne *t)
{
  int n = t->n;
  gboolean done = FALSE;
  if (t->c.pca_init && t->d >= 2)
    {
      done = weft_pca (t->X, n, t->d, 2, t->Y, NULL, NULL);
      if (done)
        {
          /* As scikit-learn: scaled so the first axis has std 1e-4. */
          double m = 0, v = 0;
          for (int i = 0; i < n; i++)
            m += t->Y[2 * i];
          m /= n;
          for (int i = 0; i < n; i++)
            v += (t->Y[2 * i] - m) * (t->Y[2 * i] - m);
          double sd = sqrt (v / n);
          float s = sd > 0 ? (float) (1e-4 / sd) : 1.f;
          for (int i = 0; i < 2 * n; i++)
            t->Y[i] *= s;
        }
    }
  if (!done)
    {
      WeftRng rng;
      weft_rng_init (&rng, t->c.seed);
      for (int i = 0; i < 2 * n; i++)
        t->Y[i] = 1e-4f * weft_rng_normal (&rng);
    }
}

gboolean
weft_tsne_run (WeftTsne *t, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (t != NULL, FALSE);
  if (!build_affinities (t, cancellable, error))
    return FALSE;
  initialise (t);
  publish (t, 0);
  int n = t->n;
  double lr = t->c.learning_rate;
  if (lr <= 0)
    lr = MAX (n / t->c.early_exaggeration / 4.0, 50.0);
  gint64 last = g_get_monotonic_time ();
  gint64 every = (gint64) (t->c.snapshot_interval * G_USEC_PER_SEC);
  for (int it = 0; it < t->c.n_iter; it++)
    {
      if (g_atomic_int_get (&t->stop) || g_cancellable_is_cancelled (cancellable))
        {
          publish (t, it);
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "the map was stopped");
          return FALSE;
        }
      gboolean early = it < t->c.exaggeration_iter;
      if (it == 0 || it == t->c.exaggeration_iter)
        {
          /* scikit-learn starts each phase with fresh momentum and gains. */
          memset (t->update, 0, (gsize) n * 2 * sizeof (float));
          for (int i = 0; i < 2 * n; i++)
            t->gains[i] = 1.f;
        }
      t->exaggeration = early ? (float) t->c.early_exaggeration : 1.f;
      float momentum = early ? 0.5f : 0.8f;
      compute_gradient (t, t->Y, t->grad, t->exact);
      for (int i = 0; i < 2 * n; i++)
        {
          float g = t->grad[i], u = t->update[i];
          float gain = (u * g < 0) ? t->gains[i] + 0.2f : t->gains[i] * 0.8f;
          gain = MAX (gain, 0.01f);
          t->gains[i] = gain;
          u = momentum * u - (float) lr * gain * g;
          t->update[i] = u;
          t->Y[i] += u;
        }
      g_atomic_int_set (&t->iteration, it + 1);
      gint64 now = g_get_monotonic_time ();
      if (now - last >= every)
        {
          publish (t, it + 1);
          last = now;
        }
    }
  publish (t, t->c.n_iter);
  return TRUE;
}

static void
run_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  GError *error = NULL;
  if (weft_tsne_run (task_data, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
weft_tsne_run_async (WeftTsne *t, GCancellable *cancellable,
                     GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, weft_tsne_run_async);
  g_task_set_task_data (task, t, NULL);
  g_task_run_in_thread (task, run_thread);
  g_object_unref (task);
}

gboolean
weft_tsne_run_finish (WeftTsne *t, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
weft_tsne_stop (WeftTsne *t)
{
  g_atomic_int_set (&t->stop, 1);
}

guint
weft_tsne_get_snapshot (WeftTsne *t, float *xy, int *iteration)
{
  g_mutex_lock (&t->lock);
  guint serial = t->serial;
  if (serial > 0 && xy)
    memcpy (xy, t->snap, (gsize) t->n * 2 * sizeof (float));
  if (iteration)
    *iteration = t->snap_iter;
  g_mutex_unlock (&t->lock);
  return serial;
}

double
weft_tsne_get_fraction (WeftTsne *t)
{
  return (double) g_atomic_int_get (&t->iteration) / t->c.n_iter;
}

const float *
weft_tsne_get_positions (WeftTsne *t)
{
  return t->Y;
}

/* ---- Trustworthiness ---- */

double
weft_trustworthiness (const float *X, int n, int d, const float *Y, int k)
{
  g_return_val_if_fail (n > 2 * k + 1 && k >= 1, NAN);
  g_autofree int *ny = g_new (int, (gsize) n * k);
  g_autofree int *nx = g_new (int, (gsize) n * k);
  g_autofree float *dx = g_new (float, (gsize) n * k);
  weft_knn_euclidean (Y, n, Y, n, 2, k, TRUE, 2, ny, NULL, NULL, NULL);
  weft_knn_euclidean (X, n, X, n, d, k, TRUE, 2, nx, dx, NULL, NULL);
  g_autofree float *row = g_new (float, n);
  double penalty = 0;
  for (int i = 0; i < n; i++)
    {
      const float *xi = X + (gsize) i * d;
      gboolean computed = FALSE;
      for (int a = 0; a < k; a++)
        {
          int j = ny[(gsize) i * k + a];
          gboolean near = FALSE;
          for (int b = 0; b < k && !near; b++)
            near = nx[(gsize) i * k + b] == j;
          if (near)
            continue;
          if (!computed)
            {
              for (int l = 0; l < n; l++)
                {
                  const float *xl = X + (gsize) l * d;
                  float s = 0;
                  for (int c = 0; c < d; c++)
                    s += (xi[c] - xl[c]) * (xi[c] - xl[c]);
                  row[l] = s;
                }
              computed = TRUE;
            }
          /* Its rank among i's input-space neighbours (1 = nearest). */
          int rank = 1;
          for (int l = 0; l < n; l++)
            rank += l != i && row[l] < row[j];
          penalty += rank - k;
        }
    }
  return 1.0 - penalty * 2.0 / ((double) n * k * (2.0 * n - 3.0 * k - 1.0));
}
