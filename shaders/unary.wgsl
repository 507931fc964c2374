// y = f(x), element-wise over a flat range. OP (define): 0 identity, 1 ReLU, 2 tanh, 3 sigmoid.
struct Params {
  count: u32,
  // Dispatches are 2-D once a flat range exceeds 65535 workgroups: row pitch in invocations.
  pitch: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

fn apply(v: f32) -> f32 {
  if (OP == 1) { return max(v, 0.0); }
  // Built-in tanh may return NaN for large |v| on some back ends; in f32 it is ±1 beyond 15.
  if (OP == 2) { return tanh(clamp(v, -15.0, 15.0)); }
  if (OP == 3) { return 1.0 / (1.0 + exp(-v)); }
  return v;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.y * params.pitch + gid.x;
  if (i >= params.count) { return; }
  y[i] = apply(x[i]);
}
