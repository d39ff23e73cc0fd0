"""The families with fused projections and their own blocks: Phi-3 (phi3_ref.py), Falcon (falcon_ref.py) and BLOOM
(bloom_ref.py). Their config readers and forwards by model_type, their self-checks, and the tiny fixture specs
(configs written as the real checkpoints' config.json are, in the 4.x or the 5.x layout).
"""
import torch

import alibi_ref
from bloom_ref import BloomCfg, bloom_forward
from bloom_ref import feature_checks as bloom_features
from falcon_ref import FalconCfg, falcon_forward
from falcon_ref import feature_checks as falcon_features
from phi3_ref import Phi3Cfg, phi3_forward
from phi3_ref import feature_checks as phi3_features

CFGS = {"phi3": Phi3Cfg, "falcon": FalconCfg, "bloom": BloomCfg}
FORWARDS = {"phi3": phi3_forward, "falcon": falcon_forward, "bloom": bloom_forward}
_FEATURES = {"phi3": phi3_features, "falcon": falcon_features, "bloom": bloom_features}


def feature_checks(cfg, W, ids, logits, forward) -> None:
    alibi_ref.math_check()
    _FEATURES[cfg.model_type](cfg, W, ids, logits, forward)


def _config(arch: str, model_type: str, version: str, **fields) -> dict:
    c = {"architectures": [arch], "bos_token_id": 1, "eos_token_id": 2, "initializer_range": 0.02,
         "model_type": model_type, "transformers_version": version, "use_cache": True}
    c.update(fields)
    return dict(sorted(c.items()))


def _spec(name, config, seed, disk=torch.float32, lora=True, **extra) -> dict:
    spec = {"name": name, "config": config, "disk_dtype": disk, "seed": seed, "sharded": False, "lora": lora,
            "generation": {"bos_token_id": config["bos_token_id"], "eos_token_id": config["eos_token_id"]}}
    spec.update(extra)
    return spec


FUSED_SPECS = [
    # Phi-4-mini's layout (4.x config): longrope with original_max_position_embeddings 8, so the 12-token batch
    # runs on the long factors and greedy decoding crosses the switch; partial rotary 0.75 (12 of 16 dims);
    # sliding window 6; tied; bf16 weights
    _spec("phi3-tiny", _config(
        "Phi3ForCausalLM", "phi3", "4.45.0", attention_bias=False, attention_dropout=0.0, embd_pdrop=0.0,
        full_attn_mod=1, hidden_act="silu", hidden_size=64, intermediate_size=96, interpolate_factor=1,
        lm_head_bias=False, max_position_embeddings=128, mlp_bias=False, num_attention_heads=4, num_hidden_layers=2,
        num_key_value_heads=2, original_max_position_embeddings=8, pad_token_id=0, partial_rotary_factor=0.75,
        resid_pdrop=0.0, rms_norm_eps=1e-5,
        rope_scaling={"long_factor": [1.0, 1.5, 2.5, 4.0, 6.5, 9.0], "short_factor": [1.0, 1.05, 1.2, 1.4, 1.7, 2.1],
                      "type": "longrope"},
        rope_theta=10000.0, sliding_window=6, tie_word_embeddings=True, torch_dtype="bfloat16", vocab_size=288,
    ), 1201, disk=torch.bfloat16),
    # Phi-3-mini-4k's layout as transformers 5 writes it: rope_parameters, dtype; multi-head (Hkv = H), untied,
    # sliding window 5, no scaling
    _spec("phi3-mini-tiny", _config(
        "Phi3ForCausalLM", "phi3", "5.0.0", attention_dropout=0.0, dtype="float32", embd_pdrop=0.0, hidden_act="silu",
        hidden_size=48, intermediate_size=80, max_position_embeddings=128, num_attention_heads=4, num_hidden_layers=2,
        num_key_value_heads=4, original_max_position_embeddings=128, pad_token_id=0, resid_pdrop=0.0, rms_norm_eps=1e-5,
        rope_parameters={"partial_rotary_factor": 1.0, "rope_theta": 10000.0, "rope_type": "default"},
        sliding_window=5, tie_word_embeddings=False, vocab_size=272,
    ), 1202, lora=False),
    # Falcon-40B's layout (new_decoder_architecture: 2 kv groups of 2 query heads, ln_attn + ln_mlp), transformers 5
    # config, ffn_hidden_size not 4x
    _spec("falcon-tiny", _config(
        "FalconForCausalLM", "falcon", "5.0.0", activation="gelu", alibi=False, attention_dropout=0.0, bias=False,
        dtype="float32", ffn_hidden_size=160, hidden_dropout=0.0, hidden_size=64, layer_norm_epsilon=1e-5,
        max_position_embeddings=128, multi_query=True, new_decoder_architecture=True, num_attention_heads=4,
        num_hidden_layers=2, num_kv_heads=2, num_ln_in_parallel_attn=None, pad_token_id=None, parallel_attn=True,
        rope_parameters={"rope_theta": 10000.0, "rope_type": "default"}, tie_word_embeddings=True, vocab_size=272,
    ), 1203),
    # Falcon-7B's layout (4.x config): multi-query (one kv head), one input_layernorm shared by the parallel attention
    # and MLP, rotary, no biases
    _spec("falcon-mq-tiny", _config(
        "FalconForCausalLM", "falcon", "4.33.0", alibi=False, apply_residual_connection_post_layernorm=False,
        attention_dropout=0.0, bias=False, hidden_dropout=0.0, hidden_size=32, layer_norm_epsilon=1e-5,
        multi_query=True, new_decoder_architecture=False, num_attention_heads=4, num_hidden_layers=2,
        parallel_attn=True, rope_scaling=None, rope_theta=10000.0, torch_dtype="bfloat16", vocab_size=256,
    ), 1204, disk=torch.bfloat16),
    # Falcon-RW's layout: ALiBi (6 heads, not a power of two, so the slopes come from two bases and round in
    # bfloat16), per-head [q, k, v] fusion, sequential attention then post_attention_layernorm, biases, untied
    _spec("falcon-alibi-tiny", _config(
        "FalconForCausalLM", "falcon", "4.33.0", alibi=True, attention_dropout=0.0, bias=True, hidden_dropout=0.0,
        hidden_size=48, layer_norm_epsilon=1e-5, multi_query=False, new_decoder_architecture=False,
        num_attention_heads=6, num_hidden_layers=2, parallel_attn=False, tie_word_embeddings=False,
        torch_dtype="float32", vocab_size=264,
    ), 1205),
    # BLOOM's layout as bloom-560m ships it: n_head / n_layer, 6 heads (ALiBi slopes from two bases), tensors stored
    # without the "transformer." prefix, bf16 weights, tied
    _spec("bloom-tiny", _config(
        "BloomForCausalLM", "bloom", "4.21.0", apply_residual_connection_post_layernorm=False, attention_dropout=0.0,
        attention_softmax_in_fp32=True, bias_dropout_fusion=True, hidden_dropout=0.0, hidden_size=48,
        layer_norm_epsilon=1e-5, masked_softmax_fusion=True, n_head=6, n_inner=None, n_layer=2, offset_alibi=100,
        pad_token_id=3, pretraining_tp=1, skip_bias_add=True, skip_bias_add_qkv=False, slow_but_exact=False,
        torch_dtype="bfloat16", unk_token_id=0, vocab_size=280,
    ), 1206, disk=torch.bfloat16, stored_names=[("transformer.", "")]),
    # apply_residual_connection_post_layernorm (the residual is the normed input), 4 heads, untied
    _spec("bloom-postln-tiny", _config(
        "BloomForCausalLM", "bloom", "4.46.0", apply_residual_connection_post_layernorm=True, attention_dropout=0.0,
        hidden_dropout=0.0, hidden_size=32, layer_norm_epsilon=1e-5, n_head=4, n_layer=2, pretraining_tp=1,
        slow_but_exact=False, tie_word_embeddings=False, torch_dtype="float32", vocab_size=256,
    ), 1207, lora=False),
]
