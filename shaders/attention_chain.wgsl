// netH channel attention, the 1×1 chain on the pooled vector v = [avg(C), max(C)] (NERCO.md §5):
// z = ReLU(fc1 · v) (R = C/16 values), g = fc2 · z (2C), ca = conv_ca · g (C). No biases and no
// sigmoid on ca (Q4): ca may be negative.
// Invocation o computes ca[o]. Each one recomputes z (2C·R multiply-adds, 512 at C = 64) and every
// g[i] it needs, which is cheaper than sharing them through workgroup memory and barriers.
struct Params {
  channels: u32,
  // R, the rows of fc1 (at most MAX_REDUCED).
  reduced: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> pooled: array<f32>;
// [R, 2C], [2C, R], [C, 2C], row-major (the 1×1 conv weights without their unit dims).
@group(0) @binding(2) var<storage, read> fc1: array<f32>;
@group(0) @binding(3) var<storage, read> fc2: array<f32>;
@group(0) @binding(4) var<storage, read> conv_ca: array<f32>;
@group(0) @binding(5) var<storage, read_write> ca: array<f32>;

const MAX_REDUCED = 64u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let o = gid.x;
  let c2 = 2u * params.channels;
  let r = params.reduced;
  if (o >= params.channels) { return; }
  var z: array<f32, MAX_REDUCED>;
  for (var j = 0u; j < r; j++) {
    var s = 0.0;
    for (var k = 0u; k < c2; k++) { s += fc1[j * c2 + k] * pooled[k]; }
    z[j] = max(s, 0.0);
  }
  var acc = 0.0;
  for (var i = 0u; i < c2; i++) {
    var g = 0.0;
    for (var j = 0u; j < r; j++) { g += fc2[i * r + j] * z[j]; }
    acc += conv_ca[o * c2 + i] * g;
  }
  ca[o] = acc;
}
