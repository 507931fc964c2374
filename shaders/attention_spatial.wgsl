// netH spatial attention statistics (NERCO.md §5): S0 = [mean_c(ca[c]·F0[c]), max_c(ca[c]·F0[c])]
// over the un-padded H×W plane. The S of the spec is over the padded map F, but F[:, py, px] is
// F0[:, r(py−3), r(px−3)], so S = ReflectionPad2d(3)(S0): attention_mask reads S0 through the
// reflection, and O = ca·F is never stored.
//
// Invocation t owns the 4 consecutive plane positions 4t..4t+3. S0 is [2, plane_stride] with
// plane_stride = plane rounded up to 4, so each output vec4 belongs to exactly one invocation.
// Defines: ALIGNED (plane % 4 == 0: every channel of F0 starts on a vec4).
struct Params {
  channels: u32,
  // H·W.
  plane: u32,
  // plane rounded up to a multiple of 4 (the channel stride of S0).
  plane_stride: u32,
  // Quads in the plane, ceil(plane / 4).
  quads: u32,
  // 1 / C, so the mean is one multiply (exact for power-of-two C).
  inv_channels: f32,
  // Dispatches are 2-D once the range exceeds 65535 workgroups: row pitch in invocations.
  pitch: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> f0: array<vec4f>;
@group(0) @binding(2) var<storage, read> ca: array<f32>;
@group(0) @binding(3) var<storage, read_write> s0: array<vec4f>;

const LOWEST = -0x1.fffffep+127f;

fn element(i: u32) -> f32 {
  return f0[i >> 2u][i & 3u];
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.y * params.pitch + gid.x;
  if (t >= params.quads) { return; }
  let k = 4u * t;
  let plane = params.plane;
  // Positions past the plane (last quad of an unaligned plane) read a valid index and are dropped.
  let last = plane - 1u;
  var sum = vec4f(0.0);
  var mx = vec4f(LOWEST);
  for (var c = 0u; c < params.channels; c++) {
    let base = c * plane;
    var v: vec4f;
    if (ALIGNED) {
      v = f0[(base + k) >> 2u];
    } else {
      v = vec4f(element(base + k), element(base + min(k + 1u, last)),
                element(base + min(k + 2u, last)), element(base + min(k + 3u, last)));
    }
    let o = ca[c] * v;
    sum += o;
    mx = max(mx, o);
  }
  s0[t] = sum * params.inv_channels;
  s0[params.plane_stride / 4u + t] = mx;
}
