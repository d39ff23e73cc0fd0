"""ALiBi and the LayerNorm-decoder pieces shared by the BLOOM and Falcon reference ports: the slopes exactly as
transformers' build_alibi_tensor computes them (float32, also for head counts that are not a power of two), the
per-key bias tensor of each family (BLOOM: float32 slope * position; Falcon: bfloat16 slope * position, rounded
to bfloat16), eager attention with that bias added as each modeling file adds it, and a naive loop twin.
Dimension letters: B batch, T tokens, H heads, Hkv kv heads, D head dim.
"""
import math

import torch
import torch.nn.functional as F


def alibi_slopes(H: int) -> torch.Tensor:
    """[H] float32 slopes: base^1..base^n for the closest power of two n <= H, then odd powers of the next base."""
    closest = 2 ** math.floor(math.log2(H))
    base = torch.tensor(2 ** (-(2 ** -(math.log2(closest) - 3))), dtype=torch.float32)
    slopes = torch.pow(base, torch.arange(1, 1 + closest, dtype=torch.int32))
    if closest != H:
        extra_base = torch.tensor(2 ** (-(2 ** -(math.log2(2 * closest) - 3))), dtype=torch.float32)
        n = min(closest, H - closest)
        slopes = torch.cat([slopes, torch.pow(extra_base, torch.arange(1, 1 + 2 * n, 2, dtype=torch.int32))], dim=0)
    return slopes


def alibi_bias(H: int, T: int, dtype, bf16: bool) -> torch.Tensor:
    """[H, T] bias of key position j (= cumsum(mask) - 1 without padding) for each head, in `dtype`. Falcon
    multiplies a bfloat16 copy of the slopes (so the product is rounded to bfloat16 too); BLOOM stays float32."""
    positions = torch.arange(T)[None, :]  # int64, as attention_mask.cumsum
    slopes = alibi_slopes(H)[:, None]
    return ((slopes.bfloat16() if bf16 else slopes) * positions).to(dtype)


def layer_norm(x, W: dict, prefix: str, eps: float):
    """nn.LayerNorm over the last dim with weight and bias."""
    return F.layer_norm(x, (x.shape[-1],), W[prefix + ".weight"], W[prefix + ".bias"], eps)


def biased_attention(q, k, v, visible, bias, scale, falcon: bool):
    """q [B, H, T, D], k/v [B, Hkv, T, D] (each query head h reads kv head h // (H / Hkv)), visible [T, T],
    bias [H, T] per key. BLOOM (baddbmm, beta 1): s = bias + scale * q.k; Falcon: s = (q.k + bias) * scale, plus the
    bias a second time through the mask: FalconModel._update_causal_mask fills the visible entries of the causal mask
    with alibi / sqrt(head_dim) (the masked ones with the dtype's minimum), and FalconAttention adds that mask to its
    already biased scores, so transformers' Falcon applies twice the ALiBi slopes. Masked scores get the dtype's
    minimum; softmax in the scores' dtype."""
    n_rep = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(n_rep, dim=1)
    v = v.repeat_interleave(n_rep, dim=1)
    dots = q @ k.transpose(2, 3)  # [B, H, T, T]
    b = bias[None, :, None, :]
    scores = (dots + b) * scale if falcon else b + dots * scale
    mask = torch.zeros(visible.shape, dtype=scores.dtype).masked_fill(~visible, torch.finfo(scores.dtype).min)
    if falcon:
        mask = (b / math.sqrt(q.shape[-1])).masked_fill(~visible, torch.finfo(scores.dtype).min)
    probs = F.softmax(scores + mask, dim=-1, dtype=scores.dtype)
    return probs @ v


def biased_attention_naive(q, k, v, visible, bias, scale, falcon: bool):
    """Per-(batch, head, query) loop version of biased_attention (self-check only)."""
    B, H, T, D = q.shape
    out = torch.zeros_like(q)
    group = H // k.shape[1]
    for b in range(B):
        for h in range(H):
            hk = h // group
            for i in range(T):
                js = [j for j in range(T) if visible[i, j]]
                dots = [(q[b, h, i] * k[b, hk, j]).sum() for j in js]
                s = torch.stack([(d + bias[h, j]) * scale + bias[h, j] / math.sqrt(D) if falcon else bias[h, j] + d * scale
                                 for d, j in zip(dots, js)])
                p = torch.exp(s - s.max())
                p = p / p.sum()
                out[b, h, i] = sum(p[n] * v[b, hk, j] for n, j in enumerate(js))
    return out


def math_check() -> None:
    """Slopes as the ALiBi paper gives them: H = 8 -> 1/2 .. 1/256; H = 6 -> the 4-head slopes 1/4 .. 1/256
    followed by the 8-head slopes of odd index 2^-1, 2^-3; Falcon's bias is the bfloat16-rounded product."""
    assert torch.equal(alibi_slopes(8), torch.tensor([2.0 ** -i for i in range(1, 9)]))
    assert torch.equal(alibi_slopes(6), torch.tensor([2.0 ** -(2 * i) for i in range(1, 5)] + [2.0 ** -1, 2.0 ** -3]))
    s12 = alibi_slopes(12)  # 8 slopes of base 1/2, then 16-head slopes 2^-0.5, 2^-1.5, ...
    assert abs(float(s12[8]) - 2 ** -0.5) < 1e-7 and abs(float(s12[9]) - 2 ** -1.5) < 1e-7, s12
    b = alibi_bias(12, 300, torch.float32, bf16=True)
    assert float(b[0, 257]) == 128.0 and float(b[0, 255]) == 127.5  # 0.5 * 257 = 128.5 rounds to bfloat16 128
