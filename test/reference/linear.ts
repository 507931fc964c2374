import { ensure } from './check.js';
import type { LinearLayer } from './types.js';

/** Output and input widths of a Linear layer stored as [out, in] + bias[out]. */
export function linearDims(layer: LinearLayer): { out: number; in: number } {
  const out = layer.bias.length;
  ensure(out > 0 && layer.weight.length % out === 0, `linear: weight length ${layer.weight.length} is not a multiple of ${out}`);
  return { out, in: layer.weight.length / out };
}

/** y = W·x + b for one input vector (W is [out, in]); float64 sums, float32 result. */
export function linear(x: ArrayLike<number>, layer: LinearLayer): Float32Array {
  const { out, in: width } = linearDims(layer);
  ensure(x.length === width, `linear: input width ${x.length} ≠ ${width}`);
  const y = new Float32Array(out);
  for (let o = 0; o < out; o++) {
    let s = layer.bias[o];
    const row = o * width;
    for (let i = 0; i < width; i++) s += layer.weight[row + i] * x[i];
    y[o] = s;
  }
  return y;
}

/** The NRN `MLP`: Linear → ReLU → … → Linear, with ReLU after every layer but the last. */
export function mlp(x: ArrayLike<number>, layers: readonly LinearLayer[]): Float32Array {
  ensure(layers.length >= 1, 'mlp: needs at least one layer');
  let v: Float32Array = Float32Array.from(x);
  layers.forEach((layer, k) => {
    v = linear(v, layer);
    if (k < layers.length - 1) for (let i = 0; i < v.length; i++) v[i] = v[i] > 0 ? v[i] : 0;
  });
  return v;
}
