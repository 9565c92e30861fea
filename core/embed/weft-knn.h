/* weft-knn.h — exact nearest neighbours by cosine similarity (blocks of
 * sgemm plus a partial selection on 2 threads), cross-modal retrieval
 * metrics and the worst retrieval failures. */
#pragma once

#include <gio/gio.h>

#include "embed/weft-embed.h"

G_BEGIN_DECLS

/* For each of the nq rows of Q (nq, d), the k rows of X (nx, d) most
 * similar by cosine: idx (nq, k) and sim (nq, k) (sim may be NULL), most
 * similar first, ties by lower index. exclude_self: Q is X (same rows),
 * row i is not its own neighbour. Zero vectors have similarity 0 to all.
 * When fewer than k candidates exist the rest is idx -1, sim -INFINITY.
 * threads <= 0: 2. FALSE only when cancelled (G_IO_ERROR_CANCELLED). */
gboolean weft_knn_cosine (const float *Q, int nq, const float *X, int nx, int d,
                          int k, gboolean exclude_self, int threads,
                          int *idx, float *sim,
                          GCancellable *cancellable, GError **error);

/* Squared-euclidean variant (for t-SNE's affinities): dist (nq, k) holds
 * squared distances, nearest first. */
gboolean weft_knn_euclidean (const float *Q, int nq, const float *X, int nx, int d,
                             int k, gboolean exclude_self, int threads,
                             int *idx, float *dist,
                             GCancellable *cancellable, GError **error);

/* Neighbours of sample `sample` of space `from` in space `to` (may be the
 * same: then the sample itself is left out), among samples present in
 * `to`. idx receives sample numbers (n of e), sim cosine similarities;
 * returns how many were found (<= k). */
int weft_embedding_neighbours (const WeftEmbedding *e, const char *from, int sample,
                               const char *to, int k, int *idx, float *sim);
/* The same for an outside vector (a query) of the space's dimension;
 * _excluding leaves sample `exclude` out (-1: none). */
int weft_embedding_neighbours_of (const WeftEmbedding *e, const float *vector,
                                  const char *to, int k, int *idx, float *sim);
int weft_embedding_neighbours_excluding (const WeftEmbedding *e, const float *vector,
                                         const char *to, int exclude, int k,
                                         int *idx, float *sim);

/* ---- Retrieval ---- */

typedef struct {
  char name[8];              /* "i2t": query letter, 2, target letter
                                (i image, t text, a audio, f fused) */
  char query[8], target[8];  /* space names */
  int n;                     /* queries (samples present in both) */
  double recall[3];          /* R@1, R@5, R@10 */
  double median_rank;        /* 1-based rank of the true partner */
  double mean_rank;
} WeftRetrievalMetrics;

/* The true partner of query i is target i. A (n, d) queries, B (n, d)
 * targets; ranks (n) (may be NULL) receives each query's 1-based rank
 * (1 + the targets more similar, and equally similar ones of lower index,
 * as weft_retrieval_recall counts). Blocked sgemm. median_rank and
 * mean_rank may be NULL. */
void weft_retrieval_ranks (const float *A, const float *B, int n, int d,
                           int *ranks, double recall[3], double *median_rank,
                           double *mean_rank);

/* One worst failure: a query whose partner ranked far down. */
typedef struct {
  int query;                 /* sample number in the embedding */
  int rank;                  /* of the true partner, 1-based */
  float true_sim;            /* similarity to the true partner */
  int top[5];                /* the samples retrieved first (-1 padding) */
  float top_sim[5];
} WeftRetrievalFailure;

/* Metrics for every ordered pair of distinct per-modality spaces of e of
 * one dimension (image, text, audio; "fused" is left out), over samples
 * present in both, in the order i2t t2i i2a a2i t2a a2t (those that
 * exist). At most max_queries samples (<= 0: all), the first ones. A new
 * array of WeftRetrievalMetrics; empty when there is no pair. */
GArray *weft_embedding_retrieval (const WeftEmbedding *e, int max_queries);

/* The n_worst (<= n) queries of direction query -> target with the worst
 * rank (ties: lower sample first), each with its top 5. failures has room
 * for n_worst; returns how many were written. */
int weft_embedding_worst_failures (const WeftEmbedding *e, const char *query,
                                   const char *target, int max_queries,
                                   int n_worst, WeftRetrievalFailure *failures);

G_END_DECLS
