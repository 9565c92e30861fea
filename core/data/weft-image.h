/* weft-image.h — images to feature tensors through gdk-pixbuf (every
 * installed loader: PNG, JPEG, GIF, SVG, BMP, WebP...), with the size
 * checked from the header before any pixel is decoded. */
#pragma once

#include <glib.h>

#include "tensor/weft-rng.h"

G_BEGIN_DECLS

/* Reads width and height from the file header only. FALSE with a plain
 * error ("not an image file", "the file is empty") if it cannot. */
gboolean weft_image_probe (const char *path, int *width, int *height, GError **error);

/* Decodes, refusing images over max_pixels (checked before decoding),
 * scales to size × size (aspect kept by letterboxing on white, as the demo
 * sets are drawn on white), and writes channels × size × size floats in
 * [0, 1] to out (channels 1: luminance, 3: RGB; alpha composited on white).
 * A truncated or corrupt file is an error, never a crash. */
gboolean weft_image_load (const char *path, int size, int channels,
                          gint64 max_pixels, float *out, GError **error);

/* Training-time augmentation of one (channels, size, size) image in place:
 * horizontal flip with probability 1/2, a random crop of up to crop_px
 * pixels per side scaled back, and gaussian noise of std noise_std. */
void weft_image_augment (float *img, int channels, int size, int crop_px,
                         float noise_std, WeftRng *rng, float *scratch);

G_END_DECLS
