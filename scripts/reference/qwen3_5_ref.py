"""Plain-torch port of transformers' Qwen3.5 language model (modeling_qwen3_5.py / configuration_qwen3_5.py), float32
eager, step by step: Gated DeltaNet layers (in_proj_qkv / in_proj_z / in_proj_b / in_proj_a, the causal depthwise
conv1d with SiLU, q/k L2 norm in the kernel, g = -exp(A_log) softplus(a + dt_bias), beta = sigmoid(b), the gated delta
rule, RMSNormGated, out_proj) and gated attention layers (q_proj giving query and gate per head, (1 + w) q/k norms,
partial rotary, output times sigmoid(gate)), (1 + w) RMSNorms, SwiGLU MLP. The delta rule comes twice, ported from
transformers' torch fallbacks: chunked (torch_chunk_gated_delta_rule) and recurrent (torch_recurrent_gated_delta_rule);
the self-checks require them to agree. Qwen35Cfg reads qwen3_5_text and the qwen3_5 wrapper (its text_config).
Dimension letters: B batch, T tokens, C hidden, H heads, Hkv kv heads, D head dim, R rotary dims, Hk/Hv linear
query-key/value heads, Dk/Dv their dims, K conv kernel, F ffn, V vocab.
"""
import copy

import torch
import torch.nn.functional as F

from llama_ref import attention, linear, rope_cos_sin, visible_mask
from phi3_ref import partial_rope

TEXT_DEFAULTS = dict(vocab_size=248320, hidden_size=4096, intermediate_size=12288, num_hidden_layers=32,
                     num_attention_heads=16, num_key_value_heads=4, head_dim=256, max_position_embeddings=32768,
                     rms_norm_eps=1e-6, linear_conv_kernel_dim=4, linear_key_head_dim=128, linear_value_head_dim=128,
                     linear_num_key_heads=16, linear_num_value_heads=32, attention_bias=False)


class Qwen35Cfg:
    """Qwen3_5TextConfig's fields (the wrapper's text_config for model_type qwen3_5). `switches` turn features off
    for the self-check that each one moves the logits; `recurrent` runs the delta rule token by token."""

    def __init__(self, c: dict):
        self.model_type = c["model_type"]
        wrapper = self.model_type == "qwen3_5"
        t = dict(TEXT_DEFAULTS, **(c["text_config"] if wrapper else c))
        self.prefix = "model.language_model." if wrapper else "model."
        # transformers 5 builds the wrapper checkpoint as Qwen3_5ForCausalLM (layers at model.layers.*): PEFT names
        # its adapters so
        self.peft_rename = ("model.language_model.", "model.") if wrapper else None
        self.C, self.F, self.L = t["hidden_size"], t["intermediate_size"], t["num_hidden_layers"]
        self.H, self.Hkv, self.D = t["num_attention_heads"], t["num_key_value_heads"], t["head_dim"]
        self.V, self.eps, self.max_positions = t["vocab_size"], t["rms_norm_eps"], t["max_position_embeddings"]
        self.Hk, self.Hv = t["linear_num_key_heads"], t["linear_num_value_heads"]
        self.Dk, self.Dv, self.K = t["linear_key_head_dim"], t["linear_value_head_dim"], t["linear_conv_kernel_dim"]
        rp = t.get("rope_parameters") or {}
        self.theta = float(rp.get("rope_theta", t.get("rope_theta", 10000.0)))
        # Qwen3_5TextConfig sets partial_rotary_factor 0.25 unless given; a top-level value wins over the rope dict's
        self.partial = float(t.get("partial_rotary_factor", rp.get("partial_rotary_factor", 0.25)))
        every = t.get("full_attention_interval", 4)
        self.layer_types = t.get("layer_types") or [
            "full_attention" if (i + 1) % every == 0 else "linear_attention" for i in range(self.L)]
        self.tied = bool(t.get("tie_word_embeddings", c.get("tie_word_embeddings", False)))
        self.attention_bias = bool(t["attention_bias"])
        # read by the shared self-checks (checks.py)
        self.rope_scaling, self.sliding_window, self.qkv_bias = None, None, False
        self.switches = {"gate": True, "conv": True, "decay": True, "partial": True, "zero_centred": True}
        self.recurrent = False

    @property
    def R(self) -> int:
        return int(self.D * self.partial) if self.switches["partial"] else self.D

    def without(self, feature):
        alt = copy.copy(self)
        alt.switches = dict(self.switches, **{feature: False})
        return alt

    def lora_prefixes(self):
        """PEFT all-linear: every nn.Linear but lm_head (the conv1d is an nn.Conv1d, not a target)."""
        out = []
        for i, kind in enumerate(self.layer_types):
            p = f"{self.prefix}layers.{i}."
            if kind == "linear_attention":
                out += [p + "linear_attn." + n for n in ("out_proj", "in_proj_qkv", "in_proj_z", "in_proj_b", "in_proj_a")]
            else:
                out += [p + "self_attn." + n for n in ("q_proj", "k_proj", "v_proj", "o_proj")]
            out += [p + "mlp." + n for n in ("gate_proj", "up_proj", "down_proj")]
        return out

    def init_weights(self, seed: int) -> dict:
        g = torch.Generator().manual_seed(seed)

        def randn(*shape, std):
            return torch.randn(*shape, generator=g, dtype=torch.float32) * std

        C, F_, H, Hkv, D = self.C, self.F, self.H, self.Hkv, self.D
        Kd, Vd, conv = self.Hk * self.Dk, self.Hv * self.Dv, 2 * self.Hk * self.Dk + self.Hv * self.Dv
        pre = self.prefix
        W = {pre + "embed_tokens.weight": randn(self.V, C, std=0.25)}
        for i, kind in enumerate(self.layer_types):
            p = f"{pre}layers.{i}."
            W[p + "input_layernorm.weight"] = randn(C, std=0.1)  # zero-centred: the norm scales by 1 + w
            if kind == "linear_attention":
                la = p + "linear_attn."
                W[la + "in_proj_qkv.weight"] = randn(conv, C, std=2.0 / C ** 0.5)
                W[la + "in_proj_z.weight"] = randn(Vd, C, std=1.0 / C ** 0.5)
                W[la + "in_proj_b.weight"] = randn(self.Hv, C, std=0.5 / C ** 0.5)  # beta near 0.5, not ~0
                W[la + "in_proj_a.weight"] = randn(self.Hv, C, std=1.0 / C ** 0.5)
                W[la + "conv1d.weight"] = randn(conv, 1, self.K, std=0.5)
                W[la + "dt_bias"] = 1.0 + randn(self.Hv, std=0.3)
                # A in (0.02, 0.2): the state spans the 70-token batch; stronger decays leave outputs near zero, where
                # the gated RMSNorm magnifies float32 rounding past the fixture's tolerances
                W[la + "A_log"] = torch.log(0.02 + 0.18 * torch.rand(self.Hv, generator=g))
                W[la + "norm.weight"] = 1.0 + randn(self.Dv, std=0.1)
                W[la + "out_proj.weight"] = randn(C, Vd, std=1.0 / Vd ** 0.5)
            else:
                sa = p + "self_attn."
                W[sa + "q_proj.weight"] = randn(H * D * 2, C, std=2.0 / C ** 0.5)
                W[sa + "k_proj.weight"] = randn(Hkv * D, C, std=2.0 / C ** 0.5)
                W[sa + "v_proj.weight"] = randn(Hkv * D, C, std=1.0 / C ** 0.5)
                W[sa + "o_proj.weight"] = randn(C, H * D, std=1.0 / (H * D) ** 0.5)
                W[sa + "q_norm.weight"] = randn(D, std=0.3)
                W[sa + "k_norm.weight"] = randn(D, std=0.3)
            W[p + "post_attention_layernorm.weight"] = randn(C, std=0.1)
            W[p + "mlp.gate_proj.weight"] = randn(F_, C, std=1.0 / C ** 0.5)
            W[p + "mlp.up_proj.weight"] = randn(F_, C, std=1.0 / C ** 0.5)
            W[p + "mlp.down_proj.weight"] = randn(C, F_, std=1.0 / F_ ** 0.5)
        W[pre + "norm.weight"] = randn(C, std=0.1)
        if not self.tied:
            W["lm_head.weight"] = randn(self.V, C, std=0.25)
        return W


def zc_rms_norm(x, w, eps, zero_centred=True):
    """Qwen3_5RMSNorm: x * rsqrt(mean(x^2) + eps) * (1 + w)."""
    normed = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
    return normed * ((1.0 + w) if zero_centred else w)


def l2norm(x, eps=1e-6):
    return x * torch.rsqrt((x * x).sum(dim=-1, keepdim=True) + eps)


def chunk_gated_delta_rule(q, k, v, g, beta, chunk_size=64, initial_state=None):
    """torch_chunk_gated_delta_rule with use_qk_l2norm_in_kernel: q, k [B, T, Hk, Dk], v [B, T, Hv, Dv], g, beta
    [B, T, Hv] -> (out [B, T, Hv, Dv], final state [B, Hv, Dk, Dv]), in the inputs' dtype."""
    B, T, _, Dk = k.shape
    Hv, Dv = v.shape[-2:]
    if k.shape[2] != Hv:  # grouped value heads: consecutive value heads share a query/key head
        q, k = (x.repeat_interleave(Hv // x.shape[2], dim=2) for x in (q, k))
    q, k, v, beta, g = [x.transpose(1, 2).contiguous() for x in (q, k, v, beta, g)]  # [B, Hv, T, ...]
    q, k = l2norm(q), l2norm(k)
    q = q * Dk ** -0.5
    pad = (chunk_size - T % chunk_size) % chunk_size
    q, k, v = (F.pad(x, (0, 0, 0, pad)) for x in (q, k, v))
    beta, g = (F.pad(x, (0, pad)) for x in (beta, g))
    n = (T + pad) // chunk_size
    v_beta, k_beta = v * beta.unsqueeze(-1), k * beta.unsqueeze(-1)
    q, k, k_beta, v_beta = (x.reshape(B, Hv, n, chunk_size, x.shape[-1]) for x in (q, k, k_beta, v_beta))
    g = g.reshape(B, Hv, n, chunk_size)
    upper = torch.ones(chunk_size, chunk_size, dtype=torch.bool).triu(1)
    cum = g.cumsum(dim=-1)
    decay = (cum.unsqueeze(-1) - cum.unsqueeze(-2)).masked_fill(upper, float("-inf")).exp()
    system = (k_beta @ k.transpose(-1, -2)) * decay  # lower triangle; the unit diagonal is implied below
    intra = (q @ k.transpose(-1, -2)) * decay
    u = torch.linalg.solve_triangular(system, v_beta, upper=False, unitriangular=True)
    w = torch.linalg.solve_triangular(system, k_beta * cum.exp().unsqueeze(-1), upper=False, unitriangular=True)
    S = torch.zeros(B, Hv, Dk, Dv, dtype=v.dtype) if initial_state is None else initial_state.to(v.dtype)
    out = torch.zeros_like(u)
    q_dec = q * cum.exp().unsqueeze(-1)
    k_dec = k * (cum[..., -1:] - cum).exp().unsqueeze(-1)
    chunk_decay = cum[..., -1].exp()[..., None, None]
    for i in range(n):
        v_new = u[:, :, i] - w[:, :, i] @ S
        out[:, :, i] = q_dec[:, :, i] @ S + intra[:, :, i] @ v_new
        S = S * chunk_decay[:, :, i] + k_dec[:, :, i].transpose(-1, -2) @ v_new
    out = out.reshape(B, Hv, -1, Dv)[:, :, :T]
    return out.transpose(1, 2).contiguous(), S


def recurrent_gated_delta_rule(q, k, v, g, beta, initial_state=None):
    """torch_recurrent_gated_delta_rule with use_qk_l2norm_in_kernel: the same contract, one token at a time."""
    B, T, _, Dk = k.shape
    Hv, Dv = v.shape[-2:]
    if k.shape[2] != Hv:
        q, k = (x.repeat_interleave(Hv // x.shape[2], dim=2) for x in (q, k))
    q, k, v, beta, g = [x.transpose(1, 2).contiguous() for x in (q, k, v, beta, g)]
    q, k = l2norm(q), l2norm(k)
    q = q / Dk ** 0.5
    S = torch.zeros(B, Hv, Dk, Dv, dtype=v.dtype) if initial_state is None else initial_state.to(v.dtype)
    out = torch.zeros_like(v)
    for i in range(T):
        S = S * g[:, :, i].exp()[..., None, None]
        memory = (S * k[:, :, i].unsqueeze(-1)).sum(dim=-2)
        delta = (v[:, :, i] - memory) * beta[:, :, i].unsqueeze(-1)
        S = S + k[:, :, i].unsqueeze(-1) * delta.unsqueeze(-2)
        out[:, :, i] = (S * q[:, :, i].unsqueeze(-1)).sum(dim=-2)
    return out.transpose(1, 2).contiguous(), S


def deltanet_inputs(cfg, W, p, h, lora, conv_in=None):
    """The projections and the conv of a Gated DeltaNet layer: (q, k, v, g, beta, z, conv input [B, channels, T]).
    conv_in, when given, replaces the zero padding before the sequence with the last K-1 inputs (decoding)."""
    B, T, _ = h.shape
    mixed = raw = linear(h, W, p + "in_proj_qkv", lora).transpose(1, 2)  # [B, channels, T]
    z = linear(h, W, p + "in_proj_z", lora).reshape(B, T, -1, cfg.Dv)
    b = linear(h, W, p + "in_proj_b", lora)
    a = linear(h, W, p + "in_proj_a", lora)
    if cfg.switches["conv"]:
        w = W[p + "conv1d.weight"]
        if conv_in is None:
            mixed = F.conv1d(mixed, w, None, padding=cfg.K - 1, groups=mixed.shape[1])[:, :, :T]
        else:
            mixed = F.conv1d(torch.cat([conv_in, mixed], dim=-1), w, None, groups=mixed.shape[1])[:, :, -T:]
    mixed = F.silu(mixed).transpose(1, 2)
    Kd = cfg.Hk * cfg.Dk
    q, k, v = torch.split(mixed, [Kd, Kd, cfg.Hv * cfg.Dv], dim=-1)
    q, k, v = q.reshape(B, T, -1, cfg.Dk), k.reshape(B, T, -1, cfg.Dk), v.reshape(B, T, -1, cfg.Dv)
    beta = b.sigmoid()
    g = -W[p + "A_log"].exp() * F.softplus(a + W[p + "dt_bias"])
    if not cfg.switches["decay"]:
        g = torch.zeros_like(g)
    return q, k, v, g, beta, z, raw


def deltanet_output(cfg, W, p, core, z, lora):
    """RMSNormGated over each value head (weight * normed * silu(z)), then out_proj."""
    B, T = core.shape[:2]
    normed = core.reshape(-1, cfg.Dv)
    normed = normed * torch.rsqrt(normed.pow(2).mean(-1, keepdim=True) + cfg.eps)
    normed = W[p + "norm.weight"] * normed * F.silu(z.reshape(-1, cfg.Dv))
    return linear(normed.reshape(B, T, -1), W, p + "out_proj", lora)


def gated_deltanet(cfg, W, p, h, lora):
    q, k, v, g, beta, z, _ = deltanet_inputs(cfg, W, p, h, lora)
    rule = recurrent_gated_delta_rule if cfg.recurrent else chunk_gated_delta_rule
    core, _ = rule(q, k, v, g, beta)
    return deltanet_output(cfg, W, p, core, z, lora)


def gated_attention_qkv(cfg, W, p, h, cos, sin, lora):
    """Qwen3_5Attention before the cache: (q [B, H, T, D], k, v [B, Hkv, T, D], gate [B, T, H*D])."""
    B, T, _ = h.shape
    q, gate = torch.chunk(linear(h, W, p + "q_proj", lora).view(B, T, -1, cfg.D * 2), 2, dim=-1)
    gate = gate.reshape(B, T, -1)
    zc = cfg.switches["zero_centred"]
    q = zc_rms_norm(q, W[p + "q_norm.weight"], cfg.eps, zc).transpose(1, 2)
    k = zc_rms_norm(linear(h, W, p + "k_proj", lora).view(B, T, -1, cfg.D), W[p + "k_norm.weight"], cfg.eps, zc).transpose(1, 2)
    v = linear(h, W, p + "v_proj", lora).view(B, T, -1, cfg.D).transpose(1, 2)
    return partial_rope(q, cos, sin), partial_rope(k, cos, sin), v, gate


def gated_attention_out(cfg, W, p, a, gate, lora):
    B, _, T, _ = a.shape
    a = a.transpose(1, 2).reshape(B, T, -1)
    if cfg.switches["gate"]:
        a = a * torch.sigmoid(gate)
    return linear(a, W, p + "o_proj", lora)


def rope_tables(cfg, T, dtype):
    """cos, sin [T, R]: the text positions of Qwen3_5TextRotaryEmbedding (its three M-RoPE rows coincide for text)."""
    R = cfg.R
    inv = 1.0 / (cfg.theta ** (torch.arange(0, R, 2, dtype=torch.int64).to(dtype) / R))
    return rope_cos_sin(inv, T)


def mlp(cfg, W, p, x, lora):
    h = zc_rms_norm(x, W[p + "post_attention_layernorm.weight"], cfg.eps, cfg.switches["zero_centred"])
    return linear(F.silu(linear(h, W, p + "mlp.gate_proj", lora)) * linear(h, W, p + "mlp.up_proj", lora), W,
                  p + "mlp.down_proj", lora)


def qwen35_forward(cfg, W, input_ids, lora=None, attn_fn=attention):
    """Qwen3_5ForCausalLM (or the wrapper's language model + lm_head): logits [B, T, V], positions 0..T-1."""
    B, T = input_ids.shape
    pre, zc = cfg.prefix, cfg.switches["zero_centred"]
    cos, sin = rope_tables(cfg, T, W[pre + "embed_tokens.weight"].dtype)
    visible = visible_mask(T, None)
    x = W[pre + "embed_tokens.weight"][input_ids]
    for i, kind in enumerate(cfg.layer_types):
        p = f"{pre}layers.{i}."
        h = zc_rms_norm(x, W[p + "input_layernorm.weight"], cfg.eps, zc)
        if kind == "linear_attention":
            x = x + gated_deltanet(cfg, W, p + "linear_attn.", h, lora)
        else:
            q, k, v, gate = gated_attention_qkv(cfg, W, p + "self_attn.", h, cos, sin, lora)
            x = x + gated_attention_out(cfg, W, p + "self_attn.", attn_fn(q, k, v, visible), gate, lora)
        x = x + mlp(cfg, W, p, x, lora)
    x = zc_rms_norm(x, W[pre + "norm.weight"], cfg.eps, zc)
    head = W[pre + "embed_tokens.weight"] if cfg.tied else W["lm_head.weight"]
    return x @ head.t()
