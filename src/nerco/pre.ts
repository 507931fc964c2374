import { instanceNormApply } from '../kernels/instance-norm.js';
import { nrnFast, nrnGeneral, prepareNrn, type NrnWeights } from '../kernels/nrn.js';
import { prepareTrunk, runTrunk, type TrunkWeights } from '../ops/resnet-trunk.js';
import type { Recorder } from '../runtime/recorder.js';
import type { Runtime } from '../runtime/runtime.js';
import type { GpuTensor } from '../runtime/tensor.js';
import type { PreConfig } from './architecture.js';
import type { StateDict } from './host-tensor.js';

/** Pre = NRN(trunk(x)) (NERCO.md §4). */
export interface PreWeights {
  readonly trunk: TrunkWeights;
  readonly nrn: NrnWeights;
}

export function preparePre(rt: Runtime, config: PreConfig, t: StateDict, precision: 'f32' | 'f16' = 'f32'): PreWeights {
  const layers = config.mlpWidths.map((_, i) => ({ weight: t.get(`mlp.imnet.layers.${2 * i}.weight`)!, bias: t.get(`mlp.imnet.layers.${2 * i}.bias`)! }));
  return { trunk: prepareTrunk(rt, t, config.nBlocks, 'Pre.', precision), nrn: prepareNrn(rt, layers, 'Pre.mlp') };
}

export interface PreOutputs {
  /** The NRN input (trunk output after its final IN + ReLU), 1×ngf×H×W. */
  readonly preTrunk: GpuTensor;
  readonly preA: GpuTensor;
}

/** `nrn`: 'fast' is the exact collapsed form (§4.3); 'general' runs the module as written (§4.2). */
export async function runPre(rec: Recorder, w: PreWeights, realA: GpuTensor, nrn: 'fast' | 'general' = 'fast'): Promise<PreOutputs> {
  const { x, stats } = await runTrunk(rec, w.trunk, realA);
  await instanceNormApply(rec, x, stats, { relu: true, output: x }, 'Pre.model.24');
  stats.release();
  const preA = nrn === 'fast' ? await nrnFast(rec, w.nrn, x, 'Pre.mlp') : await nrnGeneral(rec, w.nrn, x, 'Pre.mlp');
  return { preTrunk: x, preA };
}
