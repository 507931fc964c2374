import { describe, expect, it } from 'vitest';
import { conv2d, conv2dKernelFor, prepareConv2d, type Conv2dKernel, type Conv2dOptions } from '../../src/kernels/conv2d.js';
import { conv2dSgTileFor } from '../../src/kernels/conv2d-sg.js';
import { InvalidArgumentError } from '../../src/errors.js';
import type { HostTensor } from '../../src/nerco/host-tensor.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { conv2d as refConv2d } from '../reference/conv.js';
import { maxAbsDiff, testRuntime } from '../helpers/gpu.js';
import { makeRng, randn, uniform } from '../helpers/random.js';
import { instanceNormStats, normalise } from './conv-input-norm.js';

/**
 * The subgroup 3×3 conv (shaders/conv2d_sg.wgsl) against the float64 CPU reference, on shapes
 * that put tile edges anywhere: maps not multiples of the 8×4 tile, 1×1 and 2×2 maps, Cin not a
 * multiple of 8 (the statistics are shuffled in groups of 8), Cout beyond one workgroup's 64 and
 * not a multiple of 8 (padded lanes must not store), stride 2 on odd sizes, both paddings, the
 * fused norm, and row bands. Tolerance 1e-5·(1 + max|ref|) as for conv2d (f32 sums of ≤ 2.3k
 * terms of O(1/sqrt(fan-in))). On a device without subgroups the cases check that the portable
 * kernel is chosen and still agrees.
 */
const TOL = 1e-5;

interface Case {
  readonly name: string;
  readonly cin: number;
  readonly cout: number;
  readonly h: number;
  readonly w: number;
  readonly stride: 1 | 2;
  readonly padMode: 'zero' | 'reflect';
  readonly norm?: 'plain' | 'relu';
  readonly bias?: boolean;
  readonly activation?: 'none' | 'relu' | 'tanh' | 'sigmoid';
  /** Output channels per lane of the subgroup kernel (default 1). */
  readonly laneChannels?: 1 | 2;
  /** Kernel size (default 3); 7 with pad 3 (the stems). */
  readonly k?: 3 | 7;
}

const host = (data: Float32Array, shape: number[]): HostTensor => ({ shape, data, sourceDtype: 'float32' });

/** This file tests the subgroup kernel: without subgroups it would test the portable one under its name. */
function expected(rt: Runtime): Conv2dKernel {
  expect(rt.hasSubgroups8, 'the adapter must offer subgroups of ≥ 8 lanes (lavapipe does)').toBe(true);
  return 'subgroup';
}

async function check(c: Case, seed: number): Promise<void> {
  const rt = await testRuntime();
  const rng = makeRng(seed);
  const k = c.k ?? 3;
  const pad = (k - 1) / 2;
  const fan = c.cin * k * k;
  const x = c.norm
    ? Float32Array.from(randn(rng, c.cin * c.h * c.w), (v, i) => 2 * v * (1 + (Math.floor(i / (c.h * c.w)) % 3)) - 1)
    : uniform(rng, c.cin * c.h * c.w);
  const wt = uniform(rng, c.cout * fan, -1 / Math.sqrt(fan), 1 / Math.sqrt(fan));
  const b = c.bias === false ? null : uniform(rng, c.cout, -0.5, 0.5);
  let refIn = x;
  let stats: Float32Array | null = null;
  if (c.norm) {
    stats = instanceNormStats(x, c.cin, c.h * c.w);
    refIn = normalise(x, stats, c.h * c.w, c.norm === 'relu');
  }
  const act = c.activation ?? 'none';
  const f = { none: (v: number) => v, relu: (v: number) => Math.max(v, 0), tanh: Math.tanh, sigmoid: (v: number) => 1 / (1 + Math.exp(-v)) }[act];
  const ref = Float32Array.from(refConv2d(refIn, [c.cin, c.h, c.w], wt, [c.cout, c.cin, k, k], b, { stride: c.stride, pad, padMode: c.padMode }), f);

  const weights = prepareConv2d(rt, host(wt, [c.cout, c.cin, k, k]), b && host(b, [c.cout]), `sg ${c.name}`, undefined, { laneChannels: c.laneChannels });
  expect(weights.kernel).toBe(expected(rt));
  const input = rt.upload(x, [c.cin, c.h, c.w], 'x');
  const statsT = stats ? rt.upload(stats, [c.cin, 2], 'stats') : null;
  const opts: Conv2dOptions = { stride: c.stride, pad, padMode: c.padMode, activation: act, inputNorm: statsT ? { stats: statsT, relu: c.norm === 'relu' } : undefined };
  const out = await rt.run((rec) => conv2d(rec, weights, input, opts));
  const got = await rt.read(out);
  const maxRef = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  expect(maxAbsDiff(got, ref)).toBeLessThanOrEqual(TOL * (1 + maxRef));
  for (const t of [input, out, statsT, weights.weight, weights.bias]) t?.release();
}

const CASES: Case[] = [
  { name: '20→70 on 13×19 reflect, norm + ReLU (tiles overhang, Cout over one workgroup)', cin: 20, cout: 70, h: 13, w: 19, stride: 1, padMode: 'reflect', norm: 'relu' },
  { name: '64→64 on 9×16 zero, plain norm, sigmoid', cin: 64, cout: 64, h: 9, w: 16, stride: 1, padMode: 'zero', norm: 'plain', activation: 'sigmoid' },
  { name: '5→13 on 1×1 zero, no bias', cin: 5, cout: 13, h: 1, w: 1, stride: 1, padMode: 'zero', bias: false },
  { name: '7→9 on 2×2 reflect (p = n−1), tanh', cin: 7, cout: 9, h: 2, w: 2, stride: 1, padMode: 'reflect', activation: 'tanh' },
  { name: '16→24 stride 2 on odd 11×9 zero, norm + ReLU', cin: 16, cout: 24, h: 11, w: 9, stride: 2, padMode: 'zero', norm: 'relu' },
  { name: '9→8 stride 2 on 5×21 reflect, relu', cin: 9, cout: 8, h: 5, w: 21, stride: 2, padMode: 'reflect', activation: 'relu' },
  { name: '256→256 on 5×6 reflect, norm + ReLU (full depth)', cin: 256, cout: 256, h: 5, w: 6, stride: 1, padMode: 'reflect', norm: 'relu' },
  // Two output channels per lane (the down convs' packing): Cout padded to 128 per workgroup.
  { name: '2 channels per lane: 18→70 stride 2 on odd 13×11 zero, norm + ReLU', cin: 18, cout: 70, h: 13, w: 11, stride: 2, padMode: 'zero', norm: 'relu', laneChannels: 2 },
  { name: '2 channels per lane: 8→140 on 6×9 reflect, tanh', cin: 8, cout: 140, h: 6, w: 9, stride: 1, padMode: 'reflect', activation: 'tanh', laneChannels: 2 },
  // 7×7 with ≥ 32 outputs (the stems): the same kernel with K = 7.
  { name: '7×7 3→64 on 13×11 reflect3 (stem)', cin: 3, cout: 64, h: 13, w: 11, stride: 1, padMode: 'reflect', k: 7 },
  { name: '7×7 6→40 on 4×4 reflect3 (p = n−1), norm + ReLU', cin: 6, cout: 40, h: 4, w: 4, stride: 1, padMode: 'reflect', norm: 'relu', k: 7 },
  { name: '7×7 5→33 stride 2 on odd 9×7 zero3, sigmoid', cin: 5, cout: 33, h: 9, w: 7, stride: 2, padMode: 'zero', activation: 'sigmoid', k: 7 },
];

describe('conv2d subgroup kernel (3×3, 7×7) vs the CPU reference (tolerance 1e-5·(1+max|ref|))', () => {
  CASES.forEach((c, i) => {
    it(c.name, async () => { await check(c, 500 + i); });
  });

  it('row bands give the rows of the whole conv', async () => {
    const rt = await testRuntime();
    const rng = makeRng(77);
    const [cin, cout, h, w] = [12, 16, 11, 10];
    const x = uniform(rng, cin * h * w);
    const wt = uniform(rng, cout * cin * 9, -0.3, 0.3);
    const b = uniform(rng, cout, -0.5, 0.5);
    const weights = prepareConv2d(rt, host(wt, [cout, cin, 3, 3]), host(b, [cout]), 'sg band');
    const whole = refConv2d(x, [cin, h, w], wt, [cout, cin, 3, 3], b, { stride: 1, pad: 1, padMode: 'reflect' });
    // Output rows 4…8 need input rows 3…9 of the image.
    const [inRow0, inRows, outRow0, outRows] = [3, 7, 4, 5];
    const band = new Float32Array(cin * inRows * w);
    for (let c = 0; c < cin; c++) band.set(x.subarray((c * h + inRow0) * w, (c * h + inRow0 + inRows) * w), c * inRows * w);
    const input = rt.upload(band, [cin, inRows, w], 'band');
    const out = await rt.run((rec) => conv2d(rec, weights, input, { stride: 1, pad: 1, padMode: 'reflect', band: { imageHeight: h, inRow0, outRow0, outRows } }));
    const want = new Float32Array(cout * outRows * w);
    for (let c = 0; c < cout; c++) want.set(whole.subarray((c * h + outRow0) * w, (c * h + outRow0 + outRows) * w), c * outRows * w);
    expect(maxAbsDiff(await rt.read(out), want)).toBeLessThanOrEqual(TOL * (1 + want.reduce((m, v) => Math.max(m, Math.abs(v)), 0)));
    for (const t of [input, out, weights.weight, weights.bias]) t?.release();
  });

  it('picks the kernel by size and device; a forced tiling or kernel is honoured or refused', async () => {
    const rt = await testRuntime();
    expect(conv2dKernelFor(rt, 3)).toBe(expected(rt));
    expect(conv2dKernelFor(rt, 7, {}, undefined, 64)).toBe(expected(rt));
    expect(conv2dKernelFor(rt, 7, {}, undefined, 3)).toBe('portable');
    expect(conv2dKernelFor(rt, 1)).toBe('portable');
    expect(conv2dKernelFor(rt, 3, { kernel: 'portable' })).toBe('portable');
    expect(conv2dKernelFor(rt, 3, {}, { px: 4, py: 1, cob: 1 })).toBe('portable');
    expect(() => conv2dKernelFor(rt, 5, { kernel: 'subgroup' })).toThrow(InvalidArgumentError);
    if (!rt.hasSubgroups8) expect(() => conv2dKernelFor(rt, 3, { kernel: 'subgroup' })).toThrow(InvalidArgumentError);
    // Tiles: 8×4, narrower on narrow maps and no taller than the map.
    expect(conv2dSgTileFor(16, 16)).toEqual({ px: 8, py: 4 });
    expect(conv2dSgTileFor(2, 3)).toEqual({ px: 4, py: 2 });
  });
});
