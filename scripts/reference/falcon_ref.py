"""Plain-torch port of transformers' Falcon causal LM (modeling_falcon.py / configuration_falcon.py of transformers
5, eager attention, float32), step by step: the three fused query_key_value layouts (new_decoder_architecture:
[Hkv][H/Hkv + 2][D] groups; multi_query: [H + 2][D]; otherwise [H][3][D] per head), the decoder layer's
arrangements (ln_attn + ln_mlp, or one input_layernorm shared by parallel attention and MLP, or sequential
attention then post_attention_layernorm), LayerNorm with bias, FalconLinear biases, GELU, rotary embedding or
ALiBi (bfloat16 slopes, (q.k + alibi) / sqrt(D)), tied LM head.
Dimension letters: B batch, T tokens, C hidden, H heads, Hkv kv heads, D head dim, F ffn, V vocab.
"""
import copy

import torch
import torch.nn.functional as F

from alibi_ref import alibi_bias, biased_attention, biased_attention_naive, layer_norm
from llama_ref import (attention, attention_naive, linear, rope_attention_factor, rope_cos_sin, rope_inv_freq,
                       rotate_half, visible_mask)

ACTS = {"gelu": F.gelu, "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
        "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh")}


class FalconCfg:
    """The config.json fields the Falcon forward needs, with FalconConfig's defaults."""

    def __init__(self, c: dict):
        self.model_type = "falcon"
        self.C = c.get("hidden_size") or c.get("n_embed") or 4544
        self.H = c.get("num_attention_heads") or c.get("n_head") or 71
        self.L = c.get("num_hidden_layers") or c.get("n_layer") or 32
        self.D = self.C // self.H
        self.V = c.get("vocab_size", 65024)
        self.F = c.get("ffn_hidden_size") or 4 * self.C
        self.eps = c.get("layer_norm_epsilon", 1e-5)
        self.max_positions = c.get("max_position_embeddings", 2048)
        self.new_arch = bool(c.get("new_decoder_architecture", False))
        self.multi_query = bool(c.get("multi_query", True))
        self.parallel = bool(c.get("parallel_attn", True))
        self.alibi = bool(c.get("alibi", False))
        self.bias = bool(c.get("bias", False))
        num_kv = c.get("num_kv_heads") or c.get("n_head_kv") or self.H
        # FalconAttention: num_kv_heads from the config for the new layout (and the per-head one), else 1
        self.Hkv = num_kv if self.new_arch else (1 if self.multi_query else self.H)
        n_ln = c.get("num_ln_in_parallel_attn")
        self.num_ln = 2 if n_ln is None and self.new_arch else n_ln
        self.act = c.get("activation", "gelu")
        self.tied = bool(c.get("tie_word_embeddings", True))
        rp = c.get("rope_scaling") or c.get("rope_parameters") or {}
        self.theta = float(rp.get("rope_theta", c.get("rope_theta", 10000.0)))
        self.rope_scaling = rp if rp.get("rope_type", rp.get("type", "default")) != "default" else None
        self.sliding_window = None
        self.qkv_bias = False  # read by the generic self-checks (the biases are checked in feature_checks)
        self.switches = {"alibi": True, "bias": True}

    def without(self, feature):
        alt = copy.copy(self)
        alt.switches = dict(self.switches, **{feature: False})
        return alt

    def qkv_rows(self) -> int:
        if self.new_arch:
            return (2 * self.Hkv + self.H) * self.D
        return self.C + 2 * self.D if self.multi_query else 3 * self.C

    def norms(self) -> list:
        if self.new_arch and self.num_ln == 2:
            return ["ln_attn", "ln_mlp"]
        return ["input_layernorm"] if self.parallel else ["input_layernorm", "post_attention_layernorm"]

    def lora_prefixes(self):
        out = []
        for i in range(self.L):
            p = f"transformer.h.{i}."
            out += [p + "self_attention.query_key_value", p + "self_attention.dense", p + "mlp.dense_h_to_4h",
                    p + "mlp.dense_4h_to_h"]
        return out

    def init_weights(self, seed: int) -> dict:
        g = torch.Generator().manual_seed(seed)

        def randn(*shape, std):
            return torch.randn(*shape, generator=g, dtype=torch.float32) * std

        C, F_ = self.C, self.F
        W = {"transformer.word_embeddings.weight": randn(self.V, C, std=0.5)}
        linears = [("self_attention.query_key_value", self.qkv_rows(), C, 2.0), ("self_attention.dense", C, C, 1.0),
                   ("mlp.dense_h_to_4h", F_, C, 1.0), ("mlp.dense_4h_to_h", C, F_, 1.0)]
        for i in range(self.L):
            p = f"transformer.h.{i}."
            for n in self.norms():
                W[p + n + ".weight"] = 1.0 + randn(C, std=0.2)
                W[p + n + ".bias"] = randn(C, std=0.2)
            for n, rows, cols, gain in linears:
                W[p + n + ".weight"] = randn(rows, cols, std=gain / cols ** 0.5)
                if self.bias:
                    W[p + n + ".bias"] = randn(rows, std=0.3)
        W["transformer.ln_f.weight"] = 1.0 + randn(C, std=0.2)
        W["transformer.ln_f.bias"] = randn(C, std=0.2)
        if not self.tied:
            W["lm_head.weight"] = randn(self.V, C, std=0.25)
        return W


def _split_heads(cfg: FalconCfg, qkv):
    """FalconAttention._split_heads as GQA views: q [B, H, T, D], k/v [B, Hkv, T, D]."""
    B, T = qkv.shape[:2]
    D = cfg.D
    if cfg.new_arch:
        g = qkv.view(B, T, cfg.Hkv, cfg.H // cfg.Hkv + 2, D)
        q, k, v = g[:, :, :, :-2].flatten(2, 3), g[:, :, :, -2], g[:, :, :, -1]
    elif cfg.multi_query:
        g = qkv.view(B, T, cfg.H + 2, D)
        q, k, v = g[:, :, :-2], g[:, :, -2:-1], g[:, :, -1:]
    else:
        g = qkv.view(B, T, cfg.H, 3, D)
        q, k, v = g[..., 0, :], g[..., 1, :], g[..., 2, :]
    return q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)


def _linear(x, W, prefix, lora, cfg):
    """FalconLinear (x @ W^T, then + bias); biases dropped only by the self-check that they matter."""
    if cfg.switches["bias"] or prefix + ".bias" not in W:
        return linear(x, W, prefix, lora)
    return linear(x, {k: v for k, v in W.items() if k != prefix + ".bias"}, prefix, lora)


def falcon_forward(cfg: FalconCfg, W: dict, input_ids, lora=None, attn_fn=attention):
    """FalconModel + FalconForCausalLM: logits [B, T, V] with positions 0..T-1."""
    B, T = input_ids.shape
    x = W["transformer.word_embeddings.weight"][input_ids]
    dtype = x.dtype
    visible = visible_mask(T, None)
    use_alibi = cfg.alibi and cfg.switches["alibi"]
    if use_alibi:
        bias = alibi_bias(cfg.H, T, dtype, bf16=True)
        naive = attn_fn is attention_naive
    else:
        cos, sin = rope_cos_sin(rope_inv_freq(cfg, dtype), T, rope_attention_factor(cfg))
    act = ACTS[cfg.act]
    for i in range(cfg.L):
        p = f"transformer.h.{i}."
        residual = x
        if cfg.new_arch and cfg.num_ln == 2:
            attn_in, mlp_in = layer_norm(x, W, p + "ln_attn", cfg.eps), layer_norm(x, W, p + "ln_mlp", cfg.eps)
        else:
            attn_in = layer_norm(x, W, p + "input_layernorm", cfg.eps)
        q, k, v = _split_heads(cfg, _linear(attn_in, W, p + "self_attention.query_key_value", lora, cfg))
        if use_alibi:
            a = (biased_attention_naive if naive else biased_attention)(q, k, v, visible, bias, cfg.D ** -0.5, True)
        else:
            q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
            a = attn_fn(q, k, v, visible)
        attn_out = _linear(a.transpose(1, 2).reshape(B, T, cfg.C), W, p + "self_attention.dense", lora, cfg)
        if not cfg.new_arch:
            if cfg.parallel:
                mlp_in = attn_in
            else:
                residual = residual + attn_out
                mlp_in = layer_norm(residual, W, p + "post_attention_layernorm", cfg.eps)
        if cfg.new_arch and cfg.parallel and cfg.num_ln == 1:
            mlp_in = attn_in
        mlp_out = _linear(act(_linear(mlp_in, W, p + "mlp.dense_h_to_4h", lora, cfg)), W, p + "mlp.dense_4h_to_h",
                          lora, cfg)
        if cfg.new_arch or cfg.parallel:
            mlp_out = mlp_out + attn_out
        x = residual + mlp_out
    x = layer_norm(x, W, "transformer.ln_f", cfg.eps)
    head = W["transformer.word_embeddings.weight"] if cfg.tied else W["lm_head.weight"]
    return x @ head.t()


def feature_checks(cfg: FalconCfg, W, ids, logits, forward):
    """ALiBi and the linear biases, when the fixture has them, each move the logits by > 1e-2."""
    feats = (["alibi"] if cfg.alibi else []) + (["bias"] if cfg.bias else [])
    moved = {}
    for f in feats:
        with torch.no_grad():
            other = forward(cfg.without(f), W, ids)
        moved[f] = float((other - logits).abs().max())
        assert moved[f] > 1e-2, f"{f} changes the logits by only {moved[f]}"
    print("  features: " + ", ".join(f"{k} {v:.3f}" for k, v in moved.items()))
