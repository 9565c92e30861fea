/* weft-embed.h — a trained model's joint space: which nodes embed which
 * modality, the vectors of every sample in each of them, one query encoded
 * on demand, and the .emb file that keeps a run's embeddings.
 *
 * Which vectors are "the embedding" (the rule, decided on the spec):
 *  1. Joint-embedding models. Every input of a contrastive loss (infonce,
 *     triplet) is an embedding node; its modality is the one data input it
 *     depends on (image, text or audio). The first node found for a
 *     modality wins (losses in spec order, inputs in order), so a triple
 *     CLIP gives three spaces "image", "text", "audio" of one dimension,
 *     and a node shared by two losses appears once. An input of such a
 *     loss that depends on several modalities is called "fused".
 *  2. Otherwise classifiers and autoencoders. The representation node R
 *     is the input of the classifier head feeding the first cross-entropy
 *     loss (dropout nodes skipped, they are the identity at inference), or
 *     the late_fusion node itself when the loss reads one, or the input of
 *     the first decoder head. R gives one space named after its modality,
 *     or "fused" when it depends on two or more. Then the closest fusion
 *     block at or above R: if each of its inputs depends on exactly one
 *     distinct modality and all have one dimension, each input is added
 *     as a space named after its modality (so a map can show where each
 *     encoder puts a sample before fusion). A sample's per-modality space
 *     is "present" when the sample has that modality; "fused" always is.
 *  3. Anything else (no loss of those kinds): no spaces; computing is an
 *     error "the model has no embedding to show".
 * The joint map: in rule 1 every space of the first space's dimension is
 * "joint" (drawn on one map, compared across modalities, used for
 * retrieval); in rule 2 only R's space is (the per-modality encoder spaces
 * are separate maps: they were never trained to agree).
 *
 * Vectors are computed with the graph in inference mode (dropout off,
 * BatchNorm running statistics), batch by batch, on the calling thread
 * (call from a worker; the graph is not touched by anything else meanwhile).
 *
 * ---- The .emb file (version 1) ----
 * Little-endian; every array's place follows from the header and the JSON,
 * so a reader computes the exact length the file must have and refuses any
 * other (a big-endian machine neither writes nor reads these files):
 *
 *   offset size
 *      0    8  magic "WEFTEMB" followed by a zero byte
 *      8    4  u32 version (1)
 *     12    4  u32 n: samples (>= 1, < 2^26)
 *     16    4  u32 number of spaces (1..8)
 *     20    4  i32 epoch (0: final)
 *     24    8  u64 file size
 *     32    4  u32 JSON bytes J (< 16 MiB)
 *     36   28  reserved, zero
 *     64    J  JSON (UTF-8): { "spaces": [ {"name": "image", "node": "image_embedding",
 *                 "dim": 64, "joint": true, "xy": true} ...], "class_names": [..] or absent,
 *                 "projection": "tsne" | "pca" | absent, "extra": {..} or absent }
 *              name is "image", "text", "audio" or "fused"; dim 1..65536
 *   then, from 64 + J rounded up to a multiple of 8:
 *              i32 row[n]           feature row of each sample (>= 0)
 *              i32 sample_index[n]  dataset sample (-1: unknown)
 *              i32 label[n]         class (-1: none; < number of class names)
 *              u8  split[n]         WeftSplit (0..2), padded with zeros to 4
 *   then for each space in JSON order:
 *              f32 vectors[n * dim]
 *              u8  present[n]       1 if the sample has that modality, padded to 4
 *              f32 xy[n * 2]        only when "xy" is true; NaN for absent points
 * Written atomically (temporary file + rename). A truncated, padded or
 * damaged file is a WEFT_ERROR_DATA naming the file and what is wrong.
 */
#pragma once

#include <gio/gio.h>

#include "data/weft-audio.h"
#include "data/weft-features.h"
#include "graph/weft-graph.h"

G_BEGIN_DECLS

#define WEFT_EMBED_FILE_VERSION 1
#define WEFT_EMBED_MAX_SPACES   8

/* One modality's vectors. */
typedef struct {
  char *name;                /* "image" "text" "audio" "fused" */
  char *node;                /* spec node id that produced it */
  int modality;              /* WeftModality, or -1 for "fused" */
  int dim;
  float *data;               /* (n, dim) */
  guint8 *present;           /* (n) 1 if the sample has this modality */
  float *xy;                 /* (n, 2) 2-D map position, NaN if absent; NULL: none */
  gboolean joint;            /* part of the joint map (see the rule above) */
} WeftEmbedSpace;

/* One point of a map: a sample in a space. */
typedef struct {
  int sample;                /* 0..n - 1 */
  int space;                 /* index into WeftEmbedding.spaces */
} WeftEmbedPoint;

typedef struct {
  int n;                     /* samples */
  int epoch;                 /* 0: final */
  int *row;                  /* (n) feature row */
  int *sample_index;         /* (n) dataset sample, -1 unknown */
  int *label;                /* (n) class, -1 none */
  guint8 *split;             /* (n) WeftSplit */
  GStrv class_names;         /* may be NULL */
  GPtrArray *spaces;         /* WeftEmbedSpace*, owned */
  char *projection;          /* "tsne" / "pca" when the spaces have xy, else NULL */
  JsonObject *extra;         /* free-form, kept in the file; may be NULL */
} WeftEmbedding;

WeftEmbedding *weft_embedding_new (int n);
void           weft_embedding_free (WeftEmbedding *e);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WeftEmbedding, weft_embedding_free)

/* Adds a zeroed space (present all 1, no xy) and returns it (borrowed). */
WeftEmbedSpace *weft_embedding_add_space (WeftEmbedding *e, const char *name,
                                          const char *node, int modality, int dim);
/* By name ("image", ...) or WeftModality; NULL if absent. Borrowed. */
WeftEmbedSpace *weft_embedding_get_space (const WeftEmbedding *e, const char *name);
WeftEmbedSpace *weft_embedding_get_space_for (const WeftEmbedding *e, WeftModality m);
/* The dimension of the joint spaces, or 0 if none. */
int             weft_embedding_joint_dim (const WeftEmbedding *e);

/* The vectors of every present point of the joint spaces (space non-NULL:
 * of that one space only), stacked: returns (n_points, dim) (caller frees)
 * and *points (caller frees) says which point each row is. NULL when
 * there is no such point. */
float *weft_embedding_stack (const WeftEmbedding *e, const char *space,
                             int *n_points, int *dim, WeftEmbedPoint **points);
/* Stores a map of stacked points: xy (n_points, 2) into each point's
 * space's xy (allocated, NaN-filled, when missing); sets e->projection. */
void   weft_embedding_set_xy (WeftEmbedding *e, const WeftEmbedPoint *points,
                              int n_points, const float *xy, const char *method);

/* Computes maps for every space on the calling thread: the joint spaces
 * together, each other space alone. method "pca" (first two components)
 * or "tsne" (default settings, seed 1). Cancelled: FALSE with
 * G_IO_ERROR_CANCELLED. For a live t-SNE view use weft_embedding_stack
 * and a WeftTsne directly. */
gboolean weft_embedding_project (WeftEmbedding *e, const char *method,
                                 GCancellable *cancellable, GError **error);

/* ---- What the model embeds ---- */

typedef struct {
  char *name;                /* as WeftEmbedSpace.name */
  char *node;                /* spec node id */
  int modality;              /* WeftModality or -1 */
  int dim;
  gboolean joint;
} WeftEmbedTarget;

/* The spaces the rule above finds in g, an array of WeftEmbedTarget (free
 * with g_array_unref: names are freed by its clear func). Empty array when
 * the model embeds nothing; never NULL. */
GArray *weft_embed_find_targets (WeftGraph *g);

/* fraction in [0, 1]; called on the computing thread after each batch. */
typedef void (*WeftEmbedProgress) (double fraction, gpointer user_data);

/* Vectors of rows[0..n) (rows NULL: the first n rows; n <= 0: all rows) in
 * every target space, batch by batch in inference mode. Labels, splits and
 * sample indices come from f. Cancelled: NULL with G_IO_ERROR_CANCELLED.
 * No target: WEFT_ERROR_SPEC "the model has no embedding to show". */
WeftEmbedding *weft_embed_compute (WeftGraph *g, const WeftFeatures *f,
                                   const int *rows, int n,
                                   WeftEmbedProgress progress, gpointer user_data,
                                   GCancellable *cancellable, GError **error);

/* n rows of f chosen with a seeded shuffle (all rows if n >= f->n_rows),
 * sorted ascending; *out_n receives the count. Caller frees. */
int *weft_embed_sample_rows (const WeftFeatures *f, int n, guint64 seed, int *out_n);

/* ---- One query ---- */

/* Encodes one input in the space of its modality (the target whose
 * modality it is; see weft_embed_find_targets): a sentence (tokenised with
 * f->vocab, -1 padded to the model's text length, bag-of-words with f->idf
 * when the model's text input is one), an image file (size and channels of
 * f's image column) or an audio file (log-mel with the mel settings the
 * features were made with, mel NULL: defaults; normalised with f's
 * statistics). Returns the vector (*dim floats, caller frees). Errors in
 * plain words: "the model does not embed text", "photo.png could not be
 * read: not an image file". */
float *weft_embed_query_text  (WeftGraph *g, const WeftFeatures *f, const char *text,
                               int *dim, GError **error);
float *weft_embed_query_image (WeftGraph *g, const WeftFeatures *f, const char *path,
                               int *dim, GError **error);
float *weft_embed_query_audio (WeftGraph *g, const WeftFeatures *f, const char *path,
                               const WeftMelSettings *mel, int *dim, GError **error);

/* ---- Files ---- */

/* Writes e atomically to path (folders are created). */
gboolean       weft_embedding_save (const WeftEmbedding *e, const char *path, GError **error);
/* Reads and checks a file written by weft_embedding_save. */
WeftEmbedding *weft_embedding_load (const char *path, GError **error);

/* "DIR/final.emb" (epoch 0) or "DIR/epoch-007.emb"; newly allocated. */
char *weft_embedding_file_name (const char *dir, int epoch);
/* Epoch numbers of the epoch-NNN.emb files in dir, ascending (a new array
 * of int; empty if none or no folder). */
GArray *weft_embedding_list_epochs (const char *dir);

/* ---- Runs ---- */

/* Moves the maps (xy) of e's joint spaces onto those of ref by one
 * similarity transform (rotation, scale, translation, or a mirror image)
 * fitted on the points both have (same space name, same feature row), so
 * successive epochs of a timeline do not jump. Returns the RMS distance
 * left, NaN when nothing matched (e is then unchanged). */
double weft_embedding_align_xy (WeftEmbedding *e, const WeftEmbedding *ref);

/* What the trainer's epoch hook (or the end of a run) calls: embeds the
 * same seeded subset of at most max_samples rows (<= 0: 2000) each time,
 * maps it with projection ("pca", "tsne" or NULL for none), aligns the map
 * to the previous epoch's file in dir when there is one, and writes
 * dir/epoch-NNN.emb (epoch >= 1) or dir/final.emb (epoch 0). Runs on the
 * calling thread (the trainer's worker); the graph must be idle. */
gboolean weft_embed_write_epoch (WeftGraph *g, const WeftFeatures *f, const char *dir,
                                 int epoch, int max_samples, const char *projection,
                                 GCancellable *cancellable, GError **error);

G_END_DECLS
