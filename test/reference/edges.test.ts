import { describe, expect, it } from 'vitest';
import { grayFromRgb, laplacian, NERCO_GRAY_WEIGHTS, sobel } from './edges.js';

/** I[y, x] = a·x + b·y + c on an h×w plane. */
function ramp(h: number, w: number, a: number, b: number, c = 0): Float32Array {
  return Float32Array.from({ length: h * w }, (_, k) => a * (k % w) + b * Math.floor(k / w) + c);
}

describe('NeRCo gradient layer (models/sobel.py GradLayer)', () => {
  it('gray weights are 65.738/256, 129.057/256, 25.064/256 (f32)', () => {
    expect(NERCO_GRAY_WEIGHTS[0]).toBeCloseTo(0.25679, 5);
    expect(NERCO_GRAY_WEIGHTS[1]).toBeCloseTo(0.50413, 5);
    expect(NERCO_GRAY_WEIGHTS[2]).toBeCloseTo(0.09791, 5);
    const g = grayFromRgb(Float32Array.from([1, 1, 0.5, 0.5, -1, 0]), [3, 1, 2]);
    expect(g[0]).toBeCloseTo(0.25679 + 0.50413 * 0.5 - 0.09791, 5);
    expect(g[1]).toBeCloseTo(0.25679 + 0.50413 * 0.5, 5);
  });

  it('central differences: interior of a ramp is sqrt((2a)² + (2b)² + 1e−6)', () => {
    const a = 0.3;
    const b = -0.2;
    const out = sobel(ramp(5, 6, a, b, 1), [1, 5, 6]);
    const want = Math.sqrt(4 * a * a + 4 * b * b + 1e-6);
    for (let y = 1; y < 4; y++) for (let x = 1; x < 5; x++) expect(out[y * 6 + x]).toBeCloseTo(want, 6);
  });

  it('zero padding at the border (F.conv2d padding=1)', () => {
    // 3×3 plane of ones: corner (0,0): gv = I[1,0] − 0 = 1, gh = I[0,1] − 0 = 1; centre: 0.
    const out = sobel(new Float32Array(9).fill(1), [1, 3, 3]);
    expect(out[0]).toBeCloseTo(Math.sqrt(2 + 1e-6), 6);
    expect(out[4]).toBeCloseTo(Math.sqrt(1e-6), 9);
    expect(out[1]).toBeCloseTo(Math.sqrt(1 + 1e-6), 6); // (0,1): gv = 1, gh = 1 − 1 = 0
  });

  it('RGB input goes through the gray conversion first', () => {
    const rgb = new Float32Array(3 * 16);
    rgb.set(ramp(4, 4, 1, 0), 16); // only G varies
    const out = sobel(rgb, [3, 4, 4]);
    expect(out[1 * 4 + 1]).toBeCloseTo(Math.sqrt((2 * NERCO_GRAY_WEIGHTS[1]) ** 2 + 1e-6), 6);
  });

  it('classic 3×3 Sobel variant: interior of a ramp is sqrt((8a)² + (8b)² + eps)', () => {
    const out = sobel(ramp(5, 5, 0.5, 0.25), [1, 5, 5], { variant: 'sobel3x3', eps: 0 });
    expect(out[2 * 5 + 2]).toBeCloseTo(Math.sqrt(16 + 4), 6);
  });
});

describe('laplacian (reflect border)', () => {
  it('is 0 on a ramp everywhere with 4 and 8 neighbours except where the reflection folds it', () => {
    const x = ramp(4, 5, 1, 2);
    for (const n of [4, 8] as const) {
      const out = laplacian(x, [1, 4, 5], n);
      for (let y = 1; y < 3; y++) for (let xx = 1; xx < 4; xx++) expect(out[y * 5 + xx]).toBe(0);
    }
    // Left border of I = x (4-neighbour): I[−1] reflects to I[1] = 1, so 1 + 1 − 0·2 + (rows cancel) = 2.
    const left = laplacian(ramp(3, 4, 1, 0), [1, 3, 4], 4);
    expect(left[1 * 4 + 0]).toBe(2);
    expect(left[1 * 4 + 3]).toBe(-2); // right border: I[4] reflects to I[2] = 2: 2 + 2 − 2·3
  });

  it('on x², 4 neighbours give 2 and 8 neighbours give 6 in the interior', () => {
    const x = Float32Array.from({ length: 25 }, (_, k) => (k % 5) ** 2);
    expect(laplacian(x, [1, 5, 5], 4)[12]).toBe(2);
    expect(laplacian(x, [1, 5, 5], 8)[12]).toBe(6);
  });

  it('works per channel and rejects planes thinner than 2', () => {
    const x = new Float32Array(2 * 9);
    x[9 + 4] = 1; // impulse at the centre of channel 1
    const out = laplacian(x, [2, 3, 3], 8);
    expect(Array.from(out.subarray(0, 9))).toEqual(new Array(9).fill(0));
    expect(out[9 + 4]).toBe(-8);
    // Reflection folds the impulse onto the borders: the corner (0,0) sees it through all four
    // diagonals (−1,−1), (−1,1), (1,−1), (1,1) → 4; the edge (0,1) sees it above (reflected) and below → 2.
    expect(out[9 + 0]).toBe(4);
    expect(out[9 + 1]).toBe(2);
    expect(() => laplacian(new Float32Array(3), [1, 1, 3], 4)).toThrow(/reflect border needs H, W ≥ 2, got 1×3/);
  });
});
