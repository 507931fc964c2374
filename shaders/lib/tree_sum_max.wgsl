// Sum and max over a workgroup of LANES invocations (the including shader defines LANES, a power
// of two), by a tree in workgroup memory: on lavapipe every level costs a barrier over the whole
// workgroup, which is why the callers keep LANES small.
var<workgroup> tree_sum: array<f32, LANES>;
var<workgroup> tree_max: array<f32, LANES>;

// Returns (Σ sum, max of max) over the workgroup to every invocation. Call from uniform control
// flow: it has barriers.
fn workgroup_sum_max(li: u32, sum: f32, mx: f32) -> vec2f {
  tree_sum[li] = sum;
  tree_max[li] = mx;
  workgroupBarrier();
  for (var stride = LANES / 2u; stride > 0u; stride >>= 1u) {
    if (li < stride) {
      tree_sum[li] += tree_sum[li + stride];
      tree_max[li] = max(tree_max[li], tree_max[li + stride]);
    }
    workgroupBarrier();
  }
  return vec2f(tree_sum[0], tree_max[0]);
}
