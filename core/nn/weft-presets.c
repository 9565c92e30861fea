/* weft-presets.c — the modality encoders that are presets of layers: MLP,
 * a small image CNN, a spectrogram CNN and a Conv1D audio encoder. Each
 * expands into ordinary blocks when the spec is compiled, so the engine,
 * checkpoints and exporter see only layers. */
#include "weft-block.h"

#include "weft-activation.h"
#include "weft-preset.h"

static const char *const one_port[] = { "in", NULL };

/* ---- MLP ---- */

enum { MLP_LAYERS, MLP_HIDDEN, MLP_OUT, MLP_ACT, MLP_DROPOUT };

static const WeftParamSpec mlp_params[] = {
  { "layers", WEFT_PARAM_INT, 1, 0, 8, NULL,
    "Hidden layers before the output layer." },
  { "hidden", WEFT_PARAM_INT, 256, 1, 16384, NULL,
    "Width of each hidden layer." },
  { "out", WEFT_PARAM_INT, 128, 1, 16384, NULL,
    "Size of the encoding this encoder produces." },
  { "activation", WEFT_PARAM_ENUM, WEFT_ACT_RELU, 0, 4, weft_act_choices,
    "Non-linearity after every layer, the output layer included." },
  { "dropout", WEFT_PARAM_FLOAT, 0, 0, 0.9, NULL,
    "Share of hidden values randomly silenced during training, against over-fitting." },
};

static gboolean
mlp_expand (const WeftNode *node, WeftExpansion *ex, GError **error)
{
  const char *act = weft_act_choices[(int) node->p[MLP_ACT]];
  if (node->in_shape[0].n > 1)
    weft_expansion_add (ex, "flatten", "flatten", NULL);
  for (int i = 0; i < (int) node->p[MLP_LAYERS]; i++)
    {
      g_autofree char *name = g_strdup_printf ("hidden%d", i + 1);
      g_autofree char *p = g_strdup_printf ("{\"units\": %d, \"activation\": \"%s\"}",
                                            (int) node->p[MLP_HIDDEN], act);
      weft_expansion_add (ex, name, "dense", p);
      if (node->p[MLP_DROPOUT] > 0)
        {
          g_autofree char *dn = g_strdup_printf ("dropout%d", i + 1);
          g_autofree char *dp = g_strdup_printf ("{\"p\": %g}", node->p[MLP_DROPOUT]);
          weft_expansion_add (ex, dn, "dropout", dp);
        }
    }
  g_autofree char *p = g_strdup_printf ("{\"units\": %d, \"activation\": \"%s\"}",
                                        (int) node->p[MLP_OUT], act);
  weft_expansion_add (ex, "out", "dense", p);
  return TRUE;
}

const WeftBlock weft_block_mlp = {
  .type = "mlp", .group = "encoders", .title = "MLP",
  .blurb = "A stack of dense layers: the simplest encoder for any modality (images and spectrograms are flattened first).",
  .flags = WEFT_BLOCK_PRESET,
  .params = mlp_params, .n_params = G_N_ELEMENTS (mlp_params),
  .ports = one_port, .min_inputs = 1, .max_inputs = 1,
  .expand = mlp_expand,
};

/* ---- convolutional encoders: conv → ReLU → max-pool, repeated ---- */

enum { CNN_BLOCKS, CNN_CHANNELS, CNN_KERNEL, CNN_OUT, CNN_POOL };

static const char *const head_choices[] = { "flatten", "global_avg", NULL };

#define CNN_PARAMS(blocks_def, ch_def, k_def, pool_def)                              \
  { "blocks", WEFT_PARAM_INT, blocks_def, 1, 6, NULL,                                \
    "Convolution + pooling stages; each halves the size and doubles the channels." }, \
  { "channels", WEFT_PARAM_INT, ch_def, 1, 1024, NULL,                               \
    "Filters in the first stage." },                                                 \
  { "kernel", WEFT_PARAM_INT, k_def, 1, 15, NULL,                                    \
    "Width of each filter (odd sizes keep the picture centred)." },                  \
  { "out", WEFT_PARAM_INT, 128, 1, 16384, NULL,                                      \
    "Size of the encoding this encoder produces." },                                 \
  { "head", WEFT_PARAM_ENUM, pool_def, 0, 1, head_choices,                           \
    "How the last feature maps become a vector: keep every position (flatten) or average them." },

static const WeftParamSpec cnn_params[] = { CNN_PARAMS (2, 16, 3, 0) };
static const WeftParamSpec spec_cnn_params[] = { CNN_PARAMS (3, 16, 3, 1) };
static const WeftParamSpec conv1d_params[] = { CNN_PARAMS (2, 64, 5, 1) };

static gboolean
conv_expand (const WeftNode *node, WeftExpansion *ex, const char *conv, GError **error)
{
  int ch = (int) node->p[CNN_CHANNELS], k = (int) node->p[CNN_KERNEL];
  for (int i = 0; i < (int) node->p[CNN_BLOCKS]; i++)
    {
      g_autofree char *cn = g_strdup_printf ("conv%d", i + 1);
      g_autofree char *pn = g_strdup_printf ("pool%d", i + 1);
      g_autofree char *cp = g_strdup_printf ("{\"filters\": %d, \"kernel\": %d, \"padding\": %d, "
                                             "\"activation\": \"relu\"}", ch << i, k, k / 2);
      weft_expansion_add (ex, cn, conv, cp);
      weft_expansion_add (ex, pn, "maxpool", "{\"kernel\": 2}");
    }
  if (node->p[CNN_POOL] == 1)
    weft_expansion_add (ex, "pool", "global_pool", "{\"mode\": \"avg\"}");
  else
    weft_expansion_add (ex, "flatten", "flatten", NULL);
  g_autofree char *p = g_strdup_printf ("{\"units\": %d, \"activation\": \"relu\"}",
                                        (int) node->p[CNN_OUT]);
  weft_expansion_add (ex, "out", "dense", p);
  return TRUE;
}

static gboolean
cnn_expand (const WeftNode *node, WeftExpansion *ex, GError **error)
{
  const WeftShape *s = &node->in_shape[0];
  if (s->n != 3 && s->n != 2)
    return weft_node_error (node, error,
                            "a CNN needs an image (channels, height, width); input 1 has %d dimension%s",
                            s->n, s->n == 1 ? "" : "s");
  int size = MIN (s->d[s->n - 1], s->d[s->n - 2]);
  if ((size >> (int) node->p[CNN_BLOCKS]) < 1)
    return weft_node_error (node, error,
                            "%d pooling stages would shrink the %d-pixel input below one pixel; use fewer blocks",
                            (int) node->p[CNN_BLOCKS], size);
  return conv_expand (node, ex, "conv2d", error);
}

static gboolean
conv1d_expand (const WeftNode *node, WeftExpansion *ex, GError **error)
{
  const WeftShape *s = &node->in_shape[0];
  if (s->n != 2)
    return weft_node_error (node, error,
                            "a Conv1D encoder needs a sequence of frames (bands, frames); input 1 has %d dimension%s",
                            s->n, s->n == 1 ? "" : "s");
  if ((s->d[1] >> (int) node->p[CNN_BLOCKS]) < 1)
    return weft_node_error (node, error,
                            "%d pooling stages would shrink the %d frames below one; use fewer blocks",
                            (int) node->p[CNN_BLOCKS], s->d[1]);
  return conv_expand (node, ex, "conv1d", error);
}

const WeftBlock weft_block_cnn = {
  .type = "cnn", .group = "encoders", .title = "Small CNN",
  .blurb = "A small convolutional network for images: filters find edges and shapes, pooling makes them robust to position.",
  .flags = WEFT_BLOCK_PRESET,
  .params = cnn_params, .n_params = G_N_ELEMENTS (cnn_params),
  .ports = one_port, .min_inputs = 1, .max_inputs = 1,
  .expand = cnn_expand,
};

const WeftBlock weft_block_spectrogram_cnn = {
  .type = "spectrogram_cnn", .group = "encoders", .title = "Spectrogram CNN",
  .blurb = "Treats a sound's spectrogram (frequency × time) as a picture and reads it with a small CNN.",
  .flags = WEFT_BLOCK_PRESET,
  .params = spec_cnn_params, .n_params = G_N_ELEMENTS (spec_cnn_params),
  .ports = one_port, .min_inputs = 1, .max_inputs = 1,
  .expand = cnn_expand,
};

const WeftBlock weft_block_audio_conv1d = {
  .type = "audio_conv1d", .group = "encoders", .title = "Conv1D audio",
  .blurb = "Slides filters along time over all frequency bands at once: a fast encoder for sounds.",
  .flags = WEFT_BLOCK_PRESET,
  .params = conv1d_params, .n_params = G_N_ELEMENTS (conv1d_params),
  .ports = one_port, .min_inputs = 1, .max_inputs = 1,
  .expand = conv1d_expand,
};
