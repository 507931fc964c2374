// The GPU end of post-processing (NERCO.md §8): fake_B [3, H, W] in [-1, 1] → RGBA8 texels (alpha
// 255) in rows of bytes_per_row bytes, ready for copyBufferToTexture; the top-left width×height
// is written (a crop when smaller than the tensor), row padding bytes are left untouched.
//   v = f32(f32(a + 1) · 127.5)       (§8: equal to f32(f32(f32(a + 1) / 2) · 255))
//   ROUNDING (define) 0: trunc(v) (the reference); 1: floor(f32(v + 0.5)) (an option)
//   then clamped to [0, 255]; NaN gives 0.
// BGRA (define): byte order B, G, R, A (bgra8unorm) instead of R, G, B, A.
struct Params {
  width: u32,
  height: u32,
  src_width: u32,
  src_height: u32,
  words_per_row: u32,
  // Always 1.0. Multiplying by it keeps v rounded to f32 before `+ 0.5`: without it the compiler
  // may contract (a+1)·127.5 + 0.5 into one fma that skips the rounding of v (SPIR-V allows
  // contraction unless told otherwise, and WGSL cannot tell it).
  one: f32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> texels: array<u32>;

fn to_byte(a: f32) -> u32 {
  // NaN is tested on the bits: WGSL implementations may assume floats are never NaN.
  if ((bitcast<u32>(a) & 0x7fffffffu) > 0x7f800000u) { return 0u; }
  let v = ((a + 1.0) * 127.5) * params.one;
  var r: f32;
  if (ROUNDING == 1) { r = floor(v + 0.5); } else { r = trunc(v); }
  return u32(clamp(r, 0.0, 255.0));
}

@compute @workgroup_size(16, 16)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let px = gid.x;
  let py = gid.y;
  if (px >= params.width || py >= params.height) { return; }
  let plane = params.src_width * params.src_height;
  let at = py * params.src_width + px;
  let r = to_byte(x[at]);
  let g = to_byte(x[plane + at]);
  let b = to_byte(x[2u * plane + at]);
  var word: u32;
  if (BGRA) { word = b | (g << 8u) | (r << 16u) | (255u << 24u); } else { word = r | (g << 8u) | (b << 16u) | (255u << 24u); }
  texels[py * params.words_per_row + px] = word;
}
