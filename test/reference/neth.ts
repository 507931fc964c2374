import { checkLength, checkShape3, ensure } from './check.js';
import { conv2d } from './conv.js';
import { channelMax, channelMean, globalAvgPool, globalMaxPool, sigmoid, tanh } from './elementwise.js';
import type { Shape3 } from './types.js';

/** The bias-free attention weights of netH (NERCO.md §2.3), 1×1 convs stored flat as [out, in]. */
export interface MaskAttentionWeights {
  /** [C/16, 2C] */
  fc1: Float32Array;
  /** [2C, C/16] */
  fc2: Float32Array;
  /** [C, 2C] */
  convCa: Float32Array;
  /** [1, 2, 7, 7] */
  conv1: Float32Array;
}

function matVec(m: Float32Array, rows: number, cols: number, v: Float32Array): Float32Array {
  const out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let k = 0; k < cols; k++) s += m[r * cols + k] * v[k];
    out[r] = s;
  }
  return out;
}

/**
 * Channel-attention scale `ca` (C values) of netH (NERCO.md §5): pools over the whole padded
 * map (border reflections included), fc1 → ReLU → fc2 → conv_ca, with no sigmoid.
 */
export function channelAttention(f: Float32Array, shape: Shape3, w: MaskAttentionWeights): Float32Array {
  const c = shape[0];
  const v = new Float32Array(2 * c);
  v.set(globalAvgPool(f, shape), 0);
  v.set(globalMaxPool(f, shape), c);
  ensure(w.fc1.length % (2 * c) === 0, `channelAttention: fc1 length ${w.fc1.length} is not a multiple of 2C = ${2 * c}`);
  const r = w.fc1.length / (2 * c);
  ensure(r >= 1 && w.fc2.length === 2 * c * r, `channelAttention: fc2 must be [${2 * c}, ${r}]`);
  checkLength('channelAttention conv_ca', w.convCa, [c, 2 * c]);
  const z = matVec(w.fc1, r, 2 * c, v);
  for (let i = 0; i < r; i++) z[i] = z[i] > 0 ? z[i] : 0;
  const g = matVec(w.fc2, 2 * c, r, z);
  return matVec(w.convCa, c, 2 * c, g);
}

/**
 * netH mask from h_featuremap F ([C, H+6, W+6], already reflect-padded by 3) (NERCO.md §5):
 * O = ca ⊙ F; S = [mean_c O, max_c O]; mask = sigmoid(conv1 ⋆ S) with a 7×7 valid conv.
 * Returns the mask as [1, H, W].
 */
export function maskExtractor(f: Float32Array, shape: Shape3, w: MaskAttentionWeights): Float32Array {
  checkShape3('maskExtractor', shape);
  checkLength('maskExtractor input', f, shape);
  checkLength('maskExtractor conv1', w.conv1, [1, 2, 7, 7]);
  const [c, hp, wp] = shape;
  const plane = hp * wp;
  const ca = channelAttention(f, shape, w);
  const o = new Float32Array(f.length);
  for (let ch = 0; ch < c; ch++) {
    for (let k = 0; k < plane; k++) o[ch * plane + k] = ca[ch] * f[ch * plane + k];
  }
  const s = new Float32Array(2 * plane);
  s.set(channelMean(o, shape), 0);
  s.set(channelMax(o, shape), plane);
  return sigmoid(conv2d(s, [2, hp, wp], w.conv1, [1, 2, 7, 7], null));
}

/** netH's optional image output H = tanh(output ⋆ F), a 7×7 valid conv with bias: [3, H, W]. */
export function hImageHead(
  f: Float32Array,
  shape: Shape3,
  outputWeight: Float32Array,
  outputBias: Float32Array,
): Float32Array {
  const cout = outputBias.length;
  return tanh(conv2d(f, shape, outputWeight, [cout, shape[0], 7, 7], outputBias));
}
