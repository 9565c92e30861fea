/* weft-image.h — images to feature tensors through gdk-pixbuf (every
 * installed loader: PNG, JPEG, GIF, SVG, BMP, WebP...), with the size
 * checked from the header before any pixel is decoded. */
#pragma once

#include <glib.h>

#include "tensor/weft-rng.h"

G_BEGIN_DECLS

/* Reads width and height from the file header only. FALSE with a plain
 * error ("not an image file", "the file is empty") if it cannot. Like
 * weft_image_load, safe to call from several threads at once. */
gboolean weft_image_probe (const char *path, int *width, int *height, GError **error);

/* Decodes, refusing images over max_pixels (checked from the header before
 * decoding; <= 0: no limit; an SVG is drawn at size × size directly, so its
 * nominal size is not limited), scales to size × size (aspect kept by
 * letterboxing on white, as the demo sets are drawn on white), and writes
 * channels × size × size floats in [0, 1] to out, (C, H, W) order
 * (channels 1: luminance, 3: RGB; alpha composited on white). A truncated
 * or corrupt file is an error ("the image file is truncated", "the image
 * data is damaged"), never a crash or a partly grey image. */
gboolean weft_image_load (const char *path, int size, int channels,
                          gint64 max_pixels, float *out, GError **error);

/* Training-time augmentation of one (channels, size, size) image in place:
 * horizontal flip with probability 1/2, a random crop of up to crop_px
 * pixels per side scaled back (bilinear), and gaussian noise of std
 * noise_std, the result clamped to [0, 1]. scratch holds channels × size ×
 * size floats. The same rng state gives the same result. */
void weft_image_augment (float *img, int channels, int size, int crop_px,
                         float noise_std, WeftRng *rng, float *scratch);

G_END_DECLS
