// netH mask (NERCO.md §5): mask = sigmoid(conv1 ⋆ S), conv1 a 7×7 valid conv (no bias) on the
// 2-channel S = ReflectionPad2d(3)(S0), read from S0 through the reflection (§7.1), so the output
// is H×W again. Invocation t computes 4 adjacent outputs of one row: each of the 14 source rows it
// needs is loaded once as 10 values and reused by all 4 outputs.
struct Params {
  height: u32,
  width: u32,
  // Channel stride of S0 (see attention_spatial).
  plane_stride: u32,
  // Quads per output row, ceil(W / 4).
  row_quads: u32,
  // Quads in the output, H · row_quads.
  quads: u32,
  // Dispatches are 2-D once the range exceeds 65535 workgroups: row pitch in invocations.
  pitch: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> s0: array<f32>;
// conv1 [1, 2, 7, 7].
@group(0) @binding(2) var<storage, read> conv1: array<f32>;
@group(0) @binding(3) var<storage, read_write> mask: array<f32>;

// ReflectionPad source index of padded-relative index i ∈ [−3, n+2]; clamped so the columns that
// only feed dropped outputs (past the last quad of a row) still read inside the plane.
fn reflect(i: i32, n: i32) -> u32 {
  var r = abs(i);
  if (r > n - 1) { r = 2 * (n - 1) - r; }
  return u32(clamp(r, 0, n - 1));
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.y * params.pitch + gid.x;
  if (t >= params.quads) { return; }
  let y = t / params.row_quads;
  let x0 = (t - y * params.row_quads) * 4u;
  let h = i32(params.height);
  let w = i32(params.width);
  var cols: array<u32, 10>;
  for (var j = 0; j < 10; j++) { cols[j] = reflect(i32(x0) + j - 3, w); }
  var acc = vec4f(0.0);
  for (var ch = 0u; ch < 2u; ch++) {
    for (var ky = 0u; ky < 7u; ky++) {
      let row = ch * params.plane_stride + reflect(i32(y + ky) - 3, h) * params.width;
      var v: array<f32, 10>;
      for (var j = 0u; j < 10u; j++) { v[j] = s0[row + cols[j]]; }
      let wrow = (ch * 7u + ky) * 7u;
      for (var kx = 0u; kx < 7u; kx++) {
        acc += conv1[wrow + kx] * vec4f(v[kx], v[kx + 1u], v[kx + 2u], v[kx + 3u]);
      }
    }
  }
  let m = 1.0 / (1.0 + exp(-acc));
  let at = y * params.width + x0;
  mask[at] = m.x;
  if (x0 + 1u < params.width) { mask[at + 1u] = m.y; }
  if (x0 + 2u < params.width) { mask[at + 2u] = m.z; }
  if (x0 + 3u < params.width) { mask[at + 3u] = m.w; }
}
