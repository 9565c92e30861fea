/* weft-export-pytorch.c — writes a compiled model as a PyTorch module: one
 * layer or expression per compiled node, weights named as in the checkpoint. */
#include <string.h>

#include "export/weft-export-pytorch.h"
#include "graph/weft-checkpoint.h"
#include "nn/weft-activation.h"
#include "weft-error.h"

/* ---- Python text that does not depend on the model ---------------------- */

static const char py_imports[] =
  "import json\n"
  "import math\n"
  "import os\n"
  "import re\n"
  "import struct\n"
  "import sys\n"
  "import unicodedata\n"
  "\n"
  "import torch\n"
  "import torch.nn as nn\n"
  "import torch.nn.functional as F\n";

static const char py_loader[] =
  "# ---- Checkpoint ----------------------------------------------------------\n"
  "\n"
  "# safetensors dtype -> (torch dtype, bytes per element)\n"
  "_DTYPES = {\n"
  "    \"F32\": (torch.float32, 4), \"F64\": (torch.float64, 8), \"F16\": (torch.float16, 2),\n"
  "    \"BF16\": (torch.bfloat16, 2), \"I64\": (torch.int64, 8), \"I32\": (torch.int32, 4),\n"
  "    \"I16\": (torch.int16, 2), \"I8\": (torch.int8, 1), \"U8\": (torch.uint8, 1),\n"
  "    \"BOOL\": (torch.bool, 1),\n"
  "}\n"
  "\n"
  "\n"
  "def _parse_json(text):\n"
  "    # Some json-glib versions write 1e-08 as \"1e-08.0\": drop that \".0\".\n"
  "    return json.loads(re.sub(r\"(\\d[eE][-+]?\\d+)\\.0\\b\", r\"\\1\", text))\n"
  "\n"
  "\n"
  "def load_checkpoint(path):\n"
  "    \"\"\"Reads a safetensors file without the safetensors package.\n"
  "\n"
  "    Returns (state_dict, metadata): tensors as float32 by name, and the\n"
  "    __metadata__ strings with Weft's JSON members (weft_spec, weft_binding,\n"
  "    weft_training, weft_vocab, weft_classes, weft_audio_norm, weft_text_idf)\n"
  "    already parsed.\n"
  "    \"\"\"\n"
  "    with open(path, \"rb\") as f:\n"
  "        raw = f.read()\n"
  "    if len(raw) < 8:\n"
  "        raise ValueError(f\"{path}: too short to be a safetensors file\")\n"
  "    (n,) = struct.unpack(\"<Q\", raw[:8])\n"
  "    if n > len(raw) - 8:\n"
  "        raise ValueError(f\"{path}: the header runs past the end of the file (truncated?)\")\n"
  "    header = json.loads(raw[8:8 + n].decode(\"utf-8\"))\n"
  "    data = memoryview(raw)[8 + n:]\n"
  "    state = {}\n"
  "    for name, entry in header.items():\n"
  "        if name == \"__metadata__\":\n"
  "            continue\n"
  "        dtype, size = _DTYPES[entry[\"dtype\"]]\n"
  "        begin, end = entry[\"data_offsets\"]\n"
  "        shape = entry[\"shape\"]\n"
  "        if end > len(data) or end - begin != math.prod(shape) * size:\n"
  "            raise ValueError(f\"{path}: tensor {name} does not fit in the file (truncated?)\")\n"
  "        if end == begin:\n"
  "            t = torch.zeros(shape, dtype=dtype)\n"
  "        else:\n"
  "            # bytearray: a private, writable copy, so torch owns its memory\n"
  "            t = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype).reshape(shape)\n"
  "        state[name] = t.float()\n"
  "    meta = dict(header.get(\"__metadata__\", {}))\n"
  "    for key in (\"weft_spec\", \"weft_binding\", \"weft_training\", \"weft_vocab\", \"weft_classes\",\n"
  "                \"weft_audio_norm\", \"weft_text_idf\"):\n"
  "        if key in meta:\n"
  "            meta[key] = _parse_json(meta[key])\n"
  "    return state, meta\n"
  "\n"
  "\n"
  "def load_weights(model, state):\n"
  "    \"\"\"Copies a Weft state dict into the model; every name must match.\n"
  "\n"
  "    BatchNorm's num_batches_tracked is the only buffer Weft does not store.\n"
  "    \"\"\"\n"
  "    missing, unexpected = model.load_state_dict(state, strict=False)\n"
  "    missing = [k for k in missing if not k.endswith(\"num_batches_tracked\")]\n"
  "    if missing or unexpected:\n"
  "        raise KeyError(f\"checkpoint does not match the model: missing {missing}, \"\n"
  "                       f\"unexpected {unexpected}\")\n";

static const char py_text[] =
  "# ---- Text ----------------------------------------------------------------\n"
  "\n"
  "_APOSTROPHES = (\"'\", \"\\u2019\")\n"
  "\n"
  "\n"
  "def _is_word_char(c):\n"
  "    # Letters and digits (Unicode categories L* and N*), but not CJK\n"
  "    # ideographs: those are written without spaces and are a token each.\n"
  "    o = ord(c)\n"
  "    if (0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0x20000 <= o <= 0x2A6DF\n"
  "            or 0x2A700 <= o <= 0x2EBEF or 0x30000 <= o <= 0x323AF\n"
  "            or 0xF900 <= o <= 0xFAFF or 0x2F800 <= o <= 0x2FA1F):\n"
  "        return False\n"
  "    return unicodedata.category(c)[0] in \"LN\"\n"
  "\n"
  "\n"
  "def _is_mark(c):\n"
  "    return unicodedata.category(c) in (\"Mn\", \"Mc\", \"Me\")\n"
  "\n"
  "\n"
  "def _is_space(c):\n"
  "    return c in \"\\t\\n\\r\\f\" or unicodedata.category(c) in (\"Zs\", \"Zl\", \"Zp\")\n"
  "\n"
  "\n"
  "def _is_invisible(c):\n"
  "    # format and control characters (zero-width space, soft hyphen, ...)\n"
  "    return unicodedata.category(c) in (\"Cf\", \"Cc\")\n"
  "\n"
  "\n"
  "def _is_regional_indicator(c):\n"
  "    return 0x1F1E6 <= ord(c) <= 0x1F1FF\n"
  "\n"
  "\n"
  "def _is_emoji_part(c):\n"
  "    # a mark, a skin tone or a variation selector stays with its symbol\n"
  "    o = ord(c)\n"
  "    return _is_mark(c) or 0x1F3FB <= o <= 0x1F3FF or 0xFE00 <= o <= 0xFE0F\n"
  "\n"
  "\n"
  "def tokenize(text):\n"
  "    \"\"\"Weft's tokenizer: case-folded then NFKC-normalised; runs of letters\n"
  "    and digits with their combining marks are words (an apostrophe between\n"
  "    two of them is kept, the typographic one written '); every other\n"
  "    visible character is a token, together with its marks, variation\n"
  "    selector and skin tone, emoji joined by ZWJ and flag pairs staying\n"
  "    whole; spaces, format and control characters are dropped.\"\"\"\n"
  "    u = unicodedata.normalize(\"NFKC\", text.casefold())\n"
  "    n, i, tokens = len(u), 0, []\n"
  "    while i < n:\n"
  "        c = u[i]\n"
  "        if _is_space(c) or _is_invisible(c) or _is_mark(c):\n"
  "            i += 1\n"
  "            continue\n"
  "        tok = []\n"
  "        if _is_word_char(c):\n"
  "            while i < n:\n"
  "                if _is_word_char(u[i]) or _is_mark(u[i]):\n"
  "                    tok.append(u[i])\n"
  "                elif u[i] in _APOSTROPHES and i + 1 < n and _is_word_char(u[i + 1]):\n"
  "                    tok.append(\"'\")\n"
  "                else:\n"
  "                    break\n"
  "                i += 1\n"
  "        else:\n"
  "            tok.append(\"'\" if c in _APOSTROPHES else c)\n"
  "            i += 1\n"
  "            if _is_regional_indicator(c) and i < n and _is_regional_indicator(u[i]):\n"
  "                tok.append(u[i])\n"
  "                i += 1\n"
  "            while i < n:\n"
  "                if _is_emoji_part(u[i]):\n"
  "                    tok.append(u[i])\n"
  "                    i += 1\n"
  "                elif (u[i] == \"\\u200d\" and i + 1 < n and not _is_space(u[i + 1])\n"
  "                      and not _is_word_char(u[i + 1])):\n"
  "                    tok.append(u[i])\n"
  "                    tok.append(\"'\" if u[i + 1] in _APOSTROPHES else u[i + 1])\n"
  "                    i += 2\n"
  "                else:\n"
  "                    break\n"
  "        tokens.append(\"\".join(tok))\n"
  "    return tokens\n"
  "\n"
  "\n"
  "def encode_text(text, vocab, length=None):\n"
  "    \"\"\"Token ids of a caption, -1 padded to FEATURES['text_length'].\n"
  "    Unknown words get id 0 (<unk>).\"\"\"\n"
  "    length = length or FEATURES[\"text_length\"]\n"
  "    index = {}\n"
  "    for i, w in enumerate(vocab):\n"
  "        index.setdefault(w, i)   # a repeated token keeps its first id\n"
  "    ids = [index.get(w, 0) for w in tokenize(text)][:length]\n"
  "    return torch.tensor(ids + [-1] * (length - len(ids)), dtype=torch.float32)\n"
  "\n"
  "\n"
  "def bag_of_words(text, vocab, idf=None, length=None):\n"
  "    \"\"\"A caption as Weft's bag-of-words input (len(vocab),): the term\n"
  "    frequencies of its first `length` tokens (summing to 1), then, with\n"
  "    idf (default TEXT_IDF, the training set's), TF-IDF weighted and\n"
  "    L2-normalised. A caption without tokens gives zeros.\"\"\"\n"
  "    if idf is None:\n"
  "        idf = TEXT_IDF\n"
  "    ids = [int(t) for t in encode_text(text, vocab, length).tolist() if 0 <= t < len(vocab)]\n"
  "    out = torch.zeros(len(vocab), dtype=torch.float32)\n"
  "    if not ids:\n"
  "        return out\n"
  "    share = torch.tensor(1.0 / len(ids), dtype=torch.float32)\n"
  "    for t in ids:                   # in order, in float32, as Weft adds them\n"
  "        out[t] += share\n"
  "    if idf is None:\n"
  "        return out\n"
  "    out = out * torch.as_tensor(idf, dtype=torch.float32)\n"
  "    ss = float((out.double() ** 2).sum())\n"
  "    if ss > 0:\n"
  "        out = out * torch.tensor(1.0 / math.sqrt(ss), dtype=torch.float32)\n"
  "    return out\n"
  "\n"
  "\n"
  "# ---- Sound ---------------------------------------------------------------\n"
  "\n"
  "SAMPLE_RATE = 16000\n"
  "\n"
  "\n"
  "def _round(x):\n"
  "    return int(math.floor(x + 0.5))   # C's lround for positive values\n"
  "\n"
  "\n"
  "def log_mel(samples, mel_bands=None, frames=None, window_ms=None, hop_ms=None):\n"
  "    \"\"\"(mel_bands, frames) log-mel spectrogram of a clip of 16 kHz mono\n"
  "    float samples in [-1, 1], computed as Weft does: frames of\n"
  "    round(window_ms * 16) samples every round(hop_ms * 16) (not centred,\n"
  "    zeros past the end), a periodic Hann window, the power spectrum of an\n"
  "    FFT of the next power of two, HTK mel triangles from 0 to 8 kHz (peak\n"
  "    1), then ln(power + 1e-6). Settings default to FEATURES'.\"\"\"\n"
  "    bands = mel_bands or FEATURES.get(\"mel_bands\", 40)\n"
  "    frames = frames or FEATURES.get(\"frames\", 100)\n"
  "    window_ms = window_ms or FEATURES.get(\"window_ms\", 25.0)\n"
  "    hop_ms = hop_ms or FEATURES.get(\"hop_ms\", 10.0)\n"
  "    win = max(1, _round(window_ms * SAMPLE_RATE / 1000.0))\n"
  "    hop = max(1, _round(hop_ms * SAMPLE_RATE / 1000.0))\n"
  "    n_fft = 2\n"
  "    while n_fft < win:\n"
  "        n_fft *= 2\n"
  "    x = torch.as_tensor(samples, dtype=torch.float32).reshape(-1)\n"
  "    padded = torch.zeros(frames * hop + win, dtype=torch.float32)\n"
  "    m = min(x.numel(), padded.numel())\n"
  "    padded[:m] = x[:m]\n"
  "    window = torch.tensor([0.5 - 0.5 * math.cos(2.0 * math.pi * i / win) for i in range(win)],\n"
  "                          dtype=torch.float64).float()\n"
  "    chunks = padded.unfold(0, win, hop)[:frames] * window            # (frames, win), float32\n"
  "    spec = torch.fft.rfft(chunks.double(), n=n_fft, dim=1)\n"
  "    power = spec.real ** 2 + spec.imag ** 2                          # (frames, n_fft/2 + 1)\n"
  "\n"
  "    def hz_to_mel(f):\n"
  "        return 2595.0 * math.log10(1.0 + f / 700.0)\n"
  "\n"
  "    m0, m1 = hz_to_mel(0.0), hz_to_mel(SAMPLE_RATE / 2.0)\n"
  "    edge = [700.0 * (10.0 ** ((m0 + (m1 - m0) * i / (bands + 1)) / 2595.0) - 1.0)\n"
  "            for i in range(bands + 2)]\n"
  "    f = torch.arange(n_fft // 2 + 1, dtype=torch.float64) * SAMPLE_RATE / n_fft\n"
  "    fb = torch.stack([torch.clamp(torch.minimum((f - edge[b]) / (edge[b + 1] - edge[b]),\n"
  "                                                (edge[b + 2] - f) / (edge[b + 2] - edge[b + 1])),\n"
  "                                  min=0.0) for b in range(bands)])\n"
  "    fb = fb.float().double()                                         # Weft keeps float32 weights\n"
  "    return torch.log(fb @ power.t() + 1e-6).float()                  # (bands, frames)\n"
  "\n"
  "\n"
  "def normalise_audio(mel, mean=None, std=None):\n"
  "    \"\"\"Standardises each mel band with the training set's statistics\n"
  "    (AUDIO_MEAN, AUDIO_STD by default): (mel - mean[b]) / std[b].\"\"\"\n"
  "    mean = AUDIO_MEAN if mean is None else mean\n"
  "    std = AUDIO_STD if std is None else std\n"
  "    if mean is None or std is None:\n"
  "        return mel\n"
  "    mean = torch.as_tensor(mean, dtype=torch.float32).reshape(-1, 1)\n"
  "    std = torch.as_tensor(std, dtype=torch.float32).reshape(-1, 1)\n"
  "    return (mel - mean) / std\n"
  "\n"
  "\n"
  "def audio_features(samples):\n"
  "    \"\"\"A clip of 16 kHz mono float samples as the model's audio input:\n"
  "    the normalised log-mel spectrogram (mel_bands, frames).\"\"\"\n"
  "    return normalise_audio(log_mel(samples))\n"
  "\n"
  "\n"
  "def features_from_raw(vocab=None, **raw):\n"
  "    \"\"\"A batch of one sample for the model from raw inputs, keyed by the\n"
  "    model's input ids (see INPUTS): an image is a (C, H, W) tensor in\n"
  "    [0, 1] as Weft decodes it (scaled to FEATURES['image_size'] and\n"
  "    letterboxed on white), passed through; a sound is 16 kHz mono float\n"
  "    samples; a caption is a string (vocab: meta[\"weft_vocab\"]); a label a\n"
  "    class index. Use as model(features_from_raw(vocab, audio=samples)).\n"
  "    Inputs not given are an empty sample (zeros, no tokens, no label), as\n"
  "    Weft encodes a single query.\"\"\"\n"
  "    batch = {}\n"
  "    for key, value in raw.items():\n"
  "        kind = INPUTS.get(key)\n"
  "        if kind is None:\n"
  "            raise KeyError(f\"the model has no input '{key}' (it has {sorted(INPUTS)})\")\n"
  "        if kind == \"audio\":\n"
  "            x = audio_features(value)\n"
  "        elif kind in (\"text\", \"text_bow\"):\n"
  "            if vocab is None:\n"
  "                raise ValueError(\"a caption needs the vocabulary: meta['weft_vocab']\")\n"
  "            x = encode_text(value, vocab) if kind == \"text\" else bag_of_words(value, vocab)\n"
  "        elif kind == \"label\":\n"
  "            x = torch.tensor([float(value)])\n"
  "        else:\n"
  "            x = torch.as_tensor(value, dtype=torch.float32)\n"
  "        batch[key] = x.unsqueeze(0)\n"
  "    for key, kind in INPUTS.items():\n"
  "        if key not in batch:\n"
  "            empty = -1.0 if kind in (\"text\", \"label\") else 0.0\n"
  "            batch[key] = torch.full((1, *INPUT_SHAPES[key]), empty)\n"
  "    return batch\n";

/* Helpers for blocks PyTorch has no single layer for; each is emitted only
 * when the model uses it. */
typedef struct {
  const char *name;
  const char *code;
} Helper;

enum {
  H_EMBED, H_EMBED_BAG, H_GRU, H_CROSS_ATT, H_GATED, H_TENSOR_FUSION, H_LATE,
  H_DECODER, H_CE, H_INFONCE, H_TRIPLET, H_CAUSAL, H_N
};

static const Helper helpers[H_N] = {
  [H_EMBED] = { "embed_ids",
    "def embed_ids(table, ids):\n"
    "    \"\"\"Looks ids up in an nn.Embedding; padding (-1) and ids past the\n"
    "    table give zero vectors.\"\"\"\n"
    "    ids = ids.long()\n"
    "    valid = (ids >= 0) & (ids < table.num_embeddings)\n"
    "    return table(torch.where(valid, ids, 0)) * valid.unsqueeze(-1)\n" },
  [H_EMBED_BAG] = { "embed_bag_mean",
    "def embed_bag_mean(table, ids):\n"
    "    \"\"\"Mean of the embeddings of every valid id of a sample (a bag of\n"
    "    words); a sample without any gives the zero vector.\"\"\"\n"
    "    ids = ids.reshape(ids.shape[0], -1).long()\n"
    "    valid = ((ids >= 0) & (ids < table.num_embeddings)).float()\n"
    "    total = (table(torch.where(valid > 0, ids, 0)) * valid.unsqueeze(-1)).sum(1)\n"
    "    return total / valid.sum(1, keepdim=True).clamp(min=1)\n" },
  [H_GRU] = { "GRU",
    "class GRU(nn.Module):\n"
    "    \"\"\"One GRU layer, batch first, h0 = 0, gates in nn.GRU's order (r, z, n).\n"
    "    Weft names the weights without nn.GRU's _l0 suffix, so the recurrence\n"
    "    is spelt out here (it computes exactly what nn.GRU does).\"\"\"\n"
    "\n"
    "    def __init__(self, input_size, hidden_size, return_sequence):\n"
    "        super().__init__()\n"
    "        H = hidden_size\n"
    "        self.hidden_size, self.return_sequence = H, return_sequence\n"
    "        self.weight_ih = nn.Parameter(torch.empty(3 * H, input_size))\n"
    "        self.weight_hh = nn.Parameter(torch.empty(3 * H, H))\n"
    "        self.bias_ih = nn.Parameter(torch.zeros(3 * H))\n"
    "        self.bias_hh = nn.Parameter(torch.zeros(3 * H))\n"
    "        bound = 1 / math.sqrt(H)\n"
    "        for w in (self.weight_ih, self.weight_hh):\n"
    "            nn.init.uniform_(w, -bound, bound)\n"
    "\n"
    "    def forward(self, x):                          # (B, T, D)\n"
    "        gi = F.linear(x, self.weight_ih, self.bias_ih)  # (B, T, 3H), all steps at once\n"
    "        h = x.new_zeros(x.shape[0], self.hidden_size)\n"
    "        steps = []\n"
    "        for t in range(x.shape[1]):\n"
    "            gh = F.linear(h, self.weight_hh, self.bias_hh)\n"
    "            ir, iz, inn = gi[:, t].chunk(3, -1)\n"
    "            hr, hz, hn = gh.chunk(3, -1)\n"
    "            r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)\n"
    "            n = torch.tanh(inn + r * hn)\n"
    "            h = (1 - z) * n + z * h\n"
    "            steps.append(h)\n"
    "        return torch.stack(steps, 1) if self.return_sequence else h\n" },
  [H_CROSS_ATT] = { "CrossAttention",
    "class CrossAttention(nn.Module):\n"
    "    \"\"\"Multi-head attention of a query (vector or sequence) over a context\n"
    "    (vector or sequence), with separate q/k/v projections so that the two\n"
    "    sides may have different widths. No residual.\"\"\"\n"
    "\n"
    "    def __init__(self, query_dim, context_dim, dim, heads):\n"
    "        super().__init__()\n"
    "        self.dim, self.heads = dim, heads\n"
    "        self.q_proj = nn.Linear(query_dim, dim)\n"
    "        self.k_proj = nn.Linear(context_dim, dim)\n"
    "        self.v_proj = nn.Linear(context_dim, dim)\n"
    "        self.out_proj = nn.Linear(dim, dim)\n"
    "\n"
    "    def forward(self, query, context):\n"
    "        q_vector = query.dim() == 2\n"
    "        if q_vector:\n"
    "            query = query.unsqueeze(1)             # one step\n"
    "        if context.dim() == 2:\n"
    "            context = context.unsqueeze(1)\n"
    "        B, Tq, Tk = query.shape[0], query.shape[1], context.shape[1]\n"
    "        hd = self.dim // self.heads\n"
    "        q = self.q_proj(query).view(B, Tq, self.heads, hd).transpose(1, 2)\n"
    "        k = self.k_proj(context).view(B, Tk, self.heads, hd).transpose(1, 2)\n"
    "        v = self.v_proj(context).view(B, Tk, self.heads, hd).transpose(1, 2)\n"
    "        p = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd), dim=-1)\n"
    "        y = self.out_proj((p @ v).transpose(1, 2).reshape(B, Tq, self.dim))\n"
    "        return y[:, 0] if q_vector else y\n" },
  [H_GATED] = { "GatedFusion",
    "class GatedFusion(nn.Module):\n"
    "    \"\"\"Gated multimodal unit: each input is projected and squashed with\n"
    "    tanh; a softmax gate over the modalities, computed from all inputs,\n"
    "    weighs them per unit.\"\"\"\n"
    "\n"
    "    def __init__(self, input_dims, units):\n"
    "        super().__init__()\n"
    "        self.units = units\n"
    "        self.proj = nn.ModuleList(nn.Linear(d, units) for d in input_dims)\n"
    "        self.gate = nn.Linear(sum(input_dims), len(input_dims) * units)\n"
    "\n"
    "    def forward(self, *xs):\n"
    "        B, n = xs[0].shape[0], len(xs)\n"
    "        z = self.gate(torch.cat(xs, -1)).view(B, n, self.units).softmax(1)\n"
    "        h = torch.stack([torch.tanh(p(x)) for p, x in zip(self.proj, xs)], 1)\n"
    "        return (z * h).sum(1)\n" },
  [H_TENSOR_FUSION] = { "tensor_fusion",
    "def tensor_fusion(*xs):\n"
    "    \"\"\"Outer product of the inputs, each extended with a constant 1, so\n"
    "    that every single input and every interaction appears in the result.\"\"\"\n"
    "    B = xs[0].shape[0]\n"
    "    out = None\n"
    "    for x in xs:\n"
    "        z = torch.cat([x, x.new_ones(B, 1)], 1)\n"
    "        out = z if out is None else torch.einsum(\"bi,bj->bij\", out, z).reshape(B, -1)\n"
    "    return out\n" },
  [H_LATE] = { "LateFusion",
    "class LateFusion(nn.Module):\n"
    "    \"\"\"Weighted average of per-modality predictions; the weights are a\n"
    "    softmax of learned logits.\"\"\"\n"
    "\n"
    "    def __init__(self, n_inputs):\n"
    "        super().__init__()\n"
    "        self.logits = nn.Parameter(torch.zeros(n_inputs))\n"
    "\n"
    "    def forward(self, *xs):\n"
    "        w = self.logits.softmax(0)\n"
    "        return sum(w[k] * x for k, x in enumerate(xs))\n" },
  [H_DECODER] = { "Decoder",
    "class Decoder(nn.Module):\n"
    "    \"\"\"Reconstruction head: latent -> hidden (ReLU) -> output, reshaped to\n"
    "    the shape of what it reconstructs.\"\"\"\n"
    "\n"
    "    def __init__(self, latent_size, hidden, out_shape, sigmoid):\n"
    "        super().__init__()\n"
    "        self.out_shape, self.sigmoid = tuple(out_shape), sigmoid\n"
    "        self.hidden = nn.Linear(latent_size, hidden)\n"
    "        self.out = nn.Linear(hidden, math.prod(out_shape))\n"
    "\n"
    "    def forward(self, z):\n"
    "        y = self.out(F.relu(self.hidden(z.flatten(1))))\n"
    "        if self.sigmoid:\n"
    "            y = torch.sigmoid(y)\n"
    "        return y.view(-1, *self.out_shape)\n" },
  [H_CE] = { "cross_entropy",
    "def cross_entropy(logits, labels, label_smoothing=0.0):\n"
    "    \"\"\"Mean cross-entropy over the labelled rows (label -1 or out of range:\n"
    "    no label); 0 when no row has a label.\"\"\"\n"
    "    labels = labels.reshape(-1)\n"
    "    keep = (labels >= 0) & (labels < logits.shape[1])\n"
    "    if not bool(keep.any()):\n"
    "        return logits.sum() * 0.0\n"
    "    return F.cross_entropy(logits[keep], labels[keep].long(), label_smoothing=label_smoothing)\n" },
  [H_INFONCE] = { "InfoNCE",
    "class InfoNCE(nn.Module):\n"
    "    \"\"\"Symmetric contrastive loss (CLIP): row i of a should match row i of\n"
    "    b and no other row of the batch. The temperature is learned as\n"
    "    logit_scale = log(1 / T), capped at log(100) as in CLIP.\"\"\"\n"
    "\n"
    "    def __init__(self, init_temperature, learn_temperature):\n"
    "        super().__init__()\n"
    "        self.logit_scale = nn.Parameter(torch.tensor([math.log(1 / init_temperature)]),\n"
    "                                        requires_grad=learn_temperature)\n"
    "\n"
    "    def forward(self, a, b):\n"
    "        s = self.logit_scale.clamp(max=math.log(100)).exp()\n"
    "        logits = s * a.flatten(1) @ b.flatten(1).t()\n"
    "        target = torch.arange(logits.shape[0], device=logits.device)\n"
    "        return (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target)) / 2\n" },
  [H_TRIPLET] = { "triplet",
    "def triplet(anchor, positive, negative=None, margin=0.2):\n"
    "    \"\"\"Triplet margin loss; without negatives, each anchor's negative is\n"
    "    the next row's positive.\"\"\"\n"
    "    anchor, positive = anchor.flatten(1), positive.flatten(1)\n"
    "    negative = positive.roll(-1, 0) if negative is None else negative.flatten(1)\n"
    "    return F.triplet_margin_loss(anchor, positive, negative, margin=margin, p=2, eps=1e-6)\n" },
  [H_CAUSAL] = { "causal_mask",
    "def causal_mask(steps, device=None):\n"
    "    \"\"\"True above the diagonal: step t may not look at later steps.\"\"\"\n"
    "    return torch.triu(torch.ones(steps, steps, dtype=torch.bool, device=device), 1)\n" },
};

/* ---- The generator ------------------------------------------------------- */

typedef struct {
  WeftGraph *g;
  gboolean used[H_N];
  GString *init;             /* body of __init__ */
  GString *fwd;              /* body of forward */
  char **var;                /* per compiled node: Python name of its output */
  GHashTable *names;         /* Python names in use in forward */
} Gen;

static const char *const py_reserved[] = {
  "False", "None", "True", "and", "as", "assert", "async", "await", "break",
  "class", "continue", "def", "del", "elif", "else", "except", "finally", "for",
  "from", "global", "if", "import", "in", "is", "lambda", "nonlocal", "not",
  "or", "pass", "raise", "return", "try", "while", "with", "yield",
  /* names the generated forward itself uses */
  "self", "batch", "any_input", "h", "torch", "nn", "F", "math", NULL
};

static gboolean
is_identifier (const char *s)
{
  if (!(g_ascii_isalpha (s[0]) || s[0] == '_'))
    return FALSE;
  for (const char *p = s; *p; p++)
    if (!(g_ascii_isalnum (*p) || *p == '_'))
      return FALSE;
  return !g_strv_contains (py_reserved, s);
}

/* A unique Python variable for a spec id ("text-enc" -> "text_enc"). */
static char *
py_var (Gen *gen, const char *id)
{
  g_autofree char *base = g_strdup (id);
  g_strdelimit (base, "-.", '_');
  char *name = g_strdup (base);
  for (int k = 2; !is_identifier (name) || g_hash_table_contains (gen->names, name); k++)
    {
      g_free (name);
      name = g_strdup_printf ("%s_%d", base, k);
    }
  g_hash_table_add (gen->names, g_strdup (name));
  return name;
}

/* Python for attribute access: self.enc, or self.get_submodule("a-b"). */
static char *
py_attr (const char *id)
{
  if (is_identifier (id))
    return g_strdup_printf ("self.%s", id);
  return g_strdup_printf ("self.get_submodule(\"%s\")", id);
}

static char *
py_float (double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_ascii_formatd (buf, sizeof buf, "%.9g", v);
  /* "1" -> "1.0" so that Python sees a float */
  if (!strpbrk (buf, ".eEn"))
    return g_strconcat (buf, ".0", NULL);
  return g_strdup (buf);
}

static const char *
py_bool (double v)
{
  return v != 0 ? "True" : "False";
}

static char *
py_shape (const WeftShape *s)
{
  GString *str = g_string_new ("(");
  for (int i = 0; i < s->n; i++)
    g_string_append_printf (str, i ? ", %d" : "%d", s->d[i]);
  if (s->n == 1)
    g_string_append_c (str, ',');
  g_string_append_c (str, ')');
  return g_string_free (str, FALSE);
}

static double
param (const WeftNode *n, const char *name)
{
  int i = weft_block_param_index (n->block, name);
  g_assert (i >= 0);
  return n->p[i];
}

/* Wraps expr in the activation the enum names. */
static char *
py_act (int act, const char *expr)
{
  switch (act)
    {
    case WEFT_ACT_RELU: return g_strdup_printf ("F.relu(%s)", expr);
    case WEFT_ACT_GELU: return g_strdup_printf ("F.gelu(%s)", expr);
    case WEFT_ACT_TANH: return g_strdup_printf ("torch.tanh(%s)", expr);
    case WEFT_ACT_SIGMOID: return g_strdup_printf ("torch.sigmoid(%s)", expr);
    default: return g_strdup (expr);
    }
}

/* Where the module of compiled node k lives: "self.enc" for a plain node,
 * 'self.enc["conv1"]' for a preset's layer. Shared nodes use their owner. */
static char *
module_ref (Gen *gen, int k)
{
  WeftGraphNode *gn = weft_graph_get_node (gen->g, weft_graph_get_node (gen->g, k)->owner);
  g_autofree char *attr = py_attr (gn->spec_id);
  if (g_str_equal (gn->node->id, gn->spec_id))
    return g_steal_pointer (&attr);
  return g_strdup_printf ("%s[\"%s\"]", attr, gn->node->id + strlen (gn->spec_id) + 1);
}

/* The nn layer that holds the weights of compiled node n (NULL if it has
 * none, or the block needs no module). Sets *helper for helper classes. */
static char *
layer_ctor (Gen *gen, const WeftNode *n, GError **error)
{
  const char *t = n->block->type;
  const WeftShape *s = &n->in_shape[0];
  int last = s->d[s->n - 1];

  if (g_str_equal (t, "dense"))
    return g_strdup_printf ("nn.Linear(%d, %d%s)", last, (int) param (n, "units"),
                            param (n, "bias") ? "" : ", bias=False");
  if (g_str_equal (t, "conv2d") || g_str_equal (t, "conv1d"))
    {
      gboolean is_1d = g_str_equal (t, "conv1d");
      int in_ch = (is_1d ? s->n == 2 : s->n == 3) ? s->d[0] : 1;
      GString *c = g_string_new (NULL);
      g_string_append_printf (c, "nn.Conv%s(%d, %d, %d", is_1d ? "1d" : "2d", in_ch,
                              (int) param (n, "filters"), (int) param (n, "kernel"));
      if (param (n, "stride") != 1)
        g_string_append_printf (c, ", stride=%d", (int) param (n, "stride"));
      if (param (n, "padding") != 0)
        g_string_append_printf (c, ", padding=%d", (int) param (n, "padding"));
      if (!param (n, "bias"))
        g_string_append (c, ", bias=False");
      g_string_append_c (c, ')');
      return g_string_free (c, FALSE);
    }
  if (g_str_equal (t, "layernorm"))
    {
      g_autofree char *eps = py_float (param (n, "eps"));
      return g_strdup_printf ("nn.LayerNorm(%d, eps=%s%s)", last, eps,
                              param (n, "affine") ? "" : ", elementwise_affine=False");
    }
  if (g_str_equal (t, "batchnorm"))
    {
      g_autofree char *eps = py_float (param (n, "eps"));
      g_autofree char *mom = py_float (param (n, "momentum"));
      return g_strdup_printf ("nn.BatchNorm%s(%d, eps=%s, momentum=%s)",
                              s->n == 3 ? "2d" : "1d", s->d[0], eps, mom);
    }
  if (g_str_equal (t, "embedding") || g_str_equal (t, "embedding_bag"))
    return g_strdup_printf ("nn.Embedding(%d, %d)", n->w_spec[0].shape.d[0], (int) param (n, "dim"));
  if (g_str_equal (t, "gru"))
    {
      gen->used[H_GRU] = TRUE;
      return g_strdup_printf ("GRU(%d, %d, return_sequence=%s)", s->d[1], (int) param (n, "hidden"),
                              py_bool (param (n, "return_sequence")));
    }
  if (g_str_equal (t, "self_attention"))
    return g_strdup_printf ("nn.MultiheadAttention(%d, %d, batch_first=True)", s->d[1],
                            (int) param (n, "heads"));
  if (g_str_equal (t, "cross_attention"))
    {
      gen->used[H_CROSS_ATT] = TRUE;
      const WeftShape *c = &n->in_shape[1];
      return g_strdup_printf ("CrossAttention(%d, %d, dim=%d, heads=%d)", last, c->d[c->n - 1],
                              (int) param (n, "dim"), (int) param (n, "heads"));
    }
  if (g_str_equal (t, "gated"))
    {
      gen->used[H_GATED] = TRUE;
      GString *c = g_string_new ("GatedFusion([");
      for (int i = 0; i < n->n_in; i++)
        g_string_append_printf (c, i ? ", %d" : "%d", n->in_shape[i].d[0]);
      g_string_append_printf (c, "], units=%d)", (int) param (n, "units"));
      return g_string_free (c, FALSE);
    }
  if (g_str_equal (t, "late_fusion"))
    {
      gen->used[H_LATE] = TRUE;
      return g_strdup_printf ("LateFusion(%d)", n->n_in);
    }
  if (g_str_equal (t, "classifier"))
    return g_strdup_printf ("nn.Linear(%d, %d)", last, n->out_shape.d[0]);
  if (g_str_equal (t, "projection"))
    return g_strdup_printf ("nn.Linear(%d, %d%s)", last, (int) param (n, "dim"),
                            param (n, "bias") ? "" : ", bias=False");
  if (g_str_equal (t, "decoder"))
    {
      gen->used[H_DECODER] = TRUE;
      g_autofree char *shape = py_shape (&n->out_shape);
      return g_strdup_printf ("Decoder(%" G_GSIZE_FORMAT ", %d, %s, sigmoid=%s)",
                              weft_node_in_size (n, 0), (int) param (n, "hidden"), shape,
                              py_bool (param (n, "output_activation") == 1));
    }
  if (g_str_equal (t, "infonce"))
    {
      gen->used[H_INFONCE] = TRUE;
      g_autofree char *temp = py_float (param (n, "init_temperature"));
      return g_strdup_printf ("InfoNCE(init_temperature=%s, learn_temperature=%s)", temp,
                              py_bool (param (n, "learn_temperature")));
    }
  if (n->n_w > 0)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_SPEC,
                   "node '%s': the PyTorch exporter does not know the %s block",
                   n->id, n->block->title);
      return NULL;
    }
  return NULL;
}

/* The Python expression computing compiled node k from its inputs. */
static char *
node_expr (Gen *gen, int k, GError **error)
{
  WeftGraphNode *gn = weft_graph_get_node (gen->g, k);
  const WeftNode *n = gn->node;
  const char *t = n->block->type;
  const WeftShape *s = &n->in_shape[0];
  const char *x = gen->var[gn->src[0]];
  g_autofree char *m = module_ref (gen, k);

  /* all inputs, comma separated */
  GString *args = g_string_new (NULL);
  for (int i = 0; i < n->n_in; i++)
    g_string_append_printf (args, i ? ", %s" : "%s", gen->var[gn->src[i]]);
  g_autofree char *all = g_string_free (args, FALSE);

  if (g_str_equal (t, "dense"))
    {
      g_autofree char *e = g_strdup_printf ("%s(%s)", m, x);
      return py_act ((int) param (n, "activation"), e);
    }
  if (g_str_equal (t, "conv2d") || g_str_equal (t, "conv1d"))
    {
      /* a (H, W) grid or a plain (L) signal is one channel */
      gboolean one_channel = s->n == (g_str_equal (t, "conv1d") ? 1 : 2);
      g_autofree char *e = g_strdup_printf ("%s(%s%s)", m, x, one_channel ? ".unsqueeze(1)" : "");
      return py_act ((int) param (n, "activation"), e);
    }
  if (g_str_equal (t, "maxpool") || g_str_equal (t, "avgpool"))
    {
      int window = (int) param (n, "window");  /* auto, 1d, 2d */
      gboolean two_d = window == 0 ? s->n == 3 : window == 2;
      gboolean one_channel = s->n == (two_d ? 2 : 1);
      int kernel = (int) param (n, "kernel"), stride = (int) param (n, "stride");
      g_autofree char *st = stride > 0 && stride != kernel ? g_strdup_printf (", %d", stride)
                                                            : g_strdup ("");
      return g_strdup_printf ("F.%s_pool%s(%s%s, %d%s)%s", t[0] == 'm' ? "max" : "avg",
                              two_d ? "2d" : "1d", x, one_channel ? ".unsqueeze(1)" : "",
                              kernel, st, one_channel ? ".squeeze(1)" : "");
    }
  if (g_str_equal (t, "global_pool"))
    {
      const char *red = param (n, "mode") == 1 ? "amax" : "mean";
      if (s->n == 2)
        return g_strdup_printf ("%s.%s(2)", x, red);
      if (s->n == 3)
        return g_strdup_printf ("%s.%s((2, 3))", x, red);
      return g_strdup_printf ("%s.flatten(2).%s(2)", x, red);
    }
  if (g_str_equal (t, "flatten"))
    return g_strdup_printf ("%s.flatten(1)", x);
  if (g_str_equal (t, "transpose"))
    return g_strdup_printf ("%s.transpose(-1, -2)", x);
  if (g_str_equal (t, "dropout"))
    {
      g_autofree char *p = py_float (param (n, "p"));
      return g_strdup_printf ("F.dropout(%s, %s, self.training)", x, p);
    }
  if (g_str_equal (t, "layernorm") || g_str_equal (t, "batchnorm") || g_str_equal (t, "classifier"))
    return g_strdup_printf ("%s(%s)", m, x);
  if (g_str_equal (t, "relu"))
    return g_strdup_printf ("F.relu(%s)", x);
  if (g_str_equal (t, "gelu"))
    return g_strdup_printf ("F.gelu(%s)", x);
  if (g_str_equal (t, "tanh") || g_str_equal (t, "sigmoid"))
    return g_strdup_printf ("torch.%s(%s)", t, x);
  if (g_str_equal (t, "l2norm"))
    {
      g_autofree char *eps = py_float (param (n, "eps"));
      return g_strdup_printf ("F.normalize(%s, dim=-1, eps=%s)", x, eps);
    }
  if (g_str_equal (t, "embedding"))
    {
      gen->used[H_EMBED] = TRUE;
      return g_strdup_printf ("embed_ids(%s, %s)", m, x);
    }
  if (g_str_equal (t, "embedding_bag"))
    {
      gen->used[H_EMBED_BAG] = TRUE;
      return g_strdup_printf ("embed_bag_mean(%s, %s)", m, x);
    }
  if (g_str_equal (t, "gru") || g_str_equal (t, "cross_attention") || g_str_equal (t, "gated")
      || g_str_equal (t, "late_fusion"))
    return g_strdup_printf ("%s(%s)", m, all);
  if (g_str_equal (t, "self_attention"))
    {
      if (param (n, "causal"))
        {
          gen->used[H_CAUSAL] = TRUE;
          return g_strdup_printf ("%s + %s(%s, %s, %s, need_weights=False,\n"
                                  "            attn_mask=causal_mask(%s.shape[1], %s.device))[0]",
                                  x, m, x, x, x, x, x);
        }
      return g_strdup_printf ("%s + %s(%s, %s, %s, need_weights=False)[0]", x, m, x, x, x);
    }
  if (g_str_equal (t, "concat"))
    return g_strdup_printf ("torch.cat([%s], dim=-1)", all);
  if (g_str_equal (t, "sum") || g_str_equal (t, "product"))
    {
      GString *e = g_string_new (NULL);
      for (int i = 0; i < n->n_in; i++)
        g_string_append_printf (e, i ? (t[0] == 's' ? " + %s" : " * %s") : "%s",
                                gen->var[gn->src[i]]);
      return g_string_free (e, FALSE);
    }
  if (g_str_equal (t, "tensor_fusion"))
    {
      gen->used[H_TENSOR_FUSION] = TRUE;
      return g_strdup_printf ("tensor_fusion(%s)", all);
    }
  if (g_str_equal (t, "projection"))
    {
      if (param (n, "normalize"))
        return g_strdup_printf ("F.normalize(%s(%s), dim=-1)", m, x);
      return g_strdup_printf ("%s(%s)", m, x);
    }
  if (g_str_equal (t, "decoder"))
    return g_strdup_printf ("%s(%s)", m, x);  /* the target only gives the shape */
  if (g_str_equal (t, "cross_entropy"))
    {
      gen->used[H_CE] = TRUE;
      double eps = param (n, "label_smoothing");
      if (eps > 0)
        {
          g_autofree char *e = py_float (eps);
          return g_strdup_printf ("cross_entropy(%s, label_smoothing=%s)", all, e);
        }
      return g_strdup_printf ("cross_entropy(%s)", all);
    }
  if (g_str_equal (t, "infonce"))
    return g_strdup_printf ("%s(%s)", m, all);
  if (g_str_equal (t, "triplet"))
    {
      gen->used[H_TRIPLET] = TRUE;
      g_autofree char *margin = py_float (param (n, "margin"));
      return g_strdup_printf ("triplet(%s, margin=%s)", all, margin);
    }
  if (g_str_equal (t, "mse"))
    return g_strdup_printf ("F.mse_loss(%s)", all);

  g_set_error (error, WEFT_ERROR, WEFT_ERROR_SPEC,
               "node '%s': the PyTorch exporter does not know the %s block",
               n->id, n->block->title);
  return NULL;
}

static char *
class_name (const WeftSpec *spec)
{
  const char *name = spec->name && *spec->name ? spec->name : "weft model";
  GString *c = g_string_new (NULL);
  gboolean up = TRUE;
  for (const char *p = name; *p; p++)
    {
      if (!g_ascii_isalnum (*p))
        {
          up = TRUE;
          continue;
        }
      if (c->len == 0 && g_ascii_isdigit (*p))
        g_string_append (c, "Model");
      g_string_append_c (c, up ? g_ascii_toupper (*p) : *p);
      up = FALSE;
    }
  if (c->len == 0 || !g_str_has_suffix (c->str, "Model"))
    g_string_append (c, "Model");
  return g_string_free (c, FALSE);
}

/* Python string literal (JSON's escapes are valid Python). */
static char *
py_str (const char *s)
{
  g_autoptr(JsonNode) n = json_node_new (JSON_NODE_VALUE);
  json_node_set_string (n, s ? s : "");
  return json_to_string (n, FALSE);
}

/* What one input looks like and how Weft made it, for the docstring. */
static void
describe_input (GString *doc, const WeftSpecInput *in, const WeftShape *shape,
                JsonObject *feat)
{
#define FI(name, def) (feat && json_object_has_member (feat, name) ? \
                       json_object_get_double_member (feat, name) : (def))
  switch (in->modality)
    {
    case WEFT_MODALITY_IMAGE:
      g_string_append_printf (doc,
        "  %s: (B, %d, %d, %d) float. The picture scaled to %d x %d pixels,\n"
        "      %s, values in [0, 1], channels first.\n",
        in->id, shape->d[0], shape->d[1], shape->d[2], shape->d[1], shape->d[2],
        shape->d[0] == 1 ? "grey" : "RGB");
      break;
    case WEFT_MODALITY_AUDIO:
      g_string_append_printf (doc,
        "  %s: (B, %d, %d) float. Log-mel spectrogram of the sound at 16 kHz mono:\n"
        "      %d mel bands, %g ms windows every %g ms, %d frames (silence-padded\n"
        "      or trimmed), each band standardised with the mean and standard\n"
        "      deviation of the training rows (AUDIO_MEAN, AUDIO_STD):\n"
        "      audio_features(samples) computes it from 16 kHz mono floats.\n",
        in->id, shape->d[0], shape->d[1], shape->d[0], FI ("window_ms", 25.0),
        FI ("hop_ms", 10.0), shape->d[1]);
      break;
    case WEFT_MODALITY_TEXT:
      if (in->text_bow)
        g_string_append_printf (doc,
          "  %s: (B, %d) float. Bag of words over the vocabulary: term counts of\n"
          "      encode_text(caption, VOCAB) weighted by TF-IDF (inverse document\n"
          "      frequencies of the training captions, TEXT_IDF) and L2-normalised:\n"
          "      bag_of_words(caption, VOCAB).\n",
          in->id, shape->d[0]);
      else
        g_string_append_printf (doc,
          "  %s: (B, %d) token ids: encode_text(caption, VOCAB), -1 padded.\n",
          in->id, shape->d[0]);
      break;
    default:
      g_string_append_printf (doc,
        "  %s: (B,) class index into CLASSES, -1 for none. Optional: without\n"
        "      it the classification losses are 0.\n", in->id);
      break;
    }
#undef FI
}

/* The shape each input is bound to: the graph's input node output. */
/* Appends a preset's ModuleDict (consumed) to init; an id that is not a
 * Python name was opened with self.add_module( and needs one more ")". */
static void
close_preset (GString *init, GString *preset, const char *spec_id)
{
  g_string_append (init, preset->str);
  g_string_append (init, is_identifier (spec_id) ? "        })\n" : "        }))\n");
  g_string_free (preset, TRUE);
}

static const WeftShape *
input_shape (WeftGraph *g, const char *id)
{
  int k = weft_graph_find (g, id);
  return k >= 0 ? &weft_graph_get_node (g, k)->node->out_shape : NULL;
}

/* The whole file around the generated __init__ and forward bodies. */
/* A Python list of floats, eight a line, as the value of NAME. */
static void
append_float_list (GString *py, const char *name, const float *v, int n)
{
  g_string_append_printf (py, "%s = [", name);
  for (int i = 0; i < n; i++)
    {
      g_autofree char *x = py_float (v[i]);
      g_string_append_printf (py, "%s%s%s", i ? "," : "", i % 8 ? " " : "\n    ", x);
    }
  g_string_append (py, ",\n]\n");
}

static GString *
assemble (Gen *gen, const char *cls, JsonObject *features_json,
          const char *const *vocab, const char *const *classes,
          const WeftCheckpointInfo *pre, const char *checkpoint_path)
{
  WeftGraph *g = gen->g;
  const WeftSpec *spec = weft_graph_get_spec (g);
  const WeftBinding *bind = weft_graph_get_binding (g);
  GString *py = g_string_new (NULL);


  /* 1. Docstring */
  g_string_append_printf (py, "\"\"\"%s: a Weft model as a PyTorch module.\n\n",
                          spec->name ? spec->name : cls);
  if (spec->description)
    g_string_append_printf (py, "%s\n\n", spec->description);
  g_string_append_printf (py,
    "Exported by Weft. Run `python3 THIS_FILE.py [CHECKPOINT]` to load the weights\n"
    "and print a summary, or import it:\n"
    "\n"
    "    model = %s()\n"
    "    state, meta = load_checkpoint(\"model.safetensors\")\n"
    "    load_weights(model, state)\n"
    "    model.eval()\n"
    "    out = model({\"%s\": ..., ...})   # {node id: tensor}\n"
    "\n"
    "The outputs match Weft's engine for the same inputs (float32, eval mode).\n"
    "Inputs are a dict of tensors, batch first, featurised as Weft does\n"
    "(the settings are in FEATURES; features_from_raw(VOCAB, %s=...) makes\n"
    "a batch of one from a raw sound, caption or decoded image):\n",
    cls, spec->inputs->len ? ((WeftSpecInput *) g_ptr_array_index (spec->inputs, 0))->id : "image",
    spec->inputs->len ? ((WeftSpecInput *) g_ptr_array_index (spec->inputs, 0))->id : "image");
  for (guint i = 0; i < spec->inputs->len; i++)
    {
      const WeftSpecInput *in = g_ptr_array_index (spec->inputs, i);
      const WeftShape *s = input_shape (g, in->id);
      if (s)
        describe_input (py, in, s, features_json);
    }
  g_string_append (py,
    "VOCAB and CLASSES come from the checkpoint's metadata (meta[\"weft_vocab\"],\n"
    "meta[\"weft_classes\"]).\n"
    "\"\"\"\n");
  g_string_append (py, py_imports);

  /* 2. Settings */
  g_string_append (py, "\n# The checkpoint this file was exported from (override on the command line).\n");
  g_autofree char *ck = py_str (checkpoint_path ? checkpoint_path : "model.safetensors");
  g_string_append_printf (py, "CHECKPOINT = %s\n\n", ck);
  g_string_append (py, "# How Weft featurised the data this model was trained on.\nFEATURES = {\n");
  {
    g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_free);
    if (features_json)
      {
        g_autoptr(GList) members = json_object_get_members (features_json);
        for (GList *l = members; l; l = l->next)
          {
            JsonNode *v = json_object_get_member (features_json, l->data);
            if (!JSON_NODE_HOLDS_VALUE (v))
              continue;
            g_autofree char *val = NULL;
            GType vt = json_node_get_value_type (v);
            if (vt == G_TYPE_DOUBLE)
              val = py_float (json_node_get_double (v));
            else if (vt == G_TYPE_INT64)
              val = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (v));
            else if (vt == G_TYPE_BOOLEAN)
              val = g_strdup (py_bool (json_node_get_boolean (v)));
            else
              val = py_str (json_node_get_string (v));
            g_ptr_array_add (items, g_strdup_printf ("    \"%s\": %s,\n", (char *) l->data, val));
          }
      }
    else
      g_ptr_array_add (items, g_strdup ("    # (not recorded in the checkpoint)\n"));
    for (guint i = 0; i < items->len; i++)
      g_string_append (py, g_ptr_array_index (items, i));
  }
  g_string_append (py, "    # shapes the model was built for\n");
  if (bind->image.n == 3)
    g_string_append_printf (py, "    \"image_shape\": (%d, %d, %d),\n",
                            bind->image.d[0], bind->image.d[1], bind->image.d[2]);
  if (bind->audio.n == 2)
    g_string_append_printf (py, "    \"audio_shape\": (%d, %d),\n", bind->audio.d[0], bind->audio.d[1]);
  if (bind->text_length > 0 && !(features_json && json_object_has_member (features_json, "text_length")))
    g_string_append_printf (py, "    \"text_length\": %d,\n", bind->text_length);
  g_string_append_printf (py, "    \"vocab_size\": %d,\n    \"n_classes\": %d,\n}\n",
                          bind->vocab_size, bind->n_classes);
  if (vocab)
    g_string_append_printf (py, "# VOCAB (%u tokens) is read from the checkpoint: meta[\"weft_vocab\"].\n",
                            g_strv_length ((GStrv) vocab));
  if (classes)
    {
      g_string_append (py, "CLASSES = [");
      for (int i = 0; classes[i]; i++)
        {
          g_autofree char *c = py_str (classes[i]);
          g_string_append_printf (py, i ? ", %s" : "%s", c);
        }
      g_string_append (py, "]\n");
    }
  /* What each input is, for features_from_raw. */
  g_string_append (py, "\n# The model's inputs and what each is made from (see features_from_raw).\nINPUTS = {");
  for (guint i = 0; i < spec->inputs->len; i++)
    {
      const WeftSpecInput *in = g_ptr_array_index (spec->inputs, i);
      g_autofree char *id = py_str (in->id);
      const char *kind = in->modality == WEFT_MODALITY_IMAGE ? "image"
                         : in->modality == WEFT_MODALITY_AUDIO ? "audio"
                         : in->modality == WEFT_MODALITY_TEXT ? (in->text_bow ? "text_bow" : "text")
                         : "label";
      g_string_append_printf (py, "%s%s: \"%s\"", i ? ", " : "", id, kind);
    }
  g_string_append (py, "}\n# Their per-sample shapes.\nINPUT_SHAPES = {");
  for (guint i = 0; i < spec->inputs->len; i++)
    {
      const WeftSpecInput *in = g_ptr_array_index (spec->inputs, i);
      const WeftShape *shape = input_shape (g, in->id);
      g_autofree char *id = py_str (in->id);
      g_autofree char *sh = shape ? py_shape (shape) : g_strdup ("()");
      g_string_append_printf (py, "%s%s: %s", i ? ", " : "", id, sh);
    }
  g_string_append (py, "}\n\n");
  /* The training set's statistics the features were made with. */
  if (pre && pre->audio_mean && pre->audio_std)
    {
      g_string_append (py, "# Per-mel-band standardisation of the training sounds' log-mel:\n"
                           "# (log_mel - AUDIO_MEAN[b]) / AUDIO_STD[b] (see normalise_audio).\n");
      append_float_list (py, "AUDIO_MEAN", pre->audio_mean, pre->audio_bands);
      append_float_list (py, "AUDIO_STD", pre->audio_std, pre->audio_bands);
    }
  else
    g_string_append (py, "# The checkpoint carries no audio normalisation.\nAUDIO_MEAN = AUDIO_STD = None\n");
  if (pre && pre->idf)
    {
      g_string_append (py, "# TF-IDF weights of the vocabulary by token id, from the training captions:\n"
                           "# ln((1 + n) / (1 + document frequency)) + 1 (see bag_of_words).\n");
      append_float_list (py, "TEXT_IDF", pre->idf, pre->idf_size);
    }
  else
    g_string_append (py, "# The checkpoint carries no TF-IDF weights: bags of words are plain frequencies.\n"
                         "TEXT_IDF = None\n");
  g_string_append (py, "\n# Losses and their weights in the total (Weft trains on the weighted sum).\nLOSS_WEIGHTS = {");
  for (guint i = 0; i < spec->losses->len; i++)
    {
      const WeftSpecLoss *l = &g_array_index (spec->losses, WeftSpecLoss, i);
      g_autofree char *w = py_float (l->weight);
      g_string_append_printf (py, i ? ", \"%s\": %s" : "\"%s\": %s", l->node, w);
    }
  g_string_append (py, "}\n\n\n");

  /* 3. Loader and text helpers */
  g_string_append (py, py_loader);
  g_string_append (py, "\n\n");
  g_string_append (py, py_text);

  /* 4. Block helpers */
  gboolean any_helper = FALSE;
  for (int i = 0; i < H_N; i++)
    if (gen->used[i])
      {
        if (!any_helper)
          g_string_append (py, "\n\n# ---- Blocks without a single PyTorch layer -------------------------------\n");
        any_helper = TRUE;
        g_string_append_printf (py, "\n\n%s", helpers[i].code);
      }

  /* 5. The model */
  g_string_append (py, "\n\n# ---- The model -----------------------------------------------------------\n\n\n");
  g_string_append_printf (py, "class %s(nn.Module):\n", cls);
  g_string_append_printf (py, "    \"\"\"%s, as compiled by Weft for inputs", spec->name ? spec->name : cls);
  for (guint i = 0; i < spec->inputs->len; i++)
    {
      const WeftSpecInput *in = g_ptr_array_index (spec->inputs, i);
      const WeftShape *s = input_shape (g, in->id);
      if (s == NULL)
        continue;
      g_autofree char *sh = py_shape (s);
      g_string_append_printf (py, "%s %s %s", i ? "," : "", in->id, sh);
    }
  g_string_append (py, ".\n\n"
                   "    Attributes are named after the model's nodes; encoder presets are\n"
                   "    ModuleDicts of their layers. state_dict() names equal the checkpoint's.\n"
                   "    \"\"\"\n\n");
  g_string_append (py, "    def __init__(self):\n        super().__init__()\n");
  g_string_append (py, gen->init->len ? gen->init->str : "        pass\n");
  g_string_append (py, "\n    def forward(self, batch):\n"
                   "        \"\"\"batch: {input id: tensor}; returns {node id: output}.\"\"\"\n");
  g_string_append (py, gen->fwd->str);
  g_string_append (py, "\n        return {\n");
  for (guint i = 0; i < spec->nodes->len; i++)
    {
      const WeftSpecNode *sn = g_ptr_array_index (spec->nodes, i);
      int o = weft_graph_find_output (g, sn->id);
      if (o >= 0 && gen->var[o])
        g_string_append_printf (py, "            \"%s\": %s,\n", sn->id, gen->var[o]);
    }
  g_string_append (py, "        }\n");
  g_string_append (py,
    "\n    @staticmethod\n"
    "    def total_loss(outputs):\n"
    "        \"\"\"The weighted sum of the losses, what Weft minimises.\"\"\"\n"
    "        return sum(w * outputs[name] for name, w in LOSS_WEIGHTS.items())\n");

  /* 6. __main__ */
  g_string_append_printf (py,
    "\n\n"
    "def main():\n"
    "    path = sys.argv[1] if len(sys.argv) > 1 else CHECKPOINT\n"
    "    state, meta = load_checkpoint(path)\n"
    "    model = %s()\n"
    "    load_weights(model, state)\n"
    "    model.eval()\n"
    "    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)\n"
    "    print(f\"{os.path.basename(path)}: %s, {n_params:,} parameters, \"\n"
    "          f\"{len(meta.get('weft_vocab', []))} words, {len(meta.get('weft_classes', []))} classes\")\n"
    "    # One pass on a batch of two empty samples, to show the output shapes.\n"
    "    batch = {\n", cls, cls);
  for (guint i = 0; i < spec->inputs->len; i++)
    {
      const WeftSpecInput *in = g_ptr_array_index (spec->inputs, i);
      const WeftShape *s = input_shape (g, in->id);
      if (s == NULL)
        continue;
      if (in->modality == WEFT_MODALITY_LABEL)
        g_string_append_printf (py, "        \"%s\": torch.full((2,), -1.0),\n", in->id);
      else if (in->modality == WEFT_MODALITY_TEXT && !in->text_bow)
        g_string_append_printf (py, "        \"%s\": torch.full((2, %d), -1.0),\n", in->id, s->d[0]);
      else
        {
          GString *dims = g_string_new (NULL);
          for (int d = 0; d < s->n; d++)
            g_string_append_printf (dims, ", %d", s->d[d]);
          g_string_append_printf (py, "        \"%s\": torch.zeros(2%s),\n", in->id, dims->str);
          g_string_free (dims, TRUE);
        }
    }
  g_string_append (py,
    "    }\n"
    "    with torch.no_grad():\n"
    "        out = model(batch)\n"
    "    for name, value in out.items():\n"
    "        print(f\"  {name:24} {tuple(value.shape)}\")\n"
    "\n"
    "\n"
    "if __name__ == \"__main__\":\n"
    "    main()\n");
  return py;
}

static char *
export_source (WeftGraph *g, JsonObject *features_json, const char *const *vocab,
               const char *const *classes, const WeftCheckpointInfo *pre,
               const char *checkpoint_path, GError **error)
{
  g_return_val_if_fail (g != NULL, NULL);
  const WeftSpec *spec = weft_graph_get_spec (g);
  int N = weft_graph_get_n_nodes (g);
  Gen gen = { g };
  gen.init = g_string_new (NULL);
  gen.fwd = g_string_new (NULL);
  gen.var = g_new0 (char *, N);
  gen.names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *cls = class_name (spec);
  GString *py = NULL;
  gboolean ok = TRUE;
  GError *local = NULL;      /* the first block that cannot be expressed */

  /* Inputs: reshape to their per-sample shape so flat tensors work too. */
  g_string_append (gen.fwd, "        # Inputs, batch first\n");
  for (guint i = 0; i < spec->inputs->len; i++)
    {
      const WeftSpecInput *in = g_ptr_array_index (spec->inputs, i);
      int k = weft_graph_find (g, in->id);
      if (k < 0)
        continue;
      gen.var[k] = py_var (&gen, in->id);
      const WeftShape *s = &weft_graph_get_node (g, k)->node->out_shape;
      if (in->modality == WEFT_MODALITY_LABEL)
        g_string_append_printf (gen.fwd,
                                "        %s = batch.get(\"%s\")\n"
                                "        if %s is None:  # unlabelled: the losses that need labels are 0\n"
                                "            any_input = next(iter(batch.values()))\n"
                                "            %s = torch.full((any_input.shape[0],), -1.0, device=any_input.device)\n"
                                "        %s = %s.reshape(-1).float()\n",
                                gen.var[k], in->id, gen.var[k], gen.var[k], gen.var[k], gen.var[k]);
      else
        {
          GString *dims = g_string_new (NULL);
          for (int d = 0; d < s->n; d++)
            g_string_append_printf (dims, ", %d", s->d[d]);
          g_string_append_printf (gen.fwd, "        %s = batch[\"%s\"].reshape(-1%s).float()\n",
                                  gen.var[k], in->id, dims->str);
          g_string_free (dims, TRUE);
        }
    }

  /* Layers, in the order the engine runs them. */
  const char *cur_spec = NULL;
  GString *preset_init = NULL;
  for (int k = 0; k < N && ok; k++)
    {
      WeftGraphNode *gn = weft_graph_get_node (g, k);
      if (gn->modality >= 0)
        continue;
      const WeftNode *n = gn->node;
      gboolean in_preset = !g_str_equal (n->id, gn->spec_id);
      gboolean is_output = weft_graph_find_output (g, gn->spec_id) == k;

      if (g_strcmp0 (cur_spec, gn->spec_id) != 0)
        {
          /* A new spec node: close the previous preset's ModuleDict and
           * say what this one is. */
          if (preset_init)
            {
              close_preset (gen.init, preset_init, cur_spec);
              preset_init = NULL;
            }
          cur_spec = gn->spec_id;
          const WeftSpecNode *sn = weft_spec_find_node (spec, gn->spec_id);
          const WeftBlock *sb = weft_block_lookup (sn->type);
          WeftShape oshape;
          weft_graph_describe (g, gn->spec_id, &oshape, NULL, NULL);
          g_autofree char *osh = py_shape (&oshape);
          g_string_append_printf (gen.fwd, "\n        # %s: %s -> %s", gn->spec_id, sb->title, osh);
          if (sn->share_weights_with)
            g_string_append_printf (gen.fwd, " (weights shared with %s)", sn->share_weights_with);
          g_string_append_c (gen.fwd, '\n');

          if (sn->share_weights_with == NULL)
            {
              g_autofree char *attr = py_attr (gn->spec_id);
              const char *note = sn->frozen ? "  # frozen in Weft" : "";
              if (in_preset)
                {
                  /* Only start the dict if a layer of it has weights. */
                  gboolean any = FALSE;
                  for (int j = k; j < N && g_str_equal (weft_graph_get_node (g, j)->spec_id, gn->spec_id); j++)
                    any |= weft_graph_get_node (g, j)->node->n_w > 0;
                  if (any)
                    {
                      preset_init = g_string_new (NULL);
                      if (is_identifier (gn->spec_id))
                        g_string_append_printf (preset_init, "        %s = nn.ModuleDict({%s\n", attr, note);
                      else
                        g_string_append_printf (preset_init, "        self.add_module(\"%s\", nn.ModuleDict({%s\n",
                                                gn->spec_id, note);
                    }
                }
              else
                {
                  g_autofree char *ctor = layer_ctor (&gen, n, &local);
                  if (ctor == NULL && local)
                    {
                      ok = FALSE;
                      break;
                    }
                  if (ctor && is_identifier (gn->spec_id))
                    g_string_append_printf (gen.init, "        %s = %s%s\n", attr, ctor, note);
                  else if (ctor)
                    g_string_append_printf (gen.init, "        self.add_module(\"%s\", %s)%s\n",
                                            gn->spec_id, ctor, note);
                }
            }
        }

      if (in_preset && preset_init && gn->owner == k)
        {
          g_autofree char *ctor = layer_ctor (&gen, n, &local);
          if (ctor == NULL && local)
            {
              ok = FALSE;
              break;
            }
          if (ctor)
            g_string_append_printf (preset_init, "            \"%s\": %s,\n",
                                    n->id + strlen (gn->spec_id) + 1, ctor);
        }
      else if (gn->owner != k)
        {
          /* layer_ctor also notes which helpers the expression needs */
          g_autofree char *unused = layer_ctor (&gen, n, NULL);
        }

      g_autofree char *expr = node_expr (&gen, k, &local);
      if (expr == NULL)
        {
          ok = FALSE;
          break;
        }
      gen.var[k] = is_output ? py_var (&gen, gn->spec_id) : g_strdup ("h");
      g_string_append_printf (gen.fwd, "        %s = %s\n", gen.var[k], expr);
    }
  if (preset_init && ok)
    close_preset (gen.init, preset_init, cur_spec);
  else if (preset_init)
    g_string_free (preset_init, TRUE);
  if (ok)
    py = assemble (&gen, cls, features_json, vocab, classes, pre, checkpoint_path);

  for (int k = 0; k < N; k++)
    g_free (gen.var[k]);
  g_free (gen.var);
  g_hash_table_unref (gen.names);
  g_string_free (gen.init, TRUE);
  g_string_free (gen.fwd, TRUE);
  if (local)
    g_propagate_error (error, local);
  return py ? g_string_free (py, FALSE) : NULL;
}

char *
weft_export_pytorch_source (WeftGraph *g, JsonObject *features_json,
                            const char *const *vocab, const char *const *classes,
                            const char *checkpoint_path, GError **error)
{
  return export_source (g, features_json, vocab, classes, NULL, checkpoint_path, error);
}

/* The training settings of a checkpoint whose metadata json-glib could not
 * read back: some versions write 1e-08 as "1e-08.0". NULL if still bad. */
static JsonObject *
read_training (const char *path)
{
  g_autoptr(WeftSafetensors) st = weft_safetensors_load (path, NULL);
  const char *t = st ? weft_safetensors_get_metadata (st, "weft_training") : NULL;
  if (t == NULL)
    return NULL;
  g_autoptr(GRegex) re = g_regex_new ("(\\d[eE][-+]?\\d+)\\.0\\b", 0, 0, NULL);
  g_autofree char *fixed = g_regex_replace (re, t, -1, 0, "\\1", 0, NULL);
  g_autoptr(JsonParser) p = json_parser_new ();
  if (fixed == NULL || !json_parser_load_from_data (p, fixed, -1, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (p)))
    return NULL;
  return json_object_ref (json_node_get_object (json_parser_get_root (p)));
}

gboolean
weft_export_pytorch (const char *checkpoint_path, const char *out_py, GError **error)
{
  g_return_val_if_fail (checkpoint_path != NULL && out_py != NULL, FALSE);

  WeftCheckpointInfo info = { 0 };
  g_autoptr(WeftGraph) g = weft_checkpoint_load (checkpoint_path, 1, &info, error);
  if (g == NULL)
    return FALSE;
  g_autoptr(JsonObject) training = info.training ? json_object_ref (info.training)
                                                 : read_training (checkpoint_path);
  JsonObject *features = NULL;
  if (training && json_object_has_member (training, "features"))
    {
      JsonNode *fn = json_object_get_member (training, "features");
      if (JSON_NODE_HOLDS_OBJECT (fn))
        features = json_node_get_object (fn);
    }
  g_autofree char *abs = g_canonicalize_filename (checkpoint_path, NULL);
  g_autofree char *src = export_source (g, features, (const char *const *) info.vocab,
                                        (const char *const *) info.classes, &info, abs, error);
  weft_checkpoint_info_clear (&info);
  if (src == NULL)
    return FALSE;
  GError *local = NULL;
  if (!g_file_set_contents (out_py, src, -1, &local))
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_IO, "%s could not be written: %s",
                   out_py, local->message);
      g_error_free (local);
      return FALSE;
    }
  return TRUE;
}

static void
add_tensor (WeftSafetensors *st, const char *prefix, const char *id, int n,
            const WeftShape *shape, gboolean loss, const float *data)
{
  gint64 dims[WEFT_MAX_DIMS + 1];
  int nd = 0;
  if (loss)
    dims[nd++] = 1;
  else
    {
      dims[nd++] = n;
      for (int i = 0; i < shape->n; i++)
        dims[nd++] = shape->d[i];
    }
  g_autofree char *name = g_strconcat (prefix, id, NULL);
  weft_safetensors_add (st, name, nd, dims, data);
}

gboolean
weft_export_reference_outputs (WeftGraph *g, const WeftFeatures *f, const int *rows,
                               int n, const char *path, GError **error)
{
  g_return_val_if_fail (g != NULL && f != NULL && rows != NULL && path != NULL, FALSE);
  g_return_val_if_fail (n > 0 && n <= weft_graph_get_max_batch (g), FALSE);

  const WeftSpec *spec = weft_graph_get_spec (g);
  weft_features_gather (f, g, rows, n);
  weft_graph_forward (g, n, FALSE);

  g_autoptr(WeftSafetensors) st = weft_safetensors_new ();
  for (guint i = 0; i < spec->inputs->len; i++)
    {
      const WeftSpecInput *in = g_ptr_array_index (spec->inputs, i);
      int k = weft_graph_find (g, in->id);
      gsize size;
      const float *buf = weft_graph_get_input (g, in->modality, &size);
      if (k < 0 || buf == NULL)
        continue;
      add_tensor (st, "input.", in->id, n, &weft_graph_get_node (g, k)->node->out_shape, FALSE, buf);
    }
  for (guint i = 0; i < spec->nodes->len; i++)
    {
      const WeftSpecNode *sn = g_ptr_array_index (spec->nodes, i);
      int o = weft_graph_find_output (g, sn->id);
      if (o < 0)
        continue;
      const WeftNode *node = weft_graph_get_node (g, o)->node;
      add_tensor (st, "output.", sn->id, n, &node->out_shape,
                  (node->block->flags & WEFT_BLOCK_LOSS) != 0, node->out);
    }
  return weft_safetensors_save (st, path, error);
}
