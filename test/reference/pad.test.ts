import { describe, expect, it } from 'vitest';
import { reflectIndex, reflectPad, zeroPad } from './pad.js';

describe('reflectIndex / reflectPad (NERCO.md §7.1)', () => {
  it('n = 5, p = 3 reads 3 2 1 | 0 1 2 3 4 | 3 2 1', () => {
    const idx = [];
    for (let i = -3; i <= 4 + 3; i++) idx.push(reflectIndex(i, 5));
    expect(idx).toEqual([3, 2, 1, 0, 1, 2, 3, 4, 3, 2, 1]);
  });

  it('pads rows and columns independently, corners reflect on both axes', () => {
    // 1 channel, 2×3: [[1,2,3],[4,5,6]], p = 1
    const out = reflectPad(Float32Array.from([1, 2, 3, 4, 5, 6]), [1, 2, 3], 1);
    expect(Array.from(out)).toEqual([
      5, 4, 5, 6, 5,
      2, 1, 2, 3, 2,
      5, 4, 5, 6, 5,
      2, 1, 2, 3, 2,
    ]);
  });

  it('keeps channels separate', () => {
    const x = Float32Array.from([1, 2, 3, 4, 10, 20, 30, 40]); // 2 channels of 2×2
    const out = reflectPad(x, [2, 2, 2], 1);
    expect(out.length).toBe(2 * 4 * 4);
    expect(out[16 + 5]).toBe(10); // channel 1, (1,1) → source (0,0)
    expect(out[16 + 0]).toBe(40); // channel 1 corner (0,0) → source (1,1)
  });

  it('rejects p ≥ n, as PyTorch does', () => {
    expect(() => reflectPad(new Float32Array(4), [1, 2, 2], 2)).toThrow(/padding 2 must be less than the input size 2×2/);
    expect(() => reflectIndex(5, 5 - 4)).toThrow(/more than one reflection away/);
  });

  it('zeroPad surrounds the plane with zeros', () => {
    const out = zeroPad(Float32Array.from([1, 2, 3, 4]), [1, 2, 2], 1);
    expect(Array.from(out)).toEqual([0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0]);
  });
});
