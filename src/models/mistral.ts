// model_type "mistral": the Llama block without biases, every layer sliding by sliding_window (transformers'
// default 4096 when the key is absent, none when null); an explicit layer_types list wins.
import { parseDecoderBase, parseLayerTypes } from './config.js';
import { decoderFamily } from './decoder.js';

export const mistral = decoderFamily('mistral', (f) => {
  const c = parseDecoderBase(f, { maxPositions: 4096 * 32, rmsNormEps: 1e-6, ropeTheta: 10000, tieWordEmbeddings: false });
  const window = f.obj.sliding_window === undefined ? 4096 : f.has('sliding_window') ? f.posInt('sliding_window') : null;
  if (window === null) return c;
  const layerTypes = parseLayerTypes(f, c.numLayers) ?? c.layerTypes.map(() => 'sliding' as const);
  return { ...c, slidingWindow: layerTypes.includes('sliding') ? window : null, layerTypes };
});
