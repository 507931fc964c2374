import { checkLength, checkShape3 } from './check.js';
import type { Shape3 } from './types.js';

/**
 * InstanceNorm2d without affine parameters (NERCO.md §7.5): per channel, over its H×W plane,
 * y = (x − μ) / sqrt(σ² + eps) with the biased variance σ² = mean((x − μ)²).
 * Two passes in float64 so the reference does not share the one-pass E[x²]−μ² cancellation.
 */
export function instanceNorm(x: Float32Array, shape: Shape3, eps = 1e-5): Float32Array {
  checkShape3('instanceNorm', shape);
  checkLength('instanceNorm input', x, shape);
  const [c, h, w] = shape;
  const n = h * w;
  const out = new Float32Array(x.length);
  for (let ch = 0; ch < c; ch++) {
    const base = ch * n;
    let sum = 0;
    for (let k = 0; k < n; k++) sum += x[base + k];
    const mean = sum / n;
    let sq = 0;
    for (let k = 0; k < n; k++) {
      const d = x[base + k] - mean;
      sq += d * d;
    }
    const invStd = 1 / Math.sqrt(sq / n + eps);
    for (let k = 0; k < n; k++) out[base + k] = (x[base + k] - mean) * invStd;
  }
  return out;
}
