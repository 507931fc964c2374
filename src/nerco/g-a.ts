import { conv2d, prepareConv2d, type Conv2dWeights } from '../kernels/conv2d.js';
import { prepareTrunk, runTrunk, type TrunkWeights } from '../ops/resnet-trunk.js';
import type { Recorder } from '../runtime/recorder.js';
import type { Runtime } from '../runtime/runtime.js';
import type { GpuTensor } from '../runtime/tensor.js';
import type { GAConfig } from './architecture.js';
import type { StateDict } from './host-tensor.js';

/** G_A, the 6→3 ResnetGenerator (NERCO.md §6). */
export interface GAWeights {
  readonly trunk: TrunkWeights;
  readonly head: Conv2dWeights;
}

export function prepareGA(rt: Runtime, config: GAConfig, t: StateDict, precision: 'f32' | 'f16' = 'f32'): GAWeights {
  const head = `model.${17 + config.nBlocks}`;
  return {
    trunk: prepareTrunk(rt, t, config.nBlocks, 'G_A.', precision),
    head: prepareConv2d(rt, t.get(`${head}.weight`)!, t.get(`${head}.bias`)!, `G_A.${head}`),
  };
}

/** fake_B = tanh(conv7(RP3(ReLU(IN(trunk(g_in)))))), the last IN + ReLU folded into the head's loads. */
export async function runGA(rec: Recorder, w: GAWeights, gIn: GpuTensor): Promise<GpuTensor> {
  const { x, stats } = await runTrunk(rec, w.trunk, gIn);
  const fakeB = await conv2d(rec, w.head, x, { stride: 1, pad: 3, padMode: 'reflect', inputNorm: { stats, relu: true }, activation: 'tanh' }, w.head.label);
  x.release();
  stats.release();
  return fakeB;
}
