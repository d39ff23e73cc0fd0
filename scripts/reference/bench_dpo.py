"""PyTorch half of bench/train.ts --method dpo: one DPO step as TRL's DPOTrainer takes it with a PEFT model, in
plain torch float32: the batch [chosen..., rejected...] through the policy (LoRA on), full logits,
selective_log_softmax over the completion tokens summed per sequence; the reference the same with the
adapter off under no_grad; the sigmoid loss; backward; torch.optim.AdamW. Starts from the LoRA A factors
shitate wrote (B = 0). Driven like bench_train.py (READY, STEP per `go`, RESULT with the peak RSS).
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F

from bench_common import blas_report, commands, load_model, log, max_rss_kib, send, setup_threads
from bench_train import lora_from_init, rss_kib
from llama_ref import Lora, forward

PAD = 0


def batch_of(pairs):
    """DataCollatorForPreference: prompt + chosen rows, then prompt + rejected rows, right-padded."""
    seqs = [(p["prompt"] + p["chosen"], len(p["prompt"])) for p in pairs] + [(p["prompt"] + p["rejected"], len(p["prompt"])) for p in pairs]
    T = max(len(s) for s, _ in seqs)
    ids = torch.tensor([s + [PAD] * (T - len(s)) for s, _ in seqs])
    mask = torch.tensor([[0] * n + [1] * (len(s) - n) + [0] * (T - len(s)) for s, n in seqs])
    return ids, mask


def sequence_logps(cfg, W, ids, mask, lora):
    logits = forward(cfg, W, ids, lora)
    per_token = torch.gather(torch.log_softmax(logits[:, :-1], dim=-1), -1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    per_token[mask[:, 1:] == 0] = 0.0
    return per_token.sum(dim=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--batch-file", required=True)
    ap.add_argument("--lora-init", required=True)
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--alpha", type=float, default=16)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--beta", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--precision", choices=["fp32"], default="fp32")
    a = ap.parse_args()
    setup_threads(a.threads)
    blas = blas_report(a.threads)
    with open(a.batch_file) as f:
        pairs = json.load(f)["pairs"]
    ids, mask = batch_of(pairs)
    t0 = time.perf_counter()
    cfg, W = load_model(a.model)
    for t in W.values():
        t.requires_grad_(False)
    load_s = time.perf_counter() - t0
    lw = lora_from_init(a.lora_init, W, a.rank)
    lora = Lora(lw, a.rank, a.alpha, use_rslora=False)
    params = [t for pair in lw.values() for t in pair]
    rss_after_load = rss_kib()
    opt = torch.optim.AdamW(params, lr=a.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    tokens = sum(len(p["prompt"]) * 2 + len(p["chosen"]) + len(p["rejected"]) for p in pairs)
    log(f"pytorch: loaded in {load_s:.1f} s, {len(params)} LoRA tensors, {len(pairs)} pairs")
    send("READY", {**blas, "load_s": load_s, "rss_after_load_kib": rss_after_load, "tokens_per_step": tokens})
    P = len(pairs)
    for step, _ in enumerate(commands(), start=1):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        logps = sequence_logps(cfg, W, ids, mask, lora)
        with torch.no_grad():
            ref_logps = sequence_logps(cfg, W, ids, mask, None)  # adapter disabled
        chosen_logratios = logps[:P] - ref_logps[:P]
        rejected_logratios = logps[P:] - ref_logps[P:]
        loss = -F.logsigmoid(a.beta * (chosen_logratios - rejected_logratios)).mean()
        loss.backward()
        opt.step()
        step_s = time.perf_counter() - t0
        log(f"pytorch: step {step} dpo loss {float(loss):.5f} {step_s:.2f} s")
        send("STEP", {"step_s": step_s, "loss": float(loss)})
        del logps, loss
    send("RESULT", {"max_rss_kib": max_rss_kib()})


if __name__ == "__main__":
    main()
