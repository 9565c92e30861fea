/* test-media.c — images (PNG, JPEG, GIF, SVG; letterboxing, grey, alpha,
 * damaged and oversized files) and sounds (WAV, FLAC, Vorbis, Opus; bad
 * files, a two-hour file, threads), log-mel against numpy, noise SNR.
 *
 * Every fixture is written by the test into a temporary folder. Tolerances:
 * lossless images exactly (1e-6), JPEG within 3/255; decoded sine RMS
 * within 0.01 (lossy codecs, resampling); log-mel within 2e-3 absolute (natural
 * log) of the float64 numpy reference, float32 FFT rounding; SNR within 0.5 dB.
 */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <zlib.h>

#include "data/weft-audio.h"
#include "data/weft-image.h"
#include "weft-error.h"

static char *tmp_dir;  /* removed at the end of main */

static char *
fixture (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

static void
write_bytes (const char *path, const void *data, gsize n)
{
  GError *error = NULL;
  g_file_set_contents (path, data, n, &error);
  g_assert_no_error (error);
}

static void
assert_message (GError *error, WeftError code, const char *want)
{
  g_assert_nonnull (error);
  if (!g_error_matches (error, WEFT_ERROR, code) || g_strcmp0 (error->message, want) != 0)
    g_error ("got error \"%s\" (code %d), want \"%s\" (code %d)",
             error->message, error->code, want, code);
}

/* ---- images ------------------------------------------------------------ */

/* Saves w × h pixels (nc = 3 or 4 bytes each, tightly packed) as `type`. */
static char *
write_image (const char *name, const char *type, int w, int h, int nc, const guint8 *px)
{
  char *path = fixture (name);
  g_autoptr(GdkPixbuf) pb = gdk_pixbuf_new_from_data (px, GDK_COLORSPACE_RGB, nc == 4, 8,
                                                      w, h, w * nc, NULL, NULL);
  GError *error = NULL;
  if (g_str_equal (type, "jpeg"))
    gdk_pixbuf_save (pb, path, type, &error, "quality", "100", NULL);
  else
    gdk_pixbuf_save (pb, path, type, &error, NULL);
  g_assert_no_error (error);
  return path;
}

/* A pseudo-random image: compresses badly, so its data spans many blocks. */
static char *
write_noise_image (const char *name, const char *type, int side)
{
  g_autofree guint8 *px = g_new (guint8, side * side * 3);
  guint32 s = 12345;
  for (int i = 0; i < side * side * 3; i++)
    px[i] = (s = s * 1664525u + 1013904223u) >> 24;
  return write_image (name, type, side, side, 3, px);
}

static void
assert_pixel (const float *img, int size, int channels, int x, int y,
              double r, double g, double b, double tol)
{
  gsize plane = (gsize) size * size;
  double want[3] = { r, g, b };
  if (channels == 1)
    want[0] = 0.299 * r + 0.587 * g + 0.114 * b;
  for (int c = 0; c < channels; c++)
    {
      double got = img[c * plane + (gsize) y * size + x];
      if (fabs (got - want[c]) > tol)
        g_error ("pixel (%d, %d) channel %d: got %.6f, want %.6f", x, y, c, got, want[c]);
    }
}

static float *
load_ok (const char *path, int size, int channels)
{
  float *out = g_new (float, channels * size * size);
  GError *error = NULL;
  gboolean ok = weft_image_load (path, size, channels, 1 << 24, out, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  for (int i = 0; i < channels * size * size; i++)
    g_assert_true (out[i] >= 0.0f && out[i] <= 1.0f);
  return out;
}

static void
test_image_png_values (void)
{
  /* red, green / blue, (10, 20, 30) */
  const guint8 px[] = { 255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30 };
  g_autofree char *path = write_image ("colours.png", "png", 2, 2, 3, px);

  int w = 0, h = 0;
  GError *error = NULL;
  g_assert_true (weft_image_probe (path, &w, &h, &error));
  g_assert_no_error (error);
  g_assert_cmpint (w, ==, 2);
  g_assert_cmpint (h, ==, 2);

  for (int channels = 1; channels <= 3; channels += 2)
    {
      g_autofree float *img = load_ok (path, 2, channels);
      assert_pixel (img, 2, channels, 0, 0, 1, 0, 0, 1e-6);
      assert_pixel (img, 2, channels, 1, 0, 0, 1, 0, 1e-6);
      assert_pixel (img, 2, channels, 0, 1, 0, 0, 1, 1e-6);
      assert_pixel (img, 2, channels, 1, 1, 10 / 255.0, 20 / 255.0, 30 / 255.0, 1e-6);
    }
  /* Grey is luminance: pure red is 0.299. */
  g_autofree float *grey = load_ok (path, 2, 1);
  g_assert_cmpfloat_with_epsilon (grey[0], 0.299, 1e-6);
}

static void
test_image_letterbox (void)
{
  /* 4 × 2 black: centred in a 4 × 4 white square, rows 1–2. */
  guint8 black[8 * 4 * 3] = { 0 };
  g_autofree char *wide = write_image ("wide.png", "png", 4, 2, 3, black);
  g_autofree float *a = load_ok (wide, 4, 3);
  for (int y = 0; y < 4; y++)
    for (int x = 0; x < 4; x++)
      {
        double v = (y == 1 || y == 2) ? 0 : 1;
        assert_pixel (a, 4, 3, x, y, v, v, v, 1e-6);
      }

  /* 2 × 4 black, scaled up to 8: columns 2–5 black. */
  g_autofree char *tall = write_image ("tall.png", "png", 2, 4, 3, black);
  g_autofree float *b = load_ok (tall, 8, 1);
  for (int y = 0; y < 8; y++)
    for (int x = 0; x < 8; x++)
      {
        double v = (x >= 2 && x <= 5) ? 0 : 1;
        assert_pixel (b, 8, 1, x, y, v, v, v, 1e-6);
      }

  /* 8 × 4 of one colour shrunk to 4: the colour survives scaling. */
  guint8 flat[8 * 4 * 3];
  for (int i = 0; i < 8 * 4; i++)
    {
      flat[3 * i] = 40;
      flat[3 * i + 1] = 120;
      flat[3 * i + 2] = 200;
    }
  g_autofree char *shrink = write_image ("flat.png", "png", 8, 4, 3, flat);
  g_autofree float *c = load_ok (shrink, 4, 3);
  assert_pixel (c, 4, 3, 0, 0, 1, 1, 1, 1e-6);
  assert_pixel (c, 4, 3, 2, 1, 40 / 255.0, 120 / 255.0, 200 / 255.0, 1e-6);
  assert_pixel (c, 4, 3, 3, 2, 40 / 255.0, 120 / 255.0, 200 / 255.0, 1e-6);
  assert_pixel (c, 4, 3, 1, 3, 1, 1, 1, 1e-6);
}

static void
test_image_alpha_on_white (void)
{
  /* Half-transparent black, fully transparent red, opaque blue. */
  const guint8 px[] = { 0, 0, 0, 128, 255, 0, 0, 0, 0, 0, 255, 255, 0, 0, 0, 255 };
  g_autofree char *path = write_image ("alpha.png", "png", 2, 2, 4, px);
  g_autofree float *img = load_ok (path, 2, 3);
  double half = 1 - 128 / 255.0;
  assert_pixel (img, 2, 3, 0, 0, half, half, half, 1e-6);
  assert_pixel (img, 2, 3, 1, 0, 1, 1, 1, 1e-6);
  assert_pixel (img, 2, 3, 0, 1, 0, 0, 1, 1e-6);
  g_autofree float *grey = load_ok (path, 2, 1);
  assert_pixel (grey, 2, 1, 0, 0, half, half, half, 1e-6);
}

static void
test_image_jpeg (void)
{
  guint8 px[16 * 16 * 3];
  for (int i = 0; i < 16 * 16; i++)
    {
      px[3 * i] = 200;
      px[3 * i + 1] = 100;
      px[3 * i + 2] = 50;
    }
  g_autofree char *path = write_image ("flat.jpg", "jpeg", 16, 16, 3, px);
  g_autofree float *img = load_ok (path, 8, 3);
  for (int y = 0; y < 8; y++)
    for (int x = 0; x < 8; x++)
      assert_pixel (img, 8, 3, x, y, 200 / 255.0, 100 / 255.0, 50 / 255.0, 3 / 255.0);

  /* A 1024 × 512 JPEG asked for at 16 is decoded small (DCT scaling) and
   * letterboxed: rows 0–3 and 12–15 white. */
  g_autofree guint8 *big = g_new (guint8, 1024 * 512 * 3);
  for (int i = 0; i < 1024 * 512; i++)
    {
      big[3 * i] = 200;
      big[3 * i + 1] = 100;
      big[3 * i + 2] = 50;
    }
  g_autofree char *bpath = write_image ("big.jpg", "jpeg", 1024, 512, 3, big);
  g_autofree float *b = load_ok (bpath, 16, 3);
  assert_pixel (b, 16, 3, 5, 1, 1, 1, 1, 1e-6);
  assert_pixel (b, 16, 3, 5, 14, 1, 1, 1, 1e-6);
  assert_pixel (b, 16, 3, 5, 8, 200 / 255.0, 100 / 255.0, 50 / 255.0, 3 / 255.0);
}

/* Packs LZW codes of `bits` bits, least significant bit first, as GIF does. */
static gsize
pack_codes (const int *codes, int n, int bits, guint8 *out)
{
  guint32 acc = 0;
  int have = 0;
  gsize len = 0;
  for (int i = 0; i < n; i++)
    {
      acc |= (guint32) codes[i] << have;
      have += bits;
      while (have >= 8)
        {
          out[len++] = acc & 0xff;
          acc >>= 8;
          have -= 8;
        }
    }
  if (have > 0)
    out[len++] = acc & 0xff;
  return len;
}

static void
test_image_gif (void)
{
  /* A 2 × 2 GIF with a 4-colour palette. The LZW stream clears the table
   * before every pixel, so every code stays 3 bits wide. */
  GByteArray *gif = g_byte_array_new ();
  const guint8 head[] = {
    'G', 'I', 'F', '8', '9', 'a', 2, 0, 2, 0, 0x91, 0, 0,
    255, 0, 0,  0, 255, 0,  0, 0, 255,  10, 20, 30,            /* palette */
    0x2c, 0, 0, 0, 0, 2, 0, 2, 0, 0,                          /* image descriptor */
    2,                                                        /* LZW minimum code size */
  };
  g_byte_array_append (gif, head, sizeof head);
  const int codes[] = { 4, 0, 4, 1, 4, 2, 4, 3, 5 };
  guint8 packed[16];
  guint8 len = pack_codes (codes, G_N_ELEMENTS (codes), 3, packed);
  g_byte_array_append (gif, &len, 1);
  g_byte_array_append (gif, packed, len);
  const guint8 tail[] = { 0, 0x3b };
  g_byte_array_append (gif, tail, sizeof tail);
  g_autofree char *path = fixture ("palette.gif");
  write_bytes (path, gif->data, gif->len);
  g_byte_array_unref (gif);

  g_autofree float *img = load_ok (path, 2, 3);
  assert_pixel (img, 2, 3, 0, 0, 1, 0, 0, 1e-6);
  assert_pixel (img, 2, 3, 1, 0, 0, 1, 0, 1e-6);
  assert_pixel (img, 2, 3, 0, 1, 0, 0, 1, 1e-6);
  assert_pixel (img, 2, 3, 1, 1, 10 / 255.0, 20 / 255.0, 30 / 255.0, 1e-6);
}

static void
test_image_svg (void)
{
  const char *svg =
    "<svg xmlns='http://www.w3.org/2000/svg' width='20' height='10'>"
    "<rect x='0' y='0' width='20' height='10' fill='#ff0000'/></svg>";
  g_autofree char *path = fixture ("rect.svg");
  write_bytes (path, svg, strlen (svg));

  int w = 0, h = 0;
  GError *error = NULL;
  g_assert_true (weft_image_probe (path, &w, &h, &error));
  g_assert_no_error (error);
  g_assert_cmpint (w, ==, 20);
  g_assert_cmpint (h, ==, 10);

  /* Rendered straight at 8 × 4 and letterboxed to rows 2–5. Its nominal
   * size is not limited: a tiny max_pixels still loads it. */
  float img[8 * 8 * 3];
  g_assert_true (weft_image_load (path, 8, 3, 4, img, &error));
  g_assert_no_error (error);
  for (int y = 0; y < 8; y++)
    for (int x = 0; x < 8; x++)
      {
        if (y >= 2 && y <= 5)
          assert_pixel (img, 8, 3, x, y, 1, 0, 0, 1 / 255.0);
        else
          assert_pixel (img, 8, 3, x, y, 1, 1, 1, 1e-6);
      }
}

static void
assert_load_fails (const char *path, WeftError code, const char *message)
{
  float img[4 * 4 * 3];
  GError *error = NULL;
  g_assert_false (weft_image_load (path, 4, 3, 1 << 24, img, &error));
  assert_message (error, code, message);
  g_clear_error (&error);
}

static void
truncate_copy (const char *src, const char *dst, gssize keep)
{
  g_autofree char *data = NULL;
  gsize n = 0;
  GError *error = NULL;
  g_file_get_contents (src, &data, &n, &error);
  g_assert_no_error (error);
  write_bytes (dst, data, keep < 0 ? n + keep : (gsize) keep);
}

static void
test_image_truncated (void)
{
  g_autofree char *png = write_noise_image ("noise.png", "png", 64);
  g_autofree char *jpg = write_noise_image ("noise.jpg", "jpeg", 64);
  g_autofree char *cut = fixture ("cut.png");
  g_autofree char *cutj = fixture ("cut.jpg");

  /* The whole files load (the check accepts what is complete). */
  g_free (load_ok (png, 4, 3));
  g_free (load_ok (jpg, 4, 3));

  gsize n = 0;
  g_autofree char *data = NULL;
  g_file_get_contents (png, &data, &n, NULL);
  gssize cuts[] = { n / 2, -20, -1 };
  for (guint i = 0; i < G_N_ELEMENTS (cuts); i++)
    {
      truncate_copy (png, cut, cuts[i]);
      assert_load_fails (cut, WEFT_ERROR_DATA, "the image file is truncated");
      truncate_copy (jpg, cutj, cuts[i]);
      assert_load_fails (cutj, WEFT_ERROR_DATA, "the image file is truncated");
    }

  /* A flipped byte inside the pixel data fails libpng's CRC check. */
  data[n / 2] ^= 0x55;
  g_autofree char *bad = fixture ("bad-crc.png");
  write_bytes (bad, data, n);
  assert_load_fails (bad, WEFT_ERROR_DATA, "the image data is damaged");
}

static void
test_image_empty_and_not_image (void)
{
  g_autofree char *empty = fixture ("empty.png");
  write_bytes (empty, "", 0);
  GError *error = NULL;
  g_assert_false (weft_image_probe (empty, NULL, NULL, &error));
  assert_message (error, WEFT_ERROR_DATA, "the file is empty");
  g_clear_error (&error);
  assert_load_fails (empty, WEFT_ERROR_DATA, "the file is empty");

  g_autofree char *text = fixture ("notes.png");
  const char *words = "These are my notes, not a picture.\n";
  write_bytes (text, words, strlen (words));
  g_assert_false (weft_image_probe (text, NULL, NULL, &error));
  assert_message (error, WEFT_ERROR_DATA, "not an image file");
  g_clear_error (&error);
  assert_load_fails (text, WEFT_ERROR_DATA, "not an image file");

  g_autofree char *missing = fixture ("missing.png");
  assert_load_fails (missing, WEFT_ERROR_IO, "the file does not exist");
}

static void
put_chunk (GByteArray *png, const char *type, const guint8 *data, guint32 len)
{
  guint8 be[4] = { len >> 24, len >> 16, len >> 8, len };
  g_byte_array_append (png, be, 4);
  g_byte_array_append (png, (const guint8 *) type, 4);
  g_byte_array_append (png, data, len);
  uLong crc = crc32 (0, (const Bytef *) type, 4);
  crc = crc32 (crc, data, len);
  guint8 c[4] = { crc >> 24, crc >> 16, crc >> 8, crc };
  g_byte_array_append (png, c, 4);
}

static void
test_image_huge_header (void)
{
  /* A 30000 × 30000 RGB PNG header and the start of its pixel data: 2.7 GB
   * once decoded, which must never happen. */
  GByteArray *png = g_byte_array_new ();
  const guint8 sig[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  g_byte_array_append (png, sig, sizeof sig);
  const guint8 ihdr[13] = { 0, 0, 0x75, 0x30, 0, 0, 0x75, 0x30, 8, 2, 0, 0, 0 };
  put_chunk (png, "IHDR", ihdr, sizeof ihdr);
  g_autofree guint8 *rows = g_malloc0 (65536);
  uLongf zlen = compressBound (65536);
  g_autofree guint8 *z = g_malloc (zlen);
  g_assert_cmpint (compress (z, &zlen, rows, 65536), ==, Z_OK);
  put_chunk (png, "IDAT", z, zlen);
  g_autofree char *path = fixture ("huge.png");
  write_bytes (path, png->data, png->len);
  g_byte_array_unref (png);

  gint64 t0 = g_get_monotonic_time ();
  int w = 0, h = 0;
  GError *error = NULL;
  g_assert_true (weft_image_probe (path, &w, &h, &error));
  g_assert_no_error (error);
  g_assert_cmpint (w, ==, 30000);
  g_assert_cmpint (h, ==, 30000);
  assert_load_fails (path, WEFT_ERROR_DATA,
                     "the image is too large (30000 × 30000 pixels; the limit is 16777216 pixels)");
  double seconds = (g_get_monotonic_time () - t0) / 1e6;
  g_test_message ("probe + refusal took %.4f s", seconds);
  g_assert_cmpfloat (seconds, <, 1.0);
}

static void
test_image_augment (void)
{
  enum { S = 8, C = 3 };
  float base[C * S * S], img[C * S * S], scratch[C * S * S];
  for (int i = 0; i < C * S * S; i++)
    base[i] = (float) ((i * 37) % 101) / 100.0f;

  /* Flip only: each result is the image or its mirror, and both happen. */
  int flips = 0;
  for (int seed = 0; seed < 200; seed++)
    {
      WeftRng rng;
      weft_rng_init (&rng, seed);
      memcpy (img, base, sizeof img);
      weft_image_augment (img, C, S, 0, 0, &rng, scratch);
      gboolean same = memcmp (img, base, sizeof img) == 0;
      gboolean mirror = TRUE;
      for (int c = 0; c < C; c++)
        for (int y = 0; y < S; y++)
          for (int x = 0; x < S; x++)
            mirror &= img[c * S * S + y * S + x] == base[c * S * S + y * S + (S - 1 - x)];
      g_assert_true (same || mirror);
      flips += mirror;
    }
  g_assert_cmpint (flips, >, 70);
  g_assert_cmpint (flips, <, 130);

  /* Crops of a flat image stay flat; the same seed gives the same result. */
  float flat[C * S * S], again[C * S * S];
  for (int i = 0; i < C * S * S; i++)
    flat[i] = 0.25f;
  WeftRng rng, rng2;
  weft_rng_init (&rng, 7);
  memcpy (img, flat, sizeof img);
  weft_image_augment (img, C, S, 3, 0, &rng, scratch);
  for (int i = 0; i < C * S * S; i++)
    g_assert_cmpfloat_with_epsilon (img[i], 0.25f, 1e-6);

  weft_rng_init (&rng, 99);
  weft_rng_init (&rng2, 99);
  memcpy (img, base, sizeof img);
  memcpy (again, base, sizeof again);
  weft_image_augment (img, C, S, 2, 0.05f, &rng, scratch);
  weft_image_augment (again, C, S, 2, 0.05f, &rng2, scratch);
  g_assert_cmpmem (img, sizeof img, again, sizeof again);

  /* A crop changes a varied image (some seed crops at least one pixel). */
  gboolean changed = FALSE;
  for (int seed = 0; seed < 20 && !changed; seed++)
    {
      weft_rng_init (&rng, seed);
      memcpy (img, base, sizeof img);
      weft_image_augment (img, C, S, 2, 0, &rng, scratch);
      float mirror[C * S * S];
      for (int c = 0; c < C; c++)
        for (int y = 0; y < S; y++)
          for (int x = 0; x < S; x++)
            mirror[c * S * S + y * S + x] = base[c * S * S + y * S + (S - 1 - x)];
      changed = memcmp (img, base, sizeof img) != 0 && memcmp (img, mirror, sizeof img) != 0;
    }
  g_assert_true (changed);

  /* Noise: std as asked on mid-grey, values kept in [0, 1]. */
  enum { N = 64 };
  static float grey[C * N * N], scratch2[C * N * N];
  for (int i = 0; i < C * N * N; i++)
    grey[i] = 0.5f;
  weft_rng_init (&rng, 3);
  weft_image_augment (grey, C, N, 0, 0.1f, &rng, scratch2);
  double sum = 0, sq = 0;
  for (int i = 0; i < C * N * N; i++)
    {
      g_assert_true (grey[i] >= 0 && grey[i] <= 1);
      sum += grey[i] - 0.5;
      sq += (grey[i] - 0.5) * (grey[i] - 0.5);
    }
  double mean = sum / (C * N * N), sd = sqrt (sq / (C * N * N) - mean * mean);
  g_assert_cmpfloat (fabs (mean), <, 0.005);
  g_assert_cmpfloat (fabs (sd - 0.1), <, 0.005);
}

/* ---- sounds ------------------------------------------------------------ */

/* Runs a gst-launch style description to its end. */
static void
encode (const char *description)
{
  GError *error = NULL;
  GstElement *p = gst_parse_launch (description, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gst_element_set_state (p, GST_STATE_PLAYING), !=, GST_STATE_CHANGE_FAILURE);
  GstBus *bus = gst_element_get_bus (p);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
                                                GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    {
      GError *e = NULL;
      gst_message_parse_error (msg, &e, NULL);
      g_error ("encoding with \"%s\" failed: %s", description, e->message);
    }
  gst_message_unref (msg);
  gst_object_unref (bus);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (p);
}

static gboolean
have_elements (const char *first, ...)
{
  va_list ap;
  va_start (ap, first);
  gboolean ok = TRUE;
  for (const char *e = first; e != NULL; e = va_arg (ap, const char *))
    {
      GstElementFactory *f = gst_element_factory_find (e);
      if (f == NULL)
        ok = FALSE;
      else
        gst_object_unref (f);
    }
  va_end (ap);
  return ok;
}

/* 1 s of a 440 Hz sine at amplitude 0.5, rate and channels as given,
 * through `encoder` (a pipeline fragment). */
static char *
write_sine (const char *name, int rate, int channels, const char *encoder)
{
  char *path = fixture (name);
  g_autofree char *desc = g_strdup_printf (
    "audiotestsrc wave=sine freq=440 volume=0.5 samplesperbuffer=%d num-buffers=10 "
    "! audio/x-raw,format=S16LE,rate=%d,channels=%d ! audioconvert ! %s ! filesink location=\"%s\"",
    rate / 10, rate, channels, encoder, path);
  encode (desc);
  return path;
}

static float *
decode_ok (const char *path, double max_seconds, gsize *n, gboolean *truncated)
{
  GError *error = NULL;
  float *x = weft_audio_decode (path, max_seconds, n, truncated, &error);
  g_assert_no_error (error);
  g_assert_nonnull (x);
  return x;
}

static void
assert_sine (const float *x, gsize n, const char *what)
{
  /* Skip the edges, where codecs fade in and out. */
  gsize a = n / 10, b = n - n / 10;
  double sq = 0;
  int crossings = 0;
  for (gsize i = a; i < b; i++)
    {
      sq += (double) x[i] * x[i];
      crossings += (x[i - 1] < 0) != (x[i] < 0);
    }
  double rms = sqrt (sq / (b - a));
  double freq = crossings / 2.0 / ((double) (b - a) / WEFT_AUDIO_RATE);
  g_test_message ("%s: %" G_GSIZE_FORMAT " samples, rms %.4f, %.1f Hz", what, n, rms, freq);
  if (fabs (rms - 0.5 / G_SQRT2) > 0.01 || fabs (freq - 440) > 5)
    g_error ("%s: rms %.4f (want %.4f), frequency %.1f Hz (want 440)", what, rms, 0.5 / G_SQRT2, freq);
}

static void
test_audio_formats (void)
{
  struct { const char *name; int rate, channels; const char *enc; const char *need; gsize slack; } cases[] = {
    { "sine16k.wav", 16000, 1, "wavenc", "wavenc", 0 },
    { "sine44k-stereo.wav", 44100, 2, "wavenc", "wavenc", 16 },
    { "sine.flac", 16000, 1, "flacenc", "flacenc", 0 },
    { "sine.ogg", 44100, 1, "vorbisenc ! oggmux", "vorbisenc", 400 },
    { "sine.opus", 48000, 1, "opusenc ! oggmux", "opusenc", 400 },
    /* Not PCM inside a WAV: the fixed chain gives way to decodebin. */
    { "sine-mulaw.wav", 16000, 1, "mulawenc ! wavenc", "mulawenc", 0 },
    /* MP3 is only reached through decodebin; the encoder adds padding. */
    { "sine.mp3", 44100, 1, "lamemp3enc", "lamemp3enc", 1200 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      if (!have_elements (cases[i].need, "oggmux", "mulawdec", "mpg123audiodec", NULL))
        {
          g_test_message ("%s: encoder %s missing, case skipped", cases[i].name, cases[i].need);
          continue;
        }
      g_autofree char *path = write_sine (cases[i].name, cases[i].rate, cases[i].channels, cases[i].enc);
      gsize n = 0;
      gboolean truncated = TRUE;
      g_autofree float *x = decode_ok (path, 30, &n, &truncated);
      g_assert_false (truncated);
      if ((gsize) labs ((long) n - WEFT_AUDIO_RATE) > cases[i].slack)
        g_error ("%s: %" G_GSIZE_FORMAT " samples, want 16000 ± %" G_GSIZE_FORMAT,
                 cases[i].name, n, cases[i].slack);
      assert_sine (x, n, cases[i].name);

      double seconds = 0;
      GError *error = NULL;
      g_assert_true (weft_audio_probe (path, &seconds, &error));
      g_assert_no_error (error);
      g_assert_cmpfloat (fabs (seconds - 1.0), <, 0.01 + (double) cases[i].slack / WEFT_AUDIO_RATE);
    }
}

static void
test_audio_max_seconds (void)
{
  g_autofree char *path = write_sine ("limit.wav", 16000, 1, "wavenc");
  gsize n = 0;
  gboolean truncated = FALSE;
  g_autofree float *half = decode_ok (path, 0.5, &n, &truncated);
  g_assert_cmpuint (n, ==, 8000);
  g_assert_true (truncated);
  /* Exactly as long as the limit: all of it, and not truncated. */
  g_autofree float *all = decode_ok (path, 1.0, &n, &truncated);
  g_assert_cmpuint (n, ==, 16000);
  g_assert_false (truncated);
  g_assert_cmpmem (half, 8000 * sizeof (float), all, 8000 * sizeof (float));
}

static void
assert_decode_fails (const char *path, const char *message)
{
  gsize n = 99;
  GError *error = NULL;
  float *x = weft_audio_decode (path, 10, &n, NULL, &error);
  g_assert_null (x);
  g_assert_cmpuint (n, ==, 0);
  assert_message (error, WEFT_ERROR_DATA, message);
  g_clear_error (&error);
  double s = 0;
  g_assert_false (weft_audio_probe (path, &s, &error));
  assert_message (error, WEFT_ERROR_DATA, message);
  g_clear_error (&error);
}

static void
test_audio_bad_files (void)
{
  g_autofree char *empty = fixture ("empty.wav");
  write_bytes (empty, "", 0);
  assert_decode_fails (empty, "the file is empty");

  g_autofree char *text = fixture ("notes.wav");
  const char *words = "These are my notes, not a sound.\nSecond line.\n";
  write_bytes (text, words, strlen (words));
  assert_decode_fails (text, "not an audio file");

  /* Random bytes (no format recognises them). */
  g_autofree char *noise = fixture ("noise.wav");
  guint8 junk[4096];
  guint32 s = 99;
  for (guint i = 0; i < sizeof junk; i++)
    junk[i] = (s = s * 1664525u + 1013904223u) >> 24;
  write_bytes (noise, junk, sizeof junk);
  assert_decode_fails (noise, "not an audio file");

  if (have_elements ("videotestsrc", "theoraenc", "oggmux", NULL))
    {
      g_autofree char *video = fixture ("video.ogg");
      g_autofree char *desc = g_strdup_printf (
        "videotestsrc num-buffers=5 ! video/x-raw,width=32,height=32 ! theoraenc ! oggmux "
        "! filesink location=\"%s\"", video);
      encode (desc);
      assert_decode_fails (video, "no audio stream");
    }

  /* Half an Opus file, then the same with its second half scrambled:
   * whatever is decodable comes back, or a plain error; never a hang. */
  if (have_elements ("opusenc", "oggmux", NULL))
    {
      g_autofree char *opus = write_sine ("whole.opus", 48000, 1, "opusenc ! oggmux");
      g_autofree char *data = NULL;
      gsize len = 0;
      g_file_get_contents (opus, &data, &len, NULL);
      g_autofree char *cut = fixture ("cut.opus");
      write_bytes (cut, data, len / 2);
      gsize n = 0;
      GError *error = NULL;
      g_autofree float *x = weft_audio_decode (cut, 10, &n, NULL, &error);
      g_test_message ("half an Opus file: %s, %" G_GSIZE_FORMAT " samples",
                      error ? error->message : "decoded", n);
      g_assert_true (x != NULL ? n < 12000 : g_error_matches (error, WEFT_ERROR, WEFT_ERROR_DATA));
      g_clear_error (&error);

      guint32 st = 7;
      for (gsize i = len / 2; i < len; i++)
        data[i] = (st = st * 1664525u + 1013904223u) >> 24;
      g_autofree char *scrambled = fixture ("scrambled.opus");
      write_bytes (scrambled, data, len);
      g_autofree float *y = weft_audio_decode (scrambled, 10, &n, NULL, &error);
      g_test_message ("scrambled Opus file: %s, %" G_GSIZE_FORMAT " samples",
                      error ? error->message : "decoded", n);
      g_assert_true (y != NULL ? n < 12000 : g_error_matches (error, WEFT_ERROR, WEFT_ERROR_DATA));
      g_clear_error (&error);
    }

  gsize n = 0;
  GError *error = NULL;
  g_autofree char *missing = fixture ("missing.wav");
  g_assert_null (weft_audio_decode (missing, 10, &n, NULL, &error));
  assert_message (error, WEFT_ERROR_IO, "the file does not exist");
  g_clear_error (&error);
}

static void
put_le (guint8 *p, guint32 v, int bytes)
{
  for (int i = 0; i < bytes; i++)
    p[i] = v >> (8 * i);
}

/* Durations from the WAV header: a LIST chunk before the data is skipped,
 * and a data chunk whose header claims more than the file holds counts
 * what is there. (Other formats go through GStreamer: /media/audio/formats.) */
static void
test_audio_probe_wav_header (void)
{
  guint8 h[44 + 12] = { 'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'A', 'V', 'E',
                        'f', 'm', 't', ' ', 16, 0, 0, 0, 1, 0, 1, 0 };
  g_autofree guint8 *file = NULL;
  g_autofree char *path = fixture ("listed.wav");
  const gsize claimed = 2 * 16000 * 2, present = 16000 * 2;
  double seconds = 0;
  GError *error = NULL;

  put_le (h + 24, 16000, 4);
  put_le (h + 28, 32000, 4);
  put_le (h + 32, 2, 2);
  put_le (h + 34, 16, 2);
  memcpy (h + 36, "LIST", 4);
  put_le (h + 40, 4, 4);
  memcpy (h + 44, "INFO", 4);
  memcpy (h + 48, "data", 4);
  put_le (h + 52, claimed, 4);
  put_le (h + 4, sizeof h - 8 + claimed, 4);
  file = g_malloc0 (sizeof h + present);
  memcpy (file, h, sizeof h);
  write_bytes (path, file, sizeof h + present);

  g_assert_true (weft_audio_probe (path, &seconds, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (fabs (seconds - 1.0), <, 1e-9);
}

/* weft_audio_envelope reads PCM and float WAV files itself: its outline
 * must match the one of the decoded (16 kHz mono) signal, for every
 * sample format and a stereo file; a mu-law WAV goes through GStreamer. */
static void
test_audio_envelope (void)
{
  struct { const char *name; int rate, channels; const char *enc; } cases[] = {
    { "env-s16.wav", 16000, 1, "wavenc" },
    { "env-s16-stereo.wav", 44100, 2, "wavenc" },
    { "env-u8.wav", 16000, 1, "audio/x-raw,format=U8 ! wavenc" },
    { "env-s24.wav", 22050, 1, "audio/x-raw,format=S24LE ! wavenc" },
    { "env-s32.wav", 16000, 1, "audio/x-raw,format=S32LE ! wavenc" },
    { "env-f32.wav", 16000, 1, "audio/x-raw,format=F32LE ! wavenc" },
    { "env-mulaw.wav", 16000, 1, "mulawenc ! wavenc" },
  };
  enum { BINS = 16 };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = write_sine (cases[i].name, cases[i].rate, cases[i].channels,
                                          cases[i].enc);
      float env[2 * BINS], want[2 * BINS];
      GError *error = NULL;
      gsize n = 0;
      g_autofree float *x = decode_ok (path, 0, &n, NULL);

      g_assert_true (weft_audio_envelope (path, 0, BINS, env, &error));
      g_assert_no_error (error);
      /* The PCM and float files are read without GStreamer. */
      g_assert_true (_weft_audio_envelope_from_wav (path, 0, BINS, want) ==
                     (strstr (cases[i].name, "mulaw") == NULL));
      for (guint b = 0; b < BINS; b++)
        {
          want[2 * b] = want[2 * b + 1] = 0;
          for (gsize k = b * n / BINS; k < (b + 1) * n / BINS; k++)
            {
              want[2 * b] = MIN (want[2 * b], x[k]);
              want[2 * b + 1] = MAX (want[2 * b + 1], x[k]);
            }
          /* A 440 Hz sine at half volume: every slice spans about ±0.5,
           * whatever the rate it is read at (mu-law is coarser). */
          if (fabsf (env[2 * b] - want[2 * b]) > 0.03f ||
              fabsf (env[2 * b + 1] - want[2 * b + 1]) > 0.03f)
            g_error ("%s: slice %u is [%.4f, %.4f], decoded [%.4f, %.4f]", cases[i].name, b,
                     env[2 * b], env[2 * b + 1], want[2 * b], want[2 * b + 1]);
        }
      g_assert_cmpfloat (env[2 * (BINS / 2) + 1], >, 0.45f);
    }

  /* The first half second only: a 1 s clip's outline over 0.5 s. */
  {
    g_autofree char *path = write_sine ("env-half.wav", 16000, 1, "wavenc");
    float env[2 * BINS];

    g_assert_true (weft_audio_envelope (path, 0.5, BINS, env, NULL));
    g_assert_cmpfloat (env[2 * (BINS - 1) + 1], >, 0.45f);
  }
}

static void
test_audio_two_hours (void)
{
  /* Two hours of 8 kHz 16-bit mono silence: a 44-byte header, then a
   * hole (zeros) made by ftruncate, so the 115 MB cost no disk. */
  const guint32 data_bytes = 7200u * 8000u * 2u;
  guint8 h[44] = { 'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'A', 'V', 'E',
                   'f', 'm', 't', ' ', 16, 0, 0, 0, 1, 0, 1, 0 };
  put_le (h + 4, 36 + data_bytes, 4);
  put_le (h + 24, 8000, 4);        /* rate */
  put_le (h + 28, 16000, 4);       /* bytes per second */
  put_le (h + 32, 2, 2);           /* block align */
  put_le (h + 34, 16, 2);          /* bits */
  memcpy (h + 36, "data", 4);
  put_le (h + 40, data_bytes, 4);
  g_autofree char *path = fixture ("two-hours.wav");
  write_bytes (path, h, sizeof h);
  g_assert_cmpint (truncate (path, sizeof h + (gsize) data_bytes), ==, 0);

  gint64 t0 = g_get_monotonic_time ();
  double seconds = 0;
  GError *error = NULL;
  g_assert_true (weft_audio_probe (path, &seconds, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (fabs (seconds - 7200), <, 0.01);

  gsize n = 0;
  gboolean truncated = FALSE;
  g_autofree float *x = decode_ok (path, 30, &n, &truncated);
  double elapsed = (g_get_monotonic_time () - t0) / 1e6;
  g_test_message ("probe + 30 s of a two-hour file: %.3f s", elapsed);
  g_assert_true (truncated);
  g_assert_cmpuint (n, ==, 30 * WEFT_AUDIO_RATE);
  for (gsize i = 0; i < n; i++)
    g_assert_true (x[i] == 0.0f);
  g_assert_cmpfloat (elapsed, <, 3.0);
}

typedef struct {
  const char *wav, *flac;
  gint failures;
} ThreadCase;

static gpointer
decode_many (gpointer user_data)
{
  ThreadCase *tc = user_data;
  for (int i = 0; i < 6; i++)
    {
      const char *path = (i % 2) ? tc->flac : tc->wav;
      gsize n = 0;
      GError *error = NULL;
      g_autofree float *x = weft_audio_decode (path, 10, &n, NULL, &error);
      if (x == NULL || n != WEFT_AUDIO_RATE)
        g_atomic_int_inc (&tc->failures);
      g_clear_error (&error);
    }
  return NULL;
}

static void
test_audio_threads (void)
{
  g_autofree char *wav = write_sine ("threads.wav", 16000, 1, "wavenc");
  g_autofree char *flac = write_sine ("threads.flac", 16000, 1, "flacenc");
  ThreadCase tc = { wav, flac, 0 };
  GThread *t[4];
  for (int i = 0; i < 4; i++)
    t[i] = g_thread_new ("decode", decode_many, &tc);
  for (int i = 0; i < 4; i++)
    g_thread_join (t[i]);
  g_assert_cmpint (tc.failures, ==, 0);
}

/* ---- log-mel and noise ------------------------------------------------- */

static void
test_log_mel_silence_and_padding (void)
{
  WeftMelSettings s;
  weft_mel_settings_init (&s);
  g_assert_cmpint (s.mel_bands, ==, 40);
  g_assert_cmpint (s.frames, ==, 100);
  const float floor = logf (1e-6f);

  g_autofree float *out = g_new (float, s.mel_bands * s.frames);
  weft_audio_log_mel (NULL, 0, &s, out);
  for (int i = 0; i < s.mel_bands * s.frames; i++)
    g_assert_cmpfloat_with_epsilon (out[i], floor, 1e-5);

  /* Half a second of a 1 kHz tone: frames 0–49 hold it, 50–99 are
   * silence; the loudest band's triangle contains 1 kHz. */
  gsize n = 8000;
  g_autofree float *x = g_new (float, n);
  for (gsize i = 0; i < n; i++)
    x[i] = 0.5f * sinf (2 * G_PI * 1000 * i / WEFT_AUDIO_RATE);
  weft_audio_log_mel (x, n, &s, out);
  for (int t = 0; t < s.frames; t++)
    {
      int best = 0;
      for (int b = 0; b < s.mel_bands; b++)
        {
          float v = out[b * s.frames + t];
          if (t >= 50)
            g_assert_cmpfloat_with_epsilon (v, floor, 1e-5);
          if (v > out[best * s.frames + t])
            best = b;
        }
      if (t < 49)
        {
          double m1 = 2595 * log10 (1 + 8000 / 700.0);
          double lo = 700 * (pow (10, m1 * best / (s.mel_bands + 1) / 2595) - 1);
          double hi = 700 * (pow (10, m1 * (best + 2) / (s.mel_bands + 1) / 2595) - 1);
          g_assert_cmpfloat (lo, <, 1000);
          g_assert_cmpfloat (hi, >, 1000);
          g_assert_cmpfloat (out[best * s.frames + t], >, 5);
        }
    }
}

/* Runs tests/parity/logmel_ref.py on x and compares with weft_audio_log_mel. */
static void
compare_with_numpy (const float *x, gsize n, const WeftMelSettings *s, double tol)
{
  const char *src = g_getenv ("WEFT_SOURCE_DIR");
  if (src == NULL || !g_file_test ("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("needs /usr/bin/python3 and WEFT_SOURCE_DIR");
      return;
    }
  g_autofree char *script = g_build_filename (src, "tests", "parity", "logmel_ref.py", NULL);
  g_autofree char *in = fixture ("chirp.f32");
  g_autofree char *outp = fixture ("chirp-mel.f32");
  write_bytes (in, x, n * sizeof (float));
  g_autofree char *bands = g_strdup_printf ("%d", s->mel_bands);
  g_autofree char *frames = g_strdup_printf ("%d", s->frames);
  char win[G_ASCII_DTOSTR_BUF_SIZE], hop[G_ASCII_DTOSTR_BUF_SIZE];
  g_ascii_dtostr (win, sizeof win, s->window_ms);
  g_ascii_dtostr (hop, sizeof hop, s->hop_ms);
  const char *argv[] = { "/usr/bin/python3", script, in, outp, bands, win, hop, frames, NULL };
  int status = 0;
  g_autofree char *err_out = NULL;
  GError *error = NULL;
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, &err_out,
                &status, &error);
  g_assert_no_error (error);
  if (WIFEXITED (status) && WEXITSTATUS (status) == 77)
    {
      g_test_skip ("numpy is not installed for /usr/bin/python3");
      return;
    }
  if (!g_spawn_check_wait_status (status, &error))
    g_error ("logmel_ref.py failed: %s\n%s", error->message, err_out);

  g_autofree char *ref = NULL;
  gsize len = 0;
  g_file_get_contents (outp, &ref, &len, &error);
  g_assert_no_error (error);
  gsize count = (gsize) s->mel_bands * s->frames;
  g_assert_cmpuint (len, ==, count * sizeof (float));
  g_autofree float *got = g_new (float, count);
  weft_audio_log_mel (x, n, s, got);
  const float *want = (const float *) ref;
  double worst = 0;
  for (gsize i = 0; i < count; i++)
    worst = MAX (worst, fabs (got[i] - want[i]));
  g_test_message ("log-mel %d bands, %.0f/%.0f ms: largest difference from numpy %.2e",
                  s->mel_bands, s->window_ms, s->hop_ms, worst);
  if (!(worst <= tol))
    g_error ("log-mel differs from numpy by %.3g (tolerance %.3g)", worst, tol);
}

static void
test_log_mel_numpy (void)
{
  /* A chirp from 100 Hz to 7 kHz over 1.2 s with faint white noise, so
   * every band sees both strong and weak energy. */
  gsize n = 19200;
  g_autofree float *x = g_new (float, n);
  WeftRng rng;
  weft_rng_init (&rng, 5);
  double f0 = 100, f1 = 7000, dur = (double) n / WEFT_AUDIO_RATE;
  for (gsize i = 0; i < n; i++)
    {
      double t = (double) i / WEFT_AUDIO_RATE;
      double phase = 2 * G_PI * (f0 * t + (f1 - f0) * t * t / (2 * dur));
      x[i] = (float) (0.6 * sin (phase)) + 1e-3f * weft_rng_normal (&rng);
    }
  WeftMelSettings s;
  weft_mel_settings_init (&s);
  s.frames = 130;   /* the last 10 frames lie past the end */
  compare_with_numpy (x, n, &s, 2e-3);
  WeftMelSettings t = { .mel_bands = 64, .window_ms = 32, .hop_ms = 16, .frames = 70 };
  compare_with_numpy (x, n, &t, 2e-3);
}

static void
test_noise_snr (void)
{
  gsize n = 16000;
  g_autofree float *clean = g_new (float, n);
  g_autofree float *x = g_new (float, n);
  for (gsize i = 0; i < n; i++)
    clean[i] = 0.3f * sinf (2 * G_PI * 440 * i / WEFT_AUDIO_RATE);
  const double snrs[] = { -5, 0, 10, 20, 40 };
  for (guint k = 0; k < G_N_ELEMENTS (snrs); k++)
    {
      memcpy (x, clean, n * sizeof (float));
      WeftRng rng;
      weft_rng_init (&rng, 11 + k);
      weft_audio_add_noise (x, n, snrs[k], &rng);
      double ps = 0, pn = 0;
      for (gsize i = 0; i < n; i++)
        {
          ps += (double) clean[i] * clean[i];
          pn += (double) (x[i] - clean[i]) * (x[i] - clean[i]);
        }
      double snr = 10 * log10 (ps / pn);
      g_test_message ("asked %.0f dB, measured %.3f dB", snrs[k], snr);
      g_assert_cmpfloat (fabs (snr - snrs[k]), <, 0.5);
    }

  /* Silence gets no noise. */
  memset (x, 0, n * sizeof (float));
  WeftRng rng;
  weft_rng_init (&rng, 1);
  weft_audio_add_noise (x, n, 10, &rng);
  for (gsize i = 0; i < n; i++)
    g_assert_true (x[i] == 0.0f);
}

static void
remove_tree (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  if (d == NULL)
    return;
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);
      g_remove (p);
    }
  g_dir_close (d);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  weft_audio_init ();

  GError *error = NULL;
  tmp_dir = g_dir_make_tmp ("weft-media-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/media/image/png-values", test_image_png_values);
  g_test_add_func ("/media/image/letterbox", test_image_letterbox);
  g_test_add_func ("/media/image/alpha-on-white", test_image_alpha_on_white);
  g_test_add_func ("/media/image/jpeg", test_image_jpeg);
  g_test_add_func ("/media/image/gif", test_image_gif);
  g_test_add_func ("/media/image/svg", test_image_svg);
  g_test_add_func ("/media/image/truncated", test_image_truncated);
  g_test_add_func ("/media/image/empty-and-not-image", test_image_empty_and_not_image);
  g_test_add_func ("/media/image/huge-header-refused", test_image_huge_header);
  g_test_add_func ("/media/image/augment", test_image_augment);
  g_test_add_func ("/media/audio/formats", test_audio_formats);
  g_test_add_func ("/media/audio/max-seconds", test_audio_max_seconds);
  g_test_add_func ("/media/audio/bad-files", test_audio_bad_files);
  g_test_add_func ("/media/audio/two-hours-truncated", test_audio_two_hours);
  g_test_add_func ("/media/audio/probe-wav-header", test_audio_probe_wav_header);
  g_test_add_func ("/media/audio/envelope", test_audio_envelope);
  g_test_add_func ("/media/audio/threads", test_audio_threads);
  g_test_add_func ("/media/audio/log-mel-silence-padding", test_log_mel_silence_and_padding);
  g_test_add_func ("/media/audio/log-mel-numpy", test_log_mel_numpy);
  g_test_add_func ("/media/audio/noise-snr", test_noise_snr);

  int rc = g_test_run ();
  remove_tree (tmp_dir);
  g_free (tmp_dir);
  return rc;
}
