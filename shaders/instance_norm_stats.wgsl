// InstanceNorm statistics, pass 1 (NERCO.md §7.5). Workgroup (k, c) reduces chunk k of channel c's
// H·W plane to (mean, M2 = Σ(x − mean)²) without the one-pass E[x²] − μ² cancellation:
//  1. each invocation does a two-pass over its own strided elements, in registers (shifted mean,
//     then Σ(x − mean)² — the second sweep re-reads data that is still in cache);
//  2. the workgroup merges those (count, mean, M2) triples in a tree with Chan et al.'s formula.
// FINALIZE (define): the chunk is the whole plane (one workgroup per channel), so write the final
// (mean, invStd) directly; otherwise write the chunk's (mean, M2) for instance_norm_merge.
const WG = 64u;

struct Params {
  plane: u32,   // H·W
  chunk: u32,   // elements per workgroup (a multiple of WG)
  chunks: u32,  // partials per channel in `out` (workgroups per channel = ceil(plane / chunk) unbanded)
  eps: f32,
  // Index of this dispatch's first partial within a channel: 0, or on row bands (x is one band,
  // src/nerco/banded.ts) the partials of the bands before it.
  partBase: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
// FINALIZE: [C, 2] (mean, invStd). Otherwise: [C, chunks, 2] (mean, M2) per chunk.
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

// #include "lib/moments.wgsl"

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = wid.y;
  let start = wid.x * params.chunk;
  let end = min(start + params.chunk, params.plane);
  let base = c * params.plane;

  // Summing x − (the first element) keeps the sum small when the plane sits on a large offset,
  // so the mean is accurate to about an ulp of the values rather than an ulp of their sum.
  var shift = 0.0;
  if (start + lid < end) { shift = x[base + start + lid]; }
  var count = 0u;
  var sum = 0.0;
  for (var i = start + lid; i < end; i += WG) {
    sum += x[base + i] - shift;
    count += 1u;
  }
  let mean = select(0.0, shift + sum / f32(count), count > 0u);
  var m2 = 0.0;
  for (var i = start + lid; i < end; i += WG) {
    let d = x[base + i] - mean;
    m2 += d * d;
  }
  let total = workgroup_merge(lid, Moments(count, mean, m2));

  if (lid == 0u) {
    if (FINALIZE) {
      out[2u * c] = total.mean;
      out[2u * c + 1u] = inverseSqrt(total.m2 / f32(params.plane) + params.eps);
    } else {
      let at = 2u * (c * params.chunks + params.partBase + wid.x);
      out[at] = total.mean;
      out[at + 1u] = total.m2;
    }
  }
}
