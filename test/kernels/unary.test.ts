import { describe, expect, it } from 'vitest';
import { unary, type UnaryOp } from '../../src/kernels/unary.js';
import { maxAbsDiff, testRuntime } from '../helpers/gpu.js';

const REF: Record<UnaryOp, (v: number) => number> = {
  identity: (v) => v,
  relu: (v) => Math.max(v, 0),
  tanh: Math.tanh,
  sigmoid: (v) => 1 / (1 + Math.exp(-v)),
};

describe('unary kernel', () => {
  // Includes values where a naive tanh overflows; 1e-6 absolute covers f32 transcendental error.
  const data = Float32Array.from([-1000, -20, -15.5, -1, -1e-3, 0, 1e-3, 0.5, 1, 3, 15.5, 20, 1000, ...Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 8)]);
  for (const op of Object.keys(REF) as UnaryOp[]) {
    it(`${op} matches the CPU within 1e-6`, async () => {
      const rt = await testRuntime();
      const x = rt.upload(data, [data.length], 'x');
      const y = rt.tensor([data.length], 'y');
      await rt.run((rec) => unary(rec, op, x, y));
      const got = await rt.read(y);
      expect(maxAbsDiff(got, Array.from(data, REF[op]))).toBeLessThanOrEqual(1e-6);
      expect(got.every(Number.isFinite)).toBe(true);
      x.release();
      y.release();
    });
  }
});
