// Several LoRA adapters over one base model, each loaded once and kept detached. Before a forward step the
// scheduler activates the adapter of the request being stepped: that is one pointer assignment per target
// linear (~7 per layer), so switching per token costs nothing next to the forward itself. Adapters stay
// unfused: fusing would rewrite the shared base weights.
import path from 'node:path';
import { ShitateError } from '../errors.js';
import { loadAdapter, type HasLinears } from '../lora/index.js';
import { adapterTemplateVars } from '../generate/open.js';
import type { TemplateVars } from '../tokenizer/index.js';
import type { Linear, LinearAdapter } from '../models/index.js';

/** One loaded adapter: its layer for each of the model's linears, in model order (null where it has none). */
export interface AdapterSlot {
  readonly name: string;
  readonly dir: string;
  readonly layers: readonly (LinearAdapter | null)[];
  /** LoRA rank and the number of adapted linears, for listings */
  readonly rank: number;
  readonly adapted: number;
  readonly loadedAt: number;
  /** the chat template variables it was trained with (its shitate.json), under the request's and the server's */
  readonly templateVars?: TemplateVars | null;
}

export class AdapterBank {
  private readonly linears: Linear[];
  private readonly slots = new Map<string, AdapterSlot>();
  private active: AdapterSlot | null = null;

  constructor(private readonly model: HasLinears) {
    this.linears = model.linears();
    for (const l of this.linears) {
      if (l.adapter) {
        throw new ShitateError('E_ADAPTER', `${l.name} already carries an adapter; expected a bare base model to serve adapters over`,
          'open the base model without an adapter (or with the adapter fused into its weights)');
      }
    }
  }

  /**
   * Reads an adapter folder once. Synchronous, so no forward step can run in between: the layers the
   * loader attaches are taken off again and whatever was active is put back.
   */
  load(name: string, dir: string): AdapterSlot {
    if (this.slots.has(name)) {
      throw new ShitateError('E_CONFIG', `adapter "${name}" is already loaded`, 'remove it first, or pick another name');
    }
    const saved = this.linears.map((l) => l.adapter);
    for (const l of this.linears) l.adapter = null;
    let layers: (LinearAdapter | null)[];
    let rank: number;
    try {
      const set = loadAdapter(path.resolve(dir), this.model);
      if (set.tokens.length > 0) {
        // adapters here are switched per request on one shared model; a swapped embedding or head would leak into every request
        set.detach();
        throw new ShitateError('E_ADAPTER', `adapter "${name}" (${dir}) has LoRA on ${set.tokens.map((t) => t.module).join(' and ')}, which the server cannot switch per request`,
          `merge it into the base (shitate merge --model BASE --adapter ${dir} --out MERGED) and serve the merged folder`);
      }
      layers = this.linears.map((l) => set.layers.get(l.name) ?? null);
      rank = set.config.r;
    } finally {
      this.linears.forEach((l, i) => {
        l.adapter = saved[i];
      });
    }
    const slot: AdapterSlot = {
      name, dir: path.resolve(dir), layers, rank, adapted: layers.filter(Boolean).length, loadedAt: Date.now(), templateVars: adapterTemplateVars(dir),
    };
    this.slots.set(name, slot);
    return slot;
  }

  /** Forgets an adapter. Requests already running with it keep their reference until they finish. */
  unload(name: string): boolean {
    return this.slots.delete(name);
  }

  get(name: string): AdapterSlot | undefined {
    return this.slots.get(name);
  }

  list(): AdapterSlot[] {
    return [...this.slots.values()];
  }

  /** Puts `slot`'s layers on the model (null: the bare base). */
  activate(slot: AdapterSlot | null): void {
    if (slot === this.active) return;
    for (let i = 0; i < this.linears.length; i++) this.linears[i].adapter = slot ? slot.layers[i] : null;
    this.active = slot;
  }

  get activeSlot(): AdapterSlot | null {
    return this.active;
  }
}
