"""Parity cases for the losses: Cross-entropy (masked and out-of-range
labels, label smoothing), InfoNCE (learned, clamped and fixed temperature),
Triplet (explicit and in-batch negatives) and MSE."""
import math

import torch
import torch.nn.functional as F

from common import case, randn


def ce_ref(i, eps, K):
    logits, lab = i
    keep = (lab[:, 0] >= 0) & (lab[:, 0] < K)
    if not bool(keep.any()):
        return logits.sum() * 0.0
    return F.cross_entropy(logits[keep], lab[keep, 0].long(), label_smoothing=eps)


def nce_ref(i, w, learn=True):
    t = w["logit_scale"] if learn else w["logit_scale"].detach()
    s = torch.clamp(t, max=math.log(100)).exp()
    logits = s * i[0] @ i[1].t()
    y = torch.arange(logits.shape[0])
    return (F.cross_entropy(logits, y) + F.cross_entropy(logits.t(), y)) / 2


def tri_ref(i, margin):
    neg = i[2] if len(i) == 3 else i[1].roll(-1, 0)
    return F.triplet_margin_loss(i[0], i[1], neg, margin=margin, p=2, eps=1e-6)


def hinge_safe(i, margin):
    """True when every row's hinge is at least 0.02 away from its kink."""
    neg = i[2] if len(i) == 3 else i[1].roll(-1, 0)
    h = (F.pairwise_distance(i[0], i[1], eps=1e-6) - F.pairwise_distance(i[0], neg, eps=1e-6) + margin)
    return bool((h.abs() > 0.02).all())


def unit(*shape, seed):
    return F.normalize(randn(*shape, seed=seed), dim=-1)


def cases():
    out = []
    # Cross-entropy
    lab = torch.tensor([[2.], [0.], [4.], [1.]])
    out.append(case("ce_basic", "cross_entropy", {}, [randn(4, 5, seed=1), lab], {},
                    lambda i, w: ce_ref(i, 0.0, 5), loss=True, int_inputs=(1,)))
    lab = torch.tensor([[1.], [-1.], [3.], [0.], [-1.]])
    out.append(case("ce_masked", "cross_entropy", {}, [randn(5, 4, seed=2), lab], {},
                    lambda i, w: ce_ref(i, 0.0, 4), loss=True, int_inputs=(1,)))
    lab = torch.tensor([[2.], [3.], [0.]])    # 3 is out of range for K = 3
    out.append(case("ce_out_of_range", "cross_entropy", {}, [randn(3, 3, seed=3), lab], {},
                    lambda i, w: ce_ref(i, 0.0, 3), loss=True, int_inputs=(1,)))
    lab = torch.tensor([[1.], [-1.], [5.], [2.]])
    out.append(case("ce_smoothing", "cross_entropy", {"label_smoothing": 0.1},
                    [randn(4, 6, seed=4, scale=2.0), lab], {},
                    lambda i, w: ce_ref(i, 0.1, 6), loss=True, int_inputs=(1,)))
    out.append(case("ce_smoothing_max_b1", "cross_entropy", {"label_smoothing": 0.5},
                    [randn(1, 3, seed=5), torch.tensor([[0.]])], {},
                    lambda i, w: ce_ref(i, 0.5, 3), loss=True, int_inputs=(1,)))
    out.append(case("ce_all_unlabelled", "cross_entropy", {},
                    [randn(2, 3, seed=6), torch.tensor([[-1.], [-1.]])], {},
                    lambda i, w: ce_ref(i, 0.0, 3), loss=True, int_inputs=(1,)))
    # large logits: the log-softmax must not overflow
    out.append(case("ce_large_logits", "cross_entropy", {},
                    [randn(3, 4, seed=7, scale=60.0), torch.tensor([[3.], [0.], [1.]])], {},
                    lambda i, w: ce_ref(i, 0.0, 4), loss=True, int_inputs=(1,)))
    # InfoNCE
    t0 = math.log(1 / 0.07)
    out.append(case("infonce", "infonce", {}, [unit(4, 3, seed=10), unit(4, 3, seed=11)],
                    {"logit_scale": torch.tensor([t0])}, lambda i, w: nce_ref(i, w), loss=True))
    out.append(case("infonce_unnormalised_t1", "infonce", {"init_temperature": 1.0},
                    [randn(3, 5, seed=12, scale=0.5), randn(3, 5, seed=13, scale=0.5)],
                    {"logit_scale": torch.tensor([0.3])}, lambda i, w: nce_ref(i, w), loss=True))
    out.append(case("infonce_clamped", "infonce", {}, [unit(3, 4, seed=14), unit(3, 4, seed=15)],
                    {"logit_scale": torch.tensor([math.log(200.0)])}, lambda i, w: nce_ref(i, w), loss=True))
    out.append(case("infonce_fixed_t", "infonce", {"learn_temperature": False, "init_temperature": 0.5},
                    [unit(4, 3, seed=16), unit(4, 3, seed=17)],
                    {"logit_scale": torch.tensor([math.log(2.0)])},
                    lambda i, w: nce_ref(i, w, learn=False), loss=True))
    out.append(case("infonce_b1", "infonce", {}, [unit(1, 3, seed=18), unit(1, 3, seed=19)],
                    {"logit_scale": torch.tensor([t0])}, lambda i, w: nce_ref(i, w), loss=True))
    # Triplet (points checked to sit away from the hinge's kink)
    ins = [randn(4, 5, seed=20), randn(4, 5, seed=21), randn(4, 5, seed=22)]
    assert hinge_safe(ins, 0.2)
    out.append(case("triplet_3", "triplet", {}, ins, {}, lambda i, w: tri_ref(i, 0.2), loss=True))
    ins = [randn(3, 4, seed=23), randn(3, 4, seed=24)]
    assert hinge_safe(ins, 1.0)
    out.append(case("triplet_inbatch_m1", "triplet", {"margin": 1.0}, ins, {},
                    lambda i, w: tri_ref(i, 1.0), loss=True))
    # anchors near their positives: every row inactive (zero loss and gradient)
    a = randn(4, 3, seed=25)
    ins = [a, a + randn(4, 3, seed=26, scale=0.1), randn(4, 3, seed=27, scale=0.5)]
    assert hinge_safe(ins, 0.2)
    out.append(case("triplet_all_inactive", "triplet", {}, ins, {},
                    lambda i, w: tri_ref(i, 0.2), loss=True))
    # B = 1 in-batch: the negative is the positive itself, loss = margin
    out.append(case("triplet_inbatch_b1", "triplet", {}, [randn(1, 3, seed=28), randn(1, 3, seed=29)], {},
                    lambda i, w: tri_ref(i, 0.2), loss=True))
    # MSE
    out.append(case("mse", "mse", {}, [randn(3, 4, seed=30), randn(3, 4, seed=31)], {},
                    lambda i, w: F.mse_loss(i[0], i[1]), loss=True))
    out.append(case("mse_image_b1", "mse", {}, [randn(1, 1, 3, 3, seed=32), randn(1, 1, 3, 3, seed=33)], {},
                    lambda i, w: F.mse_loss(i[0], i[1]), loss=True))
    out.append(case("mse_target_no_grad", "mse", {}, [randn(2, 5, seed=34), randn(2, 5, seed=35)], {},
                    lambda i, w: F.mse_loss(i[0], i[1]), loss=True, int_inputs=(1,)))
    return out
