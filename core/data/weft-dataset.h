/* weft-dataset.h — a dataset folder read into samples plus a validation
 * report. Two layouts (DESIGN.md, "Dataset folder"):
 *
 *  1. A manifest at the root, metadata.csv (RFC 4180: quoted fields,
 *     embedded commas/newlines/quotes, optional UTF-8 BOM) or
 *     metadata.jsonl (one JSON object per line), one row per paired sample,
 *     columns (any order, unknown ones ignored):
 *       image_file_name, audio_file_name   relative paths (image_path,
 *                                          audio_path, text_path accepted)
 *       file_name (or any other *_file_name) a file whose modality comes
 *                                          from its content / extension
 *       text                               UTF-8 caption
 *       text_file_name                     a .txt file holding the caption
 *       label, split (train|validation|test; "valid"/"val"/"dev" accepted),
 *       id                                 all optional
 *     An empty cell is a missing modality for that row, not an error.
 *  2. Class folders ROOT/LABEL/STEM.{png,jpg,jpeg,gif,svg,bmp,webp,wav,ogg,
 *     opus,flac,mp3,txt}: files sharing a stem inside one label folder are
 *     one sample; the .txt holds the caption.
 *
 * Every problem becomes a WeftIssue naming the row (1-based, the header
 * not counted) or the file, in words a non-programmer follows. A bad row is
 * skipped and the rest load; only "nothing readable at all" is a GError.
 */
#pragma once

#include <gio/gio.h>

#include "data/weft-features.h"

G_BEGIN_DECLS

typedef struct {
  int row;                   /* manifest row, 1-based; 0: not a manifest row */
  char *file;                /* relative to the root; may be NULL */
  char *message;             /* "the file is missing" */
  gboolean skipped;          /* the row was left out because of it */
} WeftIssue;

typedef struct {
  char *id;                  /* from the id column, else "row N" / "LABEL/STEM" */
  int row;                   /* manifest row, 1-based; 0 for class folders */
  char *image;               /* absolute path inside the root, or NULL */
  char *audio;               /* absolute path inside the root, or NULL */
  char *text;                /* UTF-8 caption, or NULL */
  char *label;               /* or NULL */
  int split;                 /* WeftSplit, or -1 when the row gives none */
} WeftSample;

typedef struct {
  gint64 max_image_pixels;   /* width × height, read from the header before
                                decoding; larger images are refused */
  double max_audio_seconds;  /* only this much of each clip is read */
  gsize max_text_bytes;      /* longer captions are cut (with an issue) */
  gboolean probe_images;     /* read every image header now (default TRUE);
                                FALSE leaves the size check to decoding,
                                which keeps reopening a large set fast */
} WeftDatasetLimits;

void weft_dataset_limits_init (WeftDatasetLimits *l); /* 40 Mpx, 30 s, 64 KiB */

typedef struct {
  char *root;                /* absolute, canonical */
  char *manifest;            /* "metadata.csv" / "metadata.jsonl" / NULL */
  WeftDatasetLimits limits;
  GPtrArray *samples;        /* WeftSample*, the rows kept */
  GPtrArray *issues;         /* WeftIssue*, in row order */
  GStrv labels;              /* sorted distinct labels (by number when all
                                are integers); NULL if none */
  gboolean has_image, has_audio, has_text;
  int n_skipped;             /* rows (or class-folder samples) left out */
  GHashTable *dir_cache;     /* private: folder -> canonical folder */
} WeftDataset;

WeftDataset *weft_dataset_open (const char *root, const WeftDatasetLimits *limits,
                                GCancellable *cancellable, GError **error);
void         weft_dataset_free (WeftDataset *ds);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WeftDataset, weft_dataset_free)

/* Appends an issue (thread-safe: featurisation workers report decode
 * failures through it). */
void weft_dataset_add_issue (WeftDataset *ds, int row, const char *file,
                             gboolean skipped, const char *format, ...) G_GNUC_PRINTF (5, 6);

/* "row 12: audio/cat.ogg could not be decoded (not an audio file)" */
char *weft_issue_to_string (const WeftIssue *issue);

/* Index of a label in ds->labels, -1 if absent. */
int   weft_dataset_label_index (const WeftDataset *ds, const char *label);

/* Resolves a manifest path against the root: NULL (with a reason in *why,
 * newly allocated) when it is absolute, leaves the root (also through
 * symbolic links), or does not exist. */
char *weft_dataset_resolve (const WeftDataset *ds, const char *relative, char **why);

G_END_DECLS
