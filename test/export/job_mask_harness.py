"""Runs the hf job's masking and collation (job_mask.py) on tokenizer answers recorded from shitate.

Input (argv[1]): JSON with the path of job_mask.py and cases; each case holds the renderings, encodings and
offsets shitate's own tokenizer gave for every call it made, so job_mask.py's functions see exactly the same
text and tokens. A call shitate never made fails loudly: the two algorithms asked different questions.
Output (stdout): JSON per group (one tokenizer each): every case's ids, mask and appended flag, and the
padded batch of the group's examples as lists, as transformers' shifted labels, and as the collator's tensors.
"""
import importlib.util
import json
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside the sources


def key(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def vars_key(v):
    return v if v else None


class LookupTok:
    def __init__(self, case):
        self.c = case
        self.unicode_form = case["unicode_form"]
        self.chat_template = case["chat_template"]
        self.eos_id = case["eos_id"]

    def render(self, messages, generation, vars_):
        k = key([list(messages), generation, vars_key(vars_)])
        if k not in self.c["renders"]:
            raise KeyError("render shitate never made: " + k[:300])
        r = self.c["renders"][k]
        if isinstance(r, dict):
            raise ValueError(r["error"])
        return r

    def encode(self, text, special):
        k = key([text, special])
        if k not in self.c["encodes"]:
            raise KeyError("encode shitate never made: " + k[:300])
        return list(self.c["encodes"][k])

    def offsets(self, text, ids):
        if text not in self.c["offsets"]:
            raise KeyError("offsets shitate never asked for: " + text[:300])
        off = self.c["offsets"][text]
        return None if off is None else [tuple(o) for o in off]


def run_group(jm, group):
    cases, rows = [], []
    for case in group["cases"]:
        tok = LookupTok(case)
        r = jm.tokenize_record(tok, case["record"], case["mode"], case["end_ids"], case["end_texts"],
                                  case["max_seq_len"], case["template_vars"] or None)
        if r is None:
            cases.append(None)
            continue
        ids, mask, appended = r
        cases.append({"ids": ids, "mask": mask, "appended": appended})
        rows.append((ids, jm.labels_of(ids, mask)))
    batch = jm.pad_batch(rows, group["pad_id"])
    # what the model trains on: transformers shifts the labels left by one inside its loss
    shifted = [lab[1:] + [jm.IGNORE] for lab in batch["labels"]]
    import torch  # noqa: F401  (the collator hands torch tensors to the Trainer)
    t = jm.Collator(group["pad_id"])([{"input_ids": i, "labels": l} for i, l in rows])
    eot = jm.end_of_turn_ids(LookupTok(group["eot"]), set(group["eot"]["special_ids"]))
    loss = first_step_loss(group["model_dir"], t) if group.get("model_dir") else None
    return {"eot": eot, "loss": loss, "cases": cases, "batch": batch, "shifted": shifted,
            "torch": {k: v.tolist() for k, v in t.items()}, "torch_dtypes": sorted({str(v.dtype) for v in t.values()})}


def first_step_loss(model_dir, batch):
    """The loss transformers computes on the collator's batch: the plain-torch reference of the model
    (scripts/reference/llama_ref.py) in float32, and HF's causal-LM loss over the shifted labels."""
    import os
    import torch
    ref = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "reference")
    sys.path.insert(0, ref)
    from llama_ref import Cfg, causal_lm_loss, forward
    from safetensors_io import load_file
    cfg = Cfg(json.load(open(os.path.join(model_dir, "config.json"), encoding="utf-8")))
    weights, _ = load_file(os.path.join(model_dir, "model.safetensors"))
    with torch.no_grad():
        # right padding: no real token attends to a pad, so the causal forward needs no padding mask
        logits = forward(cfg, weights, batch["input_ids"])
        return float(causal_lm_loss(logits, batch["labels"]))


def main():
    spec = json.load(open(sys.argv[1], encoding="utf-8"))
    mod_spec = importlib.util.spec_from_file_location("job_mask", spec["job_mask_py"])
    jm = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(jm)
    json.dump({"groups": [run_group(jm, g) for g in spec["groups"]]}, sys.stdout)


if __name__ == "__main__":
    main()
