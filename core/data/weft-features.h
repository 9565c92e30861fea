/* weft-features.h — a featurised dataset held in memory: one float row per
 * sample and modality, labels, splits and presence masks; and the batch
 * gather that copies rows into a graph's input buffers. */
#pragma once

#include "graph/weft-graph.h"

G_BEGIN_DECLS

typedef enum {
  WEFT_SPLIT_TRAIN,
  WEFT_SPLIT_VALIDATION,
  WEFT_SPLIT_TEST,
} WeftSplit;

typedef struct {
  WeftShape shape;           /* per sample; n == 0: modality absent */
  float *data;               /* (n_rows, size) */
  guint8 *present;           /* (n_rows) 1 if the row has it; NULL: all do */
} WeftFeatureColumn;

typedef struct {
  int n_rows;
  WeftFeatureColumn image, audio;
  WeftFeatureColumn text;    /* token ids as floats, -1 padded: (text_length) */
  float *label;              /* (n_rows) class index, -1 = none; NULL: no labels */
  guint8 *split;             /* (n_rows) WeftSplit */
  int n_classes;
  GStrv class_names;         /* may be NULL */
  GStrv vocab;               /* id -> token; may be NULL */
  int vocab_size;
  char *name;                /* for messages */
} WeftFeatures;

WeftFeatures *weft_features_new (int n_rows);
void          weft_features_free (WeftFeatures *f);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WeftFeatures, weft_features_free)

/* Allocates a zeroed column of that per-sample shape. */
float *weft_features_add_column (WeftFeatures *f, WeftModality m, WeftShape shape);

void weft_features_get_binding (const WeftFeatures *f, WeftBinding *b);

/* Row indices of a split, in order; caller frees. */
int  *weft_features_split_rows (const WeftFeatures *f, WeftSplit split, int *n);

/* Assigns a seeded, label-stratified split: val_share of each class to
 * validation, test_share to test, the rest to training. */
void weft_features_assign_split (WeftFeatures *f, double val_share, double test_share,
                                 guint64 seed);

/* Moves a seeded, label-stratified share of the training rows to
 * validation (for data that ships only train and test). */
void weft_features_carve_validation (WeftFeatures *f, double share, guint64 seed);

/* Copies rows idx[0..B) into the graph's input buffers (bag-of-words inputs
 * are built from the token ids here). */
void weft_features_gather (const WeftFeatures *f, WeftGraph *g, const int *idx, int B);

/* Fashion-MNIST from its IDX files (the Debian package dataset-fashion-mnist):
 * DIR holds train-images-idx3-ubyte.gz etc. Test images become the test
 * split. Errors name the file. */
WeftFeatures *weft_features_load_idx (const char *dir, GError **error);
/* Whether DIR looks like an IDX dataset folder. */
gboolean      weft_features_is_idx_dir (const char *dir);

G_END_DECLS
