"""Minimal safetensors reader/writer (F32, F16, BF16) for the golden-fixture generator.

Format (https://github.com/huggingface/safetensors): u64 little-endian header length N, N bytes of
JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}} padded with
spaces to a multiple of 8, then the raw little-endian tensor bytes (offsets relative to that start).
"""
import json
import struct

import numpy as np
import torch

# dtype name -> (torch dtype, bytes per element, numpy dtype of the raw bytes)
_DTYPES = {
    "F32": (torch.float32, 4, np.dtype("<f4")),
    "F16": (torch.float16, 2, np.dtype("<f2")),
    "BF16": (torch.bfloat16, 2, np.dtype("<u2")),
}
_BY_TORCH = {v[0]: k for k, v in _DTYPES.items()}


def _raw_bytes(t: torch.Tensor) -> bytes:
    """Little-endian bytes of a contiguous CPU tensor; bf16 goes out as its raw uint16 pattern."""
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:
        arr = t.view(torch.int16).numpy().view(np.uint16).astype("<u2", copy=False)
    else:
        arr = t.numpy().astype(_DTYPES[_BY_TORCH[t.dtype]][2], copy=False)
    return arr.tobytes(order="C")


def serialize(tensors: dict, metadata: dict | None = None) -> bytes:
    """Bytes of a safetensors file holding `tensors` (sorted by name) and optional string metadata."""
    header: dict = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    chunks = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name]
        if t.dtype not in _BY_TORCH:
            raise ValueError(f"{name}: unsupported dtype {t.dtype}")
        data = _raw_bytes(t)
        header[name] = {
            "dtype": _BY_TORCH[t.dtype],
            "shape": list(t.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((8 - len(hjson) % 8) % 8)
    return struct.pack("<Q", len(hjson)) + hjson + b"".join(chunks)


def save_file(tensors: dict, path: str, metadata: dict | None = None) -> int:
    """Write a safetensors file; returns the number of tensor-data bytes written."""
    blob = serialize(tensors, metadata)
    with open(path, "wb") as f:
        f.write(blob)
    return sum(t.numel() * _DTYPES[_BY_TORCH[t.dtype]][1] for t in tensors.values())


def deserialize(blob: bytes) -> tuple[dict, dict]:
    """Parse safetensors bytes into ({name: tensor in its stored dtype}, metadata)."""
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n].decode("utf-8"))
    base = 8 + n
    metadata = header.pop("__metadata__", {}) or {}
    out = {}
    for name, info in header.items():
        tdtype, size, npdt = _DTYPES[info["dtype"]]
        begin, end = info["data_offsets"]
        count = int(np.prod(info["shape"])) if info["shape"] else 1
        if end - begin != count * size:
            raise ValueError(f"{name}: {end - begin} bytes for {count} x {info['dtype']}")
        arr = np.frombuffer(blob, dtype=npdt, count=count, offset=base + begin).copy()
        if info["dtype"] == "BF16":
            t = torch.from_numpy(arr.view(np.int16)).view(torch.bfloat16)
        else:
            t = torch.from_numpy(arr.astype(npdt.newbyteorder("="), copy=False))
        out[name] = t.reshape(info["shape"])
    return out, metadata


def load_file(path: str) -> tuple[dict, dict]:
    with open(path, "rb") as f:
        return deserialize(f.read())
