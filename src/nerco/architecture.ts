/**
 * Infers the configuration of NeRCo's three nets (G_A, Pre, netH) from their state dicts and
 * validates every key and shape against it (NERCO.md §2.2–2.5). Loading is strict, like the
 * original's `load_state_dict(strict=True)`, after two tolerated clean-ups: a `module.` prefix on
 * every key is stripped, and InstanceNorm running statistics are dropped.
 */
import { WeightsMismatchError } from '../errors.js';
import { type HostTensor, numel, type StateDict } from './host-tensor.js';

export type NetName = 'G_A' | 'Pre' | 'H';

/** G_A: ResnetGenerator, 6 → 3 channels. */
export interface GAConfig {
  readonly ngf: number;
  readonly nBlocks: number;
  readonly inChannels: 6;
}

/** Pre: ResnetGenerator trunk (3 input channels, no head) followed by the NRN MLP. */
export interface PreConfig {
  readonly ngf: number;
  readonly nBlocks: number;
  /** Output widths of the MLP's Linear layers in order; the last is always 3. */
  readonly mlpWidths: number[];
}

/** netH: ResnetExtractor (always 3 blocks). */
export interface HConfig {
  readonly ngf: number;
}

export interface InferredNet<C> {
  readonly config: C;
  /** The cleaned state dict (prefix stripped, running stats dropped), in file order. */
  readonly tensors: StateDict;
}

export interface InferOptions {
  /** File name to put in error messages. */
  readonly source?: string;
}

type Shape = readonly number[];
type ExpectedShapes = Map<string, Shape>;

const RUNNING_STAT_SUFFIXES = ['.running_mean', '.running_var', '.num_batches_tracked'];
const MODULE_PREFIX = 'module.';
const BLOCK_KEY = /^model\.(\d+)\.conv_block\./;
const MLP_KEY = /^mlp\.imnet\.layers\.(\d+)\.(weight|bias)$/;
/** NRN input width beyond the unfolded 3×3 features: coordinate 2 + positional encoding 4·8 + cell 2. */
const NRN_EXTRA_INPUTS = 36;

// ---------------------------------------------------------------------------------------------
// Expected layouts

function trunkShapes(out: ExpectedShapes, ngf: number, nBlocks: number, inChannels: number): void {
  const c1 = ngf, c2 = 2 * ngf, c4 = 4 * ngf;
  out.set('model.1.weight', [c1, inChannels, 7, 7]).set('model.1.bias', [c1]);
  out.set('model.4.weight', [c2, c1, 3, 3]).set('model.4.bias', [c2]);
  out.set('model.7.weight', [c4, c2, 3, 3]).set('model.7.bias', [c4]);
  for (let b = 0; b < nBlocks; b++) {
    for (const conv of [1, 5]) {
      out.set(`model.${10 + b}.conv_block.${conv}.weight`, [c4, c4, 3, 3]).set(`model.${10 + b}.conv_block.${conv}.bias`, [c4]);
    }
  }
  // ConvTranspose weights are [Cin, Cout, kh, kw].
  out.set(`model.${10 + nBlocks}.weight`, [c4, c2, 3, 3]).set(`model.${10 + nBlocks}.bias`, [c2]);
  out.set(`model.${13 + nBlocks}.weight`, [c2, c1, 3, 3]).set(`model.${13 + nBlocks}.bias`, [c1]);
}

/** Parameter shapes of G_A, in the original's state-dict order. */
export function expectedShapesGA(config: GAConfig): Map<string, Shape> {
  const out: ExpectedShapes = new Map();
  trunkShapes(out, config.ngf, config.nBlocks, config.inChannels);
  out.set(`model.${17 + config.nBlocks}.weight`, [3, config.ngf, 7, 7]).set(`model.${17 + config.nBlocks}.bias`, [3]);
  return out;
}

/** Parameter shapes of Pre, in the original's state-dict order (MLP first). */
export function expectedShapesPre(config: PreConfig): Map<string, Shape> {
  const out: ExpectedShapes = new Map();
  let inWidth = config.ngf * 9 + NRN_EXTRA_INPUTS;
  config.mlpWidths.forEach((w, i) => {
    out.set(`mlp.imnet.layers.${2 * i}.weight`, [w, inWidth]).set(`mlp.imnet.layers.${2 * i}.bias`, [w]);
    inWidth = w;
  });
  trunkShapes(out, config.ngf, config.nBlocks, 3);
  return out;
}

/** Parameter shapes of netH, in the original's state-dict order. */
export function expectedShapesH(config: HConfig): Map<string, Shape> {
  const { ngf } = config;
  const squeeze = Math.floor(ngf / 16);
  const out: ExpectedShapes = new Map();
  out.set('output.weight', [3, ngf, 7, 7]).set('output.bias', [3]);
  out.set('model.1.weight', [ngf, 3, 7, 7]).set('model.1.bias', [ngf]);
  for (const b of [4, 5, 6]) {
    for (const conv of [1, 5]) {
      out.set(`model.${b}.conv_block.${conv}.weight`, [ngf, ngf, 3, 3]).set(`model.${b}.conv_block.${conv}.bias`, [ngf]);
    }
  }
  out.set('fc1.weight', [squeeze, 2 * ngf, 1, 1]);
  out.set('fc2.weight', [2 * ngf, squeeze, 1, 1]);
  out.set('conv1.weight', [1, 2, 7, 7]);
  out.set('conv_ca.weight', [ngf, 2 * ngf, 1, 1]);
  return out;
}

/** Module paths of the parameter-free InstanceNorm layers of a ResnetGenerator trunk. */
export function instanceNormPathsTrunk(nBlocks: number): string[] {
  const paths = ['model.2', 'model.5', 'model.8'];
  for (let b = 0; b < nBlocks; b++) paths.push(`model.${10 + b}.conv_block.2`, `model.${10 + b}.conv_block.6`);
  paths.push(`model.${11 + nBlocks}`, `model.${14 + nBlocks}`);
  return paths;
}

export function instanceNormPathsH(): string[] {
  const paths = ['model.2'];
  for (const b of [4, 5, 6]) paths.push(`model.${b}.conv_block.2`, `model.${b}.conv_block.6`);
  return paths;
}

// ---------------------------------------------------------------------------------------------
// Clean-up

/** Strips `module.` (DataParallel) when every key has it; otherwise returns the dict unchanged. */
export function stripModulePrefix(dict: StateDict): StateDict {
  const keys = [...dict.keys()];
  if (keys.length === 0 || !keys.every((k) => k.startsWith(MODULE_PREFIX))) return dict;
  return new Map(keys.map((k) => [k.slice(MODULE_PREFIX.length), dict.get(k) as HostTensor]));
}

/** Drops running_mean / running_var / num_batches_tracked of the given InstanceNorm layers. */
export function dropRunningStats(dict: StateDict, inPaths: readonly string[]): StateDict {
  const drop = new Set(inPaths.flatMap((p) => RUNNING_STAT_SUFFIXES.map((s) => p + s)));
  return new Map([...dict].filter(([k]) => !drop.has(k)));
}

// ---------------------------------------------------------------------------------------------
// Inference

function label(net: NetName, options: InferOptions): string {
  return options.source ? `${options.source} (${net})` : net;
}

function fmt(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

const NET_DESCRIPTION: Record<NetName, string> = {
  G_A: 'G_A', Pre: 'Pre', H: 'netH (H)',
};

/** A best guess at which net a (prefix-stripped) state dict belongs to, with the evidence. */
export function guessNet(dict: StateDict): { net: NetName; reason: string } | undefined {
  const keys = [...dict.keys()];
  if (keys.some((k) => k.startsWith('mlp.imnet.'))) return { net: 'Pre', reason: 'it has mlp.imnet.* keys' };
  const hKey = ['conv_ca.weight', 'fc1.weight', 'output.weight'].find((k) => dict.has(k));
  if (hKey) return { net: 'H', reason: `it has the key "${hKey}"` };
  if (dict.get('model.1.weight')?.shape[1] === 6) return { net: 'G_A', reason: 'its first conv takes 6 input channels' };
  return undefined;
}

function rejectOtherNet(dict: StateDict, net: NetName, options: InferOptions): void {
  const guess = guessNet(dict);
  if (guess && guess.net !== net) {
    throw new WeightsMismatchError(
      `${label(net, options)}: this looks like a ${NET_DESCRIPTION[guess.net]} checkpoint (${guess.reason}), not ${NET_DESCRIPTION[net]}; check which file goes where`);
  }
}

function requireTensor(dict: StateDict, key: string, what: string, net: NetName, options: InferOptions): HostTensor {
  const t = dict.get(key);
  if (!t) throw new WeightsMismatchError(`${label(net, options)}: missing key "${key}" (${what})`, key);
  return t;
}

/** The stem conv gives ngf; it must at least be a non-empty 4-D tensor. */
function stemWidth(dict: StateDict, net: NetName, options: InferOptions, inChannels: number): number {
  const t = requireTensor(dict, 'model.1.weight', `the 7×7 stem conv, expected shape [ngf, ${inChannels}, 7, 7]`, net, options);
  if (t.shape.length !== 4 || t.shape[0] < 1) {
    throw new WeightsMismatchError(`${label(net, options)}: key "model.1.weight" has shape ${fmt(t.shape)}, expected [ngf, ${inChannels}, 7, 7]`, 'model.1.weight');
  }
  return t.shape[0];
}

function countBlocks(dict: StateDict): number {
  const indices = new Set<number>();
  for (const k of dict.keys()) {
    const m = BLOCK_KEY.exec(k);
    if (m) indices.add(Number(m[1]));
  }
  return indices.size;
}

/** Compares keys and shapes (missing, then wrong shape, then extra) and rejects NaN/Inf. */
function validate(dict: StateDict, expected: ExpectedShapes, net: NetName, options: InferOptions): void {
  const where = label(net, options);
  for (const [key, shape] of expected) {
    const t = dict.get(key);
    if (!t) throw new WeightsMismatchError(`${where}: missing key "${key}" (expected shape ${fmt(shape)})`, key);
    if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
      throw new WeightsMismatchError(`${where}: key "${key}" has shape ${fmt(t.shape)}, expected ${fmt(shape)}`, key);
    }
    if (t.data.length !== numel(t.shape)) {
      throw new WeightsMismatchError(`${where}: key "${key}" has ${t.data.length} values for shape ${fmt(t.shape)}`, key);
    }
  }
  for (const [key, t] of dict) {
    if (!expected.has(key)) throw new WeightsMismatchError(`${where}: unexpected key "${key}" (shape ${fmt(t.shape)})`, key);
  }
  for (const [key, t] of dict) {
    const d = t.data;
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i])) {
        throw new WeightsMismatchError(`${where}: key "${key}" contains ${d[i]} at flat index ${i}; weights must be finite`, key);
      }
    }
  }
}

export function inferGA(dict: StateDict, options: InferOptions = {}): InferredNet<GAConfig> {
  let tensors = stripModulePrefix(dict);
  rejectOtherNet(tensors, 'G_A', options);
  const nBlocks = countBlocks(tensors);
  const config: GAConfig = { ngf: stemWidth(tensors, 'G_A', options, 6), nBlocks, inChannels: 6 };
  tensors = dropRunningStats(tensors, instanceNormPathsTrunk(nBlocks));
  validate(tensors, expectedShapesGA(config), 'G_A', options);
  return { config, tensors };
}

export function inferPre(dict: StateDict, options: InferOptions = {}): InferredNet<PreConfig> {
  let tensors = stripModulePrefix(dict);
  rejectOtherNet(tensors, 'Pre', options);
  const nBlocks = countBlocks(tensors);
  const ngf = stemWidth(tensors, 'Pre', options, 3);
  tensors = dropRunningStats(tensors, instanceNormPathsTrunk(nBlocks));
  const config: PreConfig = { ngf, nBlocks, mlpWidths: mlpWidths(tensors, ngf, options) };
  validate(tensors, expectedShapesPre(config), 'Pre', options);
  return { config, tensors };
}

/** Hidden widths come from the layers' weights; the layer count from the highest index (layers sit at even indices). */
function mlpWidths(dict: StateDict, ngf: number, options: InferOptions): number[] {
  let maxIndex = -1;
  for (const k of dict.keys()) {
    const m = MLP_KEY.exec(k);
    if (m) maxIndex = Math.max(maxIndex, Number(m[1]));
  }
  const count = maxIndex < 0 ? 1 : Math.floor(maxIndex / 2) + 1;
  const widths: number[] = [];
  let inWidth = ngf * 9 + NRN_EXTRA_INPUTS;
  for (let i = 0; i < count; i++) {
    const key = `mlp.imnet.layers.${2 * i}.weight`;
    const last = i === count - 1;
    const t = requireTensor(dict, key, `NRN Linear ${i}, expected shape [${last ? 3 : 'width'}, ${inWidth}]`, 'Pre', options);
    if (t.shape.length !== 2 || t.shape[0] < 1) {
      throw new WeightsMismatchError(`${label('Pre', options)}: key "${key}" has shape ${fmt(t.shape)}, expected [${last ? 3 : 'width'}, ${inWidth}]`, key);
    }
    // The last layer must give 3 channels; validate() reports it if it does not.
    widths.push(last ? 3 : t.shape[0]);
    inWidth = t.shape[0];
  }
  return widths;
}

export function inferH(dict: StateDict, options: InferOptions = {}): InferredNet<HConfig> {
  let tensors = stripModulePrefix(dict);
  rejectOtherNet(tensors, 'H', options);
  const ngf = stemWidth(tensors, 'H', options, 3);
  if (ngf < 16) {
    throw new WeightsMismatchError(
      `${label('H', options)}: key "model.1.weight" gives ngf = ${ngf}, but netH's channel attention needs ngf >= 16 (fc1 has ngf/16 outputs)`, 'model.1.weight');
  }
  tensors = dropRunningStats(tensors, instanceNormPathsH());
  const config: HConfig = { ngf };
  validate(tensors, expectedShapesH(config), 'H', options);
  return { config, tensors };
}

/** Total number of scalar parameters in a state dict. */
export function countParameters(dict: StateDict): number {
  let n = 0;
  for (const t of dict.values()) n += numel(t.shape);
  return n;
}
