/* weft-metrics.h — evaluation of a compiled model on rows of a dataset:
 * loss, classification accuracy and cross-modal retrieval recall. */
#pragma once

#include "data/weft-features.h"
#include "graph/weft-graph.h"

G_BEGIN_DECLS

typedef struct {
  int n_rows;
  double loss;               /* weighted total, mean over rows */
  double accuracy;           /* NaN when the model has no classifier loss */
  /* First contrastive (InfoNCE) loss: a→b and b→a over all evaluated rows
   * (at most max_retrieval_rows); NaN when there is none. */
  double recall_ab[3], recall_ba[3];  /* R@1, R@5, R@10 */
  double median_rank_ab, median_rank_ba;
} WeftEvalResult;

/* Runs the model in inference mode over rows in batches of the graph's
 * max batch. max_retrieval_rows <= 0 means 1000. */
void weft_evaluate (WeftGraph *g, const WeftFeatures *f, const int *rows, int n,
                    int max_retrieval_rows, WeftEvalResult *out);

/* Recall@1/5/10 and median rank (1-based) of retrieving row i of B among all
 * rows of B by cosine similarity from row i of A; A and B are (n, d). */
void weft_retrieval_recall (const float *A, const float *B, int n, int d,
                            double recall[3], double *median_rank);

/* Index of the first cross-entropy / InfoNCE loss node; -1 if none. */
int  weft_graph_find_loss (WeftGraph *g, const char *type);

G_END_DECLS
