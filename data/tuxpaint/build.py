#!/usr/bin/python3
# build.py — builds Weft's Tux Paint stamps dataset (950 stamps: picture,
# English description, real sound effect for 134) from tuxpaint-stamps-default.
"""Build the Tux Paint stamps dataset.

Source (Debian 12): tuxpaint-stamps-default, /usr/share/tuxpaint/stamps,
GPL-2. Its media are GPL-2, so the dataset is built on the user's machine
and never committed: the default output is
$XDG_CACHE_HOME/weft/datasets/tuxpaint.

A stamp is STEM.png or STEM.svg (alternate STEM_mirror.png views are not
stamps). Its English description is the first line of STEM.txt (the other
lines are translations, "xx.utf8=..."). Its sound effect is STEM.ogg when
there is one (134 stamps); other stamps have an empty audio cell, a missing
modality. The label is the stamp's top-level folder (animals, food, ...).
Pictures are cropped to their opaque part and letterboxed on white at 128 px
(SVG-only stamps are rasterised with rsvg-convert); sounds are trimmed to
5 s and stored as Opus (mono, 16 kHz, 16 kbit/s). The same seed gives the
same files; a finished folder is left alone.
"""

import argparse
import csv
import importlib.util
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

NAME = "tuxpaint"
FORMAT_VERSION = 1
STAMPS = "/usr/share/tuxpaint/stamps"
PACKAGES = ["tuxpaint-stamps-default", "python3-pil", "librsvg2-bin", "sox", "opus-tools"]
IMAGE_SIZE = 128
MAX_SECONDS = 5.0


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
    missing = [] if os.path.isdir(STAMPS) else [STAMPS]
    tools = [t for t in ("rsvg-convert", "sox", "opusenc") if shutil.which(t) is None]
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


def find_stamps():
    stems = {}
    for d, dirs, files in os.walk(STAMPS):
        dirs.sort()
        for f in sorted(files):
            base, ext = os.path.splitext(f)
            if ext in (".png", ".svg") and not re.search(r"_(mirror|flip|mirror_flip)$", base):
                stems.setdefault(os.path.join(d, base), set()).add(ext)
    items = []
    for stem, exts in sorted(stems.items()):
        rel = os.path.relpath(stem, STAMPS)
        parts = rel.split(os.sep)
        text = ""
        if os.path.exists(stem + ".txt"):
            with open(stem + ".txt", encoding="utf-8", errors="replace") as f:
                text = f.readline().lstrip("\ufeff").strip()
        items.append({
            "id": "tux_" + re.sub(r"[^A-Za-z0-9]+", "_", rel).strip("_").lower(),
            "stem": stem,
            "rel": rel,
            # Tux Paint uses the SVG when it has one; PIL reads the PNG directly.
            "source": stem + (".png" if ".png" in exts else ".svg"),
            "text": text,
            "label": parts[0],
            "subcategory": "/".join(parts[1:-1]),
            "sound": stem + ".ogg" if os.path.exists(stem + ".ogg") else None,
            "desc": stem + "_desc.ogg" if os.path.exists(stem + "_desc.ogg") else None,
        })
    return items


def assign_splits(items, seed):
    """Stratified 80/10/10: stamps ordered by (label, has sound, seeded
    shuffle), then every run of ten gets 8 train, 1 validation, 1 test, so
    even small categories and the sound stamps spread over the splits."""
    rng = random.Random(seed)
    keys = {it["id"]: rng.random() for it in items}
    order = sorted(items, key=lambda it: (it["label"], it["sound"] is None, keys[it["id"]]))
    pattern = ["train"] * 4 + ["validation"] + ["train"] * 4 + ["test"]
    offset = rng.randrange(10)
    for i, it in enumerate(order):
        it["split"] = pattern[(i + offset) % 10]


def load_rgba(path, tmpdir):
    from PIL import Image
    if path.endswith(".svg"):
        png = os.path.join(tmpdir, "svg.png")
        subprocess.run(["rsvg-convert", "-w", str(4 * IMAGE_SIZE), "-a", "-b", "none",
                        "-o", png, path], check=True, stderr=subprocess.DEVNULL)
        path = png
    with Image.open(path) as im:
        return im.convert("RGBA")


def render(path, tmpdir):
    from PIL import Image
    im = load_rgba(path, tmpdir)
    box = im.getchannel("A").getbbox()
    if box:
        im = im.crop(box)
    w, h = im.size
    # Fit into the square with a thin margin; small stamps are enlarged too.
    scale = 0.96 * IMAGE_SIZE / max(w, h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    im = im.resize((nw, nh), Image.LANCZOS)
    out = Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), (255, 255, 255))
    out.paste(im, ((IMAGE_SIZE - nw) // 2, (IMAGE_SIZE - nh) // 2), im)
    return out


def encode(src, dst):
    """Any sound sox reads -> first 5 s, 16 kHz mono, peak -1 dB -> Opus."""
    tmp = dst + ".tmp"
    sx = subprocess.Popen(["sox", "-R", src, "-t", "wav", "-r", "16000", "-c", "1", "-b", "16", "-",
                           "trim", "0", str(MAX_SECONDS), "norm", "-1"],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    serial = zlib.crc32(os.path.basename(dst).encode()) & 0x7FFFFFFF
    op = subprocess.Popen(["opusenc", "--quiet", "--bitrate", "16", "--serial", str(serial), "-", tmp],
                          stdin=sx.stdout, stderr=subprocess.PIPE)
    sx.stdout.close()
    err = op.communicate()[1]
    if sx.wait() or op.returncode:
        raise RuntimeError(f"{src}: could not convert: {err.decode(errors='replace').strip()}")
    os.replace(tmp, dst)


def build(out, seed, jobs):
    config = {"dataset": NAME, "format": FORMAT_VERSION, "seed": seed, "sample": False}
    stamp = os.path.join(out, "build-info.json")
    if os.path.exists(stamp):
        with open(stamp, encoding="utf-8") as f:
            info = json.load(f)
        if {k: info.get(k) for k in config} == config and os.path.exists(os.path.join(out, "metadata.csv")):
            print(f"{NAME}: {out} is complete ({info.get('rows')} rows); nothing to do")
            return
        die(f"{out} holds a build with other settings; use --force or another folder")
    check_sources()
    t0 = time.monotonic()
    items = find_stamps()
    assign_splits(items, seed)
    for sub in ("images", "audio", "descriptions"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)

    prog = Progress("images", len(items))

    def image_job(it):
        path = os.path.join(out, "images", it["id"] + ".png")
        if not os.path.exists(path):
            with tempfile.TemporaryDirectory() as tmpdir:
                render(it["source"], tmpdir).save(path + ".tmp", format="PNG", optimize=True)
            os.replace(path + ".tmp", path)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for _ in pool.map(image_job, items):
            prog.step()

    sounds = [(it["sound"], os.path.join(out, "audio", it["id"] + ".opus")) for it in items if it["sound"]]
    sounds += [(it["desc"], os.path.join(out, "descriptions", it["id"] + ".opus")) for it in items if it["desc"]]
    prog = Progress("sounds", len(sounds))

    def sound_job(pair):
        if not os.path.exists(pair[1]):
            encode(*pair)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for _ in pool.map(sound_job, sounds):
            prog.step()

    tmp = os.path.join(out, "metadata.csv.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(["id", "image_file_name", "audio_file_name", "text", "label", "split",
                    "subcategory", "stamp", "spoken_description"])
        for it in sorted(items, key=lambda it: (it["label"], it["rel"])):
            w.writerow([it["id"], f"images/{it['id']}.png",
                        f"audio/{it['id']}.opus" if it["sound"] else "",
                        it["text"], it["label"], it["split"], it["subcategory"], it["rel"],
                        f"descriptions/{it['id']}.opus" if it["desc"] else ""])
    os.replace(tmp, os.path.join(out, "metadata.csv"))
    info = dict(config, rows=len(items), with_audio=len([i for i in items if i["sound"]]),
                packages=package_versions())
    with open(stamp + ".tmp", "w", encoding="utf-8") as f:
        json.dump(info, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(stamp + ".tmp", stamp)
    print(f"{NAME}: {len(items)} rows ({info['with_audio']} with a sound) in {out} "
          f"({time.monotonic() - t0:.1f} s)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", nargs="?", help="output folder (default: the user cache dir)")
    ap.add_argument("--seed", type=int, default=1, help="random seed of the split (default 1)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel jobs")
    ap.add_argument("--force", action="store_true", help="delete an earlier build in OUT first")
    a = ap.parse_args()
    out = a.out or default_out()
    if a.force:
        for sub in ("images", "audio", "descriptions"):
            shutil.rmtree(os.path.join(out, sub), ignore_errors=True)
        for f in ("metadata.csv", "build-info.json"):
            if os.path.exists(os.path.join(out, f)):
                os.remove(os.path.join(out, f))
    build(out, a.seed, max(1, a.jobs))


if __name__ == "__main__":
    main()
