// Stop strings on streamed text: text that could still turn into a stop string is held back until it
// either completes one (generation stops; the stop string and what follows are dropped) or cannot.
import { ShitateError } from '../errors.js';

export interface StopStep {
  /** text safe to show now */
  text: string;
  /** true when a stop string completed */
  stopped: boolean;
}

export class StopMatcher {
  private readonly stops: string[];
  private pending = '';

  constructor(stops: readonly string[]) {
    for (const s of stops) {
      if (typeof s !== 'string' || s.length === 0) {
        throw new ShitateError('E_CONFIG', `stop strings: expected non-empty strings, found ${JSON.stringify(s)}`,
          'remove the empty stop string');
      }
    }
    this.stops = [...stops];
  }

  /**
   * Adds newly decoded text. Earlier text was released only when no stop string could start in it, so a
   * stop string can only begin inside the pending part.
   */
  push(delta: string): StopStep {
    this.pending += delta;
    if (this.stops.length === 0) return this.release(this.pending.length, false);
    let cut = -1;
    for (const s of this.stops) {
      const at = this.pending.indexOf(s);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) return this.release(cut, true);
    return this.release(this.pending.length - this.heldLength(), false);
  }

  /** Everything still held (generation ended for another reason, so it is final text). */
  flush(): string {
    const t = this.pending;
    this.pending = '';
    return t;
  }

  private release(n: number, stopped: boolean): StopStep {
    const text = this.pending.slice(0, n);
    this.pending = stopped ? '' : this.pending.slice(n);
    return { text, stopped };
  }

  /** Length of the longest tail of the pending text that is a proper prefix of some stop string. */
  private heldLength(): number {
    let best = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, this.pending.length); k > best; k--) {
        if (this.pending.endsWith(s.slice(0, k))) {
          best = k;
          break;
        }
      }
    }
    return best;
  }
}
