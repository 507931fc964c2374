import { describe, expect, it } from 'vitest';
import { makeRng, randn, uniform } from './random.js';

describe('seeded random numbers', () => {
  it('is reproducible per seed and differs between seeds', () => {
    expect(Array.from(uniform(makeRng(42), 5))).toEqual(Array.from(uniform(makeRng(42), 5)));
    expect(Array.from(uniform(makeRng(42), 5))).not.toEqual(Array.from(uniform(makeRng(43), 5)));
  });

  it('uniform stays in [lo, hi) and randn has roughly the requested moments', () => {
    const u = uniform(makeRng(1), 10000, -2, 3);
    expect(u.every((v) => v >= -2 && v < 3)).toBe(true);
    const n = randn(makeRng(2), 20001, 2, 1);
    let m = 0;
    for (const v of n) m += v;
    m /= n.length;
    let s = 0;
    for (const v of n) s += (v - m) ** 2;
    s = Math.sqrt(s / n.length);
    expect(Math.abs(m - 1)).toBeLessThan(0.05);
    expect(Math.abs(s - 2)).toBeLessThan(0.05);
    expect(n.every(Number.isFinite)).toBe(true);
  });
});
