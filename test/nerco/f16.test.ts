import { afterAll, describe, expect, it } from 'vitest';
import { NeRCoModel } from '../../src/nerco/model.js';
import { readNeRCoWeightsFromPath } from '../../src/node/load-weights-node.js';
import { releaseNodeGPU } from '../../src/runtime/device.js';
import { maxAbsDiff } from '../helpers/gpu.js';
import { readNpy } from '../helpers/npy.js';
import { sharedPath } from '../helpers/shared-path.js';

/**
 * The 'f16' precision option end to end on the PyTorch fixture dark-48x64 (random weights):
 * f16 storage of the 3×3 conv weights and ResBlock intermediates gives fake_B within 3e-2 max abs
 * and 3e-3 mean abs of the original (measured: 1.3e-2 and 1.6e-3 on lavapipe; fake_B is in
 * [−1, 1], so about 1.7 and 0.2 levels of 255), and a device without shader-f16 falls back to f32
 * without error and meets the f32 bar (1e-3, the conformance test's).
 */
const CASE = 'dark-48x64';
const fixture = (name: string) => readNpy(sharedPath('fixtures', 'nerco-random', CASE, `${name}.npy`));
const models: NeRCoModel[] = [];

afterAll(() => {
  for (const m of models) m.destroy();
  releaseNodeGPU();
});

async function fakeB(model: NeRCoModel): Promise<Float32Array> {
  const input = fixture('input');
  const [, , h, w] = input.shape as [number, number, number, number];
  return (await model.runCHW(input.data, h, w)).fakeB;
}

describe(`precision option on fixture ${CASE}`, () => {
  it("'f16' on a device with shader-f16 and subgroups: fake_B within 3e-2 max, 3e-3 mean abs", async () => {
    const weights = await readNeRCoWeightsFromPath(sharedPath('fixtures', 'nerco-random', 'weights'));
    const model = await NeRCoModel.create(weights, { precision: 'f16' });
    models.push(model);
    expect(model.runtime.hasF16 && model.runtime.hasSubgroups8).toBe(true);
    expect(model.precision).toBe('f16');
    const got = await fakeB(model);
    const ref = fixture('fake_B').data;
    let mean = 0;
    for (let i = 0; i < ref.length; i++) mean += Math.abs(got[i]! - ref[i]!);
    mean /= ref.length;
    const max = maxAbsDiff(got, ref);
    console.log(`${CASE} f16 fake_B max abs ${max.toExponential(2)}, mean abs ${mean.toExponential(2)}`);
    expect(max).toBeLessThanOrEqual(3e-2);
    expect(mean).toBeLessThanOrEqual(3e-3);
  });

  it("'f16' without shader-f16 falls back to f32 (model.precision says so) and meets the f32 bar", async () => {
    const weights = await readNeRCoWeightsFromPath(sharedPath('fixtures', 'nerco-random', 'weights'));
    const model = await NeRCoModel.create(weights, { precision: 'f16', f16: false });
    models.push(model);
    expect(model.runtime.hasF16).toBe(false);
    expect(model.precision).toBe('f32');
    expect(maxAbsDiff(await fakeB(model), fixture('fake_B').data)).toBeLessThanOrEqual(1e-3);
  });

  it("the default is 'f32'", async () => {
    expect(models[1]!.precision).toBe('f32');
    const weights = await readNeRCoWeightsFromPath(sharedPath('fixtures', 'nerco-random', 'weights'));
    const model = await NeRCoModel.create(weights);
    models.push(model);
    expect(model.precision).toBe('f32');
  });
});
