// (count, mean, M2 = Σ(x − mean)²) of a set of values, and their merges. The including shader
// defines WG, its workgroup size.
struct Moments { count: u32, mean: f32, m2: f32 }

// Chan, Golub & LeVeque's pairwise update: exact in exact arithmetic, and stable because it only
// combines centred quantities.
fn merge(a: Moments, b: Moments) -> Moments {
  if (b.count == 0u) { return a; }
  if (a.count == 0u) { return b; }
  let n = a.count + b.count;
  let d = b.mean - a.mean;
  let fb = f32(b.count) / f32(n);
  return Moments(n, a.mean + d * fb, a.m2 + b.m2 + d * d * f32(a.count) * fb);
}

var<workgroup> wg_count: array<u32, WG>;
var<workgroup> wg_mean: array<f32, WG>;
var<workgroup> wg_m2: array<f32, WG>;

// Merges the WG invocations' moments in a tree (always with merge()) and returns the workgroup's
// to every invocation. Call from uniform control flow: it has barriers.
fn workgroup_merge(lid: u32, own: Moments) -> Moments {
  wg_count[lid] = own.count;
  wg_mean[lid] = own.mean;
  wg_m2[lid] = own.m2;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let m = merge(Moments(wg_count[lid], wg_mean[lid], wg_m2[lid]), Moments(wg_count[lid + s], wg_mean[lid + s], wg_m2[lid + s]));
      wg_count[lid] = m.count;
      wg_mean[lid] = m.mean;
      wg_m2[lid] = m.m2;
    }
    workgroupBarrier();
  }
  return Moments(wg_count[0], wg_mean[0], wg_m2[0]);
}
