"""shitate's training tokens and loss masks in plain Python, for the GPU job's train.py (no torch, no transformers).

The conversation is rendered once with the chat template, every assistant turn is located in the text (by the
generation prompt before it, else by diffing a rendering with a sentinel answer) up to and including its
end-of-turn token, and every token overlapping a turn is a target; the eos is inserted where a turn has no end
token. Prompt/completion and raw text follow shitate too. `tok` is any object with render / encode / offsets,
so shitate's tests run these functions on the answers of its own tokenizer.
"""
import re
import unicodedata

IGNORE = -100
# JavaScript's \s, which shitate's span search uses
_JS_SPACE = "[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]*"


# `tok` offers: render(messages, generation, vars) -> str; encode(text, special) -> list[int];
# offsets(text, ids) -> list[(start, end)] or None; and the attributes unicode_form, chat_template.

def normalized(tok, messages):
    form = tok.unicode_form
    out = []
    for m in messages:
        m2 = dict(m)
        if form:
            m2["content"] = unicodedata.normalize(form, m["content"])
            if isinstance(m.get("reasoning_content"), str):
                m2["reasoning_content"] = unicodedata.normalize(form, m["reasoning_content"])
        out.append(m2)
    return out


def thinking_alternatives(tok, template_vars):
    """With thinking off (enable_thinking=false), a turn that carries reasoning opens like thinking on."""
    if "enable_thinking" not in (tok.chat_template or "") or not template_vars or template_vars.get("enable_thinking") is not False:
        return []
    return [dict(template_vars, enable_thinking=True)]


def _common_prefix(a, b):
    n, i = min(len(a), len(b)), 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def _common_suffix(a, b, limit):
    i = 0
    while i < limit and a[len(a) - 1 - i] == b[len(b) - 1 - i]:
        i += 1
    return i


def _with_sentinel(m, sentinel):
    close = m["content"].rfind("</think>")
    if close < 0:
        return dict(m, content=sentinel)
    head = m["content"][: close + len("</think>")]
    gap = re.match(_JS_SPACE, m["content"][len(head):]).group(0)
    return dict(m, content=head + gap + sentinel)


def _answer_region(render, full, messages, i):
    sentinel = "SHITATE%dANSWER" % i
    while sentinel in full:
        sentinel += "X"
    probe = [(_with_sentinel(m, sentinel) if k == i else m) for k, m in enumerate(messages)]
    other = render(probe, False, None)
    p = other.find(sentinel)
    if p < 0 or other.find(sentinel, p + 1) >= 0:
        return None
    head = min(_common_prefix(full, other), p)
    tail_room = len(other) - p - len(sentinel)
    tail = _common_suffix(full, other, min(tail_room, len(full) - head))
    return (head, len(full) - tail)


def _first_end(full, start, before, end_texts):
    best = None
    for t in end_texts:
        if not t:
            continue
        at = full.find(t, start)
        if 0 <= at < before and (best is None or at < best[0]):
            best = (at, len(t))
    return best


def locate_assistant_turns(tok, messages, template_vars, alternative_vars, end_texts):
    """The rendered conversation and, per assistant turn, [start, end, has_end_token] of its trained text."""
    def render(msgs, generation, vars_=None):
        return tok.render(msgs, generation, template_vars if vars_ is None else vars_)

    text = render(messages, False)
    wanted = [i for i, m in enumerate(messages) if m["role"] == "assistant"]
    regions = [_answer_region(render, text, messages, i) for i in wanted]
    spans, prev_end = [], 0
    for k, i in enumerate(wanted):
        region, start = regions[k], -1
        for vars_ in [template_vars] + list(alternative_vars):
            try:
                prompt = tok.render(messages[:i], True, vars_)
            except Exception:  # e.g. a template that cannot render an empty conversation
                continue
            if text.startswith(prompt) and len(prompt) >= prev_end and (region is None or len(prompt) <= region[0]):
                start = len(prompt)
                break
        if start < 0:
            if region is None:
                raise ValueError("assistant message %d: neither its answer nor the generation prompt before it is in the rendered text" % (i + 1))
            start = region[0]
        if start < prev_end:
            raise ValueError("assistant message %d rendered before the end of the previous one" % (i + 1))
        frm = max(region[1], start) if region else start
        before = next((r[0] for r in regions[k + 1:] if r is not None), len(text))
        close = _first_end(text, frm, max(before, frm), end_texts)
        if close is None and region is None:
            raise ValueError("assistant message %d: no answer and no end-of-turn token after the generation prompt" % (i + 1))
        end = close[0] + close[1] if close else region[1]
        spans.append((start, end, close is not None))
        prev_end = end
    return text, spans


def _boundary_by_prefix(tok, text, ids, b):
    head = tok.encode(text[:b], False)
    k = 0
    while k < len(head) and k < len(ids) and head[k] == ids[k]:
        k += 1
    return k, k == len(head)


def mask_from_spans(tok, text, ids, spans, off):
    """1 for every token that overlaps a span; `off` is tok.offsets(text, ids) (None: align by prefixes)."""
    mask = [0] * len(ids)
    for s in spans:
        start, end = s[0], s[1]
        if end <= start:
            continue
        if off is not None:
            for k, (a, b) in enumerate(off):
                if (start <= a < end) if a == b else (a < end and b > start):
                    mask[k] = 1
            continue
        frm = _boundary_by_prefix(tok, text, ids, start)[0]
        to, exact = _boundary_by_prefix(tok, text, ids, end)
        for k in range(frm, min(len(ids), to if exact else to + 1)):
            mask[k] = 1
    return mask


def _append_eos(tok, text, ids, mask, open_spans, eos, off):
    cuts = []
    for s in open_spans:
        if off is not None:
            k = 0
            while k < len(ids) and off[k][0] < s[1]:
                k += 1
            cuts.append(k)
        else:
            k, exact = _boundary_by_prefix(tok, text, ids, s[1])
            cuts.append(k if exact else k + 1)
    out_ids, out_mask, c = [], [], 0
    for k in range(len(ids) + 1):
        while c < len(cuts) and cuts[c] == k:
            out_ids.append(eos)
            out_mask.append(1)
            c += 1
        if k < len(ids):
            out_ids.append(ids[k])
            out_mask.append(mask[k])
    return out_ids, out_mask


def chat_loss_mask(tok, messages, end_ids, end_texts, template_vars=None):
    """(ids, mask, appended_eos) for a conversation: loss on each assistant turn and its end-of-turn token."""
    text, spans = locate_assistant_turns(tok, normalized(tok, messages), template_vars,
                                         thinking_alternatives(tok, template_vars), end_texts)
    ids = tok.encode(text, False)
    off = tok.offsets(text, ids)
    mask = mask_from_spans(tok, text, ids, spans, off)
    open_spans = [s for s in spans if not s[2]]
    if not open_spans or not end_ids:
        return ids, mask, False
    ids, mask = _append_eos(tok, text, ids, mask, open_spans, end_ids[0], off)
    return ids, mask, True


def completion_loss_mask(tok, prompt, completion, eos_id):
    """Prompt and completion tokenized together; loss on the completion and the eos after it."""
    text = prompt + completion
    plain = tok.encode(text, False)
    with_specials = tok.encode(text, True)
    lead = 0
    while lead + len(plain) <= len(with_specials) and with_specials[lead:lead + len(plain)] != plain:
        lead += 1
    head = with_specials[:lead] if lead + len(plain) <= len(with_specials) else []
    mask = [0] * len(head) + mask_from_spans(tok, text, plain, [(len(prompt), len(text), True)], tok.offsets(text, plain))
    ids = head + plain
    if eos_id is not None:
        ids, mask = ids + [eos_id], mask + [1]
    return ids, mask, False


def text_loss_mask(tok, text, eos_id):
    ids = tok.encode(text, True) + ([eos_id] if eos_id is not None else [])
    return ids, [1] * len(ids), False


def end_of_turn_ids(tok, special_ids):
    """The first special token after a probe answer (<|im_end|>, <|eot_id|>, <end_of_turn>, </s>)."""
    answer = "SHITATEPROBEANSWER"
    try:
        text = tok.render([{"role": "user", "content": "q"}, {"role": "assistant", "content": answer}], False, None)
    except Exception:
        return []
    at = text.rfind(answer)
    if at < 0:
        return []
    first = next((i for i in tok.encode(text[at + len(answer):], False) if i in special_ids), None)
    return [] if first is None else [first]


def tokenize_record(tok, record, mode, end_ids, end_texts, max_seq_len, template_vars=None):
    """One training example as shitate makes it: (ids, mask, appended_eos), truncated to max_seq_len, or None
    when no target is left after the first token."""
    eos = end_ids[0] if end_ids else tok.eos_id
    if mode == "chat":
        ids, mask, appended = chat_loss_mask(tok, record["messages"], end_ids, end_texts, template_vars)
    elif mode == "completion":
        ids, mask, appended = completion_loss_mask(tok, record["prompt"], record["completion"], eos)
    else:
        ids, mask, appended = text_loss_mask(tok, record["text"], eos)
    ids, mask = ids[:max_seq_len], mask[:max_seq_len]
    if sum(mask[1:]) == 0:
        return None
    return ids, mask, appended


def labels_of(ids, mask):
    """HF-style labels (the model shifts them): a token is a label where it is a target. The first token is never
    predicted, so it is never a label: Trainer's token count for the loss then equals shitate's."""
    return [t if (m and k > 0) else IGNORE for k, (t, m) in enumerate(zip(ids, mask))]


def pad_batch(rows, pad_id):
    """Right padding as shitate batches: rows of (ids, labels) -> input_ids, attention_mask, labels (lists)."""
    T = max(len(r[0]) for r in rows)
    out = {"input_ids": [], "attention_mask": [], "labels": []}
    for ids, labels in rows:
        n = T - len(ids)
        out["input_ids"].append(list(ids) + [pad_id] * n)
        out["attention_mask"].append([1] * len(ids) + [0] * n)
        out["labels"].append(list(labels) + [IGNORE] * n)
    return out


class Collator:
    """Pads a list of {"input_ids", "labels"} to torch tensors; padding is never a label, even when the pad id
    is the eos id (the trained end token keeps its label)."""

    def __init__(self, pad_id):
        self.pad_id = pad_id

    def __call__(self, features):
        import torch
        batch = pad_batch([(f["input_ids"], f["labels"]) for f in features], self.pad_id)
        return {k: torch.tensor(v, dtype=torch.long) for k, v in batch.items()}


