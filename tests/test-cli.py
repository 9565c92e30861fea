#!/usr/bin/python3
"""test-cli.py — weft-cli as a script would use it: exit codes, error
messages that name the problem, and the final name=value line of train and
eval. Prints TAP. usage: test-cli.py WEFT_CLI SOURCE_DIR"""
import glob
import gzip
import os
import random
import struct
import subprocess
import sys
import tempfile

cli, src = sys.argv[1], sys.argv[2]
results = []


def run(*args):
    p = subprocess.run([cli, *args], capture_output=True, text=True, timeout=600)
    return p.returncode, p.stdout, p.stderr


def check(name, cond, detail=""):
    results.append((name, bool(cond), detail))


def last_pairs(out):
    line = out.strip().splitlines()[-1]
    return dict(kv.split("=", 1) for kv in line.split())


def write_idx(folder, n_train=240, n_test=60, seed=3):
    """A tiny Fashion-MNIST-shaped IDX set: class c lights up row band c."""
    rnd = random.Random(seed)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = [i % 10 for i in range(n)]
        pix = bytearray()
        for y in labels:
            for r in range(28):
                for c in range(28):
                    on = 2 * y <= r < 2 * y + 3
                    pix.append(min(255, (200 if on else 0) + rnd.randrange(40)))
        with gzip.open(os.path.join(folder, f"{prefix}-images-idx3-ubyte.gz"), "wb") as f:
            f.write(struct.pack(">HBBIII", 0, 8, 3, n, 28, 28) + bytes(pix))
        with gzip.open(os.path.join(folder, f"{prefix}-labels-idx1-ubyte.gz"), "wb") as f:
            f.write(struct.pack(">HBBI", 0, 8, 1, n) + bytes(labels))


with tempfile.TemporaryDirectory() as tmp:
    rc, out, err = run("--help")
    check("help exits 0 and lists commands", rc == 0 and "validate" in out and "train" in out)
    rc, out, err = run("frobnicate")
    check("unknown command exits 2", rc == 2 and "unknown command 'frobnicate'" in err)

    specs = sorted(glob.glob(os.path.join(src, "data", "models", "*.json")) +
                   glob.glob(os.path.join(src, "tests", "bench", "models", "*.json")))
    for s in specs:
        rc, out, err = run("validate", s)
        ok = rc == 0 and last_pairs(out).get("valid") == "1"
        check(f"validate {os.path.basename(s)}", ok, err)

    bad = os.path.join(tmp, "bad.json")
    with open(bad, "w") as f:
        f.write('{"weft_model": 1, "inputs": [')
    rc, out, err = run("validate", bad)
    check("malformed spec: exit 1 naming the file", rc == 1 and "bad.json" in err and "not valid JSON" in err, err)

    mismatch = os.path.join(tmp, "mismatch.json")
    with open(mismatch, "w") as f:
        f.write('{"weft_model": 1, "inputs": [{"id": "image", "modality": "image"}],'
                ' "nodes": [{"id": "f", "type": "flatten", "inputs": ["image"]},'
                ' {"id": "a", "type": "dense", "inputs": ["f"], "params": {"units": 128}},'
                ' {"id": "b", "type": "dense", "inputs": ["f"], "params": {"units": 64}},'
                ' {"id": "fuse", "type": "sum", "inputs": ["a", "b"]},'
                ' {"id": "l", "type": "mse", "inputs": ["fuse", "a"]}]}')
    rc, out, err = run("validate", mismatch)
    check("shape mismatch names node and port", rc == 1 and
          "node 'fuse': input 2 has 64 features, expected 128 for Sum" in err, err)

    data = os.path.join(tmp, "idx")
    os.mkdir(data)
    write_idx(data)
    spec = os.path.join(src, "tests", "bench", "models", "mlp.json")
    ckpt = os.path.join(tmp, "m.safetensors")
    rc, out, err = run("train", "--data", data, "--model", spec, "--epochs", "3", "--batch", "16",
                       "--lr", "0.003", "--seed", "2", "--threads", "1", "--out", ckpt)
    pairs = last_pairs(out) if rc == 0 else {}
    check("train: final line has epochs, accuracy, loss, samples_per_s",
          rc == 0 and pairs.get("epochs") == "3" and "samples_per_s" in pairs and "loss" in pairs, out + err)
    check("train: one line per epoch when not a terminal", out.count("epoch ") >= 3, out)
    check("train: learns the toy set", float(pairs.get("accuracy", 0)) > 0.8, out)
    check("train: checkpoint written", os.path.getsize(ckpt) > 1000)

    rc, out, err = run("eval", "--data", data, "--checkpoint", ckpt)
    pairs = last_pairs(out) if rc == 0 else {}
    check("eval: test rows and accuracy", rc == 0 and pairs.get("rows") == "60" and
          float(pairs.get("accuracy", 0)) > 0.8, out + err)

    with open(ckpt, "rb") as f:
        blob = f.read()
    cut = os.path.join(tmp, "cut.safetensors")
    with open(cut, "wb") as f:
        f.write(blob[: len(blob) // 2])
    rc, out, err = run("eval", "--data", data, "--checkpoint", cut)
    check("eval: truncated checkpoint is a clear error", rc == 1 and "cut.safetensors" in err and
          "truncated" in err, err)

    rc, out, err = run("train", "--data", data)
    check("train without --model exits 2", rc == 2 and "--model" in err, err)
    rc, out, err = run("train", "--data", os.path.join(tmp, "nope"), "--model", spec)
    check("train on a missing folder names it", rc == 1 and "nope: no such folder" in err, err)
    rc, out, err = run("train", "--data", data, "--model", spec, "--epochs", "0")
    check("train rejects 0 epochs", rc == 1 and "epochs must be between" in err, err)
    rc, out, err = run("train", "--data", data, "--model", spec, "--optimizer", "sgd", "--lr", "1e30",
                       "--epochs", "2", "--batch", "16", "--threads", "1")
    check("diverging run exits 1 with advice", rc == 1 and "diverged" in err and "learning rate" in err, err)

    # A dataset folder: the committed Emoji sample, featurised into a
    # private cache, inspected, trained on and evaluated.
    sample = os.path.join(src, "data", "emoji", "sample")
    if os.path.isdir(sample):
        os.environ["XDG_CACHE_HOME"] = os.path.join(tmp, "cache")
        rc, out, err = run("inspect", sample)
        pairs = last_pairs(out) if rc == 0 else {}
        check("inspect the emoji sample", rc == 0 and int(pairs.get("rows", 0)) >= 200 and
              pairs.get("labels") == "9", out + err)
        ck2 = os.path.join(tmp, "emoji.safetensors")
        rc, out, err = run("train", "--data", sample, "--model",
                           os.path.join(src, "data", "models", "late-fusion.json"),
                           "--epochs", "2", "--batch", "16", "--threads", "1", "--out", ck2)
        check("train late fusion on a dataset folder", rc == 0 and "accuracy=" in out.splitlines()[-1], out + err)
        rc, out, err = run("eval", "--data", sample, "--checkpoint", ck2)
        check("eval it with the checkpoint's feature settings", rc == 0 and "accuracy=" in out, out + err)
        # A joint space of three modalities: retrieval in all six directions.
        ck3 = os.path.join(tmp, "clip3.safetensors")
        rc, out, err = run("train", "--data", sample, "--model",
                           os.path.join(src, "data", "models", "clip-image-text-audio.json"),
                           "--epochs", "1", "--batch", "16", "--threads", "1", "--out", ck3)
        check("train the triple CLIP", rc == 0, out + err)
        rc, out, err = run("eval", "--data", sample, "--checkpoint", ck3, "--retrieval")
        pairs = last_pairs(out) if rc == 0 else {}
        names = [f"{d}_{m}" for d in ("i2t", "t2i", "i2a", "a2i", "t2a", "a2t")
                 for m in ("r1", "r5", "r10", "medr")]
        check("eval --retrieval names every direction", rc == 0 and all(n in pairs for n in names) and
              not any(k.startswith(("ab_", "ba_")) for k in pairs) and
              all(0 <= float(pairs[f"{d}_r1"]) <= float(pairs[f"{d}_r5"]) <= float(pairs[f"{d}_r10"]) <= 1
                  for d in ("i2t", "a2t")) and float(pairs["t2i_medr"]) >= 1, out + err)
        check("eval --retrieval lists the worst failures", "worst: row" in out and "i2t (image -> text" in out, out)
        emb = os.path.join(tmp, "emb")
        rc, out, err = run("embed", ck3, sample, "--out", emb, "--projection", "pca")
        ok = rc == 0
        if ok:
            meta = open(os.path.join(emb, "metadata.tsv"), encoding="utf-8").read().splitlines()
            vecs = open(os.path.join(emb, "vectors.tsv")).read().splitlines()
            xy = open(os.path.join(emb, "map.tsv")).read().splitlines()
            ok = (meta[0] == "index\tmodality\tlabel\tsplit\ttext" and len(vecs) == len(meta) - 1 ==
                  len(xy) - 1 and {m.split("\t")[1] for m in meta[1:]} == {"image", "text", "audio"} and
                  all(len(v.split("\t")) == 64 for v in vecs) and
                  os.path.getsize(os.path.join(emb, "final.emb")) > 0 and
                  last_pairs(out).get("spaces") == "image,text,audio")
        check("embed writes the TensorBoard projector files and a map", ok, out + err)
        rc, out, err = run("embed", ck3, sample)
        check("embed without --out is a usage error", rc == 2 and "--out" in err, err)
    rc, out, err = run("inspect", os.path.join(tmp, "nope"))
    check("inspect a missing folder fails", rc != 0 and "nope" in err, err)

print(f"1..{len(results)}")
for i, (name, ok, detail) in enumerate(results, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {name}")
    if not ok and detail:
        for line in detail.strip().splitlines()[-8:]:
            print(f"# {line}")
sys.exit(0)
