#!/usr/bin/env python3
"""LoRA fine-tuning with transformers' Trainer + PEFT that reproduces a `shitate train` run on GPUs.

Everything it needs is in job.json beside it (written by `shitate export-job --engine hf`): the data files,
the chat template shitate trained with, the tokens that end a turn, the LoRA settings and the Trainer's
arguments. Tokens and loss masks come from job_mask.py, which computes them exactly as shitate does.

  python train.py                          # one GPU
  torchrun --nproc_per_node N train.py     # N GPUs (DeepSpeed or FSDP as job.json says)
  python train.py --dry-run                # tokenize and report, no training
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from job_mask import Collator, end_of_turn_ids, labels_of, tokenize_record  # noqa: E402


class HfTok:
    """The tokenizer interface over a transformers tokenizer with shitate's chat template."""

    def __init__(self, tokenizer, template, unicode_form, base_vars):
        self.t = tokenizer
        self.chat_template = template
        self.unicode_form = unicode_form
        self.base_vars = base_vars
        self.eos_id = tokenizer.eos_token_id

    def render(self, messages, generation, vars_):
        kw = dict(self.base_vars, **(vars_ or {}))
        return self.t.apply_chat_template(list(messages), chat_template=self.chat_template, tokenize=False,
                                          add_generation_prompt=generation, **kw)

    def encode(self, text, special):
        return list(self.t(text, add_special_tokens=special)["input_ids"])

    def offsets(self, text, ids):
        if not getattr(self.t, "is_fast", False):
            return None
        enc = self.t(text, add_special_tokens=False, return_offsets_mapping=True)
        return [tuple(o) for o in enc["offset_mapping"]] if list(enc["input_ids"]) == list(ids) else None


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def build_examples(tok, job, path):
    d = job["data"]
    rows, stats = [], {"examples": 0, "truncated": 0, "dropped": 0, "appended_eos": 0}
    for rec in read_jsonl(path):
        r = tokenize_record(tok, rec, d["mode"], job["end_ids"], job["end_texts"], d["max_seq_len"], job.get("template_vars") or None)
        stats["examples"] += 1
        if r is None:
            stats["dropped"] += 1
            continue
        ids, mask, appended = r
        stats["appended_eos"] += int(appended)
        rows.append({"input_ids": ids, "labels": labels_of(ids, mask)})
    return rows, stats


def training_arguments(TrainingArguments, job, output_dir, here):
    import dataclasses
    known = {f.name for f in dataclasses.fields(TrainingArguments)}
    args = dict(job["hf"]["training_args"], output_dir=output_dir)
    if isinstance(args.get("deepspeed"), str) and not os.path.isabs(args["deepspeed"]):
        args["deepspeed"] = os.path.join(here, args["deepspeed"])
    if "train_sampling_strategy" in args and "train_sampling_strategy" not in known and "group_by_length" in known:
        args["group_by_length"] = args.pop("train_sampling_strategy") == "group_by_length"  # transformers 4.x
    for k in [k for k in args if k not in known]:
        print("note: this transformers has no TrainingArguments.%s; left out" % k, file=sys.stderr)
        args.pop(k)
    return TrainingArguments(**args)


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="shitate job: LoRA fine-tuning with transformers + PEFT")
    ap.add_argument("--model", help="model folder or Hub id (default: job.json's)")
    ap.add_argument("--output", default=os.path.join(here, "output"))
    ap.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --output")
    ap.add_argument("--dry-run", action="store_true", help="tokenize the data and report; no training")
    a = ap.parse_args(argv)
    with open(os.path.join(here, "job.json"), encoding="utf-8") as f:
        job = json.load(f)
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, EarlyStoppingCallback, Trainer, TrainingArguments
    from peft import LoraConfig, get_peft_model
    model_id = a.model or job["model"]["remote"]
    with open(os.path.join(here, job["chat_template_file"]), encoding="utf-8") as f:
        template = f.read()
    tok = HfTok(AutoTokenizer.from_pretrained(model_id), template, job.get("unicode_form"), job.get("base_template_vars") or {})
    mine = end_of_turn_ids(tok, set(tok.t.all_special_ids))
    if mine and mine[0] not in job["end_ids"]:
        print("warning: this tokenizer ends a turn with id %d; the job was made with %s" % (mine[0], job["end_ids"]), file=sys.stderr)
    train, tstats = build_examples(tok, job, os.path.join(here, job["data"]["train"]))
    val, vstats = build_examples(tok, job, os.path.join(here, job["data"]["val"])) if job["data"].get("val") else ([], None)
    print("train: %s; validation: %s" % (json.dumps(tstats), json.dumps(vstats)), file=sys.stderr)
    if a.dry_run:
        first = train[0]
        print(json.dumps({"input_ids": first["input_ids"], "labels": first["labels"]}))
        return 0
    args = training_arguments(TrainingArguments, job, a.output, here)  # before the model: ZeRO-3 partitions at load
    model = AutoModelForCausalLM.from_pretrained(model_id, dtype=torch.bfloat16, attn_implementation="sdpa")
    lc = job["hf"]["lora"]
    model = get_peft_model(model, LoraConfig(r=lc["r"], lora_alpha=lc["alpha"], lora_dropout=lc["dropout"], target_modules=lc["target_modules"],
                                             use_rslora=lc["use_rslora"], bias="none", task_type="CAUSAL_LM"))
    es = job["hf"].get("early_stopping")
    callbacks = [EarlyStoppingCallback(early_stopping_patience=es["patience"], early_stopping_threshold=es["threshold"])] if es and val else []
    trainer = Trainer(model=model, args=args, train_dataset=train, eval_dataset=val or None,
                      data_collator=Collator(job["pad_id"]), callbacks=callbacks)
    trainer.train(resume_from_checkpoint=True if a.resume else None)
    adapter = os.path.join(a.output, "adapter")
    trainer.save_model(adapter)  # the best checkpoint when validation ran (load_best_model_at_end)
    trainer.save_state()
    if trainer.is_world_process_zero():
        with open(os.path.join(adapter, "chat_template.jinja"), "w", encoding="utf-8") as f:
            f.write(template)
        with open(os.path.join(a.output, "run.json"), "w", encoding="utf-8") as f:
            json.dump({"train": tstats, "validation": vstats, "end_ids": job["end_ids"], "model": model_id,
                       "gpus": int(os.environ.get("WORLD_SIZE", "1"))}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
