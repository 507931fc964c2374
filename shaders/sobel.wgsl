// NeRCo's gradient layer (Ysz2022/NeRCo models/sobel.py, GradLayer): gray image, then central
// differences with zero padding 1 — v-kernel [[0,−1,0],[0,0,0],[0,1,0]], h-kernel
// [[0,0,0],[−1,0,1],[0,0,0]] — and magnitude sqrt(gv² + gh² + 1e−6). [C, H, W] → [1, H, W].
// GRAY_INPUT (define): the input is already one channel; otherwise it is RGB and gray is
// R·65.738/256 + G·129.057/256 + B·25.064/256 (GradLayer.get_gray: BT.601 studio-range luma
// factors, applied to the [-1, 1] values as they are, no offset).
const GRAY_R = 65.738 / 256.0;
const GRAY_G = 129.057 / 256.0;
const GRAY_B = 25.064 / 256.0;

struct Params {
  width: u32,
  height: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// Gray value at (px, py), 0 outside the image (F.conv2d's zero padding).
fn gray(px: i32, py: i32) -> f32 {
  let w = i32(params.width);
  let h = i32(params.height);
  if (px < 0 || py < 0 || px >= w || py >= h) { return 0.0; }
  let at = u32(py * w + px);
  if (GRAY_INPUT) { return x[at]; }
  let plane = params.width * params.height;
  return f32(GRAY_R) * x[at] + f32(GRAY_G) * x[plane + at] + f32(GRAY_B) * x[2u * plane + at];
}

@compute @workgroup_size(16, 16)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= params.width || gid.y >= params.height) { return; }
  let px = i32(gid.x);
  let py = i32(gid.y);
  let gv = gray(px, py + 1) - gray(px, py - 1);
  let gh = gray(px + 1, py) - gray(px - 1, py);
  y[gid.y * params.width + gid.x] = sqrt(gv * gv + gh * gh + 1e-6);
}
