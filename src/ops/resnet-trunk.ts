import { conv2d, prepareConv2d, type Conv2dWeights } from '../kernels/conv2d.js';
import { convTranspose2d, prepareConvTranspose2d, type ConvTranspose2dWeights } from '../kernels/conv-transpose2d.js';
import { instanceNormApply, instanceNormStats } from '../kernels/instance-norm.js';
import type { StateDict, HostTensor } from '../nerco/host-tensor.js';
import type { Recorder } from '../runtime/recorder.js';
import type { Runtime } from '../runtime/runtime.js';
import type { GpuTensor } from '../runtime/tensor.js';
import { resBlock, type ResBlockWeights } from './res-block.js';

/** The ResnetGenerator trunk shared by Pre and G_A (NERCO.md §4.1 rows 0–24, §6.1). */
export interface TrunkWeights {
  readonly stem: Conv2dWeights;
  readonly down: readonly [Conv2dWeights, Conv2dWeights];
  readonly blocks: readonly ResBlockWeights[];
  readonly up: readonly [ConvTranspose2dWeights, ConvTranspose2dWeights];
  readonly prefix: string;
}

/** A tensor whose instance norm (+ ReLU) is still to be applied, with its statistics. */
export interface PendingNorm {
  readonly x: GpuTensor;
  readonly stats: GpuTensor;
}

function get(t: StateDict, key: string, prefix: string): HostTensor {
  const v = t.get(key);
  if (!v) throw new Error(`${prefix}${key} missing after validation`); // architecture.ts validated the keys
  return v;
}

/** `precision` 'f16': the 3×3 convs keep f16 weights where the kernel allows (see prepareConv2d). */
export function prepareTrunk(rt: Runtime, t: StateDict, nBlocks: number, prefix: string, precision: 'f32' | 'f16' = 'f32'): TrunkWeights {
  // laneChannels 2 for the stride-2 down convs: their input window is 4× larger per output, so
  // sharing each loaded value between two output channels halves the loads (bench -- kernels).
  const conv = (i: string, laneChannels: 1 | 2 = 1) =>
    prepareConv2d(rt, get(t, `model.${i}.weight`, prefix), get(t, `model.${i}.bias`, prefix), `${prefix}model.${i}`, undefined, { precision, laneChannels });
  const convT = (i: number) => prepareConvTranspose2d(rt, get(t, `model.${i}.weight`, prefix), get(t, `model.${i}.bias`, prefix), `${prefix}model.${i}`);
  const blocks: ResBlockWeights[] = [];
  for (let b = 10; b < 10 + nBlocks; b++) blocks.push({ convA: conv(`${b}.conv_block.1`), convB: conv(`${b}.conv_block.5`) });
  return { stem: conv('1'), down: [conv('4', 2), conv('7', 2)], blocks, up: [convT(10 + nBlocks), convT(13 + nBlocks)], prefix };
}

/**
 * Runs the trunk and returns the last ConvTranspose output with its IN statistics, so that the
 * caller can fold that final IN + ReLU into whatever reads it next. Each IN + ReLU inside the
 * trunk is folded into the following conv's loads; only the residual stream is materialised.
 */
export async function runTrunk(rec: Recorder, w: TrunkWeights, input: GpuTensor): Promise<PendingNorm> {
  const p = w.prefix;
  const stem = await conv2d(rec, w.stem, input, { stride: 1, pad: 3, padMode: 'reflect' }, `${p}model.1`);
  const s0 = await instanceNormStats(rec, stem, `${p}model.2`);
  const d1 = await conv2d(rec, w.down[0], stem, { stride: 2, pad: 1, padMode: 'zero', inputNorm: { stats: s0, relu: true } }, `${p}model.4`);
  stem.release();
  s0.release();
  const s1 = await instanceNormStats(rec, d1, `${p}model.5`);
  const d2 = await conv2d(rec, w.down[1], d1, { stride: 2, pad: 1, padMode: 'zero', inputNorm: { stats: s1, relu: true } }, `${p}model.7`);
  d1.release();
  s1.release();
  const s2 = await instanceNormStats(rec, d2, `${p}model.8`);
  await instanceNormApply(rec, d2, s2, { relu: true, output: d2 }, `${p}model.9`);
  s2.release();
  for (let i = 0; i < w.blocks.length; i++) await resBlock(rec, w.blocks[i]!, d2, `${p}model.${10 + i}`);
  const nb = w.blocks.length;
  const u1 = await convTranspose2d(rec, w.up[0], d2, {}, `${p}model.${10 + nb}`);
  d2.release();
  const su1 = await instanceNormStats(rec, u1, `${p}model.${11 + nb}`);
  const u2 = await convTranspose2d(rec, w.up[1], u1, { inputNorm: { stats: su1, relu: true } }, `${p}model.${13 + nb}`);
  u1.release();
  su1.release();
  const su2 = await instanceNormStats(rec, u2, `${p}model.${14 + nb}`);
  return { x: u2, stats: su2 };
}
