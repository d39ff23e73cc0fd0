"""Plain-torch port of transformers' Phi-3 causal LM (Phi-3, Phi-3.5, Phi-4, Phi-4-mini), eager attention in
float32, following modeling_phi3.py / configuration_phi3.py of transformers 5 step by step: fused qkv_proj split
[q | k | v], fused gate_up_proj chunked [gate | up], partial rotary (the first int(D * partial_rotary_factor) dims of
each head rotate, the rest pass), LongRoPE ("longrope", also written "su" or "yarn" in old Phi-3 configs) with the
short/long factor switch on max(position) + 1 > original_max_position_embeddings and the attention factor on
cos/sin, sliding-window attention when the config has sliding_window.
Dimension letters: B batch, T tokens, C hidden, H heads, Hkv kv heads, D head dim, R rotary dims, F ffn, V vocab.
"""
import copy
import math

import torch
import torch.nn.functional as F

from llama_ref import attention, linear, rms_norm, rotate_half, visible_mask


class Phi3Cfg:
    """The config.json fields the Phi-3 forward needs, with Phi3Config's defaults (4.x or 5.x layout)."""

    def __init__(self, c: dict):
        self.model_type = c["model_type"]
        self.C, self.L = c.get("hidden_size", 3072), c.get("num_hidden_layers", 32)
        self.H = c.get("num_attention_heads", 32)
        self.Hkv = c.get("num_key_value_heads") or self.H
        self.D = c.get("head_dim") or self.C // self.H
        self.F, self.V = c.get("intermediate_size", 8192), c.get("vocab_size", 32064)
        self.eps = c.get("rms_norm_eps", 1e-5)
        self.max_positions = c.get("max_position_embeddings", 4096)
        # Phi3Config always has original_max_position_embeddings (default 4096) and it wins over the rope dict's
        self.original_max = c.get("original_max_position_embeddings", 4096)
        rp = dict(c.get("rope_scaling") or c.get("rope_parameters") or {})
        self.theta = float(rp.get("rope_theta", c.get("rope_theta", 10000.0)))
        # standardize_rope_params: a top-level partial_rotary_factor overrides the rope dict's
        self.partial = float(c.get("partial_rotary_factor", rp.get("partial_rotary_factor", 1.0)))
        kind = rp.get("rope_type", rp.get("type", "default"))
        if kind in ("su", "yarn"):  # Phi3Config.convert_rope_params_to_dict: old names of longrope
            kind = "longrope"
        self.rope_scaling = dict(rp, rope_type=kind) if kind != "default" else None
        self.tied = bool(c.get("tie_word_embeddings", False))
        self.sliding_window = c.get("sliding_window")
        self.qkv_bias = False  # read by the generic self-checks
        self.switches = {"partial": True, "window": True, "long": True}

    @property
    def R(self) -> int:
        """Rotary dims per head (all of D without partial rotary)."""
        return int(self.D * self.partial) if self.switches["partial"] else self.D

    def without(self, feature):
        alt = copy.copy(self)
        alt.switches = dict(self.switches, **{feature: False})
        return alt

    def lora_prefixes(self):
        """PEFT all-linear on Phi-3: the fused qkv_proj and gate_up_proj are one target each."""
        out = []
        for i in range(self.L):
            p = f"model.layers.{i}."
            out += [p + "self_attn.qkv_proj", p + "self_attn.o_proj", p + "mlp.gate_up_proj", p + "mlp.down_proj"]
        return out

    def init_weights(self, seed: int) -> dict:
        g = torch.Generator().manual_seed(seed)

        def randn(*shape, std):
            return torch.randn(*shape, generator=g, dtype=torch.float32) * std

        C, F_, H, Hkv, D = self.C, self.F, self.H, self.Hkv, self.D
        W = {"model.embed_tokens.weight": randn(self.V, C, std=0.25)}
        for i in range(self.L):
            p = f"model.layers.{i}."
            W[p + "input_layernorm.weight"] = 1.0 + randn(C, std=0.1)
            W[p + "self_attn.qkv_proj.weight"] = randn((H + 2 * Hkv) * D, C, std=2.0 / C ** 0.5)
            W[p + "self_attn.o_proj.weight"] = randn(C, H * D, std=1.0 / (H * D) ** 0.5)
            W[p + "post_attention_layernorm.weight"] = 1.0 + randn(C, std=0.1)
            W[p + "mlp.gate_up_proj.weight"] = randn(2 * F_, C, std=1.0 / C ** 0.5)
            W[p + "mlp.down_proj.weight"] = randn(C, F_, std=1.0 / F_ ** 0.5)
        W["model.norm.weight"] = 1.0 + randn(C, std=0.1)
        if not self.tied:
            W["lm_head.weight"] = randn(self.V, C, std=0.25)
        return W


def rope_tables(cfg: Phi3Cfg, T: int, dtype) -> tuple:
    """cos, sin [T, R] for positions 0..T-1 as Phi3RotaryEmbedding computes them for a forward whose largest
    position is T - 1: default inv_freq over R dims, or LongRoPE's (long factors when T > original max)."""
    R = cfg.R
    shape = torch.arange(0, R, 2, dtype=torch.int64).to(dtype) / R
    rs = cfg.rope_scaling
    scaling = 1.0
    if rs is None:
        inv = 1.0 / (cfg.theta ** shape)
    else:
        assert rs["rope_type"] == "longrope", rs
        factor = rs.get("factor")
        if factor is None:  # transformers 5: the ratio of the two context lengths when no factor is given
            factor = cfg.max_positions / cfg.original_max
        scaling = rs.get("attention_factor")
        if scaling is None:
            scaling = 1.0 if factor <= 1.0 else math.sqrt(1 + math.log(factor) / math.log(cfg.original_max))
        long = T > cfg.original_max and cfg.switches["long"]
        ext = list(rs["long_factor"] if long else rs["short_factor"])
        ext += [1.0] * (R // 2 - len(ext))  # only for the self-check that rotates whole heads
        ext = torch.tensor(ext, dtype=torch.float32).to(dtype)
        inv = 1.0 / (ext * cfg.theta ** shape)
    pos = torch.arange(T, dtype=dtype)
    freqs = (inv[:, None] @ pos[None, :]).transpose(0, 1)  # [T, R/2]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos() * scaling, emb.sin() * scaling


def partial_rope(x, cos, sin):
    """apply_rotary_pos_emb of Phi-3: rotate-half over the first R dims of x [B, heads, T, D], the rest pass."""
    R = cos.shape[-1]
    x_rot, x_pass = x[..., :R], x[..., R:]
    return torch.cat([(x_rot * cos) + (rotate_half(x_rot) * sin), x_pass], dim=-1)


def phi3_forward(cfg: Phi3Cfg, W: dict, input_ids, lora=None, attn_fn=attention):
    """Phi3Model + Phi3ForCausalLM: logits [B, T, V] with positions 0..T-1."""
    B, T = input_ids.shape
    H, Hkv, D = cfg.H, cfg.Hkv, cfg.D
    cos, sin = rope_tables(cfg, T, W["model.embed_tokens.weight"].dtype)
    window = cfg.sliding_window if cfg.switches["window"] else None
    visible = visible_mask(T, window)
    x = W["model.embed_tokens.weight"][input_ids]
    for i in range(cfg.L):
        p = f"model.layers.{i}."
        residual = x
        h = rms_norm(x, W[p + "input_layernorm.weight"], cfg.eps)
        qkv = linear(h, W, p + "self_attn.qkv_proj", lora)
        q = qkv[..., : H * D].view(B, T, H, D).transpose(1, 2)
        k = qkv[..., H * D: (H + Hkv) * D].view(B, T, Hkv, D).transpose(1, 2)
        v = qkv[..., (H + Hkv) * D:].view(B, T, Hkv, D).transpose(1, 2)
        q, k = partial_rope(q, cos, sin), partial_rope(k, cos, sin)
        a = attn_fn(q, k, v, visible).transpose(1, 2).reshape(B, T, H * D)
        x = residual + linear(a, W, p + "self_attn.o_proj", lora)
        residual = x
        h = rms_norm(x, W[p + "post_attention_layernorm.weight"], cfg.eps)
        gate, up = linear(h, W, p + "mlp.gate_up_proj", lora).chunk(2, dim=-1)
        x = residual + linear(up * F.silu(gate), W, p + "mlp.down_proj", lora)
    x = rms_norm(x, W["model.norm.weight"], cfg.eps)
    head = W["model.embed_tokens.weight"] if cfg.tied else W["lm_head.weight"]
    return x @ head.t()


def feature_checks(cfg: Phi3Cfg, W, ids, logits, forward):
    """Partial rotary, the sliding window and the long factors each move the logits by > 1e-2; positions before
    the window applies are unaffected by it."""
    feats = []
    if cfg.partial != 1.0:
        feats.append("partial")
    if cfg.sliding_window is not None and cfg.sliding_window < ids.shape[1]:
        feats.append("window")
    if cfg.rope_scaling is not None and ids.shape[1] > cfg.original_max:
        feats.append("long")
    moved = {}
    for f in feats:
        with torch.no_grad():
            other = forward(cfg.without(f), W, ids)
        moved[f] = float((other - logits).abs().max())
        assert moved[f] > 1e-2, f"{f} changes the logits by only {moved[f]}"
        if f == "window":
            early = float((other - logits)[:, : cfg.sliding_window].abs().max())
            assert early == 0.0, "the window changed positions before it applies"
    print("  features: " + ", ".join(f"{k} {v:.3f}" for k, v in moved.items()))
