import { describe, expect, it } from 'vitest';
import { convTranspose2d, prepareConvTranspose2d, type ConvTranspose2dTiling } from '../../src/kernels/conv-transpose2d.js';
import { InvalidArgumentError } from '../../src/errors.js';
import type { HostTensor } from '../../src/nerco/host-tensor.js';
import { convTranspose2d as refConvTranspose2d } from '../reference/conv.js';
import { maxAbsDiff, testRuntime } from '../helpers/gpu.js';
import { makeRng, randn, uniform } from '../helpers/random.js';
import { instanceNormStats, normalise } from './conv-input-norm.js';

/**
 * GPU (gather form) vs the float64 CPU reference in scatter form (test/reference/conv.ts), so the
 * two share no indexing logic. Weights are scaled by 1/sqrt(Cin·9), outputs are O(1), and each
 * output sums at most 4·Cin terms: tolerance 1e-5·(1 + max|ref|).
 */
const TOL = 1e-5;

interface Case {
  readonly name: string;
  readonly cin: number;
  readonly cout: number;
  readonly h: number;
  readonly w: number;
  readonly bias?: boolean;
  readonly norm?: 'plain' | 'relu';
  readonly tiling?: ConvTranspose2dTiling;
}

function host(data: Float32Array, shape: number[]): HostTensor {
  return { shape, data, sourceDtype: 'float32' };
}

function maxAbs(v: Float32Array): number {
  return v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
}

async function check(c: Case, seed: number): Promise<void> {
  const rt = await testRuntime();
  const rng = makeRng(seed);
  const plane = c.h * c.w;
  const x = c.norm ? Float32Array.from(randn(rng, c.cin * plane), (v) => 2.5 * v - 1.5) : uniform(rng, c.cin * plane);
  const scale = 1 / Math.sqrt(c.cin * 9);
  const wt = uniform(rng, c.cin * c.cout * 9, -scale, scale);
  const b = c.bias === false ? null : uniform(rng, c.cout, -0.5, 0.5);

  let refIn: Float32Array = x;
  let stats: Float32Array | null = null;
  if (c.norm) {
    stats = instanceNormStats(x, c.cin, plane);
    refIn = normalise(x, stats, plane, c.norm === 'relu');
  }
  const ref = refConvTranspose2d(refIn, [c.cin, c.h, c.w], wt, [c.cin, c.cout, 3, 3], b);

  const weights = prepareConvTranspose2d(rt, host(wt, [c.cin, c.cout, 3, 3]), b && host(b, [c.cout]), `test ${c.name}`, c.tiling);
  const input = rt.upload(x, [c.cin, c.h, c.w], 'x');
  const statsT = stats ? rt.upload(stats, [c.cin, 2], 'stats') : null;
  const out = await rt.run((rec) =>
    convTranspose2d(rec, weights, input, { inputNorm: statsT ? { stats: statsT, relu: c.norm === 'relu' } : undefined }),
  );
  expect(out.shape).toEqual([c.cout, 2 * c.h, 2 * c.w]);
  const got = await rt.read(out);
  expect(maxAbsDiff(got, ref)).toBeLessThanOrEqual(TOL * (1 + maxAbs(ref)));
  for (const t of [input, out, statsT, weights.weight, weights.bias]) t?.release();
}

const CASES: Case[] = [
  { name: '6→5 on odd 5×7', cin: 6, cout: 5, h: 5, w: 7 },
  { name: '3→6 on 1×1', cin: 3, cout: 6, h: 1, w: 1 },
  { name: '5→3 on 1×2, no bias', cin: 5, cout: 3, h: 1, w: 2, bias: false },
  { name: '5→3 on 3×2, input norm + ReLU', cin: 5, cout: 3, h: 3, w: 2, norm: 'relu' },
  { name: '4→9 on 4×5, input norm without ReLU, no bias', cin: 4, cout: 9, h: 4, w: 5, norm: 'plain', bias: false },
  { name: '6→7 on 2×11 (wider than one block)', cin: 6, cout: 7, h: 2, w: 11, norm: 'relu' },
  // NeRCo's first up-sampling layer at full depth, on a small map.
  { name: '256→128 on 3×4, input norm + ReLU', cin: 256, cout: 128, h: 3, w: 4, norm: 'relu' },
  // Other register blocks than the default: block edges anywhere, Cout not a multiple of the block.
  { name: 'tiling 1×1, 5→6 on 3×3', cin: 5, cout: 6, h: 3, w: 3, tiling: { qx: 1, cob: 1 } },
  { name: 'tiling 3×2, 6→10 on 5×7, input norm', cin: 6, cout: 10, h: 5, w: 7, norm: 'relu', tiling: { qx: 3, cob: 2 } },
  { name: 'tiling 8×2, 3→13 on 2×5', cin: 3, cout: 13, h: 2, w: 5, tiling: { qx: 8, cob: 2 } },
];

describe('convTranspose2d kernel (k3 s2 p1 op1) vs the CPU reference (tolerance 1e-5·(1+max|ref|))', () => {
  CASES.forEach((c, i) => {
    it(c.name, async () => { await check(c, 2000 + i); });
  });

  it('writes into a given output tensor and returns it', async () => {
    const rt = await testRuntime();
    const rng = makeRng(11);
    const wt = uniform(rng, 4 * 3 * 9, -0.3, 0.3);
    const b = uniform(rng, 3);
    const x = uniform(rng, 4 * 3 * 5);
    const weights = prepareConvTranspose2d(rt, host(wt, [4, 3, 3, 3]), host(b, [3]), 'output test');
    const input = rt.upload(x, [4, 3, 5], 'x');
    // Stale content: every element must be overwritten.
    const given = rt.upload(new Float32Array(3 * 6 * 10).fill(Number.NaN), [3, 6, 10], 'given');
    const out = await rt.run((rec) => convTranspose2d(rec, weights, input, { output: given }));
    expect(out).toBe(given);
    const ref = refConvTranspose2d(x, [4, 3, 5], wt, [4, 3, 3, 3], b);
    expect(maxAbsDiff(await rt.read(out), ref)).toBeLessThanOrEqual(TOL * (1 + maxAbs(ref)));
    for (const t of [input, given, weights.weight, weights.bias]) t?.release();
  });

  it('rejects a wrong output shape, a channel mismatch and a non-3×3 weight', async () => {
    const rt = await testRuntime();
    const weights = prepareConvTranspose2d(rt, host(new Float32Array(4 * 3 * 9), [4, 3, 3, 3]), null, 'reject test');
    const input = rt.tensor([4, 2, 2], 'x');
    const wrong = rt.tensor([3, 4, 5], 'wrong');
    await expect(rt.run((rec) => convTranspose2d(rec, weights, input, { output: wrong }))).rejects.toBeInstanceOf(InvalidArgumentError);
    const badIn = rt.tensor([3, 2, 2], 'bad');
    await expect(rt.run((rec) => convTranspose2d(rec, weights, badIn))).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(() => prepareConvTranspose2d(rt, host(new Float32Array(4 * 3 * 4), [4, 3, 2, 2]), null, 'k2')).toThrow(InvalidArgumentError);
    for (const t of [input, wrong, badIn, weights.weight]) t.release();
  });
});
