import { describe, expect, it } from 'vitest';
import { add, concatChannels, maskedConcat, mulBroadcast } from '../../src/kernels/elementwise.js';
import { planeGrid } from '../../src/kernels/plane-grid.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { testRuntime } from '../helpers/gpu.js';
import { makeRng, randn, uniform } from '../helpers/random.js';
import * as ref from '../reference/elementwise.js';
import type { Shape3 } from '../reference/types.js';

// One IEEE f32 add or multiply is correctly rounded in WGSL, and the reference rounds the exact
// (float64) result to f32, so these kernels must match bit for bit: tolerance 0.
function expectBitExact(got: Float32Array, want: Float32Array): void {
  expect(got.length).toBe(want.length);
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  let mismatches = 0;
  for (let i = 0; i < g.length; i++) if (g[i] !== w[i]) mismatches++;
  expect(mismatches).toBe(0);
}

const size = (s: Shape3): number => s[0] * s[1] * s[2];

describe('add', () => {
  for (const shape of [[1, 1, 1], [3, 2, 2], [5, 13, 11], [64, 10, 14]] as Shape3[]) {
    it(`[${shape.join(', ')}] is bit-exact`, async () => {
      const rt = await testRuntime();
      const rng = makeRng(size(shape));
      const a = randn(rng, size(shape), 3);
      const b = randn(rng, size(shape), 1e-3);
      const ta = rt.upload(a, shape, 'a');
      const tb = rt.upload(b, shape, 'b');
      const y = await rt.run((rec) => add(rec, ta, tb));
      expect(y.shape).toEqual(shape);
      expectBitExact(await rt.read(y), ref.add(a, b));
      for (const t of [ta, tb, y]) t.release();
    });
  }

  it('works on any rank and rejects different shapes', async () => {
    const rt = await testRuntime();
    const a = uniform(makeRng(3), 1000);
    const ta = rt.upload(a, [1000], 'a');
    const tb = rt.upload(a, [1000], 'b');
    const y = await rt.run((rec) => add(rec, ta, tb));
    expectBitExact(await rt.read(y), ref.add(a, a));
    const tc = rt.upload(a, [10, 100], 'c');
    await expect(rt.run((rec) => add(rec, ta, tc))).rejects.toBeInstanceOf(InvalidArgumentError);
    for (const t of [ta, tb, tc, y]) t.release();
  });
});

describe('mulBroadcast', () => {
  for (const shape of [[1, 1, 1], [3, 2, 2], [6, 7, 9], [5, 40, 56]] as Shape3[]) {
    it(`[${shape.join(', ')}] × [1, ${shape[1]}, ${shape[2]}] is bit-exact`, async () => {
      const rt = await testRuntime();
      const rng = makeRng(7 + size(shape));
      const x = randn(rng, size(shape), 2);
      const m = uniform(rng, shape[1] * shape[2], 0, 1);
      const tx = rt.upload(x, shape, 'x');
      const tm = rt.upload(m, [1, shape[1], shape[2]], 'm');
      const y = await rt.run((rec) => mulBroadcast(rec, tx, tm));
      expectBitExact(await rt.read(y), ref.mulBroadcastChannel(x, shape, m));
      for (const t of [tx, tm, y]) t.release();
    });
  }

  it('rejects a map that is not [1, H, W]', async () => {
    const rt = await testRuntime();
    const tx = rt.tensor([3, 4, 5], 'x');
    const tm = rt.tensor([3, 4, 5], 'm');
    await expect(rt.run((rec) => mulBroadcast(rec, tx, tm))).rejects.toBeInstanceOf(InvalidArgumentError);
    for (const t of [tx, tm]) t.release();
  });
});

describe('concatChannels', () => {
  it('[3,5,7] ++ [2,5,7] ++ [1,5,7] ++ [5,5,7] is the buffers end to end', async () => {
    const rt = await testRuntime();
    const shapes: Shape3[] = [[3, 5, 7], [2, 5, 7], [1, 5, 7], [5, 5, 7]];
    const rng = makeRng(21);
    const parts = shapes.map((s) => randn(rng, size(s)));
    const ts = parts.map((p, i) => rt.upload(p, shapes[i]!, `t${i}`));
    const y = await rt.run((rec) => concatChannels(rec, ts));
    expect(y.shape).toEqual([11, 5, 7]);
    let want = parts[0]!;
    let wantShape = shapes[0]!;
    for (let i = 1; i < parts.length; i++) {
      want = ref.concatChannels(want, wantShape, parts[i]!, shapes[i]!);
      wantShape = [wantShape[0] + shapes[i]![0], 5, 7];
    }
    expectBitExact(await rt.read(y), want);
    for (const t of [...ts, y]) t.release();
  });

  it('rejects different spatial sizes and an empty list', async () => {
    const rt = await testRuntime();
    const a = rt.tensor([3, 4, 5], 'a');
    const b = rt.tensor([3, 5, 4], 'b');
    await expect(rt.run((rec) => concatChannels(rec, [a, b]))).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(rt.run((rec) => concatChannels(rec, []))).rejects.toBeInstanceOf(InvalidArgumentError);
    for (const t of [a, b]) t.release();
  });
});

describe('maskedConcat', () => {
  const cases: { a: Shape3; b: Shape3 }[] = [
    { a: [3, 1, 1], b: [3, 1, 1] },
    { a: [3, 2, 2], b: [3, 2, 2] },
    { a: [3, 13, 17], b: [3, 13, 17] },
    { a: [2, 9, 7], b: [5, 9, 7] },
  ];
  for (const { a: sa, b: sb } of cases) {
    it(`cat([${sa.join(',')}], [${sb.join(',')}]) · mask equals the reference concat then multiply, bit-exact`, async () => {
      const rt = await testRuntime();
      const rng = makeRng(size(sa) + size(sb));
      const [, h, w] = sa;
      const a = uniform(rng, size(sa));
      const b = randn(rng, size(sb), 2);
      const m = uniform(rng, h * w, 0, 1);
      const ta = rt.upload(a, sa, 'a');
      const tb = rt.upload(b, sb, 'b');
      const tm = rt.upload(m, [1, h, w], 'mask');
      const y = await rt.run((rec) => maskedConcat(rec, ta, tb, tm));
      const outShape: Shape3 = [sa[0] + sb[0], h, w];
      expect(y.shape).toEqual(outShape);
      const want = ref.mulBroadcastChannel(ref.concatChannels(a, sa, b, sb), outShape, m);
      expectBitExact(await rt.read(y), want);
      for (const t of [ta, tb, tm, y]) t.release();
    });
  }

  it('rejects a mask of the wrong shape', async () => {
    const rt = await testRuntime();
    const a = rt.tensor([3, 4, 5], 'a');
    const m = rt.tensor([1, 5, 4], 'm');
    await expect(rt.run((rec) => maskedConcat(rec, a, a, m))).rejects.toBeInstanceOf(InvalidArgumentError);
    for (const t of [a, m]) t.release();
  });
});

describe('planeGrid', () => {
  it('folds a plane beyond 65535 workgroups into x·y and puts channels on z', () => {
    const plane = 65535 * 256 + 1;
    const { workgroups, pitch } = planeGrid(plane, 7, 256);
    const [x, y = 1, z = 1] = workgroups;
    expect(z).toBe(7);
    expect(x).toBeLessThanOrEqual(65535);
    expect(pitch).toBe(x * 256);
    // Every index i < plane is reached as gid.y·pitch + gid.x.
    expect(y * pitch).toBeGreaterThanOrEqual(plane);
    expect(planeGrid(100, 3, 256)).toEqual({ workgroups: [1, 1, 3], pitch: 256 });
  });
});
