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
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gst/app/gstappsink.h>
#include <gst/fft/gstfftf32.h>
#include <gst/gst.h>

#include "weft-bytes.h"
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

/* How the encoded stream reaches audioconvert. decodebin handles every
 * installed format but costs 1–2.5 ms more per file (it lists every
 * decoder factory and adds a multiqueue thread), which is most of the
 * cost of a one-second clip; so the common formats get a fixed chain,
 * and anything unexpected on it is retried through decodebin. */
typedef enum {
  CHAIN_DECODEBIN,
  CHAIN_WAV,    /* wavparse (PCM only) */
  CHAIN_FLAC,   /* flacparse ! flacdec */
  CHAIN_OGG,    /* oggdemux, then opusdec or vorbisdec for the stream */
} Chain;

typedef struct {
  Chain chain;
  GstElement *pipeline;
  GstElement *convert;   /* where the decoded audio pad is linked */
  GstBus *bus;

  /* Written by the streaming thread only; read once the pipeline is in
   * NULL (which joins that thread), except `progress`. */
  float *samples;        /* NULL when only counting */
  gboolean count_only;
  gsize n, cap, max_n;
  gboolean truncated;
  gboolean done;
  gboolean linked, saw_video;
  gboolean fallback;     /* the fixed chain met what it does not handle */
  gint progress;         /* atomic: buffers received, for the stall check */
} Decode;

static gboolean
contains (const guint8 *hay, gsize n, const char *needle, gsize len)
{
  for (gsize i = 0; i + len <= n; i++)
    if (memcmp (hay + i, needle, len) == 0)
      return TRUE;
  return FALSE;
}

/* Picks the chain from the first bytes; anything not recognised for sure
 * goes to decodebin. */
static Chain
sniff_chain (const char *path)
{
  guint8 head[512];
  int fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    return CHAIN_DECODEBIN;
  gssize n = read (fd, head, sizeof head);
  close (fd);
  if (n >= 12 && memcmp (head, "RIFF", 4) == 0 && memcmp (head + 8, "WAVE", 4) == 0)
    return CHAIN_WAV;
  if (n >= 4 && memcmp (head, "fLaC", 4) == 0)
    return CHAIN_FLAC;
  if (n >= 4 && memcmp (head, "OggS", 4) == 0 &&
      (contains (head, n, "OpusHead", 8) || contains (head, n, "\001vorbis", 7)))
    return CHAIN_OGG;
  return CHAIN_DECODEBIN;
}

static void
post_app (Decode *d, const char *name)
{
  GstStructure *s = gst_structure_new_empty (name);
  gst_bus_post (d->bus, gst_message_new_application (GST_OBJECT (d->pipeline), s));
}

static void
request_fallback (Decode *d)
{
  d->fallback = TRUE;
  post_app (d, "weft-fallback");
}

/* Adds factory between pad and audioconvert (fixed Ogg chain). */
static gboolean
link_through (Decode *d, GstPad *pad, const char *factory)
{
  GstElement *dec = gst_element_factory_make (factory, NULL);
  if (dec == NULL)
    return FALSE;
  gst_bin_add (GST_BIN (d->pipeline), dec);
  if (!gst_element_link (dec, d->convert))
    return FALSE;
  gst_element_sync_state_with_parent (dec);
  g_autoptr(GstPad) sink = gst_element_get_static_pad (dec, "sink");
  return gst_pad_link (pad, sink) == GST_PAD_LINK_OK;
}

/* A new stream from decodebin or oggdemux (streaming thread). */
static void
on_pad_added (GstElement *element, GstPad *pad, gpointer user_data)
{
  Decode *d = user_data;
  if (d->fallback)
    return;
  g_autoptr(GstCaps) caps = gst_pad_get_current_caps (pad);
  if (caps == NULL)
    caps = gst_pad_query_caps (pad, NULL);
  const char *media = gst_caps_is_empty (caps) ? "" :
                      gst_structure_get_name (gst_caps_get_structure (caps, 0));

  if (!d->linked)
    {
      gboolean ok = FALSE;
      if (g_str_equal (media, "audio/x-raw"))
        {
          g_autoptr(GstPad) sink = gst_element_get_static_pad (d->convert, "sink");
          ok = gst_pad_link (pad, sink) == GST_PAD_LINK_OK;
        }
      else if (d->chain == CHAIN_OGG && g_str_equal (media, "audio/x-opus"))
        ok = link_through (d, pad, "opusdec");
      else if (d->chain == CHAIN_OGG && g_str_equal (media, "audio/x-vorbis"))
        ok = link_through (d, pad, "vorbisdec");
      if (ok)
        {
          d->linked = TRUE;
          return;
        }
      /* The fixed chains know only these streams: decodebin decides
       * what anything else is. */
      if (d->chain != CHAIN_DECODEBIN)
        {
          request_fallback (d);
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
on_no_more_pads (GstElement *element, gpointer user_data)
{
  Decode *d = user_data;
  if (d->linked || d->fallback)
    return;
  if (d->chain != CHAIN_DECODEBIN)
    request_fallback (d);
  else
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
                 "GStreamer's \"%s\" element is missing (install gstreamer1.0-plugins-base "
                 "and gstreamer1.0-plugins-good)", factory);
  return e;
}

/* filesrc ! <chain> ! audioconvert ! audioresample
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
  static const char *const heads[][2] = {
    [CHAIN_DECODEBIN] = { "decodebin", NULL },
    [CHAIN_WAV] = { "wavparse", NULL },
    [CHAIN_FLAC] = { "flacparse", "flacdec" },
    [CHAIN_OGG] = { "oggdemux", NULL },
  };
  const char *names[] = { "filesrc", heads[d->chain][0], heads[d->chain][1],
                          "audioconvert", "audioresample", "appsink" };
  GstElement *e[G_N_ELEMENTS (names)] = { NULL };
  gboolean ok = TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (names) && ok; i++)
    if (names[i] != NULL)
      ok = (e[i] = make (names[i], error)) != NULL;
  if (!ok)
    {
      for (guint i = 0; i < G_N_ELEMENTS (e); i++)
        if (e[i])
          gst_object_unref (gst_object_ref_sink (e[i]));
      return FALSE;
    }
  GstElement *src = e[0], *head = e[1], *dec = e[2], *conv = e[3], *res = e[4], *sink = e[5];

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

  for (guint i = 0; i < G_N_ELEMENTS (e); i++)
    if (e[i])
      gst_bin_add (GST_BIN (d->pipeline), e[i]);
  ok = gst_element_link (src, head) && gst_element_link_many (conv, res, sink, NULL);
  if (d->chain == CHAIN_WAV || d->chain == CHAIN_FLAC)
    {
      /* Static pads, linked now. A WAV holding something other than PCM
       * (GSM, MP3, A-law) fails to negotiate and is retried on decodebin. */
      ok = ok && (dec ? gst_element_link_many (head, dec, conv, NULL) : gst_element_link (head, conv));
      d->linked = TRUE;
    }
  else
    {
      g_signal_connect (head, "pad-added", G_CALLBACK (on_pad_added), d);
      g_signal_connect (head, "no-more-pads", G_CALLBACK (on_no_more_pads), d);
    }
  if (!ok)
    {
      g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_IO, "the GStreamer pipeline could not be built");
      return FALSE;
    }
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
 * and a pipeline that stops making progress is abandoned. FALSE without
 * an error when the fixed chain asks for decodebin (d->fallback). */
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
              if (d->chain != CHAIN_DECODEBIN)
                {
                  d->fallback = TRUE;
                  return FALSE;
                }
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
            if (d->chain != CHAIN_DECODEBIN && g_atomic_int_get (&d->progress) == 0)
              {
                /* Nothing decoded yet: let decodebin try, and word the
                 * error if it fails too. */
                d->fallback = TRUE;
                return FALSE;
              }
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
            if (g_str_equal (name, "weft-fallback"))
              return FALSE;
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

/* Sets up and runs d on its sniffed chain, then on decodebin if the
 * fixed chain gave up. */
static gboolean
decode_start (Decode *d, const char *path, GstState target, GError **error)
{
  Decode init = *d;
  init.chain = sniff_chain (path);
  for (;;)
    {
      *d = init;
      if (decode_setup (d, path, error) && decode_run (d, target, error))
        return TRUE;
      if (!d->fallback || init.chain == CHAIN_DECODEBIN)
        return FALSE;
      g_debug ("%s: retrying through decodebin", path);
      decode_clear (d);
      init.chain = CHAIN_DECODEBIN;
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
  if (!decode_start (&d, path, GST_STATE_PLAYING, error))
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

/* A plain RIFF/WAVE file read from its header: integer PCM (8, 16, 24
 * or 32 bits) or 32-bit float, any rate and channel count. Anything else
 * or anything odd is left to GStreamer, which reads and judges it. */
typedef struct {
  guint16 format;           /* 1 integer PCM, 3 float */
  guint16 channels;
  guint16 bits;
  guint16 block_align;
  guint32 rate;
  guint32 byte_rate;
  gint64 data_offset;
  gint64 data_size;         /* capped by what the file holds: a file cut
                               short, or a streamed one with a placeholder */
} WavInfo;

static gboolean
read_wav_header (FILE *f, WavInfo *w)
{
  guint8 buf[4096];
  gsize pos = 12, got = fread (buf, 1, sizeof buf, f);
  gint64 file_size = fseeko (f, 0, SEEK_END) == 0 ? (gint64) ftello (f) : -1;
  gboolean have_fmt = FALSE;

  if (got < 12 || file_size < 0 || memcmp (buf, "RIFF", 4) != 0 || memcmp (buf + 8, "WAVE", 4) != 0)
    return FALSE;
  while (pos + 8 <= got)
    {
      guint32 size = weft_get_u32 (buf + pos + 4);

      if (memcmp (buf + pos, "fmt ", 4) == 0)
        {
          if (size < 16 || pos + 8 + 16 > got)
            return FALSE;
          w->format = weft_get_u16 (buf + pos + 8);
          w->channels = weft_get_u16 (buf + pos + 10);
          w->rate = weft_get_u32 (buf + pos + 12);
          w->byte_rate = weft_get_u32 (buf + pos + 16);
          w->block_align = weft_get_u16 (buf + pos + 20);
          w->bits = weft_get_u16 (buf + pos + 22);
          have_fmt = (w->format == 1 && (w->bits == 8 || w->bits == 16 || w->bits == 24 ||
                                         w->bits == 32)) ||
                     (w->format == 3 && w->bits == 32);
          if (!have_fmt || w->channels == 0 || w->rate == 0 ||
              w->block_align != w->channels * (w->bits / 8) ||
              w->byte_rate != w->rate * w->block_align)
            return FALSE;
        }
      else if (memcmp (buf + pos, "data", 4) == 0)
        {
          w->data_offset = (gint64) pos + 8;
          w->data_size = MIN ((gint64) size, file_size - w->data_offset);
          return have_fmt && w->data_size >= 0;
        }
      pos += 8 + (gsize) size + (size & 1);
    }
  return FALSE;
}

/* The duration from the header: some microseconds against a pipeline's
 * milliseconds (the statistics panel measures thousands of clips). */
static gboolean
probe_wav_header (const char *path, double *seconds)
{
  FILE *f = g_fopen (path, "rb");
  WavInfo w = { 0 };
  gboolean ok;

  if (f == NULL)
    return FALSE;
  ok = read_wav_header (f, &w);
  fclose (f);
  if (ok)
    *seconds = (double) (w.data_size / w.block_align) / w.rate;
  return ok;
}

/* One sample of a WAV frame, as a float in [-1, 1]. */
static float
wav_sample (const guint8 *p, const WavInfo *w)
{
  switch (w->bits)
    {
    case 8:
      return (p[0] - 128) / 128.0f;
    case 16:
      return (gint16) weft_get_u16 (p) / 32768.0f;
    case 24:
      return (gint32) ((guint32) p[0] << 8 | (guint32) p[1] << 16 | (guint32) p[2] << 24) /
             2147483648.0f;
    default:
      if (w->format == 3)
        {
          guint32 bits = weft_get_u32 (p);
          float v;

          memcpy (&v, &bits, 4);
          return isfinite (v) ? CLAMP (v, -1.0f, 1.0f) : 0.0f;
        }
      return (gint32) weft_get_u32 (p) / 2147483648.0f;
    }
}

/* For each of `bins` equal slices of x, its lowest and highest sample
 * (0 included, so that silence draws as a line). */
static void
envelope_of (const float *x, gsize n, guint bins, float *minmax)
{
  for (guint b = 0; b < bins; b++)
    {
      gsize lo = b * n / bins, hi = MAX (lo + 1, (b + 1) * n / bins);
      float mn = 0, mx = 0;

      for (gsize i = lo; i < hi && i < n; i++)
        {
          mn = MIN (mn, x[i]);
          mx = MAX (mx, x[i]);
        }
      minmax[2 * b] = mn;
      minmax[2 * b + 1] = mx;
    }
}

/* The envelope of a WAV file read directly (mono mix at its own rate):
 * the card grid asks for one per card, and a pipeline per clip, with its
 * streaming threads, took CPU from the frames. */
gboolean
_weft_audio_envelope_from_wav (const char *path, double max_seconds, guint bins, float *minmax)
{
  FILE *f = g_fopen (path, "rb");
  WavInfo w = { 0 };
  g_autofree guint8 *data = NULL;
  g_autofree float *mono = NULL;
  gint64 frames;
  gsize bytes;

  if (f == NULL)
    return FALSE;
  if (!read_wav_header (f, &w) || fseeko (f, w.data_offset, SEEK_SET) != 0)
    {
      fclose (f);
      return FALSE;
    }
  frames = w.data_size / w.block_align;
  if (max_seconds > 0)
    frames = MIN (frames, (gint64) ceil (max_seconds * w.rate));
  bytes = (gsize) frames * w.block_align;
  data = g_malloc (MAX (bytes, 1));
  if (fread (data, 1, bytes, f) != bytes)
    {
      fclose (f);
      return FALSE;
    }
  fclose (f);

  mono = g_new (float, MAX (frames, 1));
  for (gint64 i = 0; i < frames; i++)
    {
      const guint8 *frame = data + i * w.block_align;
      float v = 0;

      for (guint c = 0; c < w.channels; c++)
        v += wav_sample (frame + c * (w.bits / 8), &w);
      mono[i] = v / w.channels;
    }
  envelope_of (mono, (gsize) frames, bins, minmax);
  return TRUE;
}

gboolean
weft_audio_envelope (const char *path, double max_seconds, guint bins, float *minmax,
                     GError **error)
{
  g_autofree float *pcm = NULL;
  gsize n = 0;

  g_return_val_if_fail (path != NULL && bins > 0 && minmax != NULL, FALSE);

  weft_audio_init ();
  if (!check_file (path, error))
    return FALSE;
  if (_weft_audio_envelope_from_wav (path, max_seconds, bins, minmax))
    return TRUE;

  pcm = weft_audio_decode (path, max_seconds, &n, NULL, error);
  if (pcm == NULL)
    return FALSE;
  envelope_of (pcm, n, bins, minmax);
  return TRUE;
}

gboolean
weft_audio_probe (const char *path, double *seconds, GError **error)
{
  double header_seconds;

  g_return_val_if_fail (path != NULL, FALSE);

  weft_audio_init ();
  if (!check_file (path, error))
    return FALSE;
  if (probe_wav_header (path, &header_seconds))
    {
      if (seconds)
        *seconds = header_seconds;
      return TRUE;
    }

  Decode d = { 0 };
  d.max_n = G_MAXSIZE;
  d.count_only = TRUE;
  if (!decode_start (&d, path, GST_STATE_PAUSED, error))
    {
      decode_clear (&d);
      return FALSE;
    }
  if (!d.linked)
    {
      /* Prerolled without an audio pad: EOS before any stream appeared. */
      decode_clear (&d);
      g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_DATA, "no audio stream");
      return FALSE;
    }
  gint64 dur = -1;
  if (!gst_element_query_duration (d.pipeline, GST_FORMAT_TIME, &dur) || dur < 0)
    {
      /* No duration in the headers (some streams): count the samples. */
      if (!decode_run (&d, GST_STATE_PLAYING, error))
        {
          decode_clear (&d);
          if (error && *error == NULL)
            g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_DATA, "the audio data is damaged");
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
