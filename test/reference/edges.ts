import { checkLength, checkShape3, ensure } from './check.js';
import { reflectIndex } from './pad.js';
import type { Shape3 } from './types.js';

/**
 * Gray weights of NeRCo's gradient layer (Ysz2022/NeRCo, models/sobel.py, `GradLayer.get_gray`):
 * the BT.601 "studio" luma factors 65.738, 129.057, 25.064 held as an f32 tensor and divided
 * by 256 (exact in f32), applied to R, G, B.
 */
const grayWeight = (c: number): number => Math.fround(Math.fround(c) / 256);
export const NERCO_GRAY_WEIGHTS: readonly [number, number, number] = [
  grayWeight(65.738),
  grayWeight(129.057),
  grayWeight(25.064),
];

/** Weighted channel sum with NERCO_GRAY_WEIGHTS: [3, H, W] → [1, H, W] (float64 sum, f32 result). */
export function grayFromRgb(x: Float32Array, shape: Shape3): Float32Array {
  checkShape3('grayFromRgb', shape);
  checkLength('grayFromRgb input', x, shape);
  ensure(shape[0] === 3, `grayFromRgb: expected 3 channels, got ${shape[0]}`);
  const n = shape[1] * shape[2];
  const out = new Float32Array(n);
  const [wr, wg, wb] = NERCO_GRAY_WEIGHTS;
  for (let k = 0; k < n; k++) out[k] = wr * x[k] + wg * x[n + k] + wb * x[2 * n + k];
  return out;
}

export type GradientVariant = 'nerco' | 'sobel3x3';

export interface GradientOptions {
  /**
   * 'nerco' (default): the seed's gradient layer, central differences
   *   gv = I[y+1,x] − I[y−1,x], gh = I[y,x+1] − I[y,x−1];
   * 'sobel3x3': the classic Sobel pair gx = [[−1,0,1],[−2,0,2],[−1,0,1]] ⋆ I and gy = its transpose.
   */
  variant?: GradientVariant;
  /** Added under the square root; NeRCo uses 1e-6 (which keeps the gradient of sqrt finite). */
  eps?: number;
}

/**
 * Edge (gradient-magnitude) map, as NeRCo computes it for its edge discriminators
 * (Ysz2022/NeRCo, models/sobel.py, `GradLayer.forward`, read for this reference):
 * 1. a 3-channel input is turned to gray with NERCO_GRAY_WEIGHTS (a 1-channel input is used as is);
 * 2. two 3×3 cross-correlations with **zero** padding 1 (F.conv2d(padding=1)): the vertical kernel
 *    [[0,−1,0],[0,0,0],[0,1,0]] and the horizontal kernel [[0,0,0],[−1,0,1],[0,0,0]];
 * 3. magnitude sqrt(gv² + gh² + 1e−6).
 * The original then applies `gray2RGB`, a freshly (randomly) initialised, untrained 1×1 conv 1→3,
 * and `sobel.tran` multiplies by 4. Those steps are not reproducible from any checkpoint and are
 * not part of inference, so this returns the 1-channel magnitude [1, H, W].
 * Multi-channel inputs other than RGB are rejected.
 */
export function sobel(x: Float32Array, shape: Shape3, opts: GradientOptions = {}): Float32Array {
  checkShape3('sobel', shape);
  checkLength('sobel input', x, shape);
  ensure(shape[0] === 1 || shape[0] === 3, `sobel: expected 1 or 3 channels, got ${shape[0]}`);
  const variant = opts.variant ?? 'nerco';
  const eps = opts.eps ?? 1e-6;
  const [, h, w] = shape;
  const gray = shape[0] === 3 ? grayFromRgb(x, shape) : x;
  const at = (y: number, xx: number): number => (y < 0 || y >= h || xx < 0 || xx >= w ? 0 : gray[y * w + xx]);
  const out = new Float32Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let xx = 0; xx < w; xx++) {
      let gv: number;
      let gh: number;
      if (variant === 'nerco') {
        gv = at(y + 1, xx) - at(y - 1, xx);
        gh = at(y, xx + 1) - at(y, xx - 1);
      } else {
        gh =
          at(y - 1, xx + 1) + 2 * at(y, xx + 1) + at(y + 1, xx + 1) -
          (at(y - 1, xx - 1) + 2 * at(y, xx - 1) + at(y + 1, xx - 1));
        gv =
          at(y + 1, xx - 1) + 2 * at(y + 1, xx) + at(y + 1, xx + 1) -
          (at(y - 1, xx - 1) + 2 * at(y - 1, xx) + at(y - 1, xx + 1));
      }
      out[y * w + xx] = Math.sqrt(gv * gv + gh * gh + eps);
    }
  }
  return out;
}

/**
 * Laplacian per channel, with reflect borders (ReflectionPad2d(1) semantics, so H, W ≥ 2):
 * 4 neighbours [[0,1,0],[1,−4,1],[0,1,0]] or 8 neighbours [[1,1,1],[1,−8,1],[1,1,1]].
 * Not part of NeRCo inference; provided for the edge-filter kernels. Returns [C, H, W].
 */
export function laplacian(x: Float32Array, shape: Shape3, neighbours: 4 | 8 = 4): Float32Array {
  checkShape3('laplacian', shape);
  checkLength('laplacian input', x, shape);
  ensure(neighbours === 4 || neighbours === 8, `laplacian: neighbours must be 4 or 8, got ${neighbours}`);
  const [c, h, w] = shape;
  ensure(h >= 2 && w >= 2, `laplacian: reflect border needs H, W ≥ 2, got ${h}×${w}`);
  const out = new Float32Array(x.length);
  for (let ch = 0; ch < c; ch++) {
    const base = ch * h * w;
    const at = (y: number, xx: number): number => x[base + reflectIndex(y, h) * w + reflectIndex(xx, w)];
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < w; xx++) {
        const centre = x[base + y * w + xx];
        let s = at(y - 1, xx) + at(y + 1, xx) + at(y, xx - 1) + at(y, xx + 1) - 4 * centre;
        if (neighbours === 8) {
          s += at(y - 1, xx - 1) + at(y - 1, xx + 1) + at(y + 1, xx - 1) + at(y + 1, xx + 1) - 4 * centre;
        }
        out[base + y * w + xx] = s;
      }
    }
  }
  return out;
}
