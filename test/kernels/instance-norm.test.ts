import { describe, expect, it } from 'vitest';
import { DEFAULT_STATS_CHUNK, instanceNormApply, instanceNormStats } from '../../src/kernels/instance-norm.js';
import { InvalidArgumentError } from '../../src/errors.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import type { GpuTensor } from '../../src/runtime/tensor.js';
import { maxAbsDiff, testRuntime } from '../helpers/gpu.js';
import { makeRng, randn, uniform } from '../helpers/random.js';
import { instanceNorm } from '../reference/norm.js';
import type { Shape3 } from '../reference/types.js';

const EPS = 1e-5;

/** Per-channel (mean, invStd) in float64, two-pass (the reference the GPU must match). */
function refStats(x: Float32Array, [c, h, w]: Shape3): { mean: number[]; invStd: number[] } {
  const n = h * w;
  const mean: number[] = [];
  const invStd: number[] = [];
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += x[ch * n + k]!;
    const mu = s / n;
    let q = 0;
    for (let k = 0; k < n; k++) q += (x[ch * n + k]! - mu) ** 2;
    mean.push(mu);
    invStd.push(1 / Math.sqrt(q / n + EPS));
  }
  return { mean, invStd };
}

/**
 * The one-pass formula var = E[x²] − μ², evaluated the way a GPU would (f32, pairwise sums), to show
 * that the tolerances below reject it on offset data.
 */
function onePassF32InvStd(x: Float32Array, [c, h, w]: Shape3): number[] {
  const f = Math.fround;
  const pairwise = (v: Float32Array): number => {
    let a = Array.from(v);
    while (a.length > 1) {
      const next: number[] = [];
      for (let i = 0; i < a.length; i += 2) next.push(i + 1 < a.length ? f(a[i]! + a[i + 1]!) : a[i]!);
      a = next;
    }
    return a[0]!;
  };
  const n = h * w;
  const out: number[] = [];
  for (let ch = 0; ch < c; ch++) {
    const plane = x.subarray(ch * n, (ch + 1) * n);
    const mu = f(pairwise(plane) / n);
    const ex2 = f(pairwise(plane.map((v) => f(v * v))) / n);
    const variance = Math.max(0, f(ex2 - f(mu * mu)));
    out.push(1 / Math.sqrt(variance + EPS));
  }
  return out;
}

async function gpuStats(rt: Runtime, x: Float32Array, shape: Shape3, chunk?: number): Promise<Float32Array> {
  const t = rt.upload(x, [...shape], 'x');
  const stats = await rt.run((rec) => instanceNormStats(rec, t, 'stats', chunk === undefined ? {} : { chunk }));
  const got = await rt.read(stats);
  t.release();
  stats.release();
  return got;
}

interface StatsError { mean: number; invStdRel: number }

/** Mean error relative to (1 + max|x|) (an ulp-scale bound on the values) and relative invStd error. */
function statsError(got: Float32Array, ref: { mean: number[]; invStd: number[] }, x: Float32Array): StatsError {
  const scale = 1 + x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  let mean = 0;
  let invStdRel = 0;
  ref.mean.forEach((mu, c) => {
    mean = Math.max(mean, Math.abs(got[2 * c]! - mu) / scale);
    invStdRel = Math.max(invStdRel, Math.abs(got[2 * c + 1]! - ref.invStd[c]!) / ref.invStd[c]!);
  });
  if (got.some((v) => !Number.isFinite(v))) return { mean: Infinity, invStdRel: Infinity };
  return { mean, invStdRel };
}

// Tolerances: mean within 2e-6·(1 + max|x|) (a few f32 ulps of the values); invStd within 2e-5
// relative (the variance comes from centred sums of f32 values; relative error ~ log2(n)·2^-24).
const MEAN_TOL = 2e-6;
const INVSTD_TOL = 2e-5;

/** Two channels whose odd-sized planes span about 2.5 default chunks. */
const MULTI: Shape3 = [2, 97, Math.ceil((2.5 * DEFAULT_STATS_CHUNK) / 97) | 1];

describe('instanceNormStats', () => {
  it('the multi-workgroup cases below do take the chunked path', () => {
    expect(MULTI[1] * MULTI[2]).toBeGreaterThan(2 * DEFAULT_STATS_CHUNK);
    expect((MULTI[1] * MULTI[2]) % DEFAULT_STATS_CHUNK).not.toBe(0);
  });

  const cases: { name: string; shape: Shape3; data: (n: number) => Float32Array; chunk?: number }[] = [
    { name: '1×1 planes (variance 0)', shape: [3, 1, 1], data: (n) => uniform(makeRng(1), n, -2, 2) },
    { name: '2×2 planes', shape: [5, 2, 2], data: (n) => uniform(makeRng(2), n, -2, 2) },
    { name: 'odd 7×9 planes', shape: [6, 7, 9], data: (n) => randn(makeRng(3), n, 1.5, 0.3) },
    { name: 'constant planes', shape: [2, 5, 3], data: (n) => new Float32Array(n).fill(0.7) },
    { name: '40×56 planes', shape: [4, 40, 56], data: (n) => randn(makeRng(4), n, 2, -0.5) },
    { name: 'offset 1000 + U(−0.5, 0.5), 33×47', shape: [3, 33, 47], data: (n) => uniform(makeRng(5), n, 999.5, 1000.5) },
    // About 2.5 default chunks per plane: the chunked path with a ragged last chunk and the merge pass.
    { name: `multi-workgroup ${MULTI[1]}×${MULTI[2]} (default chunk)`, shape: MULTI, data: (n) => randn(makeRng(6), n, 3, 1) },
    { name: `multi-workgroup offset 1000, ${MULTI[1]}×${MULTI[2]}`, shape: MULTI, data: (n) => uniform(makeRng(7), n, 999.5, 1000.5) },
    // chunk 64: 1411 chunks per channel, so every merge invocation folds ~22 partials sequentially.
    { name: 'many chunks: 300×301, chunk 64', shape: [1, 300, 301], data: (n) => uniform(makeRng(8), n, 999.5, 1000.5), chunk: 64 },
    { name: 'chunk 128 over 37×41 (ragged)', shape: [5, 37, 41], data: (n) => randn(makeRng(9), n, 0.1, 50), chunk: 128 },
  ];
  for (const tc of cases) {
    it(`${tc.name}: mean within ${MEAN_TOL}·(1+max|x|), invStd within ${INVSTD_TOL} relative`, async () => {
      const rt = await testRuntime();
      const n = tc.shape[0] * tc.shape[1] * tc.shape[2];
      const x = tc.data(n);
      const got = await gpuStats(rt, x, tc.shape, tc.chunk);
      const err = statsError(got, refStats(x, tc.shape), x);
      expect(err.mean).toBeLessThanOrEqual(MEAN_TOL);
      expect(err.invStdRel).toBeLessThanOrEqual(INVSTD_TOL);
    });
  }

  it('the tolerances reject a one-pass E[x²] − μ² on offset data (the test can fail)', async () => {
    const shape: Shape3 = [3, 33, 47];
    const x = uniform(makeRng(5), 3 * 33 * 47, 999.5, 1000.5);
    const ref = refStats(x, shape);
    const onePass = onePassF32InvStd(x, shape);
    const rel = Math.max(...onePass.map((v, c) => Math.abs(v - ref.invStd[c]!) / ref.invStd[c]!));
    expect(rel).toBeGreaterThan(100 * INVSTD_TOL);
    // ... while the GPU passes the same check (and the chunked path on the same data, too).
    const rt = await testRuntime();
    for (const chunk of [DEFAULT_STATS_CHUNK, 64]) {
      const err = statsError(await gpuStats(rt, x, shape, chunk), ref, x);
      expect(err.invStdRel).toBeLessThanOrEqual(INVSTD_TOL);
    }
  });

  it('rejects a chunk that is not a multiple of 64', async () => {
    const rt = await testRuntime();
    const t = rt.upload(new Float32Array(4), [1, 2, 2], 'x');
    await expect(rt.run((rec) => instanceNormStats(rec, t, 'stats', { chunk: 100 }))).rejects.toBeInstanceOf(InvalidArgumentError);
    t.release();
  });
});

describe('instanceNormApply', () => {
  const shape: Shape3 = [5, 13, 11];
  const n = shape[0] * shape[1] * shape[2];
  const xData = randn(makeRng(11), n, 2, 0.5);
  const rData = randn(makeRng(12), n, 1, 0);
  const normed = instanceNorm(xData, shape);

  function expected(relu: boolean, residual: Float32Array | null): number[] {
    return Array.from(normed, (v, i) => (relu ? Math.max(v, 0) : v) + (residual ? residual[i]! : 0));
  }

  // (x − μ)·invStd of O(1) values, plus an O(1) residual: 1e-5·(1 + max|ref|) absolute.
  const tol = (ref: number[]): number => 1e-5 * (1 + Math.max(...ref.map(Math.abs)));

  type Layout = 'new output' | 'in place (output = x)' | 'output = residual' | 'residual = x' | 'output = residual = x';
  const layouts: { layout: Layout; relu: boolean; residual: boolean }[] = [
    { layout: 'new output', relu: false, residual: false },
    { layout: 'new output', relu: true, residual: false },
    { layout: 'new output', relu: true, residual: true },
    { layout: 'new output', relu: false, residual: true },
    { layout: 'in place (output = x)', relu: true, residual: false },
    { layout: 'in place (output = x)', relu: false, residual: true },
    { layout: 'output = residual', relu: false, residual: true },
    { layout: 'output = residual', relu: true, residual: true },
    { layout: 'residual = x', relu: true, residual: true },
    { layout: 'output = residual = x', relu: false, residual: true },
  ];
  for (const { layout, relu, residual } of layouts) {
    it(`${layout}, relu=${relu}, residual=${residual}: matches the float64 reference within 1e-5·(1+max|ref|)`, async () => {
      const rt = await testRuntime();
      const x = rt.upload(xData, [...shape], 'x');
      const r = layout.startsWith('residual = x') || layout === 'output = residual = x' ? x : rt.upload(rData, [...shape], 'r');
      const out = await rt.run(async (rec) => {
        const stats = await instanceNormStats(rec, x);
        let output: GpuTensor | undefined;
        if (layout === 'in place (output = x)' || layout === 'output = residual = x') output = x;
        if (layout === 'output = residual') output = r;
        const y = await instanceNormApply(rec, x, stats, { relu, ...(residual ? { residual: r } : {}), ...(output ? { output } : {}) });
        stats.release();
        if (output) expect(y).toBe(output);
        return y;
      });
      const got = await rt.read(out);
      const ref = expected(relu, residual ? (r === x ? xData : rData) : null);
      expect(maxAbsDiff(got, ref)).toBeLessThanOrEqual(tol(ref));
      for (const t of new Set([x, r, out])) t.release();
    });
  }

  it('rejects stats of the wrong shape and a residual of another shape', async () => {
    const rt = await testRuntime();
    const x = rt.upload(xData, [...shape], 'x');
    const badStats = rt.tensor([4, 2], 'stats');
    const badRes = rt.tensor([5, 11, 13], 'r');
    await expect(rt.run((rec) => instanceNormApply(rec, x, badStats, { relu: false }))).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(rt.run(async (rec) => {
      const stats = await instanceNormStats(rec, x);
      try {
        return await instanceNormApply(rec, x, stats, { relu: false, residual: badRes });
      } finally {
        stats.release();
      }
    })).rejects.toBeInstanceOf(InvalidArgumentError);
    for (const t of [x, badStats, badRes]) t.release();
  });
});
