// The end of a ResBlock in the f16 path: y += (b − mean[c]) · invStd[c], with b channel-pair
// packed f16 ([C/2][H][W] u32, channel c in the low half when even) and y the f32 residual stream
// (updated in place). Invocation (i, pair) does pixel i of channels 2·pair and 2·pair + 1; the
// arithmetic is f32.
struct Params {
  plane: u32,
  // Dispatches are 2-D per channel pair once a plane exceeds 65535 workgroups: row pitch.
  pitch: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> stats: array<vec2f>;  // [C] (mean, invStd)
@group(0) @binding(2) var<storage, read> b: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.y * params.pitch + gid.x;
  if (i >= params.plane) { return; }
  let pair = gid.z;
  let v = unpack2x16float(b[pair * params.plane + i]);
  let s0 = stats[2u * pair];
  let s1 = stats[2u * pair + 1u];
  let at = 2u * pair * params.plane + i;
  y[at] += (v.x - s0.x) * s0.y;
  y[at + params.plane] += (v.y - s1.x) * s1.y;
}
