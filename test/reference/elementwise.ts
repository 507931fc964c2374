import { checkLength, checkShape3, ensure } from './check.js';
import type { Shape3 } from './types.js';

export function relu(x: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] > 0 ? x[i] : 0;
  return out;
}

export function tanh(x: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = Math.tanh(x[i]);
  return out;
}

/** 1/(1+e^(−x)) in float64, rounded to float32 (e^(−x) = ∞ gives exactly 0). */
export function sigmoid(x: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = 1 / (1 + Math.exp(-x[i]));
  return out;
}

export function add(a: Float32Array, b: Float32Array): Float32Array {
  ensure(a.length === b.length, `add: lengths differ (${a.length} vs ${b.length})`);
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] + b[i];
  return out;
}

/** out[c,y,x] = x[c,y,x] · m[0,y,x]: a one-channel map broadcast over the channel axis (NERCO.md §1). */
export function mulBroadcastChannel(x: Float32Array, shape: Shape3, m: Float32Array): Float32Array {
  checkShape3('mulBroadcastChannel', shape);
  checkLength('mulBroadcastChannel input', x, shape);
  const [c, h, w] = shape;
  const plane = h * w;
  checkLength('mulBroadcastChannel map', m, [1, h, w]);
  const out = new Float32Array(x.length);
  for (let ch = 0; ch < c; ch++) {
    for (let k = 0; k < plane; k++) out[ch * plane + k] = x[ch * plane + k] * m[k];
  }
  return out;
}

/** Concatenation along the channel axis (a first). With N = 1 and NCHW this is plain array concatenation. */
export function concatChannels(a: Float32Array, aShape: Shape3, b: Float32Array, bShape: Shape3): Float32Array {
  checkLength('concatChannels a', a, aShape);
  checkLength('concatChannels b', b, bShape);
  ensure(aShape[1] === bShape[1] && aShape[2] === bShape[2], `concatChannels: spatial sizes differ`);
  const out = new Float32Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** Per-channel mean over all spatial positions (AdaptiveAvgPool2d(1)), float64 sum. */
export function globalAvgPool(x: Float32Array, shape: Shape3): Float32Array {
  checkLength('globalAvgPool input', x, shape);
  const [c, h, w] = shape;
  const n = h * w;
  const out = new Float32Array(c);
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += x[ch * n + k];
    out[ch] = s / n;
  }
  return out;
}

/** Per-channel max over all spatial positions (AdaptiveMaxPool2d(1)). */
export function globalMaxPool(x: Float32Array, shape: Shape3): Float32Array {
  checkLength('globalMaxPool input', x, shape);
  const [c, h, w] = shape;
  const n = h * w;
  const out = new Float32Array(c);
  for (let ch = 0; ch < c; ch++) {
    let m = -Infinity;
    for (let k = 0; k < n; k++) m = Math.max(m, x[ch * n + k]);
    out[ch] = m;
  }
  return out;
}

/** Per-pixel mean over the channels (torch.mean(dim=1)), float64 sum: 1×H×W. */
export function channelMean(x: Float32Array, shape: Shape3): Float32Array {
  checkLength('channelMean input', x, shape);
  const [c, h, w] = shape;
  const n = h * w;
  const acc = new Float64Array(n);
  for (let ch = 0; ch < c; ch++) for (let k = 0; k < n; k++) acc[k] += x[ch * n + k];
  const out = new Float32Array(n);
  for (let k = 0; k < n; k++) out[k] = acc[k] / c;
  return out;
}

/** Per-pixel max over the channels (torch.max(dim=1)): 1×H×W. */
export function channelMax(x: Float32Array, shape: Shape3): Float32Array {
  checkLength('channelMax input', x, shape);
  const [c, h, w] = shape;
  const n = h * w;
  const out = new Float32Array(n).fill(-Infinity);
  for (let ch = 0; ch < c; ch++) for (let k = 0; k < n; k++) out[k] = Math.max(out[k], x[ch * n + k]);
  return out;
}
