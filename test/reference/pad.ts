import { checkLength, checkShape3, ensure } from './check.js';
import type { Shape3 } from './types.js';

/**
 * Source index for output index i ∈ [−p, n−1+p] of ReflectionPad2d (PyTorch semantics, NERCO.md §7.1):
 * the edge sample is not repeated, so with n = 5 and p = 3 the row reads 3 2 1 | 0 1 2 3 4 | 3 2 1.
 * Only one reflection is defined, which is why PyTorch requires p < n.
 */
export function reflectIndex(i: number, n: number): number {
  let r = i;
  if (i < 0) r = -i;
  else if (i > n - 1) r = 2 * (n - 1) - i;
  if (r < 0 || r > n - 1) {
    throw new RangeError(`reflect index ${i} is more than one reflection away from [0, ${n - 1}]`);
  }
  return r;
}

/** ReflectionPad2d(p) of a [C, H, W] tensor → [C, H+2p, W+2p]. Requires p < H and p < W. */
export function reflectPad(input: Float32Array, shape: Shape3, p: number): Float32Array {
  checkShape3('reflectPad', shape);
  checkLength('reflectPad input', input, shape);
  const [c, h, w] = shape;
  ensure(Number.isInteger(p) && p >= 0, `reflectPad: pad must be a non-negative integer, got ${p}`);
  ensure(p < h && p < w, `reflectPad: padding ${p} must be less than the input size ${h}×${w}`);
  const hp = h + 2 * p;
  const wp = w + 2 * p;
  const out = new Float32Array(c * hp * wp);
  const srcCol = new Int32Array(wp);
  for (let x = 0; x < wp; x++) srcCol[x] = reflectIndex(x - p, w);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < hp; y++) {
      const srcRow = (ch * h + reflectIndex(y - p, h)) * w;
      const dstRow = (ch * hp + y) * wp;
      for (let x = 0; x < wp; x++) out[dstRow + x] = input[srcRow + srcCol[x]];
    }
  }
  return out;
}

/** Zero padding by p on all four sides: [C, H, W] → [C, H+2p, W+2p]. */
export function zeroPad(x: Float32Array, shape: Shape3, p: number): Float32Array {
  checkShape3('zeroPad', shape);
  checkLength('zeroPad input', x, shape);
  const [c, h, w] = shape;
  ensure(Number.isInteger(p) && p >= 0, `zeroPad: pad must be a non-negative integer, got ${p}`);
  const hp = h + 2 * p;
  const wp = w + 2 * p;
  const out = new Float32Array(c * hp * wp);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < h; y++) {
      out.set(x.subarray((ch * h + y) * w, (ch * h + y + 1) * w), (ch * hp + y + p) * wp + p);
    }
  }
  return out;
}

export function paddedShape(shape: Shape3, p: number): Shape3 {
  return [shape[0], shape[1] + 2 * p, shape[2] + 2 * p];
}
