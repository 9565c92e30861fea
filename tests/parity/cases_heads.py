"""Parity cases for the heads: Classifier, Projection (with and without
normalisation and bias) and Decoder (sigmoid / none, B = 1)."""
import torch
import torch.nn.functional as F

from common import case, randn


def decoder_ref(i, w, sigmoid):
    z = i[0].reshape(i[0].shape[0], -1)
    h = F.relu(F.linear(z, w["hidden.weight"], w["hidden.bias"]))
    y = F.linear(h, w["out.weight"], w["out.bias"])
    if sigmoid:
        y = torch.sigmoid(y)
    return y.reshape(i[1].shape)


def decoder_weights(D, H, P, seed):
    return {"hidden.weight": randn(H, D, seed=seed, scale=0.6),
            "hidden.bias": randn(H, seed=seed + 1, scale=0.2),
            "out.weight": randn(P, H, seed=seed + 2, scale=0.5),
            "out.bias": randn(P, seed=seed + 3, scale=0.2)}


def cases():
    out = []
    # Classifier
    out.append(case("classifier", "classifier", {"classes": 5}, [randn(3, 6, seed=1)],
                    {"weight": randn(5, 6, seed=2, scale=0.5), "bias": randn(5, seed=3)},
                    lambda i, w: F.linear(i[0], w["weight"], w["bias"])))
    out.append(case("classifier_b1", "classifier", {"classes": 2}, [randn(1, 4, seed=4)],
                    {"weight": randn(2, 4, seed=5, scale=0.5), "bias": randn(2, seed=6)},
                    lambda i, w: F.linear(i[0], w["weight"], w["bias"])))
    # Projection
    out.append(case("projection_norm", "projection", {"dim": 4}, [randn(3, 6, seed=7)],
                    {"weight": randn(4, 6, seed=8, scale=0.5)},
                    lambda i, w: F.normalize(F.linear(i[0], w["weight"]), dim=-1)))
    out.append(case("projection_bias_plain", "projection", {"dim": 3, "bias": True, "normalize": False},
                    [randn(2, 5, seed=9)],
                    {"weight": randn(3, 5, seed=10, scale=0.5), "bias": randn(3, seed=11)},
                    lambda i, w: F.linear(i[0], w["weight"], w["bias"])))
    out.append(case("projection_bias_norm_seq", "projection", {"dim": 3, "bias": True},
                    [randn(2, 3, 4, seed=12)],
                    {"weight": randn(3, 4, seed=13, scale=0.5), "bias": randn(3, seed=14)},
                    lambda i, w: F.normalize(F.linear(i[0], w["weight"], w["bias"]), dim=-1)))
    out.append(case("projection_b1", "projection", {"dim": 2}, [randn(1, 3, seed=15)],
                    {"weight": randn(2, 3, seed=16, scale=0.5)},
                    lambda i, w: F.normalize(F.linear(i[0], w["weight"]), dim=-1)))
    # Decoder: the target's values are never read (its gradient is None)
    out.append(case("decoder_sigmoid", "decoder", {"hidden": 5},
                    [randn(3, 4, seed=17), torch.rand(3, 2, 3, generator=torch.Generator().manual_seed(18))],
                    decoder_weights(4, 5, 6, 19), lambda i, w: decoder_ref(i, w, True)))
    out.append(case("decoder_none_image", "decoder", {"hidden": 6, "output_activation": "none"},
                    [randn(2, 3, seed=23), randn(2, 1, 3, 3, seed=24)],
                    decoder_weights(3, 6, 9, 25), lambda i, w: decoder_ref(i, w, False)))
    out.append(case("decoder_b1_seq_latent", "decoder", {"hidden": 4},
                    [randn(1, 2, 3, seed=29), randn(1, 5, seed=30)],
                    decoder_weights(6, 4, 5, 31), lambda i, w: decoder_ref(i, w, True)))
    return out
