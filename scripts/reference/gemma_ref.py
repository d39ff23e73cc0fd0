"""Plain-torch ports of transformers' Gemma 2, Gemma 3 and Gemma 4 text decoders (eager attention, float32), each
following its modeling file step by step (modeling_gemma2.py, modeling_gemma3.py, modeling_gemma4.py), with
llama_ref's shared helpers (rotate-half RoPE, GQA eager attention, PEFT LoRA linears). GemmaCfg reads gemma2,
gemma3_text, gemma3 (multimodal: its text_config), gemma4_text and gemma4 configs with each class's defaults.
Dimension letters: B batch, T tokens, C hidden, H heads, Hkv kv heads, D head dim, F ffn, V vocab, L layers,
P per-layer input width.
"""
import copy

import torch
import torch.nn.functional as F

from llama_ref import attention, linear, rope_cos_sin, rotate_half, visible_mask

# each config class's defaults for the fields a config.json may leave out (a wrapper's text_config is sparse)
DEFAULTS = {
    "gemma2": dict(vocab_size=256000, hidden_size=2304, intermediate_size=9216, num_hidden_layers=26,
                   num_attention_heads=8, num_key_value_heads=4, head_dim=256, max_position_embeddings=8192,
                   sliding_window=4096, query_pre_attn_scalar=256, attn_logit_softcapping=50.0,
                   final_logit_softcapping=30.0, pattern=2),
    "gemma3": dict(vocab_size=262208, hidden_size=2304, intermediate_size=9216, num_hidden_layers=26,
                   num_attention_heads=8, num_key_value_heads=4, head_dim=256, max_position_embeddings=131072,
                   sliding_window=4096, query_pre_attn_scalar=256, attn_logit_softcapping=None,
                   final_logit_softcapping=None, pattern=6),
    "gemma4": dict(vocab_size=262144, hidden_size=2304, intermediate_size=9216, num_hidden_layers=30,
                   num_attention_heads=8, num_key_value_heads=4, head_dim=256, max_position_embeddings=131072,
                   sliding_window=512, query_pre_attn_scalar=None, attn_logit_softcapping=None,
                   final_logit_softcapping=None, pattern=6),
}
FAMILY = {"gemma2": "gemma2", "gemma3_text": "gemma3", "gemma3": "gemma3", "gemma4_text": "gemma4", "gemma4": "gemma4"}


class GemmaCfg:
    """The config.json fields the Gemma forwards need. `features` switches parts off for the self-check that
    each fixture's features change the logits."""

    def __init__(self, c: dict):
        self.model_type = c["model_type"]
        self.family = FAMILY[self.model_type]
        wrapper = self.model_type in ("gemma3", "gemma4")
        t = c["text_config"] if wrapper else c
        d = DEFAULTS[self.family]
        get = lambda k: t[k] if k in t else d[k]  # noqa: E731  (absent -> class default; null stays null)
        self.prefix = "model.language_model." if wrapper else "model."
        self.C, self.F, self.L = get("hidden_size"), get("intermediate_size"), get("num_hidden_layers")
        self.H, self.Hkv, self.D = get("num_attention_heads"), get("num_key_value_heads"), get("head_dim")
        self.V, self.max_positions = get("vocab_size"), get("max_position_embeddings")
        self.eps = t.get("rms_norm_eps", 1e-6)
        self.tied = t.get("tie_word_embeddings", c.get("tie_word_embeddings", True))
        self.sliding_window = get("sliding_window")
        pattern = t.get("sliding_window_pattern", d["pattern"])
        self.layer_types = t.get("layer_types") or [
            "sliding_attention" if (i + 1) % pattern else "full_attention" for i in range(self.L)]
        qpas = get("query_pre_attn_scalar")
        self.scaling = 1.0 if qpas is None else qpas ** -0.5
        self.attn_softcap = t.get("attn_logit_softcapping", d["attn_logit_softcapping"])
        self.final_softcap = t.get("final_logit_softcapping", d["final_logit_softcapping"])
        if self.family == "gemma3":
            # as transformers 5.17 computes Gemma 3 (measured on checkpoints that set both): no attention soft-cap
            # at all, and the final soft-cap in Gemma3ForCausalLM only, not in Gemma3ForConditionalGeneration
            self.attn_softcap = None
            if wrapper:
                self.final_softcap = None
        self.ropes = self._ropes(t)
        self.features = {"attn_softcap": True, "final_softcap": True, "local_rope": True, "per_layer": True,
                         "layer_scalar": True}
        if self.family == "gemma4":
            self._gemma4(t)
        # llama_ref's helpers and the generic checks read these
        self.rope_scaling = None
        self.qkv_bias = False

    def _ropes(self, t):
        """{layer type: rope parameter dict}: 4.x rope_theta / rope_scaling / rope_local_base_freq, or 5.x
        rope_parameters per layer type (gemma3, gemma4) or one rope_parameters (gemma2)."""
        rp = t.get("rope_parameters")
        if self.family == "gemma2":
            one = dict(rp or {"rope_type": "default"})
            one.setdefault("rope_theta", t.get("rope_theta", 10000.0))
            return {"full_attention": one, "sliding_attention": one}
        if self.family == "gemma3":
            full = dict((rp or {}).get("full_attention") or {"rope_type": "default"})
            full.update(t.get("rope_scaling") or {})
            full.setdefault("rope_theta", t.get("rope_theta", 1e6))
            sliding = dict((rp or {}).get("sliding_attention") or {"rope_type": "default"})
            sliding.setdefault("rope_theta", t.get("rope_local_base_freq", 1e4))
            return {"full_attention": full, "sliding_attention": sliding}
        return rp or {"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                      "full_attention": {"rope_type": "proportional", "partial_rotary_factor": 0.25,
                                         "rope_theta": 1000000.0}}

    def _gemma4(self, t):
        self.layer_types = list(self.layer_types)
        self.layer_types[-1] = "full_attention"  # Gemma4TextConfig forces the last layer to full attention
        self.global_head_dim = t.get("global_head_dim", 512)
        self.k_eq_v = t.get("attention_k_eq_v", False)
        self.global_kv = t.get("num_global_key_value_heads") or self.Hkv
        self.P = t.get("hidden_size_per_layer_input", 256) or 0
        self.Vp = t.get("vocab_size_per_layer_input", 262144)
        first = self.L - t.get("num_kv_shared_layers", 0)
        prev = self.layer_types[:first]
        self.kv_source = [len(prev) - 1 - prev[::-1].index(self.layer_types[i]) if i >= first > 0 else None
                          for i in range(self.L)]
        self.store_kv = [i == len(prev) - 1 - prev[::-1].index(self.layer_types[i]) if self.kv_source[i] is None
                         else False for i in range(self.L)]
        double = t.get("use_double_wide_mlp", False)
        self.ffn = [self.F * (2 if double and self.kv_source[i] is not None else 1) for i in range(self.L)]

    def layer_dims(self, i):
        """(head dim, kv heads) of layer i; Gemma 4 global layers have their own."""
        if self.family != "gemma4" or self.layer_types[i] != "full_attention":
            return self.D, self.Hkv
        return self.global_head_dim or self.D, self.global_kv if self.k_eq_v else self.Hkv

    def without(self, feature):
        alt = copy.copy(self)
        alt.features = dict(self.features, **{feature: False})
        return alt

    def lora_prefixes(self):
        """Every linear module of the language model (PEFT all-linear), in model order."""
        out = [self.prefix + "per_layer_model_projection"] if self.family == "gemma4" and self.P else []
        for i in range(self.L):
            p = f"{self.prefix}layers.{i}."
            shared = self.family == "gemma4" and self.kv_source[i] is not None
            no_v = shared or (self.family == "gemma4" and self.k_eq_v and self.layer_types[i] == "full_attention")
            attn = ["q_proj"] + ([] if shared else ["k_proj"]) + ([] if no_v else ["v_proj"]) + ["o_proj"]
            out += [p + "self_attn." + n for n in attn] + [p + "mlp." + n for n in ("gate_proj", "up_proj", "down_proj")]
            if self.family == "gemma4" and self.P:
                out += [p + "per_layer_input_gate", p + "per_layer_projection"]
        return out


def inv_freq(cfg: GemmaCfg, kind: str, dim: int, dtype) -> torch.Tensor:
    """[dim/2] inverse frequencies of a layer type: default, linear (divided by factor), or Gemma 4's proportional
    RoPE (_compute_proportional_rope_parameters: rope_angles = int(p * dim // 2) frequencies over the whole head,
    the rest 0, all divided by factor)."""
    rp = cfg.ropes[kind]
    kind_ = rp.get("rope_type", rp.get("type", "default"))
    base = rp["rope_theta"]
    if kind_ == "proportional":
        angles = int(rp.get("partial_rotary_factor", 1.0) * dim // 2)
        rotated = 1.0 / (base ** (torch.arange(0, 2 * angles, 2, dtype=torch.int64).to(dtype) / dim))
        inv = torch.cat((rotated, torch.zeros(dim // 2 - angles, dtype=dtype))) if angles < dim // 2 else rotated
        return inv / rp.get("factor", 1.0)
    inv = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).to(dtype) / dim))
    if kind_ == "linear":
        return inv / rp["factor"]
    assert kind_ == "default", rp
    return inv


def _gelu(x):
    return F.gelu(x, approximate="tanh")  # ACT2FN["gelu_pytorch_tanh"]


def gemma_norm(x, w, eps):
    """Gemma2RMSNorm / Gemma3RMSNorm: x * rsqrt(mean(x^2) + eps) * (1.0 + w), in float32."""
    out = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
    return out * (1.0 + w)


def gemma4_norm(x, w, eps):
    """Gemma4RMSNorm: x * pow(mean(x^2) + eps, -0.5), times w when it has a scale."""
    out = x * torch.pow(x.pow(2).mean(-1, keepdim=True) + eps, -0.5)
    return out if w is None else out * w


def _rope(x, cos, sin):
    return x * cos + rotate_half(x) * sin


def _softcap(x, cap):
    return torch.tanh(x / cap) * cap


def _head(cfg, W, x):
    x = (gemma4_norm if cfg.family == "gemma4" else gemma_norm)(x, W[cfg.prefix + "norm.weight"], cfg.eps)
    head = W[cfg.prefix + "embed_tokens.weight"] if cfg.tied else W["lm_head.weight"]
    logits = x @ head.t()
    if cfg.final_softcap is not None and cfg.features["final_softcap"]:
        logits = _softcap(logits, cfg.final_softcap)
    return logits


def _tables(cfg, W, T, dims):
    dtype = W[cfg.prefix + "embed_tokens.weight"].dtype
    out = {}
    for kind in ("full_attention", "sliding_attention"):
        src = kind if cfg.features["local_rope"] else "full_attention"
        out[kind] = rope_cos_sin(inv_freq(cfg, src, dims[kind], dtype), T)
    return out


def gemma23_forward(cfg, W, input_ids, lora=None, attn_fn=attention):
    """Gemma2Model / Gemma3TextModel and their ForCausalLM heads."""
    B, T = input_ids.shape
    p0, E = cfg.prefix, W[cfg.prefix + "embed_tokens.weight"]
    ropes = _tables(cfg, W, T, {"full_attention": cfg.D, "sliding_attention": cfg.D})
    x = E[input_ids] * torch.tensor(cfg.C ** 0.5, dtype=E.dtype)  # the normaliser in the weights' dtype
    for i in range(cfg.L):
        p, kind = f"{p0}layers.{i}.", cfg.layer_types[i]
        residual = x
        h = gemma_norm(x, W[p + "input_layernorm.weight"], cfg.eps)
        q = linear(h, W, p + "self_attn.q_proj", lora).view(B, T, -1, cfg.D).transpose(1, 2)
        k = linear(h, W, p + "self_attn.k_proj", lora).view(B, T, -1, cfg.D).transpose(1, 2)
        v = linear(h, W, p + "self_attn.v_proj", lora).view(B, T, -1, cfg.D).transpose(1, 2)
        if cfg.family == "gemma3":
            q = gemma_norm(q, W[p + "self_attn.q_norm.weight"], cfg.eps)
            k = gemma_norm(k, W[p + "self_attn.k_norm.weight"], cfg.eps)
        cos, sin = ropes[kind]
        q, k = _rope(q, cos, sin), _rope(k, cos, sin)
        visible = visible_mask(T, cfg.sliding_window if kind == "sliding_attention" else None)
        softcap = cfg.attn_softcap if cfg.features["attn_softcap"] else None
        a = attn_fn(q, k, v, visible, scaling=cfg.scaling, softcap=softcap).transpose(1, 2).reshape(B, T, -1)
        h = gemma_norm(linear(a, W, p + "self_attn.o_proj", lora), W[p + "post_attention_layernorm.weight"], cfg.eps)
        x = residual + h
        residual = x
        h = gemma_norm(x, W[p + "pre_feedforward_layernorm.weight"], cfg.eps)
        h = linear(_gelu(linear(h, W, p + "mlp.gate_proj", lora)) * linear(h, W, p + "mlp.up_proj", lora),
                   W, p + "mlp.down_proj", lora)
        x = residual + gemma_norm(h, W[p + "post_feedforward_layernorm.weight"], cfg.eps)
    return _head(cfg, W, x)


def _per_layer_inputs(cfg, W, input_ids, x, lora):
    """Gemma4TextModel.get_per_layer_inputs + project_per_layer_inputs: [B, T, L, P]."""
    B, T = input_ids.shape
    E = W[cfg.prefix + "embed_tokens_per_layer.weight"]
    from_ids = (E[input_ids] * torch.tensor(cfg.P ** 0.5, dtype=E.dtype)).reshape(B, T, cfg.L, cfg.P)
    proj = linear(x, W, cfg.prefix + "per_layer_model_projection", lora) * cfg.C ** -0.5
    proj = gemma4_norm(proj.reshape(B, T, cfg.L, cfg.P), W[cfg.prefix + "per_layer_projection_norm.weight"], cfg.eps)
    return (proj + from_ids) * 2.0 ** -0.5


def _gemma4_attention(cfg, W, p, i, h, ropes, shared, lora, attn_fn):
    """Gemma4TextAttention: q/k normed per head over w, v normed without a scale, scaling 1, KV sharing."""
    B, T = h.shape[:2]
    D, _ = cfg.layer_dims(i)
    kind = cfg.layer_types[i]
    cos, sin = ropes[kind]
    cos, sin = cos[None, :, None, :], sin[None, :, None, :]  # apply_rotary_pos_emb(..., unsqueeze_dim=2)
    q = gemma4_norm(linear(h, W, p + "self_attn.q_proj", lora).view(B, T, -1, D), W[p + "self_attn.q_norm.weight"], cfg.eps)
    q = _rope(q, cos, sin).transpose(1, 2)
    if cfg.kv_source[i] is not None:
        k, v = shared[cfg.kv_source[i]]
    else:
        k = linear(h, W, p + "self_attn.k_proj", lora).view(B, T, -1, D)
        v = linear(h, W, p + "self_attn.v_proj", lora).view(B, T, -1, D) if p + "self_attn.v_proj.weight" in W else k
        k = _rope(gemma4_norm(k, W[p + "self_attn.k_norm.weight"], cfg.eps), cos, sin).transpose(1, 2)
        v = gemma4_norm(v, None, cfg.eps).transpose(1, 2)
        if cfg.store_kv[i]:
            shared[i] = (k, v)
    visible = visible_mask(T, cfg.sliding_window if kind == "sliding_attention" else None)
    a = attn_fn(q, k, v, visible, scaling=1.0).transpose(1, 2).reshape(B, T, -1)
    return linear(a, W, p + "self_attn.o_proj", lora)


def gemma4_forward(cfg, W, input_ids, lora=None, attn_fn=attention):
    """Gemma4TextModel and Gemma4ForCausalLM's head."""
    B, T = input_ids.shape
    E = W[cfg.prefix + "embed_tokens.weight"]
    ropes = _tables(cfg, W, T, {"full_attention": cfg.global_head_dim or cfg.D, "sliding_attention": cfg.D})
    x = E[input_ids] * torch.tensor(cfg.C ** 0.5, dtype=E.dtype)
    pli = _per_layer_inputs(cfg, W, input_ids, x, lora) if cfg.P and cfg.features["per_layer"] else None
    shared = {}
    for i in range(cfg.L):
        p = f"{cfg.prefix}layers.{i}."
        residual = x
        h = _gemma4_attention(cfg, W, p, i, gemma4_norm(x, W[p + "input_layernorm.weight"], cfg.eps), ropes, shared,
                              lora, attn_fn)
        x = residual + gemma4_norm(h, W[p + "post_attention_layernorm.weight"], cfg.eps)
        residual = x
        h = gemma4_norm(x, W[p + "pre_feedforward_layernorm.weight"], cfg.eps)
        h = linear(_gelu(linear(h, W, p + "mlp.gate_proj", lora)) * linear(h, W, p + "mlp.up_proj", lora),
                   W, p + "mlp.down_proj", lora)
        x = residual + gemma4_norm(h, W[p + "post_feedforward_layernorm.weight"], cfg.eps)
        if pli is not None:
            residual = x
            h = _gelu(linear(x, W, p + "per_layer_input_gate", lora)) * pli[:, :, i, :]
            h = gemma4_norm(linear(h, W, p + "per_layer_projection", lora), W[p + "post_per_layer_input_norm.weight"],
                            cfg.eps)
            x = residual + h
        if cfg.features["layer_scalar"]:
            x = x * W[p + "layer_scalar"]
    return _head(cfg, W, x)


def gemma_forward(cfg, W, input_ids, lora=None, attn_fn=attention):
    return (gemma4_forward if cfg.family == "gemma4" else gemma23_forward)(cfg, W, input_ids, lora, attn_fn)
