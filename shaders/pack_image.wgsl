// The GPU end of pre-processing (NERCO.md §3.3): texels as copyTextureToBuffer lays them out (rows
// of bytes_per_row bytes, read as u32 words) → real_A [3, out_height, out_width] in [-1, 1],
// reflect-padded on the right and bottom from width×height to out_width×out_height.
// FORMAT (define): 0 rgba8unorm, 1 bgra8unorm, 2 rgba16float, 3 rgba32float.
//   8-bit: every byte goes through the host-built LUT (bit-exact ToTensor + Normalize).
//   float: v = clamp(c, 0, 1)·2 − 1, not quantised to 8 bits; NaN counts as 0 (→ −1).
struct Params {
  width: u32,
  height: u32,
  out_width: u32,
  out_height: u32,
  words_per_row: u32,  // bytes_per_row / 4
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read> lut: array<f32>;  // 256 entries
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

// ReflectionPad2d's index map (edge not repeated), continued as a mirror with period 2(n−1) past
// one reflection (PyTorch refuses those sizes); n = 1 repeats the single sample.
fn reflect_index(i: u32, n: u32) -> u32 {
  if (n == 1u) { return 0u; }
  let period = 2u * (n - 1u);
  let r = i % period;
  return select(r, period - r, r >= n);
}

// f16 bits → f32, exactly and including subnormals (unpack2x16float may flush them).
fn half_to_float(h: u32) -> f32 {
  let sign = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  if (e == 0u) {
    let v = f32(m) * 5.9604644775390625e-8;  // m · 2^-24
    return select(v, -v, sign != 0u);
  }
  if (e == 31u) {
    return bitcast<f32>(sign | 0x7f800000u | (m << 13u));
  }
  return bitcast<f32>(sign | ((e + 112u) << 23u) | (m << 13u));
}

// NaN is tested on the bits: WGSL implementations may assume floats are never NaN.
fn unit_from_bits(bits: u32) -> f32 {
  if ((bits & 0x7fffffffu) > 0x7f800000u) { return -1.0; }
  return clamp(bitcast<f32>(bits), 0.0, 1.0) * 2.0 - 1.0;
}

fn unit_from_half(h: u32) -> f32 {
  if ((h & 0x7fffu) > 0x7c00u) { return -1.0; }
  return clamp(half_to_float(h), 0.0, 1.0) * 2.0 - 1.0;
}

@compute @workgroup_size(16, 16)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let ox = gid.x;
  let oy = gid.y;
  if (ox >= params.out_width || oy >= params.out_height) { return; }
  let sx = reflect_index(ox, params.width);
  let row = reflect_index(oy, params.height) * params.words_per_row;
  var rgb: vec3f;
  if (FORMAT == 0 || FORMAT == 1) {
    let t = src[row + sx];
    let lo = lut[t & 0xffu];
    let g = lut[(t >> 8u) & 0xffu];
    let hi = lut[(t >> 16u) & 0xffu];
    if (FORMAT == 1) { rgb = vec3f(hi, g, lo); } else { rgb = vec3f(lo, g, hi); }
  } else if (FORMAT == 2) {
    let rg = src[row + 2u * sx];
    let ba = src[row + 2u * sx + 1u];
    rgb = vec3f(unit_from_half(rg & 0xffffu), unit_from_half(rg >> 16u), unit_from_half(ba & 0xffffu));
  } else {
    let at = row + 4u * sx;
    rgb = vec3f(unit_from_bits(src[at]), unit_from_bits(src[at + 1u]), unit_from_bits(src[at + 2u]));
  }
  let plane = params.out_width * params.out_height;
  let o = oy * params.out_width + ox;
  y[o] = rgb.x;
  y[plane + o] = rgb.y;
  y[2u * plane + o] = rgb.z;
}
