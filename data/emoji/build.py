#!/usr/bin/python3
# build.py — builds Weft's Emoji demo dataset (1,870 emoji: image, spoken
# name, CLDR text, group label) from Debian packages only, no network.
"""Build the Emoji dataset.

Sources (Debian 12 packages):
  unicode-data            /usr/share/unicode/emoji/emoji-test.txt (groups, names)
  unicode-cldr-core       CLDR annotations en.xml + annotationsDerived/en.xml
  fonts-noto-color-emoji  NotoColorEmoji.ttf, drawn with python3-pil
  espeak-ng, sox, opus-tools   the spoken name as Opus (mono, 16 kHz, 16 kbit/s)

The full set goes to $XDG_CACHE_HOME/weft/datasets/emoji by default; --sample
builds the ~300-item stratified sample committed in data/emoji/sample.
The same seed gives the same files; a finished folder is left alone.
"""

import argparse
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
import zlib
from concurrent.futures import ThreadPoolExecutor

NAME = "emoji"
# Bump when the output changes for the same seed, so old folders rebuild.
FORMAT_VERSION = 1

EMOJI_TEST = "/usr/share/unicode/emoji/emoji-test.txt"
CLDR = "/usr/share/unicode/cldr/common"
FONT = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"
PACKAGES = ["unicode-data", "unicode-cldr-core", "fonts-noto-color-emoji",
            "python3-pil", "espeak-ng", "sox", "opus-tools"]

# espeak-ng voices: English accents x voice variants. "en-gb+VARIANT"
# silently ignores the variant, so British English is spelled "en".
ACCENTS = ["en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan",
           "en-gb-x-gbcwmd", "en-029", "en-us-nyc"]
VARIANTS = ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4",
            "f5", "croak", "klatt2", "klatt3", "whisper", "Andy", "Annie",
            "Alicia", "Gene", "Jacky", "Lee", "linda", "steph"]

IMAGE_SIZE = 72
SAMPLE_SIZE = 300
SKIN_TONES = range(0x1F3FB, 0x1F400)


def default_out():
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(cache, "weft", "datasets", NAME)


class Progress:
    """One progress line: rewritten in place on a terminal, else a line per 10 %."""

    def __init__(self, what, total):
        self.what, self.total, self.done = what, total, 0
        self.tty = sys.stdout.isatty()
        self.next_pct = 0
        self.t0 = time.monotonic()
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
    missing = [p for p in (EMOJI_TEST, CLDR + "/annotations/en.xml", FONT) if not os.path.exists(p)]
    tools = [t for t in ("espeak-ng", "sox", "opusenc") if shutil.which(t) is None]
    try:
        from PIL import features
        # Without raqm layout, ZWJ sequences and flags fall apart into pieces.
        if not features.check("raqm"):
            tools.append("libraqm0 (Pillow's raqm text layout)")
    except ImportError:
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


def parse_emoji():
    """Fully-qualified emoji of emoji-test.txt, without skin-tone variants
    and without the Component group (hair and skin swatches)."""
    rows, group, subgroup = [], None, None
    with open(EMOJI_TEST, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("# group:"):
                group = line[8:].strip()
            elif line.startswith("# subgroup:"):
                subgroup = line[11:].strip()
            elif line and not line.startswith("#"):
                cps, rest = line.split(";", 1)
                status, comment = rest.split("#", 1)
                if status.strip() != "fully-qualified" or group == "Component":
                    continue
                cps = [int(x, 16) for x in cps.split()]
                if any(c in SKIN_TONES for c in cps):
                    continue
                _char, _version, name = comment.strip().split(" ", 2)
                rows.append({"cps": cps, "char": "".join(map(chr, cps)),
                             "group": group, "subgroup": subgroup, "test_name": name})
    return rows


def parse_cldr():
    """CLDR keywords and tts names, keyed by the emoji without U+FE0F
    (CLDR drops the variation selector)."""
    keywords, tts = {}, {}
    for sub in ("annotations", "annotationsDerived"):
        for a in ET.parse(f"{CLDR}/{sub}/en.xml").iter("annotation"):
            cp, text = a.get("cp"), (a.text or "").strip()
            if not text:
                continue
            if a.get("type") == "tts":
                tts[cp] = text
            else:
                keywords[cp] = [k.strip() for k in text.split("|") if k.strip()]
    return keywords, tts


def make_items(seed):
    """Every emoji with its text, voice and split; deterministic for a seed."""
    keywords, tts = parse_cldr()
    items = parse_emoji()
    rng = random.Random(seed)
    for it in items:
        key = it["char"].replace("\ufe0f", "")
        # 21 Emoji 15.0 additions are not in CLDR 41: fall back to the test name.
        it["name"] = tts.get(key, it["test_name"])
        it["keywords"] = [k for k in keywords.get(key, []) if k != it["name"]]
        it["text"] = it["name"] + ("; " + ", ".join(it["keywords"]) if it["keywords"] else "")
        it["id"] = "emoji_" + "-".join(f"{c:x}" for c in it["cps"])
        it["voice"] = {"v": rng.choice(ACCENTS) + "+" + rng.choice(VARIANTS),
                       "s": rng.randint(130, 200), "p": rng.randint(25, 75)}
    # Stratified 80/10/10 split, per group, in a seeded order.
    by_group = {}
    for it in items:
        by_group.setdefault(it["group"], []).append(it)
    for members in by_group.values():
        order = members[:]
        rng.shuffle(order)
        n = len(order)
        n_val = n_test = round(0.1 * n)
        for i, it in enumerate(order):
            it["split"] = "validation" if i < n_val else "test" if i < n_val + n_test else "train"
            it["order"] = i
    return items, by_group


def pick_sample(by_group, total):
    """About `total` items, spread over the groups in proportion (at least 12
    per group), each group's items in all three splits."""
    n_all = sum(len(m) for m in by_group.values())
    chosen = []
    for group, members in sorted(by_group.items()):
        k = max(12, round(total * len(members) / n_all))
        k_val = k_test = max(1, round(0.1 * k))
        want = {"train": k - k_val - k_test, "validation": k_val, "test": k_test}
        for it in sorted(members, key=lambda it: it["order"]):
            if want[it["split"]] > 0:
                want[it["split"]] -= 1
                chosen.append(it)
    return chosen


def render(font, char):
    from PIL import Image, ImageDraw
    canvas = Image.new("RGBA", (480, 240), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).text((24, 24), char, font=font, embedded_color=True)
    box = canvas.getbbox()
    if box is None:
        raise RuntimeError("rendered blank")
    glyph = canvas.crop(box)
    w, h = glyph.size
    n = round(max(w, h) * 1.04)          # a thin white margin around the glyph
    square = Image.new("RGBA", (n, n), (0, 0, 0, 0))
    square.paste(glyph, ((n - w) // 2, (n - h) // 2))
    square = square.resize((IMAGE_SIZE, IMAGE_SIZE), Image.LANCZOS)
    out = Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), (255, 255, 255))
    out.paste(square, (0, 0), square)
    return out


def speak(text, voice, serial, path):
    """espeak-ng -> sox (16 kHz mono, peak -1 dB) -> opusenc, atomically."""
    tmp = path + ".tmp"
    es = subprocess.Popen(["espeak-ng", "-v", voice["v"], "-s", str(voice["s"]),
                           "-p", str(voice["p"]), "--stdout"],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    sx = subprocess.Popen(["sox", "-R", "-t", "wav", "-", "-t", "wav", "-r", "16000", "-c", "1",
                           "-b", "16", "-", "norm", "-1"],
                          stdin=es.stdout, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    op = subprocess.Popen(["opusenc", "--quiet", "--bitrate", "16", "--serial", str(serial),
                           "-", tmp], stdin=sx.stdout, stderr=subprocess.PIPE)
    es.stdout.close()
    sx.stdout.close()
    es.stdin.write(text.encode("utf-8"))
    es.stdin.close()
    err = op.communicate()[1]
    if es.wait() or sx.wait() or op.returncode:
        raise RuntimeError(f"speaking '{text}' failed: {err.decode(errors='replace').strip()}")
    os.replace(tmp, path)


def voice_string(v):
    return f"espeak-ng {v['v']} -s {v['s']} -p {v['p']}"


def build(out, seed, sample, jobs):
    config = {"dataset": NAME, "format": FORMAT_VERSION, "seed": seed, "sample": sample}
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
    items, by_group = make_items(seed)
    if sample:
        items = pick_sample(by_group, SAMPLE_SIZE)
    group_order = ["Smileys & Emotion", "People & Body", "Animals & Nature", "Food & Drink",
                   "Travel & Places", "Activities", "Objects", "Symbols", "Flags"]
    items.sort(key=lambda it: (group_order.index(it["group"]), it["split"] != "train", it["order"]))
    os.makedirs(os.path.join(out, "images"), exist_ok=True)
    os.makedirs(os.path.join(out, "audio"), exist_ok=True)

    from PIL import ImageFont
    font = ImageFont.truetype(FONT, 109, layout_engine=ImageFont.Layout.RAQM)
    prog = Progress("images", len(items))
    for it in items:
        path = os.path.join(out, "images", it["id"] + ".png")
        if not os.path.exists(path):
            render(font, it["char"]).save(path + ".tmp", format="PNG", optimize=True)
            os.replace(path + ".tmp", path)
        prog.step()

    prog = Progress("speech", len(items))

    def job(it):
        path = os.path.join(out, "audio", it["id"] + ".opus")
        if not os.path.exists(path):
            # A fixed Ogg serial number (opusenc picks a random one) keeps builds identical.
            serial = zlib.crc32(it["id"].encode()) & 0x7FFFFFFF
            speak(it["name"], it["voice"], serial, path)
        return it

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for _ in pool.map(job, items):
            prog.step()

    tmp = os.path.join(out, "metadata.csv.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(["id", "image_file_name", "audio_file_name", "text", "label", "split",
                    "subgroup", "name", "keywords", "emoji", "codepoints", "voice"])
        for it in items:
            w.writerow([it["id"], f"images/{it['id']}.png", f"audio/{it['id']}.opus", it["text"],
                        it["group"], it["split"], it["subgroup"], it["name"],
                        "|".join(it["keywords"]), it["char"],
                        " ".join(f"U+{c:04X}" for c in it["cps"]), voice_string(it["voice"])])
    os.replace(tmp, os.path.join(out, "metadata.csv"))
    info = dict(config, rows=len(items), packages=package_versions())
    with open(stamp + ".tmp", "w", encoding="utf-8") as f:
        json.dump(info, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(stamp + ".tmp", stamp)
    print(f"{NAME}: {len(items)} rows in {out} ({time.monotonic() - t0:.1f} s)")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", nargs="?", help="output folder (default: the user cache dir, "
                    "or data/emoji/sample with --sample)")
    ap.add_argument("--sample", action="store_true", help=f"build the ~{SAMPLE_SIZE}-item sample")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel speech jobs")
    ap.add_argument("--force", action="store_true", help="delete an earlier build in OUT first")
    a = ap.parse_args()
    out = a.out or (os.path.join(here, "sample") if a.sample else default_out())
    if a.force:
        for sub in ("images", "audio"):
            shutil.rmtree(os.path.join(out, sub), ignore_errors=True)
        for f in ("metadata.csv", "build-info.json"):
            if os.path.exists(os.path.join(out, f)):
                os.remove(os.path.join(out, f))
    build(out, a.seed, a.sample, max(1, a.jobs))


if __name__ == "__main__":
    main()
