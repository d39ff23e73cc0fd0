// The serving state around one opened base model: its adapters (loaded once), the registry of model names
// clients may ask for, and the scheduler that runs every generation. Adapters can come and go at run time.
import path from 'node:path';
import { ShitateError } from '../errors.js';
import type { OpenedModel } from '../generate/index.js';
import { AdapterBank } from './adapters.js';
import { nowSeconds } from './openai.js';
import { ModelRegistry, type ServedModel } from './registry.js';
import { Scheduler, type SchedulerLimits } from './scheduler.js';

export interface EngineOptions {
  /** the base model's id in /v1/models (default: the model folder's name) */
  baseId?: string;
  /** adapters to load at start, by the id they are served as */
  adapters?: readonly { name: string; dir: string }[];
  limits?: Partial<SchedulerLimits>;
}

export const DEFAULT_LIMITS: SchedulerLimits = { maxConcurrent: 16, maxQueue: 64 };

export class Engine {
  readonly opened: OpenedModel;
  readonly baseId: string;
  readonly bank: AdapterBank;
  readonly registry = new ModelRegistry();
  readonly scheduler: Scheduler;

  constructor(opened: OpenedModel, opts: EngineOptions = {}) {
    if (opened.adapter) {
      throw new ShitateError('E_ADAPTER', 'serve: expected the base model opened without an adapter, found one applied',
        'open the base folder alone and pass adapters by name; each request picks one with its `model` field');
    }
    this.opened = opened;
    this.baseId = opts.baseId ?? (path.basename(path.resolve(opened.dir)) || 'base');
    this.bank = new AdapterBank(opened.model);
    const limits = { ...DEFAULT_LIMITS, ...opts.limits };
    for (const [k, v] of Object.entries(limits)) {
      if (!Number.isInteger(v) || v < (k === 'maxQueue' ? 0 : 1)) {
        throw new ShitateError('E_CONFIG', `serve: ${k} must be a whole number >= ${k === 'maxQueue' ? 0 : 1}, found ${v}`, 'e.g. 16');
      }
    }
    this.scheduler = new Scheduler(opened, this.bank, limits);
    this.registry.add({ id: this.baseId, kind: 'base', created: nowSeconds(), ownedBy: 'shitate', adapter: null });
    for (const a of opts.adapters ?? []) this.addAdapter(a.name, a.dir);
  }

  /** Loads an adapter folder and serves it under `name`. */
  addAdapter(name: string, dir: string): ServedModel {
    this.registry.checkNew(name); // before the (slower) load
    const slot = this.bank.load(name, dir);
    const served: ServedModel = { id: name, kind: 'adapter', created: nowSeconds(), ownedBy: 'shitate', adapter: slot };
    this.registry.add(served);
    return served;
  }

  /** Stops serving an adapter; requests already generating with it finish normally. */
  removeAdapter(name: string): boolean {
    const m = this.registry.get(name);
    if (!m || m.kind !== 'adapter') return false;
    this.registry.remove(name);
    this.bank.unload(name);
    return true;
  }

  close(): Promise<void> {
    return this.scheduler.close();
  }
}
