/* test-featurize.c — a small synthetic dataset folder (PNGs, hand-written
 * PCM WAVs, captions, one corrupt image, one corrupt sound) featurised:
 * issues, splits, vocabulary, audio normalisation, progress, cancellation,
 * and the feature cache (hits, invalidation, damaged files). */
#include <math.h>
#include <string.h>
#include <unistd.h>
#include <utime.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "data/weft-featurize.h"
#include "data/weft-text.h"
#include "graph/weft-graph.h"
#include "weft-error.h"

/* ---- fixture files ---- */

static void
write_png (const char *path, guint32 rgba, gboolean noisy, int w, int h)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkPixbuf) pb = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, w, h);
  gdk_pixbuf_fill (pb, rgba);
  if (noisy)
    {
      /* Incompressible pixels, so that cutting the file cuts image data. */
      guint8 *px = gdk_pixbuf_get_pixels (pb);
      GRand *r = g_rand_new_with_seed (7);
      for (int i = 0; i < gdk_pixbuf_get_rowstride (pb) * h; i++)
        px[i] = g_rand_int (r);
      g_rand_free (r);
    }
  gdk_pixbuf_save (pb, path, "png", &error, NULL);
  g_assert_no_error (error);
}

static void
put16 (GByteArray *b, guint16 v)
{
  v = GUINT16_TO_LE (v);
  g_byte_array_append (b, (guint8 *) &v, 2);
}

static void
put32 (GByteArray *b, guint32 v)
{
  v = GUINT32_TO_LE (v);
  g_byte_array_append (b, (guint8 *) &v, 4);
}

/* 16-bit mono PCM WAV at 16 kHz: a sine of freq Hz. */
static void
write_wav (const char *path, double freq, double seconds)
{
  int n = (int) (seconds * 16000);
  g_autoptr(GByteArray) b = g_byte_array_new ();
  g_byte_array_append (b, (guint8 *) "RIFF", 4);
  put32 (b, 36 + 2 * n);
  g_byte_array_append (b, (guint8 *) "WAVEfmt ", 8);
  put32 (b, 16);
  put16 (b, 1);          /* PCM */
  put16 (b, 1);          /* mono */
  put32 (b, 16000);
  put32 (b, 32000);      /* bytes per second */
  put16 (b, 2);          /* block align */
  put16 (b, 16);
  g_byte_array_append (b, (guint8 *) "data", 4);
  put32 (b, 2 * n);
  for (int i = 0; i < n; i++)
    put16 (b, (guint16) (gint16) (12000 * sin (2 * G_PI * freq * i / 16000.0)));
  g_autoptr(GError) error = NULL;
  g_file_set_contents (path, (const char *) b->data, b->len, &error);
  g_assert_no_error (error);
}

static void
rm_rf (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      GDir *d = g_dir_open (path, 0, NULL);
      const char *name;
      while (d && (name = g_dir_read_name (d)))
        {
          g_autofree char *p = g_build_filename (path, name, NULL);
          rm_rf (p);
        }
      if (d)
        g_dir_close (d);
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

static int
count_files (const char *dir, const char *suffix)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;
  int n = 0;
  while (d && (name = g_dir_read_name (d)))
    n += g_str_has_suffix (name, suffix);
  if (d)
    g_dir_close (d);
  return n;
}

/* The one *.wfc file in dir; fails if there is not exactly one. */
static char *
only_cache_file (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;
  char *found = NULL;
  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)))
    if (g_str_has_suffix (name, ".wfc"))
      {
        g_assert_null (found);
        found = g_build_filename (dir, name, NULL);
      }
  g_dir_close (d);
  g_assert_nonnull (found);
  return found;
}

/* ---- a dataset built by hand (the manifest reader is tested elsewhere) ---- */

static void
sample_free (gpointer p)
{
  WeftSample *s = p;
  g_free (s->id);
  g_free (s->image);
  g_free (s->audio);
  g_free (s->text);
  g_free (s->label);
  g_free (s);
}

static void
issue_free (gpointer p)
{
  WeftIssue *i = p;
  g_free (i->file);
  g_free (i->message);
  g_free (i);
}

static WeftDataset *
dataset_new (const char *root)
{
  WeftDataset *ds = g_new0 (WeftDataset, 1);
  ds->root = g_strdup (root);
  weft_dataset_limits_init (&ds->limits);
  ds->samples = g_ptr_array_new_with_free_func (sample_free);
  ds->issues = g_ptr_array_new_with_free_func (issue_free);
  return ds;
}

static void
dataset_add (WeftDataset *ds, const char *image, const char *audio, const char *text,
             const char *label, int split)
{
  WeftSample *s = g_new0 (WeftSample, 1);
  s->row = ds->samples->len + 1;
  s->id = g_strdup_printf ("row %d", s->row);
  s->image = image ? g_build_filename (ds->root, image, NULL) : NULL;
  s->audio = audio ? g_build_filename (ds->root, audio, NULL) : NULL;
  s->text = g_strdup (text);
  s->label = g_strdup (label);
  s->split = split;
  g_ptr_array_add (ds->samples, s);
  ds->has_image |= image != NULL;
  ds->has_audio |= audio != NULL;
  ds->has_text |= text != NULL;
}

typedef struct {
  char *root;
  char *cache;
} Folder;

static const char *const animals[] = { "cat", "dog", "owl", NULL };
static const guint32 colours[] = { 0xff0000ff, 0x00ff00ff, 0x0000ffff };
static const char *const colour_words[] = { "red", "green", "blue" };

/* Writes the folder: a solid 8x8 PNG per row, one tone per animal shared
 * by its rows, a 1.5 s clip (over a 1 s limit), a cut-off PNG and a WAV
 * that is not one. */
static void
folder_init (Folder *fx)
{
  g_autoptr(GError) error = NULL;
  fx->root = g_dir_make_tmp ("weft-featurize-XXXXXX", &error);
  g_assert_no_error (error);
  fx->cache = g_build_filename (fx->root, "cache", NULL);
  g_autofree char *images = g_build_filename (fx->root, "images", NULL);
  g_autofree char *audio = g_build_filename (fx->root, "audio", NULL);
  g_mkdir (images, 0755);
  g_mkdir (audio, 0755);
  for (int i = 1; i <= 12; i++)
    {
      g_autofree char *p = g_strdup_printf ("%s/img%d.png", images, i);
      write_png (p, colours[(i - 1) % 3], FALSE, 8, 8);
    }
  for (int a = 0; a < 3; a++)
    {
      g_autofree char *p = g_strdup_printf ("%s/%s.wav", audio, animals[a]);
      write_wav (p, 300 + 900 * a, 0.5);
    }
  g_autofree char *lng = g_build_filename (audio, "long.wav", NULL);
  write_wav (lng, 2000, 1.5);

  /* A PNG cut after 60 % of its bytes, and a "WAV" that is text. */
  g_autofree char *bad = g_build_filename (images, "bad.png", NULL);
  write_png (bad, 0, TRUE, 32, 32);
  g_autofree char *bytes = NULL;
  gsize len = 0;
  g_file_get_contents (bad, &bytes, &len, &error);
  g_assert_no_error (error);
  g_file_set_contents (bad, bytes, len * 6 / 10, &error);
  g_assert_no_error (error);
  g_autofree char *badwav = g_build_filename (audio, "bad.wav", NULL);
  g_file_set_contents (badwav, "RIFF but then just some words, no sound at all", -1, &error);
  g_assert_no_error (error);
}

static void
folder_clear (Folder *fx)
{
  rm_rf (fx->root);
  g_free (fx->root);
  g_free (fx->cache);
}

/* Twelve rows (1-based as in a manifest):
 *   label = animals[(row-1) % 3]; image images/img<row>.png in its colour;
 *   audio audio/<label>.wav (shared), except row 3 long.wav (truncated),
 *   row 8 none, row 10 bad.wav (corrupt); row 6's image is bad.png
 *   (corrupt); row 12 has no image, row 11 no caption.
 *   Splits: row 2 test (its caption has "zebra"), row 5 validation (its
 *   caption has "ostrich"), the rest unassigned (all end in training at
 *   these shares). */
static WeftDataset *
folder_dataset (const Folder *fx)
{
  WeftDataset *ds = dataset_new (fx->root);
  ds->limits.max_audio_seconds = 1.0;
  ds->labels = g_strdupv ((char **) animals);
  for (int row = 1; row <= 12; row++)
    {
      int a = (row - 1) % 3;
      g_autofree char *img = row == 6 ? g_strdup ("images/bad.png")
                           : row == 12 ? NULL : g_strdup_printf ("images/img%d.png", row);
      g_autofree char *snd = row == 3 ? g_strdup ("audio/long.wav")
                           : row == 8 ? NULL
                           : row == 10 ? g_strdup ("audio/bad.wav")
                           : g_strdup_printf ("audio/%s.wav", animals[a]);
      g_autofree char *text = row == 11 ? NULL
                            : row == 2 ? g_strdup_printf ("a %s %s zebra", colour_words[a], animals[a])
                            : row == 5 ? g_strdup_printf ("a %s %s ostrich", colour_words[a], animals[a])
                            : g_strdup_printf ("a %s %s", colour_words[a], animals[a]);
      int split = row == 2 ? WEFT_SPLIT_TEST : row == 5 ? WEFT_SPLIT_VALIDATION : -1;
      dataset_add (ds, img, snd, text, animals[a], split);
    }
  return ds;
}

static void
small_settings (WeftFeatureSettings *s)
{
  weft_feature_settings_init (s);
  s->image_size = 8;
  s->mel.mel_bands = 16;
  s->mel.frames = 20;
  s->text_length = 6;
}

/* ---- progress recording ---- */

typedef struct {
  GArray *fractions;
  gint64 start;
  GCancellable *cancel_on_decode;  /* cancelled at the first decoding report */
  gint64 cancelled_at;
} Progress;

static void
on_progress (double fraction, const char *message, gpointer user_data)
{
  Progress *p = user_data;
  g_assert_nonnull (message);
  g_assert_cmpfloat (fraction, >=, 0);
  g_assert_cmpfloat (fraction, <=, 1);
  g_array_append_val (p->fractions, fraction);
  if (p->cancel_on_decode && g_str_has_prefix (message, "Decoding images") && p->cancelled_at == 0)
    {
      p->cancelled_at = g_get_monotonic_time ();
      g_cancellable_cancel (p->cancel_on_decode);
    }
}

static void
progress_init (Progress *p)
{
  memset (p, 0, sizeof *p);
  p->fractions = g_array_new (FALSE, FALSE, sizeof (double));
  p->start = g_get_monotonic_time ();
}

/* ---- comparing features ---- */

static void
assert_columns_equal (const WeftFeatureColumn *a, const WeftFeatureColumn *b, int n)
{
  g_assert_true (weft_shape_equal (&a->shape, &b->shape) || (a->shape.n == 0 && b->shape.n == 0));
  if (a->shape.n == 0)
    return;
  gsize size = weft_shape_size (&a->shape);
  g_assert_cmpmem (a->data, n * size * sizeof (float), b->data, n * size * sizeof (float));
  g_assert_true ((a->present == NULL) == (b->present == NULL));
  if (a->present)
    g_assert_cmpmem (a->present, n, b->present, n);
}

static void
assert_strv_equal (char **a, char **b)
{
  g_assert_true ((a == NULL) == (b == NULL));
  if (a)
    g_assert_true (g_strv_equal ((const char *const *) a, (const char *const *) b));
}

static void
assert_features_equal (const WeftFeatures *a, const WeftFeatures *b)
{
  int n = a->n_rows;
  g_assert_cmpint (a->n_rows, ==, b->n_rows);
  assert_columns_equal (&a->image, &b->image, n);
  assert_columns_equal (&a->audio, &b->audio, n);
  assert_columns_equal (&a->text, &b->text, n);
  g_assert_cmpmem (a->label, n * sizeof (float), b->label, n * sizeof (float));
  g_assert_cmpmem (a->split, n, b->split, n);
  g_assert_cmpmem (a->sample_index, n * sizeof (int), b->sample_index, n * sizeof (int));
  g_assert_cmpint (a->n_classes, ==, b->n_classes);
  g_assert_cmpint (a->vocab_size, ==, b->vocab_size);
  assert_strv_equal (a->class_names, b->class_names);
  assert_strv_equal (a->vocab, b->vocab);
  g_assert_cmpmem (a->idf, a->vocab_size * sizeof (float), b->idf, b->vocab_size * sizeof (float));
  int bands = a->audio.shape.d[0];
  g_assert_cmpmem (a->audio_mean, bands * sizeof (float), b->audio_mean, bands * sizeof (float));
  g_assert_cmpmem (a->audio_std, bands * sizeof (float), b->audio_std, bands * sizeof (float));
  g_assert_cmpstr (a->name, ==, b->name);
}

static char *
issues_to_string (const WeftDataset *ds)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < ds->issues->len; i++)
    {
      const WeftIssue *is = g_ptr_array_index (ds->issues, i);
      g_autofree char *line = weft_issue_to_string (is);
      g_string_append_printf (s, "%s [%s, %s]\n", line, is->file ? is->file : "-",
                              is->skipped ? "skipped" : "kept");
    }
  return g_string_free (s, FALSE);
}

static const char expected_issues[] =
  "row 3: audio/long.wav is longer than 1 s: only the first 1 s are used [audio/long.wav, kept]\n"
  "row 6: images/bad.png could not be decoded (the image file is truncated) [images/bad.png, skipped]\n"
  "row 10: audio/bad.wav could not be decoded (not an audio file) [audio/bad.wav, skipped]\n";

static WeftFeatures *
featurize_ok (WeftDataset *ds, const WeftFeatureSettings *s, const char *cache, int threads,
              Progress *p)
{
  g_autoptr(GError) error = NULL;
  WeftFeatures *f = weft_featurize (ds, s, cache, threads, p ? on_progress : NULL, p, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f);
  return f;
}

/* ---- tests ---- */

static void
test_decode_and_report (void)
{
  Folder fx;
  WeftFeatureSettings s;
  Progress p;

  folder_init (&fx);
  small_settings (&s);
  progress_init (&p);
  g_autoptr(WeftDataset) ds = folder_dataset (&fx);
  g_autoptr(WeftFeatures) f = featurize_ok (ds, &s, NULL, 2, &p);
  double seconds = (g_get_monotonic_time () - p.start) / 1e6;

  /* Rows 6 and 10 are left out, named with their file and reason. */
  g_autofree char *issues = issues_to_string (ds);
  g_assert_cmpstr (issues, ==, expected_issues);
  g_assert_cmpint (f->n_rows, ==, 10);
  const int want_index[10] = { 0, 1, 2, 3, 4, 6, 7, 8, 10, 11 };
  g_assert_cmpmem (f->sample_index, sizeof want_index, want_index, sizeof want_index);

  /* Labels and splits: given splits kept, the others assigned. */
  g_assert_cmpint (f->n_classes, ==, 3);
  g_assert_true (g_strv_equal ((const char *const *) f->class_names, animals));
  for (int r = 0; r < 10; r++)
    {
      g_assert_cmpfloat (f->label[r], ==, want_index[r] % 3);
      int want = want_index[r] == 1 ? WEFT_SPLIT_TEST : want_index[r] == 4 ? WEFT_SPLIT_VALIDATION
                                                                             : WEFT_SPLIT_TRAIN;
      g_assert_cmpint (f->split[r], ==, want);
    }

  /* Images: solid colours in [0, 1]; row 12 has none (zeros, absent). */
  g_assert_cmpint (f->image.shape.n, ==, 3);
  g_assert_cmpint (f->image.shape.d[0], ==, 3);
  g_assert_cmpint (f->image.shape.d[1], ==, 8);
  for (int r = 0; r < 10; r++)
    {
      const float *img = f->image.data + r * 3 * 64;
      gboolean present = want_index[r] != 11;
      g_assert_cmpint (f->image.present[r], ==, present);
      for (int c = 0; c < 3; c++)
        for (int k = 0; k < 64; k++)
          g_assert_cmpfloat (img[c * 64 + k], ==, present && c == want_index[r] % 3 ? 1.f : 0.f);
    }

  /* Audio: rows sharing a clip get the same features; row 8 has none. */
  gsize A = 16 * 20;
  g_assert_cmpint (f->audio.shape.d[0], ==, 16);
  g_assert_cmpint (f->audio.shape.d[1], ==, 20);
  g_assert_cmpmem (f->audio.data + 0 * A, A * sizeof (float), f->audio.data + 3 * A, A * sizeof (float));
  g_assert_true (memcmp (f->audio.data, f->audio.data + 1 * A, A * sizeof (float)) != 0);
  for (int r = 0; r < 10; r++)
    {
      gboolean present = want_index[r] != 7;
      g_assert_cmpint (f->audio.present[r], ==, present);
      for (gsize k = 0; !present && k < A; k++)
        g_assert_cmpfloat (f->audio.data[r * A + k], ==, 0);
    }
  /* Normalised on the training rows: each band has mean 0 and standard
   * deviation 1 (or is merely centred when it never varies). */
  for (int b = 0; b < 16; b++)
    {
      double s1 = 0, s2 = 0, n = 0;
      for (int r = 0; r < 10; r++)
        if (f->audio.present[r] && f->split[r] == WEFT_SPLIT_TRAIN)
          for (int t = 0; t < 20; t++)
            {
              double x = f->audio.data[r * A + b * 20 + t];
              s1 += x;
              s2 += x * x;
              n++;
            }
      g_assert_cmpfloat (fabs (s1 / n), <, 1e-4);
      double sd = sqrt (s2 / n - (s1 / n) * (s1 / n));
      if (f->audio_std[b] != 1.f)
        g_assert_cmpfloat (fabs (sd - 1), <, 1e-3);
    }

  /* The stored normalisation reproduces a row from the raw sound. */
  g_autofree char *cat = g_build_filename (fx.root, "audio", "cat.wav", NULL);
  gsize n_pcm = 0;
  gboolean truncated = TRUE;
  g_autoptr(GError) error = NULL;
  g_autofree float *pcm = weft_audio_decode (cat, 1.0, &n_pcm, &truncated, &error);
  g_assert_no_error (error);
  g_assert_false (truncated);
  g_autofree float *mel = g_new (float, A);
  weft_audio_log_mel (pcm, n_pcm, &s.mel, mel);
  g_assert_true (memcmp (mel, f->audio.data, A * sizeof (float)) != 0);
  weft_features_normalise_audio (f, mel);
  g_assert_cmpmem (mel, A * sizeof (float), f->audio.data, A * sizeof (float));

  /* Text: the vocabulary comes from training captions only, so the test
   * row's "zebra" and the validation row's "ostrich" are <unk>. */
  g_autoptr(WeftVocab) v = weft_vocab_new_from_strv ((const char *const *) f->vocab);
  g_assert_cmpint (f->vocab_size, ==, 1 + 1 + 3 + 3);  /* <unk> a, colours, animals */
  g_assert_cmpint (weft_vocab_lookup (v, "zebra"), ==, 0);
  g_assert_cmpint (weft_vocab_lookup (v, "ostrich"), ==, 0);
  g_assert_cmpint (weft_vocab_lookup (v, "a"), ==, 1);   /* the most frequent */
  const float *ids1 = f->text.data + 1 * 6;
  g_assert_cmpfloat (ids1[0], ==, 1);
  g_assert_cmpfloat (ids1[3], ==, 0);
  g_assert_cmpfloat (ids1[4], ==, -1);
  /* Row 11 has no caption: absent, all padding. */
  for (int r = 0; r < 10; r++)
    g_assert_cmpint (f->text.present[r], ==, want_index[r] != 10);
  for (int t = 0; t < 6; t++)
    g_assert_cmpfloat (f->text.data[8 * 6 + t], ==, -1);
  /* "a" is in every training caption: idf = ln(1) + 1. */
  g_assert_nonnull (f->idf);
  g_assert_cmpfloat (f->idf[1], ==, 1.f);
  g_assert_cmpfloat (f->idf[weft_vocab_lookup (v, "red")], >, 1.f);

  /* Progress: non-decreasing, ends at 1, at most about 20 reports a second
   * (plus the handful of stage messages). */
  g_assert_cmpuint (p.fractions->len, >=, 2);
  for (guint i = 1; i < p.fractions->len; i++)
    g_assert_cmpfloat (g_array_index (p.fractions, double, i), >=, g_array_index (p.fractions, double, i - 1));
  g_assert_cmpfloat (g_array_index (p.fractions, double, p.fractions->len - 1), ==, 1.0);
  g_assert_cmpuint (p.fractions->len, <=, 20 * seconds + 6);

  g_array_unref (p.fractions);
  folder_clear (&fx);
}

/* The same folder read through its manifest by weft_dataset_open: the
 * decode issues name the manifest rows and the files as written there. */
static void
test_manifest_folder (void)
{
  Folder fx;
  WeftFeatureSettings s;
  g_autoptr(GError) error = NULL;

  folder_init (&fx);
  small_settings (&s);
  GString *csv = g_string_new ("image_file_name,audio_file_name,text,label\n");
  for (int row = 1; row <= 12; row++)
    g_string_append_printf (csv, "%s,%s,a %s,%s\n",
                            row == 6 ? "images/bad.png" : row == 12 ? "" : "images/img1.png",
                            row == 10 ? "audio/bad.wav" : "audio/cat.wav",
                            colour_words[row % 3], animals[row % 3]);
  g_autofree char *manifest = g_build_filename (fx.root, "metadata.csv", NULL);
  g_file_set_contents (manifest, csv->str, csv->len, &error);
  g_assert_no_error (error);
  g_string_free (csv, TRUE);

  g_autoptr(WeftDataset) ds = weft_dataset_open (fx.root, NULL, NULL, &error);
  g_assert_no_error (error);
  guint before = ds->issues->len;
  g_autoptr(WeftFeatures) f = featurize_ok (ds, &s, NULL, 2, NULL);
  g_autoptr(GString) got = g_string_new (NULL);
  for (guint i = before; i < ds->issues->len; i++)
    {
      g_autofree char *line = weft_issue_to_string (g_ptr_array_index (ds->issues, i));
      g_string_append_printf (got, "%s\n", line);
    }
  g_assert_cmpstr (got->str, ==,
                   "row 6: images/bad.png could not be decoded (the image file is truncated)\n"
                   "row 10: audio/bad.wav could not be decoded (not an audio file)\n");
  g_assert_cmpint (f->n_rows, ==, 10);
  g_assert_cmpint (f->n_classes, ==, 3);
  folder_clear (&fx);
}

static void
test_threads_agree (void)
{
  Folder fx;
  WeftFeatureSettings s;

  folder_init (&fx);
  small_settings (&s);
  g_autoptr(WeftDataset) a = folder_dataset (&fx);
  g_autoptr(WeftDataset) b = folder_dataset (&fx);
  g_autoptr(WeftFeatures) one = featurize_ok (a, &s, NULL, 1, NULL);
  g_autoptr(WeftFeatures) many = featurize_ok (b, &s, NULL, 4, NULL);
  assert_features_equal (one, many);
  g_autofree char *ia = issues_to_string (a);
  g_autofree char *ib = issues_to_string (b);
  g_assert_cmpstr (ia, ==, ib);
  folder_clear (&fx);
}

static void
test_splits_stratified (void)
{
  WeftFeatureSettings s;
  weft_feature_settings_init (&s);
  s.val_share = 0.2;
  s.test_share = 0.1;

  /* Text only (nothing to decode): 60 "a" and 40 "b" rows, and 10 rows
   * that already carry a split. */
  g_autoptr(WeftDataset) ds = dataset_new ("/nonexistent");
  ds->labels = g_strdupv ((char *[]) { "a", "b", NULL });
  for (int i = 0; i < 110; i++)
    dataset_add (ds, NULL, NULL, "words", i < 60 ? "a" : i < 100 ? "b" : "a",
                 i < 100 ? -1 : WEFT_SPLIT_TEST);
  g_autoptr(WeftFeatures) f = featurize_ok (ds, &s, NULL, 0, NULL);
  int count[2][3] = { { 0 } };
  for (int r = 0; r < 100; r++)
    count[(int) f->label[r]][f->split[r]]++;
  g_assert_cmpint (count[0][WEFT_SPLIT_VALIDATION], ==, 12);
  g_assert_cmpint (count[0][WEFT_SPLIT_TEST], ==, 6);
  g_assert_cmpint (count[1][WEFT_SPLIT_VALIDATION], ==, 8);
  g_assert_cmpint (count[1][WEFT_SPLIT_TEST], ==, 4);
  for (int r = 100; r < 110; r++)
    g_assert_cmpint (f->split[r], ==, WEFT_SPLIT_TEST);

  /* The same seed gives the same split; another seed another one. */
  g_autoptr(WeftFeatures) again = featurize_ok (ds, &s, NULL, 0, NULL);
  g_assert_cmpmem (f->split, 110, again->split, 110);
  s.split_seed = 2;
  g_autoptr(WeftFeatures) other = featurize_ok (ds, &s, NULL, 0, NULL);
  g_assert_true (memcmp (f->split, other->split, 110) != 0);
  g_assert_null (f->image.data);
  g_assert_null (f->audio.data);
}

static void
test_cancel (void)
{
  Folder fx;
  WeftFeatureSettings s;
  Progress p;
  g_autoptr(GError) error = NULL;

  folder_init (&fx);
  small_settings (&s);

  /* Enough rows that decoding all of them on one thread takes far longer
   * (about 100 us each, 2 s in all) than the 1 s allowed to stop. */
  g_autoptr(WeftDataset) ds = dataset_new (fx.root);
  for (int i = 0; i < 20000; i++)
    dataset_add (ds, "images/img1.png", NULL, "x", NULL, -1);
  g_autoptr(GCancellable) c = g_cancellable_new ();
  progress_init (&p);
  p.cancel_on_decode = c;
  g_autoptr(WeftFeatures) f = weft_featurize (ds, &s, fx.cache, 1, on_progress, &p, c, &error);
  gint64 end = g_get_monotonic_time ();
  g_assert_null (f);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (p.cancelled_at, >, 0);
  g_assert_cmpint (end - p.cancelled_at, <, G_USEC_PER_SEC);
  g_assert_cmpuint (ds->issues->len, ==, 0);
  g_assert_cmpint (count_files (fx.cache, ".wfc"), ==, 0);
  g_clear_error (&error);

  /* Cancelled before it starts: nothing is done at all. */
  g_autoptr(WeftFeatures) none = weft_featurize (ds, &s, fx.cache, 1, NULL, NULL, c, &error);
  g_assert_null (none);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  g_array_unref (p.fractions);
  folder_clear (&fx);
}

static WeftFeatures *
cached_run (const Folder *fx, const WeftFeatureSettings *s, const WeftFeatures *want,
            gboolean expect_hit)
{
  g_autoptr(WeftDataset) ds = folder_dataset (fx);
  Progress p;
  progress_init (&p);
  WeftFeatures *f = featurize_ok (ds, s, fx->cache, 2, &p);
  g_assert_true ((f->mapping != NULL) == expect_hit);
  if (want)
    assert_features_equal (want, f);
  /* The decode issues come back with the cached features. */
  g_autofree char *issues = issues_to_string (ds);
  g_assert_cmpstr (issues, ==, expected_issues);
  g_assert_cmpfloat (g_array_index (p.fractions, double, p.fractions->len - 1), ==, 1.0);
  g_array_unref (p.fractions);
  return f;
}

static void
touch (const char *path, int seconds)
{
  GStatBuf st;
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  struct utimbuf t = { st.st_atime, st.st_mtime + seconds };
  g_assert_cmpint (g_utime (path, &t), ==, 0);
}

static void
test_cache (void)
{
  Folder fx;
  WeftFeatureSettings s;

  folder_init (&fx);
  small_settings (&s);

  g_autoptr(WeftFeatures) first = cached_run (&fx, &s, NULL, FALSE);
  g_autofree char *file = only_cache_file (fx.cache);

  /* Reopening maps the file: bit-identical, nothing decoded. */
  g_autoptr(WeftFeatures) hit = cached_run (&fx, &s, first, TRUE);
  g_assert_true (hit->image.data != first->image.data);
  const char *base = g_mapped_file_get_contents (hit->mapping);
  g_assert_true ((const char *) hit->image.data > base);
  g_assert_true ((const char *) hit->audio.data > base);

  /* The mapping is private: re-splitting in memory leaves the file alone. */
  weft_features_carve_validation (hit, 0.5, 3);
  g_assert_true (memcmp (hit->split, first->split, hit->n_rows) != 0);
  g_autoptr(WeftFeatures) hit2 = cached_run (&fx, &s, first, TRUE);

  /* A truncated cache file is ignored (recomputed, rewritten), no crash. */
  GStatBuf st;
  g_assert_cmpint (g_stat (file, &st), ==, 0);
  g_assert_cmpint (truncate (file, st.st_size / 2), ==, 0);
  g_autoptr(WeftFeatures) after_cut = cached_run (&fx, &s, first, FALSE);
  GStatBuf st2;
  g_assert_cmpint (g_stat (file, &st2), ==, 0);
  g_assert_cmpint (st2.st_size, ==, st.st_size);
  g_autoptr(WeftFeatures) rehit = cached_run (&fx, &s, first, TRUE);

  /* A file's new mtime is a new dataset: recomputed, cached anew. */
  g_autofree char *img = g_build_filename (fx.root, "images", "img4.png", NULL);
  touch (img, 10);
  g_autoptr(WeftFeatures) touched = cached_run (&fx, &s, first, FALSE);
  g_assert_cmpint (count_files (fx.cache, ".wfc"), ==, 2);
  g_autoptr(WeftFeatures) touched_hit = cached_run (&fx, &s, first, TRUE);

  /* So is another setting. */
  WeftFeatureSettings s8 = s;
  s8.text_length = 8;
  g_autoptr(WeftFeatures) longer = cached_run (&fx, &s8, NULL, FALSE);
  g_assert_cmpint (longer->text.shape.d[0], ==, 8);
  g_assert_cmpint (count_files (fx.cache, ".wfc"), ==, 3);

  /* No temporary file is left behind: the folder holds the caches only. */
  g_assert_cmpint (count_files (fx.cache, ""), ==, 3);
  folder_clear (&fx);
}

/* Every header field of a feature file damaged in turn, and the file cut
 * at many lengths: weft_features_map refuses each, never crashes. */
static void
test_damaged_files (void)
{
  Folder fx;
  WeftFeatureSettings s;
  g_autoptr(GError) error = NULL;

  folder_init (&fx);
  small_settings (&s);
  g_autoptr(WeftFeatures) f = cached_run (&fx, &s, NULL, FALSE);
  g_autofree char *file = only_cache_file (fx.cache);
  g_autofree char *good = NULL;
  gsize len = 0;
  g_file_get_contents (file, &good, &len, NULL);
  g_autofree char *copy = g_build_filename (fx.root, "damaged.wfc", NULL);

  /* Sanity: the intact copy maps. */
  g_file_set_contents (copy, good, len, &error);
  g_assert_no_error (error);
  g_autoptr(WeftFeatures) intact = weft_features_map (copy, NULL, &error);
  g_assert_no_error (error);
  assert_features_equal (f, intact);

  g_autofree char *bad = g_memdup2 (good, len);
  for (gsize pos = 0; pos < 256; pos += 4)
    {
      /* The reserved word and unused trailing shape dims carry nothing. */
      if (pos == 92 || (pos >= 32 + 4 + 4 * 3 && pos < 52) || (pos >= 52 + 4 + 4 * 2 && pos < 72)
          || (pos >= 72 + 4 + 4 * 1 && pos < 92))
        continue;
      for (int variant = 0; variant < 3; variant++)
        {
          static const guint32 values[3] = { 0xffffffff, 0x00000001, 0x7fffff40 };
          memcpy (bad, good, len);
          memcpy (bad + pos, &values[variant], 4);
          if (memcmp (bad + pos, good + pos, 4) == 0)
            continue;
          g_file_set_contents (copy, bad, len, &error);
          g_assert_no_error (error);
          WeftFeatures *m = weft_features_map (copy, NULL, &error);
          if (m != NULL)
            g_error ("header byte %" G_GSIZE_FORMAT " set to %08x was accepted", pos, values[variant]);
          g_assert_error (error, WEFT_ERROR, WEFT_ERROR_DATA);
          g_clear_error (&error);
        }
    }
  for (gsize cut = 0; cut < len; cut += 1 + cut / 3)
    {
      g_file_set_contents (copy, good, cut, &error);
      g_assert_no_error (error);
      WeftFeatures *m = weft_features_map (copy, NULL, &error);
      g_assert_null (m);
      g_assert_nonnull (error);
      g_clear_error (&error);
    }
  /* A token id outside the vocabulary (in the data, not the header). */
  memcpy (bad, good, len);
  guint64 text_off;
  memcpy (&text_off, good + 96 + 16 * 4, 8);
  float huge = 1e6f;
  memcpy (bad + GUINT64_FROM_LE (text_off), &huge, 4);
  g_file_set_contents (copy, bad, len, &error);
  g_assert_no_error (error);
  g_assert_null (weft_features_map (copy, NULL, &error));
  g_assert_error (error, WEFT_ERROR, WEFT_ERROR_DATA);
  g_clear_error (&error);
  g_assert_null (weft_features_map ("/nonexistent/x.wfc", NULL, &error));
  g_assert_error (error, WEFT_ERROR, WEFT_ERROR_IO);

  folder_clear (&fx);
}

/* Bag-of-words batches are TF-IDF when the features carry idf weights. */
static void
test_gather_tfidf (void)
{
  static const char spec_json[] =
    "{\"weft_model\": 1, \"inputs\": [{\"id\": \"t\", \"modality\": \"text\", \"text_form\": \"bow\"},"
    " {\"id\": \"label\", \"modality\": \"label\"}],"
    " \"nodes\": [{\"id\": \"cls\", \"type\": \"classifier\", \"inputs\": [\"t\"]},"
    " {\"id\": \"ce\", \"type\": \"cross_entropy\", \"inputs\": [\"cls\", \"label\"]}],"
    " \"losses\": [{\"node\": \"ce\", \"weight\": 1.0}]}";
  g_autoptr(GError) error = NULL;
  g_autoptr(WeftFeatures) f = weft_features_new (2);
  float *ids = weft_features_add_column (f, WEFT_MODALITY_TEXT, weft_shape_1 (4));
  /* As many ids per caption as words in the vocabulary: the input's
   * text_form, not the widths, says that a bag of words is wanted. */
  const float rows[8] = { 1, 1, 2, -1, 3, -1, -1, -1 };
  memcpy (ids, rows, sizeof rows);
  f->vocab_size = 4;
  float *y = weft_features_add_column (f, WEFT_MODALITY_LABEL, weft_shape_1 (1));
  y[1] = 1;
  f->n_classes = 2;

  g_autoptr(WeftSpec) spec = weft_spec_parse_data (spec_json, -1, &error);
  g_assert_no_error (error);
  WeftBinding b;
  weft_features_get_binding (f, &b);
  g_autoptr(WeftGraph) g = weft_graph_compile (spec, &b, &error);
  g_assert_no_error (error);
  weft_graph_allocate (g, 2, 1);
  gsize size = 0;
  float *in = weft_graph_get_input (g, WEFT_MODALITY_TEXT, &size);
  g_assert_cmpuint (size, ==, 4);
  const int idx[2] = { 0, 1 };

  /* Without weights: frequencies. */
  weft_features_gather (f, g, idx, 2);
  const float tf[8] = { 0, 2.f / 3, 1.f / 3, 0, 0, 0, 0, 1 };
  for (int k = 0; k < 8; k++)
    g_assert_cmpfloat_with_epsilon (in[k], tf[k], 1e-7);

  /* With weights: what weft_text_bow gives, L2-normalised. */
  f->idf = g_new (float, 4);
  const float idf[4] = { 2.5f, 1.0f, 2.0f, 1.5f };
  memcpy (f->idf, idf, sizeof idf);
  weft_features_gather (f, g, idx, 2);
  float want[8];
  weft_text_bow (rows, 4, 4, idf, want);
  weft_text_bow (rows + 4, 4, 4, idf, want + 4);
  g_assert_cmpmem (in, sizeof want, want, sizeof want);
  g_assert_cmpfloat_with_epsilon (in[1], (2.0 / 3) / sqrt (pow (2.0 / 3, 2) + pow (2.0 / 3, 2)), 1e-6);
  g_assert_cmpfloat (in[7], ==, 1.f);
}

static void
test_settings_json (void)
{
  WeftFeatureSettings s, t;
  g_autoptr(GError) error = NULL;

  weft_feature_settings_init (&s);
  s.image_size = 28;
  s.image_channels = 1;
  s.mel.frames = 50;
  s.split_seed = 42;
  g_autoptr(JsonObject) o = weft_feature_settings_to_json (&s);
  weft_feature_settings_init (&t);
  g_assert_true (weft_feature_settings_from_json (&t, o, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (&s, sizeof s, &t, sizeof t);

  json_object_set_int_member (o, "image_channels", 2);
  g_assert_false (weft_feature_settings_from_json (&t, o, &error));
  g_assert_error (error, WEFT_ERROR, WEFT_ERROR_ARGS);
  g_clear_error (&error);
  json_object_set_int_member (o, "image_channels", 1);
  json_object_set_string_member (o, "frames", "many");
  g_assert_false (weft_feature_settings_from_json (&t, o, &error));
  g_assert_error (error, WEFT_ERROR, WEFT_ERROR_ARGS);
  g_assert_nonnull (strstr (error->message, "frames"));
  /* A refused object leaves the settings as they were. */
  g_assert_cmpmem (&s, sizeof s, &t, sizeof t);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/featurize/decode-and-report", test_decode_and_report);
  g_test_add_func ("/featurize/manifest-folder", test_manifest_folder);
  g_test_add_func ("/featurize/threads-agree", test_threads_agree);
  g_test_add_func ("/featurize/splits-stratified", test_splits_stratified);
  g_test_add_func ("/featurize/cancel", test_cancel);
  g_test_add_func ("/featurize/cache", test_cache);
  g_test_add_func ("/featurize/damaged-cache-files", test_damaged_files);
  g_test_add_func ("/featurize/gather-tfidf", test_gather_tfidf);
  g_test_add_func ("/featurize/settings-json", test_settings_json);
  return g_test_run ();
}
