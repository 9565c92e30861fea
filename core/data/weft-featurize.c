/* weft-featurize.c — a dataset's samples to WeftFeatures: images and sounds
 * decoded in parallel, splits, vocabulary, audio normalisation, and the
 * feature cache that makes reopening a memory map. */
#include "weft-featurize.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "data/weft-image.h"
#include "data/weft-text.h"
#include "weft-error.h"

/* Bumped whenever featurisation changes its output for the same input, so
 * that old cache files are not reused. */
#define CACHE_GENERATION "weft-features-cache 1"
#define PROGRESS_INTERVAL_US (G_USEC_PER_SEC / 20)
/* Share of the progress bar spent decoding; text, statistics and the cache
 * write share the rest. */
#define DECODE_SHARE 0.9

/* ---- settings ---- */

void
weft_feature_settings_init (WeftFeatureSettings *s)
{
  memset (s, 0, sizeof *s);
  s->image_size = 32;
  s->image_channels = 3;
  weft_mel_settings_init (&s->mel);
  s->text_length = 16;
  s->vocab_min_count = 1;
  s->vocab_max_size = 5000;
  s->val_share = 0.1;
  s->test_share = 0.1;
  s->split_seed = 1;
}

JsonObject *
weft_feature_settings_to_json (const WeftFeatureSettings *s)
{
  JsonObject *o = json_object_new ();
  /* A fixed member order: the string form is part of the cache key. */
  json_object_set_int_member (o, "image_size", s->image_size);
  json_object_set_int_member (o, "image_channels", s->image_channels);
  json_object_set_int_member (o, "mel_bands", s->mel.mel_bands);
  json_object_set_double_member (o, "window_ms", s->mel.window_ms);
  json_object_set_double_member (o, "hop_ms", s->mel.hop_ms);
  json_object_set_int_member (o, "frames", s->mel.frames);
  json_object_set_int_member (o, "text_length", s->text_length);
  json_object_set_int_member (o, "vocab_min_count", s->vocab_min_count);
  json_object_set_int_member (o, "vocab_max_size", s->vocab_max_size);
  json_object_set_double_member (o, "val_share", s->val_share);
  json_object_set_double_member (o, "test_share", s->test_share);
  json_object_set_int_member (o, "split_seed", (gint64) s->split_seed);
  return o;
}

static gboolean
read_number (JsonObject *o, const char *key, gboolean integer, double lo, double hi,
             double *value, GError **error)
{
  JsonNode *n = json_object_get_member (o, key);
  if (n == NULL)
    return TRUE;
  GType t = JSON_NODE_HOLDS_VALUE (n) ? json_node_get_value_type (n) : G_TYPE_INVALID;
  if (t != G_TYPE_INT64 && !(t == G_TYPE_DOUBLE && !integer))
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_ARGS, "feature settings: %s must be %s",
                   key, integer ? "a whole number" : "a number");
      return FALSE;
    }
  double v = t == G_TYPE_INT64 ? (double) json_node_get_int (n) : json_node_get_double (n);
  if (!(v >= lo && v <= hi))
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_ARGS,
                   "feature settings: %s must be between %g and %g (it is %g)", key, lo, hi, v);
      return FALSE;
    }
  *value = v;
  return TRUE;
}

gboolean
weft_feature_settings_from_json (WeftFeatureSettings *s, JsonObject *o, GError **error)
{
  g_return_val_if_fail (s != NULL && o != NULL, FALSE);
  WeftFeatureSettings t = *s;
  double v[12] = {
    t.image_size, t.image_channels, t.mel.mel_bands, t.mel.window_ms, t.mel.hop_ms,
    t.mel.frames, t.text_length, t.vocab_min_count, t.vocab_max_size, t.val_share,
    t.test_share, (double) t.split_seed,
  };
  /* Members absent from o keep the values s held. */
  if (!read_number (o, "image_size", TRUE, 4, 1024, &v[0], error)
      || !read_number (o, "image_channels", TRUE, 1, 3, &v[1], error)
      || !read_number (o, "mel_bands", TRUE, 1, 256, &v[2], error)
      || !read_number (o, "window_ms", FALSE, 1, 1000, &v[3], error)
      || !read_number (o, "hop_ms", FALSE, 1, 1000, &v[4], error)
      || !read_number (o, "frames", TRUE, 1, 100000, &v[5], error)
      || !read_number (o, "text_length", TRUE, 0, 4096, &v[6], error)
      || !read_number (o, "vocab_min_count", TRUE, 1, G_MAXINT, &v[7], error)
      || !read_number (o, "vocab_max_size", TRUE, 2, G_MAXINT, &v[8], error)
      || !read_number (o, "val_share", FALSE, 0, 0.9, &v[9], error)
      || !read_number (o, "test_share", FALSE, 0, 0.9, &v[10], error))
    return FALSE;
  if ((int) v[1] == 2)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_ARGS,
                   "feature settings: image_channels must be 1 (grey) or 3 (colour)");
      return FALSE;
    }
  if (v[9] + v[10] >= 1)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_ARGS,
                   "feature settings: val_share + test_share must leave rows for training");
      return FALSE;
    }
  JsonNode *seed = json_object_get_member (o, "split_seed");
  if (seed)
    {
      if (!JSON_NODE_HOLDS_VALUE (seed) || json_node_get_value_type (seed) != G_TYPE_INT64)
        {
          g_set_error (error, WEFT_ERROR, WEFT_ERROR_ARGS, "feature settings: split_seed must be a whole number");
          return FALSE;
        }
      t.split_seed = (guint64) json_node_get_int (seed);
    }
  t.image_size = v[0];
  t.image_channels = v[1];
  t.mel.mel_bands = v[2];
  t.mel.window_ms = v[3];
  t.mel.hop_ms = v[4];
  t.mel.frames = v[5];
  t.text_length = v[6];
  t.vocab_min_count = v[7];
  t.vocab_max_size = v[8];
  t.val_share = v[9];
  t.test_share = v[10];
  *s = t;
  return TRUE;
}

char *
weft_features_default_cache_dir (void)
{
  return g_build_filename (g_get_user_cache_dir (), "weft", "features", NULL);
}

/* ---- helpers ---- */

/* The path as the user sees it in the dataset: relative to the root. */
static const char *
relative_path (const WeftDataset *ds, const char *path)
{
  gsize n = ds->root ? strlen (ds->root) : 0;
  if (n > 0 && g_str_has_prefix (path, ds->root) && path[n] == G_DIR_SEPARATOR)
    return path + n + 1;
  return path;
}

static void
report (WeftProgressFunc progress, gpointer user_data, double fraction, const char *fmt, ...) G_GNUC_PRINTF (4, 5);

static void
report (WeftProgressFunc progress, gpointer user_data, double fraction, const char *fmt, ...)
{
  if (progress == NULL)
    return;
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  progress (CLAMP (fraction, 0.0, 1.0), msg, user_data);
}

/* Limits the caller left at zero take the defaults, so a hand-made
 * dataset cannot switch the size checks off by accident. */
static WeftDatasetLimits
effective_limits (const WeftDataset *ds)
{
  WeftDatasetLimits d, l = ds->limits;
  weft_dataset_limits_init (&d);
  if (l.max_image_pixels <= 0)
    l.max_image_pixels = d.max_image_pixels;
  if (!(l.max_audio_seconds > 0))
    l.max_audio_seconds = d.max_audio_seconds;
  return l;
}

/* ---- cache key ---- */

static void
hash_string (GChecksum *ck, const char *s)
{
  /* A NULL and an empty string hash differently; the terminator keeps
   * "ab"+"c" apart from "a"+"bc". */
  guint8 tag = s ? 1 : 0;
  g_checksum_update (ck, &tag, 1);
  if (s)
    g_checksum_update (ck, (const guchar *) s, strlen (s) + 1);
}

/* What the key records of one file. */
typedef struct {
  gint64 size, mtime_s, mtime_ns;
  gint32 ok, pad;
} FileStamp;

typedef struct {
  const char **paths;        /* (n) distinct paths, borrowed */
  FileStamp *stamps;         /* (n) */
  int n;
  gint next;                 /* atomic: next block to stat */
  GCancellable *cancellable;
} StatJob;

#define STAT_BLOCK 512

static gpointer
stat_worker (gpointer data)
{
  StatJob *job = data;
  for (;;)
    {
      int start = g_atomic_int_add (&job->next, STAT_BLOCK);
      if (start >= job->n || g_cancellable_is_cancelled (job->cancellable))
        break;
      for (int i = start; i < MIN (start + STAT_BLOCK, job->n); i++)
        {
          GStatBuf sb;
          FileStamp *st = &job->stamps[i];
          memset (st, 0, sizeof *st);
          if (g_stat (job->paths[i], &sb) != 0)
            continue;
          st->ok = 1;
          st->size = sb.st_size;
          st->mtime_s = sb.st_mtime;
#if defined(__linux__)
          /* Sub-second precision, so that an edit within the same second
           * as the previous featurisation still invalidates the cache. */
          st->mtime_ns = sb.st_mtim.tv_nsec;
#endif
        }
    }
  return NULL;
}

/* Stats every distinct file of the dataset, on several threads: for a
 * dataset of 70,000 images the stat calls are most of the cost of a cache
 * hit. stamp_of[2 i] / [2 i + 1] index sample i's image / audio stamp (-1:
 * none). FALSE when cancelled. */
static gboolean
stat_files (const WeftDataset *ds, FileStamp **stamps_out, int **stamp_of_out,
            GCancellable *cancellable)
{
  guint n_samples = ds->samples->len;
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree int *stamp_of = g_new (int, 2 * (gsize) MAX (n_samples, 1));
  StatJob job = { 0 };

  job.paths = g_new (const char *, 2 * (gsize) MAX (n_samples, 1));
  job.cancellable = cancellable;
  for (guint i = 0; i < n_samples; i++)
    {
      const WeftSample *x = g_ptr_array_index (ds->samples, i);
      const char *files[2] = { x->image, x->audio };
      for (int k = 0; k < 2; k++)
        {
          gpointer idx;
          if (files[k] == NULL)
            stamp_of[2 * i + k] = -1;
          else if (g_hash_table_lookup_extended (seen, files[k], NULL, &idx))
            stamp_of[2 * i + k] = GPOINTER_TO_INT (idx);
          else
            {
              g_hash_table_insert (seen, (gpointer) files[k], GINT_TO_POINTER (job.n));
              stamp_of[2 * i + k] = job.n;
              job.paths[job.n++] = files[k];
            }
        }
    }
  job.stamps = g_new (FileStamp, MAX (job.n, 1));

  int threads = CLAMP ((int) g_get_num_processors (), 1, MAX (job.n / STAT_BLOCK, 1));
  GThread **workers = g_new (GThread *, threads);
  for (int t = 1; t < threads; t++)
    workers[t] = g_thread_new ("weft-stat", stat_worker, &job);
  stat_worker (&job);
  for (int t = 1; t < threads; t++)
    g_thread_join (workers[t]);
  g_free (workers);
  g_free (job.paths);

  if (g_cancellable_is_cancelled (cancellable))
    {
      g_free (job.stamps);
      return FALSE;
    }
  *stamps_out = job.stamps;
  *stamp_of_out = g_steal_pointer (&stamp_of);
  return TRUE;
}

/* SHA-256 over the settings, the limits and every sample's files (path,
 * size, mtime), text, label and split. NULL when cancelled. */
static char *
cache_key (const WeftDataset *ds, const WeftFeatureSettings *s, GCancellable *cancellable)
{
  g_autoptr(GChecksum) ck = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr(JsonObject) so = weft_feature_settings_to_json (s);
  g_autoptr(JsonNode) sn = json_node_init_object (json_node_alloc (), so);
  g_autofree char *settings = json_to_string (sn, FALSE);
  WeftDatasetLimits lim = effective_limits (ds);
  struct { gint64 pixels; double seconds; } limits = { lim.max_image_pixels, lim.max_audio_seconds };
  g_autofree FileStamp *stamps = NULL;
  g_autofree int *stamp_of = NULL;
  static const FileStamp none = { 0 };

  if (!stat_files (ds, &stamps, &stamp_of, cancellable))
    return NULL;

  hash_string (ck, CACHE_GENERATION);
  hash_string (ck, settings);
  g_checksum_update (ck, (const guchar *) &limits, sizeof limits);
  for (char **l = ds->labels; l && *l; l++)
    hash_string (ck, *l);
  hash_string (ck, NULL);

  /* The samples go through one buffer: SHA-256 on a few large updates is
   * several times faster than on many tiny ones. */
  g_autoptr(GByteArray) buf = g_byte_array_sized_new (1 << 16);
  for (guint i = 0; i < ds->samples->len; i++)
    {
      const WeftSample *x = g_ptr_array_index (ds->samples, i);
      const char *strs[4] = { x->image, x->audio, x->text, x->label };
      for (int k = 0; k < 4; k++)
        {
          guint8 tag = strs[k] ? 1 : 0;
          g_byte_array_append (buf, &tag, 1);
          if (strs[k])
            g_byte_array_append (buf, (const guint8 *) strs[k], strlen (strs[k]) + 1);
          if (k < 2)
            {
              int j = stamp_of[2 * i + k];
              g_byte_array_append (buf, (const guint8 *) (j >= 0 ? &stamps[j] : &none), sizeof (FileStamp));
            }
        }
      gint32 ints[2] = { x->row, x->split };
      g_byte_array_append (buf, (const guint8 *) ints, sizeof ints);
      if (buf->len >= (1 << 16) - 256)
        {
          g_checksum_update (ck, buf->data, buf->len);
          g_byte_array_set_size (buf, 0);
        }
    }
  g_checksum_update (ck, buf->data, buf->len);
  return g_strdup (g_checksum_get_string (ck));
}

/* ---- parallel decoding ---- */

typedef struct {
  WeftDataset *ds;
  const WeftFeatureSettings *s;
  WeftDatasetLimits limits;
  GCancellable *cancellable;

  /* Jobs [0, n_clips) decode one distinct sound each (a clip shared by many
   * rows is decoded once); jobs [n_clips, n_jobs) one image each. */
  int n_clips, n_images, n_jobs;
  const char **clip_path;    /* (n_clips) borrowed from the samples */
  float *clip_mel;           /* (n_clips, bands × frames) */
  char **clip_error;         /* (n_clips) reason or NULL */
  gboolean *clip_truncated;  /* (n_clips) */
  int *image_sample;         /* (n_images) sample index of each image job */
  float *image_data;         /* (n_samples, C × S × S), indexed by sample */
  char **image_error;        /* (n_samples) reason or NULL */
  gsize image_size, audio_size;

  gint next;                 /* atomic: the next job to take */
  gint done;                 /* atomic: jobs finished */
  GMutex lock;
  GCond finished;
  int running;               /* workers still running, under lock */
} Decode;

static void
run_job (Decode *d, int j)
{
  g_autoptr(GError) error = NULL;

  if (j < d->n_clips)
    {
      gsize n = 0;
      gboolean truncated = FALSE;
      g_autofree float *pcm = weft_audio_decode (d->clip_path[j], d->limits.max_audio_seconds,
                                                 &n, &truncated, &error);
      if (pcm == NULL)
        d->clip_error[j] = g_strdup (error ? error->message : "no sound in the file");
      else
        {
          weft_audio_log_mel (pcm, n, &d->s->mel, d->clip_mel + (gsize) j * d->audio_size);
          d->clip_truncated[j] = truncated;
        }
      return;
    }
  int i = d->image_sample[j - d->n_clips];
  const WeftSample *x = g_ptr_array_index (d->ds->samples, i);
  float *out = d->image_data + (gsize) i * d->image_size;
  if (!weft_image_load (x->image, d->s->image_size, d->s->image_channels,
                        d->limits.max_image_pixels, out, &error))
    {
      d->image_error[i] = g_strdup (error ? error->message : "unknown error");
      memset (out, 0, d->image_size * sizeof (float));
    }
}

static gpointer
decode_worker (gpointer data)
{
  Decode *d = data;
  for (;;)
    {
      /* Cancellation is checked before every row. */
      if (g_cancellable_is_cancelled (d->cancellable))
        break;
      int j = g_atomic_int_add (&d->next, 1);
      if (j >= d->n_jobs)
        break;
      run_job (d, j);
      g_atomic_int_inc (&d->done);
    }
  g_mutex_lock (&d->lock);
  d->running--;
  g_cond_signal (&d->finished);
  g_mutex_unlock (&d->lock);
  return NULL;
}

static void
decode_clear (Decode *d)
{
  for (int c = 0; c < d->n_clips; c++)
    g_free (d->clip_error[c]);
  for (guint i = 0; d->image_error && i < d->ds->samples->len; i++)
    g_free (d->image_error[i]);
  g_free (d->clip_path);
  g_free (d->clip_mel);
  g_free (d->clip_error);
  g_free (d->clip_truncated);
  g_free (d->image_sample);
  g_free (d->image_data);
  g_free (d->image_error);
  g_mutex_clear (&d->lock);
  g_cond_clear (&d->finished);
}

/* Runs every job on `threads` workers while this thread reports progress
 * (at most 20 times a second) and waits. */
static void
decode_all (Decode *d, int threads, WeftProgressFunc progress, gpointer user_data)
{
  GThread **workers = g_new0 (GThread *, threads);
  gint64 last = 0;

  d->running = threads;
  for (int t = 0; t < threads; t++)
    workers[t] = g_thread_new ("weft-featurize", decode_worker, d);

  g_mutex_lock (&d->lock);
  while (d->running > 0)
    {
      g_cond_wait_until (&d->finished, &d->lock, g_get_monotonic_time () + PROGRESS_INTERVAL_US);
      gint64 now = g_get_monotonic_time ();
      if (now - last < PROGRESS_INTERVAL_US || d->running == 0)
        continue;
      last = now;
      int done = g_atomic_int_get (&d->done);
      g_mutex_unlock (&d->lock);
      /* Jobs are taken in order, so "done" says which kind is under way. */
      if (done < d->n_clips)
        report (progress, user_data, DECODE_SHARE * done / d->n_jobs,
                "Decoding audio %d of %d", done + 1, d->n_clips);
      else
        report (progress, user_data, DECODE_SHARE * done / d->n_jobs,
                "Decoding images %d of %d", MIN (done - d->n_clips + 1, d->n_images), d->n_images);
      g_mutex_lock (&d->lock);
    }
  g_mutex_unlock (&d->lock);
  for (int t = 0; t < threads; t++)
    g_thread_join (workers[t]);
  g_free (workers);
}

/* ---- the steps after decoding ---- */

/* Rows the manifest gives no split get one: shuffled with the seed, then
 * within each label (unlabelled rows are one more group) the first
 * val_share go to validation and the next test_share to test. */
static void
assign_missing_splits (WeftFeatures *f, const gint8 *given, const WeftFeatureSettings *s)
{
  int n_groups = f->label ? f->n_classes + 1 : 1;
  g_autofree int *order = g_new (int, f->n_rows);
  g_autofree int *count = g_new0 (int, n_groups);
  g_autofree int *seen = g_new0 (int, n_groups);
  WeftRng rng;

  weft_rng_init (&rng, s->split_seed);
  for (int r = 0; r < f->n_rows; r++)
    order[r] = r;
  weft_rng_shuffle (&rng, order, f->n_rows);
#define GROUP(r) (f->label == NULL ? 0 : f->label[r] < 0 ? f->n_classes : (int) f->label[r])
  for (int r = 0; r < f->n_rows; r++)
    if (given[r] < 0)
      count[GROUP (r)]++;
  for (int i = 0; i < f->n_rows; i++)
    {
      int r = order[i];
      if (given[r] >= 0)
        {
          f->split[r] = given[r];
          continue;
        }
      int g = GROUP (r);
      int n_val = (int) (count[g] * s->val_share + 0.5);
      int n_test = (int) (count[g] * s->test_share + 0.5);
      f->split[r] = seen[g] < n_val ? WEFT_SPLIT_VALIDATION
                  : seen[g] < n_val + n_test ? WEFT_SPLIT_TEST : WEFT_SPLIT_TRAIN;
      seen[g]++;
    }
#undef GROUP
}

/* Per-band mean and standard deviation over the training rows' frames,
 * computed clip by clip with each clip weighted by how many training rows
 * use it, then applied to the clips (before they are copied to rows). */
static void
normalise_audio (WeftFeatures *f, Decode *d, const int *row_clip)
{
  int bands = d->s->mel.mel_bands, frames = d->s->mel.frames;
  g_autofree double *sum = g_new0 (double, bands);
  g_autofree double *sum_sq = g_new0 (double, bands);
  g_autofree gint64 *weight = g_new0 (gint64, MAX (d->n_clips, 1));
  gint64 total = 0;

  for (int r = 0; r < f->n_rows; r++)
    if (row_clip[r] >= 0 && f->split[r] == WEFT_SPLIT_TRAIN)
      weight[row_clip[r]]++;
  for (int c = 0; c < d->n_clips; c++)
    {
      if (weight[c] == 0)
        continue;
      const float *m = d->clip_mel + (gsize) c * d->audio_size;
      for (int b = 0; b < bands; b++)
        {
          double s1 = 0, s2 = 0;
          for (int t = 0; t < frames; t++)
            {
              double x = m[b * frames + t];
              s1 += x;
              s2 += x * x;
            }
          sum[b] += weight[c] * s1;
          sum_sq[b] += weight[c] * s2;
        }
      total += weight[c] * frames;
    }

  f->audio_mean = g_new (float, bands);
  f->audio_std = g_new (float, bands);
  for (int b = 0; b < bands; b++)
    {
      double mean = total ? sum[b] / total : 0;
      double var = total ? sum_sq[b] / total - mean * mean : 1;
      double sd = sqrt (MAX (var, 0));
      f->audio_mean[b] = mean;
      /* A band that never varies (e.g. always silent) is centred only. */
      f->audio_std[b] = sd > 1e-4 ? sd : 1;
    }
  f->audio.shape = weft_shape_2 (bands, frames);
  for (int c = 0; c < d->n_clips; c++)
    weft_features_normalise_audio (f, d->clip_mel + (gsize) c * d->audio_size);
}

/* Vocabulary from the training captions, token ids for every row, and
 * IDF weights from the training rows that have a caption. */
static gboolean
build_text (WeftFeatures *f, WeftDataset *ds, const WeftFeatureSettings *s,
            GCancellable *cancellable)
{
  int n = f->n_rows, L = s->text_length;
  g_autoptr(WeftVocab) counting = weft_vocab_new ();
  GStrv *tokens = g_new0 (GStrv, n);
  gboolean ok = TRUE;

  for (int r = 0; r < n && ok; r++)
    {
      const WeftSample *x = g_ptr_array_index (ds->samples, f->sample_index[r]);
      if (r % 1024 == 0 && g_cancellable_is_cancelled (cancellable))
        ok = FALSE;
      if (x->text == NULL)
        continue;
      tokens[r] = weft_text_tokenize (x->text);
      if (f->split[r] == WEFT_SPLIT_TRAIN)
        weft_vocab_count (counting, (const char *const *) tokens[r]);
    }
  if (ok)
    {
      weft_vocab_finish (counting, s->vocab_min_count, s->vocab_max_size);
      f->vocab = weft_vocab_dup_strv (counting);
      f->vocab_size = weft_vocab_size (counting);
      f->text.shape = weft_shape_1 (L);
      f->text.data = g_new (float, (gsize) n * L + 1);
      f->text.present = g_new0 (guint8, n);
      int n_train = 0;
      for (int r = 0; r < n; r++)
        {
          float *ids = f->text.data + (gsize) r * L;
          int len = tokens[r] ? g_strv_length (tokens[r]) : 0;
          for (int t = 0; t < L; t++)
            ids[t] = t < len ? weft_vocab_lookup (counting, tokens[r][t]) : -1.f;
          f->text.present[r] = tokens[r] != NULL;
          n_train += tokens[r] != NULL && f->split[r] == WEFT_SPLIT_TRAIN;
        }
      g_autofree float *train_ids = g_new (float, (gsize) MAX (n_train, 1) * L);
      for (int r = 0, k = 0; r < n; r++)
        if (tokens[r] != NULL && f->split[r] == WEFT_SPLIT_TRAIN)
          memcpy (train_ids + (gsize) k++ * L, f->text.data + (gsize) r * L, L * sizeof (float));
      f->idf = g_new (float, f->vocab_size);
      weft_text_idf (train_ids, n_train, L, f->vocab_size, f->idf);
    }
  for (int r = 0; r < n; r++)
    g_strfreev (tokens[r]);
  g_free (tokens);
  return ok;
}

typedef struct {
  int row;
  char *file;
  gboolean skipped;
  char *message;
} PendingIssue;

static void
pending_issue_clear (gpointer p)
{
  PendingIssue *i = p;
  g_free (i->file);
  g_free (i->message);
}

static void
add_pending (GArray *issues, int row, const char *file, gboolean skipped, char *message)
{
  PendingIssue i = { row, g_strdup (file), skipped, message };
  g_array_append_val (issues, i);
}

static JsonArray *
issues_to_json (GArray *issues)
{
  JsonArray *a = json_array_new ();
  for (guint k = 0; k < issues->len; k++)
    {
      const PendingIssue *i = &g_array_index (issues, PendingIssue, k);
      JsonObject *o = json_object_new ();
      json_object_set_int_member (o, "row", i->row);
      if (i->file)
        json_object_set_string_member (o, "file", i->file);
      json_object_set_boolean_member (o, "skipped", i->skipped);
      json_object_set_string_member (o, "message", i->message);
      json_array_add_object_element (a, o);
    }
  return a;
}

/* ---- the cache ---- */

static char *
cache_path (const char *cache_dir, const char *key)
{
  g_autofree char *name = g_strconcat (key, ".wfc", NULL);
  return g_build_filename (cache_dir, name, NULL);
}

/* The cached features for this key, with their decode issues added back
 * to ds; NULL (quietly) on any mismatch or damage, so that the caller
 * recomputes. */
static WeftFeatures *
cache_load (WeftDataset *ds, const WeftFeatureSettings *s, const char *path, const char *key)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) extra = NULL;
  g_autoptr(WeftFeatures) f = weft_features_map (path, &extra, &error);

  if (f == NULL)
    {
      if (!g_error_matches (error, WEFT_ERROR, WEFT_ERROR_IO))
        g_debug ("feature cache ignored: %s", error->message);
      return NULL;
    }
  if (extra == NULL
      || g_strcmp0 (json_object_get_string_member_with_default (extra, "key", ""), key) != 0
      || f->sample_index == NULL)
    {
      g_debug ("feature cache ignored: %s belongs to another dataset", path);
      return NULL;
    }
  /* The key guarantees the shapes; check them anyway, it is cheap. */
  guint n_samples = ds->samples->len;
  for (int r = 0; r < f->n_rows; r++)
    if (f->sample_index[r] >= (int) n_samples || (r > 0 && f->sample_index[r] <= f->sample_index[r - 1]))
      return NULL;
  if ((f->image.shape.n && (f->image.shape.n != 3 || f->image.shape.d[0] != s->image_channels
                            || f->image.shape.d[1] != s->image_size))
      || (f->audio.shape.n && (f->audio.shape.n != 2 || f->audio.shape.d[0] != s->mel.mel_bands
                               || f->audio.shape.d[1] != s->mel.frames || f->audio_mean == NULL))
      || (f->text.shape.n && f->text.shape.d[0] != s->text_length))
    return NULL;

  JsonNode *in = json_object_get_member (extra, "issues");
  JsonArray *issues = in && JSON_NODE_HOLDS_ARRAY (in) ? json_node_get_array (in) : NULL;
  if (issues == NULL)
    return NULL;
  for (guint k = 0; k < json_array_get_length (issues); k++)
    {
      JsonNode *node = json_array_get_element (issues, k);
      if (!JSON_NODE_HOLDS_OBJECT (node))
        return NULL;
      JsonObject *o = json_node_get_object (node);
      const char *msg = json_object_get_string_member_with_default (o, "message", NULL);
      if (msg == NULL)
        return NULL;
      weft_dataset_add_issue (ds, json_object_get_int_member_with_default (o, "row", 0),
                              json_object_get_string_member_with_default (o, "file", NULL),
                              json_object_get_boolean_member_with_default (o, "skipped", FALSE),
                              "%s", msg);
    }
  return g_steal_pointer (&f);
}

char *
weft_featurize_dup_cache_path (WeftDataset *ds, const WeftFeatureSettings *s, const char *cache_dir)
{
  g_return_val_if_fail (ds != NULL && ds->samples != NULL && s != NULL && cache_dir != NULL, NULL);
  g_autofree char *key = cache_key (ds, s, NULL);
  return cache_path (cache_dir, key);
}

/* ---- weft_featurize ---- */

static WeftFeatures *
featurize (WeftDataset *ds, const WeftFeatureSettings *s, int threads,
           WeftProgressFunc progress, gpointer user_data, GCancellable *cancellable,
           GArray *issues, GError **error)
{
  guint n_samples = ds->samples->len;
  gboolean has_image = FALSE, has_audio = FALSE, has_text = FALSE;
  Decode d = { 0 };
  g_autoptr(GHashTable) clips = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree int *sample_clip = g_new (int, MAX (n_samples, 1));

  for (guint i = 0; i < n_samples; i++)
    {
      const WeftSample *x = g_ptr_array_index (ds->samples, i);
      has_image |= x->image != NULL;
      has_audio |= x->audio != NULL;
      has_text |= x->text != NULL;
    }
  has_text &= s->text_length > 0;

  d.ds = ds;
  d.s = s;
  d.limits = effective_limits (ds);
  d.cancellable = cancellable;
  g_mutex_init (&d.lock);
  g_cond_init (&d.finished);
  d.image_size = (gsize) s->image_channels * s->image_size * s->image_size;
  d.audio_size = (gsize) s->mel.mel_bands * s->mel.frames;
  d.clip_path = g_new (const char *, MAX (n_samples, 1));
  d.image_sample = g_new (int, MAX (n_samples, 1));
  for (guint i = 0; i < n_samples; i++)
    {
      const WeftSample *x = g_ptr_array_index (ds->samples, i);
      sample_clip[i] = -1;
      if (x->audio)
        {
          gpointer c;
          if (!g_hash_table_lookup_extended (clips, x->audio, NULL, &c))
            {
              c = GINT_TO_POINTER (d.n_clips);
              d.clip_path[d.n_clips++] = x->audio;
              g_hash_table_insert (clips, x->audio, c);
            }
          sample_clip[i] = GPOINTER_TO_INT (c);
        }
      if (x->image)
        d.image_sample[d.n_images++] = i;
    }
  d.n_jobs = d.n_clips + d.n_images;
  d.clip_mel = g_new0 (float, (gsize) MAX (d.n_clips, 1) * d.audio_size);
  d.clip_error = g_new0 (char *, MAX (d.n_clips, 1));
  d.clip_truncated = g_new0 (gboolean, MAX (d.n_clips, 1));
  if (has_image)
    {
      d.image_data = g_new0 (float, (gsize) n_samples * d.image_size);
      d.image_error = g_new0 (char *, n_samples);
    }
  if (has_audio)
    weft_audio_init ();

  if (threads <= 0)
    threads = g_get_num_processors ();
  threads = CLAMP (threads, 1, MAX (d.n_jobs, 1));
  report (progress, user_data, 0, "Decoding %d files", d.n_jobs);
  if (d.n_jobs > 0)
    decode_all (&d, threads, progress, user_data);
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    {
      decode_clear (&d);
      return NULL;
    }

  /* Which samples survive, and the issues in row order. */
  g_autofree int *keep = g_new (int, MAX (n_samples, 1));
  g_autofree gboolean *clip_reported = g_new0 (gboolean, MAX (d.n_clips, 1));
  int n = 0;
  for (guint i = 0; i < n_samples; i++)
    {
      const WeftSample *x = g_ptr_array_index (ds->samples, i);
      int c = sample_clip[i];
      gboolean ok = TRUE;
      if (x->image && d.image_error[i])
        {
          const char *shown = relative_path (ds, x->image);
          add_pending (issues, x->row, shown, TRUE,
                       g_strdup_printf ("%s could not be decoded (%s)", shown, d.image_error[i]));
          ok = FALSE;
        }
      if (c >= 0 && d.clip_error[c])
        {
          const char *shown = relative_path (ds, x->audio);
          add_pending (issues, x->row, shown, TRUE,
                       g_strdup_printf ("%s could not be decoded (%s)", shown, d.clip_error[c]));
          ok = FALSE;
        }
      else if (c >= 0 && d.clip_truncated[c] && !clip_reported[c])
        {
          /* Once per file: a pooled clip would otherwise repeat it on
           * thousands of rows. */
          clip_reported[c] = TRUE;
          const char *shown = relative_path (ds, x->audio);
          add_pending (issues, x->row, shown, FALSE,
                       g_strdup_printf ("%s is longer than %g s: only the first %g s are used",
                                        shown, d.limits.max_audio_seconds, d.limits.max_audio_seconds));
        }
      if (ok)
        keep[n++] = i;
    }
  if (n == 0)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_DATA,
                   n_samples ? "none of the %u samples could be decoded" : "the dataset has no samples",
                   n_samples);
      decode_clear (&d);
      return NULL;
    }

  g_autoptr(WeftFeatures) f = weft_features_new (n);
  f->name = ds->root ? g_path_get_basename (ds->root) : NULL;
  f->sample_index = g_new (int, n);
  memcpy (f->sample_index, keep, n * sizeof (int));

  /* Labels: indices into ds->labels (sorted), -1 for none. */
  int n_labels = ds->labels ? g_strv_length (ds->labels) : 0;
  if (n_labels > 0)
    {
      g_autoptr(GHashTable) index = g_hash_table_new (g_str_hash, g_str_equal);
      for (int k = 0; k < n_labels; k++)
        g_hash_table_insert (index, ds->labels[k], GINT_TO_POINTER (k + 1));
      f->label = g_new (float, n);
      f->n_classes = n_labels;
      f->class_names = g_strdupv (ds->labels);
      for (int r = 0; r < n; r++)
        {
          const WeftSample *x = g_ptr_array_index (ds->samples, keep[r]);
          f->label[r] = x->label ? GPOINTER_TO_INT (g_hash_table_lookup (index, x->label)) - 1 : -1;
        }
    }

  g_autofree gint8 *given = g_new (gint8, n);
  for (int r = 0; r < n; r++)
    {
      const WeftSample *x = g_ptr_array_index (ds->samples, keep[r]);
      given[r] = x->split >= WEFT_SPLIT_TRAIN && x->split <= WEFT_SPLIT_TEST ? x->split : -1;
    }
  assign_missing_splits (f, given, s);

  /* Images: the kept rows move down in place (keep is increasing). */
  if (has_image)
    {
      f->image.shape = weft_shape_3 (s->image_channels, s->image_size, s->image_size);
      f->image.present = g_new (guint8, n);
      for (int r = 0; r < n; r++)
        {
          const WeftSample *x = g_ptr_array_index (ds->samples, keep[r]);
          if (keep[r] != r)
            memmove (d.image_data + (gsize) r * d.image_size,
                     d.image_data + (gsize) keep[r] * d.image_size, d.image_size * sizeof (float));
          f->image.present[r] = x->image != NULL;
        }
      f->image.data = g_realloc (g_steal_pointer (&d.image_data), (gsize) n * d.image_size * sizeof (float));
    }

  if (has_audio)
    {
      g_autofree int *row_clip = g_new (int, n);
      for (int r = 0; r < n; r++)
        row_clip[r] = sample_clip[keep[r]];
      normalise_audio (f, &d, row_clip);
      f->audio.data = g_new0 (float, (gsize) n * d.audio_size);
      f->audio.present = g_new (guint8, n);
      for (int r = 0; r < n; r++)
        {
          f->audio.present[r] = row_clip[r] >= 0;
          if (row_clip[r] >= 0)
            memcpy (f->audio.data + (gsize) r * d.audio_size,
                    d.clip_mel + (gsize) row_clip[r] * d.audio_size, d.audio_size * sizeof (float));
        }
    }
  decode_clear (&d);

  report (progress, user_data, DECODE_SHARE, "Building the vocabulary");
  if (has_text && !build_text (f, ds, s, cancellable))
    {
      g_cancellable_set_error_if_cancelled (cancellable, error);
      return NULL;
    }
  return g_steal_pointer (&f);
}

WeftFeatures *
weft_featurize (WeftDataset *ds, const WeftFeatureSettings *s,
                const char *cache_dir, int threads,
                WeftProgressFunc progress, gpointer user_data,
                GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (ds != NULL && ds->samples != NULL && s != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (s->image_size < 1 || (s->image_channels != 1 && s->image_channels != 3)
      || s->mel.mel_bands < 1 || s->mel.frames < 1 || s->text_length < 0)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_ARGS, "feature settings out of range");
      return NULL;
    }

  g_autofree char *key = NULL;
  g_autofree char *path = NULL;
  if (cache_dir != NULL)
    {
      report (progress, user_data, 0, "Checking the feature cache");
      key = cache_key (ds, s, cancellable);
      if (key == NULL)
        {
          g_cancellable_set_error_if_cancelled (cancellable, error);
          return NULL;
        }
      path = cache_path (cache_dir, key);
      WeftFeatures *cached = cache_load (ds, s, path, key);
      if (cached != NULL)
        {
          report (progress, user_data, 1, "Loaded %d samples from the feature cache", cached->n_rows);
          return cached;
        }
    }

  g_autoptr(GArray) issues = g_array_new (FALSE, FALSE, sizeof (PendingIssue));
  g_array_set_clear_func (issues, pending_issue_clear);
  g_autoptr(WeftFeatures) f = featurize (ds, s, threads, progress, user_data, cancellable,
                                         issues, error);
  /* Decode failures are reported even when nothing could be used. */
  for (guint k = 0; k < issues->len; k++)
    {
      const PendingIssue *i = &g_array_index (issues, PendingIssue, k);
      weft_dataset_add_issue (ds, i->row, i->file, i->skipped, "%s", i->message);
    }
  if (f == NULL)
    return NULL;

  if (path != NULL)
    {
      g_autoptr(GError) werr = NULL;
      report (progress, user_data, 0.95, "Writing the feature cache");
      g_autoptr(JsonObject) extra = json_object_new ();
      json_object_set_string_member (extra, "key", key);
      json_object_set_object_member (extra, "settings", weft_feature_settings_to_json (s));
      json_object_set_int_member (extra, "n_samples", ds->samples->len);
      json_object_set_array_member (extra, "issues", issues_to_json (issues));
      /* A cache that cannot be written only costs time next run. */
      if (g_mkdir_with_parents (cache_dir, 0755) != 0)
        g_debug ("feature cache not written: %s: %s", cache_dir, g_strerror (errno));
      else if (!weft_features_save (f, path, extra, &werr))
        g_debug ("feature cache not written: %s", werr->message);
    }
  report (progress, user_data, 1, "Featurised %d samples", f->n_rows);
  return g_steal_pointer (&f);
}
