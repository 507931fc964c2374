import { describe, expect, it } from 'vitest';
import { makeRng, randn } from '../helpers/random.js';
import { instanceNorm } from './norm.js';

describe('instanceNorm (NERCO.md §7.5)', () => {
  it('hand case: [1,2,3,4] → (x − 2.5)/sqrt(1.25 + 1e−5) (biased variance)', () => {
    const out = instanceNorm(Float32Array.from([1, 2, 3, 4]), [1, 2, 2]);
    const s = Math.sqrt(1.25 + 1e-5);
    expect(Array.from(out)).toEqual([-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s].map(Math.fround));
  });

  it('each channel gets mean 0 and variance σ²/(σ²+eps)', () => {
    const rng = makeRng(5);
    const c = 3;
    const n = 7 * 9;
    const x = randn(rng, c * n, 3, 2);
    const out = instanceNorm(x, [c, 7, 9]);
    for (let ch = 0; ch < c; ch++) {
      let mx = 0;
      for (let k = 0; k < n; k++) mx += x[ch * n + k];
      mx /= n;
      let vx = 0;
      for (let k = 0; k < n; k++) vx += (x[ch * n + k] - mx) ** 2;
      vx /= n;
      let m = 0;
      for (let k = 0; k < n; k++) m += out[ch * n + k];
      m /= n;
      let v = 0;
      for (let k = 0; k < n; k++) v += (out[ch * n + k] - m) ** 2;
      v /= n;
      expect(Math.abs(m)).toBeLessThan(1e-6);
      expect(Math.abs(v - vx / (vx + 1e-5))).toBeLessThan(1e-5);
    }
  });

  it('a constant plane becomes 0', () => {
    expect(Array.from(instanceNorm(new Float32Array(6).fill(3.25), [1, 2, 3]))).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('stays accurate with a large offset (two-pass, no E[x²]−μ² cancellation)', () => {
    // 1e4 ± 1: in f32 the one-pass formula loses all digits of the variance.
    const x = Float32Array.from([1e4 - 1, 1e4 + 1, 1e4 - 1, 1e4 + 1]);
    const out = instanceNorm(x, [1, 2, 2]);
    const want = 1 / Math.sqrt(1 + 1e-5);
    for (let k = 0; k < 4; k++) expect(Math.abs(Math.abs(out[k]) - want)).toBeLessThan(1e-7);
  });
});
