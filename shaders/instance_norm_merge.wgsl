// InstanceNorm statistics, pass 2: merges the per-chunk (mean, M2) of instance_norm_stats into
// (mean, invStd = 1/sqrt(M2/(H·W) + eps)) per channel. One workgroup per channel; each invocation
// folds a strided subset of the chunks sequentially, then the workgroup merges in a tree, always
// with Chan et al.'s pairwise formula. Chunk counts are recomputed from the uniforms in u32, so
// they stay exact beyond 2^24 elements.
const WG = 64u;

struct Params {
  plane: u32,
  chunk: u32,
  chunks: u32,
  eps: f32,
  // The partials come in bands of bandChunks chunks covering bandPlane elements each (the last
  // band: what is left of the plane), so every chunk's count is known. One band (bandPlane =
  // plane, bandChunks = chunks) unless the tensor is split into row bands (src/nerco/banded.ts).
  bandPlane: u32,
  bandChunks: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> partials: array<f32>;  // [C, chunks, 2] (mean, M2)
@group(0) @binding(2) var<storage, read_write> stats: array<f32>;  // [C, 2] (mean, invStd)

// #include "lib/moments.wgsl"

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = wid.x;
  var acc = Moments(0u, 0.0, 0.0);
  for (var k = lid; k < params.chunks; k += WG) {
    let at = 2u * (c * params.chunks + k);
    let band = k / params.bandChunks;
    let inBand = min(params.bandPlane, params.plane - band * params.bandPlane);
    let count = min(params.chunk, inBand - (k - band * params.bandChunks) * params.chunk);
    acc = merge(acc, Moments(count, partials[at], partials[at + 1u]));
  }
  let total = workgroup_merge(lid, acc);

  if (lid == 0u) {
    stats[2u * c] = total.mean;
    stats[2u * c + 1u] = inverseSqrt(total.m2 / f32(params.plane) + params.eps);
  }
}
