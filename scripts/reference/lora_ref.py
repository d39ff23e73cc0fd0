"""PEFT-style LoRA goldens on top of llama_ref: logits, loss, gradients of every LoRA factor, and a
AdamW loss trajectory (10 steps for llama-tiny, 3 for the other families) (LoRA factors trainable, base frozen, no schedule, no clipping).
"""
import math

import torch

from llama_ref import Lora, causal_lm_loss, forward
from specs import peft_name

ADAMW = {"lr": 1e-2, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.01}
STEPS = 10


def _leaf_lora(init: dict, dtype) -> dict:
    return {p: (A.to(dtype).clone().requires_grad_(True), B.to(dtype).clone().requires_grad_(True))
            for p, (A, B) in init.items()}


def _params(lw: dict) -> list:
    return [t for pair in lw.values() for t in pair]


def loss_and_grads(cfg, W, ids, labels, init, r, alpha, rslora):
    """(logits [B, T, V], loss, {peft name: grad}) with the adapter applied."""
    lw = _leaf_lora(init, next(iter(W.values())).dtype)
    logits = forward(cfg, W, ids, Lora(lw, r, alpha, rslora))
    loss = causal_lm_loss(logits, labels)
    loss.backward()
    grads = {}
    for prefix, (A, B) in lw.items():
        grads[peft_name(prefix, "A", cfg)] = A.grad.detach().clone()
        grads[peft_name(prefix, "B", cfg)] = B.grad.detach().clone()
    return logits.detach(), loss.detach(), grads


def adamw_manual(params, state, lr, betas, eps, wd):
    """torch.optim.AdamW's update, written out (decoupled weight decay, bias-corrected moments)."""
    b1, b2 = betas
    state["step"] = state.get("step", 0) + 1
    t = state["step"]
    for i, p in enumerate(params):
        m, v = state.setdefault(i, (torch.zeros_like(p), torch.zeros_like(p)))
        g = p.grad
        with torch.no_grad():
            p.mul_(1 - lr * wd)
            m.mul_(b1).add_(g, alpha=1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = (v.sqrt() / math.sqrt(1 - b2 ** t)).add_(eps)
            p.addcdiv_(m, denom, value=-lr / (1 - b1 ** t))


def trajectory(cfg, W, ids, labels, init, r, alpha, rslora, manual=False, steps=STEPS) -> list:
    """Loss before each of `steps` AdamW steps on the same batch."""
    lw = _leaf_lora(init, next(iter(W.values())).dtype)
    params = _params(lw)
    o = ADAMW
    opt = None if manual else torch.optim.AdamW(
        params, lr=o["lr"], betas=tuple(o["betas"]), eps=o["eps"], weight_decay=o["weight_decay"])
    state: dict = {}
    losses = []
    for _ in range(steps):
        for p in params:
            p.grad = None
        loss = causal_lm_loss(forward(cfg, W, ids, Lora(lw, r, alpha, rslora)), labels)
        losses.append(float(loss))
        loss.backward()
        if manual:
            adamw_manual(params, state, o["lr"], o["betas"], o["eps"], o["weight_decay"])
        else:
            opt.step()
    return losses


def finite_difference(cfg, W64, ids, labels, init, r, alpha, rslora, name_idx, h=1e-6):
    """Central difference of the float64 loss w.r.t. element idx of one LoRA factor."""
    prefix, which, idx = name_idx
    vals = []
    for sign in (1, -1):
        lw = {p: (A.double().clone(), B.double().clone()) for p, (A, B) in init.items()}
        t = lw[prefix][0 if which == "A" else 1]
        t.view(-1)[idx] += sign * h
        with torch.no_grad():
            vals.append(float(causal_lm_loss(forward(cfg, W64, ids, Lora(lw, r, alpha, rslora)),
                                             labels)))
    return (vals[0] - vals[1]) / (2 * h)
