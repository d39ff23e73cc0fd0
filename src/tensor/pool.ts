// Step-scoped recycling of float buffers. A training step allocates the same activations and gradients every
// time (hundreds of 0.1-30 MB arrays); fresh typed arrays cost a zero-fill, page faults and, above all, garbage
// collections. Inside a scope (beginStep .. endStep) ops take their buffers from here, and endStep hands every
// one back for the next step. Buffers come in size classes (m * 2^e, m in 4..7: at most 25% slack) and are lent
// as exact-length views, so micro-batches of different lengths share them too.
// Rules for callers: a buffer taken in a scope must not be read after endStep (the loss is read with item()
// before); leaf gradients (parameters) are never pooled. setPoolPoison(true) fills returned buffers with NaN so
// a use after return shows up in the numbers.

export interface PoolStats {
  /** buffers created because no free one of the class was available (since the pool was made or reset) */
  fresh: number;
  /** requests served by a returned buffer */
  reused: number;
  /** bytes in free lists plus bytes lent out now */
  bytesHeld: number;
  /** scopes entered */
  steps: number;
}

/** The size class of n: the smallest m * 2^e >= n with m in 4..7 (n itself below 8). */
export function sizeClass(n: number): number {
  if (n <= 8) return n;
  const e = Math.floor(Math.log2(n)) - 2;
  const step = 2 ** e;
  return Math.ceil(n / step) * step;
}

class BufferPool {
  private readonly free = new Map<number, Float32Array[]>();
  /** lent buffer (the full-class array) by the view handed out */
  private readonly lent = new Map<Float32Array, Float32Array>();
  /** step number at which each class was last requested */
  private readonly lastUse = new Map<number, number>();
  private depth = 0;
  private poison = false;
  private stats = { fresh: 0, reused: 0, steps: 0 };

  get active(): boolean {
    return this.depth > 0;
  }

  setPoison(on: boolean): void {
    this.poison = on;
  }

  /** A buffer of n floats with arbitrary contents (the caller overwrites all of it). */
  take(n: number): Float32Array {
    if (this.depth === 0 || n === 0) return new Float32Array(n);
    const cls = sizeClass(n);
    this.lastUse.set(cls, this.stats.steps);
    const list = this.free.get(cls);
    let buf = list?.pop();
    if (buf) this.stats.reused++;
    else {
      buf = new Float32Array(cls);
      this.stats.fresh++;
    }
    const view = n === cls ? buf : buf.subarray(0, n);
    this.lent.set(view, buf);
    return view;
  }

  /** take(n), zero-filled. */
  takeZeroed(n: number): Float32Array {
    const b = this.take(n);
    if (this.depth > 0) b.fill(0);
    return b;
  }

  /** Returns one lent buffer before the scope ends (a gradient nothing reads any more); others are ignored. */
  giveBack(view: Float32Array): void {
    const buf = this.lent.get(view);
    if (!buf) return;
    this.lent.delete(view);
    this.toFree(buf);
  }

  begin(): void {
    if (this.depth++ === 0) this.stats.steps++;
  }

  /** Ends a scope; the outermost end returns every lent buffer and drops classes unused for two steps. */
  end(): void {
    if (this.depth === 0) return;
    if (--this.depth > 0) return;
    for (const hook of scopeEndHooks) hook();
    for (const buf of this.lent.values()) this.toFree(buf);
    this.lent.clear();
    for (const [cls, step] of this.lastUse) {
      if (this.stats.steps - step < 2) continue;
      this.free.delete(cls);
      this.lastUse.delete(cls);
    }
  }

  /** Forget every free buffer and reset the counters (tests; a change of model). */
  reset(): void {
    this.free.clear();
    this.lastUse.clear();
    this.stats = { fresh: 0, reused: 0, steps: 0 };
  }

  snapshot(): PoolStats {
    let bytes = 0;
    for (const list of this.free.values()) for (const b of list) bytes += b.byteLength;
    for (const b of this.lent.values()) bytes += b.byteLength;
    return { ...this.stats, bytesHeld: bytes };
  }

  private toFree(buf: Float32Array): void {
    if (this.poison) buf.fill(NaN);
    const list = this.free.get(buf.length);
    if (list) list.push(buf);
    else this.free.set(buf.length, [buf]);
  }
}

/** Called when the outermost scope ends, before its buffers go back (caches of pooled buffers clear here). */
const scopeEndHooks: (() => void)[] = [];

export function onScopeEnd(hook: () => void): void {
  scopeEndHooks.push(hook);
}

const pool = new BufferPool();

/** Runs fn inside a pool scope (nested scopes join the outer one); every pooled buffer is returned after. */
export function withStepPool<T>(fn: () => T): T {
  pool.begin();
  try {
    return fn();
  } finally {
    pool.end();
  }
}

export function beginStep(): void {
  pool.begin();
}

export function endStep(): void {
  pool.end();
}

/** n floats, contents arbitrary: pooled inside a scope, a fresh (zeroed) array outside. */
export function takeBuffer(n: number): Float32Array {
  return pool.take(n);
}

/** n zeroed floats: pooled inside a scope, fresh outside. */
export function takeZeroed(n: number): Float32Array {
  return pool.takeZeroed(n);
}

/** Hands a pooled buffer back before the scope ends; a buffer that is not lent by the pool is ignored. */
export function giveBack(buf: Float32Array): void {
  pool.giveBack(buf);
}

// bf16 bit buffers live in pooled float buffers of half the length
const bitsBacking = new WeakMap<Uint16Array, Float32Array>();

/** n bf16 values (bit patterns), contents arbitrary: pooled inside a scope, fresh outside. */
export function takeBits(n: number): Uint16Array {
  const f = pool.take(Math.ceil(n / 2));
  const bits = new Uint16Array(f.buffer, f.byteOffset, n);
  bitsBacking.set(bits, f);
  return bits;
}

/** giveBack for takeBits buffers. */
export function giveBackBits(bits: Uint16Array): void {
  const f = bitsBacking.get(bits);
  if (f) pool.giveBack(f);
}

export function poolStats(): PoolStats {
  return pool.snapshot();
}

export function poolActive(): boolean {
  return pool.active;
}

export function resetPool(): void {
  pool.reset();
}

/** Debug: buffers handed back are filled with NaN, so a read after the scope poisons the results. */
export function setPoolPoison(on: boolean): void {
  pool.setPoison(on);
}
