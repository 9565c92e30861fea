"""Parity cases for the fusion blocks: Concat, Sum, Product, Gated (GMU),
Tensor fusion and Late fusion, with 2 and 3 inputs and B = 1."""
import torch
import torch.nn.functional as F

from common import case, randn


def gated_ref(xs, w, units):
    n = len(xs)
    B = xs[0].shape[0]
    g = F.linear(torch.cat(xs, -1), w["gate.weight"], w["gate.bias"])
    z = g.view(B, n, units).softmax(1)
    h = torch.stack([torch.tanh(F.linear(x, w[f"proj.{k}.weight"], w[f"proj.{k}.bias"]))
                     for k, x in enumerate(xs)], 1)
    return (z * h).sum(1)


def gated_weights(dims, units, seed):
    w = {}
    for k, d in enumerate(dims):
        w[f"proj.{k}.weight"] = randn(units, d, seed=seed + 2 * k, scale=0.5)
        w[f"proj.{k}.bias"] = randn(units, seed=seed + 2 * k + 1, scale=0.3)
    w["gate.weight"] = randn(len(dims) * units, sum(dims), seed=seed + 50, scale=0.5)
    w["gate.bias"] = randn(len(dims) * units, seed=seed + 51, scale=0.3)
    return w


def tensor_fusion_ref(xs):
    B = xs[0].shape[0]
    out = None
    for x in xs:
        zk = torch.cat([x, torch.ones(B, 1)], 1)
        out = zk if out is None else torch.einsum("bi,bj->bij", out, zk).reshape(B, -1)
    return out


def late_ref(xs, w):
    s = w["logits"].softmax(0)
    return sum(s[k] * x for k, x in enumerate(xs))


def cases():
    out = []
    # Concat
    out.append(case("concat_2vec", "concat", {}, [randn(3, 4, seed=1), randn(3, 5, seed=2)], {},
                    lambda i, w: torch.cat(i, -1)))
    out.append(case("concat_3seq", "concat", {},
                    [randn(2, 3, 4, seed=3), randn(2, 3, 2, seed=4), randn(2, 3, 1, seed=5)], {},
                    lambda i, w: torch.cat(i, -1)))
    out.append(case("concat_b1", "concat", {}, [randn(1, 2, seed=6), randn(1, 3, seed=7)], {},
                    lambda i, w: torch.cat(i, -1)))
    # Sum and Product
    out.append(case("sum_2", "sum", {}, [randn(3, 6, seed=8), randn(3, 6, seed=9)], {},
                    lambda i, w: i[0] + i[1]))
    out.append(case("sum_3_seq", "sum", {},
                    [randn(2, 3, 4, seed=10), randn(2, 3, 4, seed=11), randn(2, 3, 4, seed=12)], {},
                    lambda i, w: i[0] + i[1] + i[2]))
    out.append(case("product_2", "product", {}, [randn(3, 5, seed=13), randn(3, 5, seed=14)], {},
                    lambda i, w: i[0] * i[1]))
    x3 = randn(2, 4, seed=17)
    x3[0, 1] = 0.0   # a zero: the gradient must not come from y / x
    out.append(case("product_3_zero", "product", {}, [randn(2, 4, seed=15), randn(2, 4, seed=16), x3], {},
                    lambda i, w: i[0] * i[1] * i[2]))
    out.append(case("product_b1", "product", {}, [randn(1, 3, seed=18), randn(1, 3, seed=19)], {},
                    lambda i, w: i[0] * i[1]))
    # Gated
    for name, dims, units, B in [("gated_2", [3, 5], 4, 3), ("gated_3", [2, 4, 3], 3, 2),
                                 ("gated_b1", [4, 2], 2, 1)]:
        xs = [randn(B, d, seed=20 + k) for k, d in enumerate(dims)]
        out.append(case(name, "gated", {"units": units}, xs, gated_weights(dims, units, 30),
                        lambda i, w, u=units: gated_ref(i, w, u)))
    # Tensor fusion
    out.append(case("tensor_fusion_2", "tensor_fusion", {}, [randn(3, 3, seed=40), randn(3, 4, seed=41)], {},
                    lambda i, w: tensor_fusion_ref(i)))
    out.append(case("tensor_fusion_3", "tensor_fusion", {},
                    [randn(2, 2, seed=42), randn(2, 3, seed=43), randn(2, 2, seed=44)], {},
                    lambda i, w: tensor_fusion_ref(i)))
    out.append(case("tensor_fusion_b1", "tensor_fusion", {}, [randn(1, 1, seed=45), randn(1, 2, seed=46)], {},
                    lambda i, w: tensor_fusion_ref(i)))
    # Late fusion
    out.append(case("late_fusion_2_init", "late_fusion", {}, [randn(3, 4, seed=50), randn(3, 4, seed=51)],
                    {"logits": torch.zeros(2)}, lambda i, w: late_ref(i, w)))
    out.append(case("late_fusion_3", "late_fusion", {},
                    [randn(2, 5, seed=52), randn(2, 5, seed=53), randn(2, 5, seed=54)],
                    {"logits": torch.tensor([0.3, -0.5, 1.1])}, lambda i, w: late_ref(i, w)))
    out.append(case("late_fusion_b1", "late_fusion", {}, [randn(1, 3, seed=55), randn(1, 3, seed=56)],
                    {"logits": torch.tensor([-0.7, 0.4])}, lambda i, w: late_ref(i, w)))
    return out
