import { describe, expect, it } from 'vitest';
import { conv2d, prepareConv2d, type Activation, type Conv2dTiling } from '../../src/kernels/conv2d.js';
import { InvalidArgumentError } from '../../src/errors.js';
import type { HostTensor } from '../../src/nerco/host-tensor.js';
import { conv2d as refConv2d } from '../reference/conv.js';
import { maxAbsDiff, testRuntime } from '../helpers/gpu.js';
import { makeRng, randn, uniform } from '../helpers/random.js';
import { instanceNormStats, normalise } from './conv-input-norm.js';

/**
 * Each GPU result is compared with the float64 CPU reference (test/reference/conv.ts). Weights are
 * scaled by 1/sqrt(fan-in) so outputs are O(1); f32 sums of up to a few thousand such terms stay
 * well inside the tolerance 1e-5·(1 + max|ref|).
 */
const TOL = 1e-5;

interface Case {
  readonly name: string;
  readonly cin: number;
  readonly cout: number;
  readonly k: number;
  readonly h: number;
  readonly w: number;
  readonly stride: 1 | 2;
  readonly pad: number;
  readonly padMode: 'zero' | 'reflect';
  readonly bias?: boolean;
  readonly norm?: 'plain' | 'relu';
  readonly activation?: Activation;
  readonly tiling?: Conv2dTiling;
  /** Scales the input (large values exercise tanh/sigmoid saturation). */
  readonly inputScale?: number;
}

function host(data: Float32Array, shape: number[]): HostTensor {
  return { shape, data, sourceDtype: 'float32' };
}

function applyActivation(v: Float32Array, act: Activation): Float32Array {
  const f: Record<Activation, (x: number) => number> = {
    none: (x) => x,
    relu: (x) => Math.max(x, 0),
    tanh: Math.tanh,
    sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  };
  return Float32Array.from(v, f[act]);
}

async function check(c: Case, seed: number): Promise<void> {
  const rt = await testRuntime();
  const rng = makeRng(seed);
  const fan = c.cin * c.k * c.k;
  const scale = c.inputScale ?? 1;
  // A norm test feeds an un-normalised input (offset and spread differ per channel).
  const x = c.norm ? Float32Array.from(randn(rng, c.cin * c.h * c.w), (v, i) => 3 * v * (1 + (Math.floor(i / (c.h * c.w)) % 3)) + 2) : Float32Array.from(uniform(rng, c.cin * c.h * c.w), (v) => v * scale);
  const wt = uniform(rng, c.cout * fan, -1 / Math.sqrt(fan), 1 / Math.sqrt(fan));
  const b = c.bias === false ? null : uniform(rng, c.cout, -0.5, 0.5);

  let refIn: Float32Array = x;
  let stats: Float32Array | null = null;
  if (c.norm) {
    stats = instanceNormStats(x, c.cin, c.h * c.w);
    refIn = normalise(x, stats, c.h * c.w, c.norm === 'relu');
  }
  const ref = applyActivation(
    refConv2d(refIn, [c.cin, c.h, c.w], wt, [c.cout, c.cin, c.k, c.k], b, { stride: c.stride, pad: c.pad, padMode: c.padMode }),
    c.activation ?? 'none',
  );

  const weights = prepareConv2d(rt, host(wt, [c.cout, c.cin, c.k, c.k]), b && host(b, [c.cout]), `test ${c.name}`, c.tiling);
  const input = rt.upload(x, [c.cin, c.h, c.w], 'x');
  const statsT = stats ? rt.upload(stats, [c.cin, 2], 'stats') : null;
  const out = await rt.run((rec) =>
    conv2d(rec, weights, input, {
      stride: c.stride,
      pad: c.pad,
      padMode: c.padMode,
      activation: c.activation,
      inputNorm: statsT ? { stats: statsT, relu: c.norm === 'relu' } : undefined,
    }),
  );
  const ho = Math.floor((c.h + 2 * c.pad - c.k) / c.stride) + 1;
  const wo = Math.floor((c.w + 2 * c.pad - c.k) / c.stride) + 1;
  expect(out.shape).toEqual([c.cout, ho, wo]);
  const got = await rt.read(out);
  const maxRef = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  expect(maxAbsDiff(got, ref)).toBeLessThanOrEqual(TOL * (1 + maxRef));
  for (const t of [input, out, statsT, weights.weight, weights.bias]) t?.release();
}

const CASES: Case[] = [
  // The stem and head shapes of NeRCo (7×7 after ReflectionPad2d(3)), channels not multiples of 4.
  { name: 'k7 reflect3 3→6', cin: 3, cout: 6, k: 7, h: 9, w: 11, stride: 1, pad: 3, padMode: 'reflect' },
  { name: 'k7 reflect3 6→5 at p = n−1 (4×4)', cin: 6, cout: 5, k: 7, h: 4, w: 4, stride: 1, pad: 3, padMode: 'reflect' },
  { name: 'k7 reflect3 5→3 tanh head, input norm + ReLU', cin: 5, cout: 3, k: 7, h: 8, w: 13, stride: 1, pad: 3, padMode: 'reflect', norm: 'relu', activation: 'tanh' },
  // ResBlock convs (3×3 after ReflectionPad2d(1)).
  { name: 'k3 reflect1 6→6 at 2×2 (p = n−1), input norm + ReLU', cin: 6, cout: 6, k: 3, h: 2, w: 2, stride: 1, pad: 1, padMode: 'reflect', norm: 'relu' },
  { name: 'k3 reflect1 5→7 input norm without ReLU', cin: 5, cout: 7, k: 3, h: 5, w: 6, stride: 1, pad: 1, padMode: 'reflect', norm: 'plain' },
  { name: 'k3 reflect1 64→64 at 12×16', cin: 64, cout: 64, k: 3, h: 12, w: 16, stride: 1, pad: 1, padMode: 'reflect', norm: 'relu' },
  { name: 'k3 reflect1 256→256 at 3×5 (full depth)', cin: 256, cout: 256, k: 3, h: 3, w: 5, stride: 1, pad: 1, padMode: 'reflect', bias: false },
  // Downsampling convs (3×3, stride 2, zero padding 1), odd sizes, with and without input norm.
  { name: 'k3 s2 zero1 5→6 on odd 7×9', cin: 5, cout: 6, k: 3, h: 7, w: 9, stride: 2, pad: 1, padMode: 'zero' },
  { name: 'k3 s2 zero1 6→9 on 9×4, input norm + ReLU', cin: 6, cout: 9, k: 3, h: 9, w: 4, stride: 2, pad: 1, padMode: 'zero', norm: 'relu' },
  { name: 'k3 s2 zero1 3→5 on 1×1', cin: 3, cout: 5, k: 3, h: 1, w: 1, stride: 2, pad: 1, padMode: 'zero' },
  { name: 'k3 s2 zero1 3→4 on 2×2, input norm without ReLU', cin: 3, cout: 4, k: 3, h: 2, w: 2, stride: 2, pad: 1, padMode: 'zero', norm: 'plain' },
  // NRN fast form (3×3, zero padding 1, stride 1), incl. a 1×1 map where only the centre tap is real.
  { name: 'k3 s1 zero1 6→10 relu', cin: 6, cout: 10, k: 3, h: 6, w: 7, stride: 1, pad: 1, padMode: 'zero', activation: 'relu' },
  { name: 'k3 s1 zero1 5→3 on 1×1, no bias', cin: 5, cout: 3, k: 3, h: 1, w: 1, stride: 1, pad: 1, padMode: 'zero', bias: false },
  // 1×1 convs (the per-pixel MLP), incl. stride 2.
  { name: 'k1 6→5', cin: 6, cout: 5, k: 1, h: 3, w: 5, stride: 1, pad: 0, padMode: 'zero' },
  { name: 'k1 s2 5→6 on 5×7', cin: 5, cout: 6, k: 1, h: 5, w: 7, stride: 2, pad: 0, padMode: 'zero' },
  { name: 'k1 3→3 on 1×1', cin: 3, cout: 3, k: 1, h: 1, w: 1, stride: 1, pad: 0, padMode: 'zero' },
  // Less common combinations the kernel still supports.
  { name: 'k7 s2 reflect3 3→5 on odd 9×7', cin: 3, cout: 5, k: 7, h: 9, w: 7, stride: 2, pad: 3, padMode: 'reflect' },
  { name: 'k7 zero3 3→4 at 2×3 (pad larger than the input)', cin: 3, cout: 4, k: 7, h: 2, w: 3, stride: 1, pad: 3, padMode: 'zero' },
  { name: 'k3 no padding 4→4', cin: 4, cout: 4, k: 3, h: 4, w: 6, stride: 1, pad: 0, padMode: 'reflect' },
  // Epilogues, with inputs large enough to saturate tanh/sigmoid (checks no NaN at |x| ≫ 15).
  { name: 'k3 tanh, saturating', cin: 4, cout: 6, k: 3, h: 5, w: 5, stride: 1, pad: 1, padMode: 'reflect', activation: 'tanh', inputScale: 400 },
  { name: 'k3 sigmoid, saturating', cin: 4, cout: 6, k: 3, h: 5, w: 5, stride: 1, pad: 1, padMode: 'reflect', activation: 'sigmoid', inputScale: 400 },
  { name: 'k1 sigmoid', cin: 8, cout: 1, k: 1, h: 4, w: 9, stride: 1, pad: 0, padMode: 'zero', activation: 'sigmoid' },
  { name: 'k3 relu, no bias', cin: 4, cout: 6, k: 3, h: 5, w: 5, stride: 1, pad: 1, padMode: 'zero', activation: 'relu', bias: false },
  // Other register blocks than the default: the block edges must land anywhere in the output.
  { name: 'tiling 1×1×1 k3 s2 reflect', cin: 5, cout: 6, k: 3, h: 7, w: 6, stride: 2, pad: 1, padMode: 'reflect', tiling: { px: 1, py: 1, cob: 1 } },
  { name: 'tiling 8×2×3 k3 reflect norm', cin: 6, cout: 26, k: 3, h: 5, w: 11, stride: 1, pad: 1, padMode: 'reflect', norm: 'relu', tiling: { px: 8, py: 2, cob: 3 } },
  { name: 'tiling 2×4×1 k7 zero s2', cin: 3, cout: 5, k: 7, h: 11, w: 5, stride: 2, pad: 3, padMode: 'zero', tiling: { px: 2, py: 4, cob: 1 } },
];

describe('conv2d kernel vs the CPU reference (tolerance 1e-5·(1+max|ref|))', () => {
  CASES.forEach((c, i) => {
    it(c.name, async () => { await check(c, 1000 + i); });
  });

  it('writes into a given output tensor and returns it', async () => {
    const rt = await testRuntime();
    const rng = makeRng(7);
    const wt = uniform(rng, 5 * 3 * 9, -0.3, 0.3);
    const x = uniform(rng, 3 * 6 * 5);
    const weights = prepareConv2d(rt, host(wt, [5, 3, 3, 3]), null, 'output test');
    const input = rt.upload(x, [3, 6, 5], 'x');
    // A pooled tensor with stale content: every element must be overwritten.
    const given = rt.upload(new Float32Array(5 * 3 * 3).fill(Number.NaN), [5, 3, 3], 'given');
    const out = await rt.run((rec) => conv2d(rec, weights, input, { stride: 2, pad: 1, padMode: 'reflect', output: given }));
    expect(out).toBe(given);
    const ref = refConv2d(x, [3, 6, 5], wt, [5, 3, 3, 3], null, { stride: 2, pad: 1, padMode: 'reflect' });
    expect(maxAbsDiff(await rt.read(out), ref)).toBeLessThanOrEqual(TOL * (1 + ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0)));
    input.release();
    given.release();
  });

  it('rejects a wrong output shape, reflect padding ≥ the input size and a channel mismatch', async () => {
    const rt = await testRuntime();
    const weights = prepareConv2d(rt, host(new Float32Array(4 * 3 * 9), [4, 3, 3, 3]), null, 'reject test');
    const input = rt.tensor([3, 4, 4], 'x');
    const wrong = rt.tensor([4, 3, 4], 'wrong');
    await expect(rt.run((rec) => conv2d(rec, weights, input, { stride: 1, pad: 1, padMode: 'zero', output: wrong }))).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(rt.run((rec) => conv2d(rec, weights, input, { stride: 1, pad: 4, padMode: 'reflect' }))).rejects.toBeInstanceOf(InvalidArgumentError);
    const badIn = rt.tensor([2, 4, 4], 'bad');
    await expect(rt.run((rec) => conv2d(rec, weights, badIn, { stride: 1, pad: 1, padMode: 'zero' }))).rejects.toBeInstanceOf(InvalidArgumentError);
    for (const t of [input, wrong, badIn]) t.release();
  });
});
