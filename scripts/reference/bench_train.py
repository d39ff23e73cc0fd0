"""PyTorch half of bench/train.ts: what transformers + PEFT do for one LoRA training step, in plain torch
float32: frozen base weights, LoRA A/B trainable on every listed projection (dropout 0, so PEFT's
dropout is the identity), full logits, mean cross-entropy, backward, torch.optim.AdamW step.
Starts from the LoRA A factors shitate wrote (B = 0) so both loss curves can be compared. Driven by
bench/train.ts: after READY, each `go` runs one step and answers a STEP line (seconds, loss); `done`
answers RESULT with the peak RSS (getrusage).

    /usr/bin/python3 scripts/reference/bench_train.py --model DIR --batch-file F --lora-init F --threads 2
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F

from bench_common import blas_report, commands, load_model, log, max_rss_kib, send, setup_threads
from llama_ref import Lora, forward
from safetensors_io import load_file

PEFT_PREFIX, A_SUFFIX = "base_model.model.", ".lora_A.weight"


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def lora_from_init(path: str, W: dict, r: int) -> dict:
    """{module prefix: (A [R, in], B [out, R] = 0)} as leaf tensors requiring grad."""
    init, _ = load_file(path)
    out = {}
    for name, A in init.items():
        if not name.endswith(A_SUFFIX):
            continue
        prefix = name[len(PEFT_PREFIX):-len(A_SUFFIX)]
        rows = W[prefix + ".weight"].shape[0]
        out[prefix] = (A.float().clone().requires_grad_(True), torch.zeros(rows, r, requires_grad=True))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--batch-file", required=True)
    ap.add_argument("--lora-init", required=True)
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--alpha", type=float, default=16)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                    help="bf16: frozen base weights stored in bfloat16 and the forward under CPU autocast "
                         "(torch_dtype=torch.bfloat16 + bf16 mixed precision in transformers); LoRA and AdamW fp32")
    a = ap.parse_args()
    setup_threads(a.threads)
    blas = blas_report(a.threads)
    with open(a.batch_file) as f:
        spec = json.load(f)
    ids = torch.tensor(spec["ids"]).view(spec["batch"], spec["seq"] + 1)
    inputs, targets = ids[:, :-1].contiguous(), ids[:, 1:].contiguous()  # every position a target

    t0 = time.perf_counter()
    cfg, W = load_model(a.model)
    if a.precision == "bf16":
        W = {k: t.to(torch.bfloat16) for k, t in W.items()}
    for t in W.values():
        t.requires_grad_(False)  # frozen base, as PEFT leaves it
    load_s = time.perf_counter() - t0
    lw = lora_from_init(a.lora_init, W, a.rank)
    lora = Lora(lw, a.rank, a.alpha, use_rslora=False)
    params = [t for pair in lw.values() for t in pair]
    rss_after_load = rss_kib()
    # transformers' Trainer: AdamW betas (0.9, 0.999), eps 1e-8, weight decay 0 by default
    opt = torch.optim.AdamW(params, lr=a.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    log(f"pytorch: loaded in {load_s:.1f} s, {len(params)} LoRA tensors, batch {spec['batch']}x{spec['seq']}")
    send("READY", {**blas, "load_s": load_s, "rss_after_load_kib": rss_after_load,
                   "tokens_per_step": spec["batch"] * spec["seq"]})

    for step, _ in enumerate(commands(), start=1):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.precision == "bf16"):
            logits = forward(cfg, W, inputs, lora)  # [B, T, V]
        loss = F.cross_entropy(logits.view(-1, logits.shape[-1]).float(), targets.view(-1))
        loss.backward()
        opt.step()
        step_s = time.perf_counter() - t0
        log(f"pytorch: step {step} loss {float(loss):.5f} {step_s:.2f} s")
        send("STEP", {"step_s": step_s, "loss": float(loss)})
        del logits, loss
    send("RESULT", {"max_rss_kib": max_rss_kib()})


if __name__ == "__main__":
    main()
