/* weft-featurize.h — a dataset to in-memory features: every image, sound
 * and caption decoded once, in parallel, with progress and cancellation,
 * and cached on disk so that reopening is a memory map. */
#pragma once

#include <gio/gio.h>

#include "data/weft-audio.h"
#include "data/weft-dataset.h"
#include "data/weft-features.h"

G_BEGIN_DECLS

typedef struct {
  int image_size;            /* square side in pixels; default 32 */
  int image_channels;        /* 1 (grey) or 3 (RGB); default 3 */
  WeftMelSettings mel;
  int text_length;           /* tokens kept per caption; default 16 */
  int vocab_min_count;       /* default 1 */
  int vocab_max_size;        /* default 5000 (<unk> included) */
  double val_share, test_share; /* for rows the manifest gives no split: 0.1, 0.1 */
  guint64 split_seed;        /* default 1 */
} WeftFeatureSettings;

void weft_feature_settings_init (WeftFeatureSettings *s);
/* Members: image_size, image_channels, mel_bands, window_ms, hop_ms, frames,
 * text_length, vocab_min_count, vocab_max_size, val_share, test_share,
 * split_seed. New object, caller owns. */
JsonObject *weft_feature_settings_to_json (const WeftFeatureSettings *s);
/* Members absent from o keep the values s holds; a wrong type or a value
 * out of range is a WEFT_ERROR_ARGS naming the member, and leaves s as it
 * was. */
gboolean    weft_feature_settings_from_json (WeftFeatureSettings *s, JsonObject *o, GError **error);

/* fraction in [0, 1]; message like "Decoding audio 1200 of 5000". Called
 * on the thread that runs weft_featurize (usually a worker: the caller
 * marshals to its main loop), at most about 20 times a second while
 * decoding, and with 1.0 last on success. */
typedef void (*WeftProgressFunc) (double fraction, const char *message, gpointer user_data);

/* Decodes every sample (threads: 0 = all cores). Rows whose file cannot
 * be decoded are reported in ds->issues and left out; features->sample_index
 * maps feature rows back to ds->samples. With cache_dir non-NULL (usually
 * weft_features_default_cache_dir ()) a cache keyed by every file's size
 * and mtime and by the settings is used and written. Cancellation returns
 * NULL with G_IO_ERROR_CANCELLED.
 *
 * In detail:
 *  - A sound file used by many rows is decoded once. Issues (appended to
 *    ds->issues in row order, after those of weft_dataset_open):
 *    "images/x.png could not be decoded (REASON)" (row skipped) and, once
 *    per file, "audio/x.wav is longer than 30 s: only the first 30 s are
 *    used" (row kept). The limits come from ds->limits (zero = default).
 *  - Labels are indices into ds->labels (class_names); -1 for none.
 *  - Rows with a split keep it; the others are assigned by
 *    label-stratified shuffling with split_seed (val_share, test_share).
 *  - Images: (channels, size, size) in [0, 1]. Audio: (mel_bands, frames)
 *    log-mel, standardised per band with the mean and standard deviation
 *    of the training rows (features->audio_mean / audio_std; see
 *    weft_features_normalise_audio). Text: text_length token ids, -1
 *    padded; the vocabulary from the training captions only; idf from the
 *    training captions (bag-of-words batches become TF-IDF).
 *  - A modality a row lacks is zeros with present[row] = 0.
 *  - The cache is CACHE_DIR/<SHA-256 key>.wfc (layout in weft-features.h),
 *    written atomically; a hit maps it (no copy) and adds the stored
 *    decode issues to ds->issues again; a damaged or foreign file is
 *    ignored and rewritten. A cache that cannot be written is not an
 *    error. Old cache files are never removed.
 *  - No samples, or none decodable: WEFT_ERROR_DATA. */
WeftFeatures *weft_featurize (WeftDataset *ds, const WeftFeatureSettings *s,
                              const char *cache_dir, int threads,
                              WeftProgressFunc progress, gpointer user_data,
                              GCancellable *cancellable, GError **error);

/* The cache file weft_featurize would read or write for ds and s:
 * CACHE_DIR/<key>.wfc, which may not exist. Computes the key as a lookup
 * does (a stat of every file). Newly allocated. */
char *weft_featurize_dup_cache_path (WeftDataset *ds, const WeftFeatureSettings *s,
                                     const char *cache_dir);

/* $XDG_CACHE_HOME/weft/features; newly allocated. */
char *weft_features_default_cache_dir (void);

G_END_DECLS
