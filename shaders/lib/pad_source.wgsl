// Source index of padded index i on an axis of length n. Reflect as in §7.1 when PAD_MODE == 2
// (the including shader's define; p < n, so one reflection suffices); the clamp keeps blocks that
// overhang the output (tail) in bounds, and gives zero-padded taps a harmless address (their
// value is then replaced by 0).
fn source(i: i32, n: i32) -> i32 {
  var r = i;
  if (PAD_MODE == 2) {
    r = select(r, -r, r < 0);
    r = select(r, 2 * (n - 1) - r, r > n - 1);
  }
  return clamp(r, 0, n - 1);
}
