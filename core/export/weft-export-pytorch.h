/* weft-export-pytorch.h — a trained model as a readable PyTorch file: one
 * nn.Module per model, the feature settings, and a loader for the checkpoint.
 *
 * The generated .py file (plain Python 3 + torch, nothing else) holds, in
 * this order:
 *   1. A docstring: what the model is, how to run the file, and how to
 *      featurise inputs the same way Weft did (image size and channels,
 *      log-mel settings and per-band normalisation, tokenisation).
 *   2. CHECKPOINT (the path exported from), FEATURES = {...}: the feature
 *      settings the model was trained with (image_size, image_channels,
 *      mel_bands, frames, window_ms, hop_ms, text_length, ...) and the
 *      shapes it was built for (image_shape, audio_shape, vocab_size,
 *      n_classes); CLASSES when the checkpoint names them (the vocabulary,
 *      often thousands of words, stays in the checkpoint: meta["weft_vocab"]);
 *      INPUTS {input id: "image" | "audio" | "text" | "text_bow" | "label"};
 *      AUDIO_MEAN, AUDIO_STD (per mel band) and TEXT_IDF (per token id):
 *      the training set's statistics stored in the checkpoint
 *      ("weft_audio_norm", "weft_text_idf"), None when it has none;
 *      LOSS_WEIGHTS {loss node: weight}.
 *   3. load_checkpoint (path) -> (state_dict, metadata): reads the
 *      safetensors file with struct + json + torch.frombuffer (the
 *      safetensors package is not needed); load_weights (model, state);
 *      the preprocessing, computing what Weft computes from raw inputs:
 *      tokenize (text) (Weft's tokenizer, emoji sequences kept whole, in
 *      plain Python), encode_text (text, vocab), bag_of_words (text,
 *      vocab) (TF-IDF with TEXT_IDF), log_mel (samples), normalise_audio
 *      (mel), audio_features (samples) for 16 kHz mono float clips, and
 *      features_from_raw (vocab, **raw) -> a batch of one for forward.
 *   4. Small helper modules for blocks PyTorch has no single layer for
 *      (only those the model uses): late fusion, gated fusion, InfoNCE
 *      with a learnable temperature, ...
 *   5. class <ModelName> (nn.Module), named from the spec's name
 *      ("late-fusion" -> LateFusionModel): one attribute per spec node that
 *      has weights, named after the node id (presets are an nn.ModuleDict
 *      of their layers: self.image_encoder["conv1"]), so that state_dict ()
 *      keys equal the checkpoint's tensor names ("image_encoder.conv1.weight").
 *      Nodes that share weights (siamese) call the owner's attribute.
 *      forward (batch) takes a dict of input tensors keyed by the spec's
 *      input ids (images (B, C, H, W), audio (B, mels, frames), text token
 *      ids (B, L) with -1 padding or a bag of words (B, V), labels (B,)
 *      with -1 = none, optional; any dtype, flat rows accepted) and returns a dict {node id: tensor} of
 *      every node's output (heads, embeddings and losses included);
 *      total_loss (outputs) is the weighted sum Weft minimises.
 *   6. if __name__ == "__main__": loads the checkpoint given on the command
 *      line (default: the one the file was exported from), runs the model
 *      in eval mode on a zero batch and prints a summary.
 */
#pragma once

#include <glib.h>

#include "data/weft-features.h"
#include "graph/weft-graph.h"

G_BEGIN_DECLS

/* Writes the PyTorch file for the checkpoint at checkpoint_path to out_py
 * (atomically). The file names the checkpoint by its absolute path as the
 * default for its __main__ block. Errors (an unreadable, truncated or
 * foreign checkpoint, a block the exporter does not know, an unwritable
 * out_py) are GErrors in the WEFT_ERROR domain naming the file. */
gboolean weft_export_pytorch (const char *checkpoint_path, const char *out_py,
                              GError **error);

/* The Python source for a compiled graph (weights are not needed, only the
 * architecture). features_json (may be NULL) is the feature settings
 * object as stored in the checkpoint's training metadata ("features"),
 * vocab and classes may be NULL, checkpoint_path (may be NULL) becomes the
 * default path of the __main__ block. Returns a newly allocated string, or
 * NULL with error set if a block cannot be expressed. */
char    *weft_export_pytorch_source (WeftGraph *g, JsonObject *features_json,
                                     const char *const *vocab,
                                     const char *const *classes,
                                     const char *checkpoint_path,
                                     GError **error);

/* The engine's answer for the exported module to be checked against: runs
 * g in eval mode on rows[0..n) of f (n <= the graph's max batch) and writes
 * one safetensors file holding what each input received,
 * "input.<id>" (n, per-sample shape...), and every spec node's output,
 * "output.<id>" (n, per-sample shape...), or (1) for a loss. */
gboolean weft_export_reference_outputs (WeftGraph *g, const WeftFeatures *f,
                                        const int *rows, int n, const char *path,
                                        GError **error);

G_END_DECLS
