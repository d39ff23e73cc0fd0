// One name -> tensor view over a model folder's weights: a single model.safetensors, or the shards listed in
// model.safetensors.index.json ({"metadata": {"total_size"}, "weight_map": {tensor name: shard file}}).
import fs from 'node:fs';
import path from 'node:path';
import { ShitateError } from '../errors.js';
import { openSafetensors, type SafetensorsFile, type TensorInfo } from './safetensors.js';
import { isRecord } from './safetensors-header.js';

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

export interface CheckpointTensor extends TensorInfo {
  file: string; // the shard that holds it
}

export interface Checkpoint {
  readonly dir: string;
  /** Files opened, in the order listed (one for an unsharded checkpoint). */
  readonly files: string[];
  readonly tensors: Map<string, CheckpointTensor>;
  /** __metadata__ of the single file, or of the first shard. */
  readonly metadata: Record<string, string>;
  has(name: string): boolean;
  readF32(name: string, out?: Float32Array): Float32Array;
  close(): void;
}

/** Opens every weight file of the Hugging Face model folder `dir` and checks the index against the shards. */
export function openCheckpoint(dir: string): Checkpoint {
  const indexPath = path.join(dir, INDEX_FILE);
  if (fs.existsSync(indexPath)) return openSharded(dir, indexPath);
  const single = path.join(dir, SINGLE_FILE);
  if (fs.existsSync(single)) return fromFiles(dir, [openSafetensors(single)], null);
  throw missingWeights(dir);
}

function missingWeights(dir: string): ShitateError {
  const names = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  const pickle = names.filter((n) => n.endsWith('.bin') || n.endsWith('.pt') || n.endsWith('.pth'));
  const stray = names.filter((n) => n.endsWith('.safetensors'));
  const found = !fs.existsSync(dir) ? 'no such folder' : names.length === 0 ? 'an empty folder' : `only ${names.slice(0, 8).join(', ')}${names.length > 8 ? ', ...' : ''}`;
  const hint = pickle.length > 0
    ? `found PyTorch pickle weights (${pickle.join(', ')}), which shitate does not load; download the safetensors version of the model or convert it with safetensors' convert script`
    : stray.length > 0
      ? `found ${stray.join(', ')} but no ${INDEX_FILE} naming them; download the index file too`
      : 'download the full model folder (config.json, tokenizer files and the .safetensors weights)';
  return new ShitateError('E_NO_WEIGHTS', `${dir}: expected ${SINGLE_FILE} or ${INDEX_FILE}, found ${found}`, hint);
}

function readIndex(indexPath: string): Map<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(indexPath, 'utf8'));
  } catch (err) {
    throw new ShitateError('E_CHECKPOINT_INDEX', `${indexPath}: expected JSON, found invalid content (${(err as Error).message})`,
      'the download may be incomplete; re-download this file');
  }
  const weightMap = isRecord(parsed) ? parsed.weight_map : undefined;
  if (!isRecord(weightMap)) {
    throw new ShitateError('E_CHECKPOINT_INDEX', `${indexPath}: expected an object with "weight_map": {tensor name: shard file}, found none`,
      'the download may be incomplete; re-download this file');
  }
  const map = new Map<string, string>();
  for (const [name, file] of Object.entries(weightMap)) {
    // Shards live next to the index: a path that leaves the folder is refused rather than followed.
    if (typeof file !== 'string' || file === '' || path.basename(file) !== file) {
      throw new ShitateError('E_CHECKPOINT_INDEX', `${indexPath}: expected a shard file name for "${name}", found ${JSON.stringify(file)}`,
        'the index must name shard files in the same folder; re-download it');
    }
    map.set(name, file);
  }
  return map;
}

function openSharded(dir: string, indexPath: string): Checkpoint {
  const weightMap = readIndex(indexPath);
  const shardNames = [...new Set(weightMap.values())];
  const missing = shardNames.filter((f) => !fs.existsSync(path.join(dir, f)));
  if (missing.length > 0) {
    throw new ShitateError('E_SHARD_MISSING',
      `${indexPath}: expected ${shardNames.length} shard files, found ${missing.length} missing: ${missing.join(', ')}`,
      'the download is incomplete; download the missing shards into the model folder');
  }
  const opened: SafetensorsFile[] = [];
  try {
    for (const f of shardNames) opened.push(openSafetensors(path.join(dir, f)));
    return fromFiles(dir, opened, weightMap);
  } catch (err) {
    for (const f of opened) f.close();
    throw err;
  }
}

// Builds the merged view. With an index, every name it lists must be in the shard it names; tensors in a
// shard that the index does not list are kept too (they are real data).
function fromFiles(dir: string, files: SafetensorsFile[], weightMap: Map<string, string> | null): Checkpoint {
  const tensors = new Map<string, CheckpointTensor>();
  const handleOf = new Map<string, SafetensorsFile>();
  for (const f of files) {
    for (const [name, info] of f.header) {
      const prev = tensors.get(name);
      if (prev) {
        throw new ShitateError('E_CHECKPOINT_DUPLICATE', `${dir}: expected each tensor in one shard, found "${name}" in both ${prev.file} and ${f.path}`,
          'the folder mixes files from different downloads; re-download the model');
      }
      tensors.set(name, { ...info, file: f.path });
      handleOf.set(name, f);
    }
  }
  for (const [name, shard] of weightMap ?? []) {
    const t = tensors.get(name);
    if (!t || path.basename(t.file) !== shard) {
      throw new ShitateError('E_CHECKPOINT_INDEX',
        `${path.join(dir, INDEX_FILE)}: expected tensor "${name}" in ${shard}, found it ${t ? `in ${path.basename(t.file)}` : 'in no shard'}`,
        'the index and the shards come from different versions of the model; re-download the folder');
    }
  }
  return {
    dir,
    files: files.map((f) => f.path),
    tensors,
    metadata: files[0]?.metadata ?? {},
    has: (name) => tensors.has(name),
    readF32(name: string, out?: Float32Array): Float32Array {
      const h = handleOf.get(name);
      if (!h) {
        throw new ShitateError('E_TENSOR_MISSING', `${dir}: expected a tensor named "${name}", found none among ${tensors.size} tensors`,
          'the checkpoint does not match the model architecture in config.json');
      }
      return h.readF32(name, out);
    },
    close(): void {
      for (const f of files) f.close();
    },
  };
}
