import { maskFromFeatures, prepareAttention, type AttentionWeights } from '../kernels/attention.js';
import { conv2d, prepareConv2d, type Conv2dWeights } from '../kernels/conv2d.js';
import { instanceNormApply, instanceNormStats } from '../kernels/instance-norm.js';
import { resBlock, type ResBlockWeights } from '../ops/res-block.js';
import type { Recorder } from '../runtime/recorder.js';
import type { Runtime } from '../runtime/runtime.js';
import type { GpuTensor } from '../runtime/tensor.js';
import type { StateDict } from './host-tensor.js';

/** netH, the mask extractor (NERCO.md §5): stem, 3 full-resolution ResBlocks, attention. */
export interface NetHWeights {
  readonly stem: Conv2dWeights;
  readonly blocks: readonly ResBlockWeights[];
  readonly attention: AttentionWeights;
  /** The image head (`H` output); not needed for fake_B. */
  readonly output: Conv2dWeights;
}

export function prepareNetH(rt: Runtime, t: StateDict, precision: 'f32' | 'f16' = 'f32'): NetHWeights {
  const conv = (k: string) => prepareConv2d(rt, t.get(`${k}.weight`)!, t.get(`${k}.bias`) ?? null, `H.${k}`, undefined, { precision });
  return {
    stem: conv('model.1'),
    blocks: [4, 5, 6].map((b) => ({ convA: conv(`model.${b}.conv_block.1`), convB: conv(`model.${b}.conv_block.5`) })),
    attention: prepareAttention(rt, { fc1: t.get('fc1.weight')!, fc2: t.get('fc2.weight')!, convCa: t.get('conv_ca.weight')!, conv1: t.get('conv1.weight')! }, 'H'),
    output: conv('output'),
  };
}

export interface NetHOutputs {
  readonly mask: GpuTensor;
  /** tanh(output ⋆ RP3(features)), only when asked for. */
  readonly hImage?: GpuTensor;
}

export async function runNetH(rec: Recorder, w: NetHWeights, realA: GpuTensor, withImage = false): Promise<NetHOutputs> {
  const x = await conv2d(rec, w.stem, realA, { stride: 1, pad: 3, padMode: 'reflect' }, 'H.model.1');
  const s = await instanceNormStats(rec, x, 'H.model.2');
  await instanceNormApply(rec, x, s, { relu: true, output: x }, 'H.model.3');
  s.release();
  for (let i = 0; i < w.blocks.length; i++) await resBlock(rec, w.blocks[i]!, x, `H.model.${4 + i}`);
  const mask = await maskFromFeatures(rec, w.attention, x, 'H.attention');
  const hImage = withImage ? await conv2d(rec, w.output, x, { stride: 1, pad: 3, padMode: 'reflect', activation: 'tanh' }, 'H.output') : undefined;
  x.release();
  return hImage ? { mask, hImage } : { mask };
}
