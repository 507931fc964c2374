// Edge maps → displayable RGBA8 texels (alpha 255) in rows of words_per_row u32 words, ready for
// copyBufferToTexture: byte = round(clamp(|e|·gain, 0, 1)·255). The input is [C, H, W] float32:
// GRAY (define) true: C = 1 (a Sobel magnitude), written to R, G and B alike; false: C = 3
// (a per-channel Laplacian), one channel per colour. NaN shows as 0.
struct Params {
  width: u32,
  height: u32,
  words_per_row: u32,
  gain: f32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> texels: array<u32>;

fn to_byte(e: f32) -> u32 {
  if ((bitcast<u32>(e) & 0x7fffffffu) > 0x7f800000u) { return 0u; }
  return u32(floor(clamp(abs(e) * params.gain, 0.0, 1.0) * 255.0 + 0.5));
}

@compute @workgroup_size(16, 16)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= params.width || gid.y >= params.height) { return; }
  let at = gid.y * params.width + gid.x;
  var r: u32;
  var g: u32;
  var b: u32;
  if (GRAY) {
    r = to_byte(x[at]);
    g = r;
    b = r;
  } else {
    let plane = params.width * params.height;
    r = to_byte(x[at]);
    g = to_byte(x[plane + at]);
    b = to_byte(x[2u * plane + at]);
  }
  texels[gid.y * params.words_per_row + gid.x] = r | (g << 8u) | (b << 16u) | (255u << 24u);
}
