/* weft-registry.c — the block catalogue in palette order. Adding a block
 * is one line here plus its table entry; the editor, engine and exporter
 * all read this list. */
#include "weft-block.h"

#define BLOCKS(X) \
  X (input) \
  X (dense) X (conv2d) X (conv1d) X (maxpool) X (avgpool) X (global_pool) \
  X (flatten) X (transpose) X (dropout) X (layernorm) X (batchnorm) \
  X (relu) X (gelu) X (tanh) X (sigmoid) X (l2norm) X (embedding) \
  X (mlp) X (cnn) X (spectrogram_cnn) X (audio_conv1d) X (embedding_bag) \
  X (gru) X (self_attention) \
  X (concat) X (sum) X (product) X (gated) X (tensor_fusion) \
  X (cross_attention) X (late_fusion) \
  X (classifier) X (projection) X (decoder) \
  X (cross_entropy) X (infonce) X (triplet) X (mse)

#define DECLARE(name) extern const WeftBlock weft_block_##name;
BLOCKS (DECLARE)
#undef DECLARE

static const WeftBlock *const *
all_blocks (void)
{
  static const WeftBlock *list[128];
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      int n = 0;
#define ADD(name) list[n++] = &weft_block_##name;
      BLOCKS (ADD)
#undef ADD
      list[n] = NULL;
      g_once_init_leave (&done, 1);
    }
  return list;
}

const WeftBlock *const *
weft_block_list (void)
{
  return all_blocks ();
}

const WeftBlock *
weft_block_lookup (const char *type)
{
  for (const WeftBlock *const *b = all_blocks (); *b; b++)
    if (g_strcmp0 ((*b)->type, type) == 0)
      return *b;
  return NULL;
}
