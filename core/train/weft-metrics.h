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

/* What to do to the inputs at test time (robustness checks, the explorer's
 * noise slider). Rows are perturbed in the graph's input buffers after the
 * batch is gathered; the features are never modified.
 *
 * A removed modality is fed the way the featuriser stores a row without
 * it: zeros for images and audio (the audio features are normalised per
 * band, so zero is the average spectrogram), and all-padding token ids for
 * text (an all-zero bag of words). No mask reaches the model: this is what
 * it sees for a sample that lacks that modality.
 *
 * Noise is Gaussian, seeded, added to the feature values: images get
 * standard deviation image_sigma in the image's value scale (pixels in
 * [0, 1]); audio gets noise at audio_snr_db relative to the power of each
 * row's (normalised log-mel) features, so the SNR is a feature-domain SNR,
 * not that of the waveform. Text is never noised. */
typedef struct {
  guint drop;                /* bits (1 << WeftModality): removed modalities */
  double image_sigma;        /* 0: no image noise */
  double audio_snr_db;       /* +INFINITY (or NaN): no audio noise */
  guint64 seed;              /* noise seed; the same seed gives the same noise */
} WeftPerturb;

/* No perturbation (drop 0, sigma 0, SNR +inf, seed 1). */
void weft_perturb_init (WeftPerturb *p);

/* weft_evaluate with p applied (NULL: none); retrieval over at most 1000
 * rows. Safe on any thread that owns the graph. */
void weft_evaluate_perturbed (WeftGraph *g, const WeftFeatures *f, const int *rows, int n,
                              const WeftPerturb *p, WeftEvalResult *out);

/* Applies p to the graph's input buffers as filled by weft_features_gather
 * for B rows; batch_index makes the noise differ from batch to batch. */
void weft_perturb_apply (const WeftPerturb *p, WeftGraph *g, int B, guint64 batch_index);

/* Recall@1/5/10 and median rank (1-based) of retrieving row i of B among all
 * rows of B by cosine similarity from row i of A; A and B are (n, d). */
void weft_retrieval_recall (const float *A, const float *B, int n, int d,
                            double recall[3], double *median_rank);

/* Index of the first cross-entropy / InfoNCE loss node; -1 if none. */
int  weft_graph_find_loss (WeftGraph *g, const char *type);

G_END_DECLS
