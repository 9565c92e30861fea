/* weft-features.c — in-memory features, stratified splits, the batch
 * gather, and the Fashion-MNIST IDX reader used until dataset folders
 * are featurised. */
#include "weft-features.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <glib/gstdio.h>

#include "data/weft-text.h"
#include "weft-bytes.h"
#include "weft-error.h"
#include "weft-json.h"

WeftFeatures *
weft_features_new (int n_rows)
{
  WeftFeatures *f = g_new0 (WeftFeatures, 1);
  f->ref_count = 1;
  f->n_rows = n_rows;
  f->split = g_new0 (guint8, MAX (n_rows, 1));
  return f;
}

/* Frees p unless it points into the cache mapping, which owns it. */
static void
free_owned (const WeftFeatures *f, gpointer p)
{
  if (p == NULL)
    return;
  if (f->mapping != NULL)
    {
      const char *base = g_mapped_file_get_contents (f->mapping);
      gsize len = g_mapped_file_get_length (f->mapping);
      if ((const char *) p >= base && (const char *) p < base + len)
        return;
    }
  g_free (p);
}

static void
column_clear (const WeftFeatures *f, WeftFeatureColumn *c)
{
  free_owned (f, c->data);
  free_owned (f, c->present);
  c->data = NULL;
  c->present = NULL;
}

WeftFeatures *
weft_features_ref (WeftFeatures *f)
{
  g_return_val_if_fail (f != NULL, NULL);
  g_atomic_int_inc (&f->ref_count);
  return f;
}

void
weft_features_free (WeftFeatures *f)
{
  if (f == NULL || !g_atomic_int_dec_and_test (&f->ref_count))
    return;
  column_clear (f, &f->image);
  column_clear (f, &f->audio);
  column_clear (f, &f->text);
  free_owned (f, f->label);
  free_owned (f, f->split);
  free_owned (f, f->sample_index);
  g_free (f->idf);
  g_free (f->audio_mean);
  g_free (f->audio_std);
  g_strfreev (f->class_names);
  g_strfreev (f->vocab);
  g_free (f->name);
  g_clear_pointer (&f->mapping, g_mapped_file_unref);
  g_free (f);
}

static WeftFeatureColumn *
column_of (WeftFeatures *f, WeftModality m)
{
  switch (m)
    {
    case WEFT_MODALITY_IMAGE: return &f->image;
    case WEFT_MODALITY_AUDIO: return &f->audio;
    case WEFT_MODALITY_TEXT:  return &f->text;
    default: return NULL;
    }
}

float *
weft_features_add_column (WeftFeatures *f, WeftModality m, WeftShape shape)
{
  if (m == WEFT_MODALITY_LABEL)
    {
      free_owned (f, f->label);
      f->label = g_new0 (float, MAX (f->n_rows, 1));
      return f->label;
    }
  WeftFeatureColumn *c = column_of (f, m);
  column_clear (f, c);
  c->shape = shape;
  c->data = g_new0 (float, (gsize) f->n_rows * weft_shape_size (&shape) + 1);
  c->present = NULL;
  return c->data;
}

void
weft_features_get_binding (const WeftFeatures *f, WeftBinding *b)
{
  memset (b, 0, sizeof *b);
  b->image = f->image.shape;
  b->audio = f->audio.shape;
  b->text_length = f->text.shape.n ? f->text.shape.d[0] : 0;
  b->vocab_size = f->vocab_size;
  b->n_classes = f->label ? f->n_classes : 0;
}

void
weft_features_normalise_audio (const WeftFeatures *f, float *mel)
{
  g_return_if_fail (f != NULL && mel != NULL);
  if (f->audio_mean == NULL || f->audio_std == NULL || f->audio.shape.n != 2)
    return;
  int bands = f->audio.shape.d[0], frames = f->audio.shape.d[1];
  for (int b = 0; b < bands; b++)
    for (int t = 0; t < frames; t++)
      mel[b * frames + t] = (mel[b * frames + t] - f->audio_mean[b]) / f->audio_std[b];
}

int *
weft_features_split_rows (const WeftFeatures *f, WeftSplit split, int *n)
{
  int *rows = g_new (int, MAX (f->n_rows, 1));
  int k = 0;
  for (int i = 0; i < f->n_rows; i++)
    if (f->split[i] == split)
      rows[k++] = i;
  *n = k;
  return rows;
}

static int
group_of (const WeftFeatures *f, int r, int n_groups)
{
  if (n_groups == 1)
    return 0;
  return (f->label[r] < 0 || f->label[r] >= f->n_classes) ? f->n_classes : (int) f->label[r];
}

void
weft_features_assign_split (WeftFeatures *f, double val_share, double test_share,
                            guint64 seed)
{
  WeftRng rng;
  int n_groups = (f->label && f->n_classes > 0) ? f->n_classes + 1 : 1;
  g_autofree int *order = g_new (int, MAX (f->n_rows, 1));

  weft_rng_init (&rng, seed);
  /* Shuffle, then walk each class (unlabelled rows form one more group)
   * and deal its first val_share to validation, next test_share to test. */
  for (int i = 0; i < f->n_rows; i++)
    order[i] = i;
  weft_rng_shuffle (&rng, order, f->n_rows);
  for (int gidx = 0; gidx < n_groups; gidx++)
    {
      int count = 0, seen = 0;
      for (int i = 0; i < f->n_rows; i++)
        {
          int r = order[i];
          count += group_of (f, r, n_groups) == gidx;
        }
      int n_val = (int) (count * val_share + 0.5), n_test = (int) (count * test_share + 0.5);
      for (int i = 0; i < f->n_rows; i++)
        {
          int r = order[i];
          int grp = group_of (f, r, n_groups);
          if (grp != gidx)
            continue;
          f->split[r] = seen < n_val ? WEFT_SPLIT_VALIDATION
                      : seen < n_val + n_test ? WEFT_SPLIT_TEST : WEFT_SPLIT_TRAIN;
          seen++;
        }
    }
}

static void
gather_column (const WeftFeatureColumn *c, float *dst, gsize size, const int *idx, int B)
{
  gsize row = weft_shape_size (&c->shape);
  g_assert (row == size);
  for (int b = 0; b < B; b++)
    memcpy (dst + (gsize) b * row, c->data + (gsize) idx[b] * row, row * sizeof (float));
}

static gboolean
text_input_is_bow (WeftGraph *g)
{
  const WeftSpec *spec = weft_graph_get_spec (g);
  /* weft_graph_get_input serves the first input of a modality; so here. */
  for (guint i = 0; spec && i < spec->inputs->len; i++)
    {
      const WeftSpecInput *in = g_ptr_array_index (spec->inputs, i);
      if (in->modality == WEFT_MODALITY_TEXT)
        return in->text_bow;
    }
  return FALSE;
}

void
weft_features_gather (const WeftFeatures *f, WeftGraph *g, const int *idx, int B)
{
  gsize size;
  float *dst;

  if ((dst = weft_graph_get_input (g, WEFT_MODALITY_IMAGE, &size)))
    gather_column (&f->image, dst, size, idx, B);
  if ((dst = weft_graph_get_input (g, WEFT_MODALITY_AUDIO, &size)))
    gather_column (&f->audio, dst, size, idx, B);
  if ((dst = weft_graph_get_input (g, WEFT_MODALITY_TEXT, &size)))
    {
      int L = f->text.shape.d[0];
      /* The spec says which form the input takes: the widths alone cannot,
       * as the vocabulary may be exactly as large as the caption length. */
      if (!text_input_is_bow (g))
        gather_column (&f->text, dst, size, idx, B);
      else
        {
          /* Bag of words: token frequencies of the sample, summing to 1,
           * or TF-IDF when the features carry weights of that width. */
          const float *idf = f->idf && (gsize) f->vocab_size == size ? f->idf : NULL;
          for (int b = 0; b < B; b++)
            weft_text_bow (f->text.data + (gsize) idx[b] * L, L, (int) size, idf,
                           dst + (gsize) b * size);
        }
    }
  if ((dst = weft_graph_get_input (g, WEFT_MODALITY_LABEL, &size)))
    for (int b = 0; b < B; b++)
      dst[b] = f->label ? f->label[idx[b]] : -1.f;
}

/* ---- IDX (Fashion-MNIST) ---- */

static const char *const fmnist_classes[] = {
  "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
  "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot", NULL
};

static guint8 *
read_gz (const char *path, gsize *len, GError **error)
{
  gzFile gz = gzopen (path, "rb");
  if (gz == NULL)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "%s: cannot be opened", path);
      return NULL;
    }
  GByteArray *buf = g_byte_array_new ();
  guint8 chunk[65536];
  int r;
  while ((r = gzread (gz, chunk, sizeof chunk)) > 0)
    g_byte_array_append (buf, chunk, r);
  int errnum = 0;
  const char *msg = gzerror (gz, &errnum);
  if (r < 0 || (errnum != Z_OK && errnum != Z_STREAM_END))
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_DATA, "%s: not a readable gzip file (%s)", path, msg);
      gzclose (gz);
      g_byte_array_unref (buf);
      return NULL;
    }
  gzclose (gz);
  *len = buf->len;
  return g_byte_array_free (buf, FALSE);
}

static guint8 *
read_idx (const char *dir, const char *name, int ndim, guint32 *dims, gsize *count, GError **error)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  gsize len = 0;
  g_autofree guint8 *raw = read_gz (path, &len, error);
  if (raw == NULL)
    return NULL;
  if (len < 4 + 4u * ndim || raw[0] || raw[1] || raw[2] != 0x08 || raw[3] != ndim)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_DATA,
                   "%s: not an IDX file of %d-dimensional unsigned bytes", path, ndim);
      return NULL;
    }
  guint64 n = 1;
  for (int i = 0; i < ndim; i++)
    {
      dims[i] = GUINT32_FROM_BE (*(guint32 *) (raw + 4 + 4 * i));
      n *= dims[i];
    }
  if (n != len - 4 - 4u * ndim)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_DATA,
                   "%s: the header announces %" G_GUINT64_FORMAT " values but the file holds %" G_GSIZE_FORMAT,
                   path, n, len - 4 - 4 * ndim);
      return NULL;
    }
  *count = n;
  guint8 *out = g_malloc (MAX (n, 1));
  memcpy (out, raw + 4 + 4 * ndim, n);
  return out;
}

gboolean
weft_features_is_idx_dir (const char *dir)
{
  g_autofree char *p = g_build_filename (dir, "train-images-idx3-ubyte.gz", NULL);
  return g_file_test (p, G_FILE_TEST_EXISTS);
}

WeftFeatures *
weft_features_load_idx (const char *dir, GError **error)
{
  static const char *const files[2][2] = {
    { "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz" },
    { "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz" },
  };
  guint8 *img[2] = { NULL, NULL }, *lab[2] = { NULL, NULL };
  guint32 idim[2][3], ldim[2][1];
  gsize ni[2], nl[2];

  for (int s = 0; s < 2; s++)
    {
      img[s] = read_idx (dir, files[s][0], 3, idim[s], &ni[s], error);
      if (img[s] == NULL)
        {
          g_free (img[0]);
          g_free (lab[0]);
          return NULL;
        }
      lab[s] = read_idx (dir, files[s][1], 1, ldim[s], &nl[s], error);
      if (lab[s] == NULL)
        {
          g_free (img[0]); g_free (img[1]); g_free (lab[0]);
          return NULL;
        }
      if (ldim[s][0] != idim[s][0])
        {
          g_set_error (error, WEFT_ERROR, WEFT_ERROR_DATA,
                       "%s: %u labels for %u images", files[s][1], ldim[s][0], idim[s][0]);
          g_free (img[0]); g_free (img[1]); g_free (lab[0]); g_free (lab[1]);
          return NULL;
        }
    }
  int H = idim[0][1], W = idim[0][2];
  int n = idim[0][0] + idim[1][0];
  WeftFeatures *f = weft_features_new (n);
  f->name = g_strdup ("Fashion-MNIST");
  float *x = weft_features_add_column (f, WEFT_MODALITY_IMAGE, weft_shape_3 (1, H, W));
  float *y = weft_features_add_column (f, WEFT_MODALITY_LABEL, weft_shape_1 (1));
  f->n_classes = 10;
  f->class_names = g_strdupv ((char **) fmnist_classes);
  int row = 0;
  for (int s = 0; s < 2; s++)
    for (guint32 i = 0; i < idim[s][0]; i++, row++)
      {
        for (int k = 0; k < H * W; k++)
          x[(gsize) row * H * W + k] = img[s][(gsize) i * H * W + k] / 255.f;
        y[row] = lab[s][i] < 10 ? lab[s][i] : -1;
        f->split[row] = s == 0 ? WEFT_SPLIT_TRAIN : WEFT_SPLIT_TEST;
      }
  for (int s = 0; s < 2; s++)
    {
      g_free (img[s]);
      g_free (lab[s]);
    }
  return f;
}

void
weft_features_carve_validation (WeftFeatures *f, double share, guint64 seed)
{
  int n_groups = (f->label && f->n_classes > 0) ? f->n_classes + 1 : 1;
  g_autofree int *order = g_new (int, MAX (f->n_rows, 1));
  g_autofree int *count = g_new0 (int, n_groups);
  g_autofree int *taken = g_new0 (int, n_groups);
  WeftRng rng;

  /* Stratified: each class gives the same share of its training rows. */
  weft_rng_init (&rng, seed ^ 0x7a11d);
  for (int i = 0; i < f->n_rows; i++)
    order[i] = i;
  weft_rng_shuffle (&rng, order, f->n_rows);
  for (int i = 0; i < f->n_rows; i++)
    if (f->split[i] == WEFT_SPLIT_TRAIN)
      count[group_of (f, i, n_groups)]++;
  for (int i = 0; i < f->n_rows; i++)
    {
      int r = order[i];
      if (f->split[r] != WEFT_SPLIT_TRAIN)
        continue;
      int grp = group_of (f, r, n_groups);
      if (taken[grp] < (int) (count[grp] * share + 0.5))
        {
          f->split[r] = WEFT_SPLIT_VALIDATION;
          taken[grp]++;
        }
    }
}

/* ---- feature files (layout in weft-features.h) ---- */

#define FILE_MAGIC "WEFTFEAT"
#define HEADER_BYTES 256
#define N_SECTIONS 9
#define ALIGN 64

enum {
  SEC_IMAGE, SEC_IMAGE_PRESENT, SEC_AUDIO, SEC_AUDIO_PRESENT,
  SEC_TEXT, SEC_TEXT_PRESENT, SEC_LABEL, SEC_SPLIT, SEC_SAMPLE_INDEX,
};

static gboolean
write_all (int fd, const void *buf, gsize n)
{
  const guint8 *p = buf;
  while (n > 0)
    {
      gssize w = write (fd, p, MIN (n, (gsize) 1 << 30));
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        return FALSE;
      p += w;
      n -= w;
    }
  return TRUE;
}

static JsonArray *
json_floats (const float *v, int n)
{
  JsonArray *a = json_array_sized_new (n);
  for (int i = 0; i < n; i++)
    json_array_add_double_element (a, v[i]);
  return a;
}

static JsonArray *
json_strings (char **v)
{
  JsonArray *a = json_array_new ();
  for (; v && *v; v++)
    json_array_add_string_element (a, *v);
  return a;
}

gboolean
weft_features_save (const WeftFeatures *f, const char *path, JsonObject *extra, GError **error)
{
  g_return_val_if_fail (f != NULL && path != NULL, FALSE);
#if G_BYTE_ORDER != G_LITTLE_ENDIAN
  g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "%s: feature files are little-endian only", path);
  return FALSE;
#endif
  if (f->n_rows <= 0 || f->split == NULL)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_DATA, "%s: no rows to write", path);
      return FALSE;
    }

  const WeftFeatureColumn *cols[3] = { &f->image, &f->audio, &f->text };
  const void *data[N_SECTIONS] = {
    f->image.data, f->image.present, f->audio.data, f->audio.present,
    f->text.data, f->text.present, f->label, f->split, f->sample_index,
  };
  guint64 bytes[N_SECTIONS], offset[N_SECTIONS];
  guint64 n = f->n_rows;

  for (int c = 0; c < 3; c++)
    {
      gboolean has = cols[c]->shape.n > 0 && cols[c]->data != NULL;
      bytes[2 * c] = has ? n * weft_shape_size (&cols[c]->shape) * sizeof (float) : 0;
      bytes[2 * c + 1] = has && cols[c]->present ? n : 0;
    }
  bytes[SEC_LABEL] = f->label ? n * sizeof (float) : 0;
  bytes[SEC_SPLIT] = n;
  bytes[SEC_SAMPLE_INDEX] = f->sample_index ? n * sizeof (gint32) : 0;

  guint64 pos = HEADER_BYTES;
  for (int i = 0; i < N_SECTIONS; i++)
    {
      offset[i] = bytes[i] ? pos : 0;
      pos += (bytes[i] + ALIGN - 1) / ALIGN * ALIGN;
    }

  /* The blob: everything that is not a per-row array. */
  g_autoptr(JsonObject) blob = json_object_new ();
  json_object_set_string_member (blob, "name", f->name ? f->name : "");
  json_object_set_int_member (blob, "n_classes", f->n_classes);
  json_object_set_array_member (blob, "class_names", json_strings (f->class_names));
  json_object_set_array_member (blob, "vocab", json_strings (f->vocab));
  if (f->idf && f->vocab_size > 0)
    json_object_set_array_member (blob, "idf", json_floats (f->idf, f->vocab_size));
  if (f->audio_mean && f->audio_std && f->audio.shape.n > 0)
    {
      json_object_set_array_member (blob, "audio_mean", json_floats (f->audio_mean, f->audio.shape.d[0]));
      json_object_set_array_member (blob, "audio_std", json_floats (f->audio_std, f->audio.shape.d[0]));
    }
  if (extra)
    json_object_set_object_member (blob, "extra", json_object_ref (extra));
  g_autoptr(JsonNode) root = json_node_init_object (json_node_alloc (), blob);
  gsize json_len = 0;
  g_autofree char *json = weft_json_to_data (root, FALSE, &json_len);

  guint8 hdr[HEADER_BYTES] = { 0 };
  memcpy (hdr, FILE_MAGIC, 8);
  weft_put_u32 (hdr + 8, WEFT_FEATURES_FILE_VERSION);
  weft_put_u32 (hdr + 12, HEADER_BYTES);
  weft_put_u64 (hdr + 16, pos + json_len);
  weft_put_u32 (hdr + 24, f->n_rows);
  weft_put_u32 (hdr + 28, N_SECTIONS);
  for (int c = 0; c < 3; c++)
    {
      gboolean has = bytes[2 * c] > 0;
      weft_put_u32 (hdr + 32 + 20 * c, has ? cols[c]->shape.n : 0);
      for (int k = 0; has && k < cols[c]->shape.n; k++)
        weft_put_u32 (hdr + 32 + 20 * c + 4 + 4 * k, cols[c]->shape.d[k]);
    }
  for (int i = 0; i < N_SECTIONS; i++)
    {
      weft_put_u64 (hdr + 96 + 16 * i, offset[i]);
      weft_put_u64 (hdr + 96 + 16 * i + 8, bytes[i]);
    }
  weft_put_u64 (hdr + 240, pos);
  weft_put_u64 (hdr + 248, json_len);

  /* Same folder as the target so that the rename is atomic: a reader sees
   * the old file or the complete new one, never a partial write. */
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *tmp = g_strdup_printf ("%s/.%s.XXXXXX", dir, base);
  int fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      int e = errno;
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "%s: cannot create a file there (%s)",
                   dir, g_strerror (e));
      return FALSE;
    }
  static const guint8 zeros[ALIGN] = { 0 };
  gboolean ok = write_all (fd, hdr, sizeof hdr);
  for (int i = 0; ok && i < N_SECTIONS; i++)
    if (bytes[i])
      {
        ok = write_all (fd, data[i], bytes[i]);
        gsize pad = (ALIGN - bytes[i] % ALIGN) % ALIGN;
        ok = ok && write_all (fd, zeros, pad);
      }
  ok = ok && write_all (fd, json, json_len);
  int e = errno;
  if (close (fd) != 0 && ok)
    {
      ok = FALSE;
      e = errno;
    }
  if (ok && g_rename (tmp, path) != 0)
    {
      ok = FALSE;
      e = errno;
    }
  if (!ok)
    {
      g_unlink (tmp);
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "%s: could not be written (%s)",
                   path, g_strerror (e));
    }
  return ok;
}

static gboolean
json_to_floats (JsonObject *o, const char *member, int n, float **out)
{
  JsonNode *node = json_object_get_member (o, member);
  *out = NULL;
  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return FALSE;
  JsonArray *a = json_node_get_array (node);
  if ((int) json_array_get_length (a) != n)
    return FALSE;
  float *v = g_new (float, MAX (n, 1));
  for (int i = 0; i < n; i++)
    {
      JsonNode *x = json_array_get_element (a, i);
      GType t = JSON_NODE_HOLDS_VALUE (x) ? json_node_get_value_type (x) : G_TYPE_INVALID;
      if (t != G_TYPE_DOUBLE && t != G_TYPE_INT64)
        {
          g_free (v);
          return FALSE;
        }
      v[i] = (float) json_node_get_double (x);
    }
  *out = v;
  return TRUE;
}

static gboolean
json_to_strv (JsonObject *o, const char *member, GStrv *out)
{
  JsonNode *node = json_object_get_member (o, member);
  *out = NULL;
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return FALSE;
  JsonArray *a = json_node_get_array (node);
  guint n = json_array_get_length (a);
  if (n == 0)
    return TRUE;
  GStrv v = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    {
      JsonNode *x = json_array_get_element (a, i);
      if (!JSON_NODE_HOLDS_VALUE (x) || json_node_get_value_type (x) != G_TYPE_STRING)
        {
          g_strfreev (v);
          return FALSE;
        }
      v[i] = g_strdup (json_node_get_string (x));
    }
  *out = v;
  return TRUE;
}

static gboolean
is_int_in (float x, int lo, int hi)
{
  return x >= lo && x < hi && x == (float) (int) x;
}

WeftFeatures *
weft_features_map (const char *path, JsonObject **extra, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  if (extra)
    *extra = NULL;
#if G_BYTE_ORDER != G_LITTLE_ENDIAN
  g_set_error (error, WEFT_ERROR, WEFT_ERROR_DATA, "%s: feature files are little-endian only", path);
  return NULL;
#endif

  GError *local = NULL;
  /* Writable means a private copy-on-write mapping: a caller may re-split
   * the rows in memory, the file never changes. */
  g_autoptr(GMappedFile) m = g_mapped_file_new (path, TRUE, &local);
  if (m == NULL)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "%s: cannot be read (%s)", path, local->message);
      g_error_free (local);
      return NULL;
    }
  const guint8 *base = (const guint8 *) g_mapped_file_get_contents (m);
  guint64 len = g_mapped_file_get_length (m);

#define BAD(...) G_STMT_START { \
    g_autofree char *why_ = g_strdup_printf (__VA_ARGS__); \
    g_set_error (error, WEFT_ERROR, WEFT_ERROR_DATA, "%s: not a usable feature file (%s)", path, why_); \
    return NULL; \
  } G_STMT_END

  if (base == NULL || len < HEADER_BYTES || memcmp (base, FILE_MAGIC, 8) != 0)
    BAD ("no Weft feature header");
  if (weft_get_u32 (base + 8) != WEFT_FEATURES_FILE_VERSION)
    BAD ("version %u, this Weft reads version %d", weft_get_u32 (base + 8), WEFT_FEATURES_FILE_VERSION);
  if (weft_get_u32 (base + 12) != HEADER_BYTES || weft_get_u32 (base + 28) != N_SECTIONS)
    BAD ("unexpected header layout");
  if (weft_get_u64 (base + 16) != len)
    BAD ("it should hold %" G_GUINT64_FORMAT " bytes but holds %" G_GUINT64_FORMAT,
         weft_get_u64 (base + 16), len);
  guint64 n = weft_get_u32 (base + 24);
  if (n == 0 || n > G_MAXINT32)
    BAD ("%" G_GUINT64_FORMAT " rows", n);

  WeftShape shapes[3];
  guint64 row_size[3];
  for (int c = 0; c < 3; c++)
    {
      const guint8 *p = base + 32 + 20 * c;
      memset (&shapes[c], 0, sizeof shapes[c]);
      shapes[c].n = weft_get_u32 (p);
      if (shapes[c].n > WEFT_MAX_DIMS)
        BAD ("a column has %d dimensions", shapes[c].n);
      row_size[c] = shapes[c].n ? 1 : 0;
      for (int k = 0; k < shapes[c].n; k++)
        {
          guint32 d = weft_get_u32 (p + 4 + 4 * k);
          if (d == 0 || d > (1u << 20))
            BAD ("a column dimension of %u", d);
          shapes[c].d[k] = d;
          row_size[c] *= d;
          if (row_size[c] > (1u << 28))
            BAD ("columns too wide");
        }
    }

  /* Every section must have exactly the size its counts imply and lie
   * inside the file; written so that no sum can overflow. */
  guint64 want[N_SECTIONS] = {
    n * row_size[0] * 4, n, n * row_size[1] * 4, n, n * row_size[2] * 4, n,
    n * 4, n, n * 4,
  };
  const guint8 *sec[N_SECTIONS] = { NULL };
  for (int i = 0; i < N_SECTIONS; i++)
    {
      guint64 off = weft_get_u64 (base + 96 + 16 * i), bytes = weft_get_u64 (base + 96 + 16 * i + 8);
      if (bytes == 0)
        {
          if (i == SEC_SPLIT || ((i == SEC_IMAGE || i == SEC_AUDIO || i == SEC_TEXT) && want[i] > 0))
            BAD ("section %d is missing", i);
          continue;
        }
      if (bytes != want[i])
        BAD ("section %d holds %" G_GUINT64_FORMAT " bytes instead of %" G_GUINT64_FORMAT, i, bytes, want[i]);
      if (off % ALIGN != 0 || off < HEADER_BYTES || off > len || bytes > len - off)
        BAD ("section %d lies outside the file", i);
      sec[i] = base + off;
    }
  guint64 json_off = weft_get_u64 (base + 240), json_len = weft_get_u64 (base + 248);
  if (json_off < HEADER_BYTES || json_off > len || json_len == 0 || json_len > len - json_off)
    BAD ("the description lies outside the file");

  g_autoptr(JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, (const char *) base + json_off, json_len, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    BAD ("the description is not valid JSON");
  JsonObject *blob = json_node_get_object (json_parser_get_root (parser));

  g_autoptr(WeftFeatures) f = g_new0 (WeftFeatures, 1);
  f->ref_count = 1;
  f->n_rows = n;
  f->name = g_strdup (json_object_get_string_member_with_default (blob, "name", ""));
  JsonNode *nc = json_object_get_member (blob, "n_classes");
  if (nc == NULL || !JSON_NODE_HOLDS_VALUE (nc) || json_node_get_value_type (nc) != G_TYPE_INT64
      || json_node_get_int (nc) < 0 || json_node_get_int (nc) > 1000000)
    BAD ("the class count is damaged");
  f->n_classes = json_node_get_int (nc);
  if (!json_to_strv (blob, "class_names", &f->class_names) || !json_to_strv (blob, "vocab", &f->vocab))
    BAD ("the class or token lists are damaged");
  f->vocab_size = f->vocab ? g_strv_length (f->vocab) : 0;
  if (f->class_names && (int) g_strv_length (f->class_names) != f->n_classes)
    BAD ("%d classes", f->n_classes);
  int bands = shapes[1].n ? shapes[1].d[0] : 0;
  if (!json_to_floats (blob, "idf", f->vocab_size, &f->idf)
      || !json_to_floats (blob, "audio_mean", bands, &f->audio_mean)
      || !json_to_floats (blob, "audio_std", bands, &f->audio_std))
    BAD ("the weights or the audio normalisation are damaged");

  /* Values used as indices downstream are checked; pixels are not. */
  const float *label = (const float *) sec[SEC_LABEL];
  const guint8 *split = sec[SEC_SPLIT];
  const gint32 *sample_index = (const gint32 *) sec[SEC_SAMPLE_INDEX];
  const float *ids = (const float *) sec[SEC_TEXT];
  for (guint64 r = 0; r < n; r++)
    {
      if (split[r] > WEFT_SPLIT_TEST)
        BAD ("row %" G_GUINT64_FORMAT " has split %d", r, split[r]);
      if (label && !(label[r] == -1.f || is_int_in (label[r], 0, f->n_classes)))
        BAD ("row %" G_GUINT64_FORMAT " has label %g", r, label[r]);
      if (sample_index && sample_index[r] < 0)
        BAD ("row %" G_GUINT64_FORMAT " has sample %d", r, sample_index[r]);
    }
  if (ids && f->vocab_size == 0)
    BAD ("token ids without a vocabulary");
  for (guint64 i = 0; ids && i < n * row_size[2]; i++)
    if (!(ids[i] == -1.f || is_int_in (ids[i], 0, f->vocab_size)))
      BAD ("token id %g outside the vocabulary", ids[i]);

  /* The pointers alias the private mapping; weft_features_free knows. */
  WeftFeatureColumn *cols[3] = { &f->image, &f->audio, &f->text };
  for (int c = 0; c < 3; c++)
    {
      cols[c]->shape = shapes[c];
      cols[c]->data = (float *) sec[2 * c];
      cols[c]->present = (guint8 *) sec[2 * c + 1];
    }
  f->label = (float *) label;
  f->split = (guint8 *) split;
  f->sample_index = (int *) sample_index;
  f->mapping = g_steal_pointer (&m);

  JsonNode *ex = json_object_get_member (blob, "extra");
  if (extra && ex && JSON_NODE_HOLDS_OBJECT (ex))
    *extra = json_object_ref (json_node_get_object (ex));
#undef BAD
  return g_steal_pointer (&f);
}
