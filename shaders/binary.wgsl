// y = a OP b element-wise over [C, plane]. OP (define): 0 add, 1 multiply.
// B_BROADCAST (define): b is one plane [1, plane] shared by every channel of a (NeRCo's mask).
struct Params {
  plane: u32,
  // Dispatches are 2-D per channel once a plane exceeds 65535 workgroups: row pitch in invocations.
  pitch: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.y * params.pitch + gid.x;
  if (i >= params.plane) { return; }
  let at = gid.z * params.plane + i;
  let bv = b[select(at, i, B_BROADCAST)];
  if (OP == 1) { y[at] = a[at] * bv; } else { y[at] = a[at] + bv; }
}
