/**
 * Row-banded execution (src/nerco/banded.ts, forward-banded.ts): the banded pass must give the
 * unbanded pass's outputs (≤ 1e-4 max abs: only the order of the statistics' sums differs) with
 * bands that do not divide the map heights, single-row bands at 1/4 resolution, and with the
 * full-width fixture weights the PyTorch fixture's fake_B (≤ 1e-3, the conformance bar).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LimitError } from '../../src/errors.js';
import { defaultBandRows, needsBands } from '../../src/nerco/forward-banded.js';
import { NeRCoModel, type ForwardResult } from '../../src/nerco/model.js';
import { readNeRCoWeightsFromPath } from '../../src/node/load-weights-node.js';
import { bucketSize } from '../../src/runtime/buffer-pool.js';
import { releaseNodeGPU } from '../../src/runtime/device.js';
import { maxAbsDiff } from '../helpers/gpu.js';
import { readNpy } from '../helpers/npy.js';
import { makeRng } from '../helpers/random.js';
import { sharedPath } from '../helpers/shared-path.js';
import { tinyWeights } from '../helpers/tiny-model.js';

const MIB = 2 ** 20;
// WebGPU's default maxStorageBufferBindingSize (and the pool's cap under default limits).
const DEFAULT_BINDING = 128 * MIB;
const NERCO_WIDTHS = { full: 64, half: 128, quarter: 256 };
// Whole passes on the software adapter, pipeline compilation included (the banded pass compiles
// a few more workgroup-size variants), on a machine shared with other jobs.
const PASS_TIMEOUT = 1_500_000;

describe('band plan (pure)', () => {
  it('1920×1080 and 3840×2160 with the official widths need bands; every buffer of the plan fits 128 MiB', () => {
    for (const [h, w] of [[1080, 1920], [2160, 3840]] as const) {
      expect(needsBands(NERCO_WIDTHS, h, w, DEFAULT_BINDING)).toBe(true);
      const rows = defaultBandRows(NERCO_WIDTHS, h, w, DEFAULT_BINDING);
      expect(rows).toBeGreaterThan(0);
      // The largest buffer: a stride-2 conv's scratch of 2·rows + 1 full-resolution rows.
      expect(bucketSize((2 * rows + 1) * 64 * w * 4)).toBeLessThanOrEqual(DEFAULT_BINDING);
      expect(bucketSize((rows + 6) * 64 * w * 4)).toBeLessThanOrEqual(DEFAULT_BINDING);
    }
  });

  it('600×400 needs no bands; an absurdly wide image gets 0 rows', () => {
    expect(needsBands(NERCO_WIDTHS, 400, 600, DEFAULT_BINDING)).toBe(false);
    expect(defaultBandRows(NERCO_WIDTHS, 8, 200_000, DEFAULT_BINDING)).toBe(0);
  });
});

function randomInput(h: number, w: number, seed: number): Float32Array {
  const rng = makeRng(seed);
  const x = new Float32Array(3 * h * w);
  // A smooth pattern plus noise, in [-1, 1] like real_A.
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < h; y++) {
      for (let i = 0; i < w; i++) x[(c * h + y) * w + i] = Math.max(-1, Math.min(1, 0.6 * Math.sin(0.3 * y + 0.2 * i + c) + 0.3 * (2 * rng() - 1)));
    }
  }
  return x;
}

function expectClose(got: ForwardResult, ref: ForwardResult, tol: number, what: string): void {
  for (const name of ['fakeB', 'preA', 'mask', 'preTrunk', 'hImage'] as const) {
    const a = got[name];
    const b = ref[name];
    expect(a, `${what} ${name}`).toBeDefined();
    const scale = name === 'preTrunk' ? b!.reduce((m, v) => Math.max(m, Math.abs(v)), 1) : 1;
    const err = maxAbsDiff(a!, b!) / scale;
    console.log(`${what} ${name}: max abs${scale > 1 ? ` / ${scale.toFixed(2)}` : ''} ${err.toExponential(2)}`);
    expect(err, `${what} ${name}`).toBeLessThanOrEqual(tol);
  }
}

describe('banded pass, small random NeRCo', () => {
  let model: NeRCoModel;
  beforeAll(async () => {
    model = await NeRCoModel.create(tinyWeights(7));
  }, PASS_TIMEOUT);
  afterAll(() => {
    model?.destroy();
    releaseNodeGPU();
  });

  // 44 rows: 1/2 is 22, 1/4 is 11 — bands of 5 divide none of them; 36 columns.
  const H = 44;
  const W = 36;
  const input = randomInput(H, W, 3);
  let unbanded: ForwardResult;

  it('bands of 5 rows (9 / 5 / 3 bands) equal the unbanded pass within 1e-4', async () => {
    unbanded = await model.runCHW(input, H, W, { intermediates: true });
    const banded = await model.runCHW(input, H, W, { intermediates: true, bandRows: 5 });
    expectClose(banded, unbanded, 1e-4, 'bands 5');
  }, PASS_TIMEOUT);

  it('bands of 3 / 2 / 1 rows (one-row bands at 1/4 resolution) equal the unbanded pass within 1e-4', async () => {
    const banded = await model.runCHW(input, H, W, { intermediates: true, bandRows: [3, 2, 1] });
    expectClose(banded, unbanded, 1e-4, 'bands 3/2/1');
  }, PASS_TIMEOUT);

  it('one band as tall as the image equals the unbanded pass within 1e-4', async () => {
    const banded = await model.runCHW(input, H, W, { intermediates: true, bandRows: H });
    expectClose(banded, unbanded, 1e-4, 'one band');
  }, PASS_TIMEOUT);

  it('the general NRN form refuses bands with a LimitError', async () => {
    await expect(model.runCHW(input, H, W, { bandRows: 5, nrn: 'general' })).rejects.toBeInstanceOf(LimitError);
  });
});

describe('banded pass, fixture weights (full widths)', () => {
  let model: NeRCoModel;
  beforeAll(async () => {
    model = await NeRCoModel.create(await readNeRCoWeightsFromPath(sharedPath('fixtures', 'nerco-random', 'weights')));
  }, PASS_TIMEOUT);
  afterAll(() => {
    model?.destroy();
    releaseNodeGPU();
  });

  it('dark-48x64 forced into bands of 5 rows: fake_B within 1e-3 of the PyTorch fixture', async () => {
    const x = readNpy(sharedPath('fixtures', 'nerco-random', 'dark-48x64', 'input.npy'));
    const [, , h, w] = x.shape as [number, number, number, number];
    const r = await model.runCHW(x.data, h, w, { bandRows: 5 });
    const err = maxAbsDiff(r.fakeB, readNpy(sharedPath('fixtures', 'nerco-random', 'dark-48x64', 'fake_B.npy')).data);
    console.log(`dark-48x64 banded fake_B max abs vs fixture: ${err.toExponential(2)}`);
    expect(err).toBeLessThanOrEqual(1e-3);
  }, PASS_TIMEOUT);
});
