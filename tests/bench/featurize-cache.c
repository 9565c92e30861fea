/* featurize-cache.c — times reopening a featurised 70,000-item dataset:
 * weft_dataset_open (manifest, every path checked) plus weft_featurize on
 * a cache hit (a stat of every file for the key, then the memory map),
 * which together must take < 1 s on 2 cores.
 *
 * Usage: featurize-cache-bin [DIR [ROWS]]   (default /tmp/weft-bench-av70k, 70000)
 *        featurize-cache-bin --dataset DIR [REPEATS]
 * The first form builds an AV-Fashion-MNIST-sized folder on its first run
 * (70,000 rows of a 28x28 grey PNG, a clip from a pool of 300 hand-written
 * PCM WAVs, a caption) and reuses it afterwards; its cache lives in
 * DIR.cache and is emptied first, so that the first featurisation is
 * always a miss. The second form reopens an existing folder (the full
 * AV-Fashion-MNIST set) with the app's default settings and cache folder,
 * featurising it first if the cache has no entry. Prints name=value lines:
 *   open_s             weft_dataset_open
 *   first_featurize_s  decode everything, write the cache (first form, or
 *                      a miss in the second)
 *   reopen_s           weft_featurize on a cache hit
 *   reopen_total_s     opening the dataset again plus reopen_s: the best of
 *                      REPEATS (default 3) on a loaded machine
 *   reopen_total_cpu_s the CPU time of that reopen, which other work on
 *                      the machine does not inflate
 *   cache_file         the feature file, for the peer (featurize-peer.py) */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "data/weft-featurize.h"

#define N_CLASSES 10
#define CLIPS_PER_CLASS 30

static const char *const classes[N_CLASSES] = {
  "tshirt", "trouser", "pullover", "dress", "coat",
  "sandal", "shirt", "sneaker", "bag", "boot",
};

static void
die (const char *what, GError *error)
{
  g_printerr ("featurize-cache: %s: %s\n", what, error ? error->message : "failed");
  exit (1);
}

static void
write_wav (const char *path, double freq, double seconds)
{
  int n = (int) (seconds * 16000);
  gsize len = 44 + 2 * (gsize) n;
  g_autofree guint8 *b = g_malloc (len);
  guint32 u32;
  guint16 u16;
#define PUT32(off, v) (u32 = GUINT32_TO_LE (v), memcpy (b + (off), &u32, 4))
#define PUT16(off, v) (u16 = GUINT16_TO_LE (v), memcpy (b + (off), &u16, 2))
  memcpy (b, "RIFF", 4);
  PUT32 (4, len - 8);
  memcpy (b + 8, "WAVEfmt ", 8);
  PUT32 (16, 16);
  PUT16 (20, 1);
  PUT16 (22, 1);
  PUT32 (24, 16000);
  PUT32 (28, 32000);
  PUT16 (32, 2);
  PUT16 (34, 16);
  memcpy (b + 36, "data", 4);
  PUT32 (40, 2 * n);
  for (int i = 0; i < n; i++)
    PUT16 (44 + 2 * i, (guint16) (gint16) (8000 * sin (2 * G_PI * freq * i / 16000.0)));
  GError *error = NULL;
  if (!g_file_set_contents (path, (const char *) b, len, &error))
    die (path, error);
}

static void
write_bytes (const char *path, const char *data, gsize len)
{
  FILE *fp = fopen (path, "wb");
  if (fp == NULL || fwrite (data, 1, len, fp) != len || fclose (fp) != 0)
    die (path, NULL);
}

static void
build_folder (const char *dir, int rows)
{
  GError *error = NULL;
  g_autofree char *images = g_build_filename (dir, "images", NULL);
  g_autofree char *audio = g_build_filename (dir, "audio", NULL);
  char *png[N_CLASSES];
  gsize png_len[N_CLASSES];

  g_mkdir_with_parents (images, 0755);
  g_mkdir_with_parents (audio, 0755);
  for (int c = 0; c < N_CLASSES; c++)
    {
      /* One grey 28x28 picture per class (a bar whose height is the class). */
      g_autoptr(GdkPixbuf) pb = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 28, 28);
      guint8 *px = gdk_pixbuf_get_pixels (pb);
      int rs = gdk_pixbuf_get_rowstride (pb);
      for (int y = 0; y < 28; y++)
        for (int x = 0; x < 28; x++)
          memset (px + y * rs + 3 * x, (y < 2 * (c + 2) && x > 6 && x < 22) ? 230 : 20, 3);
      if (!gdk_pixbuf_save_to_buffer (pb, &png[c], &png_len[c], "png", &error, NULL))
        die ("PNG", error);
      for (int k = 0; k < CLIPS_PER_CLASS; k++)
        {
          g_autofree char *p = g_strdup_printf ("%s/%s_%02d.wav", audio, classes[c], k);
          write_wav (p, 200 + 150 * c + 7 * k, 0.6 + 0.01 * k);
        }
    }

  GString *csv = g_string_new ("image_file_name,audio_file_name,text,label,split\n");
  GRand *r = g_rand_new_with_seed (1);
  for (int i = 0; i < rows; i++)
    {
      int c = i % N_CLASSES;
      g_autofree char *p = g_strdup_printf ("%s/%05d.png", images, i);
      write_bytes (p, png[c], png_len[c]);
      /* Sixteen words, some shared, some rare, so the vocabulary has a
       * realistic long tail. */
      g_string_append_printf (csv,
                              "images/%05d.png,audio/%s_%02d.wav,"
                              "a picture of a %s seen from the front with word%d and word%d on a plain background,"
                              "%s,%s\n",
                              i, classes[c], g_rand_int_range (r, 0, CLIPS_PER_CLASS), classes[c],
                              g_rand_int_range (r, 0, 200), g_rand_int_range (r, 0, 5000), classes[c],
                              i < rows * 6 / 7 ? "train" : "test");
    }
  g_rand_free (r);
  g_autofree char *manifest = g_build_filename (dir, "metadata.csv", NULL);
  write_bytes (manifest, csv->str, csv->len);
  g_string_free (csv, TRUE);
  for (int c = 0; c < N_CLASSES; c++)
    g_free (png[c]);
  g_autofree char *stamp = g_build_filename (dir, ".complete", NULL);
  write_bytes (stamp, "", 0);
}

static void
empty_dir (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)))
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);
      g_unlink (p);
    }
  if (d)
    g_dir_close (d);
}

static double
cpu_seconds (void)
{
  struct timespec t;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static WeftDataset *
open_dataset (const char *dir, double *seconds)
{
  GError *error = NULL;
  gint64 t0 = g_get_monotonic_time ();
  /* As the app and weft-cli open a dataset for training: image sizes are
   * checked when each image is decoded, not by a second header pass. */
  WeftDatasetLimits limits;
  weft_dataset_limits_init (&limits);
  limits.probe_images = FALSE;
  WeftDataset *ds = weft_dataset_open (dir, &limits, NULL, &error);
  *seconds = (g_get_monotonic_time () - t0) / 1e6;
  if (ds == NULL)
    die (dir, error);
  return ds;
}

/* Opens dir and featurises it from the cache, repeats times; prints the
 * best reopen and its parts. */
static void
time_reopens (const char *dir, const WeftFeatureSettings *s, const char *cache, int repeats)
{
  double best = G_MAXDOUBLE, best_cpu = 0, best_open = 0, best_map = 0;
  g_autofree char *cache_file = NULL;
  for (int k = 0; k < repeats; k++)
    {
      GError *error = NULL;
      double open_s, c0 = cpu_seconds ();
      WeftDataset *ds = open_dataset (dir, &open_s);
      gint64 t0 = g_get_monotonic_time ();
      WeftFeatures *f = weft_featurize (ds, s, cache, 0, NULL, NULL, NULL, &error);
      double map_s = (g_get_monotonic_time () - t0) / 1e6;
      double cpu = cpu_seconds () - c0;
      if (f == NULL)
        die ("featurize (cached)", error);
      if (f->mapping == NULL)
        die ("featurize (cached): not a cache hit", NULL);
      if (open_s + map_s < best)
        best = open_s + map_s, best_cpu = cpu, best_open = open_s, best_map = map_s;
      if (cache_file == NULL)
        {
          cache_file = weft_featurize_dup_cache_path (ds, s, cache);
          printf ("rows=%d vocab=%d issues=%u\n", f->n_rows, f->vocab_size, ds->issues->len);
        }
      weft_features_free (f);
      weft_dataset_free (ds);
    }
  printf ("open_s=%.3f\n", best_open);
  printf ("reopen_s=%.3f\n", best_map);
  printf ("reopen_total_s=%.3f\n", best);
  printf ("reopen_total_cpu_s=%.3f\n", best_cpu);
  printf ("cache_file=%s\n", cache_file);
}

/* An existing folder with the app's default settings and cache. */
static int
bench_dataset (const char *dir, int repeats)
{
  GError *error = NULL;
  WeftFeatureSettings s;
  weft_feature_settings_init (&s);
  g_autofree char *cache = weft_features_default_cache_dir ();
  double open_s;
  WeftDataset *ds = open_dataset (dir, &open_s);
  gint64 t0 = g_get_monotonic_time ();
  WeftFeatures *f = weft_featurize (ds, &s, cache, 0, NULL, NULL, NULL, &error);
  if (f == NULL)
    die ("featurize", error);
  if (f->mapping == NULL)
    printf ("first_featurize_s=%.2f\n", (g_get_monotonic_time () - t0) / 1e6);
  weft_features_free (f);
  weft_dataset_free (ds);
  time_reopens (dir, &s, cache, repeats);
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc > 2 && g_str_equal (argv[1], "--dataset"))
    return bench_dataset (argv[2], argc > 3 ? MAX (atoi (argv[3]), 1) : 3);

  const char *dir = argc > 1 ? argv[1] : "/tmp/weft-bench-av70k";
  int rows = argc > 2 ? atoi (argv[2]) : 70000;
  g_autofree char *stamp = g_build_filename (dir, ".complete", NULL);
  g_autofree char *cache = g_strconcat (dir, ".cache", NULL);
  GError *error = NULL;
  WeftFeatureSettings s;
  double open_s;

  if (!g_file_test (stamp, G_FILE_TEST_EXISTS))
    {
      gint64 t0 = g_get_monotonic_time ();
      build_folder (dir, rows);
      printf ("build_s=%.2f\n", (g_get_monotonic_time () - t0) / 1e6);
    }
  empty_dir (cache);

  weft_feature_settings_init (&s);
  s.image_size = 28;
  s.image_channels = 1;
  s.text_length = 16;   /* 40 x 100 log-mel is the default */

  WeftDataset *ds = open_dataset (dir, &open_s);
  gint64 t0 = g_get_monotonic_time ();
  WeftFeatures *f = weft_featurize (ds, &s, cache, 0, NULL, NULL, NULL, &error);
  double first_s = (g_get_monotonic_time () - t0) / 1e6;
  if (f == NULL)
    die ("featurize", error);
  weft_features_free (f);
  weft_dataset_free (ds);
  printf ("first_open_s=%.3f\n", open_s);
  printf ("first_featurize_s=%.2f\n", first_s);
  time_reopens (dir, &s, cache, 3);
  return 0;
}
