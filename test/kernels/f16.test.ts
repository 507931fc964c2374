import { describe, expect, it } from 'vitest';
import { conv2d, prepareConv2d } from '../../src/kernels/conv2d.js';
import { f16Bits, f16Value, packF16Pair } from '../../src/kernels/f16.js';
import { instanceNormStats } from '../../src/kernels/instance-norm.js';
import { instanceNormResidualF16 } from '../../src/kernels/instance-norm-f16.js';
import type { HostTensor } from '../../src/nerco/host-tensor.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { GpuTensor } from '../../src/runtime/tensor.js';
import { conv2d as refConv2d } from '../reference/conv.js';
import { testRuntime } from '../helpers/gpu.js';
import { makeRng, randn, uniform } from '../helpers/random.js';
import { instanceNormStats as refStats, normalise } from './conv-input-norm.js';

/**
 * The f16 storage path (precision 'f16'): host f16 rounding, the subgroup conv with f16 weights
 * and channel-pair packed f16 inputs/outputs, statistics of f16 maps and the f16 residual add.
 * Tolerances come from the rounding: a weight or input rounded to f16 is off by ≤ 2⁻¹¹ of its
 * magnitude, so a conv output is off by ≤ 2⁻¹¹·Σ|w|·|x| (computed per output with the reference on
 * |w|, |x|), an f16 output by a further 2⁻¹¹·|y|; f32 sums add 1e-5·(1 + max|y|). On a device
 * without shader-f16 or subgroups the f16 kernels are not used by the model (see
 * test/nerco/f16.test.ts); these kernel checks need subgroups and say so when they are missing.
 */
const U = 2 ** -11;
const host = (data: Float32Array, shape: number[]): HostTensor => ({ shape, data, sourceDtype: 'float32' });
const roundF16 = (v: Float32Array) => Float32Array.from(v, (x) => f16Value(f16Bits(x)));

/** Uploads [C, H, W] (C even) as a channel-pair packed f16 tensor. */
function uploadF16(rt: Runtime, x: Float32Array, [c, h, w]: [number, number, number]): GpuTensor {
  const plane = h * w;
  const packed = new Uint32Array((c / 2) * plane);
  for (let p = 0; p < c / 2; p++) for (let i = 0; i < plane; i++) packed[p * plane + i] = packF16Pair(x[2 * p * plane + i]!, x[(2 * p + 1) * plane + i]!);
  const t = rt.tensor([c, h, w], 'x f16', 'f16');
  rt.device.queue.writeBuffer(t.buffer, 0, packed);
  return t;
}

/** Reads a channel-pair packed f16 tensor back as f32 [C, H, W]. */
async function readF16(rt: Runtime, t: GpuTensor): Promise<Float32Array> {
  const [c, h, w] = t.shape as [number, number, number];
  const plane = h * w;
  const raw = new Uint32Array((await rt.read(new GpuTensor(t.buffer, [(c / 2) * plane], 'f32', null, 'f16 view'))).buffer);
  const out = new Float32Array(c * plane);
  for (let p = 0; p < c / 2; p++) {
    for (let i = 0; i < plane; i++) {
      const u = raw[p * plane + i]!;
      out[2 * p * plane + i] = f16Value(u & 0xffff);
      out[(2 * p + 1) * plane + i] = f16Value(u >>> 16);
    }
  }
  return out;
}

function withinBound(got: Float32Array, ref: Float32Array, bound: Float32Array, extra: number): number {
  let worst = 0;
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(got[i]! - ref[i]!) - bound[i]! - extra);
  return worst;
}

describe('f16 host rounding', () => {
  it('rounds to nearest even, keeps subnormals, overflows to infinity', () => {
    expect(f16Bits(1)).toBe(0x3c00);
    expect(f16Value(f16Bits(2049))).toBe(2048); // tie → even
    expect(f16Value(f16Bits(2051))).toBe(2052); // tie → even
    expect(f16Value(f16Bits(0.1))).toBe(0.0999755859375);
    expect(f16Bits(5.960464477539063e-8)).toBe(1); // smallest subnormal
    expect(f16Bits(65520)).toBe(0x7c00);
    expect(f16Bits(-0)).toBe(0x8000);
    expect(Number.isNaN(f16Value(f16Bits(NaN)))).toBe(true);
    for (const x of [0.3, -1234.5, 3.14159, 1e-5, 6e4]) expect(Math.abs(f16Value(f16Bits(x)) - x)).toBeLessThanOrEqual(Math.abs(x) * U + 2 ** -25);
  });
});

describe('f16 storage kernels vs the CPU reference (bounds from f16 rounding, see above)', () => {
  it('conv with f16 weights, f32 input and output (the down convs, 2 channels per lane): |Δ| ≤ 2⁻¹¹·Σ|w||x| + 1e-5·(1+max|y|)', async () => {
    const rt = await testRuntime();
    expect(rt.hasSubgroups8).toBe(true);
    const rng = makeRng(41);
    const [cin, cout, h, w] = [24, 70, 9, 13];
    const x = uniform(rng, cin * h * w);
    const s = 1 / Math.sqrt(cin * 9);
    const wt = uniform(rng, cout * cin * 9, -s, s);
    const b = uniform(rng, cout, -0.5, 0.5);
    const opts = { stride: 2 as const, pad: 1, padMode: 'zero' as const };
    const ref = refConv2d(x, [cin, h, w], wt, [cout, cin, 3, 3], b, opts);
    const bound = Float32Array.from(refConv2d(Float32Array.from(x, Math.abs), [cin, h, w], Float32Array.from(wt, Math.abs), [cout, cin, 3, 3], null, opts), (v) => U * v);
    const weights = prepareConv2d(rt, host(wt, [cout, cin, 3, 3]), host(b, [cout]), 'f16 weights', undefined, { precision: 'f16', laneChannels: 2 });
    expect(weights.weightF16).toBe(true);
    const input = rt.upload(x, [cin, h, w], 'x');
    const out = await rt.run((rec) => conv2d(rec, weights, input, opts));
    const got = await rt.read(out);
    const maxRef = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(withinBound(got, ref, bound, 1e-5 * (1 + maxRef))).toBeLessThanOrEqual(0);
    for (const t of [input, out, weights.weight, weights.bias]) t?.release();
  });

  it('ResBlock conv B: f16 input with norm + ReLU, f16 weights, f16 output', async () => {
    const rt = await testRuntime();
    const rng = makeRng(42);
    const [cin, cout, h, w] = [16, 22, 11, 10];
    // The input as stored (f16) is what the statistics and the conv see.
    const x = roundF16(Float32Array.from(randn(rng, cin * h * w), (v, i) => 2 * v + (Math.floor(i / (h * w)) % 3) - 1));
    const stats = refStats(x, cin, h * w);
    const xn = normalise(x, stats, h * w, true);
    const s = 1 / Math.sqrt(cin * 9);
    const wt = roundF16(uniform(rng, cout * cin * 9, -s, s));
    const b = uniform(rng, cout, -0.5, 0.5);
    const opts = { stride: 1 as const, pad: 1, padMode: 'reflect' as const };
    const ref = refConv2d(xn, [cin, h, w], wt, [cout, cin, 3, 3], b, opts);
    const maxRef = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const weights = prepareConv2d(rt, host(wt, [cout, cin, 3, 3]), host(b, [cout]), 'f16 io', undefined, { precision: 'f16' });
    const input = uploadF16(rt, x, [cin, h, w]);
    const statsT = rt.upload(stats, [cin, 2], 'stats');
    const out = await rt.run((rec) => conv2d(rec, weights, input, { ...opts, inputNorm: { stats: statsT, relu: true }, outputDtype: 'f16' }));
    expect(out.dtype).toBe('f16');
    const got = await readF16(rt, out);
    expect(withinBound(got, ref, Float32Array.from(ref, (v) => U * Math.abs(v)), 1e-5 * (1 + maxRef))).toBeLessThanOrEqual(0);
    for (const t of [input, out, statsT, weights.weight, weights.bias]) t?.release();
  });

  it('statistics of an f16 map and the f16 residual add', async () => {
    const rt = await testRuntime();
    const rng = makeRng(43);
    const [c, h, w] = [6, 9, 7];
    const plane = h * w;
    const x = roundF16(Float32Array.from(randn(rng, c * plane), (v) => 3 * v + 5));
    const ref = refStats(x, c, plane);
    const t = uploadF16(rt, x, [c, h, w]);
    const statsT = await rt.run((rec) => instanceNormStats(rec, t, 'f16 stats'));
    const got = await rt.read(statsT);
    for (let ch = 0; ch < c; ch++) {
      expect(Math.abs(got[2 * ch]! - ref[2 * ch]!)).toBeLessThanOrEqual(2e-6 * (1 + 20));
      expect(Math.abs(got[2 * ch + 1]! / ref[2 * ch + 1]! - 1)).toBeLessThanOrEqual(2e-5);
    }
    const res = uniform(rng, c * plane);
    const y = rt.upload(res, [c, h, w], 'y');
    await rt.run((rec) => instanceNormResidualF16(rec, t, statsT, y, 'f16 residual'));
    const want = Float32Array.from(normalise(x, got, plane, false), (v, i) => v + res[i]!);
    const gotY = await rt.read(y);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(gotY[i]! - want[i]!));
    expect(worst).toBeLessThanOrEqual(1e-5 * 8);
    for (const u of [t, statsT, y]) u.release();
  });
});
