// Splitting the output of a fused projection into its parts. PEFT (and so LoRA here) sees one linear layer
// (qkv_proj, query_key_value, gate_up_proj); the model cuts its output as each modeling file does.
// Legend: B batch, T tokens, H heads, Hkv kv heads, D head dim, F ffn.
import { type Tensor, narrow, view } from '../tensor/index.js';

/** Consecutive blocks of the last dimension: x [..., sum(sizes)] -> one tensor per size, [..., size]. Phi-3's
 *  qkv_proj is [q | k | v] = [H*D | Hkv*D | Hkv*D], its gate_up_proj [gate | up] = [F | F]. */
export function splitLast(x: Tensor, sizes: readonly number[]): Tensor[] {
  const axis = x.ndim - 1;
  let start = 0;
  return sizes.map((n) => {
    const part = narrow(x, axis, start, n);
    start += n;
    return part;
  });
}

/** A fused query_key_value whose rows come in G groups of (n query heads, 1 key head, 1 value head), each head
 *  D wide: [B, T, G*(n+2)*D] -> q [B, T, G*n, D], k and v [B, T, G, D]. Falcon's layouts are all of this form
 *  (new_decoder_architecture: G = Hkv, n = H/Hkv; multi_query: G = 1, n = H; per head: G = H, n = 1), and so
 *  is BLOOM's per-head [q, k, v]. */
export function splitGroupedQkv(qkv: Tensor, B: number, T: number, G: number, n: number, D: number): [Tensor, Tensor, Tensor] {
  const g = view(qkv, [B, T, G, n + 2, D]);
  const q = view(narrow(g, 3, 0, n), [B, T, G * n, D]);
  const k = view(narrow(g, 3, n, 1), [B, T, G, D]);
  const v = view(narrow(g, 3, n + 1, 1), [B, T, G, D]);
  return [q, k, v];
}
