import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, WeightsMismatchError } from '../../src/errors.js';
import {
  channelScale,
  maskFromFeatures,
  poolReflectPadded,
  prepareAttention,
  releaseAttention,
  spatialPlaneStride,
  spatialStats,
  type AttentionWeights,
} from '../../src/kernels/attention.js';
import type { HostTensor } from '../../src/nerco/host-tensor.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { maxAbsDiff, testRuntime } from '../helpers/gpu.js';
import { makeRng, randn, uniform, type Rng } from '../helpers/random.js';
import { channelMax, channelMean, globalAvgPool, globalMaxPool } from '../reference/elementwise.js';
import { channelAttention, maskExtractor, type MaskAttentionWeights } from '../reference/neth.js';
import { paddedShape, reflectPad } from '../reference/pad.js';
import type { Shape3 } from '../reference/types.js';

function host(data: Float32Array, shape: number[]): HostTensor {
  return { shape, data, sourceDtype: 'float32' };
}

/** Random netH attention weights at roughly PyTorch's default init scale (±1/√fan_in). */
function randomWeights(rng: Rng, ngf: number): MaskAttentionWeights {
  const r = ngf / 16;
  return {
    // Skewed positive: v is mostly positive, and z = ReLU(fc1·v) must not be all zero (at ngf 16
    // it is a single value), or ca would vanish.
    fc1: uniform(rng, r * 2 * ngf, -0.5 / Math.sqrt(2 * ngf), 1 / Math.sqrt(2 * ngf)),
    fc2: uniform(rng, 2 * ngf * r, -1 / Math.sqrt(r), 1 / Math.sqrt(r)),
    convCa: uniform(rng, ngf * 2 * ngf, -1 / Math.sqrt(2 * ngf), 1 / Math.sqrt(2 * ngf)),
    // Half the default init scale: |S| reaches ~10 at ngf 64 (|ca| up to ~5), and the logits must
    // stay within a few units so that the sigmoid is not saturated.
    conv1: uniform(rng, 98, -0.05, 0.05),
  };
}

function upload(rt: Runtime, w: MaskAttentionWeights, ngf: number): AttentionWeights {
  const r = ngf / 16;
  return prepareAttention(rt, {
    fc1: host(w.fc1, [r, 2 * ngf, 1, 1]),
    fc2: host(w.fc2, [2 * ngf, r, 1, 1]),
    convCa: host(w.convCa, [ngf, 2 * ngf, 1, 1]),
    conv1: host(w.conv1, [1, 2, 7, 7]),
  }, `netH attention ${ngf}`);
}

/** Feature maps like a ResBlock output: mostly positive, with negative values too. */
function randomFeatures(rng: Rng, shape: Shape3): Float32Array {
  return randn(rng, shape[0] * shape[1] * shape[2], 1, 0.5);
}

/** Σ over ReflectionPad2d(3)(x) per channel in float64, via multiplicities (no padded copy). */
function paddedSums(x: Float32Array, [c, h, w]: Shape3): Float64Array {
  const mult = (i: number, n: number): number => 1 + (i >= 1 && i <= 3 ? 1 : 0) + (i >= n - 4 && i <= n - 2 ? 1 : 0);
  const mw = Array.from({ length: w }, (_, i) => mult(i, w));
  const out = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    for (let y = 0; y < h; y++) {
      let row = 0;
      const at = (ch * h + y) * w;
      for (let xx = 0; xx < w; xx++) row += mw[xx]! * x[at + xx]!;
      s += mult(y, h) * row;
    }
    out[ch] = s;
  }
  return out;
}

describe('netH attention: global pooling over the reflect-padded map', () => {
  // Small planes hit the edge multiplicities (4×4: every row is reflected twice). A pooling tile is
  // 256 columns × 64 rows: 100×150, 70×300 and 65×257 need several partials per channel, 65×257
  // with a one-row, one-column tail. Widths 150, 257, 5, 7, 9 take the unaligned (non-vec4) path.
  const shapes: Shape3[] = [[16, 4, 4], [16, 5, 7], [3, 4, 9], [64, 13, 9], [64, 100, 150], [5, 70, 300], [4, 65, 257]];
  for (const shape of shapes) {
    it(`matches the float64 reference at ${shape.join('×')} (avg within 1e-6·mean|F|, max exact)`, async () => {
      const rt = await testRuntime();
      const rng = makeRng(1000 + shape[1] * 31 + shape[2]);
      const f0 = randomFeatures(rng, shape);
      const padded = reflectPad(f0, shape, 3);
      const pShape = paddedShape(shape, 3);
      const refAvg = globalAvgPool(padded, pShape);
      const refMax = globalMaxPool(padded, pShape);
      // The reference's own check of the multiplicity formula used by the shader and the 1080p test.
      const sums = paddedSums(f0, shape);
      const count = pShape[1] * pShape[2];
      for (let c = 0; c < shape[0]; c++) expect(Math.abs(sums[c]! / count - refAvg[c]!)).toBeLessThan(1e-6);

      const x = rt.upload(f0, [...shape], 'f0');
      const pooled = await rt.run((rec) => poolReflectPadded(rec, x));
      const got = await rt.read(pooled);
      x.release();
      pooled.release();
      const c = shape[0];
      let meanAbs = 0;
      for (const v of f0) meanAbs += Math.abs(v);
      meanAbs /= f0.length;
      expect(maxAbsDiff(got.subarray(0, c), refAvg)).toBeLessThanOrEqual(1e-6 * meanAbs);
      expect(Array.from(got.subarray(c, 2 * c))).toEqual(Array.from(refMax));
    });
  }

  it('keeps the relative error of the average below 1e-6 on 1080p planes (2×1080×1920)', async () => {
    const rt = await testRuntime();
    const shape: Shape3 = [2, 1080, 1920];
    const rng = makeRng(1080);
    // All positive, one channel with a large offset: the sum cannot hide error in cancellation.
    const f0 = uniform(rng, shape[0] * shape[1] * shape[2], 0.5, 1.5);
    for (let i = shape[1] * shape[2]; i < f0.length; i++) f0[i] = f0[i]! + 100;
    const count = (shape[1] + 6) * (shape[2] + 6);
    const ref = Array.from(paddedSums(f0, shape), (s) => s / count);
    const x = rt.upload(f0, [...shape], 'f0 1080p');
    const pooled = await rt.run((rec) => poolReflectPadded(rec, x));
    const got = await rt.read(pooled);
    x.release();
    pooled.release();
    for (let c = 0; c < 2; c++) expect(Math.abs(got[c]! - ref[c]!) / Math.abs(ref[c]!)).toBeLessThanOrEqual(1e-6);
  });
});

describe('netH attention: channel chain and spatial statistics', () => {
  for (const [ngf, h, w] of [[64, 13, 9], [16, 4, 4], [16, 6, 5]] as const) {
    it(`ca and S0 match the reference at ${ngf}×${h}×${w} (ca within 1e-5·(1+max|ca|), S0 within 1e-5·(1+max|S0|))`, async () => {
      const rt = await testRuntime();
      const rng = makeRng(7 * ngf + h * 13 + w);
      const shape: Shape3 = [ngf, h, w];
      const f0 = randomFeatures(rng, shape);
      const wts = randomWeights(rng, ngf);
      const refCa = channelAttention(reflectPad(f0, shape, 3), paddedShape(shape, 3), wts);
      // The spec's point (Q4): no sigmoid, so the attention can flip the sign of a channel.
      expect(refCa.some((v) => v < 0)).toBe(true);
      expect(refCa.some((v) => v > 0)).toBe(true);
      const o = new Float32Array(f0.length);
      for (let c = 0; c < ngf; c++) for (let k = 0; k < h * w; k++) o[c * h * w + k] = refCa[c]! * f0[c * h * w + k]!;
      const refMean = channelMean(o, shape);
      const refMax = channelMax(o, shape);

      const gw = upload(rt, wts, ngf);
      const x = rt.upload(f0, [...shape], 'f0');
      const { ca, s0 } = await rt.run(async (rec) => {
        const pooled = await poolReflectPadded(rec, x);
        const ca = await channelScale(rec, gw, pooled);
        pooled.release();
        return { ca, s0: await spatialStats(rec, x, ca) };
      });
      const gotCa = await rt.read(ca);
      const gotS = await rt.read(s0);
      const stride = spatialPlaneStride(h, w);
      expect(s0.size).toBe(2 * stride);
      const caScale = 1 + Math.max(...refCa.map(Math.abs));
      expect(maxAbsDiff(gotCa, refCa)).toBeLessThanOrEqual(1e-5 * caScale);
      const sScale = 1 + Math.max(...refMax.map(Math.abs), ...refMean.map(Math.abs));
      expect(maxAbsDiff(gotS.subarray(0, h * w), refMean)).toBeLessThanOrEqual(1e-5 * sScale);
      expect(maxAbsDiff(gotS.subarray(stride, stride + h * w), refMax)).toBeLessThanOrEqual(1e-5 * sScale);
      for (const t of [x, ca, s0]) t.release();
      releaseAttention(gw);
    });
  }
});

describe('netH attention: maskFromFeatures end to end', () => {
  // 4×4 is the smallest plane ReflectionPad2d(3) accepts; odd and non-square sizes; 100×150 takes
  // several pooling partials per channel.
  const cases: [number, number, number][] = [
    [64, 4, 4], [64, 13, 9], [64, 24, 40], [64, 100, 150],
    [16, 4, 4], [16, 5, 7], [16, 4, 11], [16, 7, 4], [16, 17, 33],
  ];
  for (const [ngf, h, w] of cases) {
    it(`matches the CPU reference at ${ngf}×${h}×${w} within 2e-6 absolute`, async () => {
      const rt = await testRuntime();
      const rng = makeRng(ngf * 1009 + h * 37 + w);
      const shape: Shape3 = [ngf, h, w];
      const f0 = randomFeatures(rng, shape);
      const wts = randomWeights(rng, ngf);
      const ref = maskExtractor(reflectPad(f0, shape, 3), paddedShape(shape, 3), wts);
      // The mask must not be saturated, or the comparison would say little about the logits.
      expect(ref.filter((v) => v > 0.1 && v < 0.9).length).toBeGreaterThan(ref.length / 4);

      const gw = upload(rt, wts, ngf);
      const x = rt.upload(f0, [...shape], 'f0');
      const mask = await rt.run((rec) => maskFromFeatures(rec, gw, x));
      expect(mask.shape).toEqual([1, h, w]);
      const got = await rt.read(mask);
      // sigmoid' ≤ 1/4; the logits are f32 sums of 98 taps of S (|S| up to ~10). Seen: ≤ 4e-7.
      expect(maxAbsDiff(got, ref)).toBeLessThanOrEqual(2e-6);
      expect(got.every((v) => v > 0 && v < 1)).toBe(true);
      // The input is only read.
      expect(maxAbsDiff(await rt.read(x), f0)).toBe(0);
      for (const t of [x, mask]) t.release();
      releaseAttention(gw);
    });
  }
});

describe('netH attention: argument checks', () => {
  it('rejects planes smaller than 4×4 and a channel count that differs from the weights', async () => {
    const rt = await testRuntime();
    const gw = upload(rt, randomWeights(makeRng(1), 16), 16);
    const small = rt.upload(new Float32Array(16 * 3 * 8), [16, 3, 8], 'f0 3×8');
    await expect(rt.run((rec) => maskFromFeatures(rec, gw, small))).rejects.toBeInstanceOf(InvalidArgumentError);
    const wrongC = rt.upload(new Float32Array(32 * 4 * 4), [32, 4, 4], 'f0 32ch');
    await expect(rt.run((rec) => maskFromFeatures(rec, gw, wrongC))).rejects.toBeInstanceOf(InvalidArgumentError);
    small.release();
    wrongC.release();
    releaseAttention(gw);
  });

  it('rejects weights that do not fit the layout', async () => {
    const rt = await testRuntime();
    const w = randomWeights(makeRng(2), 16);
    const good = { fc1: host(w.fc1, [1, 32, 1, 1]), fc2: host(w.fc2, [32, 1, 1, 1]), convCa: host(w.convCa, [16, 32, 1, 1]), conv1: host(w.conv1, [1, 2, 7, 7]) };
    expect(() => prepareAttention(rt, { ...good, fc2: host(w.fc2, [16, 2, 1, 1]) }, 'bad fc2')).toThrow(WeightsMismatchError);
    expect(() => prepareAttention(rt, { ...good, conv1: host(w.conv1, [2, 1, 7, 7]) }, 'bad conv1')).toThrow(WeightsMismatchError);
    expect(() => prepareAttention(rt, { ...good, convCa: host(w.convCa, [32, 16, 1, 1]) }, 'bad conv_ca')).toThrow(WeightsMismatchError);
    const ok = prepareAttention(rt, good, 'good');
    expect(ok.ngf).toBe(16);
    expect(ok.reduced).toBe(1);
    releaseAttention(ok);
  });
});
