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
  float *idf;                /* (vocab_size) TF-IDF weights for bag-of-words
                                inputs; NULL: plain term frequencies */
  float *audio_mean;         /* (mel bands) per-band normalisation already */
  float *audio_std;          /* applied to audio.data; NULL: none */
  int *sample_index;         /* (n_rows) index into the dataset's samples;
                                NULL when not featurised from a dataset */
  GMappedFile *mapping;      /* when loaded from the feature cache: holds
                                the column arrays, present masks, label,
                                split and sample_index (a private mapping,
                                so writes such as a new split stay local) */
  int ref_count;             /* weft_features_ref / weft_features_free */
} WeftFeatures;

/* Features are reference counted so that a training run or a projection
 * can keep the ones it started with while the app refeaturises:
 * weft_features_free drops one reference. */
WeftFeatures *weft_features_new (int n_rows);
WeftFeatures *weft_features_ref (WeftFeatures *f);
void          weft_features_free (WeftFeatures *f);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WeftFeatures, weft_features_free)

/* Allocates a zeroed column of that per-sample shape (a column that lived
 * in the mapping is replaced, never freed). */
float *weft_features_add_column (WeftFeatures *f, WeftModality m, WeftShape shape);

void weft_features_get_binding (const WeftFeatures *f, WeftBinding *b);

/* Applies the features' audio normalisation (audio_mean / audio_std) in
 * place to one log-mel spectrogram (mel bands, frames) computed with the
 * same settings, e.g. a sound the user records to query the embedding.
 * Does nothing when the features carry no normalisation. */
void weft_features_normalise_audio (const WeftFeatures *f, float *mel);

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
 * are built from the token ids here: term frequencies, TF-IDF weighted and
 * L2-normalised when f->idf is set). */
void weft_features_gather (const WeftFeatures *f, WeftGraph *g, const int *idx, int B);

/* ---- Feature files (the feature cache) ----
 *
 * A WeftFeatures written so that reopening is one memory map: the columns
 * of the loaded features point into the mapping, nothing is copied.
 * Version 1; integers little-endian, floats IEEE-754 binary32 little-endian
 * (a big-endian machine neither writes nor reads these files):
 *
 *   offset size
 *      0    8  magic "WEFTFEAT"
 *      8    4  u32 version (1)
 *     12    4  u32 header size (256)
 *     16    8  u64 file size: a file of any other length is refused
 *     24    4  u32 n_rows (> 0)
 *     28    4  u32 number of sections (9)
 *     32   60  3 x (u32 n_dims, u32 dims[4]): the per-sample shapes of
 *              image, audio and text; n_dims 0 = no such column
 *     92    4  reserved, 0
 *     96  144  9 x (u64 offset, u64 bytes), bytes 0 = section absent:
 *                0 image data     float (n_rows, image size)
 *                1 image present  u8 (n_rows)
 *                2 audio data     float (n_rows, audio size)
 *                3 audio present  u8 (n_rows)
 *                4 text data      float (n_rows, text length): token ids
 *                5 text present   u8 (n_rows)
 *                6 label          float (n_rows): class index or -1
 *                7 split          u8 (n_rows): WeftSplit (required)
 *                8 sample_index   i32 (n_rows)
 *    240   16  u64 offset, u64 bytes of the JSON blob
 *    256       the sections, each at a 64-byte-aligned offset, the gaps
 *              zero-filled, then the JSON blob (UTF-8, no terminator):
 *              { "name", "n_classes", "class_names": [..], "vocab": [..],
 *                "idf": [..], "audio_mean": [..], "audio_std": [..],
 *                "extra": { whatever the writer adds } }
 *
 * A reader checks every offset and size against the file length and every
 * label, split and token id against its range, so a damaged file is an
 * error, never a crash. Image and audio values are not scanned (that would
 * read the whole file). */

#define WEFT_FEATURES_FILE_VERSION 1

/* Writes f to path atomically (a temporary file in the same folder, then a
 * rename). extra (may be NULL) is stored as the blob's "extra" member. */
gboolean      weft_features_save (const WeftFeatures *f, const char *path,
                                  JsonObject *extra, GError **error);
/* Maps a file written by weft_features_save. *extra (if not NULL) receives
 * a new reference to the stored extra object, or NULL. Errors name the file
 * and what is wrong with it (WEFT_ERROR_DATA; WEFT_ERROR_IO if unreadable). */
WeftFeatures *weft_features_map (const char *path, JsonObject **extra, GError **error);

/* Fashion-MNIST from its IDX files (the Debian package dataset-fashion-mnist):
 * DIR holds train-images-idx3-ubyte.gz etc. Test images become the test
 * split. Errors name the file. */
WeftFeatures *weft_features_load_idx (const char *dir, GError **error);
/* Whether DIR looks like an IDX dataset folder. */
gboolean      weft_features_is_idx_dir (const char *dir);

G_END_DECLS
