/**
 * CPU side of the fused instance-norm input of the conv tests: per-channel (mean, invStd) as the
 * GPU kernels take them, and the normalised (optionally ReLU'd) tensor the reference conv sees.
 * Sums in float64, two passes, biased variance, eps 1e-5 (NERCO.md §7.5).
 */
export function instanceNormStats(x: Float32Array, channels: number, plane: number, eps = 1e-5): Float32Array {
  const stats = new Float32Array(channels * 2);
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    for (let i = 0; i < plane; i++) sum += x[c * plane + i]!;
    const mean = sum / plane;
    let sq = 0;
    for (let i = 0; i < plane; i++) sq += (x[c * plane + i]! - mean) ** 2;
    stats[2 * c] = mean;
    stats[2 * c + 1] = 1 / Math.sqrt(sq / plane + eps);
  }
  return stats;
}

/** (x − mean)·invStd per channel with the f32 stats the GPU gets, then ReLU if asked. */
export function normalise(x: Float32Array, stats: Float32Array, plane: number, relu: boolean): Float32Array {
  return Float32Array.from(x, (v, i) => {
    const c = Math.floor(i / plane);
    const n = (v - stats[2 * c]!) * stats[2 * c + 1]!;
    return relu ? Math.max(n, 0) : n;
  });
}
