"""Plain-torch port of transformers' BLOOM causal LM (modeling_bloom.py / configuration_bloom.py of transformers 5,
eager attention, float32), step by step: word embeddings followed by word_embeddings_layernorm, ALiBi (float32
slopes * key position, added as baddbmm's input: s = alibi + q.k / sqrt(D)), query_key_value fused per head as
[H][3][D], LayerNorm with bias everywhere, bloom_gelu (the tanh form), apply_residual_connection_post_layernorm,
tied LM head.
Dimension letters: B batch, T tokens, C hidden, H heads, D head dim, V vocab.
"""
import copy

import torch

from alibi_ref import alibi_bias, biased_attention, biased_attention_naive, layer_norm
from llama_ref import attention_naive, linear, visible_mask


def bloom_gelu(x):
    """bloom_gelu_forward: x * 0.5 * (1 + tanh(0.79788456 * x * (1 + 0.044715 * x * x)))."""
    return x * 0.5 * (1.0 + torch.tanh(0.79788456 * x * (1 + 0.044715 * x * x)))


class BloomCfg:
    """The config.json fields the BLOOM forward needs, with BloomConfig's defaults and its n_head / n_layer
    attribute names."""

    def __init__(self, c: dict):
        self.model_type = "bloom"
        self.C = c.get("hidden_size") or c.get("n_embed") or 64
        self.H = c.get("num_attention_heads") or c.get("n_head") or 8
        self.L = c.get("num_hidden_layers") or c.get("n_layer") or 2
        self.D = self.C // self.H
        self.V = c.get("vocab_size", 250880)
        self.eps = c.get("layer_norm_epsilon", 1e-5)
        self.post_ln_residual = bool(c.get("apply_residual_connection_post_layernorm", False))
        self.tied = bool(c.get("tie_word_embeddings", True))
        self.rope_scaling = None  # read by the generic self-checks
        self.sliding_window = None
        self.qkv_bias = False
        self.switches = {"alibi": True, "embed_norm": True}

    def without(self, feature):
        alt = copy.copy(self)
        alt.switches = dict(self.switches, **{feature: False})
        return alt

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

        C = self.C
        W = {"transformer.word_embeddings.weight": randn(self.V, C, std=0.5)}
        norms = ["transformer.word_embeddings_layernorm"]
        for i in range(self.L):
            p = f"transformer.h.{i}."
            norms += [p + "input_layernorm", p + "post_attention_layernorm"]
            for n, rows, cols, gain in [("self_attention.query_key_value", 3 * C, C, 2.0), ("self_attention.dense", C, C, 1.0),
                                        ("mlp.dense_h_to_4h", 4 * C, C, 1.0), ("mlp.dense_4h_to_h", C, 4 * C, 1.0)]:
                W[p + n + ".weight"] = randn(rows, cols, std=gain / cols ** 0.5)
                W[p + n + ".bias"] = randn(rows, std=0.3)
        norms.append("transformer.ln_f")
        for n in norms:
            W[n + ".weight"] = 1.0 + randn(C, std=0.2)
            W[n + ".bias"] = randn(C, std=0.2)
        if not self.tied:
            W["lm_head.weight"] = randn(self.V, C, std=0.25)
        return W


def bloom_forward(cfg: BloomCfg, W: dict, input_ids, lora=None, attn_fn=None):
    """BloomModel + BloomForCausalLM: logits [B, T, V] with positions 0..T-1."""
    B, T = input_ids.shape
    H, D = cfg.H, cfg.D
    x = W["transformer.word_embeddings.weight"][input_ids]
    if cfg.switches["embed_norm"]:
        x = layer_norm(x, W, "transformer.word_embeddings_layernorm", cfg.eps)
    bias = alibi_bias(H, T, x.dtype, bf16=False)
    if not cfg.switches["alibi"]:
        bias = torch.zeros_like(bias)
    visible = visible_mask(T, None)
    attend = biased_attention_naive if attn_fn is attention_naive else biased_attention
    for i in range(cfg.L):
        p = f"transformer.h.{i}."
        h = layer_norm(x, W, p + "input_layernorm", cfg.eps)
        residual = h if cfg.post_ln_residual else x
        g = linear(h, W, p + "self_attention.query_key_value", lora).view(B, T, H, 3, D)
        q, k, v = (g[..., j, :].transpose(1, 2) for j in range(3))
        a = attend(q, k, v, visible, bias, D ** -0.5, False).transpose(1, 2).reshape(B, T, H * D)
        x = linear(a, W, p + "self_attention.dense", lora) + residual
        h = layer_norm(x, W, p + "post_attention_layernorm", cfg.eps)
        residual = h if cfg.post_ln_residual else x
        x = linear(bloom_gelu(linear(h, W, p + "mlp.dense_h_to_4h", lora)), W, p + "mlp.dense_4h_to_h", lora) + residual
    x = layer_norm(x, W, "transformer.ln_f", cfg.eps)
    head = W["transformer.word_embeddings.weight"] if cfg.tied else W["lm_head.weight"]
    return x @ head.t()


def feature_checks(cfg: BloomCfg, W, ids, logits, forward):
    """ALiBi and the embedding LayerNorm each move the logits by > 1e-2."""
    moved = {}
    for f in ("alibi", "embed_norm"):
        with torch.no_grad():
            other = forward(cfg.without(f), W, ids)
        moved[f] = float((other - logits).abs().max())
        assert moved[f] > 1e-2, f"{f} changes the logits by only {moved[f]}"
    print("  features: " + ", ".join(f"{k} {v:.3f}" for k, v in moved.items()))
