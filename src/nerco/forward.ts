import { maskedConcat } from '../kernels/elementwise.js';
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
}

export function prepareNeRCo(rt: Runtime, w: NeRCoWeights): NeRCoGpuWeights {
  return { pre: preparePre(rt, w.pre.config, w.pre.tensors), h: prepareNetH(rt, w.h.tensors), ga: prepareGA(rt, w.ga.config, w.ga.tensors) };
}

export interface ForwardOptions {
  /** NRN form: 'fast' (default, exact collapse) or 'general' (as the module is written). */
  readonly nrn?: 'fast' | 'general';
  /** Keep pre_trunk, pre_A and mask (and compute netH's image output H) for inspection. */
  readonly intermediates?: boolean;
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
