/* test-embed.c — the embedding explorer's core: which nodes embed what,
 * computing and querying vectors, PCA, t-SNE (quality, gradient, stop),
 * kNN against brute force, retrieval metrics, Procrustes, the .emb file and
 * the TSV / CSV exports. */
#include <math.h>
#include <string.h>
#include <stdlib.h>
#include <glib/gstdio.h>

#include "embed/weft-embed.h"
#include "embed/weft-knn.h"
#include "embed/weft-pca.h"
#include "embed/weft-tsne.h"
#include "export/weft-export-tsv.h"
#include "tensor/weft-blas.h"
#include "weft-error.h"

static float
gauss (GRand *r)
{
  double u = g_rand_double_range (r, 1e-12, 1), v = g_rand_double (r);
  return (float) (sqrt (-2 * log (u)) * cos (2 * G_PI * v));
}

/* ---- PCA ---- */

static void
test_pca_recovers_axes (void)
{
  /* Points with std 5, 2, 0.5 along the rows of an orthonormal basis R. */
  const int n = 4000, d = 3;
  const float R[3][3] = { { 0.6f, 0.8f, 0 }, { -0.8f, 0.6f, 0 }, { 0, 0, 1 } };
  const float sd[3] = { 5, 2, 0.5f };
  g_autoptr(GRand) r = g_rand_new_with_seed (3);
  g_autofree float *X = g_new (float, n * d);
  for (int i = 0; i < n; i++)
    {
      float z[3];
      for (int a = 0; a < 3; a++)
        z[a] = sd[a] * gauss (r);
      for (int j = 0; j < d; j++)
        X[i * d + j] = 7.f + z[0] * R[0][j] + z[1] * R[1][j] + z[2] * R[2][j];
    }
  float out[4000 * 2], comp[2 * 3], var[2];
  g_assert_true (weft_pca (X, n, d, 2, out, comp, var));
  for (int c = 0; c < 2; c++)
    {
      float dot = 0;
      for (int j = 0; j < d; j++)
        dot += comp[c * d + j] * R[c][j];
      g_assert_cmpfloat (fabsf (dot), >, 0.999f);
      g_assert_cmpfloat (fabs (var[c] / (sd[c] * sd[c]) - 1), <, 0.08);
    }
  /* Scores are centred and equal X·axis. */
  double mean = 0;
  for (int i = 0; i < n; i++)
    mean += out[i * 2];
  g_assert_cmpfloat (fabs (mean / n), <, 1e-3);
  /* Sign convention: the largest coordinate of each axis is positive. */
  for (int c = 0; c < 2; c++)
    {
      int arg = 0;
      for (int j = 1; j < d; j++)
        if (fabsf (comp[c * d + j]) > fabsf (comp[c * d + arg]))
          arg = j;
      g_assert_cmpfloat (comp[c * d + arg], >, 0);
    }
}

/* ---- kNN ---- */

static void
brute_cosine (const float *Q, int nq, const float *X, int nx, int d, int k,
              gboolean exclude_self, int *idx, float *sim)
{
  g_autofree double *s = g_new (double, nx);
  for (int i = 0; i < nq; i++)
    {
      double qn = 0;
      for (int c = 0; c < d; c++)
        qn += (double) Q[i * d + c] * Q[i * d + c];
      for (int j = 0; j < nx; j++)
        {
          double dot = 0, xn = 0;
          for (int c = 0; c < d; c++)
            {
              dot += (double) Q[i * d + c] * X[j * d + c];
              xn += (double) X[j * d + c] * X[j * d + c];
            }
          s[j] = (qn > 0 && xn > 0) ? dot / sqrt (qn * xn) : 0;
          if (exclude_self && i == j)
            s[j] = -INFINITY;
        }
      for (int a = 0; a < k; a++)
        {
          int best = -1;
          for (int j = 0; j < nx; j++)
            if (s[j] > -INFINITY && (best < 0 || s[j] > s[best]))
              best = j;
          idx[i * k + a] = best;
          sim[i * k + a] = (float) s[best];
          s[best] = -INFINITY;
        }
    }
}

static void
test_knn_equals_brute_force (void)
{
  const int nx = 5000, d = 24, nq = 70, k = 10;
  g_autoptr(GRand) r = g_rand_new_with_seed (5);
  g_autofree float *X = g_new (float, nx * d);
  for (int i = 0; i < nx * d; i++)
    X[i] = gauss (r);
  memset (X + 17 * d, 0, d * sizeof (float));   /* a zero vector */
  /* Queries: the first nq rows of X, searched among X without themselves. */
  int idx[70 * 10], bidx[70 * 10];
  float sim[70 * 10], bsim[70 * 10];
  g_assert_true (weft_knn_cosine (X, nq, X, nx, d, k, TRUE, 2, idx, sim, NULL, NULL));
  brute_cosine (X, nq, X, nx, d, k, TRUE, bidx, bsim);
  for (int i = 0; i < nq * k; i++)
    {
      g_assert_cmpfloat (fabsf (sim[i] - bsim[i]), <, 1e-5);
      /* Same neighbour unless two similarities are within rounding. */
      if (idx[i] != bidx[i])
        g_assert_cmpfloat (fabsf (sim[i] - bsim[i]), <, 1e-5);
    }
  int same = 0;
  for (int i = 0; i < nq * k; i++)
    same += idx[i] == bidx[i];
  g_assert_cmpint (same, >=, nq * k - 2);
  for (int i = 0; i < nq; i++)
    for (int a = 0; a < k; a++)
      g_assert_cmpint (idx[i * k + a], !=, i);

  /* Euclidean: squared distances, nearest first, equal to brute force. */
  float dist[70 * 10];
  g_assert_true (weft_knn_euclidean (X + d * 100, nq, X, nx, d, k, FALSE, 1, idx, dist, NULL, NULL));
  for (int i = 0; i < nq; i++)
    {
      g_assert_cmpint (idx[i * k], ==, 100 + i);     /* itself, at distance 0 */
      g_assert_cmpfloat (dist[i * k], <, 1e-3);
      for (int a = 1; a < k; a++)
        {
          g_assert_cmpfloat (dist[i * k + a], >=, dist[i * k + a - 1]);
          double s = 0;
          for (int c = 0; c < d; c++)
            {
              double v = X[(100 + i) * d + c] - X[idx[i * k + a] * d + c];
              s += v * v;
            }
          g_assert_cmpfloat (fabs (s - dist[i * k + a]), <, 1e-3 * (1 + s));
        }
    }

  /* Fewer candidates than k: padding. */
  int small[3 * 5];
  float ssim[3 * 5];
  g_assert_true (weft_knn_cosine (X, 3, X, 3, d, 5, TRUE, 2, small, ssim, NULL, NULL));
  g_assert_cmpint (small[0], >=, 0);
  g_assert_cmpint (small[2], ==, -1);
  g_assert_true (isinf (ssim[4]));
}

/* ---- retrieval ---- */

static void
test_retrieval_hand_made (void)
{
  /* Queries A and targets B in 2-D; the true partner of i is i.
   * Query 0 (1,0): targets by cosine: t0 (1,0) 1.0, t1 (1,1) .71, t2 (0,1) 0 -> rank 1
   * Query 1 (0,1): t2 (0,1) 1.0 first, t1 .71, t0 0   -> rank 2
   * Query 2 (1,0.1): t0 .995, t1 .77, t2 .0995       -> rank 3 */
  const float A[] = { 1, 0,  0, 1,  1, 0.1f };
  const float B[] = { 1, 0,  1, 1,  0, 1 };
  int ranks[3];
  double recall[3], medr, meanr;
  weft_retrieval_ranks (A, B, 3, 2, ranks, recall, &medr, &meanr);
  g_assert_cmpint (ranks[0], ==, 1);
  g_assert_cmpint (ranks[1], ==, 2);
  g_assert_cmpint (ranks[2], ==, 3);
  g_assert_cmpfloat (recall[0], ==, 1.0 / 3);
  g_assert_cmpfloat (recall[1], ==, 1.0);
  g_assert_cmpfloat (medr, ==, 2);
  g_assert_cmpfloat (meanr, ==, 2);

  /* Through an embedding: pairs named i2t / t2i over present rows only. */
  g_autoptr(WeftEmbedding) e = weft_embedding_new (4);
  WeftEmbedSpace *im = weft_embedding_add_space (e, "image", "a", 0, 2);
  WeftEmbedSpace *tx = weft_embedding_add_space (e, "text", "b", 1, 2);
  memcpy (im->data, A, sizeof A);
  memcpy (tx->data, B, sizeof B);
  im->data[6] = 5;  tx->data[6] = -5;  /* row 3 would be a miss... */
  tx->present[3] = 0;                  /* ...but it has no text */
  g_autoptr(GArray) m = weft_embedding_retrieval (e, 0);
  g_assert_cmpuint (m->len, ==, 2);
  WeftRetrievalMetrics *i2t = &g_array_index (m, WeftRetrievalMetrics, 0);
  g_assert_cmpstr (i2t->name, ==, "i2t");
  g_assert_cmpint (i2t->n, ==, 3);
  g_assert_cmpfloat (i2t->recall[0], ==, 1.0 / 3);
  g_assert_cmpfloat (i2t->median_rank, ==, 2);
  g_assert_cmpstr (g_array_index (m, WeftRetrievalMetrics, 1).name, ==, "t2i");

  WeftRetrievalFailure w[2];
  g_assert_cmpint (weft_embedding_worst_failures (e, "image", "text", 0, 2, w), ==, 2);
  g_assert_cmpint (w[0].query, ==, 2);
  g_assert_cmpint (w[0].rank, ==, 3);
  g_assert_cmpint (w[0].top[0], ==, 0);
  g_assert_cmpint (w[0].top[1], ==, 1);
  g_assert_cmpint (w[0].top[2], ==, 2);
  g_assert_cmpint (w[1].query, ==, 1);
  g_assert_cmpfloat (fabsf (w[1].true_sim - (float) G_SQRT2 / 2), <, 1e-6);
}

/* ---- Procrustes ---- */

static void
test_procrustes_recovers_rotation (void)
{
  const int n = 50;
  g_autoptr(GRand) r = g_rand_new_with_seed (9);
  float ref[100], Y[100];
  double a = 1.1, s = 2.5, tx = 3, ty = -1;
  for (int i = 0; i < n; i++)
    {
      ref[2 * i] = gauss (r);
      ref[2 * i + 1] = gauss (r);
      Y[2 * i] = (float) (s * (cos (a) * ref[2 * i] - sin (a) * ref[2 * i + 1]) + tx);
      Y[2 * i + 1] = (float) (s * (sin (a) * ref[2 * i] + cos (a) * ref[2 * i + 1]) + ty);
    }
  double rms = weft_procrustes_align (Y, ref, n, NULL, FALSE);
  g_assert_cmpfloat (rms, <, 1e-4);
  for (int i = 0; i < 2 * n; i++)
    g_assert_cmpfloat (fabsf (Y[i] - ref[i]), <, 1e-4);

  /* A mirror image is undone only when reflections are allowed. */
  for (int i = 0; i < n; i++)
    {
      Y[2 * i] = -ref[2 * i] * 0.5f;
      Y[2 * i + 1] = ref[2 * i + 1] * 0.5f;
    }
  float Z[100];
  memcpy (Z, Y, sizeof Y);
  g_assert_cmpfloat (weft_procrustes_align (Z, ref, n, NULL, FALSE), >, 0.1);
  g_assert_cmpfloat (weft_procrustes_align (Y, ref, n, NULL, TRUE), <, 1e-4);
}

/* ---- t-SNE ---- */

static float *
clusters (int n, int d, int k, guint32 seed, int *labels)
{
  g_autoptr(GRand) r = g_rand_new_with_seed (seed);
  float *centres = g_new (float, k * d);
  for (int i = 0; i < k * d; i++)
    centres[i] = 6.f * gauss (r);
  float *X = g_new (float, n * d);
  for (int i = 0; i < n; i++)
    {
      labels[i] = i % k;
      for (int j = 0; j < d; j++)
        X[i * d + j] = centres[labels[i] * d + j] + gauss (r);
    }
  g_free (centres);
  return X;
}

static void
test_tsne_keeps_clusters (void)
{
  const int n = 600, d = 10, k = 5;
  int labels[600];
  g_autofree float *X = clusters (n, d, k, 1, labels);
  WeftTsneConfig c;
  weft_tsne_config_init (&c);
  c.n_iter = 500;
  g_autoptr(WeftTsne) t = weft_tsne_new (X, n, d, &c);
  g_assert_true (weft_tsne_run (t, NULL, NULL));
  const float *Y = weft_tsne_get_positions (t);
  double tw = weft_trustworthiness (X, n, d, Y, 10);
  g_test_message ("trustworthiness %.4f", tw);
  g_assert_cmpfloat (tw, >, 0.9);
  /* Every point's 10 nearest map neighbours share its cluster. */
  int idx[600 * 10];
  weft_knn_euclidean (Y, n, Y, n, 2, 10, TRUE, 2, idx, NULL, NULL, NULL);
  int agree = 0;
  for (int i = 0; i < n * 10; i++)
    agree += labels[idx[i]] == labels[i / 10];
  g_assert_cmpfloat ((double) agree / (n * 10), >, 0.98);
  float snap[1200];
  int iter = 0;
  g_assert_cmpuint (weft_tsne_get_snapshot (t, snap, &iter), >, 0);
  g_assert_cmpint (iter, ==, 500);
  g_assert_cmpfloat (snap[7], ==, Y[7]);
  g_assert_cmpfloat (weft_tsne_get_fraction (t), ==, 1.0);
}

static void
test_tsne_gradient_matches_finite_differences (void)
{
  const int n = 25, d = 5;
  int labels[25];
  g_autofree float *X = clusters (n, d, 3, 2, labels);
  WeftTsneConfig c;
  weft_tsne_config_init (&c);
  c.perplexity = 5;
  g_autoptr(WeftTsne) t = weft_tsne_new (X, n, d, &c);
  g_autoptr(GRand) r = g_rand_new_with_seed (4);
  float Y[50], g[50], gbh[50];
  for (int i = 0; i < 2 * n; i++)
    Y[i] = 2.f * gauss (r);
  weft_tsne_gradient (t, Y, g, TRUE);
  const float eps = 1e-3f;
  for (int i = 0; i < 2 * n; i++)
    {
      float keep = Y[i];
      Y[i] = keep + eps;
      double up = weft_tsne_kl_divergence (t, Y);
      Y[i] = keep - eps;
      double down = weft_tsne_kl_divergence (t, Y);
      Y[i] = keep;
      double fd = (up - down) / (2 * eps);
      g_assert_cmpfloat (fabs (fd - g[i]), <, 2e-3 + 0.02 * fabs (fd));
    }
  /* Barnes-Hut approximates the exact gradient. */
  weft_tsne_gradient (t, Y, gbh, FALSE);
  double num = 0, den = 0;
  for (int i = 0; i < 2 * n; i++)
    {
      num += (gbh[i] - g[i]) * (gbh[i] - g[i]);
      den += g[i] * g[i];
    }
  g_assert_cmpfloat (sqrt (num / den), <, 0.05);
}

static gpointer
tsne_thread (gpointer data)
{
  GError *error = NULL;
  gboolean ok = weft_tsne_run (data, NULL, &error);
  g_assert_false (ok);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_error_free (error);
  return NULL;
}

static void
test_tsne_stops (void)
{
  const int n = 3000, d = 8;
  int *labels = g_new (int, n);
  g_autofree float *X = clusters (n, d, 4, 3, labels);
  g_free (labels);
  WeftTsneConfig c;
  weft_tsne_config_init (&c);
  c.n_iter = 100000;
  c.snapshot_interval = 0.02;
  g_autoptr(WeftTsne) t = weft_tsne_new (X, n, d, &c);
  GThread *th = g_thread_new ("tsne", tsne_thread, t);
  g_autofree float *xy = g_new (float, n * 2);
  gint64 start = g_get_monotonic_time ();
  guint first = 0, later = 0;
  while ((first = weft_tsne_get_snapshot (t, xy, NULL)) == 0)
    g_usleep (5000);
  /* Snapshots keep coming while the map settles. */
  while ((later = weft_tsne_get_snapshot (t, xy, NULL)) < first + 2)
    g_usleep (5000);
  weft_tsne_stop (t);
  gint64 asked = g_get_monotonic_time ();
  g_thread_join (th);
  g_assert_cmpint (g_get_monotonic_time () - asked, <, 2 * G_USEC_PER_SEC);
  g_assert_cmpfloat (weft_tsne_get_fraction (t), <, 0.5);
  g_test_message ("stopped after %.2f s", (g_get_monotonic_time () - start) / 1e6);
  for (int i = 0; i < 2 * n; i++)
    g_assert_true (isfinite (weft_tsne_get_positions (t)[i]));
}

/* ---- Embeddings of a model ---- */

static const char *clip_json =
  "{\"weft_model\": 1,"
  " \"inputs\": [{\"id\": \"image\", \"modality\": \"image\"}, {\"id\": \"text\", \"modality\": \"text\"}],"
  " \"nodes\": [{\"id\": \"ienc\", \"type\": \"mlp\", \"inputs\": [\"image\"], \"params\": {\"hidden\": 16, \"out\": 8}},"
  "  {\"id\": \"temb\", \"type\": \"embedding_bag\", \"inputs\": [\"text\"], \"params\": {\"dim\": 8}},"
  "  {\"id\": \"iproj\", \"type\": \"projection\", \"inputs\": [\"ienc\"], \"params\": {\"dim\": 6}},"
  "  {\"id\": \"tproj\", \"type\": \"projection\", \"inputs\": [\"temb\"], \"params\": {\"dim\": 6}},"
  "  {\"id\": \"nce\", \"type\": \"infonce\", \"inputs\": [\"iproj\", \"tproj\"]}],"
  " \"losses\": [{\"node\": \"nce\", \"weight\": 1}]}";

static WeftFeatures *
tiny_features (int n)
{
  WeftFeatures *f = weft_features_new (n);
  float *img = weft_features_add_column (f, WEFT_MODALITY_IMAGE, weft_shape_3 (1, 4, 4));
  float *txt = weft_features_add_column (f, WEFT_MODALITY_TEXT, weft_shape_1 (3));
  float *lab = weft_features_add_column (f, WEFT_MODALITY_LABEL, weft_shape_1 (1));
  const char *vocab[] = { "<unk>", "red", "blue", "cat", "dog", NULL };
  f->vocab = g_strdupv ((char **) vocab);
  f->vocab_size = 5;
  f->n_classes = 2;
  const char *classes[] = { "cat", "dog", NULL };
  f->class_names = g_strdupv ((char **) classes);
  for (int i = 0; i < n; i++)
    {
      for (int k = 0; k < 16; k++)
        img[i * 16 + k] = (float) ((i * 7 + k * 3) % 11) / 11.f;
      txt[i * 3] = 1 + i % 2;       /* red / blue */
      txt[i * 3 + 1] = 3 + i % 2;   /* cat / dog */
      txt[i * 3 + 2] = -1;
      lab[i] = i % 2;
    }
  f->text.present = g_new0 (guint8, n);
  for (int i = 0; i < n; i++)
    f->text.present[i] = i != 2;    /* row 2 has no caption */
  weft_features_assign_split (f, 0.25, 0.25, 1);
  return f;
}

static void
test_compute_and_query (void)
{
  GError *error = NULL;
  g_autoptr(WeftSpec) spec = weft_spec_parse_data (clip_json, -1, &error);
  g_assert_no_error (error);
  g_autoptr(WeftFeatures) f = tiny_features (21);
  WeftBinding b;
  weft_features_get_binding (f, &b);
  g_autoptr(WeftGraph) g = weft_graph_compile (spec, &b, &error);
  g_assert_no_error (error);
  weft_graph_allocate (g, 8, 3);   /* batches of 8: 21 rows take three */

  g_autoptr(GArray) targets = weft_embed_find_targets (g);
  g_assert_cmpuint (targets->len, ==, 2);
  g_assert_cmpstr (g_array_index (targets, WeftEmbedTarget, 0).name, ==, "image");
  g_assert_cmpstr (g_array_index (targets, WeftEmbedTarget, 1).node, ==, "tproj");

  g_autoptr(GCancellable) cancel = g_cancellable_new ();
  g_cancellable_cancel (cancel);
  g_assert_null (weft_embed_compute (g, f, NULL, 0, NULL, NULL, cancel, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  int rows[] = { 0, 2, 5, 6, 7, 8, 9, 10, 11, 20 };
  g_autoptr(WeftEmbedding) e = weft_embed_compute (g, f, rows, 10, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (e->n, ==, 10);
  g_assert_cmpint (weft_embedding_joint_dim (e), ==, 6);
  WeftEmbedSpace *tx = weft_embedding_get_space (e, "text");
  g_assert_nonnull (tx);
  g_assert_cmpint (tx->present[1], ==, 0);   /* row 2 */
  g_assert_cmpint (tx->present[2], ==, 1);
  g_assert_cmpint (e->row[9], ==, 20);
  g_assert_cmpint (e->label[2], ==, 1);

  /* A typed query gives the vector of a row with the same caption. */
  int dim = 0;
  g_autofree float *q = weft_embed_query_text (g, f, "Blue DOG", &dim, &error);
  g_assert_no_error (error);
  g_assert_cmpint (dim, ==, 6);
  for (int j = 0; j < 6; j++)   /* sample 2 is row 5: "blue dog" */
    g_assert_cmpfloat (fabsf (q[j] - tx->data[2 * 6 + j]), <, 1e-5);
  int nb[3];
  float ns[3];
  g_assert_cmpint (weft_embedding_neighbours_of (e, q, "text", 3, nb, ns), ==, 3);
  g_assert_cmpfloat (ns[0], >, 0.9999f);
  g_assert_cmpint (e->row[nb[0]] % 2, ==, 1);
  /* Cross-modal: the text neighbours of an image point. */
  g_assert_cmpint (weft_embedding_neighbours (e, "image", 0, "text", 3, nb, ns), ==, 3);
  int nb9[9];
  g_assert_cmpint (weft_embedding_neighbours (e, "text", 0, "text", 9, nb9, NULL), ==, 8);
  g_assert_cmpint (nb9[8], ==, -1);

  g_assert_null (weft_embed_query_audio (g, f, "/nonexistent.wav", NULL, &dim, &error));
  g_assert_error (error, WEFT_ERROR, WEFT_ERROR_ARGS);
  g_clear_error (&error);

  /* Projections: one joint map of the image and text points. */
  g_assert_true (weft_embedding_project (e, "pca", NULL, &error));
  g_assert_no_error (error);
  WeftEmbedSpace *im = weft_embedding_get_space (e, "image");
  g_assert_nonnull (im->xy);
  g_assert_true (isnan (tx->xy[2]));
  g_assert_true (isfinite (tx->xy[4]));
  g_assert_cmpstr (e->projection, ==, "pca");

  g_autofree int *sub = NULL;
  int ns_rows = 0;
  sub = weft_embed_sample_rows (f, 5, 7, &ns_rows);
  g_assert_cmpint (ns_rows, ==, 5);
  for (int i = 1; i < 5; i++)
    g_assert_cmpint (sub[i], >, sub[i - 1]);
}

static void
test_epoch_files_and_alignment (void)
{
  GError *error = NULL;
  g_autoptr(WeftSpec) spec = weft_spec_parse_data (clip_json, -1, &error);
  g_autoptr(WeftFeatures) f = tiny_features (40);
  WeftBinding b;
  weft_features_get_binding (f, &b);
  g_autoptr(WeftGraph) g = weft_graph_compile (spec, &b, &error);
  g_assert_no_error (error);
  weft_graph_allocate (g, 16, 3);
  g_autofree char *dir = g_dir_make_tmp ("weft-epochs-XXXXXX", NULL);
  g_autofree char *sub = g_build_filename (dir, "embeddings", NULL);
  g_assert_true (weft_embed_write_epoch (g, f, sub, 1, 30, "pca", NULL, &error));
  g_assert_no_error (error);
  g_assert_true (weft_embed_write_epoch (g, f, sub, 2, 30, "pca", NULL, &error));
  g_assert_true (weft_embed_write_epoch (g, f, sub, 0, 30, NULL, NULL, &error));
  g_autoptr(GArray) epochs = weft_embedding_list_epochs (sub);
  g_assert_cmpuint (epochs->len, ==, 2);
  g_autofree char *p1 = weft_embedding_file_name (sub, 1);
  g_autofree char *p2 = weft_embedding_file_name (sub, 2);
  g_autofree char *p0 = weft_embedding_file_name (sub, 0);
  g_autoptr(WeftEmbedding) e1 = weft_embedding_load (p1, &error);
  g_autoptr(WeftEmbedding) e2 = weft_embedding_load (p2, &error);
  g_autoptr(WeftEmbedding) e0 = weft_embedding_load (p0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (e1->n, ==, 30);
  g_assert_cmpint (e2->epoch, ==, 2);
  g_assert_cmpmem (e1->row, 30 * sizeof (int), e2->row, 30 * sizeof (int));
  g_assert_null (((WeftEmbedSpace *) g_ptr_array_index (e0->spaces, 0))->xy);

  /* A turned, scaled and shifted copy of a map is brought back onto it. */
  WeftEmbedSpace *a = weft_embedding_get_space (e2, "image");
  WeftEmbedSpace *ref = weft_embedding_get_space (e1, "image");
  for (guint k = 0; k < e2->spaces->len; k++)
    {
      WeftEmbedSpace *s = g_ptr_array_index (e2->spaces, k);
      for (int i = 0; i < e2->n; i++)
        {
          float x = s->xy[2 * i], y = s->xy[2 * i + 1];
          s->xy[2 * i] = 3 * y + 1;
          s->xy[2 * i + 1] = -3 * x;
        }
    }
  double rms = weft_embedding_align_xy (e2, e1);
  g_assert_cmpfloat (rms, <, 1e-3);
  for (int i = 0; i < 2 * e2->n; i++)
    g_assert_cmpfloat (fabsf (a->xy[i] - ref->xy[i]), <, 1e-3);
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir);
  g_assert_cmpint (system (cmd), ==, 0);
}

static void
test_targets_of_templates (void)
{
  struct { const char *file; const char *spaces; } cases[] = {
    { "clip-image-text-audio.json", "image:J text:J audio:J" },
    { "concat-fusion.json", "fused:J image audio text" },
    { "late-fusion.json", "fused:J image audio text" },
    { "attention-fusion.json", "fused:J" },
    { "autoencoder.json", "fused:J image audio" },
    { "siamese.json", "image:J audio:J" },
    { "image-only.json", "image:J" },
    { "multitask.json", "image:J text:J" },
  };
  const char *src = g_getenv ("WEFT_SOURCE_DIR");
  if (src == NULL)
    src = ".";
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autofree char *path = g_build_filename (src, "data", "models", cases[c].file, NULL);
      GError *error = NULL;
      g_autoptr(WeftSpec) spec = weft_spec_load (path, &error);
      g_assert_no_error (error);
      WeftBinding b;
      weft_binding_init_default (&b);
      g_autoptr(WeftGraph) g = weft_graph_compile (spec, &b, &error);
      g_assert_no_error (error);
      g_autoptr(GArray) t = weft_embed_find_targets (g);
      GString *s = g_string_new (NULL);
      for (guint i = 0; i < t->len; i++)
        {
          WeftEmbedTarget *x = &g_array_index (t, WeftEmbedTarget, i);
          g_string_append_printf (s, "%s%s%s", i ? " " : "", x->name, x->joint ? ":J" : "");
        }
      g_assert_cmpstr (s->str, ==, cases[c].spaces);
      g_string_free (s, TRUE);
    }
}

/* ---- Files ---- */

static WeftEmbedding *
sample_embedding (void)
{
  WeftEmbedding *e = weft_embedding_new (5);
  e->epoch = 3;
  const char *classes[] = { "cat", "dog", NULL };
  e->class_names = g_strdupv ((char **) classes);
  for (int i = 0; i < 5; i++)
    {
      e->row[i] = 10 + i;
      e->sample_index[i] = i == 4 ? -1 : 2 * i;
      e->label[i] = i % 3 - 1;
      e->split[i] = i % 3;
    }
  WeftEmbedSpace *a = weft_embedding_add_space (e, "image", "img_proj", 0, 3);
  WeftEmbedSpace *t = weft_embedding_add_space (e, "text", "txt_proj", 1, 3);
  for (int i = 0; i < 15; i++)
    {
      a->data[i] = i * 0.5f;
      t->data[i] = -i * 0.25f;
    }
  t->present[1] = 0;
  WeftEmbedPoint pts[] = { { 0, 0 }, { 1, 0 }, { 0, 1 } };
  float xy[] = { 1, 2, 3, 4, 5, 6 };
  weft_embedding_set_xy (e, pts, 3, xy, "tsne");
  e->extra = json_object_new ();
  json_object_set_string_member (e->extra, "run", "run-1");
  return e;
}

static void
test_file_round_trip_and_damage (void)
{
  g_autofree char *dir = g_dir_make_tmp ("weft-embed-XXXXXX", NULL);
  g_autofree char *sub = g_build_filename (dir, "embeddings", NULL);
  g_autofree char *path = weft_embedding_file_name (sub, 3);
  g_assert_true (g_str_has_suffix (path, "embeddings/epoch-003.emb"));
  g_autoptr(WeftEmbedding) e = sample_embedding ();
  GError *error = NULL;
  g_assert_true (weft_embedding_save (e, path, &error));
  g_assert_no_error (error);
  g_autofree char *final = weft_embedding_file_name (sub, 0);
  g_assert_true (weft_embedding_save (e, final, &error));

  g_autoptr(WeftEmbedding) r = weft_embedding_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (r->n, ==, 5);
  g_assert_cmpint (r->epoch, ==, 3);
  g_assert_cmpstr (r->class_names[1], ==, "dog");
  g_assert_cmpstr (r->projection, ==, "tsne");
  g_assert_cmpstr (json_object_get_string_member (r->extra, "run"), ==, "run-1");
  g_assert_cmpmem (r->row, 20, e->row, 20);
  g_assert_cmpmem (r->sample_index, 20, e->sample_index, 20);
  g_assert_cmpmem (r->label, 20, e->label, 20);
  g_assert_cmpmem (r->split, 5, e->split, 5);
  g_assert_cmpuint (r->spaces->len, ==, 2);
  WeftEmbedSpace *ra = g_ptr_array_index (r->spaces, 0), *rt = g_ptr_array_index (r->spaces, 1);
  WeftEmbedSpace *ea = g_ptr_array_index (e->spaces, 0), *et = g_ptr_array_index (e->spaces, 1);
  g_assert_cmpstr (rt->node, ==, "txt_proj");
  g_assert_cmpint (rt->modality, ==, 1);
  g_assert_cmpmem (ra->data, 60, ea->data, 60);
  g_assert_cmpmem (rt->data, 60, et->data, 60);
  g_assert_cmpmem (rt->present, 5, et->present, 5);
  g_assert_cmpfloat (ra->xy[2], ==, 3);
  g_assert_true (isnan (ra->xy[4]));
  g_assert_cmpfloat (rt->xy[0], ==, 5);

  g_autoptr(GArray) epochs = weft_embedding_list_epochs (sub);
  g_assert_cmpuint (epochs->len, ==, 1);
  g_assert_cmpint (g_array_index (epochs, int, 0), ==, 3);

  /* Damaged copies: every one is a plain error, never a crash. */
  g_autofree char *data = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  g_autofree char *bad = g_build_filename (dir, "bad.emb", NULL);
  gsize cuts[] = { 0, 7, 40, 64, len / 2, len - 1 };
  for (guint c = 0; c < G_N_ELEMENTS (cuts); c++)
    {
      g_assert_true (g_file_set_contents (bad, data, cuts[c], NULL));
      g_assert_null (weft_embedding_load (bad, &error));
      g_assert_error (error, WEFT_ERROR, WEFT_ERROR_DATA);
      g_clear_error (&error);
    }
  /* One byte flipped anywhere: an error or the same sizes, never a crash. */
  for (gsize at = 0; at < len; at++)
    {
      g_autofree char *copy = g_memdup2 (data, len);
      copy[at] ^= 0x5a;
      g_assert_true (g_file_set_contents (bad, copy, len, NULL));
      g_autoptr(WeftEmbedding) x = weft_embedding_load (bad, &error);
      g_assert_true ((x == NULL) == (error != NULL));
      if (x)
        g_assert_cmpint (x->n, ==, 5);
      g_clear_error (&error);
    }
  /* A label beyond the class names. */
  {
    g_autoptr(WeftEmbedding) x = sample_embedding ();
    x->label[0] = 7;
    g_assert_true (weft_embedding_save (x, bad, NULL));
    g_assert_null (weft_embedding_load (bad, &error));
    g_assert_error (error, WEFT_ERROR, WEFT_ERROR_DATA);
    g_assert_nonnull (strstr (error->message, "bad.emb"));
    g_clear_error (&error);
  }
  g_assert_null (weft_embedding_load (dir, &error));   /* a folder */
  g_assert_nonnull (error);
  g_clear_error (&error);

  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir);
  g_assert_cmpint (system (cmd), ==, 0);
}

/* ---- Exports ---- */

static void
test_tsv_export (void)
{
  g_autoptr(WeftEmbedding) e = sample_embedding ();
  /* A dataset with captions, one with a tab and a newline. */
  WeftDataset *ds = g_new0 (WeftDataset, 1);
  ds->samples = g_ptr_array_new ();
  WeftSample smp[10];
  memset (smp, 0, sizeof smp);
  for (int i = 0; i < 10; i++)
    {
      smp[i].id = g_strdup_printf ("s%d", i);
      smp[i].text = g_strdup_printf ("caption %d", i);
      g_ptr_array_add (ds->samples, &smp[i]);
    }
  g_free (smp[2].text);
  smp[2].text = g_strdup ("a\tb\nc, \"quoted\"");

  g_autofree char *dir = g_dir_make_tmp ("weft-tsv-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (dir, "tb", NULL);
  int written = 0;
  GError *error = NULL;
  g_assert_true (weft_export_tsv (e, ds, NULL, out, &written, &error));
  g_assert_no_error (error);
  g_assert_cmpint (written, ==, 9);   /* 5 image + 4 text points */
  g_autofree char *vpath = g_build_filename (out, "vectors.tsv", NULL);
  g_autofree char *mpath = g_build_filename (out, "metadata.tsv", NULL);
  g_autofree char *vec = NULL, *meta = NULL;
  g_assert_true (g_file_get_contents (vpath, &vec, NULL, NULL));
  g_assert_true (g_file_get_contents (mpath, &meta, NULL, NULL));
  g_auto(GStrv) vl = g_strsplit (vec, "\n", -1);
  g_auto(GStrv) ml = g_strsplit (meta, "\n", -1);
  g_assert_cmpuint (g_strv_length (vl), ==, 10);   /* 9 + empty tail */
  g_assert_cmpuint (g_strv_length (ml), ==, 11);   /* header + 9 + tail */
  g_assert_cmpstr (vl[1], ==, "1.5\t2\t2.5");
  g_assert_cmpstr (ml[0], ==, "index\tmodality\tlabel\tsplit\ttext");
  g_assert_cmpstr (ml[1], ==, "0\timage\t\ttrain\tcaption 0");
  g_assert_cmpstr (ml[2], ==, "2\timage\tcat\tvalidation\ta b c, \"quoted\"");
  g_assert_cmpstr (ml[5], ==, "14\timage\tcat\tvalidation\t");
  g_assert_cmpstr (ml[6], ==, "0\ttext\t\ttrain\tcaption 0");
  g_assert_cmpstr (ml[7], ==, "4\ttext\tdog\ttest\tcaption 4");
  g_assert_false (weft_export_tsv (e, ds, "audio", out, NULL, &error));
  g_assert_error (error, WEFT_ERROR, WEFT_ERROR_ARGS);
  g_clear_error (&error);

  /* Selection as CSV. */
  WeftEmbedPoint pts[] = { { 1, 0 }, { 0, 1 }, { 3, 1 } };
  g_autofree char *csv = g_build_filename (dir, "sel.csv", NULL);
  g_assert_true (weft_export_selection_csv (e, ds, pts, 3, csv, &error));
  g_assert_no_error (error);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (csv, &text, NULL, NULL));
  g_assert_cmpstr (text, ==,
                   "index,id,modality,label,split,text,x,y\r\n"
                   "2,s2,image,cat,validation,\"a\tb\nc, \"\"quoted\"\"\",3,4\r\n"
                   "0,s0,text,,train,caption 0,5,6\r\n"
                   "6,s6,text,,train,caption 6,,\r\n");

  for (int i = 0; i < 10; i++)
    {
      g_free (smp[i].id);
      g_free (smp[i].text);
    }
  g_ptr_array_unref (ds->samples);
  g_free (ds);
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir);
  g_assert_cmpint (system (cmd), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  weft_blas_set_threads (1);
  g_test_add_func ("/embed/pca/recovers-axes", test_pca_recovers_axes);
  g_test_add_func ("/embed/knn/equals-brute-force", test_knn_equals_brute_force);
  g_test_add_func ("/embed/retrieval/hand-made", test_retrieval_hand_made);
  g_test_add_func ("/embed/procrustes/recovers-rotation", test_procrustes_recovers_rotation);
  g_test_add_func ("/embed/tsne/keeps-clusters", test_tsne_keeps_clusters);
  g_test_add_func ("/embed/tsne/gradient", test_tsne_gradient_matches_finite_differences);
  g_test_add_func ("/embed/tsne/stops", test_tsne_stops);
  g_test_add_func ("/embed/compute-and-query", test_compute_and_query);
  g_test_add_func ("/embed/targets-of-templates", test_targets_of_templates);
  g_test_add_func ("/embed/epoch-files-and-alignment", test_epoch_files_and_alignment);
  g_test_add_func ("/embed/file/round-trip-and-damage", test_file_round_trip_and_damage);
  g_test_add_func ("/embed/export/tsv-and-csv", test_tsv_export);
  return g_test_run ();
}
