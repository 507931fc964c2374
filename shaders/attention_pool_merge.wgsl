// netH channel attention, pass 2 of the global pooling (NERCO.md §5): merges the partials of
// attention_pool into v = [avg(C), max(C)] (avg first), one workgroup per channel. Lanes add a
// strided share of the partials, then a tree over the lanes (see attention_pool for why). There
// are few partials (136 per channel at 1920×1080), and on lavapipe every tree level costs a
// barrier over the whole workgroup: 64 lanes, not 256.
struct Params {
  channels: u32,
  // Partials per channel.
  parts: u32,
  // 1 / ((H+6)(W+6)), rounded once on the host: the number of positions of the padded map.
  inv_count: f32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> partial_sum: array<f32>;
@group(0) @binding(2) var<storage, read> partial_max: array<f32>;
@group(0) @binding(3) var<storage, read_write> pooled: array<f32>;

const LANES = 64u;
const LOWEST = -0x1.fffffep+127f;

// #include "lib/tree_sum_max.wgsl"

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let c = wg.x;
  let base = c * params.parts;
  var s = 0.0;
  var m = LOWEST;
  for (var i = li; i < params.parts; i += LANES) {
    s += partial_sum[base + i];
    m = max(m, partial_max[base + i]);
  }
  let total = workgroup_sum_max(li, s, m);
  if (li == 0u) {
    pooled[c] = total.x * params.inv_count;
    pooled[params.channels + c] = total.y;
  }
}
