/* weft-audio.c — sounds decoded by GStreamer to 16 kHz mono floats, log-mel
 * spectrograms through GStreamer's FFT, and noise at a chosen SNR.
 *
 * The log-mel (tests/parity/logmel_ref.py computes the same in numpy):
 *   win = round(window_ms · 16), hop = round(hop_ms · 16) samples,
 *   n_fft = the smallest power of two >= win (400 -> 512);
 *   frame t covers samples [t·hop, t·hop + win) (not centred), samples
 *   past the end are 0, and exactly `frames` frames are produced;
 *   x_t[i] = samples[t·hop + i] · w[i], w[i] = 0.5 − 0.5·cos(2πi / win)
 *   (periodic Hann), zero-padded to n_fft;
 *   P_t[k] = |FFT(x_t)[k]|², k = 0 … n_fft/2 (unnormalised, as
 *   gst_fft_f32_fft returns it), bin k at f_k = k · 16000 / n_fft Hz;
 *   mel(f) = 2595 · log10(1 + f / 700) (HTK); mel_bands + 2 points evenly
 *   spaced in mel from 0 Hz to 8000 Hz give the edges f_0 … f_{B+1};
 *   band b is the triangle rising from f_b to 1 at f_{b+1} and falling to
 *   0 at f_{b+2}: H_b(f) = max(0, min((f − f_b)/(f_{b+1} − f_b),
 *   (f_{b+2} − f)/(f_{b+2} − f_{b+1}))) (peak 1, no area normalisation);
 *   out[b, t] = ln(Σ_k H_b(f_k) · P_t[k] + 1e-6).
 */
#include "weft-audio.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include <glib/gstdio.h>
#include <gst/app/gstappsink.h>
#include <gst/fft/gstfftf32.h>
#include <gst/gst.h>

#include "weft-error.h"

/* A decode that makes no progress for this long is given up: a broken
 * file or plugin must never hang a featurising worker. */
#define WEFT_AUDIO_STALL_US (10 * G_USEC_PER_SEC)

#define WEFT_MEL_FLOOR 1e-6

void
weft_mel_settings_init (WeftMelSettings *s)
{
  s->mel_bands = 40;
  s->window_ms = 25;
  s->hop_ms = 10;
  s->frames = 100;
}

static GError *init_error;  /* set once by weft_audio_init, never freed */

void
weft_audio_init (void)
{
  static gsize once = 0;
  if (g_once_init_enter (&once))
    {
      GError *e = NULL;
      if (!gst_init_check (NULL, NULL, &e))
        init_error = e ? e : g_error_new_literal (WEFT_ERROR, WEFT_ERROR_IO, "unknown error");
      g_once_init_leave (&once, 1);
    }
}

/* ---- decoding ---------------------------------------------------------- */

typedef struct {
  GstElement *pipeline;
  GstElement *convert;   /* where decodebin's audio pad is linked */
  GstBus *bus;

  /* Written by the streaming thread only; read once the pipeline is in
   * NULL (which joins that thread), except `progress`. */
  float *samples;        /* NULL when only counting */
  gboolean count_only;
  gsize n, cap, max_n;
  gboolean truncated;
  gboolean done;
  gboolean linked, saw_video;
  gint progress;         /* atomic: buffers received, for the stall check */
} Decode;

static void
post_app (Decode *d, const char *name)
{
  GstStructure *s = gst_structure_new_empty (name);
  gst_bus_post (d->bus, gst_message_new_application (GST_OBJECT (d->pipeline), s));
}

static void
on_pad_added (GstElement *decodebin, GstPad *pad, gpointer user_data)
{
  Decode *d = user_data;
  g_autoptr(GstCaps) caps = gst_pad_get_current_caps (pad);
  if (caps == NULL)
    caps = gst_pad_query_caps (pad, NULL);
  const char *media = gst_caps_is_empty (caps) ? "" :
                      gst_structure_get_name (gst_caps_get_structure (caps, 0));

  if (g_str_has_prefix (media, "audio/") && !d->linked)
    {
      g_autoptr(GstPad) sink = gst_element_get_static_pad (d->convert, "sink");
      if (gst_pad_link (pad, sink) == GST_PAD_LINK_OK)
        {
          d->linked = TRUE;
          return;
        }
    }
  if (g_str_has_prefix (media, "video/") || g_str_has_prefix (media, "image/"))
    d->saw_video = TRUE;

  /* Every other stream goes to a fakesink so that an unlinked pad does
   * not stop the one being decoded. */
  GstElement *sink = gst_element_factory_make ("fakesink", NULL);
  if (sink == NULL)
    return;
  g_object_set (sink, "sync", FALSE, "async", FALSE, NULL);
  gst_bin_add (GST_BIN (d->pipeline), sink);
  gst_element_sync_state_with_parent (sink);
  g_autoptr(GstPad) fsink = gst_element_get_static_pad (sink, "sink");
  gst_pad_link (pad, fsink);
}

static void
on_no_more_pads (GstElement *decodebin, gpointer user_data)
{
  Decode *d = user_data;
  if (!d->linked)
    post_app (d, d->saw_video ? "weft-no-audio" : "weft-not-audio");
}

static GstFlowReturn
on_new_sample (GstAppSink *appsink, gpointer user_data)
{
  Decode *d = user_data;
  g_autoptr(GstSample) sample = gst_app_sink_pull_sample (appsink);
  if (sample == NULL)
    return GST_FLOW_FLUSHING;
  if (d->done)
    return GST_FLOW_EOS;

  GstBuffer *buf = gst_sample_get_buffer (sample);
  GstMapInfo mi;
  if (buf == NULL || !gst_buffer_map (buf, &mi, GST_MAP_READ))
    return GST_FLOW_OK;
  gsize k = mi.size / sizeof (float);
  /* One sample past the limit proves the file is longer than it. */
  if (k > d->max_n - d->n)
    {
      k = d->max_n - d->n;
      d->truncated = TRUE;
      d->done = TRUE;
    }
  if (!d->count_only && k > 0)
    {
      if (d->n + k > d->cap)
        {
          gsize cap = MAX (d->cap * 2, d->n + k);
          cap = MAX (cap, 16384);
          d->samples = g_renew (float, d->samples, cap);
          d->cap = cap;
        }
      memcpy (d->samples + d->n, mi.data, k * sizeof (float));
    }
  d->n += k;
  gst_buffer_unmap (buf, &mi);
  g_atomic_int_inc (&d->progress);

  if (d->done)
    {
      /* Stops the source from decoding the rest of a long file. */
      post_app (d, "weft-enough");
      return GST_FLOW_EOS;
    }
  return GST_FLOW_OK;
}

/* Turns a bus error into the plain words the dataset report shows. */
static void
set_gst_error (GError **error, const GError *gerr, const char *debug)
{
  g_debug ("GStreamer error: %s (%s)", gerr->message, debug ? debug : "");
  if (gerr->domain == GST_STREAM_ERROR &&
      (gerr->code == GST_STREAM_ERROR_TYPE_NOT_FOUND ||
       gerr->code == GST_STREAM_ERROR_WRONG_TYPE))
    g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_DATA, "not an audio file");
  else if ((gerr->domain == GST_STREAM_ERROR && gerr->code == GST_STREAM_ERROR_CODEC_NOT_FOUND) ||
           (gerr->domain == GST_CORE_ERROR && gerr->code == GST_CORE_ERROR_MISSING_PLUGIN))
    g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_DATA,
                         "not an audio file (no decoder for this format is installed)");
  else if (gerr->domain == GST_RESOURCE_ERROR)
    g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "the file cannot be read (%s)", gerr->message);
  else
    g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_DATA, "the audio data is damaged");
}

static gboolean
check_file (const char *path, GError **error)
{
  GStatBuf st;
  if (g_stat (path, &st) != 0)
    {
      int e = errno;
      if (e == ENOENT)
        g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_IO, "the file does not exist");
      else
        g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "the file cannot be read (%s)",
                     g_strerror (e));
      return FALSE;
    }
  if (S_ISDIR (st.st_mode))
    {
      g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_DATA, "not an audio file (it is a folder)");
      return FALSE;
    }
  if (st.st_size == 0)
    {
      g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_DATA, "the file is empty");
      return FALSE;
    }
  return TRUE;
}

static GstElement *
make (const char *factory, GError **error)
{
  GstElement *e = gst_element_factory_make (factory, NULL);
  if (e == NULL)
    g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO,
                 "GStreamer's \"%s\" element is missing (install gstreamer1.0-plugins-base)",
                 factory);
  return e;
}

/* filesrc ! decodebin ! audioconvert ! audioresample
 *   ! audio/x-raw,format=F32LE,channels=1,rate=16000 ! appsink */
static gboolean
decode_setup (Decode *d, const char *path, GError **error)
{
  if (init_error != NULL)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "GStreamer could not start (%s)",
                   init_error->message);
      return FALSE;
    }
  GstElement *src = make ("filesrc", error);
  GstElement *dec = src ? make ("decodebin", error) : NULL;
  GstElement *conv = dec ? make ("audioconvert", error) : NULL;
  GstElement *res = conv ? make ("audioresample", error) : NULL;
  GstElement *sink = res ? make ("appsink", error) : NULL;
  if (sink == NULL)
    {
      GstElement *all[] = { src, dec, conv, res };
      for (guint i = 0; i < G_N_ELEMENTS (all); i++)
        if (all[i])
          gst_object_unref (gst_object_ref_sink (all[i]));
      return FALSE;
    }

  d->pipeline = gst_pipeline_new (NULL);
  d->convert = conv;
  d->bus = gst_pipeline_get_bus (GST_PIPELINE (d->pipeline));
  g_object_set (src, "location", path, NULL);

  g_autoptr(GstCaps) caps = gst_caps_new_simple ("audio/x-raw",
                                                 "format", G_TYPE_STRING, "F32LE",
                                                 "layout", G_TYPE_STRING, "interleaved",
                                                 "channels", G_TYPE_INT, 1,
                                                 "rate", G_TYPE_INT, WEFT_AUDIO_RATE, NULL);
  g_object_set (sink, "sync", FALSE, "caps", caps, NULL);
  GstAppSinkCallbacks cb = { .new_sample = on_new_sample };
  gst_app_sink_set_callbacks (GST_APP_SINK (sink), &cb, d, NULL);

  gst_bin_add_many (GST_BIN (d->pipeline), src, dec, conv, res, sink, NULL);
  if (!gst_element_link (src, dec) || !gst_element_link_many (conv, res, sink, NULL))
    {
      g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_IO, "the GStreamer pipeline could not be built");
      return FALSE;
    }
  g_signal_connect (dec, "pad-added", G_CALLBACK (on_pad_added), d);
  g_signal_connect (dec, "no-more-pads", G_CALLBACK (on_no_more_pads), d);
  return TRUE;
}

static void
decode_clear (Decode *d)
{
  if (d->pipeline)
    {
      /* NULL joins the streaming threads, so d is no longer written. */
      gst_element_set_state (d->pipeline, GST_STATE_NULL);
      gst_clear_object (&d->pipeline);
    }
  gst_clear_object (&d->bus);
  g_clear_pointer (&d->samples, g_free);
}

/* Runs the pipeline to `target` and waits on the bus for the end (EOS or
 * "enough samples") or, in PAUSED, for the preroll; every wait is bounded
 * and a pipeline that stops making progress is abandoned. */
static gboolean
decode_run (Decode *d, GstState target, GError **error)
{
  GstStateChangeReturn ret = gst_element_set_state (d->pipeline, target);
  GstMessageType types = GST_MESSAGE_ERROR | GST_MESSAGE_EOS | GST_MESSAGE_APPLICATION;
  if (target == GST_STATE_PAUSED)
    types |= GST_MESSAGE_ASYNC_DONE;

  gint last = -1;
  gint64 last_change = g_get_monotonic_time ();
  for (;;)
    {
      GstClockTime wait = ret == GST_STATE_CHANGE_FAILURE ? 0 : 200 * GST_MSECOND;
      g_autoptr(GstMessage) msg = gst_bus_timed_pop_filtered (d->bus, wait, types);
      if (msg == NULL)
        {
          if (ret == GST_STATE_CHANGE_FAILURE)
            {
              g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_DATA, "not an audio file");
              return FALSE;
            }
          if (target == GST_STATE_PAUSED && ret == GST_STATE_CHANGE_SUCCESS)
            return TRUE;
          gint now = g_atomic_int_get (&d->progress);
          gint64 t = g_get_monotonic_time ();
          if (now != last)
            {
              last = now;
              last_change = t;
            }
          else if (t - last_change > WEFT_AUDIO_STALL_US)
            {
              g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_DATA,
                                   "the audio could not be decoded (the decoder stopped responding)");
              return FALSE;
            }
          continue;
        }
      switch (GST_MESSAGE_TYPE (msg))
        {
        case GST_MESSAGE_ERROR:
          {
            g_autoptr(GError) gerr = NULL;
            g_autofree char *debug = NULL;
            gst_message_parse_error (msg, &gerr, &debug);
            set_gst_error (error, gerr, debug);
            return FALSE;
          }
        case GST_MESSAGE_EOS:
          return TRUE;
        case GST_MESSAGE_ASYNC_DONE:
          if (GST_MESSAGE_SRC (msg) == GST_OBJECT (d->pipeline))
            return TRUE;
          break;
        case GST_MESSAGE_APPLICATION:
          {
            const char *name = gst_structure_get_name (gst_message_get_structure (msg));
            if (g_str_equal (name, "weft-enough"))
              return TRUE;
            g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_DATA,
                                 g_str_equal (name, "weft-no-audio") ? "no audio stream"
                                                                     : "not an audio file");
            return FALSE;
          }
        default:
          break;
        }
    }
}

float *
weft_audio_decode (const char *path, double max_seconds, gsize *n_samples,
                   gboolean *truncated, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (n_samples != NULL, NULL);

  *n_samples = 0;
  if (truncated)
    *truncated = FALSE;
  weft_audio_init ();
  if (!check_file (path, error))
    return NULL;

  Decode d = { 0 };
  d.max_n = max_seconds > 0 ? (gsize) ceil (max_seconds * WEFT_AUDIO_RATE) : G_MAXSIZE;
  if (!decode_setup (&d, path, error) || !decode_run (&d, GST_STATE_PLAYING, error))
    {
      decode_clear (&d);
      return NULL;
    }
  gst_element_set_state (d.pipeline, GST_STATE_NULL);
  float *out = g_steal_pointer (&d.samples);
  if (out == NULL)
    out = g_new0 (float, 1);  /* a valid, empty result */
  *n_samples = d.n;
  if (truncated)
    *truncated = d.truncated;
  decode_clear (&d);
  return out;
}

gboolean
weft_audio_probe (const char *path, double *seconds, GError **error)
{
  g_return_val_if_fail (path != NULL, FALSE);

  weft_audio_init ();
  if (!check_file (path, error))
    return FALSE;

  Decode d = { 0 };
  d.max_n = G_MAXSIZE;
  d.count_only = TRUE;
  if (!decode_setup (&d, path, error) || !decode_run (&d, GST_STATE_PAUSED, error))
    {
      decode_clear (&d);
      return FALSE;
    }
  gint64 dur = -1;
  if (!d.linked)
    {
      /* Prerolled without an audio pad: EOS before any stream appeared. */
      decode_clear (&d);
      g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_DATA, "no audio stream");
      return FALSE;
    }
  if (!gst_element_query_duration (d.pipeline, GST_FORMAT_TIME, &dur) || dur < 0)
    {
      /* No duration in the headers (some streams): count the samples. */
      if (!decode_run (&d, GST_STATE_PLAYING, error))
        {
          decode_clear (&d);
          return FALSE;
        }
      dur = gst_util_uint64_scale (d.n, GST_SECOND, WEFT_AUDIO_RATE);
    }
  decode_clear (&d);
  if (seconds)
    *seconds = (double) dur / GST_SECOND;
  return TRUE;
}

/* ---- log-mel ----------------------------------------------------------- */

static double
hz_to_mel (double f)
{
  return 2595.0 * log10 (1.0 + f / 700.0);
}

static double
mel_to_hz (double m)
{
  return 700.0 * (pow (10.0, m / 2595.0) - 1.0);
}

void
weft_audio_log_mel (const float *samples, gsize n, const WeftMelSettings *s, float *out)
{
  g_return_if_fail (s != NULL && out != NULL);
  g_return_if_fail (s->mel_bands > 0 && s->frames > 0);
  g_return_if_fail (samples != NULL || n == 0);

  int win = MAX (1, (int) lround (s->window_ms * WEFT_AUDIO_RATE / 1000.0));
  int hop = MAX (1, (int) lround (s->hop_ms * WEFT_AUDIO_RATE / 1000.0));
  int n_fft = 2;
  while (n_fft < win)
    n_fft *= 2;
  int n_bins = n_fft / 2 + 1;
  int bands = s->mel_bands;
  int frames = s->frames;

  /* The filterbank is sparse: each band covers [lo, hi) bins. */
  double *edge = g_new (double, bands + 2);
  double m0 = hz_to_mel (0), m1 = hz_to_mel (WEFT_AUDIO_RATE / 2.0);
  for (int i = 0; i < bands + 2; i++)
    edge[i] = mel_to_hz (m0 + (m1 - m0) * i / (bands + 1));
  float *fb = g_new0 (float, (gsize) bands * n_bins);    /* (bands, n_bins) */
  int *lo = g_new (int, bands), *hi = g_new (int, bands);
  for (int b = 0; b < bands; b++)
    {
      lo[b] = n_bins;
      hi[b] = 0;
      for (int k = 0; k < n_bins; k++)
        {
          double f = (double) k * WEFT_AUDIO_RATE / n_fft;
          double up = (f - edge[b]) / (edge[b + 1] - edge[b]);
          double down = (edge[b + 2] - f) / (edge[b + 2] - edge[b + 1]);
          double w = MAX (0.0, MIN (up, down));
          if (w > 0)
            {
              fb[(gsize) b * n_bins + k] = (float) w;
              lo[b] = MIN (lo[b], k);
              hi[b] = k + 1;
            }
        }
    }

  float *window = g_new (float, win);
  for (int i = 0; i < win; i++)
    window[i] = (float) (0.5 - 0.5 * cos (2.0 * G_PI * i / win));

  GstFFTF32 *fft = gst_fft_f32_new (n_fft, FALSE);
  float *frame = g_new0 (float, n_fft);
  GstFFTF32Complex *spec = g_new (GstFFTF32Complex, n_bins);
  float *power = g_new (float, n_bins);
  const float silent = (float) log (WEFT_MEL_FLOOR);

  for (int t = 0; t < frames; t++)
    {
      gsize start = (gsize) t * hop;
      if (start >= n)
        {
          for (int b = 0; b < bands; b++)
            out[(gsize) b * frames + t] = silent;
          continue;
        }
      gsize avail = MIN ((gsize) win, n - start);
      for (gsize i = 0; i < avail; i++)
        frame[i] = samples[start + i] * window[i];
      memset (frame + avail, 0, (n_fft - avail) * sizeof (float));
      gst_fft_f32_fft (fft, frame, spec);
      for (int k = 0; k < n_bins; k++)
        power[k] = spec[k].r * spec[k].r + spec[k].i * spec[k].i;
      for (int b = 0; b < bands; b++)
        {
          double acc = 0;
          const float *w = fb + (gsize) b * n_bins;
          for (int k = lo[b]; k < hi[b]; k++)
            acc += (double) w[k] * power[k];
          out[(gsize) b * frames + t] = (float) log (acc + WEFT_MEL_FLOOR);
        }
    }

  gst_fft_f32_free (fft);
  g_free (frame);
  g_free (spec);
  g_free (power);
  g_free (window);
  g_free (fb);
  g_free (lo);
  g_free (hi);
  g_free (edge);
}

/* ---- augmentation ------------------------------------------------------ */

void
weft_audio_add_noise (float *samples, gsize n, double snr_db, WeftRng *rng)
{
  g_return_if_fail (rng != NULL);
  if (samples == NULL || n == 0)
    return;

  double p_signal = 0;
  for (gsize i = 0; i < n; i++)
    p_signal += (double) samples[i] * samples[i];
  p_signal /= n;
  /* Silence has no level to be relative to: it stays silent. */
  if (p_signal <= 0)
    return;
  float std = (float) sqrt (p_signal / pow (10.0, snr_db / 10.0));
  for (gsize i = 0; i < n; i++)
    samples[i] += std * weft_rng_normal (rng);
}
