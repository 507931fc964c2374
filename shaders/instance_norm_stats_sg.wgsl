// InstanceNorm statistics of a whole plane per workgroup, with subgroup reductions (needs
// `enable subgroups;` and subgroups of ≥ 8 lanes): writes (mean, invStd = 1/sqrt(var + eps)) per
// channel of a [C, H, W] tensor, biased variance (NERCO.md §7.5). The same numerics as
// instance_norm_stats.wgsl's single-chunk case: a two-pass over the plane (mean of x − x₀, then
// Σ(x − mean)²), each lane summing a strided share; the 8 lane sums are combined by subgroupAdd,
// so there is no workgroup memory and no barrier. (On lavapipe a workgroup barrier and every
// lane-indexed workgroup-memory access are expensive: the tree reduction cost ~10× this.)
// Workgroup (0, c) reduces channel c; it is one group of 8 lanes, which lies in one subgroup.
// The loops run a uniform number of steps (out-of-range slots add 0), so every lane reaches the
// subgroupAdds together.
// F16 (define): x is channel-pair packed f16 ([C/2][H][W] u32, channel c in the low half when
// even); the sums stay f32. Otherwise x holds f32 (declared u32, read through bitcast).
struct Params {
  plane: u32,   // H·W
  eps: f32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;  // [C, 2] (mean, invStd)

const LANES = 8u;

fn value(c: u32, i: u32) -> f32 {
  if (F16) { return unpack2x16float(x[(c / 2u) * params.plane + i])[c & 1u]; }
  return bitcast<f32>(x[c * params.plane + i]);
}

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = wid.y;
  let n = params.plane;
  let steps = (n + LANES - 1u) / LANES;
  // Summing x − x₀ keeps the sum small when the plane sits on a large offset.
  let shift = value(c, 0u);
  var sum = 0.0;
  for (var k = 0u; k < steps; k++) {
    let i = k * LANES + lid;
    sum += select(0.0, value(c, min(i, n - 1u)) - shift, i < n);
  }
  let mean = shift + subgroupAdd(sum) / f32(n);
  var m2 = 0.0;
  for (var k = 0u; k < steps; k++) {
    let i = k * LANES + lid;
    let d = value(c, min(i, n - 1u)) - mean;
    m2 += select(0.0, d * d, i < n);
  }
  let total = subgroupAdd(m2);
  if (lid == 0u) {
    out[2u * c] = mean;
    out[2u * c + 1u] = inverseSqrt(total / f32(n) + params.eps);
  }
}
