// A model fine-tuned for classification (a ...ForSequenceClassification folder: the head in the checkpoint, label
// names in config.json's id2label) classifies without an adapter, with the reference's logits; a regression head
// and an adapter for another number of labels are refused.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSafetensors, writeSafetensors } from '../../src/io/safetensors.js';
import { openClassifier } from '../../src/eval/classifier.js';
import { loadEncoder } from '../../src/models/encoder-load.js';
import { loadSeqClsAdapter } from '../../src/lora/seq-cls.js';
import { noGrad } from '../../src/tensor/index.js';
import { ShitateError } from '../../src/errors.js';
import { tempDir } from '../helpers/tiny-model.js';

const FIX = path.join(import.meta.dirname, '..', 'fixtures');

/** bert-enc-tiny with its adapter's head written into the checkpoint, as BertForSequenceClassification saves it. */
function finetunedFolder(labels: Record<string, string> | null): string {
  const dir = tempDir();
  const tensors: { name: string; shape: number[]; dtype: 'F32'; data: Float32Array }[] = [];
  for (const [file, strip] of [[path.join(FIX, 'bert-enc-tiny', 'model.safetensors'), ''], [path.join(FIX, 'bert-enc-tiny-lora', 'adapter_model.safetensors'), 'base_model.model.']] as const) {
    const st = openSafetensors(file);
    for (const [name, info] of st.header) {
      if (strip && (!name.startsWith(strip) || name.includes('lora_'))) continue;
      tensors.push({ name: name.slice(strip.length), shape: [...info.shape], dtype: 'F32', data: st.readF32(name) });
    }
    st.close();
  }
  writeSafetensors(path.join(dir, 'model.safetensors'), tensors);
  const config = JSON.parse(fs.readFileSync(path.join(FIX, 'bert-enc-tiny', 'config.json'), 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, architectures: ['BertForSequenceClassification'], problem_type: 'single_label_classification',
    ...(labels ? { id2label: labels, label2id: Object.fromEntries(Object.entries(labels).map(([k, v]) => [v, Number(k)])) } : {}) }));
  return dir;
}

describe('a fine-tuned classification model', () => {
  it('loads its own head and id2label and gives the reference logits', () => {
    const dir = finetunedFolder({ 0: '配送', 1: '返品', 2: 'その他' });
    const { model, config } = loadEncoder(dir, { head: true });
    expect(config.labels).toEqual(['配送', '返品', 'その他']);
    const g = JSON.parse(fs.readFileSync(path.join(FIX, 'bert-enc-tiny', 'golden.json'), 'utf8')) as { input_ids: number[][]; attention_mask: number[][]; token_type_ids: number[][] };
    const lg = JSON.parse(fs.readFileSync(path.join(FIX, 'bert-enc-tiny-lora', 'lora_golden.json'), 'utf8')) as { logits_head_only: number[] };
    const input = { ids: Int32Array.from(g.input_ids.flat()), mask: Int32Array.from(g.attention_mask.flat()), typeIds: Int32Array.from(g.token_type_ids.flat()), batch: 3, seqLen: 10 };
    const logits = noGrad(() => model.classify(input)).data;
    expect(Math.max(...Array.from(logits, (x, i) => Math.abs(x - lg.logits_head_only[i])))).toBeLessThan(1e-4);
    // the same checkpoint under a new head of other size: the classifier is made fresh, with a note
    const notes: string[] = [];
    const fresh = loadEncoder(dir, { numLabels: 5, onNote: (m) => notes.push(m) });
    expect(fresh.model.numLabels).toBe(5);
    expect(notes.join('\n')).toMatch(/another number of labels/);
    expect(() => loadSeqClsAdapter(path.join(FIX, 'bert-enc-tiny-lora'), fresh.model)).toThrow(/neither a LoRA factor nor a weight of this model's classification head/);
  });

  it('refuses a model without a classifier or with a regression head', () => {
    expect(() => loadEncoder(path.join(FIX, 'bert-enc-tiny'), { head: true })).toThrow(ShitateError);
    const dir = finetunedFolder(null);
    const st = openSafetensors(path.join(dir, 'model.safetensors'));
    const tensors = [...st.header].map(([name, info]) => ({ name, shape: [...info.shape], dtype: 'F32' as const, data: st.readF32(name) }))
      .map((t) => (t.name.startsWith('classifier.') ? { ...t, shape: t.name.endsWith('weight') ? [1, 32] : [1], data: t.data.slice(0, t.name.endsWith('weight') ? 32 : 1) } : t));
    st.close();
    writeSafetensors(path.join(dir, 'model.safetensors'), tensors);
    expect(() => openClassifier(dir, null)).toThrow(/regression/);
  });
});

describe('a SEQ_CLS adapter on a base checkpoint', () => {
  it('keeps the pretrained pooler frozen (a LoRA target) and trains the classifier', () => {
    const { model } = loadEncoder(path.join(FIX, 'bert-enc-tiny'), { numLabels: 3 });
    loadSeqClsAdapter(path.join(FIX, 'bert-enc-tiny-lora'), model);
    expect(model.head?.map((p) => [p.module, p.trained])).toEqual([['bert.pooler', false], ['classifier', true]]);
    expect(model.linears().map((l) => l.name)).toContain('bert.pooler.dense'); // a pretrained pooler is a LoRA target
    expect(model.linears().map((l) => l.name)).not.toContain('classifier');
  });
});
