/* featurize-media.c — throughput of the media featurisers on 2 threads:
 * 28×28 PNGs to floats, and 1 s WAV / Opus clips to log-mel spectrograms.
 *
 * Usage: featurize-media [N_IMAGES [N_CLIPS]] (defaults 2000 and 200).
 * Writes its inputs to a temporary folder, removes them, and prints
 * `images_per_s=… wav_clips_per_s=… opus_clips_per_s=…`, then Vorbis, then
 * the CPU time per item. Targets: at least 5,000 images/s and 300 clips/s
 * on the project's 2-core machine. Run it alone: other work on the 2 cores
 * lowers the rates, not the CPU times.
 *
 * Opus on this machine kind: Debian's libopus (built with custom modes)
 * runs the cpuid instruction in every opus_multistream_decode call, and
 * under the VM each cpuid traps to the hypervisor; that is about half of
 * an Opus clip's CPU time here (perf), and not a cost on bare metal.
 */
#include <math.h>
#include <string.h>
#include <sys/resource.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <gst/gst.h>

#include "data/weft-audio.h"
#include "data/weft-image.h"

#define THREADS 2
#define SIDE 28

typedef struct {
  GMutex lock;
  GCond done;
  int remaining;
  int failures;
  WeftMelSettings mel;
} Job;

static void
image_task (gpointer data, gpointer user_data)
{
  const char *path = data;
  Job *job = user_data;
  float out[SIDE * SIDE];
  GError *error = NULL;
  gboolean ok = weft_image_load (path, SIDE, 1, 1 << 24, out, &error);
  if (!ok)
    g_printerr ("%s: %s\n", path, error->message);
  g_clear_error (&error);
  g_mutex_lock (&job->lock);
  job->failures += !ok;
  if (--job->remaining == 0)
    g_cond_signal (&job->done);
  g_mutex_unlock (&job->lock);
}

static void
clip_task (gpointer data, gpointer user_data)
{
  const char *path = data;
  Job *job = user_data;
  gsize n = 0;
  GError *error = NULL;
  float *x = weft_audio_decode (path, 10, &n, NULL, &error);
  gboolean ok = x != NULL;
  if (ok)
    {
      float mel[128 * 100];
      weft_audio_log_mel (x, n, &job->mel, mel);
    }
  else
    g_printerr ("%s: %s\n", path, error->message);
  g_free (x);
  g_clear_error (&error);
  g_mutex_lock (&job->lock);
  job->failures += !ok;
  if (--job->remaining == 0)
    g_cond_signal (&job->done);
  g_mutex_unlock (&job->lock);
}

/* User + system CPU seconds of the whole process so far. */
static double
cpu_seconds (void)
{
  struct rusage r;
  getrusage (RUSAGE_SELF, &r);
  return r.ru_utime.tv_sec + r.ru_utime.tv_usec / 1e6 + r.ru_stime.tv_sec + r.ru_stime.tv_usec / 1e6;
}

/* Items per second for running func over paths on THREADS threads;
 * *cpu_ms receives the process CPU time per item, which other work on
 * the machine does not inflate. */
static double
run_pool (GFunc func, GPtrArray *paths, double *cpu_ms)
{
  Job job = { .remaining = paths->len };
  g_mutex_init (&job.lock);
  g_cond_init (&job.done);
  weft_mel_settings_init (&job.mel);
  GThreadPool *pool = g_thread_pool_new (func, &job, THREADS, TRUE, NULL);
  gint64 t0 = g_get_monotonic_time ();
  double c0 = cpu_seconds ();
  for (guint i = 0; i < paths->len; i++)
    g_thread_pool_push (pool, paths->pdata[i], NULL);
  g_mutex_lock (&job.lock);
  while (job.remaining > 0)
    g_cond_wait (&job.done, &job.lock);
  g_mutex_unlock (&job.lock);
  double seconds = (g_get_monotonic_time () - t0) / 1e6;
  if (cpu_ms)
    *cpu_ms = (cpu_seconds () - c0) * 1e3 / paths->len;
  g_thread_pool_free (pool, FALSE, TRUE);
  if (job.failures > 0)
    g_error ("%d of %u items failed", job.failures, paths->len);
  g_mutex_clear (&job.lock);
  g_cond_clear (&job.done);
  return paths->len / seconds;
}

static GPtrArray *
write_images (const char *dir, int count)
{
  GPtrArray *paths = g_ptr_array_new_with_free_func (g_free);
  guint8 px[SIDE * SIDE * 3];
  guint32 s = 1;
  for (int k = 0; k < count; k++)
    {
      /* A blob on a light background, like a drawn digit. */
      int cx = 8 + k % 12, cy = 8 + (k / 12) % 12;
      for (int y = 0; y < SIDE; y++)
        for (int x = 0; x < SIDE; x++)
          {
            double d = hypot (x - cx, y - cy);
            s = s * 1664525u + 1013904223u;
            guint8 v = d < 6 ? 30 + (s >> 29) : 240 + (s >> 29);
            px[(y * SIDE + x) * 3] = px[(y * SIDE + x) * 3 + 1] = px[(y * SIDE + x) * 3 + 2] = v;
          }
      g_autoptr(GdkPixbuf) pb = gdk_pixbuf_new_from_data (px, GDK_COLORSPACE_RGB, FALSE, 8,
                                                          SIDE, SIDE, SIDE * 3, NULL, NULL);
      char *path = g_strdup_printf ("%s/img%05d.png", dir, k);
      GError *error = NULL;
      if (!gdk_pixbuf_save (pb, path, "png", &error, NULL))
        g_error ("%s: %s", path, error->message);
      g_ptr_array_add (paths, path);
    }
  return paths;
}

/* Encodes count 1 s clips (16 kHz mono, a tone whose pitch depends on the
 * clip, with noise) through encoder into dir/clipNNNNN.ext. */
static GPtrArray *
write_clips (const char *dir, int count, const char *encoder, const char *ext)
{
  GPtrArray *paths = g_ptr_array_new_with_free_func (g_free);
  for (int k = 0; k < count; k++)
    {
      char *path = g_strdup_printf ("%s/clip%05d.%s", dir, k, ext);
      g_autofree char *desc = g_strdup_printf (
        "audiotestsrc wave=sine freq=%d volume=0.4 samplesperbuffer=1600 num-buffers=10 "
        "! audio/x-raw,format=S16LE,rate=16000,channels=1 ! audioconvert ! %s "
        "! filesink location=\"%s\"", 200 + 10 * k, encoder, path);
      GError *error = NULL;
      GstElement *p = gst_parse_launch (desc, &error);
      if (p == NULL)
        g_error ("%s: %s", desc, error->message);
      gst_element_set_state (p, GST_STATE_PLAYING);
      GstBus *bus = gst_element_get_bus (p);
      GstMessage *m = gst_bus_timed_pop_filtered (bus, 30 * GST_SECOND,
                                                  GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
      if (m == NULL || GST_MESSAGE_TYPE (m) != GST_MESSAGE_EOS)
        g_error ("encoding %s failed", path);
      gst_message_unref (m);
      gst_object_unref (bus);
      gst_element_set_state (p, GST_STATE_NULL);
      gst_object_unref (p);
      g_ptr_array_add (paths, path);
    }
  return paths;
}

static void
remove_all (GPtrArray *paths)
{
  for (guint i = 0; i < paths->len; i++)
    g_remove (paths->pdata[i]);
  g_ptr_array_unref (paths);
}

int
main (int argc, char **argv)
{
  int n_images = argc > 1 ? atoi (argv[1]) : 2000;
  int n_clips = argc > 2 ? atoi (argv[2]) : 200;
  weft_audio_init ();

  GError *error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("weft-bench-media-XXXXXX", &error);
  if (dir == NULL)
    g_error ("%s", error->message);

  GPtrArray *images = write_images (dir, n_images);
  GPtrArray *wavs = write_clips (dir, n_clips, "wavenc", "wav");
  /* Opus is in gstreamer1.0-plugins-base; Vorbis stands in without it. */
  GstElementFactory *opusenc = gst_element_factory_find ("opusenc");
  GPtrArray *opus = write_clips (dir, n_clips, opusenc ? "opusenc ! oggmux" : "vorbisenc ! oggmux",
                                 opusenc ? "opus" : "ogg");
  if (opusenc == NULL)
    g_printerr ("opusenc is missing: opus_clips_per_s measures Vorbis clips\n");
  g_clear_object (&opusenc);
  GPtrArray *vorbis = write_clips (dir, n_clips, "vorbisenc ! oggmux", "ogg");

  /* A warm-up pass loads the plugins and fills the caches once. */
  run_pool (image_task, images, NULL);
  run_pool (clip_task, wavs, NULL);
  double image_ms, wav_ms, opus_ms, vorbis_ms;
  double images_per_s = run_pool (image_task, images, &image_ms);
  double wav_per_s = run_pool (clip_task, wavs, &wav_ms);
  double opus_per_s = run_pool (clip_task, opus, &opus_ms);
  double vorbis_per_s = run_pool (clip_task, vorbis, &vorbis_ms);

  g_print ("images_per_s=%.0f wav_clips_per_s=%.0f opus_clips_per_s=%.0f\n",
           images_per_s, wav_per_s, opus_per_s);
  /* On a busy machine the wall-clock rates fall; CPU time per item says
   * what 2 free cores would do (rate <= 2000 / cpu_ms). */
  g_print ("vorbis_clips_per_s=%.0f\n", vorbis_per_s);
  g_print ("cpu_ms_per_image=%.4f cpu_ms_per_wav_clip=%.3f cpu_ms_per_opus_clip=%.3f "
           "cpu_ms_per_vorbis_clip=%.3f\n", image_ms, wav_ms, opus_ms, vorbis_ms);

  remove_all (images);
  remove_all (wavs);
  remove_all (opus);
  remove_all (vorbis);
  g_rmdir (dir);
  return 0;
}
