import { describe, expect, it } from 'vitest';
import { INPUT_LUT } from '../../src/nerco/preprocess.js';

function f32Hex(v: number): string {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, v);
  return view.getUint32(0).toString(16).padStart(8, '0');
}

describe('INPUT_LUT (NERCO.md §3.3)', () => {
  it('has the check values of §3.3 bit for bit', () => {
    const expected: Record<number, string> = {
      0: 'bf800000', 1: 'bf7dfdfe', 64: 'befefefe', 127: 'bb808080', 128: '3b808100', 254: '3f7dfdfe', 255: '3f800000',
    };
    for (const [u, hex] of Object.entries(expected)) expect(f32Hex(INPUT_LUT[Number(u)]), `u=${u}`).toBe(hex);
  });

  it('equals f32(f32(u/127.5) − 1) for all 256 values (the equivalent form verified in §3.3)', () => {
    for (let u = 0; u < 256; u++) {
      expect(INPUT_LUT[u], `u=${u}`).toBe(Math.fround(Math.fround(u / 127.5) - 1));
    }
  });

  it('is not the multiply-by-reciprocal table, which differs in 111 entries', () => {
    const recip = Math.fround(1 / 255);
    let differ = 0;
    for (let u = 0; u < 256; u++) {
      const t = Math.fround(u * recip);
      if (Math.fround(Math.fround(t - 0.5) * 2) !== INPUT_LUT[u]) differ++;
    }
    expect(differ).toBe(111);
  });
});
