"""Writes test/fixtures/<name>/ (HF config, weights, golden.json) for each tiny spec, plus the
PEFT adapter fixtures for llama-tiny, and self-checks everything it writes.
Run from anywhere: /usr/bin/python3 scripts/reference/make_fixtures.py [NAME...]  (only those fixtures)
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # keep __pycache__ out of the repository

import checks  # noqa: E402
import lora_ref  # noqa: E402
from fused_ref import CFGS as FUSED_CFGS  # noqa: E402
from hybrid_ref import CFGS as HYBRID_CFGS, greedy_check as hybrid_greedy_check  # noqa: E402
from gemma_ref import GemmaCfg  # noqa: E402
from llama_ref import Cfg, Lora, causal_lm_loss, forward, greedy  # noqa: E402
from safetensors_io import load_file, save_file  # noqa: E402
from specs import FAMILY_SPECS, LORA_TARGETS, SPECS, init_lora, init_weights, peft_name  # noqa: E402

ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "test", "fixtures")
B, T = 2, 12
PROMPT_LEN, MAX_NEW = 5, 10
LORA_R, LORA_ALPHA = 4, 8
FAMILY_STEPS = 3  # AdamW steps of the family adapters' trajectories


def floats(t, digits=9) -> list:
    return [float(f"{x:.{digits}g}") for x in t.reshape(-1).tolist()]


def write_json(path: str, obj, compact: bool = False) -> None:
    """Configs are indented like HF writes them; goldens are compact to keep the repo small."""
    with open(path, "w") as f:
        if compact:
            json.dump(obj, f, separators=(",", ":"))
        else:
            json.dump(obj, f, indent=2)
        f.write("\n")


def make_cfg(config: dict):
    """The reference's config reader for this model_type."""
    if config["model_type"] in FUSED_CFGS:
        return FUSED_CFGS[config["model_type"]](config)
    if config["model_type"] in HYBRID_CFGS:
        return HYBRID_CFGS[config["model_type"]](config)
    return GemmaCfg(config) if config["model_type"].startswith("gemma") else Cfg(config)


def stored(spec: dict, Wdisk: dict) -> dict:
    """The tensors as the checkpoint stores them: spec["stored_names"] rewrites name prefixes (an older layout)
    and spec["extra_tensors"] adds parts beside the language model (a stand-in vision tower)."""
    g = torch.Generator().manual_seed(spec["seed"] + 7)
    out = dict(Wdisk)
    for name, shape in spec.get("extra_tensors", {}).items():
        out[name] = torch.randn(*shape, generator=g).to(spec["disk_dtype"])

    def rename(n):
        for old, new in spec.get("stored_names", []):
            if n.startswith(old):
                return new + n[len(old):]
        return n

    return {rename(n): t for n, t in out.items()}


def write_weights(folder: str, Wdisk: dict, sharded: bool) -> None:
    meta = {"format": "pt"}
    if not sharded:
        save_file(Wdisk, os.path.join(folder, "model.safetensors"), meta)
        return
    # HF fills shards in order: embeddings + layer 0 in the first, the rest in the second
    names = sorted(Wdisk)
    first = [n for n in names if n.startswith(("model.embed_tokens", "model.layers.0."))]
    shards = [first, [n for n in names if n not in first]]
    weight_map, total = {}, 0
    for i, part in enumerate(shards):
        fname = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        total += save_file({n: Wdisk[n] for n in part}, os.path.join(folder, fname), meta)
        weight_map.update({n: fname for n in part})
    write_json(os.path.join(folder, "model.safetensors.index.json"),
               {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))})


def read_weights(folder: str) -> dict:
    index = os.path.join(folder, "model.safetensors.index.json")
    if not os.path.exists(index):
        return load_file(os.path.join(folder, "model.safetensors"))[0]
    with open(index) as f:
        files = sorted(set(json.load(f)["weight_map"].values()))
    out = {}
    for fname in files:
        out.update(load_file(os.path.join(folder, fname))[0])
    return out


def make_inputs(cfg: Cfg, seed: int, T: int = T):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, cfg.V, (B, T), generator=g)
    labels = ids.clone()
    labels[0, :3] = -100  # a masked prompt prefix
    labels[1, 6] = -100  # a hole in the middle
    labels[1, -2:] = -100  # masked tail (padding-like)
    return ids, labels, g


def pick_prompt(cfg: Cfg, W: dict, g: torch.Generator, eos: set, lora=None):
    """A prompt whose greedy run has a clear argmax at every step, varied tokens and no eos."""
    best = None
    for attempt in range(40):
        prompt = torch.randint(3, cfg.V, (PROMPT_LEN,), generator=g).tolist()
        tokens, gap = greedy(cfg, W, prompt, MAX_NEW, lora)
        ok = gap > 2e-3 and not (set(tokens) & eos)
        if ok and len(set(tokens)) >= 3:
            return prompt, tokens, gap
        if ok and best is None:
            best = (prompt, tokens, gap)
    if best is None:
        raise RuntimeError("no prompt with a clear greedy argmax found")
    return best


def build_model(spec: dict):
    cfg = make_cfg(spec["config"])
    folder = os.path.join(OUT, spec["name"])
    os.makedirs(folder, exist_ok=True)
    Wdisk = {k: v.to(spec["disk_dtype"]) for k, v in init_weights(cfg, spec["seed"]).items()}
    # the reference computes with the on-disk (rounded) values widened to float32
    W = {k: v.float() for k, v in Wdisk.items()}
    write_json(os.path.join(folder, "config.json"), spec["config"])
    write_json(os.path.join(folder, "generation_config.json"),
               dict(spec["generation"], transformers_version=spec["config"]["transformers_version"]))
    on_disk = stored(spec, Wdisk)
    write_weights(folder, on_disk, spec["sharded"])
    checks.weights_round_trip(on_disk, read_weights(folder))
    return cfg, folder, W


def build_golden(spec: dict) -> dict:
    print(spec["name"])
    cfg, folder, W = build_model(spec)
    ids, labels, g = make_inputs(cfg, spec["seed"] + 1, spec.get("seq_len", T))
    with torch.no_grad():
        logits = forward(cfg, W, ids)
        loss = causal_lm_loss(logits, labels)
    checks.model_checks(spec, cfg, W, ids, labels, logits, loss)
    eos = spec["config"].get("eos_token_id", spec["generation"]["eos_token_id"])
    eos = set(eos if isinstance(eos, list) else [eos])
    prompt, tokens, gap = pick_prompt(cfg, W, g, eos)
    checks.greedy_f64(cfg, W, prompt, tokens)
    if config_type(spec) in HYBRID_CFGS:
        hybrid_greedy_check(cfg, W, prompt, tokens)
    golden = {
        "input_ids": ids.tolist(),
        "labels": labels.tolist(),
        "logits_shape": list(logits.shape),
        "logits": floats(logits),
        "loss": float(f"{float(loss):.9g}"),
        "greedy": {"prompt": prompt, "max_new_tokens": MAX_NEW, "tokens": tokens,
                   "min_top2_gap": float(f"{gap:.6g}")},
    }
    write_json(os.path.join(folder, "golden.json"), golden, compact=True)
    print(f"  max|logit| {logits.abs().max():8.4f}  loss {float(loss):.6f}  "
          f"greedy {tokens} (min top-2 gap {gap:.4f})")
    return {"cfg": cfg, "W": W, "ids": ids, "labels": labels, "logits": logits, "loss": loss}


def config_type(spec: dict) -> str:
    return spec["config"]["model_type"]


def adapter_config(rslora: bool) -> dict:
    return {
        "alpha_pattern": {}, "auto_mapping": None, "base_model_name_or_path": "llama-tiny",
        "bias": "none", "fan_in_fan_out": False, "inference_mode": True,
        "init_lora_weights": True, "layers_pattern": None, "layers_to_transform": None,
        "lora_alpha": LORA_ALPHA, "lora_dropout": 0.0, "modules_to_save": None,
        "peft_type": "LORA", "r": LORA_R, "rank_pattern": {}, "revision": None,
        "target_modules": LORA_TARGETS, "task_type": "CAUSAL_LM", "use_dora": False,
        "use_rslora": rslora,
    }


def peft_adapter_config(base_name: str, targets=None) -> dict:
    """adapter_config.json as PEFT 0.2x's save_pretrained writes a plain LoRA on the given modules (default: all
    seven projections)."""
    return {
        "alpha_pattern": {}, "auto_mapping": None, "base_model_name_or_path": base_name, "bias": "none",
        "corda_config": None, "eva_config": None, "exclude_modules": None, "fan_in_fan_out": False,
        "inference_mode": True, "init_lora_weights": True, "layer_replication": None, "layers_pattern": None,
        "layers_to_transform": None, "loftq_config": {}, "lora_alpha": LORA_ALPHA, "lora_bias": False,
        "lora_dropout": 0.0, "megatron_config": None, "megatron_core": "megatron.core", "modules_to_save": None,
        "peft_type": "LORA", "qalora_group_size": 16, "r": LORA_R, "rank_pattern": {}, "revision": None,
        "target_modules": sorted(targets or LORA_TARGETS), "target_parameters": None, "task_type": "CAUSAL_LM",
        "trainable_token_indices": None, "use_dora": False, "use_qalora": False, "use_rslora": False,
    }


def write_adapter(folder: str, init: dict, config: dict, cfg=None) -> None:
    os.makedirs(folder, exist_ok=True)
    tensors = {}
    for prefix, (A, Bm) in init.items():
        tensors[peft_name(prefix, "A", cfg)] = A
        tensors[peft_name(prefix, "B", cfg)] = Bm
    path = os.path.join(folder, "adapter_model.safetensors")
    save_file(tensors, path, {"format": "pt"})
    checks.weights_round_trip(tensors, load_file(path)[0])
    write_json(os.path.join(folder, "adapter_config.json"), config)


def build_family_lora(spec: dict, base: dict) -> None:
    """<name>-lora: logits, loss, every gradient, greedy tokens with the adapter, a 3-step trajectory."""
    cfg, W, ids, labels = base["cfg"], base["W"], base["ids"], base["labels"]
    name = spec["name"] + "-lora"
    print(name)
    init = init_lora(cfg, W, LORA_R, seed=spec["seed"] + 1000)
    targets = {prefix.split(".")[-1] for prefix in init}
    write_adapter(os.path.join(OUT, name), init, peft_adapter_config(spec["name"], targets), cfg)
    args = (cfg, W, ids, labels, init, LORA_R, LORA_ALPHA, False)
    logits, loss, grads = lora_ref.loss_and_grads(*args)
    losses = lora_ref.trajectory(*args, steps=FAMILY_STEPS)
    checks.lora_checks(base, args, logits, loss, grads, losses, steps=FAMILY_STEPS)
    lora = Lora(init, LORA_R, LORA_ALPHA, False)
    eos = spec["config"].get("eos_token_id", spec["generation"]["eos_token_id"])
    g = torch.Generator().manual_seed(spec["seed"] + 2)
    prompt, tokens, gap = pick_prompt(cfg, W, g, set(eos if isinstance(eos, list) else [eos]), lora)
    checks.greedy_f64(cfg, W, prompt, tokens, lora)
    golden = {
        "input_ids": ids.tolist(), "labels": labels.tolist(), "scaling": LORA_ALPHA / LORA_R,
        "logits_shape": list(logits.shape), "logits": floats(logits), "loss": float(f"{float(loss):.9g}"),
        "grads": {k: floats(v) for k, v in sorted(grads.items())},
        "greedy": {"prompt": prompt, "max_new_tokens": MAX_NEW, "tokens": tokens, "min_top2_gap": float(f"{gap:.6g}")},
        "trajectory": {"optimizer": lora_ref.ADAMW, "steps": FAMILY_STEPS, "losses": [float(f"{x:.9g}") for x in losses]},
    }
    write_json(os.path.join(OUT, name, "lora_golden.json"), golden, compact=True)
    print(f"  max|logit| {logits.abs().max():8.4f}  loss {float(loss):.6f}  greedy {tokens} (gap {gap:.4f})  "
          f"trajectory {losses[0]:.5f} -> {losses[-1]:.5f}")


def build_lora(base: dict, rslora: bool) -> None:
    cfg, W, ids, labels = base["cfg"], base["W"], base["ids"], base["labels"]
    name = "llama-tiny-lora-rslora" if rslora else "llama-tiny-lora"
    print(name)
    init = init_lora(cfg, W, LORA_R, seed=2001)
    write_adapter(os.path.join(OUT, name), init, adapter_config(rslora))
    args = (cfg, W, ids, labels, init, LORA_R, LORA_ALPHA, rslora)
    logits, loss, grads = lora_ref.loss_and_grads(*args)
    losses = lora_ref.trajectory(*args)
    checks.lora_checks(base, args, logits, loss, grads, losses)
    folder = os.path.join(OUT, name)
    golden = {
        "input_ids": ids.tolist(),
        "labels": labels.tolist(),
        "scaling": LORA_ALPHA / LORA_R ** 0.5 if rslora else LORA_ALPHA / LORA_R,
        "logits_shape": list(logits.shape),
        "logits": floats(logits),
        "loss": float(f"{float(loss):.9g}"),
        "grads": {k: floats(v) for k, v in sorted(grads.items())},
        "trajectory": {"optimizer": lora_ref.ADAMW, "steps": lora_ref.STEPS,
                       "losses": [float(f"{x:.9g}") for x in losses]},
    }
    write_json(os.path.join(folder, "lora_golden.json"), golden, compact=True)
    print(f"  max|logit| {logits.abs().max():8.4f}  loss {float(loss):.6f}  "
          f"trajectory {losses[0]:.5f} -> {losses[-1]:.5f}")


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    checks.safetensors_self_test()
    only = set(sys.argv[1:])  # fixture names to (re)write; all when none are given
    unknown = only - {s["name"] for s in SPECS + FAMILY_SPECS}
    if unknown:
        raise SystemExit(f"unknown fixture(s) {sorted(unknown)}")
    bases = {spec["name"]: build_golden(spec) for spec in SPECS if not only or spec["name"] in only}
    if "llama-tiny" in bases:
        build_lora(bases["llama-tiny"], rslora=False)
        build_lora(bases["llama-tiny"], rslora=True)
    for spec in FAMILY_SPECS:
        if only and spec["name"] not in only:
            continue
        base = build_golden(spec)
        if spec.get("lora", True):
            build_family_lora(spec, base)
    checks.report_sizes(OUT)


if __name__ == "__main__":
    main()
