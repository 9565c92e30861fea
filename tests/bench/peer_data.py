#!/usr/bin/python3
"""Writes the synthetic audio features and captions of the PyTorch reference
benchmark (torch_ref.make_audio_gauss / make_captions, same seeds) as raw
little-endian files, so that Weft trains on exactly the same data.

usage: peer_data.py PEERS_DIR OUT_DIR
"""
import os
import sys

import numpy as np

peers, out = sys.argv[1], sys.argv[2]
sys.path.insert(0, peers)
import torch_ref  # noqa: E402

os.makedirs(out, exist_ok=True)
xtr, ytr, xte, yte = torch_ref.load_fmnist()
atr, ate, _ = torch_ref.make_audio_gauss(ytr, yte)
ctr, cte = torch_ref.make_captions(ytr, yte)
np.concatenate([atr.numpy(), ate.numpy()]).astype("<f4").tofile(os.path.join(out, "audio.f32"))
np.concatenate([ctr.numpy(), cte.numpy()]).astype("<i4").tofile(os.path.join(out, "captions.i32"))
print(f"# peer data: audio {tuple(atr.shape)}+{tuple(ate.shape)}, captions {tuple(ctr.shape)}+{tuple(cte.shape)}")
