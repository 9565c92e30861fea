"""Parity cases for the layer blocks: Conv2D, Conv1D, MaxPool, AvgPool,
GlobalPool, Flatten, Transpose, Dropout, LayerNorm, BatchNorm, L2-normalize."""
import torch
import torch.nn.functional as F

from common import case, randn

ACTS = {"none": lambda x: x, "relu": F.relu, "gelu": F.gelu,
        "tanh": torch.tanh, "sigmoid": torch.sigmoid}


def distinct(*shape, seed=0):
    """Values at least 0.05 apart, so that a max never changes winner under
    the finite-difference step."""
    g = torch.Generator().manual_seed(seed)
    n = 1
    for d in shape:
        n *= d
    return (torch.randperm(n, generator=g).float() * 0.05 - n * 0.025).reshape(shape)


def conv2d_cases():
    out = []
    # (name, B, in shape, filters, kernel, stride, padding, bias, act)
    specs = [
        ("basic", 3, (2, 5, 5), 3, 3, 1, 0, True, "none"),
        ("pad1_relu_b1", 1, (3, 6, 6), 4, 3, 1, 1, True, "relu"),
        ("stride2_pad1_gelu", 2, (3, 7, 6), 2, 3, 2, 1, True, "gelu"),
        ("k1", 3, (4, 3, 5), 5, 1, 1, 0, True, "none"),
        ("k5_s3_p2_sigmoid", 2, (2, 8, 9), 3, 5, 3, 2, True, "sigmoid"),
        ("k2_s2_tanh_nobias", 3, (1, 6, 4), 4, 2, 2, 0, False, "tanh"),
        ("k3_s2_p0_odd", 1, (2, 9, 7), 3, 3, 2, 0, True, "none"),
        ("k4_p3", 2, (1, 4, 5), 2, 4, 1, 3, True, "none"),
        ("kernel_equals_input", 3, (2, 3, 3), 4, 3, 1, 0, True, "tanh"),
    ]
    for k, (name, B, shp, oc, ks, st, pad, bias, act) in enumerate(specs):
        x = randn(B, *shp, seed=100 + k)
        w = {"weight": randn(oc, shp[0], ks, ks, seed=200 + k, scale=0.4)}
        if bias:
            w["bias"] = randn(oc, seed=300 + k, scale=0.5)
        params = {"filters": oc, "kernel": ks, "stride": st, "padding": pad,
                  "bias": bias, "activation": act}
        out.append(case(f"conv2d_{name}", "conv2d", params, [x], w,
                        lambda i, w, st=st, pad=pad, act=act: ACTS[act](
                            F.conv2d(i[0], w["weight"], w.get("bias"), stride=st, padding=pad))))
    # a (H, W) grid (spectrogram) counts as one channel
    x = randn(2, 5, 7, seed=150)
    w = {"weight": randn(3, 1, 3, 3, seed=151, scale=0.4), "bias": randn(3, seed=152)}
    out.append(case("conv2d_2d_input_relu", "conv2d",
                    {"filters": 3, "kernel": 3, "padding": 1, "activation": "relu"}, [x], w,
                    lambda i, w: F.relu(F.conv2d(i[0].unsqueeze(1), w["weight"], w["bias"], padding=1))))
    return out


def conv1d_cases():
    out = []
    specs = [
        ("basic", 3, (3, 10), 4, 3, 1, 0, True, "none"),
        ("s2_p1_relu_b1", 1, (2, 11), 3, 3, 2, 1, True, "relu"),
        ("k5_p2_gelu_nobias", 2, (4, 9), 2, 5, 1, 2, False, "gelu"),
        ("k1", 3, (5, 6), 3, 1, 1, 0, True, "tanh"),
        ("k4_s3_sigmoid", 2, (2, 14), 3, 4, 3, 0, True, "sigmoid"),
    ]
    for k, (name, B, shp, oc, ks, st, pad, bias, act) in enumerate(specs):
        x = randn(B, *shp, seed=400 + k)
        w = {"weight": randn(oc, shp[0], ks, seed=500 + k, scale=0.4)}
        if bias:
            w["bias"] = randn(oc, seed=600 + k, scale=0.5)
        params = {"filters": oc, "kernel": ks, "stride": st, "padding": pad,
                  "bias": bias, "activation": act}
        out.append(case(f"conv1d_{name}", "conv1d", params, [x], w,
                        lambda i, w, st=st, pad=pad, act=act: ACTS[act](
                            F.conv1d(i[0], w["weight"], w.get("bias"), stride=st, padding=pad))))
    # a plain (L) signal counts as one channel
    x = randn(2, 8, seed=450)
    w = {"weight": randn(2, 1, 3, seed=451), "bias": randn(2, seed=452)}
    out.append(case("conv1d_1d_input", "conv1d", {"filters": 2, "kernel": 3, "padding": 1},
                    [x], w, lambda i, w: F.conv1d(i[0].unsqueeze(1), w["weight"], w["bias"], padding=1)))
    return out


def pool_cases():
    out = []
    # 2-D pooling of (C, H, W): (name, B, shape, kernel, stride)
    specs2 = [
        ("k2", 3, (2, 4, 6), 2, 0),
        ("k3_s2_floor", 1, (3, 7, 8), 3, 2),
        ("k3_s1_overlap", 2, (1, 5, 5), 3, 1),
        ("k2_s3", 2, (2, 7, 7), 2, 3),
    ]
    for k, (name, B, shp, ks, st) in enumerate(specs2):
        params = {"kernel": ks} if st == 0 else {"kernel": ks, "stride": st}
        s = st or ks
        x = distinct(B, *shp, seed=700 + k)
        out.append(case(f"maxpool_{name}", "maxpool", params, [x], {},
                        lambda i, w, ks=ks, s=s: F.max_pool2d(i[0], ks, s)))
        x = randn(B, *shp, seed=710 + k)
        out.append(case(f"avgpool_{name}", "avgpool", params, [x], {},
                        lambda i, w, ks=ks, s=s: F.avg_pool2d(i[0], ks, s)))
    # (H, W) grid with the 2d window: one channel
    x = distinct(2, 6, 5, seed=720)
    out.append(case("maxpool_2d_grid", "maxpool", {"kernel": 2, "window": "2d"}, [x], {},
                    lambda i, w: F.max_pool2d(i[0].unsqueeze(1), 2).squeeze(1)))
    x = randn(2, 6, 5, seed=721)
    out.append(case("avgpool_2d_grid", "avgpool", {"kernel": 2, "window": "2d"}, [x], {},
                    lambda i, w: F.avg_pool2d(i[0].unsqueeze(1), 2).squeeze(1)))
    # 1-D pooling of (C, L), auto and explicit
    specs1 = [("k2", 3, (3, 9), 2, 0, "auto"), ("k3_s2", 1, (2, 10), 3, 2, "1d"),
              ("k4_s1", 2, (2, 7), 4, 1, "auto")]
    for k, (name, B, shp, ks, st, win) in enumerate(specs1):
        params = {"kernel": ks, "stride": st, "window": win}
        s = st or ks
        x = distinct(B, *shp, seed=730 + k)
        out.append(case(f"maxpool1d_{name}", "maxpool", params, [x], {},
                        lambda i, w, ks=ks, s=s: F.max_pool1d(i[0], ks, s)))
        x = randn(B, *shp, seed=740 + k)
        out.append(case(f"avgpool1d_{name}", "avgpool", params, [x], {},
                        lambda i, w, ks=ks, s=s: F.avg_pool1d(i[0], ks, s)))
    # a plain (L) signal
    x = distinct(3, 7, seed=750)
    out.append(case("maxpool1d_vector", "maxpool", {"kernel": 2}, [x], {},
                    lambda i, w: F.max_pool1d(i[0].unsqueeze(1), 2).squeeze(1)))
    # global pooling
    for mode in ["avg", "max"]:
        red = (lambda t, d: t.mean(d)) if mode == "avg" else (lambda t, d: t.amax(d))
        x = distinct(3, 4, 3, 5, seed=760) if mode == "max" else randn(3, 4, 3, 5, seed=760)
        out.append(case(f"global_pool_{mode}_image", "global_pool", {"mode": mode}, [x], {},
                        lambda i, w, red=red: red(i[0], (2, 3))))
        x = distinct(1, 3, 6, seed=761) if mode == "max" else randn(1, 3, 6, seed=761)
        out.append(case(f"global_pool_{mode}_seq_b1", "global_pool", {"mode": mode}, [x], {},
                        lambda i, w, red=red: red(i[0], (2,))))
    return out


def shape_cases():
    out = []
    x = randn(3, 2, 3, 4, seed=800)
    out.append(case("flatten_image", "flatten", {}, [x], {}, lambda i, w: i[0].reshape(3, -1)))
    x = randn(1, 5, seed=801)
    out.append(case("flatten_vector_b1", "flatten", {}, [x], {}, lambda i, w: i[0].reshape(1, -1)))
    x = randn(2, 4, 6, seed=802)
    out.append(case("transpose_2d", "transpose", {}, [x], {},
                    lambda i, w: i[0].transpose(-1, -2).contiguous()))
    x = randn(2, 3, 5, 4, seed=803)
    out.append(case("transpose_3d", "transpose", {}, [x], {},
                    lambda i, w: i[0].transpose(-1, -2).contiguous()))
    # long enough to cross the 32-wide tiles, in either dim
    x = randn(1, 34, 3, seed=804)
    out.append(case("transpose_tall_b1", "transpose", {}, [x], {},
                    lambda i, w: i[0].transpose(-1, -2).contiguous()))
    x = randn(1, 2, 33, seed=805)
    out.append(case("transpose_wide_b1", "transpose", {}, [x], {},
                    lambda i, w: i[0].transpose(-1, -2).contiguous()))
    return out


def dropout_cases():
    out = []
    x = randn(3, 4, 5, seed=850)
    out.append(case("dropout_eval", "dropout", {"p": 0.5}, [x], {},
                    lambda i, w: F.dropout(i[0], 0.5, training=False), training=False))
    # p = 0 drops nothing, even while training
    x = randn(2, 7, seed=851)
    out.append(case("dropout_p0_training", "dropout", {"p": 0.0}, [x], {},
                    lambda i, w: F.dropout(i[0], 0.0, training=True)))
    return out


def norm_cases():
    out = []
    # LayerNorm
    for k, (name, B, shp, params) in enumerate([
            ("vector", 3, (6,), {}),
            ("seq_b1", 1, (4, 5), {}),
            ("eps_1e-3", 2, (3, 8), {"eps": 1e-3}),
            ("no_affine", 2, (3, 4), {"affine": False})]):
        x = randn(B, *shp, seed=900 + k, scale=2.0) + 0.5
        D = shp[-1]
        eps = params.get("eps", 1e-5)
        affine = params.get("affine", True)
        w = {"weight": 1 + randn(D, seed=910 + k, scale=0.3), "bias": randn(D, seed=920 + k)} if affine else {}
        out.append(case(f"layernorm_{name}", "layernorm", params, [x], w,
                        lambda i, w, D=D, eps=eps: F.layer_norm(i[0], (D,), w.get("weight"),
                                                                w.get("bias"), eps)))

    # BatchNorm, training (batch statistics, running stats updated) and eval
    bn_specs = [
        ("features_train", 4, (5,), True, {}),
        ("seq_train", 3, (3, 4), True, {}),
        ("image_train", 2, (3, 3, 4), True, {"momentum": 0.3}),
        ("seq_train_b1", 1, (2, 6), True, {"eps": 1e-3}),
        ("features_eval", 3, (5,), False, {}),
        ("image_eval_b1", 1, (2, 3, 3), False, {}),
    ]
    for k, (name, B, shp, training, params) in enumerate(bn_specs):
        C = shp[0]
        x = randn(B, *shp, seed=950 + k, scale=1.5) + 0.3
        w = {"weight": 1 + randn(C, seed=960 + k, scale=0.3), "bias": randn(C, seed=970 + k),
             "running_mean": randn(C, seed=980 + k, scale=0.5),
             "running_var": 0.5 + torch.rand(C, generator=torch.Generator().manual_seed(990 + k))}
        momentum = params.get("momentum", 0.1)
        eps = params.get("eps", 1e-5)
        held = {}

        def fn(i, w, held=held, training=training, momentum=momentum, eps=eps):
            # the buffers are updated in place: hand F.batch_norm copies, so
            # the fixture records the values before and after
            held["running_mean"] = w["running_mean"].detach().clone()
            held["running_var"] = w["running_var"].detach().clone()
            return F.batch_norm(i[0], held["running_mean"], held["running_var"],
                                w["weight"], w["bias"], training=training,
                                momentum=momentum, eps=eps)

        out.append(case(f"batchnorm_{name}", "batchnorm", params, [x], w, fn,
                        training=training,
                        buffers_after=lambda held=held: dict(held)))

    # L2-normalize
    x = randn(3, 6, seed=1000)
    out.append(case("l2norm_vector", "l2norm", {}, [x], {}, lambda i, w: F.normalize(i[0], dim=-1)))
    x = randn(2, 3, 4, seed=1001)
    out.append(case("l2norm_seq", "l2norm", {}, [x], {}, lambda i, w: F.normalize(i[0], dim=-1)))
    # rows below eps take the clamped branch (divided by eps, gradient dy/eps)
    x = torch.cat([randn(1, 4, seed=1002, scale=0.05), randn(1, 4, seed=1003, scale=2.0)])
    out.append(case("l2norm_clamped", "l2norm", {"eps": 0.5}, [x], {},
                    lambda i, w: F.normalize(i[0], dim=-1, eps=0.5)))
    return out


def cases():
    return (conv2d_cases() + conv1d_cases() + pool_cases() + shape_cases()
            + dropout_cases() + norm_cases())
