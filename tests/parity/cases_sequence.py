"""Parity cases for the sequence blocks: Embedding, EmbeddingBag, GRU,
self-attention and cross-attention."""
import math

import torch
import torch.nn.functional as F

from common import case, randn


def ids(B, L, vocab, seed, pad=(), oob=()):
    """(B, L) token ids as floats; pad / oob list (b, l) positions set to
    padding (-1) or to an id past the end of the table."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, vocab, (B, L), generator=g).float()
    for b, l in pad:
        x[b, l] = -1.0
    for k, (b, l) in enumerate(oob):
        x[b, l] = float(vocab + k * 7)
    return x


def valid(x, vocab):
    return (x >= 0) & (x < vocab)


def embedding_fn(vocab):
    def fn(i, w):
        x = i[0]
        m = valid(x, vocab)
        e = F.embedding(torch.where(m, x, torch.zeros_like(x)).long(), w["weight"])
        return e * m.unsqueeze(-1).float()
    return fn


def embedding_bag_fn(vocab):
    def fn(i, w):
        x = i[0]
        m = valid(x, vocab).float()
        e = F.embedding(torch.where(m > 0, x, torch.zeros_like(x)).long(), w["weight"])
        s = (e * m.unsqueeze(-1)).sum(1)
        return s / m.sum(1, keepdim=True).clamp(min=1)
    return fn


def gru_weights(D, H, seed):
    k = 1 / math.sqrt(H)
    return {
        "weight_ih": randn(3 * H, D, seed=seed, scale=2 * k),
        "weight_hh": randn(3 * H, H, seed=seed + 1, scale=2 * k),
        "bias_ih": randn(3 * H, seed=seed + 2, scale=k),
        "bias_hh": randn(3 * H, seed=seed + 3, scale=k),
    }


def gru_fn(D, H, seq):
    # The kernel nn.GRU.forward calls, fed the fixture's weights directly so
    # that autograd reaches them (h0 = 0, one layer, batch_first).
    def fn(i, w):
        x = i[0]
        h0 = torch.zeros(1, x.shape[0], H)
        flat = [w["weight_ih"], w["weight_hh"], w["bias_ih"], w["bias_hh"]]
        y, hT = torch._VF.gru(x, h0, flat, True, 1, 0.0, True, False, True)
        return y if seq else hT[0]
    return fn


def self_attention_fn(D, heads, causal):
    def fn(i, w):
        x = i[0]
        T = x.shape[1]
        mask = None
        if causal:
            mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
        y, _ = F.multi_head_attention_forward(
            x.transpose(0, 1), x.transpose(0, 1), x.transpose(0, 1), D, heads,
            w["in_proj_weight"], w["in_proj_bias"], None, None, False, 0.0,
            w["out_proj.weight"], w["out_proj.bias"], training=False,
            need_weights=False, attn_mask=mask)
        return x + y.transpose(0, 1)
    return fn


def cross_attention_fn(dim, heads, q_vec, k_vec):
    def fn(i, w):
        q, c = i
        if q_vec:
            q = q.unsqueeze(1)
        if k_vec:
            c = c.unsqueeze(1)
        B, Tq, Tk, hd = q.shape[0], q.shape[1], c.shape[1], dim // heads
        Q = F.linear(q, w["q_proj.weight"], w["q_proj.bias"]).view(B, Tq, heads, hd).transpose(1, 2)
        K = F.linear(c, w["k_proj.weight"], w["k_proj.bias"]).view(B, Tk, heads, hd).transpose(1, 2)
        V = F.linear(c, w["v_proj.weight"], w["v_proj.bias"]).view(B, Tk, heads, hd).transpose(1, 2)
        P = torch.softmax(Q @ K.transpose(-1, -2) / math.sqrt(hd), dim=-1)
        A = (P @ V).transpose(1, 2).reshape(B, Tq, dim)
        y = F.linear(A, w["out_proj.weight"], w["out_proj.bias"])
        return y[:, 0] if q_vec else y
    return fn


def cases():
    out = []

    # Embedding: padding ids and ids past the table give zero rows, no gradient.
    for name, B, L, V, D, pad, oob in [
        ("embedding_b1_l1", 1, 1, 5, 3, (), ()),
        ("embedding_b3_l5_pad", 3, 5, 7, 4, [(0, 4), (2, 0), (2, 1)], [(1, 2)]),
        ("embedding_b2_l6_repeat", 2, 6, 3, 5, [(1, 5)], [(0, 0)]),
    ]:
        x = ids(B, L, V, seed=len(out) + 1, pad=pad, oob=oob)
        out.append(case(name, "embedding", {"dim": D, "vocab": V}, [x],
                        {"weight": randn(V, D, seed=10 + len(out))},
                        embedding_fn(V), int_inputs=(0,)))
    # A 2-D id layout (e.g. sentences, words) gains a trailing dim.
    x = ids(2, 6, 6, seed=9, pad=[(0, 1)]).view(2, 2, 3)
    out.append(case("embedding_2d_ids", "embedding", {"dim": 3, "vocab": 6}, [x],
                    {"weight": randn(6, 3, seed=19)}, embedding_fn(6), int_inputs=(0,)))

    # EmbeddingBag (mean): sample 0 of the padded case has an empty bag.
    for name, B, L, V, D, pad, oob in [
        ("embedding_bag_b1_l1", 1, 1, 4, 3, (), ()),
        ("embedding_bag_b3_l5_pad", 3, 5, 6, 4, [(0, l) for l in range(4)] + [(2, 3)], [(0, 4), (1, 1)]),
        ("embedding_bag_b4_l8", 4, 8, 10, 6, [(3, 6), (3, 7)], [(2, 2)]),
    ]:
        x = ids(B, L, V, seed=20 + len(out), pad=pad, oob=oob)
        out.append(case(name, "embedding_bag", {"dim": D, "vocab": V}, [x],
                        {"weight": randn(V, D, seed=30 + len(out))},
                        embedding_bag_fn(V), int_inputs=(0,)))

    # GRU: last state and full sequence, T = 1 and T = 5, B = 1 and 3.
    for name, B, T, D, H, seq in [
        ("gru_t1_b1_last", 1, 1, 3, 4, False),
        ("gru_t5_b3_last", 3, 5, 4, 3, False),
        ("gru_t5_b3_seq", 3, 5, 4, 3, True),
        ("gru_t1_b3_seq", 3, 1, 2, 5, True),
        ("gru_t4_b1_seq", 1, 4, 5, 6, True),
    ]:
        x = randn(B, T, D, seed=40 + len(out))
        out.append(case(name, "gru", {"hidden": H, "return_sequence": seq}, [x],
                        gru_weights(D, H, seed=50 + len(out)), gru_fn(D, H, seq)))

    # Self-attention with residual, as nn.MultiheadAttention(batch_first=True).
    for name, B, T, D, heads, causal in [
        ("self_attention_t1_b1_h1", 1, 1, 4, 1, False),
        ("self_attention_t5_b3_h2", 3, 5, 4, 2, False),
        ("self_attention_t5_b1_h1", 1, 5, 6, 1, False),
        ("self_attention_t5_b3_h2_causal", 3, 5, 6, 2, True),
        ("self_attention_t4_b2_h4", 2, 4, 8, 4, False),
    ]:
        s = 60 + 5 * len(out)
        x = randn(B, T, D, seed=s)
        w = {
            "in_proj_weight": randn(3 * D, D, seed=s + 1, scale=0.5),
            "in_proj_bias": randn(3 * D, seed=s + 2, scale=0.1),
            "out_proj.weight": randn(D, D, seed=s + 3, scale=0.5),
            "out_proj.bias": randn(D, seed=s + 4, scale=0.1),
        }
        out.append(case(name, "self_attention", {"heads": heads, "causal": causal},
                        [x], w, self_attention_fn(D, heads, causal)))

    # Cross-attention: sequences and vectors on either side.
    for name, B, Tq, Dq, Tk, Dk, dim, heads, q_vec, k_vec in [
        ("cross_attention_seq_seq_h2_b3", 3, 5, 3, 4, 5, 4, 2, False, False),
        ("cross_attention_vec_seq_h1_b1", 1, 1, 4, 5, 3, 6, 1, True, False),
        ("cross_attention_vec_seq_h2_b3", 3, 1, 4, 5, 3, 6, 2, True, False),
        ("cross_attention_seq_vec_h2_b3", 3, 5, 3, 1, 4, 4, 2, False, True),
        ("cross_attention_seq1_seq_h1_b2", 2, 1, 3, 3, 2, 5, 1, False, False),
    ]:
        s = 200 + 9 * len(out)
        q = randn(B, Dq, seed=s) if q_vec else randn(B, Tq, Dq, seed=s)
        c = randn(B, Dk, seed=s + 1) if k_vec else randn(B, Tk, Dk, seed=s + 1)
        w = {
            "q_proj.weight": randn(dim, Dq, seed=s + 2, scale=0.5),
            "q_proj.bias": randn(dim, seed=s + 3, scale=0.1),
            "k_proj.weight": randn(dim, Dk, seed=s + 4, scale=0.5),
            "k_proj.bias": randn(dim, seed=s + 5, scale=0.1),
            "v_proj.weight": randn(dim, Dk, seed=s + 6, scale=0.5),
            "v_proj.bias": randn(dim, seed=s + 7, scale=0.1),
            "out_proj.weight": randn(dim, dim, seed=s + 8, scale=0.5),
            "out_proj.bias": randn(dim, seed=s + 9, scale=0.1),
        }
        out.append(case(name, "cross_attention", {"dim": dim, "heads": heads},
                        [q, c], w, cross_attention_fn(dim, heads, q_vec, k_vec)))
    return out
