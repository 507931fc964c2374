import { WeightsMismatchError } from '../../src/errors.js';
import { ensure } from './check.js';
import { conv2d, conv2dOutputShape, convTranspose2d, convTranspose2dOutputShape } from './conv.js';
import { add, concatChannels, mulBroadcastChannel, relu, tanh } from './elementwise.js';
import { hImageHead, maskExtractor } from './neth.js';
import { instanceNorm } from './norm.js';
import { nrnFast, nrnGeneral } from './nrn.js';
import { paddedShape, reflectPad } from './pad.js';
import type { LinearLayer, Shape3, Shape4 } from './types.js';

/** One net's weights, keys exactly as in NERCO.md §2.3 (no `module.` prefix). HostTensor fits. */
export type WeightMap = ReadonlyMap<string, { readonly shape: readonly number[]; readonly data: Float32Array }>;

export interface NercoWeights {
  ga: WeightMap;
  pre: WeightMap;
  h: WeightMap;
}

export interface NercoCpuOutputs {
  /** [ngf, H, W]: Pre trunk output, the NRN input. */
  preTrunk: Float32Array;
  /** [3, H, W]: Pre output, unclamped. */
  preA: Float32Array;
  /** [1, H, W]: netH sigmoid mask. */
  mask: Float32Array;
  /** [3, H, W]: netH image output (not used by fakeB). */
  hImage: Float32Array;
  /** [3, H, W]: G_A output after tanh. */
  fakeB: Float32Array;
}

export interface NercoCpuOptions {
  /** 'fast' (default): the exact 3×3-conv form of the NRN; 'general': the literal LIIF form (slow). */
  nrn?: 'fast' | 'general';
}

interface Tensor {
  data: Float32Array;
  shape: Shape3;
}

function param(map: WeightMap, key: string, rank?: number): { shape: readonly number[]; data: Float32Array } {
  const t = map.get(key);
  if (t === undefined) throw new WeightsMismatchError(`missing weight ${key}`, key);
  if (rank !== undefined && t.shape.length !== rank) {
    throw new WeightsMismatchError(`${key}: expected ${rank} dimensions, got [${t.shape.join(', ')}]`, key);
  }
  return t;
}

function shape4(map: WeightMap, key: string): Shape4 {
  const s = param(map, key, 4).shape;
  return [s[0], s[1], s[2], s[3]];
}

/** Conv2d with the weight and (optional) bias `<prefix>.weight` / `<prefix>.bias`. */
function convLayer(map: WeightMap, prefix: string, x: Tensor, stride: number, pad: number, padMode: 'zero' | 'reflect'): Tensor {
  const wShape = shape4(map, `${prefix}.weight`);
  const bias = map.get(`${prefix}.bias`)?.data ?? null;
  const opts = { stride, pad, padMode } as const;
  return {
    data: conv2d(x.data, x.shape, param(map, `${prefix}.weight`).data, wShape, bias, opts),
    shape: conv2dOutputShape(x.shape, wShape, opts),
  };
}

function convTransposeLayer(map: WeightMap, prefix: string, x: Tensor): Tensor {
  const wShape = shape4(map, `${prefix}.weight`);
  const bias = map.get(`${prefix}.bias`)?.data ?? null;
  return {
    data: convTranspose2d(x.data, x.shape, param(map, `${prefix}.weight`).data, wShape, bias),
    shape: convTranspose2dOutputShape(x.shape, wShape),
  };
}

function inRelu(x: Tensor): Tensor {
  return { data: relu(instanceNorm(x.data, x.shape)), shape: x.shape };
}

/** ResBlock (NERCO.md §6.2): x + IN(conv(RP1(ReLU(IN(conv(RP1(x))))))). */
function resBlock(map: WeightMap, prefix: string, x: Tensor): Tensor {
  const a = inRelu(convLayer(map, `${prefix}.conv_block.1`, x, 1, 1, 'reflect'));
  const b = convLayer(map, `${prefix}.conv_block.5`, a, 1, 1, 'reflect');
  return { data: add(x.data, instanceNorm(b.data, b.shape)), shape: x.shape };
}

/** Sorted distinct `model.{b}.conv_block` indices. */
function blockIndices(map: WeightMap): number[] {
  const set = new Set<number>();
  for (const key of map.keys()) {
    const m = /^model\.(\d+)\.conv_block\./.exec(key);
    if (m) set.add(Number(m[1]));
  }
  return [...set].sort((a, b) => a - b);
}

/** Block count and layer indices of a ResnetGenerator-style net (NERCO.md §2.5). */
export interface ResnetLayout {
  ngf: number;
  blocks: number[];
  up1: number;
  up2: number;
  head: number;
}

export function inferResnetLayout(map: WeightMap): ResnetLayout {
  const ngf = shape4(map, 'model.1.weight')[0];
  const blocks = blockIndices(map);
  blocks.forEach((b, k) => {
    if (b !== 10 + k) throw new WeightsMismatchError(`unexpected residual block index model.${b} (expected model.${10 + k})`, `model.${b}`);
  });
  const n = blocks.length;
  return { ngf, blocks, up1: 10 + n, up2: 13 + n, head: 17 + n };
}

/** The shared trunk of Pre and G_A (NERCO.md §4.1 rows 0–24): [Cin, H, W] → [ngf, H, W]. */
function resnetTrunk(map: WeightMap, layout: ResnetLayout, x: Tensor): Tensor {
  let t = inRelu(convLayer(map, 'model.1', x, 1, 3, 'reflect'));
  t = inRelu(convLayer(map, 'model.4', t, 2, 1, 'zero'));
  t = inRelu(convLayer(map, 'model.7', t, 2, 1, 'zero'));
  for (const b of layout.blocks) t = resBlock(map, `model.${b}`, t);
  t = inRelu(convTransposeLayer(map, `model.${layout.up1}`, t));
  t = inRelu(convTransposeLayer(map, `model.${layout.up2}`, t));
  return t;
}

/** The NRN MLP layers `mlp.imnet.layers.{0,2,4,…}` in order. */
export function nrnLayers(pre: WeightMap): LinearLayer[] {
  const indices: number[] = [];
  for (const key of pre.keys()) {
    const m = /^mlp\.imnet\.layers\.(\d+)\.weight$/.exec(key);
    if (m) indices.push(Number(m[1]));
  }
  indices.sort((a, b) => a - b);
  if (indices.length === 0) throw new WeightsMismatchError('Pre: no mlp.imnet.layers.*.weight keys');
  return indices.map((k) => ({
    weight: param(pre, `mlp.imnet.layers.${k}.weight`, 2).data,
    bias: param(pre, `mlp.imnet.layers.${k}.bias`, 1).data,
  }));
}

export function preForwardCPU(
  pre: WeightMap,
  input: Float32Array,
  height: number,
  width: number,
  opts: NercoCpuOptions = {},
): { preTrunk: Float32Array; preA: Float32Array; trunkShape: Shape3 } {
  const trunk = resnetTrunk(pre, inferResnetLayout(pre), { data: input, shape: [3, height, width] });
  const nrn = opts.nrn === 'general' ? nrnGeneral : nrnFast;
  return { preTrunk: trunk.data, preA: nrn(trunk.data, trunk.shape, nrnLayers(pre)), trunkShape: trunk.shape };
}

export function netHForwardCPU(
  h: WeightMap,
  input: Float32Array,
  height: number,
  width: number,
): { hFeatureMap: Float32Array; featureShape: Shape3; mask: Float32Array; hImage: Float32Array } {
  let t = inRelu(convLayer(h, 'model.1', { data: input, shape: [3, height, width] }, 1, 3, 'reflect'));
  for (const b of blockIndices(h)) t = resBlock(h, `model.${b}`, t);
  const featureShape = paddedShape(t.shape, 3);
  const f = reflectPad(t.data, t.shape, 3);
  const mask = maskExtractor(f, featureShape, {
    fc1: param(h, 'fc1.weight', 4).data,
    fc2: param(h, 'fc2.weight', 4).data,
    convCa: param(h, 'conv_ca.weight', 4).data,
    conv1: param(h, 'conv1.weight', 4).data,
  });
  const hImage = hImageHead(f, featureShape, param(h, 'output.weight', 4).data, param(h, 'output.bias', 1).data);
  return { hFeatureMap: f, featureShape, mask, hImage };
}

/** G_A on g_in ([6, H, W]) → fake_B [3, H, W] after tanh. */
export function gaForwardCPU(ga: WeightMap, gIn: Float32Array, height: number, width: number): Float32Array {
  const layout = inferResnetLayout(ga);
  const t = resnetTrunk(ga, layout, { data: gIn, shape: [6, height, width] });
  return tanh(convLayer(ga, `model.${layout.head}`, t, 1, 3, 'reflect').data);
}

/**
 * The whole NeRCo forward pass on the CPU (NERCO.md §1): input is real_A [3, H, W] after
 * pre-processing (H, W multiples of 4, ≥ 8). Widths and block counts come from the weights.
 */
export function nercoForwardCPU(
  weights: NercoWeights,
  input: Float32Array,
  height: number,
  width: number,
  opts: NercoCpuOptions = {},
): NercoCpuOutputs {
  ensure(input.length === 3 * height * width, `nercoForwardCPU: input length ${input.length} ≠ 3·${height}·${width}`);
  const { preTrunk, preA } = preForwardCPU(weights.pre, input, height, width, opts);
  const { mask, hImage } = netHForwardCPU(weights.h, input, height, width);
  const cat = concatChannels(input, [3, height, width], preA, [3, height, width]);
  const gIn = mulBroadcastChannel(cat, [6, height, width], mask);
  const fakeB = gaForwardCPU(weights.ga, gIn, height, width);
  return { preTrunk, preA, mask, hImage, fakeB };
}
