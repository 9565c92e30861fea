/* weft-checkpoint.h — a trained model as one safetensors file: every weight
 * under "<node>.<weight>" (PyTorch-style names), and in __metadata__ the
 * model spec, the dataset binding, the training settings, the vocabulary
 * and the class names, so the file alone rebuilds the model.
 *
 * __metadata__ keys (all values are strings, JSON where noted):
 *   "format"        "weft"
 *   "weft_version"  "1"
 *   "weft_spec"     the model spec (JSON)
 *   "weft_binding"  {"image": [C,H,W], "audio": [M,T], "text_length": L,
 *                    "vocab_size": V, "n_classes": K} (JSON)
 *   "weft_training" training settings and progress (JSON), optional
 *   "weft_vocab"    ["<unk>", "the", ...] (JSON), optional
 *   "weft_classes"  ["cat", "dog", ...] (JSON), optional
 *   "weft_audio_norm" {"mean": [m_0, ...], "std": [s_0, ...]} (JSON),
 *                   optional: the per-mel-band standardisation the audio
 *                   features were given, (x - mean[b]) / std[b], one entry
 *                   per band (as many as the binding's audio shape has);
 *                   every std > 0
 *   "weft_text_idf" [idf_0, ...] (JSON), optional: the inverse document
 *                   frequencies bag-of-words inputs are weighted with, one
 *                   per vocabulary entry (vocab_size of them)
 * Floats are written with enough digits to read back the same float32.
 * Checkpoints without the optional keys load; a key that is present but
 * malformed, of the wrong length or not finite makes the load fail with a
 * message naming it.
 */
#pragma once

#include "data/weft-features.h"
#include "graph/weft-graph.h"
#include "graph/weft-safetensors.h"

G_BEGIN_DECLS

/* Writes atomically. features and training may be NULL; the features'
 * vocabulary, classes, audio normalisation and idf are stored with the
 * weights. */
gboolean   weft_checkpoint_save (WeftGraph *g, const WeftFeatures *features,
                                 JsonObject *training, const char *path, GError **error);

typedef struct {
  JsonObject *training;      /* may be NULL */
  GStrv vocab;               /* may be NULL */
  GStrv classes;             /* may be NULL */
  float *audio_mean;         /* (audio_bands) may be NULL */
  float *audio_std;          /* (audio_bands) NULL exactly when audio_mean is */
  int audio_bands;
  float *idf;                /* (idf_size) may be NULL */
  int idf_size;
} WeftCheckpointInfo;

void weft_checkpoint_info_clear (WeftCheckpointInfo *info);

/* Rebuilds the model stored in the checkpoint, allocated for max_batch,
 * with its weights. info may be NULL. */
WeftGraph *weft_checkpoint_load (const char *path, int max_batch,
                                 WeftCheckpointInfo *info, GError **error);

/* Copies every weight of g from st; the architecture must match exactly
 * (same names and shapes), else an error names the first difference. */
gboolean   weft_checkpoint_apply (WeftGraph *g, const WeftSafetensors *st,
                                  const char *display_name, GError **error);

/* Loads the weights of spec nodes that say "weights_from" (transfer
 * learning); relative checkpoint paths are resolved against base_dir. */
gboolean   weft_checkpoint_load_transfers (WeftGraph *g, const char *base_dir,
                                           GError **error);

/* The binding as JSON and back. */
JsonObject *weft_binding_to_json (const WeftBinding *b);
gboolean    weft_binding_from_json (WeftBinding *b, JsonObject *o, GError **error);

G_END_DECLS
