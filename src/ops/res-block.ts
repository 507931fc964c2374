import { conv2d, type Conv2dWeights } from '../kernels/conv2d.js';
import { instanceNormApply, instanceNormStats } from '../kernels/instance-norm.js';
import type { Recorder } from '../runtime/recorder.js';
import type { GpuTensor } from '../runtime/tensor.js';

export interface ResBlockWeights {
  readonly convA: Conv2dWeights; // conv_block.1
  readonly convB: Conv2dWeights; // conv_block.5
}

/**
 * NeRCo's ResBlock (NERCO.md §6.2): x + IN(conv(RP1(ReLU(IN(conv(RP1(x))))))).
 * The first IN + ReLU is folded into the second conv's loads; the second IN and the residual add
 * are one apply pass that writes the result over `x` (updated in place).
 */
export async function resBlock(rec: Recorder, w: ResBlockWeights, x: GpuTensor, label: string): Promise<void> {
  const a = await conv2d(rec, w.convA, x, { stride: 1, pad: 1, padMode: 'reflect' }, `${label}.conv_block.1`);
  const sa = await instanceNormStats(rec, a, `${label}.conv_block.2`);
  const b = await conv2d(rec, w.convB, a, { stride: 1, pad: 1, padMode: 'reflect', inputNorm: { stats: sa, relu: true } }, `${label}.conv_block.5`);
  a.release();
  sa.release();
  const sb = await instanceNormStats(rec, b, `${label}.conv_block.6`);
  await instanceNormApply(rec, b, sb, { relu: false, residual: x, output: x }, `${label}.add`);
  b.release();
  sb.release();
}
