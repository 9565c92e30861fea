/* weft-image.c — images to (channels, size, size) float tensors through
 * gdk-pixbuf, refusing oversized images from the header and damaged files. */
#include "weft-image.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>

#include "weft-error.h"

/* The loader sees the header within the first block for every common
 * format, so an oversized image is refused after reading this much. */
#define WEFT_IMAGE_BLOCK (64 * 1024)

static guint32
be32 (const guint8 *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
}

/* gdk-pixbuf's incremental PNG and JPEG loaders hand back a partly grey
 * image without an error when the data stops early, so completeness is
 * checked from the file structure. PNG: the chunk list must reach IEND. */
static gboolean
png_is_complete (const guint8 *d, gsize n)
{
  gsize pos = 8;
  while (pos + 12 <= n)
    {
      guint32 len = be32 (d + pos);
      if (len > 0x7fffffffu || len > n - pos - 12)
        return FALSE;
      if (memcmp (d + pos + 4, "IEND", 4) == 0)
        return TRUE;
      pos += 12 + (gsize) len;
    }
  return FALSE;
}

/* JPEG: the segments, and after each SOS the entropy-coded data (where
 * 0xFF is always followed by 0x00, a restart marker or fill), must lead
 * to an EOI marker. An EXIF thumbnail's EOI sits inside APP1, which is
 * skipped by its length. */
static gboolean
jpeg_is_complete (const guint8 *d, gsize n)
{
  gsize pos = 2;
  for (;;)
    {
      if (pos >= n || d[pos] != 0xff)
        return FALSE;
      while (pos < n && d[pos] == 0xff)
        pos++;
      if (pos >= n)
        return FALSE;
      guint8 m = d[pos++];
      if (m == 0xd9)
        return TRUE;
      if (m == 0x01 || (m >= 0xd0 && m <= 0xd7))
        continue;
      if (pos + 2 > n)
        return FALSE;
      gsize len = (gsize) d[pos] << 8 | d[pos + 1];
      if (len < 2 || pos + len > n)
        return FALSE;
      pos += len;
      if (m != 0xda)
        continue;
      /* Entropy-coded data runs to the next real marker. */
      for (;;)
        {
          const guint8 *ff = memchr (d + pos, 0xff, n - pos);
          if (ff == NULL)
            return FALSE;
          pos = ff - d;
          if (pos + 1 >= n)
            return FALSE;
          guint8 next = d[pos + 1];
          if (next == 0x00 || (next >= 0xd0 && next <= 0xd7) || next == 0xff)
            {
              pos += next == 0xff ? 1 : 2;
              continue;
            }
          break;
        }
    }
}

/* The loader for the few formats with an unambiguous signature; NULL
 * lets gdk-pixbuf sniff. */
static const char *
sniff_type (const guint8 *d, gsize n)
{
  static const guint8 png[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  if (n >= 8 && memcmp (d, png, 8) == 0)
    return "png";
  if (n >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff)
    return "jpeg";
  if (n >= 6 && (memcmp (d, "GIF87a", 6) == 0 || memcmp (d, "GIF89a", 6) == 0))
    return "gif";
  return NULL;
}

typedef struct {
  int size;
  gint64 max_pixels;
  gboolean probe_only;  /* stop as soon as the size is known */
  gboolean stop;        /* the header said enough: refused, or probed */
  gboolean refused;
  int width, height;    /* as stored in the file; 0 until known */
} LoadState;

/* Fits w × h inside size × size, keeping the aspect ratio. */
static void
fit_size (int w, int h, int size, int *fw, int *fh)
{
  if (w >= h)
    {
      *fw = size;
      *fh = CLAMP ((int) lround ((double) h * size / w), 1, size);
    }
  else
    {
      *fh = size;
      *fw = CLAMP ((int) lround ((double) w * size / h), 1, size);
    }
}

/* Runs once the loader has read the header, before any pixel buffer is
 * allocated: this is where an oversized image is refused and where
 * formats that can render small (SVG, JPEG's DCT scaling) are asked to. */
static void
on_size_prepared (GdkPixbufLoader *loader, int width, int height, gpointer user_data)
{
  LoadState *st = user_data;
  st->width = width;
  st->height = height;
  if (st->probe_only)
    {
      st->stop = TRUE;
      /* (0, 0) tells the module to stop without allocating the image. */
      gdk_pixbuf_loader_set_size (loader, 0, 0);
      return;
    }
  GdkPixbufFormat *fmt = gdk_pixbuf_loader_get_format (loader);
  gboolean scalable = fmt != NULL && gdk_pixbuf_format_is_scalable (fmt);

  /* A vector image is drawn at the target size, so its nominal size
   * costs nothing and is not limited. */
  if (!scalable && (width <= 0 || height <= 0
                    || (gint64) width * height > st->max_pixels))
    {
      st->refused = st->stop = TRUE;
      gdk_pixbuf_loader_set_size (loader, 0, 0);
      return;
    }
  if (width <= 0 || height <= 0)
    return;

  int fw, fh;
  fit_size (width, height, st->size, &fw, &fh);
  g_autofree char *name = fmt ? gdk_pixbuf_format_get_name (fmt) : NULL;
  if (scalable || (g_strcmp0 (name, "jpeg") == 0 && width >= 2 * fw && height >= 2 * fh))
    gdk_pixbuf_loader_set_size (loader, fw, fh);
}

/* Opens path and feeds it to a loader in blocks, stopping early when the
 * header settles the matter (st->stop). With keep, *data receives the
 * whole file (the structure check needs it). On success *loader has been
 * written to but not closed; *write_error holds a decoding error, if any.
 * FALSE with a plain error when the file cannot be read. */
static gboolean
feed_file (const char *path, LoadState *st, gboolean keep,
           GdkPixbufLoader **loader, const char **type, guint8 **data, gsize *n,
           GError **write_error, GError **error)
{
  /* One open + fstat serves both the messages and the read. The file is
   * read, not mapped: unmapping flushes every core's TLB, which costs more
   * than a small image's whole decode on a virtual machine. */
  int fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  struct stat sb;
  if (fd < 0 || fstat (fd, &sb) != 0)
    {
      int e = errno;
      if (fd >= 0)
        close (fd);
      if (e == ENOENT)
        g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_IO, "the file does not exist");
      else
        g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "the file cannot be read (%s)",
                     g_strerror (e));
      return FALSE;
    }
  if (!S_ISREG (sb.st_mode) || sb.st_size == 0)
    {
      close (fd);
      g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_DATA,
                           S_ISDIR (sb.st_mode) ? "not an image file (it is a folder)" :
                           S_ISREG (sb.st_mode) ? "the file is empty" : "not an image file");
      return FALSE;
    }
  /* Room for the whole file (what grows after fstat is ignored; what
   * shrinks fails the structure check); a probe reuses one block. */
  gsize cap = keep ? (gsize) sb.st_size : MIN ((gsize) sb.st_size, (gsize) WEFT_IMAGE_BLOCK);
  guint8 *buf = g_try_malloc (cap);
  if (buf == NULL)
    {
      close (fd);
      g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_IO, "the file is too large to read");
      return FALSE;
    }

  GdkPixbufLoader *l = NULL;
  gsize pos = 0;
  gboolean ok = TRUE, read_failed = FALSE;
  int read_errno = 0;
  while (ok && !st->stop)
    {
      if (keep && pos == cap)
        break;
      gsize at = keep ? pos : 0;
      gssize r = read (fd, buf + at, MIN ((gsize) WEFT_IMAGE_BLOCK, cap - at));
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        {
          read_failed = TRUE;
          read_errno = errno;
        }
      if (r <= 0)
        break;
      if (l == NULL)
        {
          /* Naming the type skips gdk-pixbuf's MIME sniffing, which costs
           * several times a small PNG's decode. */
          *type = sniff_type (buf, r);
          l = *type ? gdk_pixbuf_loader_new_with_type (*type, NULL) : NULL;
          if (l == NULL)
            {
              *type = NULL;
              l = gdk_pixbuf_loader_new ();
            }
          g_signal_connect (l, "size-prepared", G_CALLBACK (on_size_prepared), st);
        }
      ok = gdk_pixbuf_loader_write (l, buf + at, r, write_error);
      pos += r;
    }
  close (fd);
  if (read_failed || l == NULL)
    {
      if (l != NULL)
        {
          gdk_pixbuf_loader_close (l, NULL);
          g_object_unref (l);
        }
      g_clear_error (write_error);
      g_free (buf);
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "the file cannot be read (%s)",
                   read_failed ? g_strerror (read_errno) : "it became empty");
      return FALSE;
    }
  *loader = l;
  if (keep)
    {
      *data = buf;
      *n = pos;
    }
  else
    g_free (buf);
  return TRUE;
}

gboolean
weft_image_probe (const char *path, int *width, int *height, GError **error)
{
  g_return_val_if_fail (path != NULL, FALSE);

  /* The loader stops as soon as the header gives the size, so even a
   * 30000 × 30000 PNG costs one small read. */
  LoadState st = { .probe_only = TRUE };
  g_autoptr(GdkPixbufLoader) loader = NULL;
  const char *type = NULL;
  GError *write_error = NULL;
  if (!feed_file (path, &st, FALSE, &loader, &type, NULL, NULL, &write_error, error))
    return FALSE;
  g_clear_error (&write_error);
  /* Formats that only know their size at the end (SVG) report it here. */
  if (!st.stop)
    gdk_pixbuf_loader_close (loader, NULL);
  if (st.width <= 0 || st.height <= 0)
    {
      if (st.stop || type == NULL)
        g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_DATA, "not an image file");
      else
        g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_DATA, "the image data is damaged");
      return FALSE;
    }
  if (st.stop)
    gdk_pixbuf_loader_close (loader, NULL);
  if (width)
    *width = st.width;
  if (height)
    *height = st.height;
  return TRUE;
}

/* Writes the pixbuf, composited on white, into the centre of a white
 * (channels, size, size) canvas. */
static void
pixbuf_to_floats (GdkPixbuf *pb, int size, int channels, float *out)
{
  int w = gdk_pixbuf_get_width (pb), h = gdk_pixbuf_get_height (pb);
  int nc = gdk_pixbuf_get_n_channels (pb);
  int rs = gdk_pixbuf_get_rowstride (pb);
  gboolean alpha = gdk_pixbuf_get_has_alpha (pb);
  const guint8 *px = gdk_pixbuf_read_pixels (pb);
  int ox = (size - w) / 2, oy = (size - h) / 2;
  gsize plane = (gsize) size * size;

  for (gsize i = 0; i < plane * channels; i++)
    out[i] = 1.0f;

  const float k = 1.0f / 255.0f;
  for (int y = 0; y < h; y++)
    {
      const guint8 *row = px + (gsize) y * rs;
      float *o = out + (gsize) (oy + y) * size + ox;
      for (int x = 0; x < w; x++)
        {
          const guint8 *p = row + (gsize) x * nc;
          float r = p[0] * k, g = p[1] * k, b = p[2] * k;
          if (alpha)
            {
              /* Composite on white: c·a + 1·(1 − a). */
              float a = p[3] * k;
              r = r * a + (1.0f - a);
              g = g * a + (1.0f - a);
              b = b * a + (1.0f - a);
            }
          if (channels == 1)
            o[x] = 0.299f * r + 0.587f * g + 0.114f * b;
          else
            {
              o[x] = r;
              o[x + plane] = g;
              o[x + 2 * plane] = b;
            }
        }
    }
}

gboolean
weft_image_load (const char *path, int size, int channels,
                 gint64 max_pixels, float *out, GError **error)
{
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (size > 0, FALSE);
  g_return_val_if_fail (channels == 1 || channels == 3, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);

  LoadState st = { .size = size, .max_pixels = max_pixels > 0 ? max_pixels : G_MAXINT64 };
  g_autoptr(GdkPixbufLoader) loader = NULL;
  g_autofree guint8 *data = NULL;
  const char *type = NULL;
  gsize n = 0;
  GError *local = NULL;
  if (!feed_file (path, &st, TRUE, &loader, &type, &data, &n, &local, error))
    return FALSE;
  gboolean ok = local == NULL;
  gboolean closed = gdk_pixbuf_loader_close (loader, ok ? &local : NULL);

  if (st.refused)
    {
      g_clear_error (&local);
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_DATA,
                   "the image is too large (%d × %d pixels; the limit is %" G_GINT64_FORMAT " pixels)",
                   st.width, st.height, st.max_pixels);
      return FALSE;
    }
  /* The sniffed type is the only way to PNG and JPEG loaders, so it
   * says which structure to check; "truncated" is the more useful word
   * even when the decoder also complained. */
  gboolean complete = TRUE;
  if (g_strcmp0 (type, "png") == 0)
    complete = png_is_complete (data, n);
  else if (g_strcmp0 (type, "jpeg") == 0)
    complete = jpeg_is_complete (data, n);
  if (!complete)
    {
      g_clear_error (&local);
      g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_DATA, "the image file is truncated");
      return FALSE;
    }
  if (!ok || !closed)
    {
      gboolean unknown = local != NULL && g_error_matches (local, GDK_PIXBUF_ERROR,
                                                           GDK_PIXBUF_ERROR_UNKNOWN_TYPE);
      g_debug ("%s: %s", path, local ? local->message : "no message");
      g_clear_error (&local);
      g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_DATA,
                           unknown ? "not an image file" : "the image data is damaged");
      return FALSE;
    }

  GdkPixbuf *pb = gdk_pixbuf_loader_get_pixbuf (loader);  /* borrowed */
  if (pb == NULL || gdk_pixbuf_get_bits_per_sample (pb) != 8 || gdk_pixbuf_get_n_channels (pb) < 3)
    {
      g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_DATA, "the image data is damaged");
      return FALSE;
    }

  int w = gdk_pixbuf_get_width (pb), h = gdk_pixbuf_get_height (pb);
  int fw, fh;
  fit_size (w, h, size, &fw, &fh);
  g_autoptr(GdkPixbuf) scaled = NULL;
  if (fw != w || fh != h)
    {
      /* TILES integrates over each source pixel's footprint, which keeps
       * thin strokes visible when shrinking a lot; BILINEAR otherwise. */
      GdkInterpType interp = (w > 2 * fw || h > 2 * fh) ? GDK_INTERP_TILES : GDK_INTERP_BILINEAR;
      scaled = gdk_pixbuf_scale_simple (pb, fw, fh, interp);
      if (scaled == NULL)
        {
          g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_DATA,
                               "the image could not be scaled (out of memory)");
          return FALSE;
        }
      pb = scaled;
    }
  pixbuf_to_floats (pb, size, channels, out);
  return TRUE;
}

/* Bilinear sample of plane (size × size) at continuous (x, y), clamped. */
static float
sample_bilinear (const float *plane, int size, float x, float y)
{
  x = CLAMP (x, 0.0f, (float) (size - 1));
  y = CLAMP (y, 0.0f, (float) (size - 1));
  int x0 = (int) x, y0 = (int) y;
  int x1 = MIN (x0 + 1, size - 1), y1 = MIN (y0 + 1, size - 1);
  float fx = x - x0, fy = y - y0;
  float top = plane[y0 * size + x0] * (1 - fx) + plane[y0 * size + x1] * fx;
  float bot = plane[y1 * size + x0] * (1 - fx) + plane[y1 * size + x1] * fx;
  return top * (1 - fy) + bot * fy;
}

void
weft_image_augment (float *img, int channels, int size, int crop_px,
                    float noise_std, WeftRng *rng, float *scratch)
{
  g_return_if_fail (img != NULL && rng != NULL && scratch != NULL);
  g_return_if_fail (channels > 0 && size > 0);

  gsize plane = (gsize) size * size;

  /* The draws always happen in the same order (flip, crop, noise) so
   * that one seed gives one augmentation whatever the settings. */
  if (weft_rng_uniform (rng) < 0.5f)
    for (int c = 0; c < channels; c++)
      for (int y = 0; y < size; y++)
        {
          float *row = img + c * plane + (gsize) y * size;
          for (int x = 0; x < size / 2; x++)
            {
              float t = row[x];
              row[x] = row[size - 1 - x];
              row[size - 1 - x] = t;
            }
        }

  /* At least one pixel must survive the crop. */
  crop_px = MIN (crop_px, (size - 1) / 2);
  if (crop_px > 0)
    {
      int left = weft_rng_below (rng, crop_px + 1);
      int right = weft_rng_below (rng, crop_px + 1);
      int top = weft_rng_below (rng, crop_px + 1);
      int bottom = weft_rng_below (rng, crop_px + 1);
      int cw = size - left - right, ch = size - top - bottom;
      if (cw != size || ch != size)
        {
          memcpy (scratch, img, plane * channels * sizeof (float));
          float sx = (float) cw / size, sy = (float) ch / size;
          for (int c = 0; c < channels; c++)
            for (int y = 0; y < size; y++)
              for (int x = 0; x < size; x++)
                {
                  /* Pixel centres of the output map onto the crop window. */
                  float fx = left + (x + 0.5f) * sx - 0.5f;
                  float fy = top + (y + 0.5f) * sy - 0.5f;
                  fx = CLAMP (fx, (float) left, (float) (left + cw - 1));
                  fy = CLAMP (fy, (float) top, (float) (top + ch - 1));
                  img[c * plane + (gsize) y * size + x] = sample_bilinear (scratch + c * plane, size, fx, fy);
                }
        }
    }

  if (noise_std > 0)
    for (gsize i = 0; i < plane * channels; i++)
      img[i] = CLAMP (img[i] + noise_std * weft_rng_normal (rng), 0.0f, 1.0f);
}
