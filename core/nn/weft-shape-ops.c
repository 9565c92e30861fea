/* weft-shape-ops.c — blocks that only rearrange values: Flatten (any shape
 * to a vector) and Transpose (swaps the last two dims). */
#include "weft-block.h"

#include <string.h>

#include "tensor/weft-blas.h"

static const char *const shape_ports[] = { "in", NULL };

/* ---- Flatten: (d0, d1, ...) -> (d0·d1·...) ---- */

static gboolean
flatten_infer (WeftNode *node, GError **error)
{
  node->out_shape = weft_shape_1 ((int) weft_node_in_size (node, 0));
  return TRUE;
}

/* Row-major storage already is the flat vector: a copy forward, an
 * accumulation backward. */
static void
flatten_forward (WeftNode *node, const WeftPass *pass)
{
  memcpy (node->out, node->in[0], pass->B * weft_node_out_size (node) * sizeof (float));
}

static void
flatten_backward (WeftNode *node, const WeftPass *pass)
{
  if (node->din[0])
    weft_saxpy ((int) (pass->B * weft_node_out_size (node)), 1.f, node->dout, node->din[0]);
}

static guint64
flatten_flops (const WeftNode *node)
{
  return 0;
}

const WeftBlock weft_block_flatten = {
  .type = "flatten", .group = "layers", .title = "Flatten",
  .blurb = "Lays all values out in one long vector, e.g. to feed an image's feature maps to a Dense layer.",
  .ports = shape_ports, .min_inputs = 1, .max_inputs = 1,
  .infer = flatten_infer, .forward = flatten_forward,
  .backward = flatten_backward, .flops = flatten_flops,
};

/* ---- Transpose: (..., R, C) -> (..., C, R) ---- */

static gboolean
transpose_infer (WeftNode *node, GError **error)
{
  const WeftShape *s = &node->in_shape[0];

  if (s->n < 2)
    {
      g_autofree char *str = weft_shape_to_string (s);
      return weft_node_error (node, error,
                              "Transpose swaps the last two dimensions, but input 1 has "
                              "only one: %s", str);
    }
  node->out_shape = *s;
  node->out_shape.d[s->n - 2] = s->d[s->n - 1];
  node->out_shape.d[s->n - 1] = s->d[s->n - 2];
  return TRUE;
}

/* y (C, R) ← xᵀ for a matrix x (R, C); with accumulate, y +=. Walks in
 * tiles so that both the reads and the writes stay in cache. */
static void
transpose_matrix (float *y, const float *x, int R, int C, gboolean accumulate)
{
  enum { TILE = 32 };
  for (int r0 = 0; r0 < R; r0 += TILE)
    for (int c0 = 0; c0 < C; c0 += TILE)
      {
        int r1 = MIN (r0 + TILE, R), c1 = MIN (c0 + TILE, C);
        for (int c = c0; c < c1; c++)
          {
            float *yr = y + (gsize) c * R;
            if (accumulate)
              for (int r = r0; r < r1; r++)
                yr[r] += x[(gsize) r * C + c];
            else
              for (int r = r0; r < r1; r++)
                yr[r] = x[(gsize) r * C + c];
          }
      }
}

static void
transpose_forward (WeftNode *node, const WeftPass *pass)
{
  const WeftShape *s = &node->in_shape[0];
  int R = s->d[s->n - 2], C = s->d[s->n - 1];
  gsize mats = pass->B * weft_node_in_size (node, 0) / ((gsize) R * C);

  for (gsize m = 0; m < mats; m++)
    transpose_matrix (node->out + m * R * C, node->in[0] + m * R * C, R, C, FALSE);
}

static void
transpose_backward (WeftNode *node, const WeftPass *pass)
{
  if (node->din[0] == NULL)
    return;
  const WeftShape *s = &node->in_shape[0];
  int R = s->d[s->n - 2], C = s->d[s->n - 1];
  gsize mats = pass->B * weft_node_in_size (node, 0) / ((gsize) R * C);

  /* dout is (C, R) per matrix; its transpose is the input's (R, C). */
  for (gsize m = 0; m < mats; m++)
    transpose_matrix (node->din[0] + m * R * C, node->dout + m * R * C, C, R, TRUE);
}

const WeftBlock weft_block_transpose = {
  .type = "transpose", .group = "layers", .title = "Transpose",
  .blurb = "Swaps the last two dimensions, e.g. turns a spectrogram (bands, frames) into a sequence of frames (frames, bands) for a GRU.",
  .ports = shape_ports, .min_inputs = 1, .max_inputs = 1,
  .infer = transpose_infer, .forward = transpose_forward,
  .backward = transpose_backward, .flops = flatten_flops,
};
