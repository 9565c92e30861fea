#!/usr/bin/python3
"""Writes tests/fixtures/optim.json: PyTorch reference runs for weft-optim.

Run with Debian's python3-torch:  /usr/bin/python3 tests/parity/optim_gen.py

trajectories: 20 updates of torch.optim.SGD / Adam / AdamW on a 29-float
arena. Segment [0, 11) has weight decay, [16, 29) has none (a second
param group with weight_decay 0), [11, 16) is frozen (not in the
optimizer). Gradients are those of the quadratic 0.5 pᵀAp − bᵀp, g = Ap − b,
recorded before clipping for every float of the arena (the frozen ones too)
so the C test replays them without recomputing anything. Clipping is
torch.nn.utils.clip_grad_norm_ over the two segments; the schedule is a
LambdaLR whose lambda is lr_at() below divided by lr.

schedules: lr_at at a set of steps, read back from LambdaLR.

Every hyper-parameter is rounded to float32 first, as the C config holds
floats.
"""
import json
import math
import os

import numpy as np
import torch

here = os.path.dirname(os.path.abspath(__file__))
out_path = os.path.join(here, "..", "fixtures", "optim.json")

N = 29
SEGMENTS = [(0, 11, True), (16, 13, False)]   # (offset, len, decay); [11, 16) frozen
STEPS = 20

DEFAULTS = {
    "sgd": dict(lr=0.05, momentum=0.9, nesterov=False, beta1=0.9, beta2=0.999, eps=1e-8,
                weight_decay=0.0),
    "adam": dict(lr=1e-3, momentum=0.9, nesterov=False, beta1=0.9, beta2=0.999, eps=1e-8,
                 weight_decay=0.0),
    "adamw": dict(lr=1e-3, momentum=0.9, nesterov=False, beta1=0.9, beta2=0.999, eps=1e-8,
                  weight_decay=0.01),
}
COMMON = dict(clip_norm=0.0, schedule="constant", warmup_steps=0, step_size=1000, gamma=0.1,
              total_steps=0, min_lr=0.0)
FLOAT_KEYS = ("lr", "momentum", "beta1", "beta2", "eps", "weight_decay", "clip_norm",
              "gamma", "min_lr")


def f32(x):
    return float(np.float32(x))


def short(values):
    """float32 values as the shortest decimals that read back to the same
    float32 (checked), to keep the fixture small."""
    out = []
    for x in np.asarray(values, dtype=np.float32).ravel():
        d = float(str(x)) if np.isfinite(x) else float(x)
        assert np.float32(d) == x
        out.append(d)
    return out


def config(optimizer, **kw):
    c = dict(optimizer=optimizer, **DEFAULTS[optimizer], **COMMON)
    c.update(kw)
    for k in FLOAT_KEYS:
        c[k] = f32(c[k])
    return c


def lr_at(c, k):
    """The schedule of weft-optim.h, in double like the C code."""
    lr, W = c["lr"], c["warmup_steps"]
    if k < W:
        return lr * (k + 1) / W
    s = k - W
    if c["schedule"] == "step":
        return lr * c["gamma"] ** (s // max(c["step_size"], 1))
    if c["schedule"] == "cosine":
        S = c["total_steps"] - W
        if S < 1:
            return lr
        return c["min_lr"] + (lr - c["min_lr"]) * 0.5 * (1 + math.cos(math.pi * min(s, S) / S))
    return lr


def scheduler(opt, c):
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda k: lr_at(c, k) / c["lr"])


def problem():
    g = torch.Generator().manual_seed(1234)
    Q, _ = torch.linalg.qr(torch.randn(N, N, generator=g, dtype=torch.float64))
    eig = torch.linspace(0.2, 3.0, N, dtype=torch.float64)
    A = (Q * eig) @ Q.T
    b = torch.randn(N, generator=g, dtype=torch.float64)
    p0 = torch.randn(N, generator=g, dtype=torch.float64) * 2
    return A.float(), b.float(), p0.float()


def make_optimizer(c, groups):
    kind = c["optimizer"]
    if kind == "sgd":
        return torch.optim.SGD(groups, lr=c["lr"], momentum=c["momentum"], nesterov=c["nesterov"])
    betas = (c["beta1"], c["beta2"])
    if kind == "adam":
        return torch.optim.Adam(groups, lr=c["lr"], betas=betas, eps=c["eps"])
    return torch.optim.AdamW(groups, lr=c["lr"], betas=betas, eps=c["eps"])


def trajectory(name, c):
    A, b, p0 = problem()
    segs = [p0[o:o + n].clone().requires_grad_(True) for o, n, _ in SEGMENTS]
    frozen = p0.clone()
    wd = c["weight_decay"]
    groups = [
        {"params": [t for t, s in zip(segs, SEGMENTS) if s[2]], "weight_decay": wd},
        {"params": [t for t, s in zip(segs, SEGMENTS) if not s[2]], "weight_decay": 0.0},
    ]
    opt = make_optimizer(c, groups)
    sched = scheduler(opt, c)

    def arena():
        full = frozen.clone()
        for t, (o, n, _) in zip(segs, SEGMENTS):
            full[o:o + n] = t.detach()
        return full

    grads, params, norms, lrs = [], [], [], []
    for _ in range(STEPS):
        with torch.no_grad():
            g = A @ arena() - b
        for t, (o, n, _) in zip(segs, SEGMENTS):
            t.grad = g[o:o + n].clone()
        norm = torch.norm(torch.stack([torch.norm(t.grad) for t in segs]))
        if c["clip_norm"] > 0:
            norm = torch.nn.utils.clip_grad_norm_(segs, c["clip_norm"])
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
        grads.append(short(g))
        norms.append(short([float(norm)])[0])
        params.append(short(arena()))

    state = {}
    for key in ("exp_avg", "exp_avg_sq", "momentum_buffer"):
        if all(opt.state[t].get(key) is not None for t in segs):
            full = torch.zeros(N)
            for t, (o, n, _) in zip(segs, SEGMENTS):
                full[o:o + n] = opt.state[t][key]
            state[key] = short(full)
    return {"name": name, "config": c, "params0": short(p0), "grads": grads,
            "norms": norms, "lrs": lrs, "params": params, "state": state}


def schedule_case(name, c, steps):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=c["lr"])
    sched = scheduler(opt, c)
    got = {}
    for k in range(max(steps) + 1):
        got[k] = opt.param_groups[0]["lr"]
        opt.step()
        sched.step()
    return {"name": name, "config": c, "steps": steps, "lr": [got[k] for k in steps]}


def main():
    torch.manual_seed(0)
    T = [
        ("sgd-plain", config("sgd", lr=0.1, momentum=0.0)),
        ("sgd-momentum", config("sgd")),
        ("sgd-momentum-decay", config("sgd", weight_decay=0.05)),
        ("sgd-nesterov-decay", config("sgd", nesterov=True, weight_decay=0.05)),
        ("sgd-clip", config("sgd", clip_norm=5.0)),
        ("sgd-step-warmup", config("sgd", schedule="step", warmup_steps=3, step_size=5,
                                   gamma=0.5)),
        ("adam", config("adam", lr=0.05)),
        ("adam-decay", config("adam", lr=0.05, weight_decay=0.1)),
        ("adam-clip-decay", config("adam", lr=0.05, weight_decay=0.1, clip_norm=13.0)),
        ("adam-betas-eps", config("adam", lr=0.02, beta1=0.5, beta2=0.9, eps=1e-3)),
        ("adamw", config("adamw", lr=0.05, weight_decay=0.1)),
        ("adamw-clip-cosine", config("adamw", lr=0.05, weight_decay=0.1, clip_norm=15.0,
                                     schedule="cosine", warmup_steps=4, total_steps=16,
                                     min_lr=0.005)),
    ]
    steps = [0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 15, 19, 20, 21, 29, 30, 31, 49, 50, 51,
             99, 100, 101, 150, 299, 300, 1000]
    S = [
        ("constant", config("adam")),
        ("constant-warmup", config("adam", warmup_steps=10)),
        ("step", config("sgd", schedule="step", step_size=10, gamma=0.5)),
        ("step-warmup", config("sgd", schedule="step", warmup_steps=5, step_size=20,
                               gamma=0.1)),
        ("cosine", config("adamw", lr=3e-4, schedule="cosine", total_steps=100)),
        ("cosine-warmup-min", config("adamw", lr=3e-4, schedule="cosine", warmup_steps=20,
                                     total_steps=300, min_lr=1e-5)),
        ("cosine-unset", config("adam", schedule="cosine", warmup_steps=2)),
        ("warmup-one", config("sgd", lr=0.1, warmup_steps=1)),
    ]
    doc = {
        "weft_optim": 1,
        "torch": torch.__version__,
        "n": N,
        "segments": [{"offset": o, "len": n, "decay": d} for o, n, d in SEGMENTS],
        "trajectories": [trajectory(n, c) for n, c in T],
        "schedules": [schedule_case(n, c, steps) for n, c in S],
    }
    with open(out_path, "w") as f:
        json.dump(doc, f)
        f.write("\n")
    for t in doc["trajectories"]:
        print(f'{t["name"]}: norms {t["norms"][0]:.3g} .. {t["norms"][-1]:.3g}')
    print(f"wrote {len(T)} trajectories, {len(S)} schedules to {os.path.normpath(out_path)}")


if __name__ == "__main__":
    main()
