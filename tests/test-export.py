#!/usr/bin/python3
"""test-export.py — the PyTorch export gives the engine's outputs: every
template in data/models (and a spec using every other block) is trained for
one epoch with weft-cli on a copy of the first rows of a committed sample,
exported with `weft-cli export --pytorch`, run in torch (eval mode) on the
rows the engine dumped with `--dump-outputs`, and every node's output is
compared. The exported preprocessing (audio_features, bag_of_words,
tokenize) applied to the raw files gives the features the engine used, on
the training sample and on another one. Also: a damaged checkpoint is
refused with a clear message.
Prints TAP; skipped without Debian's python3-torch.
usage: test-export.py WEFT_CLI SOURCE_DIR [SANITIZE]"""
import concurrent.futures
import contextlib
import csv
import glob
import importlib.util
import io
import json
import os
import runpy
import shutil
import subprocess
import sys
import tempfile
import time

# torch is imported later, while the engine trains (the import alone takes
# seconds on a busy machine); only look for it here.
if importlib.util.find_spec("torch") is None:
    print("1..0 # SKIP python3-torch is not installed")  # meson: a skipped TAP test
    sys.exit(0)

cli, src = sys.argv[1], sys.argv[2]
# Under ASan/UBSan every run is several times slower: train the spec with
# every block and two templates (shared weights, the other dataset), not
# all of them.
SANITIZED = len(sys.argv) > 3 and sys.argv[3] not in ("", "none")
QUICK = {"every-block", "late-fusion", "siamese", "early-fusion"}

# |torch - engine| <= ATOL + RTOL * |engine| for every element. Both sides
# are float32; the engine sums in a different order (BLAS, fused passes).
ATOL, RTOL = 1e-4, 1e-3

# Which committed sample each template trains on; both have every
# modality, so the choice only spreads the coverage over both sets.
AV = {"siamese", "autoencoder", "clip-image-text-audio"}
DUMP_ROWS = 8
# Default features: eval must featurise as train did (see the report on
# weft_training metadata that json-glib cannot read back).
FEATURE_ARGS = []

# Every block in one model: those the templates leave out (GRU,
# self-attention, norms, pools, the plain activations, Sum, Product, Dropout,
# a Decoder without sigmoid, InfoNCE with a fixed temperature, a three-input
# Triplet, label smoothing) and the fusion blocks with three inputs, trained
# and compared like a template.
EVERY_BLOCK = {
  "weft_model": 1, "name": "every-block",
  "inputs": [{"id": "image", "modality": "image"}, {"id": "audio", "modality": "audio"},
             {"id": "text", "modality": "text"}, {"id": "label", "modality": "label"}],
  "nodes": [
    {"id": "img_conv", "type": "conv2d", "inputs": ["image"], "params": {"filters": 8, "kernel": 3, "stride": 2, "padding": 1, "activation": "gelu"}},
    {"id": "img_bn", "type": "batchnorm", "inputs": ["img_conv"]},
    {"id": "img_pool", "type": "avgpool", "inputs": ["img_bn"], "params": {"kernel": 2}},
    {"id": "img_gpool", "type": "global_pool", "inputs": ["img_pool"], "params": {"mode": "max"}},
    {"id": "img_vec", "type": "dense", "inputs": ["img_gpool"], "params": {"units": 32, "activation": "tanh"}},
    {"id": "aud_cnn", "type": "spectrogram_cnn", "inputs": ["audio"], "params": {"blocks": 2, "channels": 4, "out": 32}},
    {"id": "aud_frames", "type": "transpose", "inputs": ["audio"]},
    {"id": "aud_ln", "type": "layernorm", "inputs": ["aud_frames"]},
    {"id": "aud_att", "type": "self_attention", "inputs": ["aud_ln"], "params": {"heads": 2, "causal": True}},
    {"id": "aud_gru", "type": "gru", "inputs": ["aud_att"], "params": {"hidden": 16}},
    {"id": "aud_mpool", "type": "maxpool", "inputs": ["audio"], "params": {"kernel": 4, "window": "1d"}},
    {"id": "aud_mlp", "type": "mlp", "inputs": ["aud_mpool"], "params": {"layers": 1, "hidden": 16, "out": 32, "activation": "gelu", "dropout": 0.1}},
    {"id": "txt_emb", "type": "embedding", "inputs": ["text"], "params": {"dim": 16}},
    {"id": "txt_gru", "type": "gru", "inputs": ["txt_emb"], "params": {"hidden": 32, "return_sequence": True}},
    {"id": "txt_t", "type": "transpose", "inputs": ["txt_gru"]},
    {"id": "txt_vec", "type": "global_pool", "inputs": ["txt_t"]},
    {"id": "added", "type": "sum", "inputs": ["img_vec", "txt_vec"]},
    {"id": "multiplied", "type": "product", "inputs": ["img_vec", "aud_mlp"]},
    {"id": "joined", "type": "concat", "inputs": ["added", "multiplied", "aud_gru"]},
    {"id": "joined_relu", "type": "relu", "inputs": ["joined"]},
    {"id": "dropped", "type": "dropout", "inputs": ["joined_relu"], "params": {"p": 0.3}},
    {"id": "proj", "type": "projection", "inputs": ["dropped"], "params": {"dim": 32, "bias": True, "normalize": False}},
    {"id": "squashed", "type": "sigmoid", "inputs": ["proj"]},
    {"id": "bent", "type": "tanh", "inputs": ["squashed"]},
    {"id": "smooth", "type": "gelu", "inputs": ["bent"]},
    {"id": "head", "type": "classifier", "inputs": ["smooth"]},
    {"id": "ce", "type": "cross_entropy", "inputs": ["head", "label"], "params": {"label_smoothing": 0.1}},
    {"id": "trip", "type": "triplet", "inputs": ["img_vec", "aud_mlp", "txt_vec"], "params": {"margin": 0.5}},
    {"id": "img_unit", "type": "l2norm", "inputs": ["img_vec"]},
    {"id": "aud_unit", "type": "projection", "inputs": ["aud_cnn"], "params": {"dim": 32}},
    {"id": "nce", "type": "infonce", "inputs": ["img_unit", "aud_unit"], "params": {"learn_temperature": False, "init_temperature": 0.2}},
    {"id": "dec", "type": "decoder", "inputs": ["proj", "aud_gru"], "params": {"hidden": 16, "output_activation": "none"}},
    {"id": "rec", "type": "mse", "inputs": ["dec", "aud_gru"]},
    {"id": "gate", "type": "gated", "inputs": ["img_vec", "aud_mlp", "aud_gru"], "params": {"units": 8}},
    {"id": "small_a", "type": "dense", "inputs": ["gate"], "params": {"units": 3}},
    {"id": "small_b", "type": "dense", "inputs": ["txt_vec"], "params": {"units": 2}},
    {"id": "outer", "type": "tensor_fusion", "inputs": ["small_a", "small_b"]},
    {"id": "bag", "type": "embedding_bag", "inputs": ["text"], "params": {"dim": 8}},
    {"id": "attend", "type": "cross_attention", "inputs": ["bag", "txt_emb"], "params": {"dim": 8, "heads": 2}},
    {"id": "head2", "type": "classifier", "inputs": ["outer"]},
    {"id": "head3", "type": "classifier", "inputs": ["attend"]},
    {"id": "late", "type": "late_fusion", "inputs": ["head", "head2", "head3"]},
    {"id": "ce2", "type": "cross_entropy", "inputs": ["late", "label"]}
  ],
  "losses": [{"node": "ce", "weight": 1.0}, {"node": "trip", "weight": 0.5},
             {"node": "nce", "weight": 0.5}, {"node": "rec", "weight": 0.1},
             {"node": "ce2", "weight": 1.0}],
}

tmp = tempfile.TemporaryDirectory(prefix="weft-export-")
env = dict(os.environ, XDG_CACHE_HOME=os.path.join(tmp.name, "cache"),
           XDG_DATA_HOME=os.path.join(tmp.name, "data"), OPENBLAS_NUM_THREADS="1")
results = []


def check(name, cond, detail=""):
    results.append((name, bool(cond), detail))


def run(*args):
    p = subprocess.run([cli, *args], capture_output=True, text=True, env=env, timeout=300)
    return p.returncode, p.stdout, p.stderr


def load_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def subset(dataset, n_train=16, n_other=4):
    """A copy of the first rows of a committed sample (train rows and held-out
    rows), small enough for a quick epoch on a busy machine."""
    root = os.path.join(src, "data", dataset, "sample")
    out = os.path.join(tmp.name, dataset)
    with open(os.path.join(root, "metadata.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    def spread(rs, n):
        # round-robin over the labels, so that every class is represented
        by_label = {}
        for r in rs:
            by_label.setdefault(r.get("label", ""), []).append(r)
        out = []
        while len(out) < n and any(by_label.values()):
            for group in by_label.values():
                if group and len(out) < n:
                    out.append(group.pop(0))
        return out

    keep = (spread([r for r in rows if r.get("split", "train") == "train"], n_train)
            + spread([r for r in rows if r.get("split", "train") != "train"], n_other))
    for r in keep:
        for col in ("image_file_name", "audio_file_name", "file_name"):
            if r.get(col):
                os.makedirs(os.path.join(out, os.path.dirname(r[col])), exist_ok=True)
                shutil.copy(os.path.join(root, r[col]), os.path.join(out, r[col]))
    with open(os.path.join(out, "metadata.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(keep)
    return out


def prepare(template):
    """Train (dumping the engine's outputs on the first rows) and export;
    returns an error or None."""
    name = os.path.basename(template)[:-5]
    data = datasets["av-fashion" if name in AV else "emoji"]
    base = os.path.join(tmp.name, name)
    rc, out, err = run("train", "--data", data, "--model", template, "--epochs", "1",
                       "--batch", "8", "--out", base + ".safetensors", "--threads", "1",
                       "--dump-outputs", base + ".ref", "--dump-rows", str(DUMP_ROWS), *FEATURE_ARGS)
    if rc != 0:
        return f"train failed: {err.strip() or out.strip()}"
    rc, out, err = run("export", base + ".safetensors", "--pytorch", base + ".py")
    if rc != 0:
        return f"export failed: {err.strip()}"
    return None


def compare(template):
    """Runs the exported module on the dumped inputs; (ok, detail)."""
    name = os.path.basename(template)[:-5]
    base = os.path.join(tmp.name, name)
    mod = load_module(base + ".py", "exported_" + name.replace("-", "_"))
    classes = [v for k, v in vars(mod).items()
               if isinstance(v, type) and issubclass(v, torch.nn.Module) and v.__module__ == mod.__name__
               and k.endswith("Model")]
    if len(classes) != 1:
        return False, f"{name}: expected one model class, found {[c.__name__ for c in classes]}"
    model = classes[0]()
    state, meta = mod.load_checkpoint(base + ".safetensors")
    if set(model.state_dict()) - {k for k in model.state_dict() if k.endswith("num_batches_tracked")} != set(state):
        return False, f"{name}: state_dict names differ from the checkpoint's"
    mod.load_weights(model, state)
    model.eval()
    ref, _ = mod.load_checkpoint(base + ".ref")
    batch = {k[len("input."):]: v for k, v in ref.items() if k.startswith("input.")}
    with torch.no_grad():
        out = model(batch)
    worst, worst_node, used = 0.0, None, 0.0
    n_out = 0
    for key, want in ref.items():
        if not key.startswith("output."):
            continue
        node = key[len("output."):]
        if node not in out:
            return False, f"{name}: the exported module has no output '{node}'"
        got = out[node].reshape(-1)
        want = want.reshape(-1)
        if got.shape != want.shape:
            return False, f"{name}: node '{node}': shape {tuple(out[node].shape)}, engine has {want.numel()} values"
        err = (got - want).abs()
        bad = err > ATOL + RTOL * want.abs()
        if bool(bad.any()) or not bool(torch.isfinite(got).all()):
            i = int(bad.nonzero()[0]) if bool(bad.any()) else 0
            return False, (f"{name}: node '{node}' differs: element {i} is {float(got[i]):.7g} in torch, "
                           f"{float(want[i]):.7g} in the engine (max abs error {float(err.max()):.3g}, "
                           f"tolerance {ATOL} + {RTOL} x |engine|)")
        n_out += 1
        used = max(used, float((err / (ATOL + RTOL * want.abs())).max()))
        if float(err.max()) > worst:
            worst, worst_node = float(err.max()), node
    if n_out == 0:
        return False, f"{name}: the engine dumped no outputs"
    where = f" ({worst_node})" if worst_node else " (all bit-identical)"
    return True, (f"{name}: {n_out} outputs equal, max abs error {worst:.2g}{where}, "
                  f"at most {100 * used:.1f}% of the tolerance")


t0 = time.monotonic()
templates = sorted(glob.glob(os.path.join(src, "data", "models", "*.json")))
check("there are templates", len(templates) >= 14, f"{len(templates)} found")
datasets = {d: subset(d) for d in ("emoji", "av-fashion")}
with open(os.path.join(tmp.name, "every-block.json"), "w") as f:
    json.dump(EVERY_BLOCK, f)
templates.append(os.path.join(tmp.name, "every-block.json"))
if SANITIZED:
    templates = [t for t in templates if os.path.basename(t)[:-5] in QUICK]

# One template per dataset first (the two in parallel), so that the
# featurisation is cached before the others run, two at a time.
firsts = [next(t for t in templates if os.path.basename(t)[:-5] in AV),
          next(t for t in templates if os.path.basename(t)[:-5] not in AV)]
rest = [t for t in templates if t not in firsts]

def prepare_all():
    # Three at a time: each run is short and mostly waits for its turn on a
    # busy machine, so a third one shortens the test without adding load.
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        done = dict(zip(firsts, pool.map(prepare, firsts)))
        done.update(zip(rest, pool.map(prepare, rest)))
    return done


with concurrent.futures.ThreadPoolExecutor(max_workers=1) as runner:
    job = runner.submit(prepare_all)
    import torch  # noqa: E402 (meanwhile)
    prepared = job.result()
t_engine = time.monotonic() - t0

for template in templates:
    name = os.path.basename(template)[:-5]
    problem = prepared[template]
    if problem:
        check(f"{name}: trained, exported and dumped", False, problem)
        continue
    try:
        ok, detail = compare(template)
    except Exception as e:  # an exported file that does not run is a failure
        ok, detail = False, f"{name}: {type(e).__name__}: {e}"
    check(f"{name}: torch outputs equal the engine's", ok, detail)

# `eval --dump-outputs` gives what train dumped: the engine from the saved
# checkpoint is the engine that trained (same weights, BatchNorm statistics).
eb = os.path.join(tmp.name, "every-block")
if os.path.exists(eb + ".ref"):
    rc, out, err = run("eval", "--data", datasets["emoji"], "--checkpoint", eb + ".safetensors",
                       "--split", "all", "--dump-outputs", eb + ".eval.ref",
                       "--dump-rows", str(DUMP_ROWS), "--threads", "1")
    detail = err.strip()
    same = rc == 0
    if same:
        mod = load_module(eb + ".py", "exported_every_block_again")
        a, _ = mod.load_checkpoint(eb + ".ref")
        b, _ = mod.load_checkpoint(eb + ".eval.ref")
        same = set(a) == set(b) and all(torch.allclose(a[k], b[k], atol=1e-6, rtol=0) for k in a)
        detail = f"{len(a)} tensors" if same else "the two dumps differ"
    check("eval --dump-outputs equals train's dump", same, detail)

# The exported file runs as a script and prints a summary (in this process:
# a second torch import would cost more than the rest of the test).
lf = os.path.join(tmp.name, "late-fusion")
if os.path.exists(lf + ".py"):
    saved, buf = sys.argv, io.StringIO()
    sys.argv = [lf + ".py", lf + ".safetensors"]
    try:
        with contextlib.redirect_stdout(buf):
            runpy.run_path(lf + ".py", run_name="__main__")
        text, failure = buf.getvalue(), None
    except Exception as e:
        text, failure = buf.getvalue(), f"{type(e).__name__}: {e}"
    finally:
        sys.argv = saved
    check("the exported file runs as a script", failure is None and "parameters" in text
          and "fusion" in text, failure or text.splitlines()[0] if text else "no output")

# ---- The exported preprocessing gives Weft's features from raw inputs ----
#
# The exported audio_features / bag_of_words / tokenize, applied to the
# captions of metadata.csv and to the samples Weft decodes from the sound
# files (tests/decode-audio), must give the inputs the engine dumped: the
# checkpoint carries the training set's audio normalisation and idf.
# Feature row r is manifest row r (every file of the subsets decodes).
# The log-mel is computed in float64 by torch and in float32 by Weft
# (GStreamer's FFT): the normalised values differ by a few 1e-5.
FEAT_TOL = 1e-4
decoder = os.environ.get("WEFT_DECODE_AUDIO")
_samples = {}


def manifest(data):
    with open(os.path.join(data, "metadata.csv"), newline="") as f:
        return list(csv.DictReader(f))


def decoded(path):
    if path not in _samples:
        out = os.path.join(tmp.name, "decoded.f32")
        subprocess.run([decoder, path, out], check=True, capture_output=True, timeout=60)
        with open(out, "rb") as f:
            _samples[path] = torch.frombuffer(bytearray(f.read()), dtype=torch.float32)
    return _samples[path]


def same_floats(a, b):
    """Equal as float32 (the file writes 9 digits, the checkpoint 17)."""
    return (a is not None and b is not None and len(a) == len(b)
            and torch.equal(torch.tensor(a, dtype=torch.float32), torch.tensor(b, dtype=torch.float32)))


def input_of(mod, kind):
    return next((k for k, v in mod.INPUTS.items() if v == kind), None)


def check_features(label, py, ckpt, ref_path, data):
    """Compares the exported preprocessing with the dumped inputs; returns
    how many of audio / bag-of-words / token ids it compared."""
    mod = load_module(py, "exported_pre_" + str(len(results)))
    ref, _ = mod.load_checkpoint(ref_path)
    _, meta = mod.load_checkpoint(ckpt)
    vocab = meta.get("weft_vocab")
    rows = manifest(data)
    compared = []
    for kind in ("audio", "text_bow", "text"):
        key = input_of(mod, kind)
        if key is None or "input." + key not in ref:
            continue
        want = ref["input." + key]
        worst, detail = 0.0, ""
        for r in range(want.shape[0]):
            if kind == "audio":
                got = mod.audio_features(decoded(os.path.join(data, rows[r]["audio_file_name"])))
            elif kind == "text_bow":
                got = mod.bag_of_words(rows[r]["text"], vocab)
            else:
                got = mod.encode_text(rows[r]["text"], vocab)
            err = float((got.reshape(-1) - want[r].reshape(-1)).abs().max())
            if err > worst:
                worst, detail = err, f"row {r}"
        ok = worst <= (FEAT_TOL if kind == "audio" else 1e-6) and want.shape[0] > 0
        what = {"audio": "audio_features", "text_bow": "bag_of_words", "text": "encode_text"}[kind]
        check(f"{label}: exported {what} gives Weft's {kind} features", ok,
              f"{want.shape[0]} rows, max abs error {worst:.2g} ({detail or 'exact'})")
        compared.append(kind)
    # the statistics are in the file, as Weft computed them
    if "audio" in compared:
        norm = meta.get("weft_audio_norm")
        check(f"{label}: AUDIO_MEAN/AUDIO_STD are the checkpoint's",
              norm is not None and same_floats(mod.AUDIO_MEAN, norm["mean"])
              and same_floats(mod.AUDIO_STD, norm["std"]),
              f"{len(mod.AUDIO_MEAN or [])} bands")
    if "text_bow" in compared:
        check(f"{label}: TEXT_IDF is the checkpoint's",
              same_floats(mod.TEXT_IDF, meta.get("weft_text_idf")) and len(mod.TEXT_IDF) == len(vocab),
              f"{len(mod.TEXT_IDF or [])} words")
    # features_from_raw makes a batch the model runs on
    if compared:
        model = next(v for k, v in vars(mod).items() if isinstance(v, type) and k.endswith("Model")
                     and issubclass(v, torch.nn.Module))()
        raw = {}
        for key, kind in mod.INPUTS.items():
            if kind == "audio":
                raw[key] = decoded(os.path.join(data, rows[0]["audio_file_name"]))
            elif kind in ("text", "text_bow"):
                raw[key] = rows[0]["text"]
        try:
            with torch.no_grad():
                model.eval()
                out = model(mod.features_from_raw(vocab, **raw))
            fine = all(bool(torch.isfinite(v).all()) for v in out.values())
            check(f"{label}: model(features_from_raw(...)) runs", fine, f"{len(out)} outputs")
        except Exception as e:
            check(f"{label}: model(features_from_raw(...)) runs", False, f"{type(e).__name__}: {e}")
    return compared


if decoder is None:
    check("WEFT_DECODE_AUDIO names the decode-audio helper", False, "not set")
else:
    # Models trained on each sample: audio on both, TF-IDF bags of words
    # (early fusion) and token ids on the emoji captions.
    for name, kinds in (("late-fusion", {"audio", "text"}), ("siamese", {"audio"}),
                        ("early-fusion", {"audio", "text_bow"})):
        base = os.path.join(tmp.name, name)
        if not os.path.exists(base + ".ref") or not os.path.exists(base + ".py"):
            check(f"{name}: preprocessing compared", False, "not trained")
            continue
        data = datasets["av-fashion" if name in AV else "emoji"]
        done = check_features(name, base + ".py", base + ".safetensors", base + ".ref", data)
        check(f"{name}: every input compared", set(done) == kinds, f"{sorted(done)}")

    # Another dataset, evaluated with a checkpoint: Weft standardises its
    # sounds and weighs its words with the training set's statistics (the
    # checkpoint's), as the exported file does.
    ef = os.path.join(tmp.name, "early-fusion")
    if os.path.exists(ef + ".py"):
        rc, out, err = run("eval", "--data", datasets["av-fashion"], "--checkpoint", ef + ".safetensors",
                           "--split", "all", "--dump-outputs", ef + ".other.ref", "--dump-rows",
                           str(DUMP_ROWS), "--threads", "1")
        if rc != 0:
            check("early-fusion on the other sample: evaluated", False, err.strip())
        else:
            done = check_features("early-fusion on the other sample", ef + ".py", ef + ".safetensors",
                                  ef + ".other.ref", datasets["av-fashion"])
            check("early-fusion on the other sample: every input compared",
                  set(done) == {"audio", "text_bow"}, f"{sorted(done)}")

# Captions with emoji sequences: what the exported tokenize gives is what
# Weft's tokenizer gave (the vocabulary and every row's token ids).
CAPTIONS = [
    "Woman technologist \U0001F469\U0001F3FD\u200d\U0001F4BB at work!",
    "Family \U0001F468\u200d\U0001F469\u200d\U0001F467\u200d\U0001F466 picnic, don\u2019t forget",
    "Flags \U0001F1EB\U0001F1F7\U0001F1E9\U0001F1EA and \U0001F3F3\ufe0f\u200d\U0001F308 wave",
    "Thumbs up \U0001F44D\U0001F3FF\U0001F44D caf\u00e9 na\u00efve R\u00c9SUM\u00c9",
    "Pirate \U0001F3F4\u200d\u2620\ufe0f; keycaps 1\ufe0f\u20e3 #\ufe0f\u20e3",
    "Heart \u2764\ufe0f\u200d\U0001F525 on fire... \u00abquotes\u00bb \u2014 dash?!",
    "\u6771\u4eac\u30bf\u30ef\u30fc Stra\u00dfe \ufb01ne \uff21\uff22\uff23 x\u00b2",
    "zero\u200bwidth soft\u00adhyphen e\u0301cole \U0001F9D1\U0001F3FB\u200d\U0001F91D\u200d\U0001F9D1\U0001F3FF",
    "\u03a9mega's O'Neil rock'n'roll ''' end' \U0001F3F4\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F",
]
cap = os.path.join(tmp.name, "captions")
os.makedirs(cap, exist_ok=True)
with open(os.path.join(cap, "metadata.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["text", "label", "split"])
    for k in range(3):
        for i, c in enumerate(CAPTIONS):
            w.writerow([c, "odd" if i % 2 else "even", "train"])
    w.writerow([CAPTIONS[0], "even", "test"])
cb = os.path.join(tmp.name, "captions-model")
rc, out, err = run("train", "--data", cap, "--model", os.path.join(src, "data", "models", "text-only.json"),
                   "--epochs", "1", "--batch", "8", "--text-length", "32", "--threads", "1",
                   "--out", cb + ".safetensors")
if rc == 0:
    rc, out, err = run("eval", "--data", cap, "--checkpoint", cb + ".safetensors", "--split", "all",
                       "--batch", "32", "--dump-outputs", cb + ".ref", "--dump-rows", "32", "--threads", "1")
if rc == 0:
    rc, out, err = run("export", cb + ".safetensors", "--pytorch", cb + ".py")
if rc != 0:
    check("the caption model trained, evaluated and exported", False, err.strip())
else:
    mod = load_module(cb + ".py", "exported_captions")
    ref, _ = mod.load_checkpoint(cb + ".ref")
    _, meta = mod.load_checkpoint(cb + ".safetensors")
    vocab = meta["weft_vocab"]
    rows = manifest(cap)
    diffs = []
    for r in range(ref["input.text"].shape[0]):
        weft = [vocab[int(i)] for i in ref["input.text"][r] if i >= 0]
        ours = mod.tokenize(rows[r]["text"])[:32]
        if weft != ours:
            diffs.append(f"row {r}: Weft {weft}, exported {ours}")
    check("the exported tokenize gives Weft's tokens on emoji, flags, accents and punctuation",
          not diffs and ref["input.text"].shape[0] == len(rows), diffs[0] if diffs else
          f"{len(rows)} captions, {len(vocab)} words")
    ours = set()
    for r in rows:
        ours |= set(mod.tokenize(r["text"]))
    check("the exported tokenize finds Weft's vocabulary", ours == set(vocab) - {"<unk>"},
          f"only Weft: {sorted(set(vocab) - ours - {'<unk>'})}, only exported: {sorted(ours - set(vocab))}")
    # sequences a reader sees as one character are one token
    check("emoji sequences stay whole",
          mod.tokenize("\U0001F469\U0001F3FD\u200d\U0001F4BB\U0001F1EB\U0001F1F7!") ==
          ["\U0001F469\U0001F3FD\u200d\U0001F4BB", "\U0001F1EB\U0001F1F7", "!"]
          and mod.tokenize("Don\u2019t CAF\u00c9") == ["don't", "caf\u00e9"],
          repr(mod.tokenize("\U0001F469\U0001F3FD\u200d\U0001F4BB\U0001F1EB\U0001F1F7!")))
    batch = mod.features_from_raw(vocab, text=CAPTIONS[0])
    check("a model without sound exports no audio normalisation, and the idf",
          mod.AUDIO_MEAN is None and mod.AUDIO_STD is None
          and same_floats(mod.TEXT_IDF, meta.get("weft_text_idf"))
          and torch.equal(batch["text"][0], ref["input.text"][0]) and batch["label"].reshape(-1).tolist() == [-1.0],
          f"{sorted(batch)}")

# A checkpoint from before the statistics were stored still exports (the
# keys removed from its metadata), with None in their place.
lf = os.path.join(tmp.name, "late-fusion.safetensors")
if os.path.exists(lf):
    import struct
    raw = open(lf, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    for key in ("weft_audio_norm", "weft_text_idf"):
        header["__metadata__"].pop(key, None)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    old = os.path.join(tmp.name, "old.safetensors")
    with open(old, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + raw[8 + n:])
    rc, out, err = run("export", old, "--pytorch", os.path.join(tmp.name, "old.py"))
    fine = rc == 0
    if fine:
        mod = load_module(os.path.join(tmp.name, "old.py"), "exported_old")
        fine = mod.AUDIO_MEAN is None and mod.TEXT_IDF is None
    check("a checkpoint without the statistics still exports", fine, err.strip())

# A truncated checkpoint: a clear error naming the file, no output written.
good = os.path.join(tmp.name, "late-fusion.safetensors")
if os.path.exists(good):
    raw = open(good, "rb").read()
    bad = os.path.join(tmp.name, "truncated.safetensors")
    with open(bad, "wb") as f:
        f.write(raw[: len(raw) // 2])
    out_py = os.path.join(tmp.name, "truncated.py")
    rc, out, err = run("export", bad, "--pytorch", out_py)
    check("a truncated checkpoint is refused", rc == 1 and "truncated.safetensors" in err
          and not os.path.exists(out_py), f"rc={rc} {err.strip()}")
    # the exported loader says the same in Python
    mod = load_module(os.path.join(tmp.name, "late-fusion.py"), "exported_late_fusion_again")
    try:
        mod.load_checkpoint(bad)
        check("the Python loader refuses a truncated file", False, "no error")
    except ValueError as e:
        check("the Python loader refuses a truncated file", "truncated" in str(e), str(e))
notes = os.path.join(tmp.name, "notes.txt")
with open(notes, "w") as f:
    f.write("not a checkpoint\n")
rc, out, err = run("export", notes, "--pytorch", os.path.join(tmp.name, "notes.py"))
check("a file that is not a checkpoint is refused", rc == 1 and "notes.txt" in err, f"rc={rc} {err.strip()}")
rc, out, err = run("export", os.path.join(tmp.name, "missing.safetensors"), "--pytorch",
                   os.path.join(tmp.name, "missing.py"))
check("a missing checkpoint is refused", rc == 1 and "missing.safetensors" in err, f"rc={rc} {err.strip()}")
rc, out, err = run("export", good)
check("export without --pytorch is a usage error", rc == 2 and "--pytorch" in err, f"rc={rc} {err.strip()}")

print(f"1..{len(results)}")
for i, (name, ok, detail) in enumerate(results, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {name}")
    if detail:
        print(f"# {detail}")
print(f"# {time.monotonic() - t0:.1f} s in all, {t_engine:.1f} s of them training, exporting and dumping")
sys.exit(0 if all(ok for _, ok, _ in results) else 1)
