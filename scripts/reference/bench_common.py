"""Shared parts of the PyTorch halves of bench/generate.ts and bench/train.ts: thread setup, loading a
Hugging Face folder to float32, identifying the BLAS torch really runs on, and the line protocol the
bench drives its children with (READY, then `go` -> STEP per unit of work, `done` -> RESULT).
"""
import json
import os
import re
import resource
import sys
import time

import torch

from fused_ref import CFGS as FUSED_CFGS
from gemma_ref import GemmaCfg
from hybrid_ref import CFGS as HYBRID_CFGS
from llama_ref import Cfg
from safetensors_io import load_file


def setup_threads(n: int) -> None:
    """torch's intra-op threads; OpenBLAS/OpenMP read their *_NUM_THREADS from the environment at load."""
    torch.set_num_threads(n)


def load_model(folder: str) -> tuple:
    """(config, {HF name: float32 tensor}) from config.json and model.safetensors or its shards."""
    with open(os.path.join(folder, "config.json")) as f:
        c = json.load(f)
    if c["model_type"] in FUSED_CFGS:  # Phi-3, Falcon, BLOOM
        cfg = FUSED_CFGS[c["model_type"]](c)
    elif c["model_type"] in HYBRID_CFGS:  # Qwen3.5, LFM2
        cfg = HYBRID_CFGS[c["model_type"]](c)
    else:
        cfg = GemmaCfg(c) if c["model_type"].startswith("gemma") else Cfg(c)
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    W = {}
    for name in files:
        tensors, _ = load_file(os.path.join(folder, name))
        for k in list(tensors):
            W[k] = tensors.pop(k).float()  # bf16/f16 widen exactly; drop each source as it is converted
    return cfg, W


def _blas_alternative() -> str:
    """Where Debian's libblas.so.3 alternative points (what `update-alternatives --display` reports)."""
    link = "/etc/alternatives/libblas.so.3-x86_64-linux-gnu"
    return os.path.realpath(link) if os.path.lexists(link) else "(no Debian alternative)"


def _mapped_blas() -> list:
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            if any(s in path for s in ("blas", "lapack", "mkl")):
                libs.add(path)
    return sorted(libs)


def blas_report(threads: int) -> dict:
    """What BLAS torch runs on, from the build info, the Debian alternative, the libraries actually mapped
    into this process, and a measured sgemm rate. generic = the netlib reference BLAS (a few GFLOP/s)."""
    cfg = torch.__config__.show()
    m = re.search(r"BLAS_INFO=([^,\s]+)", cfg)
    blas_info = m.group(1) if m else "?"
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    torch.mm(a, b)
    torch.mm(a, b)
    t0 = time.perf_counter()
    reps = 5
    for _ in range(reps):
        torch.mm(a, b)
    gflops = 2 * 1024 ** 3 * reps / (time.perf_counter() - t0) / 1e9
    libs = _mapped_blas()
    real_blas = any("openblas" in p or "mkl" in p or "blis" in p for p in libs)
    generic_loaded = any("/blas/libblas" in p for p in libs)
    return {
        "torch": torch.__version__,
        "blas_info": blas_info,
        "blas_alternative": _blas_alternative(),
        "blas_libs": libs,
        # pip wheels link MKL statically (nothing mapped, BLAS_INFO=mkl): only a generic build without a
        # real BLAS mapped, or netlib's libblas itself, is the slow reference BLAS
        "blas_generic": generic_loaded or (not real_blas and blas_info in ("generic", "?")),
        "sgemm_gflops": gflops,
        "threads": threads,
    }


def max_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def send(kind: str, obj: dict) -> None:
    """One protocol line to the bench (bench/lib/lockstep.ts): READY once loaded, STEP per unit, RESULT."""
    sys.stdout.write(f"{kind} {json.dumps(obj)}\n")
    sys.stdout.flush()


def commands():
    """Yields the argument list of every `go [arg]` line on stdin until `done` or end of input."""
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "done":
            return
        if parts[0] == "go":
            yield parts[1:]


def log(msg: str) -> None:
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()
