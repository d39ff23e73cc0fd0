"""Writes the encoder fixtures: test/fixtures/<name>/ (config.json, model.safetensors as the published checkpoints
store them, golden.json) and <name>-lora/ (a PEFT SEQ_CLS adapter: LoRA factors and the classification head as
modules_to_save, lora_golden.json), after self-checks (float32 vs float64, finite differences, the mask and the
local window visibly matter).
Run: /usr/bin/python3 scripts/reference/encoder_fixtures.py [NAME...]
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True

import encoder_ref as ref  # noqa: E402
from safetensors_io import save_file  # noqa: E402

OUT = os.path.normpath(os.path.join(HERE, "..", "..", "test", "fixtures"))
ADAMW = {"lr": 1e-2, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.01}
STEPS, R, ALPHA = 3, 4, 8
LABELS = [2, 0, 1]
CLASS_WEIGHTS = [1.0, 2.0, 0.5]

BASE = {"hidden_size": 32, "num_attention_heads": 4, "num_hidden_layers": 2, "intermediate_size": 64, "hidden_act": "gelu",
        "initializer_range": 0.02, "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "classifier_dropout": None,
        "position_embedding_type": "absolute", "dtype": "float32", "transformers_version": "5.17.0"}

SPECS = {
    "bert-enc-tiny": {
        "seed": 11, "prefix": "bert.", "specials": (2, 3, 0), "lengths": [10, 7, 4], "types": True,
        "targets": ["query", "value"],
        "config": {**BASE, "architectures": ["BertForPreTraining"], "model_type": "bert", "vocab_size": 96, "max_position_embeddings": 24,
                   "type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 0},
        "extra": {"cls.predictions.bias": [96], "cls.predictions.transform.dense.weight": [32, 32], "cls.seq_relationship.weight": [2, 32]},
    },
    "xlmr-enc-tiny": {
        "seed": 12, "prefix": "", "specials": (0, 2, 1), "lengths": [9, 10, 3], "types": False,
        "targets": ["query", "value", "dense"],
        "config": {**BASE, "architectures": ["XLMRobertaModel"], "model_type": "xlm-roberta", "vocab_size": 88, "max_position_embeddings": 14,
                   "type_vocab_size": 1, "layer_norm_eps": 1e-5, "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2},
        "extra": {},
    },
    "modernbert-enc-tiny": {
        "seed": 13, "prefix": "model.", "specials": (2, 3, 0), "lengths": [10, 8, 3], "types": False,
        "targets": ["Wqkv", "Wo", "Wi"],
        "config": {"architectures": ["ModernBertForMaskedLM"], "model_type": "modernbert", "vocab_size": 80, "hidden_size": 32,
                   "num_attention_heads": 4, "num_hidden_layers": 3, "intermediate_size": 48, "hidden_activation": "gelu",
                   "max_position_embeddings": 64, "norm_eps": 1e-5, "norm_bias": False, "local_attention": 4,
                   "global_attn_every_n_layers": 2, "layer_types": ["full_attention", "sliding_attention", "full_attention"],
                   "rope_parameters": {"full_attention": {"rope_type": "default", "rope_theta": 160000.0},
                                       "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}},
                   "classifier_pooling": "mean", "classifier_activation": "gelu", "pad_token_id": 0, "dtype": "float32",
                   "transformers_version": "5.17.0"},
        "extra": {"decoder.bias": [80]},
    },
}


def body_shapes(cfg, c: dict, typed: bool) -> dict:
    C, F, L = cfg.C, cfg.F, cfg.L
    if cfg.model_type == "modernbert":
        s = {"model.embeddings.tok_embeddings.weight": [c["vocab_size"], C], "model.embeddings.norm.weight": [C],
             "model.final_norm.weight": [C], "head.dense.weight": [C, C], "head.norm.weight": [C]}
        for i in range(L):
            p = f"model.layers.{i}"
            if i > 0:
                s[f"{p}.attn_norm.weight"] = [C]
            s.update({f"{p}.attn.Wqkv.weight": [3 * C, C], f"{p}.attn.Wo.weight": [C, C], f"{p}.mlp_norm.weight": [C],
                      f"{p}.mlp.Wi.weight": [2 * F, C], f"{p}.mlp.Wo.weight": [C, F]})
        return s
    pre = ref.PREFIX[cfg.model_type]
    e = f"{pre}.embeddings"
    s = {f"{e}.word_embeddings.weight": [c["vocab_size"], C], f"{e}.position_embeddings.weight": [c["max_position_embeddings"], C],
         f"{e}.LayerNorm.weight": [C], f"{e}.LayerNorm.bias": [C], f"{pre}.pooler.dense.weight": [C, C], f"{pre}.pooler.dense.bias": [C]}
    if typed or c["type_vocab_size"] > 0:
        s[f"{e}.token_type_embeddings.weight"] = [c["type_vocab_size"], C]
    for i in range(L):
        p = f"{pre}.encoder.layer.{i}"
        for n, shape in [("attention.self.query", [C, C]), ("attention.self.key", [C, C]), ("attention.self.value", [C, C]),
                         ("attention.output.dense", [C, C]), ("intermediate.dense", [F, C]), ("output.dense", [C, F])]:
            s[f"{p}.{n}.weight"] = shape
            s[f"{p}.{n}.bias"] = [shape[0]]
        for n in ["attention.output.LayerNorm", "output.LayerNorm"]:
            s[f"{p}.{n}.weight"] = [C]
            s[f"{p}.{n}.bias"] = [C]
    return s


def random_weights(shapes: dict, g) -> dict:
    W = {}
    for name, shape in shapes.items():
        t = torch.randn(*shape, generator=g)
        if "norm" in name.lower() and name.endswith(".weight"):
            W[name] = 1 + 0.2 * t
        elif name.endswith(".bias"):
            W[name] = 0.1 * t
        elif "embeddings" in name:
            W[name] = 0.5 * t
        else:
            W[name] = t / shape[-1] ** 0.5
    return W


def head_shapes(cfg, K: int) -> dict:
    C = cfg.C
    if cfg.model_type == "bert" or cfg.model_type == "modernbert":
        return {"classifier.weight": [K, C], "classifier.bias": [K]}
    return {"classifier.dense.weight": [C, C], "classifier.dense.bias": [C], "classifier.out_proj.weight": [K, C], "classifier.out_proj.bias": [K]}


def lora_modules(W: dict, targets: list) -> list:
    mods = sorted({n[: -len(".weight")] for n in W if n.endswith(".weight") and W[n].dim() == 2})
    return [m for m in mods if m.split(".")[-1] in targets and not m.startswith(("classifier", "head", "cls", "bert.pooler", "roberta.pooler"))
            and "embeddings" not in m]


def inputs(spec: dict, c: dict, g):
    cls, sep, pad = spec["specials"]
    B, T = len(spec["lengths"]), max(spec["lengths"])
    ids = torch.full((B, T), pad, dtype=torch.long)
    mask = torch.zeros(B, T, dtype=torch.long)
    for b, n in enumerate(spec["lengths"]):
        ids[b, :n] = torch.randint(5, c["vocab_size"], (n,), generator=g)
        ids[b, 0], ids[b, n - 1] = cls, sep
        mask[b, :n] = 1
    types = torch.zeros(B, T, dtype=torch.long)
    if spec["types"]:
        types[0, 6:] = 1
    return ids, mask, types


def floats(t, digits=9) -> list:
    return [float(f"{x:.{digits}g}") for x in t.reshape(-1).tolist()]


def write_json(path: str, obj, compact=False) -> None:
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":")) if compact else json.dump(obj, f, indent=2)
        f.write("\n")


def stored_name(name: str, spec: dict) -> str:
    """The checkpoint's own layout: a base model (XLMRobertaModel) stores names without the task prefix."""
    if spec["prefix"] == "" and name.startswith("roberta."):
        return name[len("roberta."):]
    return name


def peft_state(lora_init: dict, head: dict) -> dict:
    """PEFT's saved names: LoRA factors under base_model.model.<module>, modules_to_save without their wrapper."""
    out = {f"base_model.model.{m}.lora_{w}.weight": t for m, (A, B) in lora_init.items() for w, t in (("A", A), ("B", B))}
    out.update({f"base_model.model.{n}": t for n, t in head.items()})
    return out


def forward_loss(cfg, W, x, lora, weights=None):
    ids, mask, types = x
    logits = ref.classify(cfg, W, ids, mask, types, lora)
    return logits, ref.class_loss(logits, torch.tensor(LABELS), weights)


def grads(cfg, W, x, lora_init, head, weights=None):
    lw = {m: (A.clone().requires_grad_(True), B.clone().requires_grad_(True)) for m, (A, B) in lora_init.items()}
    hw = {n: t.clone().requires_grad_(True) for n, t in head.items()}
    logits, loss = forward_loss(cfg, {**W, **hw}, x, ref.Lora(lw, R, ALPHA), weights)
    loss.backward()
    g = {f"base_model.model.{m}.lora_{w}.weight": t.grad for m, (A, B) in lw.items() for w, t in (("A", A), ("B", B))}
    g.update({f"base_model.model.{n}": t.grad for n, t in hw.items()})
    return logits.detach(), loss.detach(), g


def trajectory(cfg, W, x, lora_init, head) -> list:
    """Loss before each of STEPS AdamW steps; biases and LayerNorm weights without weight decay (HF Trainer's groups)."""
    lw = {m: (A.clone().requires_grad_(True), B.clone().requires_grad_(True)) for m, (A, B) in lora_init.items()}
    hw = {n: t.clone().requires_grad_(True) for n, t in head.items()}
    decay = [t for pair in lw.values() for t in pair] + [t for n, t in hw.items() if not n.endswith(".bias")]
    plain = [t for n, t in hw.items() if n.endswith(".bias")]
    o = ADAMW
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": o["weight_decay"]}, {"params": plain, "weight_decay": 0.0}],
                            lr=o["lr"], betas=tuple(o["betas"]), eps=o["eps"])
    losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        _, loss = forward_loss(cfg, {**W, **hw}, x, ref.Lora(lw, R, ALPHA))
        losses.append(float(loss))
        loss.backward()
        opt.step()
    return losses


def self_check(name, cfg, W, x, lora_init, head, g) -> None:
    ids, mask, types = x
    W64 = {k: v.double() for k, v in W.items()}
    l64 = {m: (A.double(), B.double()) for m, (A, B) in lora_init.items()}
    h64 = {k: v.double() for k, v in head.items()}
    lg32, _ = forward_loss(cfg, {**W, **head}, x, ref.Lora(lora_init, R, ALPHA))
    lg64, _ = forward_loss(cfg, {**W64, **h64}, x, ref.Lora(l64, R, ALPHA))
    assert (lg32.double() - lg64).abs().max() < 1e-4, f"{name}: float32 and float64 logits differ"
    # finite difference on one LoRA factor element and one head element
    for key in [next(iter(g)), f"base_model.model.{next(iter(head))}"]:
        def loss_at(delta):
            lw = {m: (A.clone(), B.clone()) for m, (A, B) in l64.items()}
            hw = {k: v.clone() for k, v in h64.items()}
            if "lora_" in key:
                m, w = key[len("base_model.model."):].rsplit(".lora_", 1)
                lw[m][0 if w.startswith("A") else 1].view(-1)[1] += delta
            else:
                hw[key[len("base_model.model."):]].view(-1)[1] += delta
            return float(forward_loss(cfg, {**W64, **hw}, x, ref.Lora(lw, R, ALPHA))[1])
        fd = (loss_at(1e-6) - loss_at(-1e-6)) / 2e-6
        assert abs(fd - float(g[key].reshape(-1)[1])) < 1e-4 * max(1.0, abs(fd)), f"{name}: finite difference of {key}"
    # padding is invisible to the real tokens; ModernBERT's local window changes the output
    ids2 = ids.clone()
    ids2[mask == 0] = 7
    h1, h2 = ref.encode(cfg, W, ids, mask, types), ref.encode(cfg, W, ids2, mask, types)
    assert (h1 - h2)[mask.bool()].abs().max() < 1e-5, f"{name}: padding leaked into real tokens"
    if cfg.model_type == "modernbert":
        wide = ref.Cfg({**SPECS[name]["config"], "local_attention": 64})
        assert (ref.encode(wide, W, ids, mask, types) - h1).abs().max() > 1e-3, f"{name}: the local window has no effect"


def make(name: str) -> None:
    spec = SPECS[name]
    c = spec["config"]
    cfg = ref.Cfg(c)
    g = torch.Generator().manual_seed(spec["seed"])
    W = random_weights(body_shapes(cfg, c, spec["types"]), g)
    extra = {n: torch.randn(*s, generator=g) * 0.1 for n, s in spec["extra"].items()}
    x = inputs(spec, c, g)
    ids, mask, types = x
    K = len(CLASS_WEIGHTS)
    head = random_weights(head_shapes(cfg, K), g)
    lora_init = {m: (torch.randn(R, W[m + ".weight"].shape[1], generator=g) * 0.2, torch.randn(W[m + ".weight"].shape[0], R, generator=g) * 0.2)
                 for m in lora_modules(W, spec["targets"])}
    hidden = ref.encode(cfg, W, ids, mask, types)
    logits_head, _ = forward_loss(cfg, {**W, **head}, x, None)
    logits, loss, g_all = grads(cfg, W, x, lora_init, head)
    _, loss_w, _ = grads(cfg, W, x, lora_init, head, torch.tensor(CLASS_WEIGHTS))
    self_check(name, cfg, W, x, lora_init, head, g_all)
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    write_json(os.path.join(d, "config.json"), c)
    save_file({stored_name(n, spec): t.contiguous() for n, t in {**W, **extra}.items()}, os.path.join(d, "model.safetensors"), {"format": "pt"})
    pooled = {m: floats(torch.nn.functional.normalize(ref.pool(hidden, mask, m), dim=-1)) for m in ("mean", "cls", "lasttoken")}
    write_json(os.path.join(d, "golden.json"), {
        "input_ids": ids.tolist(), "attention_mask": mask.tolist(), "token_type_ids": types.tolist(),
        "hidden_shape": list(hidden.shape), "hidden": floats(hidden), "pooled_normalized": pooled,
    }, compact=True)
    a = os.path.join(OUT, name + "-lora")
    os.makedirs(a, exist_ok=True)
    write_json(os.path.join(a, "adapter_config.json"), {
        "peft_type": "LORA", "task_type": "SEQ_CLS", "base_model_name_or_path": name, "r": R, "lora_alpha": ALPHA,
        "lora_dropout": 0.0, "target_modules": spec["targets"], "bias": "none", "fan_in_fan_out": False, "inference_mode": True,
        "modules_to_save": ["classifier", "score"], "use_rslora": False, "use_dora": False, "rank_pattern": {}, "alpha_pattern": {},
        "init_lora_weights": True, "layers_to_transform": None, "peft_version": "0.21.0"})
    save_file(peft_state(lora_init, head), os.path.join(a, "adapter_model.safetensors"), {"format": "pt"})
    write_json(os.path.join(a, "lora_golden.json"), {
        "labels": LABELS, "class_weights": CLASS_WEIGHTS, "scaling": ALPHA / R,
        "logits_head_only": floats(logits_head), "logits": floats(logits), "loss": float(loss), "loss_weighted": float(loss_w),
        "grads": {k: floats(v) for k, v in sorted(g_all.items())},
        "trajectory": {"optimizer": ADAMW, "steps": STEPS, "losses": trajectory(cfg, W, x, lora_init, head)},
    }, compact=True)
    print(f"{name}: |hidden| max {hidden.abs().max():.3f}, loss {float(loss):.6f}, weighted {float(loss_w):.6f}, {len(lora_init)} LoRA modules")


if __name__ == "__main__":
    torch.set_num_threads(1)
    for n in sys.argv[1:] or list(SPECS):
        make(n)
