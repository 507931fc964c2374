import { describe, expect, it } from 'vitest';
import { networkSizePad, networkSizeResize, roundHalfEven } from '../../src/nerco/preprocess.js';

describe('roundHalfEven', () => {
  it('rounds like Python 3 round()', () => {
    const cases: [number, number][] = [
      [0.5, 0], [1.5, 2], [2.5, 2], [3.5, 4], [12.5, 12], [15.5, 16], [-0.5, 0], [-1.5, -2],
      [2.49, 2], [2.51, 3], [0, 0], [7, 7],
    ];
    for (const [x, r] of cases) expect(roundHalfEven(x), `round(${x})`).toBe(r);
  });
});

describe('networkSizeResize (__make_power_2, NERCO.md §3.2)', () => {
  it('matches the verified examples of §3.2', () => {
    const examples: [number, number][] = [
      [50, 48], [58, 56], [62, 64], [45, 44], [46, 48], [54, 56], [6, 8], [7, 8], [10, 8], [14, 16],
      [18, 16], [22, 24], [26, 24], [398, 400], [402, 400], [599, 600], [601, 600], [602, 600],
      [606, 608], [1, 0], [2, 0], [3, 4], [5, 4],
    ];
    for (const [n, m] of examples) {
      expect(networkSizeResize(n, 40), `w ${n}`).toEqual({ w: m, h: 40 });
      expect(networkSizeResize(40, n), `h ${n}`).toEqual({ w: 40, h: m });
    }
  });
});

describe('networkSizePad', () => {
  it('pads up to a multiple of 4 and at least 8', () => {
    expect(networkSizePad(1, 2)).toEqual({ w: 8, h: 8 });
    expect(networkSizePad(8, 9)).toEqual({ w: 8, h: 12 });
    expect(networkSizePad(50, 62)).toEqual({ w: 52, h: 64 });
    expect(networkSizePad(600, 400)).toEqual({ w: 600, h: 400 });
    expect(networkSizePad(601, 13)).toEqual({ w: 604, h: 16 });
  });
});
