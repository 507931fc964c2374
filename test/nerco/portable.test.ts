/**
 * The whole pass on a device without subgroups (as many browsers' adapters are): every conv runs
 * its portable kernel and f16 falls back to f32, and the result must still match the original
 * PyTorch code. Here the device simply does not ask for `subgroups`; everywhere else in the Node
 * suite lavapipe offers them, so only this file covers the portable path end to end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conv2dKernelFor } from '../../src/kernels/conv2d.js';
import { loadNeRCo } from '../../src/nerco/load.js';
import type { ForwardResult, NeRCoModel } from '../../src/nerco/model.js';
import { releaseNodeGPU } from '../../src/runtime/device.js';
import { maxAbsDiff } from '../helpers/gpu.js';
import { readNpy } from '../helpers/npy.js';
import { sharedPath } from '../helpers/shared-path.js';

const CASE = 'dark-40x56';
// The bar, as in conformance.test.ts.
const TOL = 1e-3;

let model: NeRCoModel;
let result: ForwardResult;

const fixture = (name: string) => readNpy(sharedPath('fixtures', 'nerco-random', CASE, `${name}.npy`));

beforeAll(async () => {
  // f16 asked for: it needs subgroups, so the model must say it runs in f32 instead.
  model = await loadNeRCo(sharedPath('fixtures', 'nerco-random', 'weights'), { subgroups: false, precision: 'f16' });
  const input = fixture('input');
  const [, , h, w] = input.shape as [number, number, number, number];
  result = await model.runCHW(input.data, h, w, { intermediates: true });
}, 600_000);

afterAll(() => {
  model?.destroy();
  releaseNodeGPU();
});

describe(`fixture ${CASE} without subgroups`, () => {
  it('the device has no subgroups: 3×3 and 7×7 convs pick the portable kernel, and the model runs in f32', async () => {
    await model.withRuntime(async (rt) => {
      expect(rt.hasSubgroups8).toBe(false);
      expect(conv2dKernelFor(rt, 3)).toBe('portable');
      expect(conv2dKernelFor(rt, 7, {}, undefined, 64)).toBe('portable');
    });
    expect(model.precision).toBe('f32');
  });

  for (const [name, key] of [['pre_A', 'preA'], ['mask', 'mask'], ['fake_B', 'fakeB']] as const) {
    it(`${name} within ${TOL} max abs of the original`, () => {
      const err = maxAbsDiff(result[key]!, fixture(name).data);
      console.log(`portable ${CASE} ${name} max abs: ${err.toExponential(2)}`);
      expect(err).toBeLessThanOrEqual(TOL);
    });
  }
});
