"""Plain-torch reference of the Hugging Face Llama family (llama, mistral, qwen2) causal LM forward,
computed the way transformers' eager float32 path computes it, plus PEFT-style LoRA and the HF
causal-LM loss. Dimension letters: B batch, T tokens, C hidden, H heads, Hkv kv heads, D head dim,
F ffn, V vocab, R LoRA rank.
"""
import math

import torch
import torch.nn.functional as F


class Cfg:
    """The config.json fields the forward needs, with transformers' defaults (4.x or 5.x layout)."""

    DEFAULT_THETA = {"smollm3": 2000000.0}

    def __init__(self, c: dict):
        self.model_type = c["model_type"]
        self.C = c["hidden_size"]
        self.F = c["intermediate_size"]
        self.L = c["num_hidden_layers"]
        self.H = c["num_attention_heads"]
        self.Hkv = c.get("num_key_value_heads") or self.H
        self.D = c.get("head_dim") or (128 if self.model_type == "qwen3" else self.C // self.H)
        self.V = c["vocab_size"]
        self.eps = c["rms_norm_eps"]
        self.max_positions = c.get("max_position_embeddings", 2048)
        # transformers 5: rope_scaling (4.x) or rope_parameters; rope_theta inside wins over the top level
        rp = c.get("rope_scaling") or c.get("rope_parameters") or {}
        self.theta = float(rp.get("rope_theta", c.get("rope_theta", self.DEFAULT_THETA.get(self.model_type, 10000.0))))
        self.rope_scaling = rp if rp.get("rope_type", rp.get("type", "default")) != "default" else None
        self.tied = bool(c.get("tie_word_embeddings", self.model_type == "smollm3"))
        # qwen2/qwen3 carry sliding_window but only apply it when use_sliding_window is true
        window = c.get("sliding_window")
        if self.model_type in ("qwen2", "qwen3") and not c.get("use_sliding_window", False):
            window = None
        self.sliding_window = window
        self.layer_types = c.get("layer_types") or ["full_attention"] * self.L
        llama_bias = self.model_type in ("llama", "qwen3", "smollm3", "granite") and bool(c.get("attention_bias", False))
        self.qkv_bias = self.model_type == "qwen2" or llama_bias
        self.o_bias = llama_bias
        self.mlp_bias = self.model_type in ("llama", "smollm3", "granite") and bool(c.get("mlp_bias", False))
        self.qk_norm = self.model_type == "qwen3"
        interval = c.get("no_rope_layer_interval", 4)
        self.no_rope_layers = c.get("no_rope_layers") or [int((i + 1) % interval != 0) for i in range(self.L)]
        self.embedding_multiplier = c.get("embedding_multiplier", 1.0)
        self.attention_multiplier = c.get("attention_multiplier", 1.0)
        self.residual_multiplier = c.get("residual_multiplier", 1.0)
        self.logits_scaling = c.get("logits_scaling", 1.0)


def rope_inv_freq(cfg: Cfg, dtype=torch.float32) -> torch.Tensor:
    """[D/2] inverse frequencies, transformers' _compute_*_rope_parameters (default/linear/llama3)."""
    D = cfg.D
    inv_freq = 1.0 / (cfg.theta ** (torch.arange(0, D, 2, dtype=torch.int64).to(dtype) / D))
    rs = cfg.rope_scaling
    if not rs:
        return inv_freq
    kind = rs.get("rope_type", rs.get("type"))
    if kind == "default":
        return inv_freq
    if kind == "linear":
        # transformers >= 4.45 divides inv_freq by the factor (older releases divided positions)
        return inv_freq / rs["factor"]
    if kind == "llama3":
        factor = rs["factor"]
        low, high = rs["low_freq_factor"], rs["high_freq_factor"]
        old_ctx = rs["original_max_position_embeddings"]
        low_wavelen, high_wavelen = old_ctx / low, old_ctx / high
        wavelen = 2 * math.pi / inv_freq
        scaled = torch.where(wavelen > low_wavelen, inv_freq / factor, inv_freq)
        smooth = (old_ctx / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        is_medium = ~(wavelen < high_wavelen) * ~(wavelen > low_wavelen)
        return torch.where(is_medium, smoothed, scaled)
    if kind == "yarn":
        return _yarn_inv_freq(cfg, rs, dtype)[0]
    raise ValueError(f"unsupported rope scaling {rs}")


def _yarn_inv_freq(cfg: Cfg, rs: dict, dtype) -> tuple[torch.Tensor, float]:
    """transformers 5's _compute_yarn_parameters: (inv_freq [D/2], attention_factor)."""
    base, dim = cfg.theta, cfg.D
    factor = rs["factor"]
    if "original_max_position_embeddings" in rs:
        original = rs["original_max_position_embeddings"]
        factor = cfg.max_positions / original
    else:
        original = cfg.max_positions

    def get_mscale(scale, mscale=1):
        return 1.0 if scale <= 1 else 0.1 * mscale * math.log(scale) + 1.0

    attention_factor = rs.get("attention_factor")
    if attention_factor is None:
        if rs.get("mscale") and rs.get("mscale_all_dim"):
            attention_factor = float(get_mscale(factor, rs["mscale"]) / get_mscale(factor, rs["mscale_all_dim"]))
        else:
            attention_factor = get_mscale(factor)
    beta_fast, beta_slow = rs.get("beta_fast") or 32, rs.get("beta_slow") or 1

    def correction_dim(rotations):
        return (dim * math.log(original / (rotations * 2 * math.pi))) / (2 * math.log(base))

    low, high = correction_dim(beta_fast), correction_dim(beta_slow)
    if rs.get("truncate", True):
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, dim - 1)
    if low == high:
        high += 0.001
    ramp = torch.clamp((torch.arange(dim // 2, dtype=torch.float32) - low) / (high - low), 0, 1)
    pos_freqs = base ** (torch.arange(0, dim, 2).float() / dim)
    extrapolation, interpolation = 1.0 / pos_freqs, 1.0 / (factor * pos_freqs)
    keep = 1 - ramp
    return (interpolation * (1 - keep) + extrapolation * keep).to(dtype), attention_factor


def rope_attention_factor(cfg: Cfg) -> float:
    """YaRN scales cos and sin by its attention factor; 1 for the other RoPE types."""
    rs = cfg.rope_scaling
    if rs and rs.get("rope_type", rs.get("type")) == "yarn":
        return _yarn_inv_freq(cfg, rs, torch.float32)[1]
    return 1.0


def rope_cos_sin(inv_freq: torch.Tensor, T: int, attention_factor: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """cos, sin [T, D] for positions 0..T-1: emb = cat(freqs, freqs), freqs = pos * inv_freq."""
    pos = torch.arange(T, dtype=inv_freq.dtype)
    freqs = (inv_freq[:, None] @ pos[None, :]).transpose(0, 1)  # [T, D/2]
    emb = torch.cat((freqs, freqs), dim=-1)
    if attention_factor == 1.0:
        return emb.cos(), emb.sin()
    return emb.cos() * attention_factor, emb.sin() * attention_factor


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rms_norm(x: torch.Tensor, w: torch.Tensor, eps: float) -> torch.Tensor:
    var = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def visible_mask(T: int, sliding_window) -> torch.Tensor:
    """[T, T] bool: key j is visible from query i iff j <= i and (no window or i - j < window)."""
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    vis = j <= i
    if sliding_window is not None:
        vis = vis & (i - j < sliding_window)
    return vis


def attention(q, k, v, visible, scaling=None, softcap=None) -> torch.Tensor:
    """Eager attention. q [B, H, T, D], k/v [B, Hkv, T, D] (repeat_kv to H), visible [T, T]; scores are
    multiplied by `scaling` (default D ** -0.5), then soft-capped as softcap * tanh(s / softcap) when given
    (Gemma's eager_attention_forward), then masked."""
    n_rep = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(n_rep, dim=1)
    v = v.repeat_interleave(n_rep, dim=1)
    scale = q.shape[-1] ** -0.5 if scaling is None else scaling
    scores = (q @ k.transpose(2, 3)) * scale  # [B, H, T, T]
    if softcap is not None:
        scores = torch.tanh(scores / softcap) * softcap
    scores = scores.masked_fill(~visible, torch.finfo(scores.dtype).min)
    probs = F.softmax(scores, dim=-1, dtype=scores.dtype)
    return probs @ v  # [B, H, T, D]


def attention_naive(q, k, v, visible, scaling=None, softcap=None) -> torch.Tensor:
    """Per-(batch, head, query) loop version of attention(), used only as a self-check."""
    B, H, T, D = q.shape
    scale = 1 / math.sqrt(D) if scaling is None else scaling
    out = torch.zeros_like(q)
    group = H // k.shape[1]
    for b in range(B):
        for h in range(H):
            hk = h // group  # GQA: query head h reads kv head h // (H / Hkv)
            for i in range(T):
                js = [j for j in range(T) if visible[i, j]]
                s = torch.stack([(q[b, h, i] * k[b, hk, j]).sum() * scale for j in js])
                if softcap is not None:
                    s = softcap * torch.tanh(s / softcap)
                p = torch.exp(s - s.max())
                p = p / p.sum()
                out[b, h, i] = sum(p[n] * v[b, hk, j] for n, j in enumerate(js))
    return out


class Lora:
    """PEFT LoRA: y = base(x) + (x @ A^T @ B^T) * scaling for each targeted module prefix."""

    def __init__(self, weights: dict, r: int, alpha: float, use_rslora: bool):
        self.weights = weights  # {"model.layers.0.self_attn.q_proj": (A [R, in], B [out, R])}
        self.scaling = alpha / math.sqrt(r) if use_rslora else alpha / r


def linear(x, W: dict, prefix: str, lora: Lora | None):
    y = x @ W[prefix + ".weight"].t()
    bias = W.get(prefix + ".bias")
    if bias is not None:
        y = y + bias
    if lora is not None and prefix in lora.weights:
        A, Bm = lora.weights[prefix]
        y = y + (x @ A.t() @ Bm.t()) * lora.scaling
    return y


def forward(cfg: Cfg, W: dict, input_ids: torch.Tensor, lora: Lora | None = None,
            attn_fn=attention) -> torch.Tensor:
    """Logits [B, T, V] for input_ids [B, T] with positions 0..T-1; W holds tensors of one dtype."""
    if cfg.model_type in ("qwen3", "smollm3", "granite"):
        from families_ref import FORWARDS  # the families built on these helpers

        return FORWARDS[cfg.model_type](cfg, W, input_ids, lora, attn_fn)
    if cfg.model_type in ("phi3", "falcon", "bloom"):
        from fused_ref import FORWARDS as FUSED  # Phi-3, Falcon, BLOOM: their own config classes (fused_ref.CFGS)

        return FUSED[cfg.model_type](cfg, W, input_ids, lora, attn_fn)
    if cfg.model_type in ("qwen3_5_text", "qwen3_5", "lfm2"):
        from hybrid_ref import FORWARDS as HYBRID  # Qwen3.5 and LFM2: their own config classes (hybrid_ref.CFGS)

        return HYBRID[cfg.model_type](cfg, W, input_ids, lora, attn_fn)
    if cfg.model_type.startswith("gemma"):
        from gemma_ref import gemma_forward  # Gemma 2/3/4, their own config class (gemma_ref.GemmaCfg)

        return gemma_forward(cfg, W, input_ids, lora, attn_fn)
    dtype = W["model.embed_tokens.weight"].dtype
    B, T = input_ids.shape
    H, Hkv, D = cfg.H, cfg.Hkv, cfg.D
    cos, sin = rope_cos_sin(rope_inv_freq(cfg, dtype), T, rope_attention_factor(cfg))  # [T, D]
    visible = visible_mask(T, cfg.sliding_window)
    x = W["model.embed_tokens.weight"][input_ids]  # [B, T, C]
    for layer in range(cfg.L):
        p = f"model.layers.{layer}."
        h = rms_norm(x, W[p + "input_layernorm.weight"], cfg.eps)
        q = linear(h, W, p + "self_attn.q_proj", lora).view(B, T, H, D).transpose(1, 2)
        k = linear(h, W, p + "self_attn.k_proj", lora).view(B, T, Hkv, D).transpose(1, 2)
        v = linear(h, W, p + "self_attn.v_proj", lora).view(B, T, Hkv, D).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        a = attn_fn(q, k, v, visible).transpose(1, 2).reshape(B, T, H * D)
        x = x + linear(a, W, p + "self_attn.o_proj", lora)
        h = rms_norm(x, W[p + "post_attention_layernorm.weight"], cfg.eps)
        g = linear(h, W, p + "mlp.gate_proj", lora)
        u = linear(h, W, p + "mlp.up_proj", lora)
        x = x + linear(F.silu(g) * u, W, p + "mlp.down_proj", lora)
    x = rms_norm(x, W["model.norm.weight"], cfg.eps)
    head = W["model.embed_tokens.weight"] if cfg.tied else W["lm_head.weight"]
    return x @ head.t()


def causal_lm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """HF ForCausalLMLoss: position t predicts labels[t + 1]; mean over targets != -100."""
    V = logits.shape[-1]
    shift_labels = F.pad(labels, (0, 1), value=-100)[..., 1:]  # [B, T]
    lp = torch.log_softmax(logits.reshape(-1, V), dim=-1)
    tgt = shift_labels.reshape(-1)
    keep = tgt != -100
    picked = lp[keep].gather(1, tgt[keep][:, None])[:, 0]
    return -picked.sum() / keep.sum()


def greedy(cfg: Cfg, W: dict, prompt: list, max_new_tokens: int, lora=None) -> tuple[list, float]:
    """Greedy argmax continuation by full recompute; returns (new tokens, smallest top1-top2 gap)."""
    ids = list(prompt)
    out, min_gap = [], float("inf")
    for _ in range(max_new_tokens):
        with torch.no_grad():
            last = forward(cfg, W, torch.tensor([ids]), lora)[0, -1]
        top2 = torch.topk(last, 2).values
        min_gap = min(min_gap, float(top2[0] - top2[1]))
        nxt = int(torch.argmax(last))
        ids.append(nxt)
        out.append(nxt)
    return out, min_gap
