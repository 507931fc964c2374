// y = [ReLU]((x − mean[c]) · invStd[c]) [+ residual], per element of a [C, H, W] tensor.
// The output may alias an input, and WebGPU forbids binding one buffer as both read-only and
// read-write storage in a dispatch, so defines say where each operand lives:
//   X_SRC:   0 the `x` binding, 1 `y` (in place: y holds x on entry);
//   RES_SRC: 0 no residual, 1 the `residual` binding, 2 the `x` binding, 3 `y` (y holds it).
//   RELU:    apply ReLU before the residual add (NeRCo's IN → ReLU; ResBlocks add without it).
// Bindings an instance does not read are still declared, so the host binds a placeholder
// (read-only, never read) to them.
struct Params {
  plane: u32,
  // Dispatches are 2-D per channel once a plane exceeds 65535 workgroups: row pitch in invocations.
  pitch: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> stats: array<f32>;  // [C, 2] (mean, invStd)
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> residual: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.y * params.pitch + gid.x;
  if (i >= params.plane) { return; }
  let c = gid.z;
  let at = c * params.plane + i;
  var v: f32;
  if (X_SRC == 1) { v = y[at]; } else { v = x[at]; }
  v = (v - stats[2u * c]) * stats[2u * c + 1u];
  if (RELU) { v = max(v, 0.0); }
  if (RES_SRC == 1) { v += residual[at]; }
  if (RES_SRC == 2) { v += x[at]; }
  if (RES_SRC == 3) { v += y[at]; }
  y[at] = v;
}
