/**
 * The shipped default weights: the WebGPU pipeline and the PyTorch model they were trained in
 * (weights-tools/train/model.py, export.py wrote the reference) agree on a test image.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNeRCo } from '../../src/nerco/load.js';
import type { NeRCoModel, ForwardResult } from '../../src/nerco/model.js';
import { prepareInput } from '../../src/nerco/preprocess.js';
import { decodeImageFile } from '../../src/node/image-io.js';
import { maxAbsDiff } from '../helpers/gpu.js';
import { readNpy } from '../helpers/npy.js';
import { repoPath } from '../helpers/shared-path.js';

const DIR = repoPath('test', 'fixtures', 'default-weights');
let model: NeRCoModel;
let result: ForwardResult;

beforeAll(async () => {
  model = await loadNeRCo(); // no argument: the shipped weights/default.safetensors
  const image = await decodeImageFile(`${DIR}/input.png`);
  const input = prepareInput(image.data, image.width, image.height, 'resize');
  result = await model.runCHW(input.chw, input.netH, input.netW, { intermediates: true });
});
afterAll(() => model?.destroy());

describe('default weights: WebGPU vs PyTorch', () => {
  // The bar for the shipped weights is max abs ≤ 1e-3. Measured on lavapipe: 1.6e-6
  // (fake_B, pre_A), 1.8e-7 (mask), only summation order differing; held to 1e-4, so that a real
  // slip (a dropped bias, a wrong epsilon) cannot hide under the wide bar, with room for other GPUs.
  const TOL = 1e-4;
  for (const [name, key] of [['fake_B', 'fakeB'], ['pre_A', 'preA'], ['mask', 'mask']] as const) {
    it(`${name} within ${TOL} (the issue's bar: 1e-3)`, () => {
      const err = maxAbsDiff(result[key]!, readNpy(`${DIR}/${name}.npy`).data);
      console.log(`default weights ${name} max abs: ${err.toExponential(2)}`);
      expect(err).toBeLessThanOrEqual(TOL);
    });
  }

  it('uses the shipped layout (docs/MODEL.md), not the full-size NeRCo', () => {
    expect(model.weights.ga.config).toMatchObject({ ngf: 32, nBlocks: 5 });
    expect(model.weights.pre.config).toMatchObject({ ngf: 16, nBlocks: 3, mlpWidths: [32, 32, 3] });
    expect(model.weights.h.config).toMatchObject({ ngf: 16 });
  });
});
