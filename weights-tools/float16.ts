/**
 * IEEE binary16 and bfloat16 conversions to and from float32 (Node 20 has no Float16Array).
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

let halfTable: Float32Array | undefined;

function halfBitsToFloatUncached(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** float32 value of a binary16 bit pattern (exact: every half is a float32). */
export function halfBitsToFloat(h: number): number {
  return halfToFloatTable()[h & 0xffff];
}

function halfToFloatTable(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfBitsToFloatUncached(h);
  }
  return halfTable;
}

/** binary16 bit pattern nearest to `x` (round to nearest, ties to even; overflow gives ±Inf, NaN stays NaN). */
export function floatToHalfBits(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 112; // rebias 127 → 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e >= 1) {
    // Normal: keep 10 of 23 mantissa bits; a carry out of the mantissa correctly bumps the exponent (up to Inf).
    let h = (e << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++;
    return sign | h;
  }
  // Subnormal half (units of 2^-24): value = (1.mant) * 2^(exp-127) = full >> (14 - e).
  const shift = 14 - e;
  if (shift > 24) return sign; // below half of the smallest subnormal: rounds to zero
  const full = mant | 0x800000;
  let h = full >>> shift;
  const rest = full & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rest > half || (rest === half && (h & 1))) h++;
  return sign | h;
}

/** Decodes little-endian-in-memory binary16 values (already in host order) to float32. */
export function decodeHalfArray(src: Uint16Array): Float32Array {
  const t = halfToFloatTable();
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = t[src[i]];
  return out;
}

/** bfloat16 is the top half of a float32: widening is a 16-bit shift. */
export function decodeBfloat16Array(src: Uint16Array): Float32Array {
  const out = new Uint32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i] << 16;
  return new Float32Array(out.buffer);
}

/** Encodes float32 values to binary16 bit patterns. */
export function encodeHalfArray(src: Float32Array): Uint16Array {
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = floatToHalfBits(src[i]);
  return out;
}

/** True when the host stores multi-byte numbers little-endian (every platform Node and browsers run on in practice). */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
