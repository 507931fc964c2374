import { countParameters } from '../nerco/architecture.js';
import { toCombinedStateDict, type NeRCoWeights } from '../nerco/load-weights.js';
import { writeSafetensors } from '../../weights-tools/safetensors.js';

export interface ToSafetensorsOptions {
  /** Store float16 (half the size; round to nearest even). Default float32. */
  readonly fp16?: boolean;
}

/**
 * Parsed weights (e.g. from the three official .pth files) → the bytes of one combined
 * .safetensors file (keys `G_A.*`, `Pre.*`, `H.*`) that `loadNeRCo` reads back: the CLI's
 * `convert`, without a file system, so it runs in a browser.
 */
export function weightsToSafetensors(weights: NeRCoWeights, opts: ToSafetensorsOptions = {}): Uint8Array {
  const fp16 = opts.fp16 ?? false;
  return writeSafetensors(toCombinedStateDict(weights), { fp16, metadata: combinedMetadata(weights, fp16, 'nerco-webgpu weightsToSafetensors') });
}

/** Metadata of a combined file: informative only, loading re-infers everything from the shapes. */
export function combinedMetadata(w: NeRCoWeights, fp16: boolean, producer: string): Record<string, string> {
  return {
    format: 'pt',
    producer,
    nets: 'G_A,Pre,H',
    dtype: fp16 ? 'float16' : 'float32',
    'G_A.config': JSON.stringify(w.ga.config),
    'Pre.config': JSON.stringify(w.pre.config),
    'H.config': JSON.stringify(w.h.config),
    parameters: String(countParameters(w.ga.tensors) + countParameters(w.pre.tensors) + countParameters(w.h.tensors)),
  };
}
