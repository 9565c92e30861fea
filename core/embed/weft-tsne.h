/* weft-tsne.h — t-SNE maps of embeddings: Barnes-Hut (a flat quadtree
 * rebuilt each iteration) or the exact gradient for small sets, a sparse
 * affinity matrix from exact k nearest neighbours, running on the caller's
 * worker thread with a snapshot of the positions the UI can read while
 * the map settles, and a stop. Defaults follow scikit-learn 1.2. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct {
  double perplexity;         /* 30; clamped to (n - 1) / 3 for tiny sets */
  double early_exaggeration; /* 12 */
  double learning_rate;      /* <= 0: "auto" = max (n / early_exaggeration / 4, 50) */
  int n_iter;                /* 1000 in all (early phase included) */
  int exaggeration_iter;     /* 250 */
  double theta;              /* 0.5 Barnes-Hut opening angle; 0: exact gradient */
  int exact_below;           /* n below this uses the exact gradient: 0 default (never) */
  gboolean pca_init;         /* TRUE: PCA initialisation scaled to std 1e-4; else gaussian */
  guint64 seed;              /* for the random init and ties */
  int threads;               /* workers for the gradient; 0: 2 */
  gboolean cosine;           /* input distances: cosine (TRUE) or euclidean (FALSE) */
  double snapshot_interval;  /* seconds between published snapshots; 0.1 */
} WeftTsneConfig;

void weft_tsne_config_init (WeftTsneConfig *c);

typedef struct _WeftTsne WeftTsne;

/* Copies X (n, d). n >= 2. */
WeftTsne *weft_tsne_new (const float *X, int n, int d, const WeftTsneConfig *config);
void      weft_tsne_free (WeftTsne *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WeftTsne, weft_tsne_free)

/* Runs to the end (or until stopped/cancelled) on the calling thread: use
 * a worker (g_task_run_in_thread). FALSE with G_IO_ERROR_CANCELLED when
 * cancelled or stopped; the positions reached so far stay readable. */
gboolean weft_tsne_run (WeftTsne *t, GCancellable *cancellable, GError **error);

/* Runs weft_tsne_run in a GTask worker; callback on the caller's thread-
 * default main context; finish with weft_tsne_run_finish. t must live until
 * the callback. */
void     weft_tsne_run_async (WeftTsne *t, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data);
gboolean weft_tsne_run_finish (WeftTsne *t, GAsyncResult *result, GError **error);

/* Thread-safe: asks the run to end after the current iteration. */
void     weft_tsne_stop (WeftTsne *t);

/* Thread-safe snapshot of the positions published last (about every
 * snapshot_interval and at the end): copies n * 2 floats into xy (n, 2)
 * and returns the snapshot's serial number (0: nothing published yet,
 * xy untouched), which grows with each publication, so a UI tick can skip
 * an unchanged map. iteration (may be NULL) receives its iteration. */
guint    weft_tsne_get_snapshot (WeftTsne *t, float *xy, int *iteration);
int      weft_tsne_get_n (WeftTsne *t);
/* Fraction done in [0, 1], thread-safe. */
double   weft_tsne_get_fraction (WeftTsne *t);
/* The final (or stopped) positions, (n, 2); borrowed; only valid after run
 * returned. */
const float *weft_tsne_get_positions (WeftTsne *t);

/* KL divergence (P of this t, exaggeration 1) of the map Y (n, 2), or of
 * the current map when Y is NULL. Exact, O(n²): for tests and small n. */
double   weft_tsne_kl_divergence (WeftTsne *t, const float *Y);

/* Testing: the gradient at Y (n, 2) with the affinities built for this t
 * (exaggeration 1), exact or Barnes-Hut as configured, into grad (n, 2). */
void     weft_tsne_gradient (WeftTsne *t, const float *Y, float *grad, gboolean exact);

/* Trustworthiness (as scikit-learn's, euclidean in both spaces) of the map
 * Y (n, 2) of X (n, d) with k neighbours. No n² memory; O(n² d) time. */
double   weft_trustworthiness (const float *X, int n, int d, const float *Y, int k);

G_END_DECLS
