"""Tiny model configurations and deterministic random weights for the golden fixtures."""
import torch

TRANSFORMERS_VERSION = "4.46.0"


def _llama_like(arch: str, model_type: str, **over) -> dict:
    c = {
        "architectures": [arch],
        "attention_dropout": 0.0,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "hidden_act": "silu",
        "hidden_size": 64,
        "initializer_range": 0.02,
        "intermediate_size": 96,
        "max_position_embeddings": 128,
        "model_type": model_type,
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "num_key_value_heads": 2,
        "rms_norm_eps": 1e-5,
        "rope_scaling": None,
        "rope_theta": 10000.0,
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "transformers_version": TRANSFORMERS_VERSION,
        "use_cache": True,
        "vocab_size": 256,
    }
    if model_type == "llama":
        c.update({"attention_bias": False, "mlp_bias": False, "pretraining_tp": 1})
    c.update(over)
    return dict(sorted(c.items()))


# Each spec: folder name, config.json, on-disk dtype, seed, generation_config.json, sharded or not.
SPECS = [
    {
        "name": "llama-tiny",
        "config": _llama_like("LlamaForCausalLM", "llama", tie_word_embeddings=True),
        "disk_dtype": torch.float32,
        "seed": 1001,
        "generation": {"bos_token_id": 1, "eos_token_id": 2},
        "sharded": False,
    },
    {
        "name": "llama3-tiny",
        # original_max_position_embeddings 64 with head_dim 16 puts the 8 frequencies in all three
        # llama3 bands: wavelength 6.3 < 16 (kept), 32.5 in [16, 64] (smoothed), >= 168 (/ factor)
        "config": _llama_like(
            "LlamaForCausalLM", "llama", vocab_size=300, rope_theta=500000.0,
            eos_token_id=[2, 3], torch_dtype="bfloat16",
            rope_scaling={"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                          "original_max_position_embeddings": 64, "rope_type": "llama3"},
        ),
        "disk_dtype": torch.bfloat16,
        "seed": 1002,
        "generation": {"bos_token_id": 1, "do_sample": False, "eos_token_id": [2, 3]},
        "sharded": False,
    },
    {
        "name": "llama-linear-tiny",
        "config": _llama_like(
            "LlamaForCausalLM", "llama", hidden_size=32, intermediate_size=64, vocab_size=272,
            rms_norm_eps=1e-6, torch_dtype="float16",
            rope_scaling={"factor": 2.0, "type": "linear"},
        ),
        "disk_dtype": torch.float16,
        "seed": 1003,
        "generation": {"bos_token_id": 1, "eos_token_id": 2},
        "sharded": False,
    },
    {
        "name": "mistral-tiny",
        # head_dim 16 differs from hidden_size / num_attention_heads = 12
        "config": _llama_like(
            "MistralForCausalLM", "mistral", hidden_size=48, head_dim=16, vocab_size=288,
            sliding_window=4, rms_norm_eps=1e-6,
        ),
        "disk_dtype": torch.float32,
        "seed": 1004,
        "generation": {"bos_token_id": 1, "eos_token_id": 2},
        "sharded": False,
    },
    {
        "name": "qwen2-tiny",
        "config": _llama_like(
            "Qwen2ForCausalLM", "qwen2", hidden_size=32, intermediate_size=64, vocab_size=260,
            rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=True,
            use_sliding_window=False, sliding_window=128, max_window_layers=2,
        ),
        "disk_dtype": torch.float32,
        "seed": 1005,
        "generation": {"bos_token_id": 1, "eos_token_id": [2, 3], "pad_token_id": 0},
        "sharded": True,
    },
]


def _family(arch: str, model_type: str, version: str, **fields) -> dict:
    """A config.json as transformers `version` writes it: the common fields plus the family's own."""
    c = {
        "architectures": [arch], "attention_dropout": 0.0, "bos_token_id": 1, "eos_token_id": 2,
        "hidden_act": "silu", "initializer_range": 0.02, "max_position_embeddings": 128,
        "model_type": model_type, "num_attention_heads": 4, "num_key_value_heads": 2,
        "transformers_version": version, "use_cache": True,
    }
    c.update(fields)
    return dict(sorted(c.items()))


# Families beyond the Llama block; each also gets a PEFT adapter fixture "<name>-lora" (see make_fixtures)
FAMILY_SPECS = [
    {
        "name": "qwen3-tiny",
        # written as transformers 5 writes it: rope_parameters, dtype, layer_types; explicit head_dim 16 != 48 / 4
        "config": _family(
            "Qwen3ForCausalLM", "qwen3", "5.0.0", attention_bias=False, dtype="float32", head_dim=16,
            hidden_size=48, intermediate_size=96, layer_types=["full_attention"] * 2, max_window_layers=28,
            num_hidden_layers=2, pad_token_id=None, rms_norm_eps=1e-6,
            rope_parameters={"rope_theta": 1000000.0, "rope_type": "default"}, sliding_window=None,
            tie_word_embeddings=True, use_sliding_window=False, vocab_size=320,
        ),
        "disk_dtype": torch.float32,
        "seed": 1006,
        "generation": {"bos_token_id": 1, "eos_token_id": 2},
        "sharded": False,
    },
    {
        "name": "qwen3-yarn-tiny",
        # YaRN as Qwen3's model card has users add it (4.x rope_scaling): factor = 128 / 32 = 4, and with
        # head_dim 16 the 8 frequencies fall in all three bands (kept, ramped, divided by 4); no adapter
        "config": _family(
            "Qwen3ForCausalLM", "qwen3", "4.51.0", attention_bias=False, head_dim=16, hidden_size=32,
            intermediate_size=64, max_window_layers=28, num_hidden_layers=2, rms_norm_eps=1e-6,
            rope_scaling={"factor": 4.0, "original_max_position_embeddings": 32, "rope_type": "yarn"},
            rope_theta=10000.0, sliding_window=None, tie_word_embeddings=True, torch_dtype="float32",
            use_sliding_window=False, vocab_size=272,
        ),
        "disk_dtype": torch.float32,
        "seed": 1009,
        "generation": {"bos_token_id": 1, "eos_token_id": 2},
        "sharded": False,
        "lora": False,
    },
    {
        "name": "smollm3-tiny",
        # transformers 4.x layout; layer 3 is a NoPE layer (no_rope_layers 0), every other rotates
        "config": _family(
            "SmolLM3ForCausalLM", "smollm3", "4.53.0", attention_bias=False, hidden_size=32,
            intermediate_size=64, layer_types=["full_attention"] * 4, max_window_layers=28, mlp_bias=False,
            no_rope_layer_interval=4, no_rope_layers=[1, 1, 1, 0], num_hidden_layers=4, pad_token_id=0,
            pretraining_tp=2, rms_norm_eps=1e-6, rope_scaling=None, rope_theta=5000000.0,
            sliding_window=None, tie_word_embeddings=True, torch_dtype="float32", use_sliding_window=False,
            vocab_size=288,
        ),
        "disk_dtype": torch.float32,
        "seed": 1007,
        "generation": {"bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0},
        "sharded": False,
    },
    {
        "name": "granite-tiny",
        # multipliers of the Granite 3 kind (attention_multiplier replaces 1/sqrt(16) = 0.25); biases on
        # q/k/v/o and the MLP; bf16 weights
        "config": _family(
            "GraniteForCausalLM", "granite", "4.46.0", attention_bias=True, attention_multiplier=0.125,
            embedding_multiplier=12.0, hidden_size=64, intermediate_size=96, logits_scaling=4.0, mlp_bias=True,
            num_hidden_layers=2, pad_token_id=0, residual_multiplier=0.22, rms_norm_eps=1e-5, rope_scaling=None,
            rope_theta=10000.0, tie_word_embeddings=False, torch_dtype="bfloat16", vocab_size=304,
        ),
        "disk_dtype": torch.bfloat16,
        "seed": 1008,
        "generation": {"bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0},
        "sharded": False,
    },
]


def _gemma(model_type: str, arch: str, version: str, **fields) -> dict:
    """A Gemma config.json as transformers `version` writes it."""
    c = {"architectures": [arch], "attention_dropout": 0.0, "bos_token_id": 2, "eos_token_id": 1,
         "initializer_range": 0.02, "model_type": model_type, "pad_token_id": 0, "transformers_version": version,
         "use_cache": True}
    c.update(fields)
    return dict(sorted(c.items()))


# Gemma 2/3/4 (scripts/reference/gemma_ref.py); each also gets a PEFT adapter fixture "<name>-lora"
GEMMA_SPECS = [
    {
        "name": "gemma2-tiny",
        # transformers 4.x layout; 3 layers: sliding (window 4), global, sliding; soft-caps small enough to bite;
        # query_pre_attn_scalar 24 instead of head_dim 16; bf16 weights
        "config": _gemma(
            "gemma2", "Gemma2ForCausalLM", "4.46.0", attention_bias=False, attn_logit_softcapping=2.0,
            cache_implementation="hybrid", final_logit_softcapping=3.0, head_dim=16, hidden_act="gelu_pytorch_tanh",
            hidden_activation="gelu_pytorch_tanh", hidden_size=48, intermediate_size=96, max_position_embeddings=128,
            num_attention_heads=4, num_hidden_layers=3, num_key_value_heads=2, query_pre_attn_scalar=24,
            rms_norm_eps=1e-6, rope_theta=10000.0, sliding_window=4, torch_dtype="bfloat16", vocab_size=320,
        ),
        "disk_dtype": torch.bfloat16,
        "seed": 1101,
        "generation": {"bos_token_id": 2, "eos_token_id": 1, "pad_token_id": 0, "cache_implementation": "hybrid"},
        "sharded": False,
    },
    {
        "name": "gemma3-tiny",
        # gemma3_text as transformers 5 writes it: layer_types (5 local : 1 global), rope_parameters per layer type
        # (linear scaling on the global layer only), dtype; MQA (1 kv head)
        "config": _gemma(
            "gemma3_text", "Gemma3ForCausalLM", "5.0.0", attention_bias=False, attn_logit_softcapping=None,
            dtype="float32", eos_token_id=[1, 106], final_logit_softcapping=None, head_dim=16,
            hidden_activation="gelu_pytorch_tanh", hidden_size=32, intermediate_size=64,
            layer_types=["sliding_attention"] * 5 + ["full_attention"], max_position_embeddings=128,
            num_attention_heads=4, num_hidden_layers=6, num_key_value_heads=1, query_pre_attn_scalar=12,
            rms_norm_eps=1e-6,
            rope_parameters={"full_attention": {"factor": 8.0, "rope_theta": 1000000.0, "rope_type": "linear"},
                             "sliding_attention": {"rope_theta": 10000.0, "rope_type": "default"}},
            sliding_window=4, tie_word_embeddings=True, use_bidirectional_attention=False, vocab_size=288,
        ),
        "disk_dtype": torch.float32,
        "seed": 1102,
        "generation": {"bos_token_id": 2, "eos_token_id": [1, 106], "pad_token_id": 0},
        "sharded": False,
    },
    {
        "name": "gemma3-mm-tiny",
        # the multimodal Gemma 3 as transformers 4.50 wrote it: a sparse text_config (absent fields take
        # Gemma3TextConfig's defaults), sliding_window_pattern 3, rope_scaling for global layers, soft-caps; weights
        # under language_model.model.* beside a (stand-in) vision tower
        "config": _gemma(
            "gemma3", "Gemma3ForConditionalGeneration", "4.50.0", boi_token_index=255999, eoi_token_index=256000,
            eos_token_id=[1, 106], image_token_index=262144, mm_tokens_per_image=256,
            text_config={"attn_logit_softcapping": 3.0, "final_logit_softcapping": 5.0, "head_dim": 16,
                         "hidden_size": 32, "intermediate_size": 64, "max_position_embeddings": 128,
                         "model_type": "gemma3_text", "num_attention_heads": 2, "num_hidden_layers": 3,
                         "num_key_value_heads": 1, "query_pre_attn_scalar": 16,
                         "rope_scaling": {"factor": 4.0, "rope_type": "linear"}, "sliding_window": 4,
                         "sliding_window_pattern": 3, "vocab_size": 272},
            torch_dtype="bfloat16",
            vision_config={"hidden_size": 8, "image_size": 16, "intermediate_size": 16,
                           "model_type": "siglip_vision_model", "num_attention_heads": 2, "num_hidden_layers": 1,
                           "patch_size": 8, "vision_use_head": False},
        ),
        "disk_dtype": torch.bfloat16,
        "seed": 1103,
        "generation": {"bos_token_id": 2, "eos_token_id": [1, 106], "pad_token_id": 0},
        "sharded": False,
        "stored_names": [("model.language_model.", "language_model.model."), ("model.vision_tower.", "vision_tower."),
                         ("model.multi_modal_projector.", "multi_modal_projector.")],
        "extra_tensors": {"model.vision_tower.vision_model.embeddings.patch_embedding.weight": (8, 3, 8, 8),
                          "model.vision_tower.vision_model.post_layernorm.weight": (8,),
                          "model.multi_modal_projector.mm_input_projection_weight": (8, 32)},
    },
    {
        "name": "gemma4-tiny",
        # gemma4_text as transformers 5 writes it: per-layer inputs (8 per layer), global layers with head dim 32,
        # one kv head and keys as values (attention_k_eq_v), proportional RoPE (a quarter of the frequencies),
        # the last 2 layers reusing layers 1 and 2's keys and values with double-wide MLPs, final soft-cap
        "config": _gemma(
            "gemma4_text", "Gemma4ForCausalLM", "5.0.0", attention_bias=False, attention_k_eq_v=True, dtype="float32",
            enable_moe_block=False, final_logit_softcapping=4.0, global_head_dim=32, head_dim=16,
            hidden_activation="gelu_pytorch_tanh", hidden_size=48, hidden_size_per_layer_input=8,
            intermediate_size=64,
            layer_types=["sliding_attention", "sliding_attention", "full_attention", "sliding_attention", "full_attention"],
            max_position_embeddings=128, num_attention_heads=4, num_global_key_value_heads=1, num_hidden_layers=5,
            num_key_value_heads=2, num_kv_shared_layers=2, rms_norm_eps=1e-6,
            rope_parameters={"full_attention": {"partial_rotary_factor": 0.25, "rope_theta": 1000000.0, "rope_type": "proportional"},
                             "sliding_attention": {"rope_theta": 10000.0, "rope_type": "default"}},
            sliding_window=4, tie_word_embeddings=True, use_bidirectional_attention=None, use_double_wide_mlp=True,
            vocab_size=256, vocab_size_per_layer_input=256,
        ),
        "disk_dtype": torch.float32,
        "seed": 1104,
        "generation": {"bos_token_id": 2, "eos_token_id": 1, "pad_token_id": 0},
        "sharded": False,
    },
]
FAMILY_SPECS = FAMILY_SPECS + GEMMA_SPECS
from fused_ref import FUSED_SPECS  # noqa: E402  Phi-3, Falcon, BLOOM (scripts/reference/fused_ref.py)
FAMILY_SPECS = FAMILY_SPECS + FUSED_SPECS
from hybrid_ref import HYBRID_SPECS  # noqa: E402  Qwen3.5, LFM2 (scripts/reference/hybrid_ref.py)
FAMILY_SPECS = FAMILY_SPECS + HYBRID_SPECS


def init_weights(cfg, seed: int) -> dict:
    """Random f32 weights with HF names, scaled so attention, RoPE and masks visibly matter."""
    if hasattr(cfg, "init_weights"):  # Phi-3, Falcon, BLOOM (fused_ref.CFGS) draw their own
        return cfg.init_weights(seed)
    if hasattr(cfg, "lora_prefixes"):  # the Gemma families (gemma_ref.GemmaCfg) name and shape theirs
        from gemma_fixture import init_gemma_weights

        return init_gemma_weights(cfg, seed)
    g = torch.Generator().manual_seed(seed)

    def randn(*shape, std):
        return torch.randn(*shape, generator=g, dtype=torch.float32) * std

    C, F_, H, Hkv, D, V = cfg.C, cfg.F, cfg.H, cfg.Hkv, cfg.D, cfg.V
    W = {"model.embed_tokens.weight": randn(V, C, std=0.25)}
    for layer in range(cfg.L):
        p = f"model.layers.{layer}."
        W[p + "input_layernorm.weight"] = 1.0 + randn(C, std=0.1)
        W[p + "post_attention_layernorm.weight"] = 1.0 + randn(C, std=0.1)
        # gain 2 on q/k sharpens attention so masking and position errors show up in the logits
        W[p + "self_attn.q_proj.weight"] = randn(H * D, C, std=2.0 / C ** 0.5)
        W[p + "self_attn.k_proj.weight"] = randn(Hkv * D, C, std=2.0 / C ** 0.5)
        W[p + "self_attn.v_proj.weight"] = randn(Hkv * D, C, std=1.0 / C ** 0.5)
        W[p + "self_attn.o_proj.weight"] = randn(C, H * D, std=1.0 / (H * D) ** 0.5)
        if cfg.qkv_bias:
            W[p + "self_attn.q_proj.bias"] = randn(H * D, std=0.5)
            W[p + "self_attn.k_proj.bias"] = randn(Hkv * D, std=0.5)
            W[p + "self_attn.v_proj.bias"] = randn(Hkv * D, std=0.5)
        W[p + "mlp.gate_proj.weight"] = randn(F_, C, std=1.0 / C ** 0.5)
        W[p + "mlp.up_proj.weight"] = randn(F_, C, std=1.0 / C ** 0.5)
        W[p + "mlp.down_proj.weight"] = randn(C, F_, std=1.0 / F_ ** 0.5)
        # drawn after the Llama weights, so adding these features leaves the older fixtures unchanged
        if cfg.o_bias:
            W[p + "self_attn.o_proj.bias"] = randn(C, std=0.5)
        if cfg.mlp_bias:
            W[p + "mlp.gate_proj.bias"] = randn(F_, std=0.5)
            W[p + "mlp.up_proj.bias"] = randn(F_, std=0.5)
            W[p + "mlp.down_proj.bias"] = randn(C, std=0.5)
        if cfg.qk_norm:
            # per-head RMSNorm weights over D, spread so that dropping the norms shows in the logits
            W[p + "self_attn.q_norm.weight"] = 1.0 + randn(D, std=0.3)
            W[p + "self_attn.k_norm.weight"] = 1.0 + randn(D, std=0.3)
    W["model.norm.weight"] = 1.0 + randn(C, std=0.1)
    if not cfg.tied:
        W["lm_head.weight"] = randn(V, C, std=0.25)
    return W


LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def lora_module_prefixes(cfg) -> list:
    if hasattr(cfg, "lora_prefixes"):
        return cfg.lora_prefixes()
    out = []
    for layer in range(cfg.L):
        for t in LORA_TARGETS:
            part = "self_attn" if t.endswith(("q_proj", "k_proj", "v_proj", "o_proj")) else "mlp"
            out.append(f"model.layers.{layer}.{part}.{t}")
    return out


def init_lora(cfg, W: dict, r: int, seed: int) -> dict:
    """{module prefix: (A [R, in], B [out, R])}; both random and non-zero so every grad is live."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for prefix in lora_module_prefixes(cfg):
        n_out, n_in = W[prefix + ".weight"].shape
        A = torch.randn(r, n_in, generator=g) / n_in ** 0.5
        B = torch.randn(n_out, r, generator=g) * 0.1
        out[prefix] = (A, B)
    return out


def peft_name(prefix: str, which: str, cfg=None) -> str:
    """PEFT on-disk tensor name for a LoRA factor ('A' or 'B') of a module. A config with `peft_rename` (stored path
    prefix, PEFT's) names the module as PEFT sees it where transformers loads the checkpoint under other paths (the
    Qwen3.5 wrapper is built as Qwen3_5ForCausalLM, its layers at model.layers.*)."""
    rename = getattr(cfg, "peft_rename", None)
    if rename and prefix.startswith(rename[0]):
        prefix = rename[1] + prefix[len(rename[0]):]
    return f"base_model.model.{prefix}.lora_{which}.weight"
