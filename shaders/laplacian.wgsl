// Laplacian per channel with reflect borders (ReflectionPad2d(1) semantics: the edge pixel is not
// repeated, so H, W ≥ 2). NEIGHBOURS (define): 4 → [[0,1,0],[1,−4,1],[0,1,0]],
// 8 → [[1,1,1],[1,−8,1],[1,1,1]]. [C, H, W] → [C, H, W]; gid.z is the channel.
struct Params {
  width: u32,
  height: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// Reflects i ∈ [−1, n] into [0, n−1].
fn reflect1(i: i32, n: i32) -> u32 {
  if (i < 0) { return u32(-i); }
  if (i >= n) { return u32(2 * (n - 1) - i); }
  return u32(i);
}

@compute @workgroup_size(16, 16)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= params.width || gid.y >= params.height) { return; }
  let w = i32(params.width);
  let h = i32(params.height);
  let base = gid.z * params.width * params.height;
  let xl = reflect1(i32(gid.x) - 1, w);
  let xr = reflect1(i32(gid.x) + 1, w);
  let up = base + reflect1(i32(gid.y) - 1, h) * params.width;
  let row = base + gid.y * params.width;
  let dn = base + reflect1(i32(gid.y) + 1, h) * params.width;
  let centre = x[row + gid.x];
  var s = (x[up + gid.x] + x[dn + gid.x]) + (x[row + xl] + x[row + xr]);
  if (NEIGHBOURS == 8) {
    s += (x[up + xl] + x[up + xr]) + (x[dn + xl] + x[dn + xr]);
  }
  y[row + gid.x] = s - f32(NEIGHBOURS) * centre;
}
