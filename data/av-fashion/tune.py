#!/usr/bin/python3
# tune.py — measures how informative each modality of a built AV-Fashion-MNIST
# folder is: an MLP per modality on raw features, then concat and late fusion.
"""Measure single-modality and fusion accuracy on a built AV-Fashion folder.

Reads the exact files build.py wrote (PNG images, Opus clips decoded with
opusdec, captions from metadata.csv) and computes the features Weft uses:
  image  the 28x28 grey pixels in [0, 1];
  audio  40 x 100 log-mel: 16 kHz, Hann window of 25 ms, hop 10 ms, 512-point
         FFT, 40 HTK mel bands over 0-8 kHz, log(power + 1e-6), frames past
         the end filled with log(1e-6) (the same rule as core/data/weft-audio.c);
  text   bag of words (term frequency x idf) over the first 16 tokens,
         vocabulary from the training split.
Each modality gets an MLP (one hidden layer of 256, ReLU, dropout 0.2, Adam);
the epoch with the best validation accuracy gives the test accuracy.
Fusion: "concat" trains one MLP on the three feature vectors joined;
"late" averages the three single-modality MLPs' class probabilities.
Needs python3-torch, python3-numpy, python3-pil and opusdec (opus-tools).
"""

import argparse
import csv
import json
import os
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

RATE = 16000


def log_mel(x, bands=40, window_ms=25.0, hop_ms=10.0, frames=100):
    """Mirrors weft_audio_log_mel: frame t starts at t*hop, a short last
    frame is zero padded, frames past the end are silent."""
    win = int(round(window_ms * RATE / 1000))
    hop = int(round(hop_ms * RATE / 1000))
    n_fft = 2
    while n_fft < win:
        n_fft *= 2
    n_bins = n_fft // 2 + 1

    def hz_to_mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def mel_to_hz(m):
        return 700.0 * (10 ** (m / 2595.0) - 1.0)

    edges = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(RATE / 2), bands + 2))
    f = np.arange(n_bins) * RATE / n_fft
    up = (f[None, :] - edges[:-2, None]) / (edges[1:-1, None] - edges[:-2, None])
    down = (edges[2:, None] - f[None, :]) / (edges[2:, None] - edges[1:-1, None])
    fb = np.maximum(0.0, np.minimum(up, down))                   # (bands, n_bins)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win) / win)
    out = np.full((bands, frames), np.log(1e-6))
    for t in range(frames):
        start = t * hop
        if start >= len(x):
            break
        seg = x[start:start + win]
        buf = np.zeros(n_fft)
        buf[:len(seg)] = seg * window[:len(seg)]
        spec = np.fft.rfft(buf)
        power = spec.real ** 2 + spec.imag ** 2
        out[:, t] = np.log(fb @ power + 1e-6)
    return out.astype(np.float32)


def decode_opus(path):
    """Mono float samples at 16 kHz (opusdec writes raw little-endian floats)."""
    r = subprocess.run(["opusdec", "--quiet", "--rate", str(RATE), "--float", path, "-"],
                       capture_output=True, check=True)
    return np.frombuffer(r.stdout, dtype="<f4").astype(np.float64)


def tokenize(text):
    """Close to weft_text_tokenize for ASCII captions: words (with inner
    apostrophes) and single punctuation characters, case folded."""
    return re.findall(r"[^\W_]+(?:'[^\W_]+)*|[^\w\s]|_", text.casefold())


def load(root, jobs):
    from PIL import Image
    with open(os.path.join(root, "metadata.csv"), encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    classes = sorted({r["label"] for r in rows})
    y = np.array([classes.index(r["label"]) for r in rows])
    split = np.array([r["split"] for r in rows])
    img = np.stack([np.asarray(Image.open(os.path.join(root, r["image_file_name"])).convert("L"),
                               dtype=np.float32).reshape(-1) / 255.0 for r in rows])
    files = sorted({r["audio_file_name"] for r in rows})
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        mels = list(pool.map(lambda p: log_mel(decode_opus(os.path.join(root, p))).reshape(-1), files))
    clip_index = {p: i for i, p in enumerate(files)}
    aud_clips = np.stack(mels)
    aud_idx = np.array([clip_index[r["audio_file_name"]] for r in rows])
    toks = [tokenize(r["text"])[:16] for r in rows]
    vocab = sorted({t for tk, s in zip(toks, split) if s == "train" for t in tk})
    vid = {t: i for i, t in enumerate(vocab)}
    tf = np.zeros((len(rows), len(vocab) + 1), dtype=np.float32)     # column 0: unknown
    for i, tk in enumerate(toks):
        for t in tk:
            tf[i, vid.get(t, -1) + 1] += 1
        tf[i] /= max(1, len(tk))
    df = (tf[split == "train"] > 0).sum(0)
    idf = np.log((1 + (split == "train").sum()) / (1 + df)) + 1
    txt = tf * idf
    return rows, classes, y, split, img, aud_clips, aud_idx, txt


def standardize(x, train_mask):
    m = x[train_mask].mean(0)
    s = x[train_mask].std(0) + 1e-6
    return ((x - m) / s).astype(np.float32)


def train_mlp(x, y, split, epochs, seed, hidden=256, lr=1e-3):
    """x is a function of row indices -> features (so the audio clips need
    not be copied per row). Returns (val acc, test acc, test probabilities)."""
    import torch
    torch.manual_seed(seed)
    d = x(np.arange(1)).shape[1]
    model = torch.nn.Sequential(torch.nn.Linear(d, hidden), torch.nn.ReLU(), torch.nn.Dropout(0.2),
                                torch.nn.Linear(hidden, 10))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    tr, va, te = (np.flatnonzero(split == s) for s in ("train", "validation", "test"))
    yt = torch.from_numpy(y)
    rng = np.random.default_rng(seed)

    def predict(idx):
        model.eval()
        with torch.no_grad():
            return torch.cat([torch.softmax(model(torch.from_numpy(x(idx[i:i + 2048]))), 1)
                              for i in range(0, len(idx), 2048)]).numpy()

    best = (-1.0, 0.0, None)
    for _ in range(epochs):
        model.train()
        perm = rng.permutation(tr)
        for i in range(0, len(perm), 128):
            b = perm[i:i + 128]
            loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(x(b))), yt[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
        val = float((predict(va).argmax(1) == y[va]).mean())
        if val > best[0]:
            p = predict(te)
            best = (val, float((p.argmax(1) == y[te]).mean()), p)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root", nargs="?", default=os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "weft", "datasets", "av-fashion"))
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--json", help="also write the results to this file")
    a = ap.parse_args()
    import torch
    torch.set_num_threads(max(1, a.jobs))
    t0 = time.monotonic()
    rows, classes, y, split, img, aud_clips, aud_idx, txt = load(a.root, a.jobs)
    tr = split == "train"
    print(f"loaded {len(rows)} rows, {len(aud_clips)} clips, vocabulary {txt.shape[1]} "
          f"({time.monotonic() - t0:.0f} s)", flush=True)
    img_s = standardize(img, tr)
    clip_tr = np.zeros(len(aud_clips), bool)
    clip_tr[aud_idx[tr]] = True
    m = aud_clips[aud_idx[tr]].mean(0)
    s = aud_clips[aud_idx[tr]].std(0) + 1e-6
    aud_s = ((aud_clips - m) / s).astype(np.float32)
    txt_s = txt.astype(np.float32)
    feats = {"image": lambda i: img_s[i], "audio": lambda i: aud_s[aud_idx[i]], "text": lambda i: txt_s[i]}
    results, probs = {}, {}
    for name, f in feats.items():
        val, test, p = train_mlp(f, y, split, a.epochs, a.seed)
        results[name] = {"validation": round(val, 4), "test": round(test, 4)}
        probs[name] = p
        print(f"{name:7s} val {val:.3f} test {test:.3f}", flush=True)
    te = split == "test"
    late = sum(probs.values()) / 3
    results["late"] = {"test": round(float((late.argmax(1) == y[te]).mean()), 4)}
    print(f"late    test {results['late']['test']:.3f}", flush=True)
    val, test, _ = train_mlp(lambda i: np.concatenate([f(i) for f in feats.values()], 1),
                             y, split, a.epochs, a.seed)
    results["concat"] = {"validation": round(val, 4), "test": round(test, 4)}
    print(f"concat  val {val:.3f} test {test:.3f}", flush=True)
    best_single = max(results[m]["test"] for m in ("image", "audio", "text"))
    results["fusion_gain_points"] = round(100 * (max(results["late"]["test"], results["concat"]["test"])
                                                 - best_single), 1)
    print(f"fusion gain over the best single modality: {results['fusion_gain_points']} points "
          f"({time.monotonic() - t0:.0f} s)")
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
