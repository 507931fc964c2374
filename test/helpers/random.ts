/**
 * Seeded pseudo-random numbers for tests, so that a failing case can be reproduced exactly.
 * The generator is a 32-bit multiply-xorshift in the style of mulberry32: fast, tiny state,
 * good enough for test data (not for anything statistical or cryptographic).
 */
export type Rng = () => number;

/** Returns a generator of uniform numbers in [0, 1) determined by `seed`. */
export function makeRng(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` values uniform in [lo, hi). */
export function uniform(rng: Rng, n: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rng();
  return out;
}

/** `n` normal values with the given mean and standard deviation (Box–Muller). */
export function randn(rng: Rng, n: number, std = 1, mean = 0): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    // 1 - rng() is in (0, 1], so the log is finite.
    const r = Math.sqrt(-2 * Math.log(1 - rng()));
    const phi = 2 * Math.PI * rng();
    out[i] = mean + std * r * Math.cos(phi);
    if (i + 1 < n) out[i + 1] = mean + std * r * Math.sin(phi);
  }
  return out;
}
