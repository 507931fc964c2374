import { describe, expect, it } from 'vitest';
import { laplacian, sobel } from '../../src/kernels/edges.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { maxAbsDiff, testRuntime } from '../helpers/gpu.js';
import { makeRng, uniform } from '../helpers/random.js';
import * as ref from '../reference/edges.js';
import type { Shape3 } from '../reference/types.js';

const maxAbs = (v: ArrayLike<number>): number => Array.from(v).reduce((m, x) => Math.max(m, Math.abs(x)), 0);

describe('sobel (NeRCo gradient layer)', () => {
  // Gray is a 3-term f32 dot product (possibly fused) and the differences are of values ≤ max|x|,
  // so the gradients are off by a few ulps of max|x|; sqrt(g² + 1e-6) has slope ≤ 1 in g:
  // tolerance 2e-6·(1 + max|x|).
  const shapes: Shape3[] = [[3, 1, 1], [3, 2, 2], [3, 5, 7], [3, 13, 17], [3, 40, 56], [1, 9, 6]];
  for (const shape of shapes) {
    it(`[${shape.join(', ')}] matches the reference within 2e-6·(1+max|x|)`, async () => {
      const rt = await testRuntime();
      const x = uniform(makeRng(shape[1] * 100 + shape[2]), shape[0] * shape[1] * shape[2], -1, 1);
      const tx = rt.upload(x, shape, 'x');
      const y = await rt.run((rec) => sobel(rec, tx));
      expect(y.shape).toEqual([1, shape[1], shape[2]]);
      const want = ref.sobel(x, shape);
      expect(maxAbsDiff(await rt.read(y), want)).toBeLessThanOrEqual(2e-6 * (1 + maxAbs(x)));
      tx.release();
      y.release();
    });
  }

  it('uses the NeRCo gray weights (BT.601 0.299/0.587/0.114 would fail)', async () => {
    // Pure-red/green/blue ramps: each channel alone carries the gradient, so the weights show.
    const rt = await testRuntime();
    const shape: Shape3 = [3, 6, 8];
    const x = new Float32Array(3 * 48);
    for (let i = 0; i < 48; i++) x[(i % 3) * 48 + i] = ((i * 7) % 11) / 11 - 0.5;
    const tx = rt.upload(x, shape, 'x');
    const y = await rt.run((rec) => sobel(rec, tx));
    const got = await rt.read(y);
    expect(maxAbsDiff(got, ref.sobel(x, shape))).toBeLessThanOrEqual(2e-6 * 2);
    const bt601 = ref.sobel(Float32Array.from({ length: 48 }, (_, k) => 0.299 * x[k]! + 0.587 * x[48 + k]! + 0.114 * x[96 + k]!), [1, 6, 8]);
    expect(maxAbsDiff(got, bt601)).toBeGreaterThan(1e-3);
    tx.release();
    y.release();
  });

  it('rejects 2 channels', async () => {
    const rt = await testRuntime();
    const tx = rt.tensor([2, 4, 4], 'x');
    await expect(rt.run((rec) => sobel(rec, tx))).rejects.toBeInstanceOf(InvalidArgumentError);
    tx.release();
  });
});

describe('laplacian (reflect borders)', () => {
  // Sums of ≤ 9 f32 terms of magnitude ≤ max|x| with weights ≤ 8: tolerance 1e-5·(1 + max|x|).
  const shapes: Shape3[] = [[1, 2, 2], [3, 2, 3], [5, 3, 5], [3, 13, 17], [6, 40, 56]];
  for (const neighbours of [4, 8] as const) {
    for (const shape of shapes) {
      it(`${neighbours} neighbours, [${shape.join(', ')}] matches the reference within 1e-5·(1+max|x|)`, async () => {
        const rt = await testRuntime();
        const x = uniform(makeRng(neighbours * 1000 + shape[0] * 100 + shape[2]), shape[0] * shape[1] * shape[2], -3, 3);
        const tx = rt.upload(x, shape, 'x');
        const y = await rt.run((rec) => laplacian(rec, tx, neighbours));
        expect(y.shape).toEqual(shape);
        expect(maxAbsDiff(await rt.read(y), ref.laplacian(x, shape, neighbours))).toBeLessThanOrEqual(1e-5 * (1 + maxAbs(x)));
        tx.release();
        y.release();
      });
    }
  }

  it('rejects planes with a side of 1 (no reflection possible) and other neighbour counts', async () => {
    const rt = await testRuntime();
    const thin = rt.tensor([3, 1, 5], 'x');
    const ok = rt.tensor([3, 4, 5], 'y');
    await expect(rt.run((rec) => laplacian(rec, thin, 4))).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(rt.run((rec) => laplacian(rec, ok, 6 as 4))).rejects.toBeInstanceOf(InvalidArgumentError);
    thin.release();
    ok.release();
  });
});
