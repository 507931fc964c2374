import { describe, expect, it } from 'vitest';
import {
  decodeBfloat16Array, decodeHalfArray, encodeHalfArray, floatToHalfBits, halfBitsToFloat,
} from '../../weights-tools/float16.js';
import { EXPECTED } from './fixtures.js';

describe('float16', () => {
  it('rounds float32 to float16 exactly as numpy does (nearest, ties to even, subnormals)', () => {
    const { input, half } = EXPECTED.f16_rounding;
    const got = decodeHalfArray(encodeHalfArray(Float32Array.from(input)));
    expect([...got]).toEqual(half);
  });

  it('decodes known bit patterns', () => {
    expect(halfBitsToFloat(0x3c00)).toBe(1);
    expect(halfBitsToFloat(0xc000)).toBe(-2);
    expect(halfBitsToFloat(0x7bff)).toBe(65504);
    expect(halfBitsToFloat(0x0001)).toBe(2 ** -24);
    expect(halfBitsToFloat(0x0400)).toBe(2 ** -14);
    expect(halfBitsToFloat(0x7c00)).toBe(Infinity);
    expect(halfBitsToFloat(0xfc00)).toBe(-Infinity);
    expect(Number.isNaN(halfBitsToFloat(0x7e00))).toBe(true);
    expect(Object.is(halfBitsToFloat(0x8000), -0)).toBe(true);
  });

  it('round-trips every finite half exactly', () => {
    const wrong: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) !== 0x7c00 && floatToHalfBits(halfBitsToFloat(h)) !== h) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  it('overflows to infinity and keeps NaN', () => {
    expect(floatToHalfBits(65520)).toBe(0x7c00);
    expect(floatToHalfBits(-1e6)).toBe(0xfc00);
    expect(floatToHalfBits(Infinity)).toBe(0x7c00);
    expect(floatToHalfBits(NaN) & 0x7c00).toBe(0x7c00);
    expect(floatToHalfBits(NaN) & 0x3ff).not.toBe(0);
  });

  it('widens bfloat16 by shifting into the top half of a float32', () => {
    expect([...decodeBfloat16Array(Uint16Array.from([0x3f80, 0xc000, 0x0000, 0x8000, 0x7f80, 0x3dcd]))])
      .toEqual([1, -2, 0, -0, Infinity, 0.10009765625]);
  });
});
