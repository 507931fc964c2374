// y = cat(a, b; channel axis) · mask, in one pass (NeRCo's g_in, NERCO.md §1): a is [CA, H, W],
// b is [CB, H, W], mask is [1, H, W] broadcast over all CA + CB output channels.
struct Params {
  plane: u32,
  pitch: u32,
  channels_a: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> mask: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.y * params.pitch + gid.x;
  if (i >= params.plane) { return; }
  let c = gid.z;
  // c is uniform across the workgroup, so this branch does not diverge.
  var v: f32;
  if (c < params.channels_a) { v = a[c * params.plane + i]; } else { v = b[(c - params.channels_a) * params.plane + i]; }
  y[c * params.plane + i] = v * mask[i];
}
