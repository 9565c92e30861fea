#!/usr/bin/python3
"""test-cli-compare.py — `weft-cli compare` as a script would use it: two
templates trained alike on a small class-folder dataset (images carry the
label, captions do not), the table, the final name=value line, runs saved
in a project that reads back as JSON, and errors that name the problem.
Prints TAP. usage: test-cli-compare.py WEFT_CLI"""
import json
import os
import random
import struct
import subprocess
import sys
import tempfile
import zlib

cli = sys.argv[1]
results = []


def check(name, cond, detail=""):
    results.append((name, bool(cond), detail))


def png(path, w, h, pixels):
    raw = b"".join(b"\x00" + bytes(pixels[y * w:(y + 1) * w]) for y in range(h))

    def chunk(kind, data):
        c = kind + data
        return struct.pack(">I", len(data)) + c + struct.pack(">I", zlib.crc32(c) & 0xffffffff)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def dataset(root, per_class=40, seed=2):
    """Three classes of 8x8 grey images (a bright band whose row depends on
    the class) with captions drawn from words shared by every class."""
    rnd = random.Random(seed)
    words = ["soft", "warm", "small", "light", "plain", "new", "old", "blue"]
    for c, label in enumerate(["alpha", "beta", "gamma"]):
        os.makedirs(os.path.join(root, label))
        for i in range(per_class):
            pix = [min(255, max(0, (200 if (y // 3) == c else 30) + rnd.randint(-25, 25)))
                   for y in range(8) for x in range(8)]
            stem = os.path.join(root, label, f"{label}{i:03d}")
            png(stem + ".png", 8, 8, pix)
            with open(stem + ".txt", "w") as f:
                f.write(" ".join(rnd.choice(words) for _ in range(4)) + "\n")


IMAGE = {"weft_model": 1, "name": "img",
         "inputs": [{"id": "image", "modality": "image"}, {"id": "label", "modality": "label"}],
         "nodes": [{"id": "enc", "type": "mlp", "inputs": ["image"], "params": {"hidden": 16, "out": 8}},
                   {"id": "cls", "type": "classifier", "inputs": ["enc"]},
                   {"id": "ce", "type": "cross_entropy", "inputs": ["cls", "label"]}]}
FUSION = {"weft_model": 1, "name": "fused",
          "inputs": [{"id": "image", "modality": "image"},
                     {"id": "text", "modality": "text", "text_form": "bow"},
                     {"id": "label", "modality": "label"}],
          "nodes": [{"id": "ienc", "type": "mlp", "inputs": ["image"], "params": {"hidden": 16, "out": 8}},
                    {"id": "tenc", "type": "dense", "inputs": ["text"], "params": {"units": 8}},
                    {"id": "cat", "type": "concat", "inputs": ["ienc", "tenc"]},
                    {"id": "cls", "type": "classifier", "inputs": ["cat"]},
                    {"id": "ce", "type": "cross_entropy", "inputs": ["cls", "label"]}]}

with tempfile.TemporaryDirectory(prefix="weft-cli-compare-") as tmp:
    data = os.path.join(tmp, "shapes")
    dataset(data)
    for name, spec in (("img", IMAGE), ("fused", FUSION)):
        with open(os.path.join(tmp, name + ".json"), "w") as f:
            json.dump(spec, f)
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(tmp, "cache"),
               XDG_DATA_HOME=os.path.join(tmp, "share"), OPENBLAS_NUM_THREADS="1")
    project = os.path.join(tmp, "cmp.weft")

    def run(*args):
        p = subprocess.run([cli, "compare", *args], capture_output=True, text=True,
                           timeout=600, env=env)
        return p.returncode, p.stdout, p.stderr

    rc, out, err = run(data, "--templates", "img,fused", "--templates-dir", tmp,
                       "--epochs", "6", "--batch", "16", "--lr", "0.01", "--image-size", "8",
                       "--channels", "1", "--threads", "1", "--project", project)
    lines = out.strip().splitlines()
    pairs = dict(kv.split("=", 1) for kv in lines[-1].split() if "=" in kv) if lines else {}
    check("compare: exits 0", rc == 0, out + err)
    check("compare: prints the table", any(l.startswith("template") and "no image" in l and "no text" in l
                                           for l in lines), out)
    check("compare: last line names both templates",
          pairs.get("templates") == "2" and "img.accuracy" in pairs and "fused.accuracy" in pairs, out)
    acc = float(pairs.get("img.accuracy", "0"))
    check("compare: the image model learns", acc > 0.8, out)
    check("compare: without the image it guesses", float(pairs.get("img.without_image", "1")) < 0.6, out)
    check("compare: without the captions the fusion barely notices",
          float(pairs.get("fused.without_text", "0")) > float(pairs.get("fused.accuracy", "1")) - 0.2, out)
    check("compare: parameters counted",
          int(pairs.get("fused.parameters", "0")) > int(pairs.get("img.parameters", "0")) > 0, out)
    check("compare: best fusion and its gain", pairs.get("best_fusion") == "fused" and "fusion_gain" in pairs, out)
    try:
        with open(project) as f:
            runs = json.load(f).get("runs", [])
    except (OSError, ValueError) as e:
        runs = []
        err += str(e)
    check("compare: runs saved in the project (valid JSON)",
          len(runs) == 2 and [r["template"] for r in runs] == ["img", "fused"], err)
    check("compare: each run has its checkpoint and final metrics",
          all(os.path.isfile(r.get("checkpoint", "")) and "accuracy" in r.get("final", {}) for r in runs), str(runs)[:400])

    rc, out, err = run(data, "--templates", "img,nosuch", "--templates-dir", tmp)
    check("compare: an unknown template is an error naming it", rc != 0 and "nosuch" in err, out + err)
    rc, out, err = run(data)
    check("compare: --templates is required", rc == 2 and "--templates" in err, out + err)

print(f"1..{len(results)}")
for i, (name, ok, detail) in enumerate(results, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {name}")
    if not ok:
        for line in detail.strip().splitlines()[-15:]:
            print("# " + line)
sys.exit(0 if all(ok for _, ok, _ in results) else 1)
