/* weft-audio.h — sounds to log-mel spectrograms: GStreamer decodes any
 * installed format to 16 kHz mono float (reading at most max_seconds), and
 * GStreamer's FFT library computes the mel bands. */
#pragma once

#include <glib.h>

#include "tensor/weft-rng.h"

G_BEGIN_DECLS

#define WEFT_AUDIO_RATE 16000

typedef struct {
  int mel_bands;             /* default 40 */
  double window_ms;          /* default 25 */
  double hop_ms;             /* default 10 */
  int frames;                /* output frames: pad with silence / trim; default 100 */
} WeftMelSettings;

void weft_mel_settings_init (WeftMelSettings *s);

/* Must be called once before any other function (safe to call again). */
void weft_audio_init (void);

/* Decodes at most max_seconds of the file to 16 kHz mono floats in [-1, 1]
 * (max_seconds <= 0: all of it); the caller frees the result with g_free
 * (never NULL on success, even for 0 samples). *truncated says whether the
 * file was longer. Errors in plain words: "the file is empty", "not an
 * audio file", "no audio stream", "the audio data is damaged". Safe to
 * call from several threads at once. */
float *weft_audio_decode (const char *path, double max_seconds, gsize *n_samples,
                          gboolean *truncated, GError **error);

/* The waveform's outline for drawing: for each of `bins` equal slices of
 * the first max_seconds (<= 0: all), the lowest and highest sample of the
 * mono mix, as minmax[2 b], minmax[2 b + 1]. Plain WAV files are read
 * directly, other formats through weft_audio_decode. */
gboolean weft_audio_envelope (const char *path, double max_seconds, guint bins, float *minmax,
                              GError **error);
/* Its WAV reader alone (for the tests): FALSE for a file it leaves to
 * GStreamer. */
gboolean _weft_audio_envelope_from_wav (const char *path, double max_seconds, guint bins,
                                        float *minmax);
/* Duration in seconds without decoding everything (header or discoverer). */
gboolean weft_audio_probe (const char *path, double *seconds, GError **error);

/* out (mel_bands, frames) = log(mel power + 1e-6) of samples at 16 kHz. */
void weft_audio_log_mel (const float *samples, gsize n, const WeftMelSettings *s, float *out);

/* Adds white noise at snr_db to samples in place (training augmentation). */
void weft_audio_add_noise (float *samples, gsize n, double snr_db, WeftRng *rng);

G_END_DECLS
