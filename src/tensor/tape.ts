// Reverse-mode autograd on a tape: ops append an entry (output, inputs, backward closure) while grad mode
// is on and some input requires grad; backward() replays the tape in reverse and accumulates into .grad.
import { Tensor } from './tensor.js';
import { ShitateError } from '../errors.js';
import { fmtShape } from './shape.js';
import { giveBack, takeBuffer, takeZeroed } from './pool.js';

interface Entry {
  op: string;
  output: Tensor;
  inputs: readonly Tensor[];
  /** reads the output's gradient, adds into the inputs' gradients (or writes a first one: handGrad, gradSlot(s)) */
  backward: (dout: Float32Array) => void;
}

let tape: Entry[] = [];
let gradEnabled = true;
/** tensors produced by a recorded op: their gradients are step temporaries (pooled), unlike leaves' */
let opOutputs = new WeakSet<Tensor>();

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Sets grad mode and returns the previous value (for async code that cannot use noGrad's callback). */
export function setGradEnabled(on: boolean): boolean {
  const prev = gradEnabled;
  gradEnabled = on;
  return prev;
}

/** Runs fn with grad mode off: nothing is recorded, outputs never require grad (inference mode). */
export function noGrad<T>(fn: () => T): T {
  const prev = setGradEnabled(false);
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** True when an op over these inputs must record itself. */
export function needsGrad(inputs: readonly (Tensor | null | undefined)[]): boolean {
  return gradEnabled && inputs.some((t) => t?.requiresGrad === true);
}

export function record(op: string, output: Tensor, inputs: readonly Tensor[], backward: (dout: Float32Array) => void): void {
  output.requiresGrad = true;
  opOutputs.add(output);
  tape.push({ op, output, inputs, backward });
}

/** The gradient buffer of t, allocated as zeros on first use (backward kernels accumulate into it). An op
 *  output's gradient comes from the step pool (see pool.ts); a leaf's (a parameter's) is its own array. */
export function gradOf(t: Tensor): Float32Array {
  if (!t.grad) t.grad = opOutputs.has(t) ? Tensor.from(takeZeroed(t.size), t.shape) : leafGrad(t);
  return t.grad.data;
}

/** A leaf's gradient buffers from releaseGrad, for its next first gradient. */
const spareGrads = new WeakMap<Tensor, Tensor>();

function leafGrad(t: Tensor): Tensor {
  const spare = spareGrads.get(t);
  if (!spare) return Tensor.zeros(t.shape);
  spareGrads.delete(t);
  spare.data.fill(0);
  return spare;
}

/** Sets a leaf's gradient to none (as zero_grad(set_to_none=True): an optimizer then skips a parameter that no
 *  backward reaches), keeping its buffer for the next backward that does: a training step then allocates no
 *  parameter gradients, whose fresh arrays (megabytes outside V8's heap each step) had V8 run a full collection
 *  every step or so. The buffer is zeroed when it is taken again; nothing may read the old gradient after this. */
export function releaseGrad(t: Tensor): void {
  if (t.grad && !opOutputs.has(t)) spareGrads.set(t, t.grad);
  t.grad = null;
}

/** t's gradient buffer for a kernel that can either write or accumulate (a GEMM's beta): `fresh` is true when
 *  the buffer was just taken and holds garbage, so the caller must write every element (beta 0) rather than
 *  add; false when it holds a gradient already (or a leaf's zeros) to add to. Skips gradOf's zero-fill. */
export function gradSlot(t: Tensor): { data: Float32Array; fresh: boolean } {
  const { data: [data], accumulate } = gradSlots([t], takeBuffer);
  return { data, fresh: !accumulate };
}

/** Gradient buffers of ts for a backward kernel that either writes its results or adds them (its `accumulate`
 *  argument): when every input that needs a gradient is an op output without one yet and no two are the same
 *  tensor, fresh unzeroed buffers with accumulate false (the kernel writes every element: no zero-fill, no read
 *  of zeros); otherwise their gradients (zeroed on first use) with accumulate true. An input that needs no
 *  gradient gets scratch space (`scratch(n)`), written or added to and never read. */
export function gradSlots(ts: readonly Tensor[], scratch: (n: number) => Float32Array): { data: Float32Array[]; accumulate: boolean } {
  const needs = ts.filter((t) => t.requiresGrad);
  const write = needs.every((t) => !t.grad && opOutputs.has(t)) && new Set(needs).size === needs.length;
  const data = ts.map((t) => {
    if (!t.requiresGrad) return scratch(t.size);
    if (!write) return gradOf(t);
    t.grad = Tensor.from(takeBuffer(t.size), t.shape);
    return t.grad.data;
  });
  return { data, accumulate: !write };
}

/** The gradient the entry now running passes back (backward() sets it), and the ones handed on to an input. */
let passing: Float32Array | null = null;
const handedOn = new Set<Float32Array>();

/** For ops whose input gradient is the output's unchanged (a view, an add): hands the output's gradient buffer
 *  `dout` to `t` when t has none yet and is itself an op output, instead of zero-filling one and adding into it.
 *  Returns false (the caller then accumulates as usual) when t already has a gradient, is a leaf (a
 *  parameter's gradient is its own array), or dout is not the running entry's gradient or was handed already. */
export function handGrad(t: Tensor, dout: Float32Array): boolean {
  if (t.grad || !opOutputs.has(t) || dout !== passing || handedOn.has(dout) || dout.length !== t.size) return false;
  t.grad = Tensor.from(dout, t.shape);
  handedOn.add(dout);
  return true;
}

export function tapeLength(): number {
  return tape.length;
}

/** Drops every recorded entry (e.g. after an evaluation forward that was not wrapped in noGrad). */
export function clearTape(): void {
  tape = [];
  opOutputs = new WeakSet();
}

/** Back-propagates from `root` (a scalar unless `seed` is given) and clears the tape. Gradients of
 *  intermediate tensors are released once used; leaf gradients accumulate across calls. */
export function backward(root: Tensor, seed?: Tensor): void {
  if (!root.requiresGrad) {
    throw new ShitateError('E_AUTOGRAD', `backward: ${root} does not require grad`,
      'compute it from tensors with requiresGrad = true, outside noGrad()');
  }
  if (!seed && root.size !== 1) {
    throw new ShitateError('E_AUTOGRAD', `backward: expected a scalar loss, found shape ${fmtShape(root.shape)}`,
      'reduce it (sum/mean) or pass a seed gradient of the same shape');
  }
  const g = gradOf(root);
  if (seed) g.set(seed.data);
  else g[0] += 1;
  const entries = tape;
  tape = [];
  handedOn.clear();
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i];
    const og = e.output.grad;
    if (!og) continue; // not on a path to the root
    const outer = passing;
    passing = e.output === root ? null : og.data; // the root keeps its gradient
    try {
      e.backward(og.data);
    } finally {
      passing = outer;
    }
    if (e.output !== root) {
      e.output.grad = null;
      // nothing reads an intermediate gradient once its op has passed it back, unless it became an input's
      if (!handedOn.delete(og.data)) giveBack(og.data);
    }
  }
}
