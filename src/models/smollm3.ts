// model_type "smollm3": the Llama block with NoPE layers. no_rope_layers[i] = 1 rotates layer i, 0 leaves it
// without positions; absent, every no_rope_layer_interval-th layer (4th, 8th, ...) is NoPE. Tied embeddings by
// default, rope_theta 2e6. Reference: transformers' modular_smollm3.py / configuration_smollm3.py.
import { ShitateError } from '../errors.js';
import type { Fields } from '../io/json-fields.js';
import { parseDecoderBase, parseLayerTypes } from './config.js';
import { decoderFamily } from './decoder.js';

function ropeLayers(f: Fields, L: number): boolean[] {
  const listed = f.obj.no_rope_layers;
  if (listed === undefined || listed === null) {
    const every = f.posInt('no_rope_layer_interval', 4);
    return Array.from({ length: L }, (_, i) => (i + 1) % every !== 0);
  }
  if (!Array.isArray(listed) || listed.length < L || !listed.every((x) => x === 0 || x === 1 || typeof x === 'boolean')) {
    throw new ShitateError('E_CONFIG', `${f.file}: expected "no_rope_layers" to list 1 (RoPE) or 0 (NoPE) for each of the ${L} layers, found ${JSON.stringify(listed)}`,
      'the config is damaged; compare it with the original on the Hub');
  }
  return listed.slice(0, L).map((x) => x === 1 || x === true);
}

export const smollm3 = decoderFamily('smollm3', (f) => {
  const c = parseDecoderBase(f, { maxPositions: 32768, rmsNormEps: 1e-6, ropeTheta: 2000000, tieWordEmbeddings: true });
  const rope = ropeLayers(f, c.numLayers);
  const bias = f.bool('attention_bias', false);
  const window = f.has('sliding_window') ? f.posInt('sliding_window') : null;
  // transformers derives sliding layers from the NoPE ones when use_sliding_window; eager attention then
  // applies whichever mask layer_types names
  const derived = rope.map((r) => (f.bool('use_sliding_window', false) && window !== null && !r ? 'sliding' as const : 'full' as const));
  const layerTypes = parseLayerTypes(f, c.numLayers) ?? derived;
  const slides = window !== null && layerTypes.includes('sliding');
  return {
    ...c, ropeLayers: rope, attentionBias: bias, attentionOutBias: bias, mlpBias: f.bool('mlp_bias', false),
    slidingWindow: slides ? window : null, layerTypes: slides ? layerTypes : c.layerTypes,
  };
});
