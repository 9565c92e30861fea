/* weft-predict.h — per-row class predictions of a model with a classifier
 * head, and the confusion matrix and per-class accuracy built from them. */
#pragma once

#include "data/weft-features.h"
#include "graph/weft-graph.h"
#include "train/weft-metrics.h"

G_BEGIN_DECLS

/* The node whose output is the class logits: the one feeding the first
 * cross-entropy loss, else the first "classifier" block; -1 if none. K is
 * set to its number of classes. */
int  weft_predict_find_classifier (WeftGraph *g, int *K);

/* Runs the graph forward in evaluation mode over rows[0..n) in batches of
 * at most max_batch (<= 0 or above the graph's: the graph's max batch) and
 * returns the argmax class of each row (n ints, caller frees). p perturbs
 * the inputs like weft_evaluate_perturbed (NULL: none). Fails with a plain
 * message when the model has no classifier. */
int *weft_predict_classes (WeftGraph *g, const WeftFeatures *f, const int *rows, int n,
                           int max_batch, const WeftPerturb *p, GError **error);

/* Counts (K, K), row = true class, column = predicted class, of the rows
 * whose true label is in [0, K) and whose prediction is too; returns how
 * many rows were counted. counts is zeroed first. */
gint64 weft_confusion_matrix (const float *labels, const int *rows, const int *predicted, int n,
                              int K, gint64 *counts);

/* Per class: correct / labelled of that class (NaN with no rows of it). */
void weft_confusion_class_accuracy (const gint64 *counts, int K, double *accuracy);

G_END_DECLS
