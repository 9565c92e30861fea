"""Reference log-mel spectrogram in numpy (float64) for tests/test-media.c.

Computes exactly the formula documented at the top of core/data/weft-audio.c,
written independently of it: periodic Hann window of round(window_ms*16)
samples, frames starting at t*hop (not centred, zero past the end), FFT of
the next power of two, power spectrum, HTK-mel triangles from 0 to 8 kHz
(peak 1), natural log of (mel power + 1e-6).

Usage: logmel_ref.py IN.f32 OUT.f32 MEL_BANDS WINDOW_MS HOP_MS FRAMES
IN.f32 is raw little-endian float32 samples at 16 kHz; OUT.f32 receives the
(mel_bands, frames) result as float32. Exits 77 when numpy is missing (the
C test then skips).
"""
import sys

try:
    import numpy as np
except ImportError:
    sys.exit(77)

RATE = 16000


def hz_to_mel(f):
    return 2595.0 * np.log10(1.0 + f / 700.0)


def mel_to_hz(m):
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


def log_mel(x, bands, window_ms, hop_ms, frames):
    win = max(1, int(round(window_ms * RATE / 1000.0)))
    hop = max(1, int(round(hop_ms * RATE / 1000.0)))
    n_fft = 2
    while n_fft < win:
        n_fft *= 2
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(win) / win)

    # Frames as rows, zero-padded past the end of the signal.
    padded = np.zeros(frames * hop + win)
    m = min(len(x), len(padded))
    padded[:m] = x[:m]
    idx = np.arange(frames)[:, None] * hop + np.arange(win)[None, :]
    spec = np.fft.rfft(padded[idx] * window, n=n_fft, axis=1)
    power = spec.real ** 2 + spec.imag ** 2               # (frames, n_bins)

    edges = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(RATE / 2.0), bands + 2))
    f = np.arange(n_fft // 2 + 1) * RATE / n_fft
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    fb = np.maximum(0.0, np.minimum((f - lo) / (mid - lo), (hi - f) / (hi - mid)))

    return np.log(fb @ power.T + 1e-6)                    # (bands, frames)


def main():
    src, dst = sys.argv[1], sys.argv[2]
    bands, window_ms, hop_ms, frames = (int(sys.argv[3]), float(sys.argv[4]),
                                        float(sys.argv[5]), int(sys.argv[6]))
    x = np.fromfile(src, dtype="<f4").astype(np.float64)
    out = log_mel(x, bands, window_ms, hop_ms, frames)
    out.astype("<f4").tofile(dst)


if __name__ == "__main__":
    main()
