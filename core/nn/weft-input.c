/* weft-input.c — the dataset inputs: image (C, H, W), text (token ids or
 * bag of words), audio (mel bands, frames) and label. Their shapes are bound
 * from the dataset's features when a spec is compiled. */
#include "weft-block.h"

const char *const weft_modality_choices[] = { "image", "text", "audio", "label", NULL };

static const WeftParamSpec input_params[] = {
  { "modality", WEFT_PARAM_ENUM, 0, 0, 3, weft_modality_choices,
    "Which part of each sample this input carries." },
};

static gboolean
input_infer (WeftNode *node, GError **error)
{
  /* The compiler puts the bound shape in in_shape[0] of a 0-input node. */
  node->out_shape = node->in_shape[0];
  if (node->out_shape.n == 0)
    return weft_node_error (node, error, "the dataset has no features for this input");
  return TRUE;
}

const WeftBlock weft_block_input = {
  .type = "input", .group = "inputs", .title = "Input",
  .blurb = "A modality of the dataset: image pixels, text tokens, audio spectrogram, or the class label.",
  .flags = WEFT_BLOCK_INPUT,
  .params = input_params, .n_params = G_N_ELEMENTS (input_params),
  .min_inputs = 0, .max_inputs = 0,
  .infer = input_infer,
};
