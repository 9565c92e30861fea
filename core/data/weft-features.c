/* weft-features.c — in-memory features, stratified splits, the batch
 * gather, and the Fashion-MNIST IDX reader used until dataset folders
 * are featurised. */
#include "weft-features.h"

#include <string.h>
#include <zlib.h>

#include "weft-error.h"

WeftFeatures *
weft_features_new (int n_rows)
{
  WeftFeatures *f = g_new0 (WeftFeatures, 1);
  f->n_rows = n_rows;
  f->split = g_new0 (guint8, MAX (n_rows, 1));
  return f;
}

static void
column_clear (WeftFeatureColumn *c)
{
  g_free (c->data);
  g_free (c->present);
}

void
weft_features_free (WeftFeatures *f)
{
  if (f == NULL)
    return;
  column_clear (&f->image);
  column_clear (&f->audio);
  column_clear (&f->text);
  g_free (f->label);
  g_free (f->split);
  g_strfreev (f->class_names);
  g_strfreev (f->vocab);
  g_free (f->name);
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
      g_free (f->label);
      f->label = g_new0 (float, MAX (f->n_rows, 1));
      return f->label;
    }
  WeftFeatureColumn *c = column_of (f, m);
  column_clear (c);
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
          int grp = n_groups == 1 ? 0 : (f->label[r] < 0 || f->label[r] >= f->n_classes ? f->n_classes : (int) f->label[r]);
          count += grp == gidx;
        }
      int n_val = (int) (count * val_share + 0.5), n_test = (int) (count * test_share + 0.5);
      for (int i = 0; i < f->n_rows; i++)
        {
          int r = order[i];
          int grp = n_groups == 1 ? 0 : (f->label[r] < 0 || f->label[r] >= f->n_classes ? f->n_classes : (int) f->label[r]);
          if (grp != gidx)
            continue;
          f->split[r] = seen < n_val ? WEFT_SPLIT_VALIDATION
                      : seen < n_val + n_test ? WEFT_SPLIT_TEST : WEFT_SPLIT_TRAIN;
          seen++;
        }
    }
}

static int
group_of (const WeftFeatures *f, int r, int n_groups)
{
  if (n_groups == 1)
    return 0;
  return (f->label[r] < 0 || f->label[r] >= f->n_classes) ? f->n_classes : (int) f->label[r];
}

static void
gather_column (const WeftFeatureColumn *c, float *dst, gsize size, const int *idx, int B)
{
  gsize row = weft_shape_size (&c->shape);
  g_assert (row == size);
  for (int b = 0; b < B; b++)
    memcpy (dst + (gsize) b * row, c->data + (gsize) idx[b] * row, row * sizeof (float));
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
      if ((int) size == L)
        gather_column (&f->text, dst, size, idx, B);
      else
        {
          /* Bag of words: token frequencies of the sample, summing to 1. */
          memset (dst, 0, (gsize) B * size * sizeof (float));
          for (int b = 0; b < B; b++)
            {
              const float *ids = f->text.data + (gsize) idx[b] * L;
              int n = 0;
              for (int t = 0; t < L; t++)
                n += ids[t] >= 0 && ids[t] < size;
              for (int t = 0; t < L; t++)
                if (ids[t] >= 0 && ids[t] < size)
                  dst[(gsize) b * size + (gsize) ids[t]] += 1.f / n;
            }
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
