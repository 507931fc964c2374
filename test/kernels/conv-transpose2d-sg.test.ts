import { describe, expect, it } from 'vitest';
import { convTranspose2d, prepareConvTranspose2d } from '../../src/kernels/conv-transpose2d.js';
import { convTranspose2dSgTileFor } from '../../src/kernels/conv-transpose2d-sg.js';
import type { HostTensor } from '../../src/nerco/host-tensor.js';
import { convTranspose2d as refConvTranspose2d } from '../reference/conv.js';
import { maxAbsDiff, testRuntime } from '../helpers/gpu.js';
import { makeRng, randn, uniform } from '../helpers/random.js';
import { instanceNormStats, normalise } from './conv-input-norm.js';

/**
 * The subgroup transposed conv (shaders/conv_transpose2d_sg.wgsl) against the float64 CPU
 * reference (scatter form, test/reference/conv.ts): maps that are not multiples of the 8×2 input
 * tile, 1×1, Cin not a multiple of 8, Cout over one workgroup's 64 and not a multiple of 8, the
 * fused norm, and a row band whose input holds the next band's first row. Tolerance
 * 1e-5·(1 + max|ref|) (≤ 4·Cin terms of O(1/sqrt(9·Cin)) per output). On a device without
 * subgroups the same checks run on the portable kernel, which must then be the one chosen.
 */
const TOL = 1e-5;
const host = (data: Float32Array, shape: number[]): HostTensor => ({ shape, data, sourceDtype: 'float32' });
const maxAbs = (v: Float32Array) => v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);

interface Case { readonly name: string; readonly cin: number; readonly cout: number; readonly h: number; readonly w: number; readonly norm?: 'plain' | 'relu'; readonly bias?: boolean }

const CASES: Case[] = [
  { name: '12→70 on 5×19, norm + ReLU (tiles overhang, Cout over one workgroup)', cin: 12, cout: 70, h: 5, w: 19, norm: 'relu' },
  { name: '9→13 on 1×1, no bias', cin: 9, cout: 13, h: 1, w: 1, bias: false },
  { name: '16→8 on 3×4, plain norm', cin: 16, cout: 8, h: 3, w: 4, norm: 'plain' },
  { name: '256→128 on 4×6, norm + ReLU (full depth)', cin: 256, cout: 128, h: 4, w: 6, norm: 'relu' },
];

describe('convTranspose2d subgroup kernel vs the CPU reference (tolerance 1e-5·(1+max|ref|))', () => {
  CASES.forEach((c, i) => {
    it(c.name, async () => {
      const rt = await testRuntime();
      const rng = makeRng(3000 + i);
      const plane = c.h * c.w;
      const x = c.norm ? Float32Array.from(randn(rng, c.cin * plane), (v) => 2 * v - 1) : uniform(rng, c.cin * plane);
      const s = 1 / Math.sqrt(c.cin * 9);
      const wt = uniform(rng, c.cin * c.cout * 9, -s, s);
      const b = c.bias === false ? null : uniform(rng, c.cout, -0.5, 0.5);
      let refIn = x;
      let stats: Float32Array | null = null;
      if (c.norm) {
        stats = instanceNormStats(x, c.cin, plane);
        refIn = normalise(x, stats, plane, c.norm === 'relu');
      }
      const ref = refConvTranspose2d(refIn, [c.cin, c.h, c.w], wt, [c.cin, c.cout, 3, 3], b);
      const weights = prepareConvTranspose2d(rt, host(wt, [c.cin, c.cout, 3, 3]), b && host(b, [c.cout]), `sg ${c.name}`);
      expect(rt.hasSubgroups8, 'this file tests the subgroup kernel: the adapter must offer subgroups of ≥ 8 lanes').toBe(true);
      expect(weights.kernel).toBe('subgroup');
      const input = rt.upload(x, [c.cin, c.h, c.w], 'x');
      const statsT = stats ? rt.upload(stats, [c.cin, 2], 'stats') : null;
      const out = await rt.run((rec) => convTranspose2d(rec, weights, input, { inputNorm: statsT ? { stats: statsT, relu: c.norm === 'relu' } : undefined }));
      expect(out.shape).toEqual([c.cout, 2 * c.h, 2 * c.w]);
      expect(maxAbsDiff(await rt.read(out), ref)).toBeLessThanOrEqual(TOL * (1 + maxAbs(ref)));
      for (const t of [input, out, statsT, weights.weight, weights.bias]) t?.release();
    });
  });

  it('a row band (rows of the input plus the next row) gives the rows of the whole output', async () => {
    const rt = await testRuntime();
    const rng = makeRng(3100);
    const [cin, cout, h, w] = [10, 12, 7, 9];
    const x = uniform(rng, cin * h * w);
    const wt = uniform(rng, cin * cout * 9, -0.2, 0.2);
    const whole = refConvTranspose2d(x, [cin, h, w], wt, [cin, cout, 3, 3], null);
    // Input rows 2…4 are processed (output rows 4…9); row 5 comes along for the odd output rows.
    const [r0, rows] = [2, 3];
    const band = new Float32Array(cin * (rows + 1) * w);
    for (let c = 0; c < cin; c++) band.set(x.subarray((c * h + r0) * w, (c * h + r0 + rows + 1) * w), c * (rows + 1) * w);
    const weights = prepareConvTranspose2d(rt, host(wt, [cin, cout, 3, 3]), null, 'sg band');
    const input = rt.upload(band, [cin, rows + 1, w], 'band');
    const out = await rt.run((rec) => convTranspose2d(rec, weights, input, { rows }));
    const want = new Float32Array(cout * 2 * rows * 2 * w);
    for (let c = 0; c < cout; c++) want.set(whole.subarray((c * 2 * h + 2 * r0) * 2 * w, (c * 2 * h + 2 * (r0 + rows)) * 2 * w), c * 2 * rows * 2 * w);
    expect(maxAbsDiff(await rt.read(out), want)).toBeLessThanOrEqual(TOL * (1 + maxAbs(want)));
    for (const t of [input, out, weights.weight]) t.release();
  });

  it('tiles are 8×2 input pixels, narrower and shorter on small maps', () => {
    expect(convTranspose2dSgTileFor(16, 16)).toEqual({ qx: 8, qy: 2 });
    expect(convTranspose2dSgTileFor(1, 3)).toEqual({ qx: 4, qy: 1 });
  });
});
