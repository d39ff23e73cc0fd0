"""Plain-torch port of transformers' LFM2 causal LM (modeling_lfm2.py / configuration_lfm2.py), float32 eager, step by
step: RMSNorm pre-norm blocks whose operator is a gated short convolution (in_proj -> B, C, x; depthwise conv1d over
conv_L_cache tokens of B*x; C times that; out_proj; Lfm2ShortConv.slow_forward) or attention with q_layernorm /
k_layernorm and RoPE, then the SwiGLU feed-forward (w1, w3, w2) with the width Lfm2MLP derives; embedding_norm at the
end; tied LM head by default. Lfm2Cfg reads the original LFM2 keys (block_ff_dim, theta, tie_embedding, norm_eps,
full_attn_idxs) and the transformers 5 ones (intermediate_size, rope_parameters, layer_types).
Dimension letters: B batch, T tokens, C hidden, H heads, Hkv kv heads, D head dim, K conv kernel, F ffn, V vocab.
"""
import copy

import torch
import torch.nn.functional as F

from llama_ref import attention, linear, rms_norm, rope_cos_sin, rotate_half, visible_mask


class Lfm2Cfg:
    """Lfm2Config's fields and defaults; `switches` turn features off for the self-check that each one matters."""

    def __init__(self, c: dict):
        self.model_type = c["model_type"]
        self.C = c.get("hidden_size", 2560)
        self.L = c.get("num_hidden_layers", 32)
        self.H = c.get("num_attention_heads", 32)
        self.Hkv = c.get("num_key_value_heads", 8)
        self.D = c.get("head_dim", self.C // self.H)
        self.V = c.get("vocab_size", 65536)
        self.eps = c.get("norm_eps", 1e-5)
        self.max_positions = c.get("max_position_embeddings", 128000)
        rp = c.get("rope_parameters") or {}
        self.theta = float(rp.get("rope_theta", c.get("rope_theta", c.get("theta", 1000000.0))))
        self.tied = bool(c.get("tie_embedding", c.get("tie_word_embeddings", True)))
        self.K = c.get("conv_L_cache", 3)
        self.conv_bias = bool(c.get("conv_bias", False))
        idx = c.get("full_attn_idxs")
        self.layer_types = c.get("layer_types") or [
            "full_attention" if idx is None or i in idx else "conv" for i in range(self.L)]
        F_ = c.get("block_ff_dim", c.get("intermediate_size", 12288))
        if c.get("block_auto_adjust_ff_dim", True):
            F_ = int(2 * F_ / 3)
            mult = c.get("block_ffn_dim_multiplier", 1.0)
            if mult is not None:
                of = c.get("block_multiple_of", 256)
                F_ = int(mult * F_)
                F_ = of * ((F_ + of - 1) // of)
        self.F = F_
        self.rope_scaling, self.sliding_window, self.qkv_bias = None, None, False  # read by checks.py
        self.switches = {"conv": True, "qk_norm": True, "gating": True}

    def without(self, feature):
        alt = copy.copy(self)
        alt.switches = dict(self.switches, **{feature: False})
        return alt

    def lora_prefixes(self):
        """PEFT all-linear on LFM2: in_proj/out_proj of each conv, q/k/v/out_proj of attention, w1/w3/w2."""
        out = []
        for i, kind in enumerate(self.layer_types):
            p = f"model.layers.{i}."
            if kind == "conv":
                out += [p + "conv.in_proj", p + "conv.out_proj"]
            else:
                out += [p + "self_attn." + n for n in ("q_proj", "k_proj", "v_proj", "out_proj")]
            out += [p + "feed_forward." + n for n in ("w1", "w3", "w2")]
        return out

    def init_weights(self, seed: int) -> dict:
        g = torch.Generator().manual_seed(seed)

        def randn(*shape, std):
            return torch.randn(*shape, generator=g, dtype=torch.float32) * std

        C, F_, H, Hkv, D = self.C, self.F, self.H, self.Hkv, self.D
        W = {"model.embed_tokens.weight": randn(self.V, C, std=0.25)}
        for i, kind in enumerate(self.layer_types):
            p = f"model.layers.{i}."
            W[p + "operator_norm.weight"] = 1.0 + randn(C, std=0.1)
            if kind == "conv":
                W[p + "conv.in_proj.weight"] = randn(3 * C, C, std=2.0 / C ** 0.5)
                W[p + "conv.conv.weight"] = randn(C, 1, self.K, std=0.6)
                W[p + "conv.out_proj.weight"] = randn(C, C, std=1.0 / C ** 0.5)
                if self.conv_bias:
                    W[p + "conv.in_proj.bias"] = randn(3 * C, std=0.3)
                    W[p + "conv.conv.bias"] = randn(C, std=0.3)
                    W[p + "conv.out_proj.bias"] = randn(C, std=0.3)
            else:
                W[p + "self_attn.q_proj.weight"] = randn(H * D, C, std=2.0 / C ** 0.5)
                W[p + "self_attn.k_proj.weight"] = randn(Hkv * D, C, std=2.0 / C ** 0.5)
                W[p + "self_attn.v_proj.weight"] = randn(Hkv * D, C, std=1.0 / C ** 0.5)
                W[p + "self_attn.out_proj.weight"] = randn(C, H * D, std=1.0 / (H * D) ** 0.5)
                W[p + "self_attn.q_layernorm.weight"] = 1.0 + randn(D, std=0.3)
                W[p + "self_attn.k_layernorm.weight"] = 1.0 + randn(D, std=0.3)
            W[p + "ffn_norm.weight"] = 1.0 + randn(C, std=0.1)
            W[p + "feed_forward.w1.weight"] = randn(F_, C, std=1.0 / C ** 0.5)
            W[p + "feed_forward.w3.weight"] = randn(F_, C, std=1.0 / C ** 0.5)
            W[p + "feed_forward.w2.weight"] = randn(C, F_, std=1.0 / F_ ** 0.5)
        W["model.embedding_norm.weight"] = 1.0 + randn(C, std=0.1)
        if not self.tied:
            W["lm_head.weight"] = randn(self.V, C, std=0.25)
        return W


def short_conv_gates(cfg, W, p, h, lora):
    """in_proj, transposed and cut into B, C, x: (Bx [B, C, T], C-gate [B, C, T])."""
    BCx = linear(h, W, p + "in_proj", lora).transpose(-1, -2)
    Bg, Cg, x = BCx.chunk(3, dim=-2)
    return (Bg * x if cfg.switches["gating"] else x), Cg


def short_conv_out(cfg, W, p, conv_out, Cg, lora):
    y = Cg * conv_out if cfg.switches["gating"] else conv_out
    return linear(y.transpose(-1, -2).contiguous(), W, p + "out_proj", lora)


def short_conv(cfg, W, p, h, lora):
    """Lfm2ShortConv.slow_forward without a cache."""
    T = h.shape[1]
    Bx, Cg = short_conv_gates(cfg, W, p, h, lora)
    if cfg.switches["conv"]:
        conv_out = F.conv1d(Bx, W[p + "conv.weight"], W.get(p + "conv.bias"), padding=cfg.K - 1, groups=cfg.C)[..., :T]
    else:
        conv_out = Bx
    return short_conv_out(cfg, W, p, conv_out, Cg, lora)


def attention_qkv(cfg, W, p, h, cos, sin, lora):
    """Lfm2Attention before the cache: q [B, H, T, D], k, v [B, Hkv, T, D]."""
    B, T, _ = h.shape
    q = linear(h, W, p + "q_proj", lora).view(B, T, -1, cfg.D)
    k = linear(h, W, p + "k_proj", lora).view(B, T, -1, cfg.D)
    if cfg.switches["qk_norm"]:
        q, k = rms_norm(q, W[p + "q_layernorm.weight"], cfg.eps), rms_norm(k, W[p + "k_layernorm.weight"], cfg.eps)
    q, k = q.transpose(1, 2), k.transpose(1, 2)
    v = linear(h, W, p + "v_proj", lora).view(B, T, -1, cfg.D).transpose(1, 2)
    return q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin, v


def feed_forward(cfg, W, p, x, lora):
    h = rms_norm(x, W[p + "ffn_norm.weight"], cfg.eps)
    return linear(F.silu(linear(h, W, p + "feed_forward.w1", lora)) * linear(h, W, p + "feed_forward.w3", lora), W,
                  p + "feed_forward.w2", lora)


def rope_tables(cfg, T, dtype):
    inv = 1.0 / (cfg.theta ** (torch.arange(0, cfg.D, 2, dtype=torch.int64).to(dtype) / cfg.D))
    return rope_cos_sin(inv, T)


def lfm2_forward(cfg, W, input_ids, lora=None, attn_fn=attention):
    """Lfm2ForCausalLM: logits [B, T, V], positions 0..T-1."""
    B, T = input_ids.shape
    cos, sin = rope_tables(cfg, T, W["model.embed_tokens.weight"].dtype)
    visible = visible_mask(T, None)
    x = W["model.embed_tokens.weight"][input_ids]
    for i, kind in enumerate(cfg.layer_types):
        p = f"model.layers.{i}."
        h = rms_norm(x, W[p + "operator_norm.weight"], cfg.eps)
        if kind == "conv":
            x = x + short_conv(cfg, W, p + "conv.", h, lora)
        else:
            q, k, v = attention_qkv(cfg, W, p + "self_attn.", h, cos, sin, lora)
            a = attn_fn(q, k, v, visible).transpose(1, 2).reshape(B, T, -1)
            x = x + linear(a, W, p + "self_attn.out_proj", lora)
        x = x + feed_forward(cfg, W, p, x, lora)
    x = rms_norm(x, W["model.embedding_norm.weight"], cfg.eps)
    head = W["model.embed_tokens.weight"] if cfg.tied else W["lm_head.weight"]
    return x @ head.t()
