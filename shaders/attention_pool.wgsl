// netH channel attention, pass 1 of the global pooling (NERCO.md §5): partial sums and maxima of
// every channel of F = ReflectionPad2d(3)(F0), read from the un-padded F0 [C, H, W].
// F is never materialised: F0[y, x] occurs m_H(y)·m_W(x) times in F, where for a source axis of
// length n, m(i) = 1 + [1 ≤ i ≤ 3] + [n−4 ≤ i ≤ n−2] (§7.1; needs n ≥ 4). The maximum ignores
// multiplicities.
//
// Workgroup = 64 lanes on one channel (workgroup_id.z): lane i owns a quad of 4 columns and sums
// ROWS rows of it, so the workgroup covers 256 columns × ROWS rows and writes one partial. A lane
// adds its rows in blocks of 8 (a block sum, then the running total), and the workgroup adds its
// 64 lane sums as a tree: the f32 error of a partial grows like 8 + ROWS/8 + 6 roundings, not ROWS.
// (On lavapipe a 256-lane workgroup with its 8-level tree cost twice the CPU time of this shape.)
//
// Defines: ROWS (rows per lane), ALIGNED (width % 4 == 0: rows start on a vec4).
struct Params {
  height: u32,
  width: u32,
  // Workgroups along x; partial index in a channel = workgroup_id.y * parts_x + workgroup_id.x.
  parts_x: u32,
  // Partials per channel (parts_x · workgroups along y).
  parts: u32,
  // Row bands (src/nerco/banded.ts): f0 holds `height` rows starting at image row row0 of an
  // image image_height rows high, and this dispatch's partials start at part_base within a
  // channel (parts counts every band's). Unbanded: 0, height, 0.
  row0: u32,
  image_height: u32,
  part_base: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> f0: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> partial_sum: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial_max: array<f32>;

const LANES = 64u;
const BLOCK = 8u;
// Identity of max for lanes without data (a const-expression infinity is a shader error in WGSL).
const LOWEST = -0x1.fffffep+127f;

// #include "lib/tree_sum_max.wgsl"

// How many times index i of a length-n axis appears after ReflectionPad(3); 0 outside [0, n).
fn multiplicity(i: u32, n: u32) -> f32 {
  if (i >= n) { return 0.0; }
  var m = 1u;
  if (i >= 1u && i <= 3u) { m += 1u; }
  if (i + 4u >= n && i + 2u <= n) { m += 1u; }
  return f32(m);
}

fn element(i: u32) -> f32 {
  return f0[i >> 2u][i & 3u];
}

@compute @workgroup_size(64)
fn main(
  @builtin(workgroup_id) wg: vec3u,
  @builtin(local_invocation_index) li: u32,
) {
  let c = wg.z;
  let width = params.width;
  let height = params.height;
  let x0 = (wg.x * LANES + li) * 4u;
  let y0 = wg.y * ROWS;
  var lane_sum = 0.0;
  var lane_max = LOWEST;
  if (x0 < width && y0 < height) {
    let col_weight = vec4f(multiplicity(x0, width), multiplicity(x0 + 1u, width),
                           multiplicity(x0 + 2u, width), multiplicity(x0 + 3u, width));
    // Columns past the edge (last quad of an unaligned row) must not take part in the max.
    let col_valid = col_weight > vec4f(0.0);
    let last = width - 1u;
    let y_end = min(y0 + ROWS, height);
    var acc = vec4f(0.0);
    var mx = vec4f(LOWEST);
    for (var yb = y0; yb < y_end; yb += BLOCK) {
      var run_sum = vec4f(0.0);
      let yb_end = min(yb + BLOCK, y_end);
      for (var y = yb; y < yb_end; y++) {
        let row = (c * height + y) * width;
        var v: vec4f;
        if (ALIGNED) {
          v = f0[(row + x0) >> 2u];
        } else {
          v = vec4f(element(row + x0), element(row + min(x0 + 1u, last)),
                    element(row + min(x0 + 2u, last)), element(row + min(x0 + 3u, last)));
        }
        run_sum += multiplicity(params.row0 + y, params.image_height) * v;
        mx = max(mx, select(vec4f(LOWEST), v, col_valid));
      }
      acc += run_sum;
    }
    let weighted = acc * col_weight;
    lane_sum = (weighted.x + weighted.y) + (weighted.z + weighted.w);
    lane_max = max(max(mx.x, mx.y), max(mx.z, mx.w));
  }
  let total = workgroup_sum_max(li, lane_sum, lane_max);
  if (li == 0u) {
    let at = c * params.parts + params.part_base + wg.y * params.parts_x + wg.x;
    partial_sum[at] = total.x;
    partial_max[at] = total.y;
  }
}
