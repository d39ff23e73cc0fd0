#!/usr/bin/env python3
"""Cross-check against real transformers + PEFT (needs both installed; float32, CPU, eager attention).

1. `check`: loads every fixture in test/fixtures with transformers' own modeling code and PEFT, and reports how far
   the goldens written by the plain-torch ports (make_fixtures.py, encoder_fixtures.py) are from transformers'
   logits, losses, LoRA gradients and greedy tokens.
2. `make`: builds tiny models with transformers itself (its config classes and their defaults, its save_pretrained
   layout, tied weights left out as it leaves them), PEFT adapters with `target_modules="all-linear"` (the targets
   PEFT picks, random A and B), and writes them with goldens in the fixtures' JSON format under OUT/hf/<name>.

    python3 scripts/reference/hf_crosscheck.py --fixtures test/fixtures --out OUTDIR
    python3 scripts/reference/hf_crosscheck.py --out OUTDIR --only none --interop DIR   # DIR from interop.ts

Writes OUTDIR/report.json (per fixture: max |diff| of each golden, or the error) and OUTDIR/hf.tgz (the new
fixtures). Every case runs on its own: one that fails is reported and the others go on.
"""
import argparse
import glob
import json
import os
import sys
import tarfile
import traceback

import torch

torch.set_grad_enabled(True)
torch.use_deterministic_algorithms(True, warn_only=True)

import transformers  # noqa: E402
from transformers import AutoModel, AutoModelForCausalLM, AutoModelForSequenceClassification  # noqa: E402
import peft  # noqa: E402
from peft import LoraConfig, PeftModel, get_peft_model  # noqa: E402

F32 = torch.float32


def flat(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


def maxdiff(a, b):
    a = torch.as_tensor(a, dtype=torch.float64).reshape(-1)
    b = torch.as_tensor(b, dtype=torch.float64).reshape(-1)
    if a.numel() != b.numel():
        return f'size {a.numel()} vs {b.numel()}'
    return float((a - b).abs().max()) if a.numel() else 0.0


def peft_name(n):
    return n.replace('.default', '').replace('.modules_to_save', '')


def grad_report(pm, want_grads):
    """The largest |gradient difference| over the golden's tensors, and the golden names PEFT has no gradient for."""
    got = {peft_name(n): p.grad for n, p in pm.named_parameters() if p.requires_grad}
    worst, missing = 0.0, []
    for n, want in want_grads.items():
        if got.get(n) is None:
            missing.append(n)
            continue
        d = maxdiff(got[n], want)
        worst = max(worst, d) if isinstance(d, float) else worst
    out = {'grads': worst}
    if missing:
        out['grads_missing'] = missing[:5]
        out['have'] = sorted(got)[:8]
    return out


def load_causal(d):
    kw = dict(dtype=F32, attn_implementation='eager', output_loading_info=True)
    try:
        m, info = AutoModelForCausalLM.from_pretrained(d, **kw)
    except (ValueError, KeyError) as e:
        first = e
        try:
            from transformers import AutoModelForImageTextToText
            m, info = AutoModelForImageTextToText.from_pretrained(d, **kw)
        except Exception:
            raise first
    m.eval()
    info = {k: sorted(v)[:20] for k, v in info.items() if v and k != 'error_msgs'}
    return m, info


def load_causal_with(d, config):
    kw = dict(config=config, dtype=F32, attn_implementation='eager', output_loading_info=True)
    try:
        m, info = AutoModelForCausalLM.from_pretrained(d, **kw)
    except (ValueError, KeyError):
        from transformers import AutoModelForImageTextToText
        m, info = AutoModelForImageTextToText.from_pretrained(d, **kw)
    return m.eval(), info


def forward_logits(m, ids, labels=None):
    out = m(input_ids=ids, labels=labels)
    return out.logits, (out.loss if labels is not None else None)


def greedy(m, prompt, n):
    ids = list(prompt)
    gaps = []
    with torch.no_grad():
        for _ in range(n):
            logits = m(input_ids=torch.tensor([ids])).logits[0, -1]
            top = torch.topk(logits, 2)
            gaps.append(float(top.values[0] - top.values[1]))
            ids.append(int(top.indices[0]))
    return ids[len(prompt):], min(gaps)


# ---------------------------------------------------------------------------------------------------------------
# 1. the existing fixtures under transformers

def check_causal(fdir):
    r = {}
    g = json.load(open(os.path.join(fdir, 'golden.json')))
    m, info = load_causal(fdir)
    if info:
        r['loading'] = info
    ids = torch.tensor(g['input_ids'])
    labels = torch.tensor(g['labels'])
    with torch.no_grad():
        logits, loss = forward_logits(m, ids, labels)
    r['logits'] = maxdiff(logits, g['logits'])
    r['loss'] = abs(float(loss) - g['loss'])
    if 'greedy' in g:
        toks, gap = greedy(m, g['greedy']['prompt'], g['greedy']['max_new_tokens'])
        r['greedy_equal'] = toks == g['greedy']['tokens']
        r['greedy_gap'] = gap
    for suffix, gfile in (('-lora', 'lora_golden.json'), ('-lora-rslora', 'lora_golden.json'), ('-lora-tokens', 'token_golden.json')):
        adir = fdir + suffix
        if not os.path.exists(os.path.join(adir, gfile)):
            continue
        try:
            r[suffix[1:]] = check_causal_adapter(fdir, adir, gfile)
        except Exception as e:  # noqa: BLE001
            r[suffix[1:]] = {'error': f'{type(e).__name__}: {e}', 'trace': traceback.format_exc()[-1500:]}
    return r


def check_causal_adapter(fdir, adir, gfile):
    r = {}
    lg = json.load(open(os.path.join(adir, gfile)))
    base, _ = load_causal(fdir)
    pm = PeftModel.from_pretrained(base, adir, is_trainable=True)
    ids = torch.tensor(lg['input_ids'])
    labels = torch.tensor(lg['labels']) if 'labels' in lg else None
    logits, loss = forward_logits(pm, ids, labels)
    r['logits'] = maxdiff(logits, lg['logits'])
    if labels is not None and 'loss' in lg:
        r['loss'] = abs(float(loss) - lg['loss'])
    if 'grads' in lg and loss is not None:
        loss.backward()
        r.update(grad_report(pm, lg['grads']))
    if 'greedy' in lg:
        toks, gap = greedy(pm, lg['greedy']['prompt'], lg['greedy']['max_new_tokens'])
        r['greedy_equal'] = toks == lg['greedy']['tokens']
        r['greedy_gap'] = gap
    return r


def check_encoder(fdir):
    r = {}
    g = json.load(open(os.path.join(fdir, 'golden.json')))
    m, info = AutoModel.from_pretrained(fdir, dtype=F32, attn_implementation='eager', output_loading_info=True)
    info = {k: sorted(v)[:20] for k, v in info.items() if v and k != 'error_msgs'}
    if info:
        r['loading'] = info
    m.eval()
    ids = torch.tensor(g['input_ids'])
    mask = torch.tensor(g['attention_mask'])
    kw = dict(input_ids=ids, attention_mask=mask)
    if m.config.model_type != 'modernbert':
        kw['token_type_ids'] = torch.tensor(g['token_type_ids'])
    with torch.no_grad():
        h = m(**kw).last_hidden_state
    r['hidden'] = maxdiff(h, g['hidden'])
    r['hidden_real_tokens'] = float(((h - torch.tensor(g['hidden']).reshape(h.shape)).abs() * mask[..., None]).max())
    adir = fdir + '-lora'
    lgf = os.path.join(adir, 'lora_golden.json')
    if os.path.exists(lgf):
        try:
            lg = json.load(open(lgf))
            acfg = json.load(open(os.path.join(adir, 'adapter_config.json')))
            n_labels = len(lg['class_weights'])
            base = AutoModelForSequenceClassification.from_pretrained(fdir, dtype=F32, attn_implementation='eager', num_labels=n_labels)
            pm = PeftModel.from_pretrained(base, adir, is_trainable=True)
            pm.eval()  # dropout off, as the goldens are computed
            out = pm(**kw)
            a = {'logits': maxdiff(out.logits, lg['logits'])}
            loss = torch.nn.functional.cross_entropy(out.logits, torch.tensor(lg['labels']))
            a['loss'] = abs(float(loss) - lg['loss'])
            loss.backward()
            a.update(grad_report(pm, lg['grads']))
            a['modules_to_save'] = acfg.get('modules_to_save')
            r['lora'] = a
        except Exception as e:  # noqa: BLE001
            r['lora'] = {'error': f'{type(e).__name__}: {e}', 'trace': traceback.format_exc()[-1500:]}
    return r


def diagnose(fdir):
    """What transformers made of a fixture: class, config as read, module names, per-position logit differences."""
    r = {}
    m, info = load_causal(fdir)
    r['class'] = type(m).__name__
    r['config'] = m.config.to_dict()
    r['modules'] = [n for n, _ in m.named_modules()][:60]
    g = json.load(open(os.path.join(fdir, 'golden.json')))
    ids = torch.tensor(g['input_ids'])
    with torch.no_grad():
        logits = m(input_ids=ids).logits
    want = torch.tensor(g['logits']).reshape(logits.shape)
    r['per_position'] = [[round(float(x), 6) for x in row] for row in (logits - want).abs().amax(-1)]
    r['logits_hf'] = flat(logits)
    # the same weights with parts of the text config switched off, to see which one transformers leaves out
    text = m.config.get_text_config()
    for key in ('final_logit_softcapping', 'attn_logit_softcapping', 'sliding_window'):
        if getattr(text, key, None) is None:
            continue
        old = getattr(text, key)
        setattr(text, key, None if key != 'sliding_window' else 10 ** 6)
        try:
            m2, _ = load_causal_with(fdir, m.config)
            with torch.no_grad():
                l2 = m2(input_ids=ids).logits
            r[f'without_{key}'] = [[round(float(x), 6) for x in row] for row in (l2 - want).abs().amax(-1)]
        except Exception as e:  # noqa: BLE001
            r[f'without_{key}'] = f'{type(e).__name__}: {e}'
        setattr(text, key, old)
    adir = fdir + '-lora'
    if os.path.exists(adir):
        lg = json.load(open(os.path.join(adir, 'lora_golden.json')))
        pm = PeftModel.from_pretrained(load_causal(fdir)[0], adir)
        with torch.no_grad():
            r['lora_logits_hf'] = flat(pm(input_ids=torch.tensor(lg['input_ids'])).logits)
        r['peft_modules'] = [n for n, _ in pm.named_modules() if 'lora_A' in n][:20]
        r['adapter_config'] = json.load(open(os.path.join(adir, 'adapter_config.json')))
    return r


def interop_all(fixtures, d):
    """Adapters and merged folders written by the engine (scripts/reference/interop.ts), read by PEFT and
    transformers: max |logit difference| against the engine's own logits, and how far the adapter moves the base."""
    report = {}
    for f in sorted(glob.glob(os.path.join(d, '*-ours.json'))):
        name = os.path.basename(f)[:-len('-ours.json')]
        base = os.path.join(fixtures, 'hf', name)
        g = json.load(open(f))
        r = {}
        try:
            if 'classify_logits' in g:
                m = AutoModelForSequenceClassification.from_pretrained(base, dtype=F32, attn_implementation='eager', num_labels=3)
                pm = PeftModel.from_pretrained(m, os.path.join(d, name + '-ours')).eval()
                kw = dict(input_ids=torch.tensor(g['input_ids']), attention_mask=torch.tensor(g['attention_mask']))
                if m.config.model_type != 'modernbert':
                    kw['token_type_ids'] = torch.tensor(g['token_type_ids'])
                with torch.no_grad():
                    r['classify'] = maxdiff(pm(**kw).logits, g['classify_logits'])
            else:
                ids = torch.tensor(g['input_ids'])
                m, _ = load_causal(base)
                with torch.no_grad():
                    plain = m(input_ids=ids).logits
                pm = PeftModel.from_pretrained(m, os.path.join(d, name + '-ours')).eval()
                with torch.no_grad():
                    lg = pm(input_ids=ids).logits
                r['adapter'] = maxdiff(lg, g['adapter_logits'])
                r['adapter_moves_base_by'] = maxdiff(lg, plain)
                if 'merged_logits' in g:
                    mm, info = load_causal(os.path.join(d, name + '-merged'))
                    with torch.no_grad():
                        r['merged'] = maxdiff(mm(input_ids=ids).logits, g['merged_logits'])
                    if info:
                        r['merged_loading'] = info
        except Exception as e:  # noqa: BLE001
            r['error'] = f'{type(e).__name__}: {e}'
            r['trace'] = traceback.format_exc()[-1500:]
        report[name] = r
        print('interop', name, json.dumps({k: v for k, v in r.items() if k != 'trace'})[:400], flush=True)
    return report


def check_all(fixtures):
    report = {}
    for gf in sorted(glob.glob(os.path.join(fixtures, '*', 'golden.json'))):
        fdir = os.path.dirname(gf)
        name = os.path.basename(fdir)
        try:
            cfg = json.load(open(os.path.join(fdir, 'config.json')))
            enc = cfg.get('model_type') in ('bert', 'roberta', 'xlm-roberta', 'modernbert')
            report[name] = check_encoder(fdir) if enc else check_causal(fdir)
        except Exception as e:  # noqa: BLE001
            report[name] = {'error': f'{type(e).__name__}: {e}', 'trace': traceback.format_exc()[-1500:]}
        print('check', name, json.dumps({k: v for k, v in report[name].items() if k != 'trace'})[:600], flush=True)
    return report


# ---------------------------------------------------------------------------------------------------------------
# 2. new fixtures built by transformers itself

COMMON = dict(vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, max_position_embeddings=256, bos_token_id=1, eos_token_id=2, pad_token_id=0)


def with_common(**kw):
    d = dict(COMMON)
    d.update(kw)
    return d


CAUSAL = [
    ('llama', 'LlamaConfig', with_common()),
    ('llama-rope3', 'LlamaConfig', with_common(tie_word_embeddings=True, rope_parameters={
        'rope_type': 'llama3', 'rope_theta': 500000.0, 'factor': 8.0, 'low_freq_factor': 1.0, 'high_freq_factor': 4.0,
        'original_max_position_embeddings': 64})),
    ('mistral', 'MistralConfig', with_common(sliding_window=5, head_dim=24)),
    ('qwen2', 'Qwen2Config', with_common(tie_word_embeddings=True)),
    ('qwen3', 'Qwen3Config', with_common(head_dim=24, tie_word_embeddings=True)),
    ('smollm3', 'SmolLM3Config', with_common(num_hidden_layers=4)),
    ('granite', 'GraniteConfig', with_common(embedding_multiplier=12.0, attention_multiplier=0.125, residual_multiplier=0.22,
                                             logits_scaling=4.0, attention_bias=True, mlp_bias=True)),
    ('gemma2', 'Gemma2Config', with_common(num_hidden_layers=3, head_dim=16, sliding_window=5, query_pre_attn_scalar=24,
                                           attn_logit_softcapping=2.0, final_logit_softcapping=3.0)),
    ('gemma3', 'Gemma3TextConfig', with_common(num_hidden_layers=6, head_dim=16, sliding_window=5, query_pre_attn_scalar=16)),
    ('gemma4', 'Gemma4TextConfig', with_common(num_hidden_layers=4, head_dim=16, sliding_window=5, vocab_size_per_layer_input=256,
                                               hidden_size_per_layer_input=8)),
    ('gemma3-mm', 'Gemma3Config', dict(text_config=with_common(num_hidden_layers=6, head_dim=16, sliding_window=5), mm_tokens_per_image=4,
                                       vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                                                          image_size=28, patch_size=14), boi_token_index=250, eoi_token_index=251,
                                       image_token_index=252)),
    ('qwen3_5-mm', 'Qwen3_5Config', dict(text_config=with_common(num_hidden_layers=4, head_dim=16, linear_num_key_heads=2,
                                                                 linear_num_value_heads=4, linear_key_head_dim=16, linear_value_head_dim=16,
                                                                 linear_conv_kernel_dim=4),
                                         vision_config=dict(depth=1, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=64),
                                         image_token_id=250, video_token_id=251, vision_start_token_id=252, vision_end_token_id=253)),
    ('phi3', 'Phi3Config', with_common(partial_rotary_factor=0.75, sliding_window=None)),
    ('phi3-longrope', 'Phi3Config', with_common(partial_rotary_factor=0.5, original_max_position_embeddings=8, rope_parameters={
        'rope_type': 'longrope', 'rope_theta': 10000.0, 'short_factor': [1.0, 1.1, 1.3, 1.7],
        'long_factor': [1.5, 2.0, 3.0, 5.0], 'original_max_position_embeddings': 8})),
    ('falcon', 'FalconConfig', dict(vocab_size=256, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                    new_decoder_architecture=True, num_kv_heads=2, bos_token_id=1, eos_token_id=2)),
    ('falcon-7b', 'FalconConfig', dict(vocab_size=256, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                       multi_query=True, parallel_attn=True, bias=False, bos_token_id=1, eos_token_id=2)),
    ('bloom', 'BloomConfig', dict(vocab_size=256, hidden_size=64, n_layer=2, n_head=4, bos_token_id=1, eos_token_id=2, pad_token_id=3)),
    ('qwen3_5', 'Qwen3_5TextConfig', with_common(num_hidden_layers=4, head_dim=16, linear_num_key_heads=2, linear_num_value_heads=4,
                                                 linear_key_head_dim=16, linear_value_head_dim=16, linear_conv_kernel_dim=4)),
    ('lfm2', 'Lfm2Config', with_common(num_hidden_layers=4, full_attn_idxs=[1, 3])),
    # appended after the first set so that every case keeps its seed (100 + 10 * its index)
    ('gemma3-softcap', 'Gemma3TextConfig', with_common(num_hidden_layers=2, head_dim=16, sliding_window=5, attn_logit_softcapping=2.0,
                                                       final_logit_softcapping=3.0)),
    ('gemma3-mm-softcap', 'Gemma3Config', dict(text_config=with_common(num_hidden_layers=2, head_dim=16, sliding_window=5, attn_logit_softcapping=2.0,
                                                                       final_logit_softcapping=3.0), mm_tokens_per_image=4,
                                               vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                                                                  image_size=28, patch_size=14), boi_token_index=250, eoi_token_index=251,
                                               image_token_index=252)),
    ('llama-patterns', 'LlamaConfig', with_common(num_hidden_layers=2), {
        'rank_pattern': {'q_proj': 2, 'down_proj': 8}, 'alpha_pattern': {'v_proj': 3, 'model.layers.1.mlp.up_proj': 20}}),
    ('qwen3-rslora-patterns', 'Qwen3Config', with_common(head_dim=16, tie_word_embeddings=True), {
        'use_rslora': True, 'rank_pattern': {'layers.0.self_attn.k_proj': 6}, 'alpha_pattern': {'o_proj': 5}}),
]

ENCODERS = [
    ('bert', 'BertConfig', dict(vocab_size=128, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
                                max_position_embeddings=32, pad_token_id=0), ['query', 'key', 'value', 'dense']),
    ('roberta', 'RobertaConfig', dict(vocab_size=128, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
                                      max_position_embeddings=40, pad_token_id=1, bos_token_id=0, eos_token_id=2, type_vocab_size=1), ['query', 'value']),
    ('xlm-roberta', 'XLMRobertaConfig', dict(vocab_size=128, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
                                             max_position_embeddings=40, pad_token_id=1, bos_token_id=0, eos_token_id=2, type_vocab_size=1), ['query', 'key', 'value']),
    ('modernbert', 'ModernBertConfig', dict(vocab_size=128, hidden_size=64, num_hidden_layers=3, num_attention_heads=4, intermediate_size=96,
                                            max_position_embeddings=64, local_attention=4, global_attn_every_n_layers=3, pad_token_id=0,
                                            bos_token_id=1, eos_token_id=2, cls_token_id=1, sep_token_id=2), ['Wqkv', 'Wo']),
]


def perturb(model, seed, std=0.15):
    """transformers' initial values are near zero (std 0.02) and leave every logit alike; spread them so the goldens
    separate a right engine from a wrong one. Vectors (norms, biases, scalars) move by a little around their value."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if not p.is_floating_point():
                continue
            if p.dim() >= 2:
                p.copy_(torch.randn(p.shape, generator=g) * std)
            elif 'A_log' in n or 'dt_bias' in n:
                continue
            else:
                p.add_(torch.randn(p.shape, generator=g) * 0.1)


def from_config(auto, cfg):
    try:
        return auto.from_config(cfg, attn_implementation='eager', dtype=F32)
    except TypeError:
        cfg._attn_implementation = 'eager'
        return auto.from_config(cfg).to(F32)


def build_config(cls_name, kw):
    cls = getattr(transformers, cls_name)
    return cls(**kw)


def batch(seed, V, B=2, T=12):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, V, (B, T), generator=g)
    labels = ids.clone()
    labels[0, :3] = -100
    labels[1, 6:8] = -100
    return ids, labels


def make_causal(out, name, cls_name, kw, seed, lora_kw=None):
    cfg = build_config(cls_name, kw)
    torch.manual_seed(seed)
    model = from_config(AutoModelForCausalLM, cfg)
    n_params = sum(p.numel() for p in model.parameters())
    if n_params > 3_000_000:
        raise ValueError(f'{n_params} parameters: a config default was not shrunk: {model.config.to_dict()}')
    perturb(model, seed)
    model.eval()
    d = os.path.join(out, name)
    model.save_pretrained(d)
    V = cfg.get_text_config().vocab_size
    ids, labels = batch(seed + 1, V)
    with torch.no_grad():
        logits, loss = forward_logits(model, ids, labels)
    prompt = torch.randint(3, V, (5,), generator=torch.Generator().manual_seed(seed + 2)).tolist()
    toks, gap = greedy(model, prompt, 10)
    golden = {'input_ids': ids.tolist(), 'labels': labels.tolist(), 'logits_shape': list(logits.shape), 'logits': flat(logits),
              'loss': float(loss), 'greedy': {'prompt': prompt, 'max_new_tokens': 10, 'tokens': toks, 'min_top2_gap': gap},
              'transformers': transformers.__version__}
    json.dump(golden, open(os.path.join(d, 'golden.json'), 'w'))
    r = {'logits_absmax': float(logits.abs().max()), 'loss': float(loss), 'greedy_gap': gap}

    # PEFT LoRA on every linear layer PEFT's all-linear picks (lm_head excluded), A and B random
    base = AutoModelForCausalLM.from_pretrained(d, dtype=F32, attn_implementation='eager')
    torch.manual_seed(seed + 3)
    targets = 'all-linear'
    if any('language_model' in n for n, _ in base.named_modules()):  # a multimodal wrapper: the language model's linears only
        targets = r'.*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj|in_proj_qkv|in_proj_z|in_proj_a|in_proj_b|out_proj)'
    lcfg = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=targets, init_lora_weights=False, task_type='CAUSAL_LM',
                      **(lora_kw or {}))
    pm = get_peft_model(base, lcfg)
    with torch.no_grad():  # kaiming-uniform B is large next to std-0.15 weights; keep the adapter a perturbation
        for n, p in pm.named_parameters():
            if 'lora_B' in n:
                p.mul_(0.3)
    pm.eval()
    adir = d + '-lora'
    pm.save_pretrained(adir)
    logits, loss = forward_logits(pm, ids, labels)
    loss.backward()
    params = [(peft_name(n), p) for n, p in pm.named_parameters() if p.requires_grad]
    grads = {n: flat(p.grad) for n, p in params}
    ltoks, lgap = greedy(pm, prompt, 10)
    lg = {'input_ids': ids.tolist(), 'labels': labels.tolist(), 'scaling': 2.0, 'logits_shape': list(logits.shape),
          'logits': flat(logits), 'loss': float(loss), 'grads': grads,
          'greedy': {'prompt': prompt, 'max_new_tokens': 10, 'tokens': ltoks, 'min_top2_gap': lgap}}
    opt = torch.optim.AdamW([p for _, p in params], lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    losses = []
    for _ in range(3):
        opt.zero_grad()
        _, l = forward_logits(pm, ids, labels)
        losses.append(float(l))
        l.backward()
        opt.step()
    lg['trajectory'] = {'optimizer': {'lr': 0.01, 'betas': [0.9, 0.999], 'eps': 1e-8, 'weight_decay': 0.01}, 'steps': 3, 'losses': losses}
    # merged: PEFT's merge_and_unload of the saved adapter
    merged = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(d, dtype=F32, attn_implementation='eager'), adir).merge_and_unload()
    with torch.no_grad():
        mlog, _ = forward_logits(merged.eval(), ids, None)
    lg['merged_logits_maxdiff_vs_unmerged'] = maxdiff(mlog, lg['logits'])
    json.dump(lg, open(os.path.join(adir, 'lora_golden.json'), 'w'))
    tm = pm.peft_config['default'].target_modules
    r['lora_targets'] = tm if isinstance(tm, str) else sorted(tm)
    r['class'] = type(model).__name__
    r['saved_keys'] = sorted(__import__('safetensors.torch', fromlist=['load_file']).load_file(os.path.join(d, 'model.safetensors')).keys())[:12]
    r['adapter_keys'] = sorted(__import__('safetensors.torch', fromlist=['load_file']).load_file(os.path.join(adir, 'adapter_model.safetensors')).keys())[:6]
    r['config'] = json.load(open(os.path.join(d, 'config.json')))
    r['lora_loss'] = float(loss)
    r['lora_greedy_gap'] = lgap
    return r


def make_encoder(out, name, cls_name, kw, targets, seed):
    cfg = build_config(cls_name, kw)
    torch.manual_seed(seed)
    model = from_config(AutoModel, cfg)
    perturb(model, seed, std=0.1)
    model.eval()
    d = os.path.join(out, name + '-enc')
    model.save_pretrained(d)
    pad = cfg.pad_token_id
    g = torch.Generator().manual_seed(seed + 1)
    B, T = 3, 10
    lens = [10, 7, 4]
    ids = torch.full((B, T), pad, dtype=torch.long)
    mask = torch.zeros((B, T), dtype=torch.long)
    for b, L in enumerate(lens):
        ids[b, :L] = torch.randint(4, cfg.vocab_size, (L,), generator=g)
        mask[b, :L] = 1
    types = torch.zeros((B, T), dtype=torch.long)
    if getattr(cfg, 'type_vocab_size', 1) > 1:
        types[0, 6:] = 1
    kw_in = dict(input_ids=ids, attention_mask=mask)
    if cfg.model_type != 'modernbert':
        kw_in['token_type_ids'] = types
    with torch.no_grad():
        h = model(**kw_in).last_hidden_state
    m = mask[..., None].to(F32)
    mean = torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=-1)
    cls = torch.nn.functional.normalize(h[:, 0], dim=-1)
    last = torch.nn.functional.normalize(torch.stack([h[b, L - 1] for b, L in enumerate(lens)]), dim=-1)
    golden = {'input_ids': ids.tolist(), 'attention_mask': mask.tolist(), 'token_type_ids': types.tolist(), 'hidden_shape': list(h.shape),
              'hidden': flat(h), 'pooled_normalized': {'mean': flat(mean), 'cls': flat(cls), 'lasttoken': flat(last)},
              'transformers': transformers.__version__}
    json.dump(golden, open(os.path.join(d, 'golden.json'), 'w'))
    r = {'hidden_absmax': float(h.abs().max())}

    torch.manual_seed(seed + 2)
    base = AutoModelForSequenceClassification.from_pretrained(d, dtype=F32, attn_implementation='eager', num_labels=3)
    # ModernBERT's classification model puts a dense + norm head before the classifier; a base checkpoint has no head
    # weights, so the adapter must carry them (PEFT saves only classifier/score by itself)
    extra = ['head'] if cfg.model_type == 'modernbert' else None
    lcfg = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=targets, init_lora_weights=False, task_type='SEQ_CLS',
                      modules_to_save=extra)
    pm = get_peft_model(base, lcfg)
    with torch.no_grad():
        for n, p in pm.named_parameters():
            if 'lora_B' in n:
                p.mul_(0.3)
            elif p.requires_grad and 'lora' not in n:
                p.add_(torch.randn(p.shape) * 0.1)  # the head, trained and saved in the adapter
    pm.eval()
    adir = d + '-lora'
    pm.save_pretrained(adir)
    labels = torch.tensor([2, 0, 1])
    weights = torch.tensor([1.0, 2.0, 0.5])
    out_ = pm(**kw_in)
    loss = torch.nn.functional.cross_entropy(out_.logits, labels)
    lw = torch.nn.functional.cross_entropy(out_.logits, labels, weight=weights)
    loss.backward()
    params = [(peft_name(n), p) for n, p in pm.named_parameters() if p.requires_grad]
    grads = {n: flat(p.grad) for n, p in params}
    with torch.no_grad():  # the adapter's head without the LoRA factors (B zeroed for the call)
        saved = {n: p.clone() for n, p in pm.named_parameters() if 'lora_B' in n}
        for n, p in pm.named_parameters():
            if n in saved:
                p.zero_()
        head_only = pm(**kw_in).logits
        for n, p in pm.named_parameters():
            if n in saved:
                p.copy_(saved[n])
    lg = {'labels': labels.tolist(), 'class_weights': weights.tolist(), 'scaling': 2.0, 'logits_head_only': flat(head_only),
          'logits': flat(out_.logits), 'loss': float(loss), 'loss_weighted': float(lw), 'grads': grads}
    # 3 AdamW steps; PEFT trains the head's biases with weight decay like every parameter in one group
    opt = torch.optim.AdamW([p for _, p in params], lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    losses = []
    for _ in range(3):
        opt.zero_grad()
        l = torch.nn.functional.cross_entropy(pm(**kw_in).logits, labels)
        losses.append(float(l))
        l.backward()
        opt.step()
    lg['trajectory'] = {'optimizer': {'lr': 0.01, 'betas': [0.9, 0.999], 'eps': 1e-8, 'weight_decay': 0.01}, 'steps': 3, 'losses': losses,
                        'bias_decay': True}
    json.dump(lg, open(os.path.join(adir, 'lora_golden.json'), 'w'))
    r['lora_loss'] = float(loss)
    r['trained'] = sorted(n for n, _ in params if 'lora' not in n)
    return r


def make_all(out, cases=None):
    report = {}
    os.makedirs(out, exist_ok=True)
    for i, (name, cls_name, kw, *lora_kw) in enumerate(CAUSAL):
        if cases and name not in cases:
            continue
        try:
            report[name] = make_causal(out, name, cls_name, kw, 100 + 10 * i, lora_kw[0] if lora_kw else None)
        except Exception as e:  # noqa: BLE001
            report[name] = {'error': f'{type(e).__name__}: {e}', 'trace': traceback.format_exc()[-2500:]}
            try:
                report[name]['config_defaults'] = {k: v for k, v in getattr(transformers, cls_name)().to_dict().items()
                                                   if not isinstance(v, (list, dict)) or len(str(v)) < 300}
            except Exception:  # noqa: BLE001
                pass
        print('make', name, json.dumps({k: v for k, v in report[name].items() if k not in ('trace', 'config_defaults')})[:600], flush=True)
    for i, (name, cls_name, kw, targets) in enumerate(ENCODERS):
        if cases and name + '-enc' not in cases:
            continue
        try:
            report[name + '-enc'] = make_encoder(out, name, cls_name, kw, targets, 500 + 10 * i)
        except Exception as e:  # noqa: BLE001
            report[name + '-enc'] = {'error': f'{type(e).__name__}: {e}', 'trace': traceback.format_exc()[-2500:]}
        print('make', name, json.dumps({k: v for k, v in report[name + '-enc'].items() if k != 'trace'})[:600], flush=True)
    return report


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--fixtures', default='test/fixtures')
    ap.add_argument('--out', required=True)
    ap.add_argument('--only', choices=['check', 'make', 'none'])
    ap.add_argument('--diagnose', nargs='*', default=[])
    ap.add_argument('--cases', nargs='*', default=[], help='make only these (default: all)')
    ap.add_argument('--interop', help='folder written by scripts/reference/interop.ts')
    a = ap.parse_args()
    torch.set_num_threads(min(8, os.cpu_count() or 1))
    report = {'versions': {'torch': torch.__version__, 'transformers': transformers.__version__, 'peft': peft.__version__}}
    for name in a.diagnose:
        try:
            report.setdefault('diagnose', {})[name] = diagnose(os.path.join(a.fixtures, name))
        except Exception as e:  # noqa: BLE001
            report.setdefault('diagnose', {})[name] = {'error': f'{type(e).__name__}: {e}', 'trace': traceback.format_exc()[-2500:]}
        json.dump(report, open(os.path.join(a.out, 'report.json'), 'w'), indent=1)
    if a.interop:
        report['interop'] = interop_all(a.fixtures, a.interop)
        json.dump(report, open(os.path.join(a.out, 'report.json'), 'w'), indent=1)
    if a.only not in ('make', 'none'):
        report['check'] = check_all(a.fixtures)
        json.dump(report, open(os.path.join(a.out, 'report.json'), 'w'), indent=1)
    if a.only not in ('check', 'none'):
        hf = os.path.join(a.out, 'hf')
        report['make'] = make_all(hf, a.cases)
        groups = {}
        for name in sorted(os.listdir(hf)):
            key = 'enc' if '-enc' in name else ('mm' if '-mm' in name else name.split('-')[0][:1])
            groups.setdefault(key, []).append(name)
        # at most 6 archives: encoders, multimodal wrappers, and the rest split by first letter into four
        merged = {'enc': groups.pop('enc', []), 'mm': groups.pop('mm', [])}
        rest = sorted(groups.items())
        for i, (_, names) in enumerate(rest):
            merged.setdefault(f'dec{i % 4}', []).extend(names)
        for key, names in merged.items():
            if not names:
                continue
            with tarfile.open(os.path.join(a.out, f'hf-{key}.tgz'), 'w:gz') as t:
                for name in names:
                    t.add(os.path.join(hf, name), arcname=os.path.join('hf', name))
        import shutil
        shutil.rmtree(hf)
    json.dump(report, open(os.path.join(a.out, 'report.json'), 'w'), indent=1)
    print('done', flush=True)


if __name__ == '__main__':
    sys.exit(main())
