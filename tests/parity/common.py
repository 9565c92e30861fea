"""Shared helpers for the PyTorch parity fixtures.

Each case runs one Weft block's PyTorch equivalent on fixed inputs and
weights, back-propagates a fixed upstream gradient, and records everything
(inputs, weights in PyTorch layout, upstream gradient, outputs, input and
weight gradients) as JSON. tests/test-blocks.c replays each case through the
C block and compares at the tolerance stated there; it also finite-difference
checks the C gradients at the same point.
"""
import json

import torch

torch.set_default_dtype(torch.float32)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def case(name, type_, params, inputs, weights, fn, *, training=True,
         loss=False, int_inputs=(), seed=0, buffers_after=None, fd=True):
    """Builds one fixture.

    inputs:  list of tensors shaped (B, *per_sample_shape). Float inputs get
             gradients; indices listed in int_inputs carry ids or labels as
             floats and get none.
    weights: ordered dict name -> tensor (the C block's weight order and
             names), PyTorch layout.
    fn(inputs, weights) -> output tensor (B, ...) or a scalar for losses.
    buffers_after: optional callable returning {name: tensor} of buffers
             (e.g. BatchNorm running stats) after the forward pass.
    fd:      whether the C test should finite-difference check this case
             (off for points where the function is not smooth).
    """
    g = torch.Generator().manual_seed(seed + 12345)
    ins = []
    for i, x in enumerate(inputs):
        x = x.detach().clone().float()
        if i not in int_inputs:
            x.requires_grad_(True)
        ins.append(x)
    ws = {k: v.detach().clone().float().requires_grad_(True) for k, v in weights.items()}
    out = fn(ins, ws)
    if loss:
        assert out.dim() == 0, "a loss returns a scalar"
        dout = torch.ones(1)
        out.backward()
        out_list = [float(out)]
    else:
        dout = torch.randn(out.shape, generator=g)
        out.backward(dout)
        out_list = flat(out)
    rec = {
        "name": name,
        "type": type_,
        "params": params,
        "training": training,
        "batch": int(inputs[0].shape[0]) if inputs else 1,
        "fd": fd,
        "inputs": [{
            "shape": list(x.shape[1:]),
            "int": i in int_inputs,
            "data": flat(x),
            "grad": flat(x.grad) if x.grad is not None else None,
        } for i, x in enumerate(ins)],
        "weights": [{
            "name": k,
            "shape": list(v.shape),
            "data": flat(v),
            "grad": flat(v.grad) if v.grad is not None else [0.0] * v.numel(),
        } for k, v in ws.items()],
        "dout": flat(dout),
        "out": out_list,
    }
    if buffers_after is not None:
        rec["buffers_after"] = {k: flat(v) for k, v in buffers_after().items()}
    return rec


def randn(*shape, seed=0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g) * scale


def write(path, cases):
    with open(path, "w") as f:
        json.dump({"weft_parity": 1, "torch": torch.__version__, "cases": cases}, f)
        f.write("\n")
