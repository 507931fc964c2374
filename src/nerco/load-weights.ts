/**
 * Turns checkpoint files (bytes, no file system: works in browsers) into validated NeRCo weights:
 * either the three official torch files or one combined safetensors file.
 */
import { CheckpointError, WeightsMismatchError } from '../errors.js';
import { readSafetensors } from '../../weights-tools/safetensors.js';
import { readTorchCheckpoint } from '../../weights-tools/torch-checkpoint.js';
import {
  type GAConfig, type HConfig, inferGA, inferH, inferPre, type InferredNet, type NetName, type PreConfig,
} from './architecture.js';
import type { StateDict } from './host-tensor.js';

export interface NeRCoWeights {
  readonly ga: InferredNet<GAConfig>;
  readonly pre: InferredNet<PreConfig>;
  readonly h: InferredNet<HConfig>;
}

export interface WeightsFile {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** Key prefixes of a combined file, in the order they are written. */
export const COMBINED_PREFIXES: Readonly<Record<NetName, string>> = { G_A: 'G_A.', Pre: 'Pre.', H: 'H.' };
const NETS: readonly NetName[] = ['G_A', 'Pre', 'H'];

/** The official file name of each net (what the original's `save_networks` writes for the latest epoch). */
export const OFFICIAL_FILE_NAMES: Readonly<Record<NetName, string>> = {
  G_A: 'latest_net_G_A.pth', Pre: 'latest_net_Pre.pth', H: 'latest_net_H.pth',
};

const SAFETENSORS_EXT = /\.safetensors$/i;
const PER_NET_NAME = /(?:^|_)net_(G_A|Pre|H)\.(?:pth|pt|safetensors)$/;

function baseName(name: string): string {
  return name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);
}

/** Which net a per-net file name is for (`latest_net_G_A.pth`, `10_net_Pre.pth`, `net_H.safetensors`...). */
export function netForFileName(name: string): NetName | undefined {
  const m = PER_NET_NAME.exec(baseName(name));
  return m ? (m[1] as NetName) : undefined;
}

/** A u64 header length that fits the file, followed by a JSON object: what every safetensors file starts with. */
export function looksLikeSafetensors(bytes: Uint8Array): boolean {
  if (bytes.length < 10) return false;
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  return n >= 2n && n <= BigInt(bytes.length - 8) && bytes[8] === 0x7b; // '{'
}

/** Reads one file as a state dict: a torch zip when it starts with "PK", else by extension or content. */
export function readStateDictFile(file: WeightsFile): StateDict {
  const isZip = file.bytes.length >= 2 && file.bytes[0] === 0x50 && file.bytes[1] === 0x4b;
  if (!isZip && (SAFETENSORS_EXT.test(file.name) || looksLikeSafetensors(file.bytes))) return readSafetensors(file.bytes, file.name);
  return readTorchCheckpoint(file.bytes, file.name);
}

/**
 * Accepts either one combined `.safetensors` file (keys prefixed `G_A.`, `Pre.`, `H.`) or one
 * file per net, recognised by the name suffix `_net_G_A.pth`, `_net_Pre.pth`, `_net_H.pth`
 * (`.safetensors` per net also works). A file with another name counts as the combined file when
 * its content is safetensors; otherwise (G_B, discriminators...) it is ignored.
 */
export function parseNeRCoWeights(files: readonly WeightsFile[]): NeRCoWeights {
  const perNet = new Map<NetName, WeightsFile>();
  const combined: WeightsFile[] = [];
  for (const f of files) {
    const net = netForFileName(f.name);
    if (net) {
      const prev = perNet.get(net);
      if (prev) throw new CheckpointError(f.name, `two files for ${net}: "${prev.name}" and "${f.name}"; pass only one`);
      perNet.set(net, f);
    } else if (SAFETENSORS_EXT.test(f.name) || looksLikeSafetensors(f.bytes)) {
      combined.push(f);
    }
  }

  if (combined.length > 0) {
    if (combined.length > 1 || perNet.size > 0) {
      throw new CheckpointError(combined[0].name,
        'a combined .safetensors file must be passed alone (got ' + files.map((f) => `"${f.name}"`).join(', ') + ')');
    }
    return fromCombined(readSafetensors(combined[0].bytes, combined[0].name), combined[0].name);
  }

  const missing = NETS.filter((n) => !perNet.has(n));
  if (missing.length) {
    const got = files.length ? files.map((f) => `"${f.name}"`).join(', ') : 'no files';
    throw new CheckpointError(OFFICIAL_FILE_NAMES[missing[0]],
      `missing ${missing.map((n) => OFFICIAL_FILE_NAMES[n]).join(', ')} (got ${got}); ` +
      'pass latest_net_G_A.pth, latest_net_Pre.pth and latest_net_H.pth, or one combined .safetensors file');
  }
  const load = (net: NetName): StateDict => readStateDictFile(perNet.get(net) as WeightsFile);
  const source = (net: NetName): string => (perNet.get(net) as WeightsFile).name;
  return {
    ga: inferGA(load('G_A'), { source: source('G_A') }),
    pre: inferPre(load('Pre'), { source: source('Pre') }),
    h: inferH(load('H'), { source: source('H') }),
  };
}

/** Splits a combined state dict by prefix and validates each net. */
export function fromCombined(dict: StateDict, source = 'combined weights'): NeRCoWeights {
  const parts = new Map<NetName, StateDict>(NETS.map((n) => [n, new Map()]));
  for (const [key, t] of dict) {
    const net = NETS.find((n) => key.startsWith(COMBINED_PREFIXES[n]));
    if (!net) {
      throw new WeightsMismatchError(`${source}: unexpected key "${key}"; every key of a combined file starts with G_A., Pre. or H.`, key);
    }
    (parts.get(net) as StateDict).set(key.slice(COMBINED_PREFIXES[net].length), t);
  }
  for (const net of NETS) {
    if ((parts.get(net) as StateDict).size === 0) {
      throw new WeightsMismatchError(`${source}: no ${COMBINED_PREFIXES[net]}* keys; a combined file holds G_A, Pre and H`);
    }
  }
  return {
    ga: inferGA(parts.get('G_A') as StateDict, { source: `${source} [G_A.*]` }),
    pre: inferPre(parts.get('Pre') as StateDict, { source: `${source} [Pre.*]` }),
    h: inferH(parts.get('H') as StateDict, { source: `${source} [H.*]` }),
  };
}

/** One state dict holding all three nets, keys prefixed `G_A.`, `Pre.`, `H.` (the combined-file layout). */
export function toCombinedStateDict(w: NeRCoWeights): StateDict {
  const out: StateDict = new Map();
  const byNet: Record<NetName, StateDict> = { G_A: w.ga.tensors, Pre: w.pre.tensors, H: w.h.tensors };
  for (const net of NETS) {
    for (const [key, t] of byNet[net]) out.set(COMBINED_PREFIXES[net] + key, t);
  }
  return out;
}
