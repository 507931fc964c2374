import { conv2d, type Conv2dWeights } from '../kernels/conv2d.js';
import { DEFAULT_STATS_CHUNK, instanceNormApply, instanceNormStats } from '../kernels/instance-norm.js';
import { instanceNormResidualF16 } from '../kernels/instance-norm-f16.js';
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
 * With f16 weights (precision 'f16') the two conv outputs are stored as f16 too (halving what the
 * next conv and the statistics load); x, the residual stream, and every sum stay f32.
 */
export async function resBlock(rec: Recorder, w: ResBlockWeights, x: GpuTensor, label: string): Promise<void> {
  if (resBlockF16(rec, w, x)) return resBlockHalf(rec, w, x, label);
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

/** Whether the block runs with f16 intermediates: f16 weights, and statistics the f16 path covers. */
function resBlockF16(rec: Recorder, w: ResBlockWeights, x: GpuTensor): boolean {
  const [c, h, wd] = x.shape as [number, number, number];
  return w.convA.weightF16 && w.convB.weightF16 && c % 2 === 0 && w.convA.cout % 2 === 0 && rec.runtime.hasSubgroups8 && h * wd <= DEFAULT_STATS_CHUNK;
}

async function resBlockHalf(rec: Recorder, w: ResBlockWeights, x: GpuTensor, label: string): Promise<void> {
  const a = await conv2d(rec, w.convA, x, { stride: 1, pad: 1, padMode: 'reflect', outputDtype: 'f16' }, `${label}.conv_block.1`);
  const sa = await instanceNormStats(rec, a, `${label}.conv_block.2`);
  const b = await conv2d(rec, w.convB, a, { stride: 1, pad: 1, padMode: 'reflect', inputNorm: { stats: sa, relu: true }, outputDtype: 'f16' }, `${label}.conv_block.5`);
  a.release();
  sa.release();
  const sb = await instanceNormStats(rec, b, `${label}.conv_block.6`);
  await instanceNormResidualF16(rec, b, sb, x, `${label}.add`);
  b.release();
  sb.release();
}
