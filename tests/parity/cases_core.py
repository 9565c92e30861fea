"""Parity cases for Dense and the activation blocks."""
import torch
import torch.nn.functional as F

from common import case, randn

ACTS = {"none": lambda x: x, "relu": F.relu, "gelu": F.gelu,
        "tanh": torch.tanh, "sigmoid": torch.sigmoid}


def cases():
    out = []
    for act in ACTS:
        x = randn(3, 5, seed=1)
        w = {"weight": randn(4, 5, seed=2, scale=0.5), "bias": randn(4, seed=3)}
        out.append(case(f"dense_{act}", "dense", {"units": 4, "activation": act},
                        [x], w, lambda i, w, a=act: ACTS[a](F.linear(i[0], w["weight"], w["bias"]))))
    # no bias, applied over the last dim of a sequence (B, T, D)
    x = randn(2, 3, 6, seed=4)
    out.append(case("dense_seq_nobias", "dense", {"units": 2, "bias": False},
                    [x], {"weight": randn(2, 6, seed=5)},
                    lambda i, w: F.linear(i[0], w["weight"])))
    for act in ["relu", "gelu", "tanh", "sigmoid"]:
        x = randn(2, 3, 4, seed=6)
        out.append(case(f"act_{act}", act, {}, [x], {}, lambda i, w, a=act: ACTS[a](i[0])))
    return out
