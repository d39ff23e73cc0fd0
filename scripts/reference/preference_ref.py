"""DPO and KTO goldens on the tiny fixtures, following TRL's DPOTrainer._compute_loss and KTOTrainer._compute_loss
line by line (per-token log-probs by selective_log_softmax over the completion mask, summed per sequence; the
reference is the base with the adapter off, or a frozen copy of the starting adapter, as TRL's "ref" adapter).
Writes test/fixtures/preference/<case>.json: the sequences, loss, TRL's metrics, every LoRA gradient and a
3-step AdamW trajectory. Run: /usr/bin/python3 scripts/reference/preference_ref.py
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True

from gemma_ref import GemmaCfg  # noqa: E402
from llama_ref import Cfg, Lora, forward  # noqa: E402
from lora_ref import ADAMW  # noqa: E402
from safetensors_io import load_file  # noqa: E402
from specs import peft_name  # noqa: E402

ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
FIX = os.path.join(ROOT, "test", "fixtures")
OUT = os.path.join(FIX, "preference")
STEPS = 3
PAD = 0


def load(model: str):
    with open(os.path.join(FIX, model, "config.json")) as f:
        config = json.load(f)
    cfg = GemmaCfg(config) if config["model_type"].startswith("gemma") else Cfg(config)
    W = {k: v.float() for k, v in load_file(os.path.join(FIX, model, "model.safetensors"))[0].items()}
    with open(os.path.join(FIX, f"{model}-lora", "adapter_config.json")) as f:
        ac = json.load(f)
    T = load_file(os.path.join(FIX, f"{model}-lora", "adapter_model.safetensors"))[0]
    init = {}
    for name, t in T.items():
        prefix = name[len("base_model.model."):].rsplit(".lora_", 1)[0]
        A, B = init.get(prefix, (None, None))
        init[prefix] = (t.float(), B) if ".lora_A." in name else (A, t.float())
    return cfg, W, init, ac["r"], ac["lora_alpha"], config["vocab_size"]


def selective_log_softmax(logits, index):
    return torch.gather(torch.log_softmax(logits, dim=-1), -1, index.unsqueeze(-1)).squeeze(-1)


def pad(seqs):
    """Right padding, as DataCollatorForPreference: input_ids with PAD, completion_mask with 0."""
    T = max(len(ids) for ids, _ in seqs)
    ids = torch.tensor([s + [PAD] * (T - len(s)) for s, _ in seqs])
    mask = torch.tensor([m + [0] * (T - len(m)) for _, m in seqs])
    return ids, mask


def sequence_logps(cfg, W, input_ids, completion_mask, lora):
    """TRL: shift, selective_log_softmax, zero outside the completion, sum over the sequence."""
    logits = forward(cfg, W, input_ids, lora)
    shift_logits = logits[..., :-1, :]
    shift_labels = input_ids[..., 1:]
    shift_completion_mask = completion_mask[..., 1:]
    per_token_logps = selective_log_softmax(shift_logits, shift_labels)
    per_token_logps[shift_completion_mask == 0] = 0.0
    return per_token_logps.sum(dim=1)


def dpo_loss(case, logps, ref_logps, completion_mask):
    """DPOTrainer._compute_loss (f_divergence reverse_kl) for one loss type; sigmoid with label smoothing is the
    conservative DPO form TRL computed before 0.29."""
    beta, ls = case["beta"], case["label_smoothing"]
    chosen_logps, rejected_logps = logps.chunk(2, dim=0)
    ref_chosen_logps, ref_rejected_logps = ref_logps.chunk(2, dim=0)
    chosen_logratios = chosen_logps - ref_chosen_logps
    rejected_logratios = rejected_logps - ref_rejected_logps
    chosen_scores, rejected_scores = chosen_logratios, rejected_logratios
    delta_score = chosen_scores - rejected_scores
    lt = case["loss_type"]
    if lt == "sigmoid":
        per_sequence_loss = -(1 - ls) * F.logsigmoid(beta * delta_score) - ls * F.logsigmoid(-beta * delta_score)
    elif lt == "hinge":
        per_sequence_loss = torch.relu(1 - beta * delta_score)
    elif lt == "ipo":
        chosen_mask, rejected_mask = completion_mask.chunk(2, dim=0)
        chosen_avg_score = chosen_scores / chosen_mask.sum(dim=1).clamp(min=1.0)
        rejected_avg_score = rejected_scores / rejected_mask.sum(dim=1).clamp(min=1.0)
        ipo_delta = chosen_avg_score - rejected_avg_score
        per_sequence_loss = (ipo_delta - 1 / (2 * beta)) ** 2
    elif lt == "robust":
        clean_loss_term = -(1 - ls) * F.logsigmoid(beta * delta_score)
        flipped_loss_term = -ls * F.logsigmoid(-beta * delta_score)
        per_sequence_loss = (clean_loss_term - flipped_loss_term) / (1 - 2 * ls)
    else:
        raise ValueError(lt)
    loss = per_sequence_loss.mean()
    chosen_rewards = beta * chosen_logratios.detach()
    rejected_rewards = beta * rejected_logratios.detach()
    metrics = {
        "rewards/chosen": chosen_rewards.mean().item(), "rewards/rejected": rejected_rewards.mean().item(),
        "rewards/accuracies": (chosen_rewards > rejected_rewards).float().mean().item(),
        "rewards/margins": (chosen_rewards - rejected_rewards).mean().item(),
        "logps/chosen": chosen_logps.detach().mean().item(), "logps/rejected": rejected_logps.detach().mean().item(),
    }
    return loss, metrics


def kto_loss(case, cfg, W, batch, lora, ref_lora):
    """KTOTrainer._compute_loss: the KL term from the mismatched sequences (no grad for the policy either),
    clamped at 0; desirable 1 - sigmoid(beta (r - kl)), undesirable 1 - sigmoid(beta (kl - r)), weighted."""
    beta = case["beta"]
    with torch.no_grad():
        KL_logps = sequence_logps(cfg, W, batch["KL_input_ids"], batch["KL_completion_mask"], lora)
        ref_KL_logps = sequence_logps(cfg, W, batch["KL_input_ids"], batch["KL_completion_mask"], ref_lora)
        ref_completion_logps = sequence_logps(cfg, W, batch["input_ids"], batch["completion_mask"], ref_lora)
    completion_logps = sequence_logps(cfg, W, batch["input_ids"], batch["completion_mask"], lora)
    bool_labels = torch.as_tensor(batch["label"], dtype=torch.bool)
    chosen_idx = torch.nonzero(bool_labels, as_tuple=False).view(-1)
    rejected_idx = torch.nonzero(~bool_labels, as_tuple=False).view(-1)
    chosen_logps = completion_logps.index_select(0, chosen_idx)
    rejected_logps = completion_logps.index_select(0, rejected_idx)
    ref_chosen_logps = ref_completion_logps.index_select(0, chosen_idx)
    ref_rejected_logps = ref_completion_logps.index_select(0, rejected_idx)
    kl = (KL_logps - ref_KL_logps).mean().detach().clamp(min=0)
    chosen_logratios = chosen_logps - ref_chosen_logps
    chosen_losses = 1 - torch.sigmoid(beta * (chosen_logratios - kl))
    chosen_rewards = beta * chosen_logratios.detach()
    rejected_logratios = rejected_logps - ref_rejected_logps
    rejected_losses = 1 - torch.sigmoid(beta * (kl - rejected_logratios))
    rejected_rewards = beta * rejected_logratios.detach()
    losses = torch.cat((case["desirable_weight"] * chosen_losses, case["undesirable_weight"] * rejected_losses), 0)
    metrics = {
        "kl": kl.item(), "rewards/chosen": chosen_rewards.nansum().item() / len(chosen_idx),
        "rewards/rejected": rejected_rewards.nansum().item() / len(rejected_idx),
        "logps/chosen": chosen_logps.detach().nansum().item() / len(chosen_idx),
        "logps/rejected": rejected_logps.detach().nansum().item() / len(rejected_idx),
    }
    metrics["rewards/margins"] = metrics["rewards/chosen"] - metrics["rewards/rejected"]
    return losses.nanmean(), metrics


def random_seq(g, V, n):
    return torch.randint(3, V, (n,), generator=g).tolist()


def dpo_batch(g, V):
    """3 pairs; every sequence is prompt + completion, the completion masked."""
    pairs = []
    for lp, lc, lr in [(5, 4, 6), (3, 6, 2), (6, 2, 5)]:
        p = random_seq(g, V, lp)
        c = random_seq(g, V, lc)
        r = random_seq(g, V, lr)
        pairs.append({"prompt": p, "chosen": c, "rejected": r})
    seqs = [(x["prompt"] + x["chosen"], [0] * len(x["prompt"]) + [1] * len(x["chosen"])) for x in pairs]
    seqs += [(x["prompt"] + x["rejected"], [0] * len(x["prompt"]) + [1] * len(x["rejected"])) for x in pairs]
    ids, mask = pad(seqs)
    return pairs, {"input_ids": ids, "completion_mask": mask}


def kto_batch(g, V, labels):
    """4 judged examples and their KL sequences: example k's prompt with example k-1's completion."""
    rows = [{"prompt": random_seq(g, V, lp), "completion": random_seq(g, V, lc), "label": lab}
            for (lp, lc), lab in zip([(4, 3), (3, 5), (5, 2), (2, 4)], labels)]
    n = len(rows)
    main = [(x["prompt"] + x["completion"], [0] * len(x["prompt"]) + [1] * len(x["completion"])) for x in rows]
    kl = [(rows[k]["prompt"] + rows[(k - 1) % n]["completion"], [0] * len(rows[k]["prompt"]) + [1] * len(rows[(k - 1) % n]["completion"]))
          for k in range(n)]
    ids, mask = pad(main)
    kl_ids, kl_mask = pad(kl)
    return rows, {"input_ids": ids, "completion_mask": mask, "KL_input_ids": kl_ids, "KL_completion_mask": kl_mask, "label": labels}


def leaf(init):
    return {p: (A.clone().requires_grad_(True), B.clone().requires_grad_(True)) for p, (A, B) in init.items()}


def run_case(case):
    cfg, W, init, r, alpha, V = load(case["model"])
    g = torch.Generator().manual_seed(case["seed"])
    if case["method"] == "dpo":
        examples, batch = dpo_batch(g, V)
    else:
        examples, batch = kto_batch(g, V, case["labels"])
    lw = leaf(init)
    ref_lora = Lora({p: (A.clone(), B.clone()) for p, (A, B) in init.items()}, r, alpha, False) if case["ref"] == "adapter" else None

    def step_loss():
        lora = Lora(lw, r, alpha, False)
        if case["method"] == "dpo":
            logps = sequence_logps(cfg, W, batch["input_ids"], batch["completion_mask"], lora)
            with torch.no_grad():
                ref_logps = sequence_logps(cfg, W, batch["input_ids"], batch["completion_mask"], ref_lora)
            return dpo_loss(case, logps, ref_logps, batch["completion_mask"])
        return kto_loss(case, cfg, W, batch, lora, ref_lora)

    loss, metrics = step_loss()
    loss.backward()
    grads = {}
    for prefix, (A, B) in lw.items():
        grads[peft_name(prefix, "A")] = [float(f"{x:.8g}") for x in A.grad.reshape(-1).tolist()]
        grads[peft_name(prefix, "B")] = [float(f"{x:.8g}") for x in B.grad.reshape(-1).tolist()]
    lw = leaf(init)
    params = [t for pair in lw.values() for t in pair]
    o = ADAMW
    opt = torch.optim.AdamW(params, lr=o["lr"], betas=tuple(o["betas"]), eps=o["eps"], weight_decay=o["weight_decay"])
    trajectory = []
    for _ in range(STEPS):
        opt.zero_grad()
        l, m = step_loss()
        trajectory.append({"loss": l.item(), **m})
        l.backward()
        opt.step()
    return {**case, "examples": examples, "loss": loss.item(), "metrics": metrics, "grads": grads,
            "adamw": ADAMW, "trajectory": trajectory}


CASES = [
    {"name": "dpo-sigmoid", "model": "llama-tiny", "method": "dpo", "loss_type": "sigmoid", "beta": 0.1, "label_smoothing": 0.0, "ref": "base", "seed": 11},
    {"name": "dpo-cdpo", "model": "llama-tiny", "method": "dpo", "loss_type": "sigmoid", "beta": 0.5, "label_smoothing": 0.1, "ref": "base", "seed": 12},
    {"name": "dpo-ipo", "model": "llama-tiny", "method": "dpo", "loss_type": "ipo", "beta": 0.1, "label_smoothing": 0.0, "ref": "base", "seed": 13},
    {"name": "dpo-robust", "model": "llama-tiny", "method": "dpo", "loss_type": "robust", "beta": 0.3, "label_smoothing": 0.2, "ref": "base", "seed": 14},
    {"name": "dpo-hinge", "model": "llama-tiny", "method": "dpo", "loss_type": "hinge", "beta": 0.1, "label_smoothing": 0.0, "ref": "base", "seed": 15},
    {"name": "dpo-ref-adapter", "model": "llama-tiny", "method": "dpo", "loss_type": "sigmoid", "beta": 0.1, "label_smoothing": 0.0, "ref": "adapter", "seed": 16},
    {"name": "dpo-gemma2", "model": "gemma2-tiny", "method": "dpo", "loss_type": "sigmoid", "beta": 0.1, "label_smoothing": 0.0, "ref": "base", "seed": 17},
    {"name": "kto", "model": "llama-tiny", "method": "kto", "beta": 0.5, "desirable_weight": 1.0, "undesirable_weight": 1.5,
     "labels": [True, False, True, False], "ref": "base", "seed": 23},
    {"name": "kto-ref-adapter", "model": "llama-tiny", "method": "kto", "beta": 0.1, "desirable_weight": 1.0, "undesirable_weight": 1.0,
     "labels": [True, True, False, True], "ref": "adapter", "seed": 19},
]


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    only = set(sys.argv[1:])
    for case in CASES:
        if only and case["name"] not in only:
            continue
        g = run_case(case)
        with open(os.path.join(OUT, f"{case['name']}.json"), "w") as f:
            json.dump(g, f, separators=(",", ":"))
            f.write("\n")
        extra = f" kl {g['metrics']['kl']:.5f}" if "kl" in g["metrics"] else ""
        print(f"{case['name']}: loss {g['loss']:.6f}{extra} trajectory {[round(t['loss'], 6) for t in g['trajectory']]}")


if __name__ == "__main__":
    main()
