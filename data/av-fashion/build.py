#!/usr/bin/python3
# build.py — builds AV-Fashion-MNIST: Fashion-MNIST images made harder, a
# spoken class name in noise, and a caption that only sometimes names it.
"""Build the AV-Fashion-MNIST dataset.

Sources (Debian 12 packages): dataset-fashion-mnist (the IDX files in
/usr/share/datasets/fashion-mnist, Expat licence, (c) Zalando SE),
espeak-ng + sox (speech), opus-tools (Opus), python3-numpy, python3-pil.

Each of the 70,000 rows pairs
  image  the Fashion-MNIST picture (28x28 grey PNG) with its top principal
         components removed and noise added, so that pixels alone are
         only moderately informative;
  audio  the class name spoken by espeak-ng and mixed with noise at a low
         SNR. Clips are pooled: each split has its own pool of clips per
         class, spoken by voices that no other split uses, and the rows
         of a class share their split's pool. A fifth of the rows get a
         clip of another class (see p_audio_mismatch);
  text   a templated caption that names the class only sometimes: it may
         give only related words ("for winter", "with laces") or add a
         distractor naming another class ("goes well with a bag").
No single modality gives the answer away; together they do. The settings
below were tuned with tune.py (see README.md).

Split: Fashion-MNIST's own train/test; a seeded, class-stratified 10 % of
train is the validation split. The full set goes to
$XDG_CACHE_HOME/weft/datasets/av-fashion by default; --sample builds the
500-row sample (50 per class) committed in data/av-fashion/sample, whose
rows are identical to the same rows of the full set. The same seed gives the
same files; a finished folder is left alone.
"""

import argparse
import csv
import gzip
import importlib.util
import io
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import time
import wave
import zlib
from concurrent.futures import ThreadPoolExecutor

try:
    import numpy as np
except ImportError:
    sys.exit("av-fashion: needs python3-numpy (Debian's /usr/bin/python3; see build-aux/install-deps)")

NAME = "av-fashion"
FORMAT_VERSION = 1
IDX_DIR = "/usr/share/datasets/fashion-mnist"
PACKAGES = ["dataset-fashion-mnist", "python3-numpy", "python3-pil", "espeak-ng", "sox", "opus-tools"]

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

# The difficulty settings, tuned with tune.py so that each modality alone
# reaches roughly 55-75 % test accuracy and fusion clearly beats each.
KNOBS = {
    # image: remove the top-k principal components (fitted on the training
    # split), map the residual to grey levels, add Gaussian noise.
    "pca_remove": 45,
    "residual_std": 40.0,          # grey levels per residual standard deviation
    "image_noise": 65.0,           # noise standard deviation, grey levels
    # audio: clips per class in each split's pool, SNR range (dB).
    "clips_train": 100, "clips_validation": 20, "clips_test": 30,
    "snr_min": -4.0, "snr_max": 6.0,
    "onset_max": 0.1,              # speech starts 0-onset_max s into the 1 s clip
    "p_audio_mismatch": 0.2,       # share of rows whose clip speaks another class
    # text: probability that the caption names the class, that it carries a
    # distractor naming another class, and that a related word is random.
    "p_name": 0.55, "p_distractor": 0.3, "p_random_attribute": 0.2,
}

SAMPLE_PER_CLASS = {"train": 35, "validation": 5, "test": 10}

# --- speech ---------------------------------------------------------------

SPOKEN = [["t-shirt", "top"], ["trousers"], ["pullover"], ["dress"], ["coat"],
          ["sandal"], ["shirt"], ["sneaker"], ["bag"], ["ankle boot"]]
# "en-gb+VARIANT" silently ignores the variant, so British English is "en".
ACCENTS = ["en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan",
           "en-gb-x-gbcwmd", "en-029", "en-us-nyc"]
VARIANTS = ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5",
            "croak", "klatt", "klatt2", "klatt3", "klatt4", "whisper", "whisperf",
            "Andy", "Annie", "Alicia", "Gene", "Gene2", "Jacky", "Lee", "Storm", "Tweaky",
            "adam", "aunty", "belinda", "boris", "david", "ed", "edward", "grandpa",
            "iven", "john", "linda", "max", "michel", "norbert", "paul", "quincy",
            "rob", "robert", "steph", "travis", "zac"]
HELD_OUT = {"validation": 8, "test": 12}   # variants per held-out split
RATE = 16000
CLIP = RATE                                # 1.0 s: Weft's 100 log-mel frames
NOISES = ["white", "pink", "brown"]

# --- captions -------------------------------------------------------------

SYNONYMS = [["t-shirt", "tee", "top", "tank top"],
            ["trousers", "pants", "jeans", "slacks"],
            ["pullover", "sweater", "jumper", "sweatshirt"],
            ["dress", "gown", "frock", "sundress"],
            ["coat", "jacket", "parka", "overcoat"],
            ["sandal", "sandals", "flip-flop", "slide"],
            ["shirt", "blouse", "button-down", "polo"],
            ["sneaker", "sneakers", "trainer", "running shoe"],
            ["bag", "handbag", "purse", "tote"],
            ["ankle boot", "boot", "bootie", "chelsea boot"]]
# Related words, each shared by several classes on purpose: they narrow the
# class down without naming it, and cut across the groups the images confuse.
ATTRIBUTES = {
    "for summer": {0, 3, 5, 8}, "for winter": {2, 4, 9}, "for the office": {1, 3, 6, 8},
    "for sport": {0, 1, 7}, "cotton": {0, 1, 3, 6}, "wool": {2, 4}, "leather": {4, 5, 8, 9},
    "with buttons": {3, 4, 6}, "with long sleeves": {2, 4, 6}, "with laces": {7, 9},
    "with a zip": {1, 4, 8, 9}, "with straps": {3, 5, 8}, "with pockets": {1, 4, 8},
    "for a party": {3, 6, 8}, "for walking": {5, 7, 9}, "comfortable": {0, 1, 2, 7},
    "elegant": {3, 6, 8, 9}, "waterproof": {4, 8, 9}, "lightweight": {0, 3, 5, 7},
    "warm": {2, 4, 9},
}
CLASS_ATTRIBUTES = [[a for a, cs in ATTRIBUTES.items() if c in cs] for c in range(10)]
COLOURS = ["black", "white", "grey", "navy", "red", "green", "beige", "brown",
           "blue", "pink", "yellow", "striped", "dark", "light"]
ADJECTIVES = ["new", "classic", "cheap", "second-hand", "vintage", "simple", "nice", "modern"]
GENERIC = ["item", "piece", "product", "article", "thing", "find"]
NAMED_TEMPLATES = ["a {colour} {item}, {attr}", "{adj} {colour} {item}", "photo of a {item} {attr}",
                   "{item}, {attr}, size {size}", "new arrival: {colour} {item}",
                   "this {item} is {attr2}", "{colour} {item} {attr}"]
UNNAMED_TEMPLATES = ["a {colour} {item}, {attr}", "{adj} {item} {attr}", "photo of something {attr}",
                     "{attr}, size {size}", "new arrival, {attr}", "this {item} is {attr2}",
                     "{colour} and {attr2}"]
DISTRACTORS = ["goes well with a {other}", "next to the {other}", "not a {other}",
               "from the {other} shelf", "cheaper than a {other}"]
SIZES = ["XS", "S", "M", "L", "XL", "38", "40", "42"]


def default_out():
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(cache, "weft", "datasets", NAME)


class Progress:
    """One progress line: rewritten in place on a terminal, else a line per 10 %."""

    def __init__(self, what, total):
        self.what, self.total, self.done = what, total, 0
        self.tty = sys.stdout.isatty()
        self.next_pct = 0
        self.show()

    def step(self, n=1):
        self.done += n
        self.show()

    def show(self):
        pct = 100 * self.done // max(1, self.total)
        if self.tty:
            end = "\n" if self.done >= self.total else ""
            print(f"\r{NAME}: {self.what} {self.done}/{self.total} ({pct}%)", end=end, flush=True)
        elif pct >= self.next_pct or self.done >= self.total:
            print(f"{NAME}: {self.what} {self.done}/{self.total} ({pct}%)", flush=True)
            self.next_pct = pct - pct % 10 + 10


def die(msg):
    print(f"{NAME}: {msg}", file=sys.stderr)
    sys.exit(1)


def check_sources():
    files = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    missing = [os.path.join(IDX_DIR, f) for f in files if not os.path.exists(os.path.join(IDX_DIR, f))]
    tools = [t for t in ("espeak-ng", "sox", "opusenc") if shutil.which(t) is None]
    if importlib.util.find_spec("PIL") is None:
        tools.append("python3-pil")
    if missing or tools:
        die("missing " + ", ".join(missing + tools) +
            "; install the Debian packages with build-aux/install-deps (" + " ".join(PACKAGES) + ")")


def package_versions():
    out = {}
    for p in PACKAGES:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", p], capture_output=True, text=True)
        out[p] = r.stdout.strip() if r.returncode == 0 else "?"
    return out


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_fashion():
    """(images uint8 (70000, 28, 28), labels, source names, source indices)."""
    xs, ys, src, idx = [], [], [], []
    for name, prefix in (("train", "train"), ("test", "t10k")):
        x = read_idx(f"{IDX_DIR}/{prefix}-images-idx3-ubyte.gz")
        y = read_idx(f"{IDX_DIR}/{prefix}-labels-idx1-ubyte.gz")
        xs.append(x)
        ys.append(y)
        src += [name] * len(y)
        idx.append(np.arange(len(y)))
    return np.concatenate(xs), np.concatenate(ys).astype(np.int64), src, np.concatenate(idx)


def make_splits(labels, src, seed):
    """Official train/test; 10 % of train per class is validation."""
    rng = np.random.default_rng([seed, 1])
    split = np.array(["train" if s == "train" else "test" for s in src], dtype=object)
    train = np.array([s == "train" for s in src])
    for c in range(10):
        members = np.flatnonzero(train & (labels == c))
        val = rng.choice(members, size=round(0.1 * len(members)), replace=False)
        split[val] = "validation"
    return split


def row_rng(seed, stream, src, idx):
    """An independent random stream per row, so a sample row equals the same
    row of the full set whatever else is built."""
    return np.random.default_rng([seed, stream, 0 if src == "train" else 1, int(idx)])


# --- images ---------------------------------------------------------------

def fit_pca(images, split, knobs):
    x = images[split == "train"].reshape(-1, 784).astype(np.float64) / 255.0
    mean = x.mean(0)
    cov = np.cov(x - mean, rowvar=False)
    vals, vecs = np.linalg.eigh(cov)
    order = np.argsort(vals)[::-1]
    vals, vecs = vals[order], vecs[:, order]
    k = knobs["pca_remove"]
    top = vecs[:, :k]
    # Standard deviation of what is left, to map it to grey levels.
    left_std = float(np.sqrt(vals[k:].sum() / 784))
    energy = float(vals[:k].sum() / vals.sum())
    return {"mean": mean, "top": top, "left_std": left_std, "energy_removed": energy}


def degrade(image, pca, knobs, rng):
    x = image.reshape(784).astype(np.float64) / 255.0 - pca["mean"]
    x = x - pca["top"] @ (pca["top"].T @ x)
    g = 128.0 + knobs["residual_std"] * x / pca["left_std"]
    g = g + rng.normal(0.0, knobs["image_noise"], 784)
    return np.clip(np.rint(g), 0, 255).astype(np.uint8).reshape(28, 28)


# --- captions -------------------------------------------------------------

def caption(c, knobs, rng):
    """(text, kind): kind says whether it names the class and has a distractor."""
    def pick(seq):
        return seq[int(rng.integers(len(seq)))]

    def attribute():
        if rng.random() < knobs["p_random_attribute"]:
            return pick(list(ATTRIBUTES))
        return pick(CLASS_ATTRIBUTES[c])

    named = rng.random() < knobs["p_name"]
    fields = {"colour": pick(COLOURS), "adj": pick(ADJECTIVES), "size": pick(SIZES),
              "attr": attribute(), "attr2": attribute(),
              "item": pick(SYNONYMS[c]) if named else pick(GENERIC)}
    text = pick(NAMED_TEMPLATES if named else UNNAMED_TEMPLATES).format(**fields)
    kind = "named" if named else "related"
    if rng.random() < knobs["p_distractor"]:
        other = pick([o for o in range(10) if o != c])
        text += ", " + pick(DISTRACTORS).format(other=pick(SYNONYMS[other]))
        kind += "+distractor"
    return text, kind


# --- audio ----------------------------------------------------------------

def voice_sets(seed):
    """Variants split between train, validation and test: no voice is heard
    in two splits."""
    order = VARIANTS[:]
    random.Random(seed * 1000 + 17).shuffle(order)
    n_val, n_test = HELD_OUT["validation"], HELD_OUT["test"]
    return {"validation": order[:n_val], "test": order[n_val:n_val + n_test],
            "train": order[n_val + n_test:]}


def plan_clips(seed, knobs):
    """Every pooled clip's words, voice and noise, decided up front."""
    voices = voice_sets(seed)
    clips = {}
    for si, split in enumerate(("train", "validation", "test")):
        n = knobs["clips_" + split]
        for c in range(10):
            for k in range(n):
                rng = np.random.default_rng([seed, 7, si, c, k])
                clips[(split, c, k)] = {
                    "file": f"audio/{split}/clip_{c * n + k:04d}.opus",
                    "word": SPOKEN[c][int(rng.integers(len(SPOKEN[c])))],
                    "accent": ACCENTS[int(rng.integers(len(ACCENTS)))],
                    "variant": voices[split][int(rng.integers(len(voices[split])))],
                    "speed": int(rng.integers(130, 211)),
                    "pitch": int(rng.integers(20, 81)),
                    "noise": NOISES[int(rng.integers(len(NOISES)))],
                    "snr": round(float(rng.uniform(knobs["snr_min"], knobs["snr_max"])), 1),
                    "onset": float(rng.random()), "onset_max": knobs["onset_max"],
                    "seed": [seed, 8, si, c, k],
                }
    return clips


def speak(word, voice, speed, pitch):
    """espeak-ng at 16 kHz as float samples, silence trimmed."""
    es = subprocess.Popen(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", word],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    sx = subprocess.run(["sox", "-R", "-t", "wav", "-", "-t", "raw", "-e", "signed", "-b", "16",
                         "-r", str(RATE), "-c", "1", "-"], stdin=es.stdout, capture_output=True)
    es.stdout.close()
    if es.wait() or sx.returncode:
        raise RuntimeError(f"espeak-ng/sox failed for '{word}' ({voice})")
    x = np.frombuffer(sx.stdout, dtype="<i2").astype(np.float64) / 32768.0
    loud = np.flatnonzero(np.abs(x) > 0.02 * max(1e-9, np.abs(x).max()))
    return x[loud[0]:loud[-1] + 1] if len(loud) else x


def coloured_noise(kind, n, rng):
    w = rng.normal(0.0, 1.0, n)
    if kind == "white":
        return w
    f = np.fft.rfftfreq(n, 1.0 / RATE)
    f[0] = f[1]
    shape = 1.0 / np.sqrt(f) if kind == "pink" else 1.0 / f
    x = np.fft.irfft(np.fft.rfft(w) * shape, n)
    return x / x.std()


def make_clip(clip):
    voice = f"{clip['accent']}+{clip['variant']}"
    speed = clip["speed"]
    x = speak(clip["word"], voice, speed, clip["pitch"])
    while len(x) > 0.95 * CLIP and speed < 400:   # too slow to fit one second: speak faster
        speed = int(speed * len(x) / (0.9 * CLIP)) + 5
        x = speak(clip["word"], voice, speed, clip["pitch"])
    x = x[:CLIP]
    rng = np.random.default_rng(clip["seed"])
    out = np.zeros(CLIP)
    start = int(clip["onset"] * min(CLIP - len(x), clip["onset_max"] * RATE))
    speech_rms = np.sqrt(np.mean(x ** 2)) + 1e-12
    out[start:start + len(x)] = x / speech_rms * 0.1
    out += coloured_noise(clip["noise"], CLIP, rng) * 0.1 / 10 ** (clip["snr"] / 20)
    out *= 0.89 / np.abs(out).max()                 # peak at -1 dBFS
    pcm = np.clip(np.rint(out * 32767), -32768, 32767).astype("<i2")
    return pcm, speed


def write_opus(pcm, path, name):
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())
    tmp = path + ".tmp"
    # A fixed Ogg serial number (opusenc picks a random one) from the
    # relative name keeps builds, and the sample and the full set, identical.
    serial = zlib.crc32(name.encode()) & 0x7FFFFFFF
    r = subprocess.run(["opusenc", "--quiet", "--bitrate", "16", "--serial", str(serial), "-", tmp],
                       input=buf.getvalue(), capture_output=True)
    if r.returncode:
        raise RuntimeError(f"opusenc failed: {r.stderr.decode(errors='replace').strip()}")
    os.replace(tmp, path)


# --- the build ------------------------------------------------------------

def plan(seed, knobs, sample):
    """All rows (dicts) of the full set or of the sample."""
    images, labels, src, idx = load_fashion()
    split = make_splits(labels, src, seed)
    rows = []
    for i in range(len(labels)):
        rows.append({"i": i, "src": src[i], "idx": int(idx[i]), "class": int(labels[i]), "split": split[i],
                     "id": f"fm_{src[i]}_{int(idx[i]):05d}"})
    if sample:
        rng = np.random.default_rng([seed, 3])
        chosen = []
        for c in range(10):
            for s, n in SAMPLE_PER_CLASS.items():
                members = [r for r in rows if r["class"] == c and r["split"] == s]
                chosen += [members[j] for j in sorted(rng.choice(len(members), n, replace=False))]
        rows = chosen
    clips = plan_clips(seed, knobs)
    for r in rows:
        rng = row_rng(seed, 2, r["src"], r["idx"])
        r["text"], r["kind"] = caption(r["class"], knobs, rng)
        # Some rows get a clip of another class: pooled clips would otherwise
        # tell the class perfectly on the training split, and a fusion model
        # would learn to trust the audio alone.
        spoken = r["class"]
        if rng.random() < knobs["p_audio_mismatch"]:
            spoken = (spoken + 1 + int(rng.integers(9))) % 10
        n = knobs["clips_" + r["split"]]
        r["clip"] = clips[(r["split"], spoken, int(rng.integers(n)))]
    return images, split, rows


def build(out, seed, sample, jobs, knobs=KNOBS):
    config = {"dataset": NAME, "format": FORMAT_VERSION, "seed": seed, "sample": sample, "knobs": knobs}
    stamp = os.path.join(out, "build-info.json")
    if os.path.exists(stamp):
        with open(stamp, encoding="utf-8") as f:
            info = json.load(f)
        if {k: info.get(k) for k in config} == config and os.path.exists(os.path.join(out, "metadata.csv")):
            print(f"{NAME}: {out} is complete ({info.get('rows')} rows); nothing to do")
            return
        die(f"{out} holds a build with other settings; use --force or another folder")
    check_sources()
    from PIL import Image
    t0 = time.monotonic()
    images, split, rows = plan(seed, knobs, sample)
    pca = fit_pca(images, split, knobs)
    for sub in ("images", "audio/train", "audio/validation", "audio/test"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)

    prog = Progress("images", len(rows))
    for n, r in enumerate(rows, 1):
        path = os.path.join(out, "images", r["id"] + ".png")
        if not os.path.exists(path):
            img = degrade(images[r["i"]], pca, knobs, row_rng(seed, 4, r["src"], r["idx"]))
            Image.fromarray(img, mode="L").save(path + ".tmp", format="PNG")
            os.replace(path + ".tmp", path)
        if n % 500 == 0 or n == len(rows):
            prog.step(n - prog.done)

    used = {}
    for r in rows:
        used[r["clip"]["file"]] = r["clip"]
    clips = [used[f] for f in sorted(used)]
    prog = Progress("speech", len(clips))

    def job(clip):
        path = os.path.join(out, clip["file"])
        if os.path.exists(path) and os.path.exists(path + ".json"):
            with open(path + ".json", encoding="utf-8") as f:
                clip["speed_used"] = json.load(f)["speed"]
            return
        pcm, speed = make_clip(clip)
        write_opus(pcm, path, clip["file"])
        clip["speed_used"] = speed
        # Kept so that a resumed build still knows the speed actually used.
        with open(path + ".json", "w", encoding="utf-8") as f:
            json.dump({"speed": speed}, f)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for _ in pool.map(job, clips):
            prog.step()
    for clip in clips:
        os.remove(os.path.join(out, clip["file"]) + ".json")

    tmp = os.path.join(out, "metadata.csv.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(["id", "image_file_name", "audio_file_name", "text", "label", "split",
                    "caption_kind", "spoken", "voice", "noise", "snr_db", "source"])
        for r in rows:
            c = r["clip"]
            w.writerow([r["id"], f"images/{r['id']}.png", c["file"], r["text"], CLASSES[r["class"]],
                        r["split"], r["kind"], c["word"],
                        f"espeak-ng {c['accent']}+{c['variant']} -s {c['speed_used']} -p {c['pitch']}",
                        c["noise"], c["snr"], f"{r['src']} {r['idx']}"])
    os.replace(tmp, os.path.join(out, "metadata.csv"))
    info = dict(config, rows=len(rows), clips=len(clips),
                pca_energy_removed=round(pca["energy_removed"], 4),
                voices={k: v for k, v in voice_sets(seed).items()},
                packages=package_versions())
    with open(stamp + ".tmp", "w", encoding="utf-8") as f:
        json.dump(info, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(stamp + ".tmp", stamp)
    print(f"{NAME}: {len(rows)} rows, {len(clips)} clips in {out} ({time.monotonic() - t0:.1f} s)")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", nargs="?", help="output folder (default: the user cache dir, "
                    "or data/av-fashion/sample with --sample)")
    ap.add_argument("--sample", action="store_true", help="build the 500-row sample")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel speech jobs")
    ap.add_argument("--force", action="store_true", help="delete an earlier build in OUT first")
    ap.add_argument("--set", action="append", default=[], metavar="KNOB=VALUE",
                    help="override a difficulty setting (for tuning), e.g. --set snr_max=3")
    a = ap.parse_args()
    knobs = dict(KNOBS)
    for s in a.set:
        k, _, v = s.partition("=")
        if k not in knobs:
            die(f"unknown setting '{k}' (known: {', '.join(knobs)})")
        knobs[k] = type(knobs[k])(v)
    out = a.out or (os.path.join(here, "sample") if a.sample else default_out())
    if a.force:
        for sub in ("images", "audio"):
            shutil.rmtree(os.path.join(out, sub), ignore_errors=True)
        for f in ("metadata.csv", "build-info.json"):
            if os.path.exists(os.path.join(out, f)):
                os.remove(os.path.join(out, f))
    build(out, a.seed, a.sample, max(1, a.jobs), knobs)


if __name__ == "__main__":
    main()
