/**
 * Converts the official checkpoints (a directory with latest_net_{G_A,Pre,H}.pth, or an existing
 * combined file) into one combined safetensors file, validated on the way through.
 * Backs `nerco-webgpu convert <dir> -o model.safetensors [--fp16]`.
 */
import { promises as fs } from 'node:fs';
import { NercoError } from '../src/errors.js';
import { combinedMetadata } from '../src/browser/convert.js';
import { toCombinedStateDict } from '../src/nerco/load-weights.js';
import { writeFileAtomic } from '../src/node/fs-atomic.js';
import { readNeRCoWeightsFromPath } from '../src/node/load-weights-node.js';
import { writeSafetensors } from './safetensors.js';

export interface ConvertOptions {
  /** Store float16 instead of float32 (half the size; values rounded to nearest even). */
  readonly fp16?: boolean;
  /** Replace an existing output file. */
  readonly force?: boolean;
}

/**
 * Reads and validates `dir`, then writes `out` through a temporary file in the same directory
 * and a rename, so `out` is never left half-written. An existing `out` is kept unless `force`.
 */
export async function convertCheckpoints(dir: string, out: string, options: ConvertOptions = {}): Promise<void> {
  const fp16 = options.fp16 ?? false;
  const force = options.force ?? false;
  // Fail before the slow read; writeFileAtomic checks again (atomically) when it moves the file into place.
  if (!force && await pathExists(out)) throw new NercoError('IO', `${out}: file exists (use --force to overwrite)`);
  const weights = await readNeRCoWeightsFromPath(dir);
  const bytes = writeSafetensors(toCombinedStateDict(weights), { fp16, metadata: combinedMetadata(weights, fp16, 'nerco-webgpu convert') });
  await writeFileAtomic(out, bytes, { force });
}

async function pathExists(path: string): Promise<boolean> {
  try {
    await fs.lstat(path);
    return true;
  } catch {
    return false;
  }
}
