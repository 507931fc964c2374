import { describe, expect, it } from 'vitest';
import { packImage, unpackImage, type ImageFormat } from '../../src/kernels/image.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { BufferUsage, MapMode } from '../../src/runtime/gpu-constants.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import type { GpuTensor } from '../../src/runtime/tensor.js';
import { testRuntime } from '../helpers/gpu.js';
import { makeRng } from '../helpers/random.js';
import { reflectIndex } from '../reference/pad.js';

const f = Math.fround;

/** NERCO.md §3.3, written out here independently of the library's table. */
function specLut(): Float32Array {
  const lut = new Float32Array(256);
  for (let u = 0; u < 256; u++) lut[u] = f(f(f(u / 255) - 0.5) * 2);
  return lut;
}

function bitsOf(v: Float32Array): Uint32Array {
  return new Uint32Array(v.buffer, v.byteOffset, v.length);
}

/** Number of elements whose f32 bit patterns differ (tolerance 0: these kernels are bit-exact). */
function bitMismatches(got: Float32Array, want: Float32Array): number {
  expect(got.length).toBe(want.length);
  const g = bitsOf(got);
  const w = bitsOf(want);
  let n = 0;
  for (let i = 0; i < g.length; i++) if (g[i] !== w[i]) n++;
  return n;
}

function gpuBuffer(rt: Runtime, bytes: Uint8Array, label: string): GPUBuffer {
  const size = Math.ceil(bytes.byteLength / 4) * 4;
  const buf = rt.device.createBuffer({ label, size, usage: BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC });
  const padded = new Uint8Array(size);
  padded.set(bytes);
  rt.device.queue.writeBuffer(buf, 0, padded);
  return buf;
}

async function readBytes(rt: Runtime, buf: GPUBuffer): Promise<Uint8Array> {
  const staging = rt.device.createBuffer({ label: 'readback', size: buf.size, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
  const enc = rt.device.createCommandEncoder();
  enc.copyBufferToBuffer(buf, 0, staging, 0, buf.size);
  rt.device.queue.submit([enc.finish()]);
  await staging.mapAsync(MapMode.READ);
  const out = new Uint8Array(staging.getMappedRange().slice(0));
  staging.destroy();
  return out;
}

/** Mirror index for i ≥ 0 (ReflectionPad2d within one reflection, period 2(n−1) beyond). */
function mirror(i: number, n: number): number {
  if (n === 1) return 0;
  if (i < 2 * n - 1) return reflectIndex(i, n);
  const period = 2 * (n - 1);
  const r = i % period;
  return r < n ? r : period - r;
}

/** f16 bits → number (exact). */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** The float-format mapping of packImage: clamp(c, 0, 1)·2 − 1 in f32, NaN → −1. */
function unitOf(c: number): number {
  if (Number.isNaN(c)) return -1;
  return f(f(Math.min(Math.max(f(c), 0), 1)) * 2 - 1);
}

interface PackCase {
  format: ImageFormat;
  width: number;
  height: number;
  bytesPerRow: number;
  padW?: number;
  padH?: number;
  texels: Uint8Array;
  /** The expected value of channel ch at source pixel (x, y). */
  expected: (ch: number, x: number, y: number) => number;
}

async function runPack(rt: Runtime, lut: GpuTensor, tc: PackCase): Promise<{ got: Float32Array; want: Float32Array }> {
  const src = gpuBuffer(rt, tc.texels, 'texels');
  const outW = tc.padW ?? tc.width;
  const outH = tc.padH ?? tc.height;
  const y = await rt.run((rec) => packImage(rec, src, {
    format: tc.format, width: tc.width, height: tc.height, bytesPerRow: tc.bytesPerRow, lut,
    ...(tc.padW !== undefined ? { padW: tc.padW } : {}), ...(tc.padH !== undefined ? { padH: tc.padH } : {}),
  }));
  expect(y.shape).toEqual([3, outH, outW]);
  const got = await rt.read(y);
  y.release();
  src.destroy();
  const want = new Float32Array(3 * outH * outW);
  for (let ch = 0; ch < 3; ch++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) want[(ch * outH + oy) * outW + ox] = tc.expected(ch, mirror(ox, tc.width), mirror(oy, tc.height));
    }
  }
  return { got, want };
}

/** 8-bit texels where channel ch of pixel p is byteAt(ch, p); row padding and alpha are noise. */
function bytes8(width: number, height: number, bytesPerRow: number, order: 'rgba' | 'bgra', byteAt: (ch: number, p: number) => number): Uint8Array {
  const rng = makeRng(99);
  const out = Uint8Array.from({ length: bytesPerRow * height }, () => Math.floor(rng() * 256));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      const o = y * bytesPerRow + 4 * x;
      const [r, g, b] = [byteAt(0, p), byteAt(1, p), byteAt(2, p)];
      out.set(order === 'rgba' ? [r, g, b] : [b, g, r], o);
    }
  }
  return out;
}

describe('packImage', () => {
  const lutData = specLut();

  it('the spec LUT has NERCO.md §3.3 check values', () => {
    const hex = (u: number): string => bitsOf(lutData.subarray(u, u + 1))[0]!.toString(16);
    expect([0, 1, 64, 127, 128, 254, 255].map(hex)).toEqual(['bf800000', 'bf7dfdfe', 'befefefe', 'bb808080', '3b808100', '3f7dfdfe', '3f800000']);
  });

  // 16×16 pixels: channel ch of pixel p holds byte (p + 85·ch) mod 256, so every channel sees all
  // 256 values, each at a different position; 256 B rows hold 64 texels, the rest is noise.
  const byteAt = (ch: number, p: number): number => (p + 85 * ch) & 255;
  for (const format of ['rgba8unorm', 'bgra8unorm'] as const) {
    it(`${format}: all 256 byte values map through the LUT bit-exactly`, async () => {
      const rt = await testRuntime();
      const lut = rt.constant(lutData, [256], 'lut');
      const texels = bytes8(16, 16, 256, format === 'rgba8unorm' ? 'rgba' : 'bgra', byteAt);
      const { got, want } = await runPack(rt, lut, { format, width: 16, height: 16, bytesPerRow: 256, texels, expected: (ch, x, y) => lutData[byteAt(ch, y * 16 + x)]! });
      expect(bitMismatches(got, want)).toBe(0);
      lut.release();
    });
  }

  const pads: { name: string; width: number; height: number; padW: number; padH: number }[] = [
    { name: 'pad = n − 1 on both axes (5×3 → 9×5)', width: 5, height: 3, padW: 9, padH: 5 },
    { name: 'right only (7×8 → 8×8)', width: 7, height: 8, padW: 8, padH: 8 },
    { name: 'beyond one reflection (3×2 → 8×8)', width: 3, height: 2, padW: 8, padH: 8 },
    { name: 'a 1-pixel axis repeats (1×6 → 8×8)', width: 1, height: 6, padW: 8, padH: 8 },
    { name: 'odd image, no pad (13×11)', width: 13, height: 11, padW: 13, padH: 11 },
  ];
  for (const p of pads) {
    it(`reflect pad: ${p.name}, bit-exact`, async () => {
      const rt = await testRuntime();
      const lut = rt.constant(lutData, [256], 'lut');
      const bpr = 256;
      const at = (ch: number, q: number): number => (q * 37 + ch * 101 + 3) & 255;
      const texels = bytes8(p.width, p.height, bpr, 'rgba', at);
      const { got, want } = await runPack(rt, lut, { format: 'rgba8unorm', width: p.width, height: p.height, bytesPerRow: bpr, padW: p.padW, padH: p.padH, texels, expected: (ch, x, y) => lutData[at(ch, y * p.width + x)]! });
      expect(bitMismatches(got, want)).toBe(0);
      lut.release();
    });
  }

  it('rgba16float: every f16 bit pattern → clamp(c, 0, 1)·2 − 1 bit-exactly (subnormals, ±inf, NaN → −1)', async () => {
    const rt = await testRuntime();
    const lut = rt.constant(lutData, [256], 'lut');
    // 65536 halves, three per texel (R, G, B; alpha gets a fixed value), 128 texels per row.
    const width = 128;
    const height = Math.ceil(65536 / 3 / width);
    const bpr = width * 8;
    const halves = new Uint16Array((bpr / 2) * height);
    const halfAt = (ch: number, p: number): number => (3 * p + ch) & 0xffff;
    for (let p = 0; p < width * height; p++) {
      for (let ch = 0; ch < 3; ch++) halves[4 * p + ch] = halfAt(ch, p);
      halves[4 * p + 3] = 0x3c00;
    }
    const texels = new Uint8Array(halves.buffer);
    const { got, want } = await runPack(rt, lut, { format: 'rgba16float', width, height, bytesPerRow: bpr, texels, expected: (ch, x, y) => unitOf(halfToNumber(halfAt(ch, y * width + x))) });
    expect(bitMismatches(got, want)).toBe(0);
    lut.release();
  });

  it('rgba32float: random and special values → clamp(c, 0, 1)·2 − 1 bit-exactly (NaN → −1)', async () => {
    const rt = await testRuntime();
    const lut = rt.constant(lutData, [256], 'lut');
    const width = 23;
    const height = 9;
    const bpr = 512;
    const rng = makeRng(5);
    const specials = [NaN, Infinity, -Infinity, 0, -0, 1e-45, 1e-38, 1, f(1 - 2 ** -24), 1 + 2 ** -23, 0.5, f(0.5 + 2 ** -24), -1e-30, 1e30, 2 ** -25, f(1 / 3)];
    const floats = new Float32Array((bpr / 4) * height);
    const valueAt = new Map<number, number>();
    let s = 0;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        for (let ch = 0; ch < 4; ch++) {
          const v = s < specials.length ? specials[s++]! : -0.25 + 1.5 * rng();
          floats[(y * bpr) / 4 + 4 * x + ch] = v;
          valueAt.set((y * width + x) * 4 + ch, f(v));
        }
      }
    }
    const { got, want } = await runPack(rt, lut, { format: 'rgba32float', width, height, bytesPerRow: bpr, padW: 24, padH: 12, texels: new Uint8Array(floats.buffer), expected: (ch, x, y) => unitOf(valueAt.get((y * width + x) * 4 + ch)!) });
    expect(bitMismatches(got, want)).toBe(0);
    lut.release();
  });

  it('rejects a pad smaller than the image, a short row pitch and a short buffer', async () => {
    const rt = await testRuntime();
    const lut = rt.constant(lutData, [256], 'lut');
    const src = gpuBuffer(rt, new Uint8Array(256 * 4), 'src');
    const base = { format: 'rgba8unorm' as const, width: 8, height: 4, bytesPerRow: 256, lut };
    for (const bad of [{ ...base, padW: 7 }, { ...base, bytesPerRow: 28 }, { ...base, height: 5 }]) {
      await expect(rt.run((rec) => packImage(rec, src, bad))).rejects.toBeInstanceOf(InvalidArgumentError);
    }
    src.destroy();
    lut.release();
  });
});

/** NERCO.md §8 on the CPU, every step rounded to f32 with Math.fround. */
function refByte(a: number, rounding: 'truncate' | 'nearest'): number {
  if (Number.isNaN(a)) return 0;
  const v = f(f(a + 1) * 127.5);
  const r = rounding === 'truncate' ? Math.trunc(v) : Math.floor(f(v + 0.5));
  return Math.min(255, Math.max(0, r));
}

/** The float one ulp (in f32) above or below v. */
function nextF32(v: number, dir: 1 | -1): number {
  const buf = new Float32Array([v]);
  const bits = new Int32Array(buf.buffer);
  if (v === 0) return dir * 2 ** -149;
  bits[0]! += (v > 0 ? 1 : -1) * dir;
  return buf[0]!;
}

/** Values of fake_B at and around every code boundary of both rounding modes, plus specials. */
function boundaryValues(): number[] {
  const out: number[] = [];
  for (let k = 0; k <= 256; k++) {
    for (const centre of [k / 127.5 - 1, (k + 0.5) / 127.5 - 1]) {
      let lo = f(centre);
      let hi = lo;
      out.push(lo);
      for (let i = 0; i < 2; i++) {
        lo = nextF32(lo, -1);
        hi = nextF32(hi, 1);
        out.push(lo, hi);
      }
    }
  }
  // v = f32(f32(a+1)·127.5) = 0.5 − 2^-25 exactly, where f32(v + 0.5) rounds up to 1.
  out.push(65793 * 2 ** -24 - 1);
  out.push(NaN, Infinity, -Infinity, 1.5, -1.5, 0.99999994, -0.99999994, 0, -0, 1e30, -1e30);
  return out;
}

describe('unpackImage', () => {
  const values = boundaryValues();

  it('the boundary values tell truncate from nearest, and §8 from a·127.5 + 127.5 (the test can fail)', () => {
    expect(values.some((a) => refByte(a, 'truncate') !== refByte(a, 'nearest'))).toBe(true);
    const naive = (a: number): number => Math.min(255, Math.max(0, Math.trunc(f(f(a * 127.5) + 127.5))));
    expect(values.filter((a) => Number.isFinite(a)).some((a) => naive(a) !== refByte(a, 'truncate'))).toBe(true);
    // The fused form f32(v_exact + 0.5) differs from floor(f32(f32(v) + 0.5)) at the 0.5 − 2^-25 value.
    expect(refByte(65793 * 2 ** -24 - 1, 'nearest')).toBe(1);
  });

  for (const format of ['rgba8unorm', 'bgra8unorm'] as const) {
    for (const rounding of ['truncate', 'nearest'] as const) {
      it(`${format}, ${rounding}: bytes equal the Math.fround CPU version of §8; crop, alpha 255, row padding untouched`, async () => {
        const rt = await testRuntime();
        // Three planes of a [3, 29, 41] tensor; the crop is its top-left 37×29, rows of 256 bytes.
        const [h, w] = [29, 41];
        const [cw, chh] = [37, 29];
        const plane = h * w;
        const data = new Float32Array(3 * plane);
        const rng = makeRng(format.length + rounding.length);
        for (let i = 0; i < data.length; i++) data[i] = values[(i * 7 + Math.floor(rng() * 3)) % values.length]!;
        // Every boundary value lands in the crop of some channel.
        for (let i = 0; i < values.length; i++) data[(i % 3) * plane + Math.floor(i / 3) % chh * w + (Math.floor(i / 3 / chh) % cw)] = values[i]!;
        const x = rt.upload(data, [3, h, w], 'fakeB');
        const bpr = 256;
        const sentinel = 0xa5;
        const output = gpuBuffer(rt, new Uint8Array(bpr * chh).fill(sentinel), 'texels');
        const ret = await rt.run((rec) => unpackImage(rec, x, { width: cw, height: chh, bytesPerRow: bpr, rounding, format, output }));
        expect(ret).toBe(output);
        const got = await readBytes(rt, output);
        let mismatches = 0;
        for (let py = 0; py < chh; py++) {
          for (let px = 0; px < bpr / 4; px++) {
            const o = py * bpr + 4 * px;
            let want: number[];
            if (px < cw) {
              const [r, g, b] = [0, 1, 2].map((ch) => refByte(data[ch * plane + py * w + px]!, rounding)) as [number, number, number];
              want = format === 'rgba8unorm' ? [r, g, b, 255] : [b, g, r, 255];
            } else want = [sentinel, sentinel, sentinel, sentinel];
            for (let j = 0; j < 4; j++) if (got[o + j] !== want[j]) mismatches++;
          }
        }
        expect(mismatches).toBe(0);
        x.release();
        output.destroy();
      });
    }
  }

  it('creates a STORAGE | COPY_SRC buffer when no output is given', async () => {
    const rt = await testRuntime();
    const data = new Float32Array([-1, 0, 1, 0.5, -0.5, 0.25].flatMap((v) => [v, v]));
    const x = rt.upload(data, [3, 2, 2], 'fakeB');
    const buf = await rt.run((rec) => unpackImage(rec, x, { width: 2, height: 2, bytesPerRow: 256, rounding: 'truncate', format: 'rgba8unorm' }));
    expect(buf.size).toBeGreaterThanOrEqual(256 + 8);
    expect(buf.usage & BufferUsage.STORAGE).toBeTruthy();
    const got = await readBytes(rt, buf);
    const px = (p: number): number[] => [0, 1, 2].map((ch) => refByte(data[ch * 4 + p]!, 'truncate')).concat(255);
    expect([...got.subarray(0, 8), ...got.subarray(256, 264)]).toEqual([...px(0), ...px(1), ...px(2), ...px(3)]);
    buf.destroy();
    x.release();
  });

  it('rejects a crop larger than the tensor and a short row pitch', async () => {
    const rt = await testRuntime();
    const x = rt.tensor([3, 4, 4], 'fakeB');
    const base = { width: 4, height: 4, bytesPerRow: 256, rounding: 'truncate' as const, format: 'rgba8unorm' as const };
    for (const bad of [{ ...base, width: 5 }, { ...base, bytesPerRow: 12 }]) {
      await expect(rt.run((rec) => unpackImage(rec, x, bad))).rejects.toBeInstanceOf(InvalidArgumentError);
    }
    x.release();
  });
});
