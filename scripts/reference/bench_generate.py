"""PyTorch half of bench/generate.ts: greedy decoding with a KV cache over the same checkpoint, float32,
inference mode, the way transformers' eager Llama decodes (repeat_kv attention, logits of the last
position only); hybrid models (Qwen3.5, LFM2) decode with hybrid_ref.Decoder: keys and values on attention layers,
the conv history and the recurrent delta-rule state elsewhere, one recurrent step per token. Driven by
bench/generate.ts: after READY, each `go N` generates N tokens and answers a STEP line with prefill/decode
seconds, the tokens and each step's top-2 logit gap.

    /usr/bin/python3 scripts/reference/bench_generate.py --model DIR --prompt 1,2,3 --threads 2
"""
import argparse
import time

import torch

from bench_common import blas_report, commands, load_model, log, max_rss_kib, send, setup_threads
from hybrid_ref import CFGS as HYBRID_CFGS, Decoder as HybridDecoder
from llama_ref import attention, linear, rms_norm, rope_cos_sin, rope_inv_freq, rotate_half


class Decoder:
    """Llama forward over a preallocated per-layer KV cache [1, Hkv, capacity, D]."""

    def __init__(self, cfg, W, capacity: int):
        self.cfg, self.W = cfg, W
        self.cos, self.sin = rope_cos_sin(rope_inv_freq(cfg), capacity)  # [capacity, D]
        shape = (1, cfg.Hkv, capacity, cfg.D)
        self.k = [torch.zeros(shape) for _ in range(cfg.L)]
        self.v = [torch.zeros(shape) for _ in range(cfg.L)]
        self.length = 0

    def step(self, ids: torch.Tensor) -> torch.Tensor:
        """Logits [V] of the last of the T new tokens ids [1, T] at positions length..length+T-1."""
        cfg, W = self.cfg, self.W
        T, p0 = ids.shape[1], self.length
        Tk = p0 + T
        cos, sin = self.cos[p0:Tk], self.sin[p0:Tk]
        # query i (absolute position p0 + i) sees keys j <= p0 + i
        visible = torch.arange(Tk)[None, :] <= (p0 + torch.arange(T))[:, None]  # [T, Tk]
        x = W["model.embed_tokens.weight"][ids]  # [1, T, C]
        for layer in range(cfg.L):
            p = f"model.layers.{layer}."
            h = rms_norm(x, W[p + "input_layernorm.weight"], cfg.eps)
            q = linear(h, W, p + "self_attn.q_proj", None).view(1, T, cfg.H, cfg.D).transpose(1, 2)
            k = linear(h, W, p + "self_attn.k_proj", None).view(1, T, cfg.Hkv, cfg.D).transpose(1, 2)
            v = linear(h, W, p + "self_attn.v_proj", None).view(1, T, cfg.Hkv, cfg.D).transpose(1, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            self.k[layer][:, :, p0:Tk] = k
            self.v[layer][:, :, p0:Tk] = v
            a = attention(q, self.k[layer][:, :, :Tk], self.v[layer][:, :, :Tk], visible)
            x = x + linear(a.transpose(1, 2).reshape(1, T, cfg.H * cfg.D), W, p + "self_attn.o_proj", None)
            h = rms_norm(x, W[p + "post_attention_layernorm.weight"], cfg.eps)
            g = linear(h, W, p + "mlp.gate_proj", None)
            u = linear(h, W, p + "mlp.up_proj", None)
            x = x + linear(torch.nn.functional.silu(g) * u, W, p + "mlp.down_proj", None)
        self.length = Tk
        last = rms_norm(x[:, -1], W["model.norm.weight"], cfg.eps)  # [1, C]
        head = W["model.embed_tokens.weight"] if cfg.tied else W["lm_head.weight"]
        return (last @ head.t())[0]


def generate(cfg, W, prompt: list, n: int) -> dict:
    dec = (HybridDecoder if cfg.model_type in HYBRID_CFGS else Decoder)(cfg, W, len(prompt) + n)
    tokens, gaps = [], []

    def pick(logits):
        top2 = torch.topk(logits, 2).values
        gaps.append(float(top2[0] - top2[1]))
        tokens.append(int(torch.argmax(logits)))

    t0 = time.perf_counter()
    pick(dec.step(torch.tensor([prompt])))
    t1 = time.perf_counter()
    for _ in range(n - 1):
        pick(dec.step(torch.tensor([[tokens[-1]]])))
    t2 = time.perf_counter()
    return {"tokens": tokens, "gaps": gaps, "prefill_s": t1 - t0, "decode_s": t2 - t1}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--prompt", required=True)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    setup_threads(a.threads)
    blas = blas_report(a.threads)
    prompt = [int(s) for s in a.prompt.split(",")]
    t0 = time.perf_counter()
    cfg, W = load_model(a.model)
    load_s = time.perf_counter() - t0
    log(f"pytorch: loaded in {load_s:.1f} s")
    send("READY", {**blas, "load_s": load_s})
    with torch.inference_mode():
        for args in commands():
            run = generate(cfg, W, prompt, int(args[0]))
            send("STEP", {**run, "prompt_tokens": len(prompt)})
    send("RESULT", {"max_rss_kib": max_rss_kib()})


if __name__ == "__main__":
    main()
