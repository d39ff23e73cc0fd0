"""Plain-torch ports of transformers' Qwen3, SmolLM3 and Granite causal LMs (eager attention, float32), each
following its modeling file step by step (modeling_qwen3.py, modular_smollm3.py, modular_granite.py), with
llama_ref's shared helpers (RMSNorm, rotate-half RoPE, GQA attention, PEFT LoRA linears).
Dimension letters: B batch, T tokens, C hidden, H heads, Hkv kv heads, D head dim, V vocab.
"""
import torch
import torch.nn.functional as F

from llama_ref import (attention, linear, rms_norm, rope_attention_factor, rope_cos_sin, rope_inv_freq, rotate_half,
                       visible_mask)


def _rope(x, cos, sin):
    """apply_rotary_pos_emb on one of q/k [B, heads, T, D]."""
    return x * cos + rotate_half(x) * sin


def _mlp(h, W, p, lora):
    """LlamaMLP / Qwen3MLP: down(silu(gate(h)) * up(h))."""
    return linear(F.silu(linear(h, W, p + "mlp.gate_proj", lora)) * linear(h, W, p + "mlp.up_proj", lora),
                  W, p + "mlp.down_proj", lora)


def _head(cfg, W, x):
    x = rms_norm(x, W["model.norm.weight"], cfg.eps)
    head = W["model.embed_tokens.weight"] if cfg.tied else W["lm_head.weight"]
    return x @ head.t()


def _qkv(cfg, W, p, h, lora):
    """q [B, T, H, D], k [B, T, Hkv, D] (per-head views, not yet transposed) and v [B, Hkv, T, D]."""
    B, T = h.shape[:2]
    q = linear(h, W, p + "self_attn.q_proj", lora).view(B, T, cfg.H, cfg.D)
    k = linear(h, W, p + "self_attn.k_proj", lora).view(B, T, cfg.Hkv, cfg.D)
    v = linear(h, W, p + "self_attn.v_proj", lora).view(B, T, cfg.Hkv, cfg.D).transpose(1, 2)
    return q, k, v


def _attn_out(W, p, q, k, v, visible, lora, attn_fn, **kw):
    """Attention over q [B, H, T, D], k/v [B, Hkv, T, D], then o_proj: [B, T, C]."""
    a = attn_fn(q, k, v, visible, **kw).transpose(1, 2)
    return linear(a.reshape(*a.shape[:2], -1), W, p + "self_attn.o_proj", lora)


def _layer_visible(cfg, layer, T):
    sliding = cfg.layer_types[layer] == "sliding_attention" and cfg.sliding_window is not None
    return visible_mask(T, cfg.sliding_window if sliding else None)


def qwen3_forward(cfg, W, input_ids, lora=None, attn_fn=attention):
    """Qwen3Attention: q_norm / k_norm (RMSNorm over head_dim) on the per-head views, then RoPE."""
    T = input_ids.shape[1]
    cos, sin = rope_cos_sin(rope_inv_freq(cfg, W["model.embed_tokens.weight"].dtype), T, rope_attention_factor(cfg))
    x = W["model.embed_tokens.weight"][input_ids]
    for layer in range(cfg.L):
        p = f"model.layers.{layer}."
        residual = x
        h = rms_norm(x, W[p + "input_layernorm.weight"], cfg.eps)
        q, k, v = _qkv(cfg, W, p, h, lora)
        if cfg.qk_norm:  # always for Qwen3; off only in the self-check that the norms matter
            q = rms_norm(q, W[p + "self_attn.q_norm.weight"], cfg.eps)
            k = rms_norm(k, W[p + "self_attn.k_norm.weight"], cfg.eps)
        q, k = _rope(q.transpose(1, 2), cos, sin), _rope(k.transpose(1, 2), cos, sin)
        x = residual + _attn_out(W, p, q, k, v, _layer_visible(cfg, layer, T), lora, attn_fn)
        residual = x
        x = residual + _mlp(rms_norm(x, W[p + "post_attention_layernorm.weight"], cfg.eps), W, p, lora)
    return _head(cfg, W, x)


def smollm3_forward(cfg, W, input_ids, lora=None, attn_fn=attention):
    """SmolLM3Attention: LlamaAttention that skips RoPE where no_rope_layers[layer] == 0."""
    T = input_ids.shape[1]
    cos, sin = rope_cos_sin(rope_inv_freq(cfg, W["model.embed_tokens.weight"].dtype), T, rope_attention_factor(cfg))
    x = W["model.embed_tokens.weight"][input_ids]
    for layer in range(cfg.L):
        p = f"model.layers.{layer}."
        residual = x
        h = rms_norm(x, W[p + "input_layernorm.weight"], cfg.eps)
        q, k, v = _qkv(cfg, W, p, h, lora)
        q, k = q.transpose(1, 2), k.transpose(1, 2)
        if cfg.no_rope_layers[layer]:
            q, k = _rope(q, cos, sin), _rope(k, cos, sin)
        x = residual + _attn_out(W, p, q, k, v, _layer_visible(cfg, layer, T), lora, attn_fn)
        residual = x
        x = residual + _mlp(rms_norm(x, W[p + "post_attention_layernorm.weight"], cfg.eps), W, p, lora)
    return _head(cfg, W, x)


def granite_forward(cfg, W, input_ids, lora=None, attn_fn=attention):
    """GraniteModel: embeddings * embedding_multiplier; attention scaling = attention_multiplier; each block
    adds output * residual_multiplier; GraniteForCausalLM divides the logits by logits_scaling."""
    T = input_ids.shape[1]
    cos, sin = rope_cos_sin(rope_inv_freq(cfg, W["model.embed_tokens.weight"].dtype), T, rope_attention_factor(cfg))
    visible = visible_mask(T, None)
    x = W["model.embed_tokens.weight"][input_ids] * cfg.embedding_multiplier
    for layer in range(cfg.L):
        p = f"model.layers.{layer}."
        residual = x
        h = rms_norm(x, W[p + "input_layernorm.weight"], cfg.eps)
        q, k, v = _qkv(cfg, W, p, h, lora)
        q, k = _rope(q.transpose(1, 2), cos, sin), _rope(k.transpose(1, 2), cos, sin)
        a = _attn_out(W, p, q, k, v, visible, lora, attn_fn, scaling=cfg.attention_multiplier)
        x = residual + a * cfg.residual_multiplier
        residual = x
        h = rms_norm(x, W[p + "post_attention_layernorm.weight"], cfg.eps)
        x = residual + _mlp(h, W, p, lora) * cfg.residual_multiplier
    return _head(cfg, W, x) / cfg.logits_scaling


FORWARDS = {"qwen3": qwen3_forward, "smollm3": smollm3_forward, "granite": granite_forward}
