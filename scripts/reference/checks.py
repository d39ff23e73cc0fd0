"""Self-checks for the fixture generator: safetensors round trips, attention against a naive loop,
loss against torch's cross_entropy, float32 against float64 (the headroom left for the TypeScript
side's tolerances), finite differences for LoRA gradients, and that each fixture's feature matters.
"""
import copy
import os
import struct
import json

import torch
import torch.nn.functional as F

import lora_ref
from llama_ref import Cfg, Lora, attention_naive, causal_lm_loss, forward, greedy, rope_inv_freq
from safetensors_io import deserialize, serialize
from specs import peft_name

# float32 vs float64 must stay well inside the TypeScript tolerances (1e-4 abs logits, 1e-5 rel
# loss, 1e-4 rel grads, 1e-4 trajectory) so an independent float32 implementation can pass them
HEADROOM = 0.25


def _bits(t: torch.Tensor) -> torch.Tensor:
    return t.view(torch.int16) if t.element_size() == 2 else t.view(torch.int32)


def weights_round_trip(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b), "tensor names differ after reload"
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
        assert torch.equal(_bits(a[k].contiguous()), _bits(b[k])), f"{k}: bits differ"


def safetensors_self_test() -> None:
    special = torch.tensor([0.0, -0.0, 1.0, -2.5, 65504.0, 1e-8, float("inf"), float("nan")])
    tensors = {
        "z.f32": torch.randn(3, 5),
        "a.bf16": torch.randn(4, 2).to(torch.bfloat16),
        "m.f16": torch.randn(7).to(torch.float16),
        "s.f32": special,
        "s.bf16": special.to(torch.bfloat16),
        "s.f16": special.to(torch.float16),
        "scalar": torch.tensor(3.0),
    }
    blob = serialize(tensors, {"format": "pt"})
    (n,) = struct.unpack("<Q", blob[:8])
    assert n % 8 == 0 and blob[8 + n - 1 : 8 + n] in (b" ", b"}"), "header padding"
    header = json.loads(blob[8 : 8 + n])
    assert header.pop("__metadata__") == {"format": "pt"}
    names = list(header)
    assert names == sorted(names), "tensors must be stored sorted by name"
    end = 0
    for name in names:
        begin, stop = header[name]["data_offsets"]
        assert begin == end, f"{name}: data not contiguous"
        end = stop
    assert end == len(blob) - 8 - n
    # known bit patterns: 1.0 is 0x3F80 in bf16, 0x3C00 in f16, little-endian on disk
    base = 8 + n
    b0 = header["s.bf16"]["data_offsets"][0] + base
    h0 = header["s.f16"]["data_offsets"][0] + base
    assert blob[b0 + 4 : b0 + 6] == b"\x80\x3f" and blob[h0 + 4 : h0 + 6] == b"\x00\x3c"
    back, meta = deserialize(blob)
    assert meta == {"format": "pt"}
    weights_round_trip(tensors, back)
    print("safetensors self-test: ok (F32/F16/BF16, padding, sorting, offsets, bit patterns)")


def _max_diff(a, b) -> float:
    return float((a.double() - b.double()).abs().max())


def _f64(W: dict) -> dict:
    return {k: v.double() for k, v in W.items()}


def _feature_matters(spec, cfg, W, ids, logits) -> None:
    name = spec["name"]
    alt = copy.copy(cfg)
    W_alt = W
    if cfg.rope_scaling:
        alt.rope_scaling = None
    elif cfg.model_type == "qwen3":
        alt.qk_norm = False
    elif cfg.model_type == "smollm3":
        alt.no_rope_layers = [1] * cfg.L
    elif cfg.model_type == "granite":
        alt.embedding_multiplier = alt.residual_multiplier = alt.logits_scaling = 1.0
        alt.attention_multiplier = cfg.D ** -0.5
    elif cfg.sliding_window is not None:
        alt.sliding_window = None
    elif cfg.qkv_bias:
        W_alt = {k: (v * 0 if k.endswith(".bias") else v) for k, v in W.items()}
    else:
        return
    with torch.no_grad():
        other = forward(alt, W_alt, ids)
    d = _max_diff(logits, other)
    assert d > 1e-2, f"{name}: its feature changes logits by only {d}"
    if alt.sliding_window is None and cfg.sliding_window is not None:
        early = _max_diff(logits[:, : cfg.sliding_window], other[:, : cfg.sliding_window])
        assert early == 0.0, f"{name}: window changed positions before it applies"
    print(f"  feature check: logits move by {d:.3f} without it")
    if cfg.rope_scaling and cfg.rope_scaling.get("rope_type") == "llama3":
        plain = copy.copy(cfg)
        plain.rope_scaling = None
        ratio = (rope_inv_freq(cfg) / rope_inv_freq(plain)).tolist()
        kinds = {"kept" if abs(r - 1) < 1e-6 else "divided" if abs(r * 8 - 1) < 1e-6 else "smoothed"
                 for r in ratio}
        assert kinds == {"kept", "smoothed", "divided"}, f"llama3 bands exercised: {kinds}"
        print(f"  llama3 inv_freq ratios to unscaled: {[round(r, 4) for r in ratio]}")


def model_checks(spec, cfg: Cfg, W, ids, labels, logits, loss) -> None:
    with torch.no_grad():
        # the naive loop runs in float64 so the comparison tests the algorithm, not rounding
        naive = forward(cfg, _f64(W), ids, attn_fn=attention_naive)
        ce = F.cross_entropy(logits[:, :-1].reshape(-1, cfg.V), labels[:, 1:].reshape(-1),
                             ignore_index=-100)
        l64 = forward(cfg, _f64(W), ids)
        loss64 = causal_lm_loss(l64, labels)
    d_naive = _max_diff(l64, naive)
    assert d_naive < 1e-10, f"attention differs from the naive loop by {d_naive}"
    d_ce = abs(float(ce) - float(loss)) / abs(float(ce))
    assert d_ce < 1e-6, f"loss differs from F.cross_entropy by {d_ce} rel"
    d64 = _max_diff(logits, l64)
    r64 = abs(float(loss) - float(loss64)) / abs(float(loss64))
    assert d64 < 1e-4 * HEADROOM and r64 < 1e-5 * HEADROOM, (d64, r64)
    print(f"  naive attention (f64) {d_naive:.1e}, F.cross_entropy {d_ce:.2e} rel, "
          f"f32 vs f64: logits {d64:.2e} abs, loss {r64:.2e} rel")
    _feature_matters(spec, cfg, W, ids, logits)
    if hasattr(cfg, "features"):  # a Gemma family: each of its features must move the logits too
        import gemma_fixture

        gemma_fixture.math_check()
        gemma_fixture.feature_checks(cfg, W, ids, logits, forward)
    if cfg.model_type in ("qwen3_5_text", "qwen3_5", "lfm2"):  # the hybrid families: features, recurrent = chunked
        import hybrid_ref

        hybrid_ref.feature_checks(cfg, W, ids, logits, forward)
    elif hasattr(cfg, "switches"):  # Phi-3, Falcon, BLOOM: each of their features must move the logits too
        import fused_ref

        fused_ref.feature_checks(cfg, W, ids, logits, forward)


def greedy_f64(cfg, W, prompt, tokens, lora=None) -> None:
    lora64 = None
    if lora is not None:
        lora64 = copy.copy(lora)
        lora64.weights = {p: (A.double(), B.double()) for p, (A, B) in lora.weights.items()}
    t64, _ = greedy(cfg, _f64(W), prompt, len(tokens), lora64)
    assert t64 == tokens, f"greedy tokens differ in float64: {t64} vs {tokens}"


def _rel(a, b) -> float:
    return float((a.double() - b.double()).abs().max() / b.double().abs().max())


def lora_checks(base, args, logits, loss, grads, losses, steps=lora_ref.STEPS) -> None:
    cfg, W, ids, labels, init, r, alpha, rslora = args
    zero = {p: (A, torch.zeros_like(B)) for p, (A, B) in init.items()}
    with torch.no_grad():
        z = forward(cfg, W, ids, Lora(zero, r, alpha, rslora))
    assert _max_diff(z, base["logits"]) == 0.0, "LoRA with B = 0 must equal the base model"
    moved = _max_diff(logits, base["logits"])
    assert moved > 1e-2, f"adapter moves logits by only {moved}"
    W64 = _f64(W)
    l64, loss64, g64 = lora_ref.loss_and_grads(cfg, W64, ids, labels, init, r, alpha, rslora)
    d64 = _max_diff(logits, l64)
    r64 = abs(float(loss) - float(loss64)) / float(loss64)
    g_worst = max(_rel(grads[k], g64[k]) for k in grads)
    assert d64 < 1e-4 * HEADROOM and r64 < 1e-5 * HEADROOM and g_worst < 1e-4 * HEADROOM, (d64, r64, g_worst)
    assert min(float(g.abs().max()) for g in grads.values()) > 1e-4, "a LoRA gradient is ~zero"
    # finite differences (float64) on a few elements of A and B in both layers
    fd_worst = 0.0
    for prefix in [k for k in init if k.endswith(("q_proj", "v_proj", "down_proj", "qkv_proj", "query_key_value", "dense_4h_to_h"))]:
        for which in ("A", "B"):
            g = g64[peft_name(prefix, which, cfg)].reshape(-1)
            idx = int(g.abs().argmax())
            fd = lora_ref.finite_difference(cfg, W64, ids, labels, init, r, alpha, rslora,
                                            (prefix, which, idx))
            fd_worst = max(fd_worst, abs(fd - float(g[idx])) / abs(float(g[idx])))
    assert fd_worst < 1e-6, f"finite differences disagree by {fd_worst} rel"
    manual = lora_ref.trajectory(*args, manual=True, steps=steps)
    d_adam = max(abs(a - b) for a, b in zip(losses, manual))
    assert d_adam < 1e-6, f"manual AdamW differs from torch.optim.AdamW by {d_adam}"
    traj64 = lora_ref.trajectory(cfg, W64, ids, labels, init, r, alpha, rslora, steps=steps)
    d_traj = max(abs(a - b) for a, b in zip(losses, traj64))
    assert d_traj < 1e-4 * HEADROOM, f"trajectory float32 vs float64 {d_traj}"
    assert all(b < a for a, b in zip(losses, losses[1:])), "trajectory must fall every step"
    print(f"  B=0 equals base; adapter moves logits by {moved:.3f}; f32 vs f64: logits "
          f"{d64:.2e} abs, loss {r64:.2e} rel, grads {g_worst:.2e} rel (of max), trajectory "
          f"{d_traj:.2e} abs; finite differences {fd_worst:.2e} rel; manual AdamW {d_adam:.1e}")


def report_sizes(out: str) -> None:
    total = 0
    for name in sorted(os.listdir(out)):
        folder = os.path.join(out, name)
        files = sorted(os.listdir(folder))
        size = sum(os.path.getsize(os.path.join(folder, f)) for f in files)
        total += size
        print(f"  {name:24s} {size / 1024:8.1f} KiB  {', '.join(files)}")
    print(f"  total {total / 1024:.1f} KiB")
