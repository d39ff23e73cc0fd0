"""The hybrid families (qwen3_5_ref.py, lfm2_ref.py): their config readers and forwards by model_type, a cached
decoder for each (attention layers keep keys and values, Gated DeltaNet layers the conv history and the delta-rule
state, LFM2's conv layers their history; a single-token step runs the recurrent delta rule, as transformers decodes),
their self-checks, and the tiny fixture specs (configs written as the published checkpoints' config.json are).
"""
import torch

from llama_ref import attention
from lfm2_ref import Lfm2Cfg, attention_qkv, feed_forward, lfm2_forward, short_conv_gates, short_conv_out
from lfm2_ref import rope_tables as lfm2_rope
from llama_ref import linear, rms_norm
from qwen3_5_ref import (Qwen35Cfg, chunk_gated_delta_rule, deltanet_inputs, deltanet_output, gated_attention_out,
                         gated_attention_qkv, mlp, qwen35_forward, recurrent_gated_delta_rule, zc_rms_norm)
from qwen3_5_ref import rope_tables as qwen35_rope

CFGS = {"qwen3_5_text": Qwen35Cfg, "qwen3_5": Qwen35Cfg, "lfm2": Lfm2Cfg}
FORWARDS = {"qwen3_5_text": qwen35_forward, "qwen3_5": qwen35_forward, "lfm2": lfm2_forward}


class Decoder:
    """Incremental decoding with per-layer state; step(ids [1, T]) returns the logits [V] of the last new token."""

    def __init__(self, cfg, W, capacity: int):
        self.cfg, self.W, self.length = cfg, W, 0
        self.qwen = isinstance(cfg, Qwen35Cfg)
        rope = qwen35_rope if self.qwen else lfm2_rope
        self.cos, self.sin = rope(cfg, capacity, torch.float32)
        self.kv, self.conv, self.state = {}, {}, {}
        for i, kind in enumerate(cfg.layer_types):
            if kind == "full_attention":
                self.kv[i] = (torch.zeros(1, cfg.Hkv, capacity, cfg.D), torch.zeros(1, cfg.Hkv, capacity, cfg.D))
            else:
                channels = 2 * cfg.Hk * cfg.Dk + cfg.Hv * cfg.Dv if self.qwen else cfg.C
                self.conv[i] = torch.zeros(1, channels, cfg.K - 1)
                self.state[i] = None

    def _attend(self, i, q, k, v, T):
        p0, Tk = self.length, self.length + T
        self.kv[i][0][:, :, p0:Tk] = k
        self.kv[i][1][:, :, p0:Tk] = v
        visible = torch.arange(Tk)[None, :] <= (p0 + torch.arange(T))[:, None]
        return attention(q, self.kv[i][0][:, :, :Tk], self.kv[i][1][:, :, :Tk], visible)

    def _deltanet(self, i, p, h):
        cfg = self.cfg
        q, k, v, g, beta, z, raw = deltanet_inputs(cfg, self.W, p, h, None, conv_in=self.conv[i])
        self.conv[i] = torch.cat([self.conv[i], raw], dim=-1)[..., -(cfg.K - 1):]
        S = self.state[i]
        if S is not None and h.shape[1] == 1:
            core, self.state[i] = recurrent_gated_delta_rule(q, k, v, g, beta, S)
        else:
            core, self.state[i] = chunk_gated_delta_rule(q, k, v, g, beta, initial_state=S)
        return deltanet_output(cfg, self.W, p, core, z, None)

    def _short_conv(self, i, p, h):
        cfg, W = self.cfg, self.W
        T = h.shape[1]
        Bx, Cg = short_conv_gates(cfg, W, p, h, None)
        seq = torch.cat([self.conv[i], Bx], dim=-1)
        self.conv[i] = seq[..., -(cfg.K - 1):]
        conv_out = torch.nn.functional.conv1d(seq, W[p + "conv.weight"], W.get(p + "conv.bias"), groups=cfg.C)[..., -T:]
        return short_conv_out(cfg, W, p, conv_out, Cg, None)

    def step(self, ids: torch.Tensor) -> torch.Tensor:
        cfg, W = self.cfg, self.W
        T, p0 = ids.shape[1], self.length
        cos, sin = self.cos[p0:p0 + T], self.sin[p0:p0 + T]
        pre = cfg.prefix if self.qwen else "model."
        x = W[pre + "embed_tokens.weight"][ids]
        for i, kind in enumerate(cfg.layer_types):
            p = f"{pre}layers.{i}."
            if self.qwen:
                h = zc_rms_norm(x, W[p + "input_layernorm.weight"], cfg.eps)
                if kind == "linear_attention":
                    x = x + self._deltanet(i, p + "linear_attn.", h)
                else:
                    q, k, v, gate = gated_attention_qkv(cfg, W, p + "self_attn.", h, cos, sin, None)
                    x = x + gated_attention_out(cfg, W, p + "self_attn.", self._attend(i, q, k, v, T), gate, None)
                x = x + mlp(cfg, W, p, x, None)
            else:
                h = rms_norm(x, W[p + "operator_norm.weight"], cfg.eps)
                if kind == "conv":
                    x = x + self._short_conv(i, p + "conv.", h)
                else:
                    q, k, v = attention_qkv(cfg, W, p + "self_attn.", h, cos, sin, None)
                    a = self._attend(i, q, k, v, T).transpose(1, 2).reshape(1, T, -1)
                    x = x + linear(a, W, p + "self_attn.out_proj", None)
                x = x + feed_forward(cfg, W, p, x, None)
        self.length += T
        last = x[:, -1]
        if self.qwen:
            last = zc_rms_norm(last, W[pre + "norm.weight"], cfg.eps)
        else:
            last = rms_norm(last, W["model.embedding_norm.weight"], cfg.eps)
        head = W[pre + "embed_tokens.weight"] if cfg.tied else W["lm_head.weight"]
        return (last @ head.t())[0]


def greedy_cached(cfg, W, prompt: list, n: int) -> list:
    dec = Decoder(cfg, W, len(prompt) + n)
    tokens = [int(torch.argmax(dec.step(torch.tensor([prompt]))))]
    for _ in range(n - 1):
        tokens.append(int(torch.argmax(dec.step(torch.tensor([[tokens[-1]]])))))
    return tokens


def greedy_check(cfg, W, prompt, tokens, lora=None) -> None:
    """The cached decoder (recurrent steps) gives the tokens the full recompute gave."""
    if lora is not None:
        return  # the decoder runs the base model only
    with torch.no_grad():
        cached = greedy_cached(cfg, W, prompt, len(tokens))
    assert cached == tokens, f"cached decoding {cached} differs from recomputing {tokens}"
    print(f"  cached decoding (recurrent steps) gives the same {len(tokens)} tokens")


def feature_checks(cfg, W, ids, logits, forward):
    """Each feature moves the logits by > 1e-2; for Qwen3.5 the recurrent delta rule equals the chunked one."""
    moved = {}
    for f in cfg.switches:
        if f == "partial" and cfg.partial == 1.0:
            continue
        with torch.no_grad():
            moved[f] = float((forward(cfg.without(f), W, ids) - logits).abs().max())
        assert moved[f] > 1e-2, f"{f} changes the logits by only {moved[f]}"
    print("  features: " + ", ".join(f"{k} {v:.3f}" for k, v in moved.items()))
    if isinstance(cfg, Qwen35Cfg):
        import copy

        rec = copy.copy(cfg)
        rec.recurrent = True
        W64 = {k: v.double() for k, v in W.items()}
        with torch.no_grad():
            d32 = float((forward(rec, W, ids) - logits).abs().max())
            d64 = float((forward(rec, W64, ids) - forward(cfg, W64, ids)).abs().max())
        assert d32 < 1e-4 and d64 < 1e-10, (d32, d64)  # f32: the rounding of two orders of summation
        print(f"  recurrent vs chunked delta rule: {d32:.1e} (f32), {d64:.1e} (f64)")


def _config(arch, model_type, version, **fields) -> dict:
    c = {"architectures": [arch], "model_type": model_type, "transformers_version": version, "use_cache": True}
    c.update(fields)
    return dict(sorted(c.items()))


def _spec(name, config, seed, disk=torch.float32, lora=True, generation=None, **extra) -> dict:
    eos = config.get("eos_token_id", (config.get("text_config") or {}).get("eos_token_id"))
    spec = {"name": name, "config": config, "disk_dtype": disk, "seed": seed, "sharded": False, "lora": lora,
            "generation": generation or {"bos_token_id": 1, "eos_token_id": eos}}
    spec.update(extra)
    return spec


_QWEN35_TEXT = dict(
    attention_bias=False, attention_dropout=0.0, attn_output_gate=True, bos_token_id=None, eos_token_id=2, head_dim=16,
    hidden_act="silu", hidden_size=48, initializer_range=0.02, intermediate_size=96, linear_conv_kernel_dim=4,
    linear_key_head_dim=16, linear_num_key_heads=2, linear_num_value_heads=4, linear_value_head_dim=16,
    max_position_embeddings=256, num_attention_heads=4, num_hidden_layers=4, num_key_value_heads=2, rms_norm_eps=1e-6,
    vocab_size=320,
)

HYBRID_SPECS = [
    # Qwen3.5's language model as transformers 5 writes Qwen3_5TextConfig: layer_types 3 linear : 1 full, partial
    # rotary 0.25 inside rope_parameters (4 of 16 dims), grouped value heads (4 over 2 q/k heads), tied, bf16 weights;
    # a 70-token batch runs a full 64-token chunk and a partial one
    _spec("qwen3_5-tiny", _config(
        "Qwen3_5ForCausalLM", "qwen3_5_text", "5.0.0", dtype="bfloat16", full_attention_interval=4,
        layer_types=["linear_attention", "linear_attention", "linear_attention", "full_attention"],
        mamba_ssm_dtype="float32", mlp_only_layers=[], mtp_num_hidden_layers=0, mtp_use_dedicated_embeddings=False,
        rope_parameters={"mrope_interleaved": True, "mrope_section": [1, 1, 0], "partial_rotary_factor": 0.25,
                         "rope_theta": 1000000.0, "rope_type": "default"},
        tie_word_embeddings=True, **_QWEN35_TEXT,
    ), 1308, disk=torch.bfloat16, seq_len=70),
    # the published layout: Qwen3_5ForConditionalGeneration with a text_config (layer_types left to
    # full_attention_interval 2; partial_rotary_factor to its 0.25 default), weights under model.language_model.*
    # beside a stand-in vision tower and an MTP head, untied
    _spec("qwen3_5-mm-tiny", _config(
        "Qwen3_5ForConditionalGeneration", "qwen3_5", "5.0.0", image_token_id=300, video_token_id=301,
        vision_start_token_id=302, vision_end_token_id=303, tie_word_embeddings=False,
        text_config=dict(_QWEN35_TEXT, model_type="qwen3_5_text", full_attention_interval=2, dtype="float32",
                         rope_parameters={"rope_theta": 10000.0, "rope_type": "default"}, tie_word_embeddings=False,
                         mtp_num_hidden_layers=1),
        vision_config={"depth": 1, "hidden_size": 8, "model_type": "qwen3_5_vision", "out_hidden_size": 48},
    ), 1305, extra_tensors={"model.visual.patch_embed.proj.weight": [8, 3, 2, 2, 2],
                            "model.visual.blocks.0.attn.qkv.weight": [24, 8],
                            "model.visual.merger.linear_fc2.weight": [48, 32],
                            "mtp.fc.weight": [48, 96], "mtp.layers.0.mlp.down_proj.weight": [48, 96]}),
    # LFM2-1.2B's config.json as Liquid ships it (the original keys: block_ff_dim, theta, tie_embedding, norm_eps),
    # conv, conv, attention, conv; SwiGLU width int(2 * 160 / 3) rounded up to 32 = 128; bf16 weights
    _spec("lfm2-tiny", _config(
        "Lfm2ForCausalLM", "lfm2", "4.54.0", block_auto_adjust_ff_dim=True, block_dim=48, block_ff_dim=160,
        block_ffn_dim_multiplier=1.0, block_multiple_of=32, block_norm_eps=1e-5, block_use_swiglu=True, bos_token_id=1,
        conv_L_cache=3, conv_bias=False, conv_dim=48, eos_token_id=7, hidden_size=48, intermediate_size=160,
        layer_types=["conv", "conv", "full_attention", "conv"], max_position_embeddings=128, norm_eps=1e-5,
        num_attention_heads=4, num_heads=4, num_hidden_layers=4, num_key_value_heads=2, pad_token_id=0, rope_theta=1000000.0,
        theta=1000000.0, tie_embedding=True, torch_dtype="bfloat16", vocab_size=288,
    ), 1303, disk=torch.bfloat16),
    # the transformers 5 layout: full_attn_idxs instead of layer_types, conv_bias, no MLP width adjustment,
    # rope_parameters, untied
    _spec("lfm2-bias-tiny", _config(
        "Lfm2ForCausalLM", "lfm2", "5.0.0", block_auto_adjust_ff_dim=False, bos_token_id=1, conv_L_cache=4, conv_bias=True,
        dtype="float32", eos_token_id=2, full_attn_idxs=[1, 3], hidden_size=32, intermediate_size=64,
        max_position_embeddings=128, norm_eps=1e-5, num_attention_heads=2, num_hidden_layers=4, num_key_value_heads=1,
        pad_token_id=0, rope_parameters={"rope_theta": 10000.0, "rope_type": "default"}, tie_word_embeddings=False,
        vocab_size=264,
    ), 1304, lora=False),
]
