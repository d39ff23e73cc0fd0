"""The Gemma fixtures' own pieces: random weights under the HF names of each Gemma family (gemma_ref.GemmaCfg), and
the self-checks that every Gemma feature a fixture has moves its logits.
"""
import math

import torch

from gemma_ref import GemmaCfg, inv_freq


def init_gemma_weights(cfg: GemmaCfg, seed: int) -> dict:
    """Random f32 weights under the HF names. Gemma 2/3 norms are stored around 0 (applied as 1 + w), Gemma 4's
    around 1; q/k norm weights spread so they matter; Gemma 4 layer scalars away from 1."""
    g = torch.Generator().manual_seed(seed)

    def randn(*shape, std):
        return torch.randn(*shape, generator=g, dtype=torch.float32) * std

    g4 = cfg.family == "gemma4"
    one = 1.0 if g4 else 0.0
    pre, C = cfg.prefix, cfg.C
    W = {pre + "embed_tokens.weight": randn(cfg.V, C, std=0.25)}
    if g4 and cfg.P:
        W[pre + "embed_tokens_per_layer.weight"] = randn(cfg.Vp, cfg.L * cfg.P, std=0.5)
        W[pre + "per_layer_model_projection.weight"] = randn(cfg.L * cfg.P, C, std=1.0 / C ** 0.5)
        W[pre + "per_layer_projection_norm.weight"] = one + randn(cfg.P, std=0.1)
    for i in range(cfg.L):
        p = f"{pre}layers.{i}."
        D, Hkv = cfg.layer_dims(i)
        F_ = cfg.ffn[i] if g4 else cfg.F
        for n in ("input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm", "post_feedforward_layernorm"):
            W[p + n + ".weight"] = one + randn(C, std=0.1)
        W[p + "self_attn.q_proj.weight"] = randn(cfg.H * D, C, std=2.0 / C ** 0.5)
        shared = g4 and cfg.kv_source[i] is not None
        if not shared:
            W[p + "self_attn.k_proj.weight"] = randn(Hkv * D, C, std=2.0 / C ** 0.5)
            if not (g4 and cfg.k_eq_v and cfg.layer_types[i] == "full_attention"):
                W[p + "self_attn.v_proj.weight"] = randn(Hkv * D, C, std=1.0 / C ** 0.5)
        W[p + "self_attn.o_proj.weight"] = randn(C, cfg.H * D, std=1.0 / (cfg.H * D) ** 0.5)
        if cfg.family != "gemma2":
            W[p + "self_attn.q_norm.weight"] = one + randn(D, std=0.3)
            if not shared:
                W[p + "self_attn.k_norm.weight"] = one + randn(D, std=0.3)
        W[p + "mlp.gate_proj.weight"] = randn(F_, C, std=1.0 / C ** 0.5)
        W[p + "mlp.up_proj.weight"] = randn(F_, C, std=1.0 / C ** 0.5)
        W[p + "mlp.down_proj.weight"] = randn(C, F_, std=1.0 / F_ ** 0.5)
        if g4:
            if cfg.P:
                W[p + "per_layer_input_gate.weight"] = randn(cfg.P, C, std=1.0 / C ** 0.5)
                W[p + "per_layer_projection.weight"] = randn(C, cfg.P, std=1.0 / cfg.P ** 0.5)
                W[p + "post_per_layer_input_norm.weight"] = 1.0 + randn(C, std=0.1)
            W[p + "layer_scalar"] = torch.tensor([0.6 + 0.15 * i])
    W[pre + "norm.weight"] = one + randn(C, std=0.1)
    if not cfg.tied:
        W["lm_head.weight"] = randn(cfg.V, C, std=0.25)
    return W


def feature_checks(cfg, W, ids, logits, forward):
    """Every Gemma feature the fixture has moves the logits by > 1e-2 when switched off."""
    feats = []
    if cfg.attn_softcap is not None:
        feats.append("attn_softcap")
    if cfg.final_softcap is not None:
        feats.append("final_softcap")
    if cfg.ropes["full_attention"] != cfg.ropes["sliding_attention"]:
        feats.append("local_rope")
    if cfg.family == "gemma4":
        feats += (["per_layer"] if cfg.P else []) + ["layer_scalar"]
    moved = {}
    for f in feats:
        with torch.no_grad():
            other = forward(cfg.without(f), W, ids)
        moved[f] = float((other - logits).abs().max())
        assert moved[f] > 1e-2, f"{f} changes the logits by only {moved[f]}"
    print("  features: " + ", ".join(f"{k} {v:.3f}" for k, v in moved.items()))


def math_check():
    """The proportional RoPE leaves the tail frequencies at 0 (no rotation) and rotates the head."""
    cfg = GemmaCfg({"model_type": "gemma4_text", "num_hidden_layers": 2, "hidden_size_per_layer_input": 0})
    inv = inv_freq(cfg, "full_attention", 512, torch.float32)
    assert inv.shape == (256,) and int((inv != 0).sum()) == 64 and math.isclose(float(inv[0]), 1.0)
