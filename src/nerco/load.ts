import { InvalidArgumentError, NercoError } from '../errors.js';
import type { AcquireDeviceOptions } from '../runtime/device.js';
import type { Precision } from './forward.js';
import { fromCombined, parseNeRCoWeights, toCombinedStateDict, type NeRCoWeights } from './load-weights.js';
import { NeRCoModel } from './model.js';

/**
 * Where weights come from:
 * - nothing: the shipped default weights (weights/default.safetensors);
 * - a combined safetensors file's bytes (keys prefixed G_A., Pre., H.);
 * - named files: the three official `latest_net_{G_A,Pre,H}.pth` (or one .safetensors);
 * - a path (Node: a directory with the .pth files, or a .safetensors file) or a URL (browser: a .safetensors);
 * - already parsed weights.
 */
export type WeightsSource =
  | NeRCoWeights
  | Uint8Array
  | ArrayBuffer
  | readonly { readonly name: string; readonly bytes: Uint8Array }[]
  | string
  | URL;

export interface LoadOptions extends AcquireDeviceOptions {
  /**
   * 'f32' (default) or 'f16': f16 storage of the 3×3 conv weights and ResBlock intermediates
   * (f32 arithmetic), used where the device has `shader-f16` and subgroups, else f32 without
   * error; `model.precision` says which one is in effect.
   */
  readonly precision?: Precision;
}

function isNode(): boolean {
  return typeof process !== 'undefined' && !!process.versions?.node;
}

// Node-only modules are imported through a variable so that the browser bundle never includes them.
const NODE_LOADER = '../node/load-weights-node.js';
type NodeLoader = typeof import('../node/load-weights-node.js');
const importNode = <T>(spec: string): Promise<T> => import(/* @vite-ignore */ spec) as Promise<T>;

/** The package's default weights file, relative to this module (src/nerco or dist/browser: [0]; dist/node/src/nerco: [2]). */
function defaultWeightsCandidates(): URL[] {
  return ['../../weights/default.safetensors', '../../../weights/default.safetensors', '../../../../weights/default.safetensors']
    .map((p) => new URL(p, import.meta.url));
}

async function fetchBytes(url: URL | string): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (err) {
    // fetch rejects with a bare TypeError on network failures (offline, CORS, bad scheme).
    throw new NercoError('IO', `could not fetch weights from ${String(url)} (${(err as Error).message})`, { cause: err });
  }
  if (!res.ok) throw new NercoError('IO', `could not fetch weights from ${String(url)}: HTTP ${res.status}`);
  try {
    return new Uint8Array(await res.arrayBuffer());
  } catch (err) {
    throw new NercoError('IO', `the download of ${String(url)} broke off (${(err as Error).message})`, { cause: err });
  }
}

export async function resolveWeights(source?: WeightsSource): Promise<NeRCoWeights> {
  if (source === undefined) {
    if (isNode()) {
      const { readNeRCoWeightsFromPath } = await importNode<NodeLoader>(NODE_LOADER);
      const { existsSync } = await importNode<typeof import('node:fs')>('node:fs');
      const { fileURLToPath } = await importNode<typeof import('node:url')>('node:url');
      const found = defaultWeightsCandidates().map((u) => fileURLToPath(u)).find((p) => existsSync(p));
      if (!found) throw new NercoError('IO', 'the default weights (weights/default.safetensors) are missing from this installation');
      return readNeRCoWeightsFromPath(found);
    }
    return parseNeRCoWeights([{ name: 'default.safetensors', bytes: await fetchBytes(defaultWeightsCandidates()[0]!) }]);
  }
  if (source instanceof Uint8Array) return parseNeRCoWeights([{ name: 'weights.safetensors', bytes: source }]);
  if (source instanceof ArrayBuffer) return parseNeRCoWeights([{ name: 'weights.safetensors', bytes: new Uint8Array(source) }]);
  if (Array.isArray(source)) return parseNeRCoWeights(source);
  if (typeof source === 'string' || source instanceof URL) {
    const s = String(source);
    if (isNode() && !/^(https?|blob|data):/.test(s)) {
      const { readNeRCoWeightsFromPath } = await importNode<NodeLoader>(NODE_LOADER);
      const { fileURLToPath } = await importNode<typeof import('node:url')>('node:url');
      return readNeRCoWeightsFromPath(s.startsWith('file:') ? fileURLToPath(s) : s);
    }
    const name = s.split('/').pop() || 'weights.safetensors';
    return parseNeRCoWeights([{ name, bytes: await fetchBytes(s) }]);
  }
  if (typeof source === 'object' && 'ga' in source && 'pre' in source && 'h' in source) {
    // Parsed weights may have been built or changed by hand: check the shapes and infer the
    // configs again, as for weights read from bytes.
    if (![source.ga, source.pre, source.h].every((net) => net?.tensors instanceof Map)) {
      throw new InvalidArgumentError('weights: parsed weights need ga, pre and h, each with a tensors Map');
    }
    return fromCombined(toCombinedStateDict(source), 'parsed weights');
  }
  throw new InvalidArgumentError('weights: expected bytes, named files, a path/URL or parsed weights');
}

/** Loads NeRCo onto a WebGPU device (the caller's `device`, or one this library acquires). */
export async function loadNeRCo(weights?: WeightsSource, opts: LoadOptions = {}): Promise<NeRCoModel> {
  return NeRCoModel.create(await resolveWeights(weights), opts);
}
