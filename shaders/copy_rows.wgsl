// Copies `rows` whole rows of every channel between two [C, rows, W] tensors of different heights:
// src rows src_row0 … → dst rows dst_row0 … (row bands, src/nerco/banded.ts: gathering a band and
// its halo rows from neighbouring bands, or splitting / joining a whole map).
struct Params {
  // rows · width: elements per channel to copy.
  count: u32,
  width: u32,
  // Channel strides (rows · width of each tensor) and the first element of the range in each.
  src_plane: u32,
  dst_plane: u32,
  src_start: u32,
  dst_start: u32,
  // Dispatches are 2-D per channel once a range exceeds 65535 workgroups: row pitch in invocations.
  pitch: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.y * params.pitch + gid.x;
  if (i >= params.count) { return; }
  let c = gid.z;
  dst[c * params.dst_plane + params.dst_start + i] = src[c * params.src_plane + params.src_start + i];
}
