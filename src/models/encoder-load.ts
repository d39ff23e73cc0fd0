// Encoders by model_type, and loadEncoder(dir): config, weights (every checkpoint tensor claimed by the body, the
// head or a known excuse, as loadModel does for decoders) and, for classification, the head of K labels.
import path from 'node:path';
import { ShitateError } from '../errors.js';
import { openCheckpoint } from '../io/checkpoint.js';
import { Fields, readJsonObject } from '../io/json-fields.js';
import { loadTable, tableTensors, type ParamTable } from './params.js';
import { renamedCheckpoint } from './renames.js';
import { headTensorNames, loadHead, type EncoderFamily, type LoadedHead } from './encoder-family.js';
import type { EncoderConfig, EncoderModel } from './encoder-types.js';
import { bert } from './bert.js';
import { roberta, xlmRoberta } from './roberta.js';
import { modernbert } from './modernbert.js';

/** Every encoder family, in the order messages list them. */
export const ENCODER_FAMILIES: readonly EncoderFamily[] = [bert, roberta, xlmRoberta, modernbert] as readonly EncoderFamily<ParamTable>[];

const BY_TYPE = new Map<string, EncoderFamily>(ENCODER_FAMILIES.flatMap((f) => [f.modelType, ...f.aliases].map((t): [string, EncoderFamily] => [t, f])));

export const ENCODER_MODEL_TYPES: readonly string[] = [...BY_TYPE.keys()];

export function findEncoderFamily(modelType: string): EncoderFamily | null {
  return BY_TYPE.get(modelType) ?? null;
}

/** Whether dir/config.json names an encoder model_type (without parsing the rest). */
export function isEncoderFolder(dir: string): boolean {
  try {
    const obj = readJsonObject(path.join(dir, 'config.json'), '');
    return typeof obj.model_type === 'string' && BY_TYPE.has(obj.model_type);
  } catch {
    return false;
  }
}

function familyOf(f: Fields): EncoderFamily {
  const t = f.obj.model_type;
  const fam = typeof t === 'string' ? findEncoderFamily(t) : null;
  if (fam) return fam;
  throw new ShitateError('E_UNSUPPORTED_MODEL',
    `${f.file}: expected an encoder model_type (${ENCODER_MODEL_TYPES.join(', ')}), found ${t === undefined ? 'no model_type' : JSON.stringify(t)}`,
    'classification and embeddings run on BERT, RoBERTa, XLM-RoBERTa and ModernBERT checkpoints (e.g. multilingual-e5, bge-m3, ruri, tohoku BERT with tokenizer.json)');
}

export function loadEncoderConfig(dir: string): EncoderConfig {
  const file = path.join(dir, 'config.json');
  const f = new Fields(file, readJsonObject(file, 'a Hugging Face model folder holds config.json next to the weights; download the full folder'));
  return familyOf(f).parseConfig(f);
}

export interface LoadEncoderOptions {
  /** load a sequence-classification head of this many labels (default: none, unless the checkpoint has one and
   *  `head` is true) */
  numLabels?: number;
  /** load the checkpoint's own classifier (a fine-tuned model) with the size it has */
  head?: boolean;
  /** seed of a fresh head's init */
  seed?: number;
  /** load despite unknown checkpoint tensors, dropping them (default SHITATE_ALLOW_UNKNOWN_TENSORS=1) */
  allowUnknownTensors?: boolean;
  onNote?: (message: string) => void;
}

export interface LoadedEncoder {
  dir: string;
  config: EncoderConfig;
  model: EncoderModel;
}

/** Reads an encoder folder; with numLabels (or head and a checkpoint classifier), its classification head too. */
export function loadEncoder(dir: string, o: LoadEncoderOptions = {}): LoadedEncoder {
  const file = path.join(dir, 'config.json');
  const f = new Fields(file, readJsonObject(file, 'a Hugging Face model folder holds config.json next to the weights; download the full folder'));
  const fam = familyOf(f);
  const c = fam.parseConfig(f);
  const note = o.onNote ?? ((m: string) => process.stderr.write(`shitate: ${m}\n`));
  const ck = renamedCheckpoint(openCheckpoint(dir), fam.renames);
  try {
    const table = fam.table(c);
    const fromCheckpoint = ck.tensors.get(fam.classifierWeight)?.shape[0];
    const K = o.numLabels ?? (o.head ? fromCheckpoint : undefined);
    if (o.head && K === undefined) {
      throw new ShitateError('E_NO_HEAD', `${dir}: expected a fine-tuned classification model (a "${fam.classifierWeight}" tensor), found none`,
        'classify with a classifier trained by `shitate train --task classify` (--adapter RUN_DIR/adapter), or pass a model fine-tuned for classification');
    }
    const specs = K !== undefined ? fam.headSpecs(c, K) : [];
    const claimed = new Set([...tableTensors(table).map((e) => e.name), ...headTensorNames(specs)]);
    const ignored = fam.ignoredTensors(c);
    const unknown = [...ck.tensors.keys()].filter((n) => !claimed.has(n) && !ignored.some((re) => re.test(n))).sort();
    const allow = o.allowUnknownTensors ?? process.env.SHITATE_ALLOW_UNKNOWN_TENSORS === '1';
    if (unknown.length > 0 && !allow) {
      throw new ShitateError('E_UNKNOWN_TENSOR',
        `${dir}: expected only the weights of a ${c.modelType} encoder, found ${unknown.length} tensor(s) it has no place for: ${unknown.slice(0, 6).map((n) => `"${n}"`).join(', ')}`,
        'config.json may not match the weights; use the model\'s original config.json, or set SHITATE_ALLOW_UNKNOWN_TENSORS=1 to load anyway and drop them');
    }
    if (unknown.length > 0) note(`${dir}: ignoring ${unknown.length} checkpoint tensor(s) the ${c.modelType} encoder does not use`);
    const weights = loadTable(ck, table);
    const head: LoadedHead | null = K !== undefined ? loadHead(ck, c, specs, K, o.seed ?? 0, note) : null;
    const labels = head && c.labels && c.labels.length === head.numLabels && fromCheckpoint === head.numLabels ? c.labels : null;
    const config = { ...c, labels };
    return { dir, config, model: fam.build(config, weights, head) };
  } finally {
    ck.close();
  }
}
