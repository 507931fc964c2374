import { LimitError } from '../errors.js';
import { maskedConcat } from '../kernels/elementwise.js';
import { defaultBandRows, levelChannels, needsBands, recordForwardBanded, type BandRows } from './forward-banded.js';
import type { Recorder } from '../runtime/recorder.js';
import type { Runtime } from '../runtime/runtime.js';
import type { GpuTensor } from '../runtime/tensor.js';
import { prepareGA, runGA, type GAWeights } from './g-a.js';
import type { NeRCoWeights } from './load-weights.js';
import { prepareNetH, runNetH, type NetHWeights } from './net-h.js';
import { preparePre, runPre, type PreWeights } from './pre.js';

/** The three nets' weights on the GPU, repacked for the kernels. */
export interface NeRCoGpuWeights {
  readonly pre: PreWeights;
  readonly h: NetHWeights;
  readonly ga: GAWeights;
  /** The precision the weights were prepared for (see precisionFor). */
  readonly precision: Precision;
}

/**
 * 'f32' (default): f32 storage and arithmetic. 'f16': f16 storage of the 3×3 conv weights and of
 * the ResBlock intermediates (half the loads, the cost that dominates on CPU adapters), with f32
 * arithmetic, statistics and residual stream; the other layers stay f32.
 */
export type Precision = 'f32' | 'f16';

/**
 * The precision a runtime can give for a requested one: 'f16' needs the `shader-f16` feature and
 * the subgroup kernels (which hold the f16 storage path); otherwise f32, without error.
 */
export function precisionFor(rt: Runtime, requested: Precision = 'f32'): Precision {
  return requested === 'f16' && rt.hasF16 && rt.hasSubgroups8 ? 'f16' : 'f32';
}

export function prepareNeRCo(rt: Runtime, w: NeRCoWeights, opts: { readonly precision?: Precision } = {}): NeRCoGpuWeights {
  const precision = precisionFor(rt, opts.precision);
  return {
    pre: preparePre(rt, w.pre.config, w.pre.tensors, precision),
    h: prepareNetH(rt, w.h.tensors, precision),
    ga: prepareGA(rt, w.ga.config, w.ga.tensors, precision),
    precision,
  };
}

export interface ForwardOptions {
  /** NRN form: 'fast' (default, exact collapse) or 'general' (as the module is written). */
  readonly nrn?: 'fast' | 'general';
  /** Keep pre_trunk, pre_A and mask (and compute netH's image output H) for inspection. */
  readonly intermediates?: boolean;
  /**
   * Run on row bands of this many rows (at full, 1/2 and 1/4 resolution; one number for all):
   * src/nerco/forward-banded.ts. By default bands are used only when a whole map would exceed
   * the device's storage-binding limit; forcing them is for tests.
   */
  readonly bandRows?: BandRows;
}

export interface ForwardTensors {
  readonly fakeB: GpuTensor;
  readonly preTrunk?: GpuTensor;
  readonly preA?: GpuTensor;
  readonly mask?: GpuTensor;
  readonly hImage?: GpuTensor;
}

/**
 * NeRCo's inference pass (NERCO.md §1) on real_A [3,H,W] in [-1,1], recorded into `rec`:
 * fake_B = G_A(cat(real_A, Pre(real_A)) · mask(real_A)). Nothing is read back.
 */
export async function recordForward(rec: Recorder, w: NeRCoGpuWeights, realA: GpuTensor, opts: ForwardOptions = {}): Promise<ForwardTensors> {
  const keep = opts.intermediates ?? false;
  const rows = opts.bandRows ?? bandRowsNeeded(rec.runtime, w, realA);
  if (rows !== null) {
    if (opts.nrn === 'general') throw new LimitError('the general NRN form runs only unbanded (on images whose maps fit one storage binding); use the fast form');
    return recordForwardBanded(rec, w, realA, rows, keep);
  }
  const { preTrunk, preA } = await runPre(rec, w.pre, realA, opts.nrn ?? 'fast');
  if (!keep) preTrunk.release();
  const { mask, hImage } = await runNetH(rec, w.h, realA, keep);
  const gIn = await maskedConcat(rec, realA, preA, mask, 'g_in');
  if (!keep) {
    preA.release();
    mask.release();
  }
  const fakeB = await runGA(rec, w.ga, gIn);
  gIn.release();
  return keep ? { fakeB, preTrunk, preA, mask, hImage } : { fakeB };
}

/** Limit on one pooled buffer: what the runtime's pool allows. */
export function bufferLimit(rt: Runtime): number {
  return Math.min(rt.limits.maxBufferSize, rt.limits.maxStorageBufferBindingSize);
}

/**
 * Rows per band when the pass on real_A [3, H, W] needs bands on this device, else null.
 * Throws LimitError when even one-row bands would not fit (an image far too wide).
 */
export function bandRowsNeeded(rt: Runtime, w: NeRCoGpuWeights, realA: GpuTensor): number | null {
  const [, h, wd] = realA.shape as [number, number, number];
  const ch = levelChannels(w);
  const limit = bufferLimit(rt);
  if (!needsBands(ch, h, wd, limit)) return null;
  const rows = defaultBandRows(ch, h, wd, limit);
  if (rows === 0) throw new LimitError(`a ${wd}-pixel-wide image is too wide for this device: one row of its widest map needs more than maxStorageBufferBindingSize (${limit} bytes) allows`);
  return rows;
}
