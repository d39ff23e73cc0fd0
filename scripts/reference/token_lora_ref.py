"""PEFT LoRA on the token matrices, written the way PEFT 0.2x saves and applies it, on two existing fixtures:
llama-tiny (tied embeddings) and llama3-tiny (untied, bf16). The adapter targets q_proj and v_proj (Linear),
lm_head (Linear: lora_A [R, C], lora_B [V, R]) and embed_tokens (Embedding: lora_embedding_A [R, V],
lora_embedding_B [C, R], names without ".weight"), and carries the full base layers of the two targeted token
modules, as save_embedding_layers="auto" writes them ("...embed_tokens.base_layer.weight", "lm_head.base_layer.weight").
Unmerged forward (peft/tuners/lora/layer.py, Embedding.forward and Linear.forward, dropout off):
  x = E[ids] + (A_e^T[ids] @ B_e^T) * s        logits = h @ W_head^T + (h @ A_h^T @ B_h^T) * s
With tied embeddings the two adapters stay independent (ensure_weight_tying False).
Writes test/fixtures/<base>-lora-tokens/ (adapter files + token_golden.json: input ids and logits).
Run: /usr/bin/python3 scripts/reference/token_lora_ref.py
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True

from llama_ref import Cfg, Lora, forward  # noqa: E402
from safetensors_io import load_file, save_file  # noqa: E402

ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
FIX = os.path.join(ROOT, "test", "fixtures")
R, ALPHA = 4, 8
B, T = 2, 9


def adapter_config(base: str) -> dict:
    return {
        "alpha_pattern": {}, "auto_mapping": None, "base_model_name_or_path": base, "bias": "none",
        "corda_config": None, "ensure_weight_tying": False, "eva_config": None, "exclude_modules": None,
        "fan_in_fan_out": False, "inference_mode": True, "init_lora_weights": True, "layer_replication": None,
        "layers_pattern": None, "layers_to_transform": None, "loftq_config": {}, "lora_alpha": ALPHA, "lora_bias": False,
        "lora_dropout": 0.0, "megatron_config": None, "megatron_core": "megatron.core", "modules_to_save": None,
        "peft_type": "LORA", "qalora_group_size": 16, "r": R, "rank_pattern": {}, "revision": None,
        "target_modules": ["embed_tokens", "lm_head", "q_proj", "v_proj"], "target_parameters": None, "task_type": "CAUSAL_LM",
        "trainable_token_indices": None, "use_dora": False, "use_qalora": False, "use_rslora": False,
    }


def build(base: str, seed: int) -> None:
    folder = os.path.join(FIX, base)
    with open(os.path.join(folder, "config.json")) as f:
        cfg = Cfg(json.load(f))
    W = {k: v.float() for k, v in load_file(os.path.join(folder, "model.safetensors"))[0].items()}
    E = W["model.embed_tokens.weight"]  # [V, C]
    head = E if cfg.tied else W["lm_head.weight"]
    g = torch.Generator().manual_seed(seed)
    V, C = E.shape
    s = ALPHA / R
    linears = {}
    for layer in range(cfg.L):
        for proj, n_out in (("q_proj", cfg.H * cfg.D), ("v_proj", cfg.Hkv * cfg.D)):
            linears[f"model.layers.{layer}.self_attn.{proj}"] = (
                torch.randn(R, C, generator=g) / C ** 0.5, torch.randn(n_out, R, generator=g) * 0.1)
    A_e, B_e = torch.randn(R, V, generator=g), torch.randn(C, R, generator=g) * 0.1  # PEFT: A ~ 0, B ~ N(0, 1) at init
    A_h, B_h = torch.randn(R, C, generator=g) / C ** 0.5, torch.randn(V, R, generator=g) * 0.1
    ids = torch.randint(0, V, (B, T), generator=g)

    # the reference forward with the token adapters written out: embedding rows plus their low-rank term,
    # and the head's output plus its low-rank term (each exactly as PEFT's unmerged layers compute them)
    W2 = dict(W)
    W2["model.embed_tokens.weight"] = E + (B_e @ A_e).t() * s  # row i: E[i] + (A_e[:, i] @ B_e^T) * s
    W2["lm_head.weight"] = head + (B_h @ A_h) * s
    tied = cfg.tied
    cfg.tied = False  # the adapted head differs from the adapted embedding
    logits = forward(cfg, W2, ids, Lora(linears, R, ALPHA, False))
    # the same from PEFT's forward terms, token by token, as a self-check of the weight form above
    x0 = E[ids] + (A_e.t()[ids] @ B_e.t()) * s
    assert torch.allclose(x0, W2["model.embed_tokens.weight"][ids], atol=1e-5)

    out = os.path.join(FIX, f"{base}-lora-tokens")
    os.makedirs(out, exist_ok=True)
    tensors = {}
    for prefix, (A, Bm) in linears.items():
        tensors[f"base_model.model.{prefix}.lora_A.weight"] = A
        tensors[f"base_model.model.{prefix}.lora_B.weight"] = Bm
    tensors["base_model.model.model.embed_tokens.lora_embedding_A"] = A_e
    tensors["base_model.model.model.embed_tokens.lora_embedding_B"] = B_e
    tensors["base_model.model.lm_head.lora_A.weight"] = A_h
    tensors["base_model.model.lm_head.lora_B.weight"] = B_h
    tensors["base_model.model.model.embed_tokens.base_layer.weight"] = E.clone()
    tensors["base_model.model.lm_head.base_layer.weight"] = head.clone()  # the tied embedding itself when tied
    assert tied == (base == "llama-tiny")
    save_file(tensors, os.path.join(out, "adapter_model.safetensors"), {"format": "pt"})
    with open(os.path.join(out, "adapter_config.json"), "w") as f:
        json.dump(adapter_config(base), f, indent=2, sort_keys=True)
        f.write("\n")
    golden = {"input_ids": ids.tolist(), "scaling": s, "logits_shape": list(logits.shape),
              "logits": [float(f"{x:.9g}") for x in logits.reshape(-1).tolist()]}
    with open(os.path.join(out, "token_golden.json"), "w") as f:
        json.dump(golden, f, separators=(",", ":"))
        f.write("\n")
    print(f"{base}-lora-tokens: max|logit| {logits.abs().max():.4f}")


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    with torch.no_grad():
        build("llama-tiny", 3001)
        build("llama3-tiny", 3002)


if __name__ == "__main__":
    main()
