"""Plain-torch port of the encoder families as transformers computes them in float32 eager mode: BERT
(modeling_bert.py), RoBERTa / XLM-RoBERTa (modeling_roberta.py: position ids from padding_idx) and ModernBERT
(modeling_modernbert.py, the padded eager path: rotary per layer type, global/local attention, GeGLU), their
sequence-classification heads, PEFT LoRA on any linear, and sentence-transformers pooling.

W maps HF tensor names (as the task models name them: "bert.", "roberta.", "model.") to tensors; `lora` maps a
linear's module path to (A, B) and is applied as PEFT does: base(x) + B(A(x)) * scaling.
"""
import math

import torch
import torch.nn.functional as F


class Cfg:
    """The config.json fields the forward passes read, with each config class's defaults."""

    def __init__(self, c: dict):
        self.model_type = c["model_type"]
        self.C = c.get("hidden_size", 768)
        self.H = c.get("num_attention_heads", 12)
        self.D = self.C // self.H
        self.L = c.get("num_hidden_layers", 12)
        self.F = c.get("intermediate_size", 3072)
        if self.model_type == "modernbert":
            self.eps = c.get("norm_eps", 1e-5)
            self.act = c.get("hidden_activation", "gelu")
            self.every = c.get("global_attn_every_n_layers", 3)
            self.local = c.get("local_attention", 128)
            rp = c.get("rope_parameters") or {}
            self.theta_global = (rp.get("full_attention") or {}).get("rope_theta", c.get("global_rope_theta", 160000.0))
            self.theta_local = (rp.get("sliding_attention") or {}).get("rope_theta", c.get("local_rope_theta", 10000.0))
            self.pooling = c.get("classifier_pooling", "cls")
            self.head_act = c.get("classifier_activation", "gelu")
            self.norm_bias = c.get("norm_bias", False)
        else:
            self.eps = c.get("layer_norm_eps", 1e-12)
            self.act = c.get("hidden_act", "gelu")
            self.pad = c.get("pad_token_id", 0)


def gelu(x, act):
    return F.gelu(x, approximate="tanh") if act in ("gelu_new", "gelu_pytorch_tanh") else F.gelu(x)


class Lora:
    def __init__(self, factors: dict, r: int, alpha: float):
        self.factors = factors
        self.scaling = alpha / r


def linear(W, name, x, lora=None):
    y = F.linear(x, W[name + ".weight"], W.get(name + ".bias"))
    if lora is not None and name in lora.factors:
        A, B = lora.factors[name]
        y = y + (x @ A.t()) @ B.t() * lora.scaling
    return y


def additive_mask(mask, dtype):
    """_prepare_4d_attention_mask / BERT's extended mask: 0 where a key is a token, the dtype's minimum elsewhere."""
    inverted = 1.0 - mask[:, None, None, :].to(dtype)
    return inverted.masked_fill(inverted.to(torch.bool), torch.finfo(dtype).min)


def roberta_positions(ids, pad):
    m = ids.ne(pad).int()
    return (torch.cumsum(m, dim=1).type_as(m) * m).long() + pad


# ---- BERT / RoBERTa ------------------------------------------------------------------------------------------
def bert_encode(cfg, W, prefix, ids, mask, types, lora=None):
    B, T = ids.shape
    e = f"{prefix}.embeddings"
    pos = roberta_positions(ids, cfg.pad) if prefix == "roberta" else torch.arange(T).expand(B, T)
    x = W[e + ".word_embeddings.weight"][ids]
    if e + ".token_type_embeddings.weight" in W:
        x = x + W[e + ".token_type_embeddings.weight"][types]
    x = x + W[e + ".position_embeddings.weight"][pos]
    x = F.layer_norm(x, (cfg.C,), W[e + ".LayerNorm.weight"], W[e + ".LayerNorm.bias"], cfg.eps)
    ext = additive_mask(mask, x.dtype)
    for i in range(cfg.L):
        p = f"{prefix}.encoder.layer.{i}"

        def heads(n):
            return linear(W, f"{p}.attention.self.{n}", x, lora).view(B, T, cfg.H, cfg.D).transpose(1, 2)

        q, k, v = heads("query"), heads("key"), heads("value")
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(cfg.D) + ext
        ctx = torch.matmul(torch.softmax(scores, dim=-1), v).transpose(1, 2).reshape(B, T, cfg.C)
        a = linear(W, f"{p}.attention.output.dense", ctx, lora)
        x = F.layer_norm(a + x, (cfg.C,), W[f"{p}.attention.output.LayerNorm.weight"], W[f"{p}.attention.output.LayerNorm.bias"], cfg.eps)
        f = linear(W, f"{p}.output.dense", gelu(linear(W, f"{p}.intermediate.dense", x, lora), cfg.act), lora)
        x = F.layer_norm(f + x, (cfg.C,), W[f"{p}.output.LayerNorm.weight"], W[f"{p}.output.LayerNorm.bias"], cfg.eps)
    return x


def bert_head(cfg, W, h, lora=None):
    pooled = torch.tanh(linear(W, "bert.pooler.dense", h[:, 0], lora))
    return linear(W, "classifier", pooled)


def roberta_head(cfg, W, h, lora=None):
    x = torch.tanh(linear(W, "classifier.dense", h[:, 0]))
    return linear(W, "classifier.out_proj", x)


# ---- ModernBERT ----------------------------------------------------------------------------------------------
def rotary(cfg, theta, T):
    inv_freq = 1.0 / (theta ** (torch.arange(0, cfg.D, 2, dtype=torch.int64).float() / cfg.D))
    pos = torch.arange(T)[None, :].float()
    freqs = (inv_freq[None, :, None] @ pos[:, None, :]).transpose(1, 2)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def ln(W, name, x, cfg):
    return F.layer_norm(x, (cfg.C,), W[name + ".weight"], W.get(name + ".bias"), cfg.eps)


def modernbert_encode(cfg, W, ids, mask, lora=None):
    B, T = ids.shape
    x = ln(W, "model.embeddings.norm", W["model.embeddings.tok_embeddings.weight"][ids], cfg)
    glob = additive_mask(mask, x.dtype)
    rows = torch.arange(T).unsqueeze(0)
    window = (torch.abs(rows - rows.T) <= cfg.local // 2)[None, None]
    sliding = glob.masked_fill(window.logical_not(), torch.finfo(x.dtype).min)
    for i in range(cfg.L):
        p = f"model.layers.{i}"
        is_local = i % cfg.every != 0
        cos, sin = rotary(cfg, cfg.theta_local if is_local else cfg.theta_global, T)
        cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
        h = x if i == 0 else ln(W, f"{p}.attn_norm", x, cfg)
        qkv = linear(W, f"{p}.attn.Wqkv", h, lora).view(B, -1, 3, cfg.H, cfg.D)
        q, k, v = qkv.transpose(3, 1).unbind(dim=2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        w = torch.matmul(q, k.transpose(2, 3)) * cfg.D ** -0.5 + (sliding if is_local else glob)
        # transformers upcasts to float32; the float64 self-check keeps float64 (its dtype minimum would become -inf)
        w = torch.softmax(w, dim=-1, dtype=torch.float32 if w.dtype != torch.float64 else None).to(q.dtype)
        o = torch.matmul(w, v).transpose(1, 2).contiguous().view(B, -1, cfg.C)
        x = x + linear(W, f"{p}.attn.Wo", o, lora)
        inp, gate = linear(W, f"{p}.mlp.Wi", ln(W, f"{p}.mlp_norm", x, cfg), lora).chunk(2, dim=-1)
        x = x + linear(W, f"{p}.mlp.Wo", gelu(inp, cfg.act) * gate, lora)
    return ln(W, "model.final_norm", x, cfg)


def modernbert_head(cfg, W, h, mask, lora=None):
    if cfg.pooling == "cls":
        pooled = h[:, 0]
    else:
        pooled = (h * mask.unsqueeze(-1)).sum(dim=1) / mask.sum(dim=1, keepdim=True)
    pooled = ln(W, "head.norm", gelu(linear(W, "head.dense", pooled, lora), cfg.head_act), cfg)
    return linear(W, "classifier", pooled)


# ---- dispatch --------------------------------------------------------------------------------------------------
PREFIX = {"bert": "bert", "roberta": "roberta", "xlm-roberta": "roberta"}


def encode(cfg, W, ids, mask, types, lora=None):
    if cfg.model_type == "modernbert":
        return modernbert_encode(cfg, W, ids, mask, lora)
    return bert_encode(cfg, W, PREFIX[cfg.model_type], ids, mask, types, lora)


def classify(cfg, W, ids, mask, types, lora=None):
    h = encode(cfg, W, ids, mask, types, lora)
    if cfg.model_type == "modernbert":
        return modernbert_head(cfg, W, h, mask.to(h.dtype), lora)
    return bert_head(cfg, W, h, lora) if cfg.model_type == "bert" else roberta_head(cfg, W, h, lora)


def class_loss(logits, labels, weights=None):
    """torch.nn.CrossEntropyLoss (weighted mean with class weights), as the SeqCls models compute it."""
    return F.cross_entropy(logits, labels, weight=weights)


def pool(h, mask, mode):
    """sentence-transformers Pooling: mean over tokens (clamped count), the CLS row, or the last token."""
    m = mask.unsqueeze(-1).to(h.dtype)
    if mode == "mean":
        return (h * m).sum(1) / torch.clamp(m.sum(1), min=1e-9)
    if mode == "cls":
        return h[:, 0]
    last = mask.sum(1) - 1
    return h[torch.arange(h.shape[0]), last]
