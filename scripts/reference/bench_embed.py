"""PyTorch half of bench/embed.ts: the encoder_ref port (transformers' eager XLM-RoBERTa) embedding the same
passages the way sentence-transformers encodes them (sorted by length, batches padded to their longest row, mean
pooling, L2 normalisation), inference mode, float32; prints one JSON line with the best of `repeat` timings, the
first embeddings, BLAS details and peak RSS.

    /usr/bin/python3 scripts/reference/bench_embed.py --model DIR --ids IDS.json --batch 32 --repeat 3 --threads 2
"""
import argparse
import json
import time

import torch

import encoder_ref as ref
from bench_common import blas_report, max_rss_kib, setup_threads
from safetensors_io import load_file


def main() -> None:
    ap = argparse.ArgumentParser()
    for flag in ("--model", "--ids"):
        ap.add_argument(flag, required=True)
    for flag in ("--batch", "--repeat", "--threads"):
        ap.add_argument(flag, type=int, required=True)
    a = ap.parse_args()
    setup_threads(a.threads)
    with open(f"{a.model}/config.json") as f:
        cfg = ref.Cfg(json.load(f))
    tensors, _ = load_file(f"{a.model}/model.safetensors")
    W = {("roberta." + k if not k.startswith("roberta.") else k): v.float() for k, v in tensors.items()}
    with open(a.ids) as f:
        rows = json.load(f)
    order = sorted(range(len(rows)), key=lambda i: -len(rows[i]))

    def embed_all():
        out = [None] * len(rows)
        for i in range(0, len(order), a.batch):
            part = order[i:i + a.batch]
            T = len(rows[part[0]])
            ids = torch.full((len(part), T), cfg.pad, dtype=torch.long)
            mask = torch.zeros(len(part), T, dtype=torch.long)
            for b, k in enumerate(part):
                ids[b, :len(rows[k])] = torch.tensor(rows[k])
                mask[b, :len(rows[k])] = 1
            h = ref.encode(cfg, W, ids, mask, torch.zeros_like(ids))
            v = torch.nn.functional.normalize(ref.pool(h, mask, "mean"), dim=-1)
            for b, k in enumerate(part):
                out[k] = v[b]
        return out

    with torch.inference_mode():
        embed_all()
        best, vectors = float("inf"), []
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            vectors = embed_all()
            best = min(best, time.perf_counter() - t0)
    print(json.dumps({"seconds": best, "first": [v.tolist() for v in vectors[:4]], "max_rss_kib": max_rss_kib(), **blas_report(a.threads)}))


if __name__ == "__main__":
    main()
