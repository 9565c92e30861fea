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
JsonObject *weft_feature_settings_to_json (const WeftFeatureSettings *s);
gboolean    weft_feature_settings_from_json (WeftFeatureSettings *s, JsonObject *o, GError **error);

/* fraction in [0, 1]; message like "Decoding audio 1200 of 5000". Called
 * from worker threads (the caller marshals to its main loop). */
typedef void (*WeftProgressFunc) (double fraction, const char *message, gpointer user_data);

/* Decodes every sample (threads: 0 = all cores). Rows whose file cannot
 * be decoded are reported in ds->issues and left out; features->sample_index
 * maps feature rows back to ds->samples. With cache_dir non-NULL (usually
 * weft_features_default_cache_dir ()) a cache keyed by every file's size
 * and mtime and by the settings is used and written. Cancellation returns
 * NULL with G_IO_ERROR_CANCELLED. */
WeftFeatures *weft_featurize (WeftDataset *ds, const WeftFeatureSettings *s,
                              const char *cache_dir, int threads,
                              WeftProgressFunc progress, gpointer user_data,
                              GCancellable *cancellable, GError **error);

/* $XDG_CACHE_HOME/weft/features; newly allocated. */
char *weft_features_default_cache_dir (void);

G_END_DECLS
