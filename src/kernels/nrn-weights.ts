import { InvalidArgumentError, LimitError, WeightsMismatchError } from '../errors.js';
import type { HostTensor } from '../nerco/host-tensor.js';
import type { Runtime } from '../runtime/runtime.js';
import type { GpuTensor } from '../runtime/tensor.js';
import type { NrnSgBuffers } from './nrn-sg.js';

/** One Linear of the NRN MLP (`mlp.imnet.layers.{0,2,4,…}`): weight [out, in], bias [out]. */
export interface NrnLayer {
  readonly weight: HostTensor;
  readonly bias: HostTensor;
}

/** Positional-encoding levels of models/mlp.py (L = 8). */
export const NRN_PE_LEVELS = 8;
/** Columns of the first Linear after the unfolded features: coord (2 + 4L = 34) + cell (2). */
export const NRN_COORD_COLUMNS = 2 + 4 * NRN_PE_LEVELS;
export const NRN_EXTRA_COLUMNS = NRN_COORD_COLUMNS + 2;

/** Fast-form kernel shape (see shaders/nrn_fast.wgsl). */
export interface NrnFastLayout {
  /** Pixels per workgroup. */
  readonly tile: number;
  /** Register block of one invocation: pixels × outputs (a multiple of 4). */
  readonly p: number;
  readonly q: number;
  /** Output groups (maxWidth / q). */
  readonly groups: number;
  /** Every hidden width, padded to a multiple of q. */
  readonly maxWidth: number;
}

/** GPU buffers of the module as written (general form), built on first use. */
export interface NrnGeneralBuffers {
  /** Every layer transposed to [in][out/4] vec4, then its bias (see nrn_general.wgsl). */
  readonly weights: GpuTensor;
  /** Per layer (in, out, weightOffset, biasOffset), offsets in vec4 units. */
  readonly layerTable: GpuTensor;
}

/**
 * The NRN MLP on the GPU. The fast form's buffers are built at prepare time; the bias of its
 * conv depends on the image size through rc_h, rc_w (NERCO.md §4.3) and is cached per (rc_h, rc_w)
 * pair (in practice at most 4: rc is 2 or 2 − 2⁻²³).
 */
export interface NrnWeights {
  readonly label: string;
  /** Feature channels the MLP expects (ngf, e.g. 64). */
  readonly inFeatures: number;
  /** Output width of every Linear, e.g. [256, 256, 256, 3]. */
  readonly widths: readonly number[];
  readonly fastLayout: NrnFastLayout;
  /** All fast-form weights and hidden/output biases, repacked as vec4 (layout in nrn_fast.wgsl). */
  readonly fastWeights: GpuTensor;
  /** Per layer (in, outPadded, weightOffset, biasOffset) in vec4 units, as u32. */
  readonly fastLayerTable: GpuTensor;
  /** Host copies of what the conv bias needs: b1 and the two cell columns of W1. */
  readonly cellBias: { readonly b1: Float32Array; readonly wCellH: Float32Array; readonly wCellW: Float32Array };
  /** Conv biases, one per (rc_h, rc_w) pair seen. */
  readonly convBiasCache: Map<string, GpuTensor>;
  /** The checkpoint layers, kept for the general form's buffers (built lazily). */
  readonly layers: readonly NrnLayer[];
  general: NrnGeneralBuffers | null;
  /** nrn_sg.wgsl's packing (src/kernels/nrn-sg.ts), built on first use. */
  sg: NrnSgBuffers | null;
}

/** Tuning knobs of the fast kernel (benchmarks, tests); defaults from bench/kernels/nrn.ts. */
export interface NrnFastOptions {
  /** Pixels per invocation (default 16 on CPU adapters, 4 on GPUs). */
  readonly p?: number;
  /** Outputs per invocation, a multiple of 4 (default 16). */
  readonly q?: number;
  /** Upper bound on pixels per workgroup (default 64; the 16 KiB buffer may allow fewer). */
  readonly tile?: number;
}

// On lavapipe every load inside a loop is fetched lane by lane (~10 ns per 8-lane batch, uniform
// address or not) while a multiply-add costs ~1 ns, so the biggest block that still compiles to
// registers wins: 16×16 measured ~2× faster than 4×16 and ~6× faster than one pixel × 16 outputs
// per invocation (bench/kernels/nrn.ts); 16×32 falls off a cliff. GPUs have ~255 registers per
// thread: 4×16 (64 accumulators) there.
const CPU_P = 16;
const GPU_P = 4;
const DEFAULT_Q = 16;
const DEFAULT_TILE = 64;
const MAX_INVOCATIONS = 256;
const WORKGROUP_FLOATS = 16384 / 4;

const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;

/** Software adapters run a workgroup as SIMD batches on CPU cores (lavapipe, SwiftShader, WARP). */
export function isCpuAdapter(adapterName: string): boolean {
  return /llvmpipe|lavapipe|swiftshader|software|warp|microsoft basic/i.test(adapterName);
}

const floorPow2 = (n: number): number => 2 ** Math.floor(Math.log2(n));

/** rel_cell along an axis of n pixels, as torch computes it: f32(f32(2/n) · n) (NERCO.md §4.3). */
export function nrnRelCell(n: number): number {
  return Math.fround(Math.fround(2 / n) * n);
}

function checkLayers(layers: readonly NrnLayer[], label: string): { inFeatures: number; widths: number[] } {
  const key = (k: number, what: string): string => `${label}.layers.${2 * k}.${what}`;
  if (layers.length < 1) throw new WeightsMismatchError(`${label}: the NRN MLP needs at least one Linear layer`);
  const widths: number[] = [];
  let inFeatures = 0;
  layers.forEach((layer, k) => {
    const ws = layer.weight.shape;
    if (ws.length !== 2) throw new WeightsMismatchError(`${key(k, 'weight')}: shape [${ws.join(', ')}] is not [out, in]`, key(k, 'weight'));
    const [out, inWidth] = ws as [number, number];
    if (layer.bias.shape.length !== 1 || layer.bias.shape[0] !== out) {
      throw new WeightsMismatchError(`${key(k, 'bias')}: shape [${layer.bias.shape.join(', ')}], expected [${out}]`, key(k, 'bias'));
    }
    if (k === 0) {
      const c = (inWidth - NRN_EXTRA_COLUMNS) / 9;
      if (!Number.isInteger(c) || c < 1) {
        throw new WeightsMismatchError(`${key(0, 'weight')}: ${inWidth} inputs is not 9·ngf + ${NRN_EXTRA_COLUMNS}`, key(0, 'weight'));
      }
      inFeatures = c;
    } else if (inWidth !== widths[k - 1]) {
      throw new WeightsMismatchError(`${key(k, 'weight')}: takes ${inWidth} inputs, the previous layer gives ${widths[k - 1]}`, key(k, 'weight'));
    }
    widths.push(out);
  });
  if (widths[widths.length - 1] !== 3) {
    throw new WeightsMismatchError(`${key(layers.length - 1, 'weight')}: the last layer gives ${widths[widths.length - 1]} outputs, expected 3`, key(layers.length - 1, 'weight'));
  }
  return { inFeatures, widths };
}

/** Shapes the fast kernel: all hidden widths in the workgroup buffer, ≤ 256 invocations. */
export function nrnFastLayout(widths: readonly number[], label: string, cpuAdapter: boolean, opts: NrnFastOptions = {}): NrnFastLayout {
  const q = opts.q ?? DEFAULT_Q;
  if (!(Number.isInteger(q) && q >= 4 && q % 4 === 0)) throw new InvalidArgumentError(`${label}: NRN outputs per invocation must be a multiple of 4, got ${q}`);
  // Layer 0's output always lives in the tile (for a one-layer MLP it is the 3-wide output).
  const hidden = Math.max(...(widths.length === 1 ? widths : widths.slice(0, -1)));
  const maxWidth = roundUp(hidden, q);
  const groups = maxWidth / q;
  const fit = Math.floor(WORKGROUP_FLOATS / maxWidth);
  if (fit < 1 || groups > MAX_INVOCATIONS) {
    throw new LimitError(`${label}: NRN hidden width ${hidden} exceeds what the fused kernel holds (${WORKGROUP_FLOATS} per pixel, ${MAX_INVOCATIONS * q} outputs)`);
  }
  let tile = floorPow2(Math.min(opts.tile ?? DEFAULT_TILE, fit));
  const p = Math.min(floorPow2(opts.p ?? (cpuAdapter ? CPU_P : GPU_P)), tile);
  while ((tile / p) * groups > MAX_INVOCATIONS) tile /= 2;
  return { tile, p: Math.min(p, tile), q, groups, maxWidth };
}

/** Repacks the MLP for nrn_fast.wgsl (layouts documented there). */
function packFast(layers: readonly NrnLayer[], inFeatures: number, widths: readonly number[], q: number): { data: Float32Array; table: Uint32Array } {
  const chunks: Float32Array[] = [];
  const table = new Uint32Array(4 * layers.length);
  let offset = 0; // floats
  const push = (a: Float32Array): number => {
    const at = offset / 4;
    chunks.push(a);
    offset += a.length;
    return at;
  };
  const last = layers.length - 1;
  layers.forEach((layer, l) => {
    const w = layer.weight.data;
    const out = widths[l]!;
    const inWidth = layer.weight.shape[1]!;
    if (l === 0) {
      // Conv weights: the unfold columns c·9 + tap, by groups of q outputs, tap-major (the
      // kernel computes a tap's source addresses once for all channels). Its bias is per size.
      const outPadded = roundUp(out, q);
      const packed = new Float32Array(outPadded * inFeatures * 9);
      let i = 0;
      for (let g = 0; g < outPadded / q; g++) {
        for (let tap = 0; tap < 9; tap++) {
          for (let c = 0; c < inFeatures; c++) {
            for (let j = 0; j < q; j++, i++) {
              const o = g * q + j;
              if (o < out) packed[i] = w[o * inWidth + c * 9 + tap]!;
            }
          }
        }
      }
      table.set([inFeatures, outPadded, push(packed), 0], 0);
    } else if (l < last) {
      const outPadded = roundUp(out, q);
      const packed = new Float32Array(outPadded * inWidth);
      let i = 0;
      for (let g = 0; g < outPadded / q; g++) {
        for (let k = 0; k < inWidth; k++) {
          for (let j = 0; j < q; j++, i++) {
            const o = g * q + j;
            if (o < out) packed[i] = w[o * inWidth + k]!;
          }
        }
      }
      const bias = new Float32Array(outPadded);
      bias.set(layer.bias.data);
      table.set([inWidth, outPadded, push(packed), push(bias)], 4 * l);
    } else {
      const packed = new Float32Array(4 * inWidth);
      for (let k = 0; k < inWidth; k++) for (let o = 0; o < 3; o++) packed[4 * k + o] = w[o * inWidth + k]!;
      const bias = new Float32Array(4);
      bias.set(layer.bias.data);
      table.set([inWidth, 4, push(packed), push(bias)], 4 * l);
    }
  });
  const data = new Float32Array(offset);
  let at = 0;
  for (const c of chunks) {
    data.set(c, at);
    at += c.length;
  }
  return { data, table };
}

/**
 * Uploads the NRN MLP (`mlp.imnet.layers.{0,2,4,6}`) for both forms. Shapes are checked as
 * NERCO.md §2.5 describes: first layer 9·ngf + 36 inputs, each next one the previous width, last 3.
 */
export function prepareNrn(rt: Runtime, layers: { weight: HostTensor; bias: HostTensor }[], label: string, opts: NrnFastOptions = {}): NrnWeights {
  const { inFeatures, widths } = checkLayers(layers, label);
  const fastLayout = nrnFastLayout(widths, label, isCpuAdapter(rt.adapterName), opts);
  const { data, table } = packFast(layers, inFeatures, widths, fastLayout.q);
  const fastWeights = rt.constant(data, [data.length], `${label} nrn fast weights`);
  const fastLayerTable = rt.constant(table, [table.length], `${label} nrn layer table`);
  const w1 = layers[0]!.weight.data;
  const in1 = layers[0]!.weight.shape[1]!;
  const cellColumn = inFeatures * 9 + NRN_COORD_COLUMNS;
  const b1 = Float32Array.from(layers[0]!.bias.data);
  const wCellH = Float32Array.from({ length: widths[0]! }, (_, o) => w1[o * in1 + cellColumn]!);
  const wCellW = Float32Array.from({ length: widths[0]! }, (_, o) => w1[o * in1 + cellColumn + 1]!);
  return {
    label, inFeatures, widths, fastLayout, fastWeights, fastLayerTable,
    cellBias: { b1, wCellH, wCellW }, convBiasCache: new Map(), layers, general: null, sg: null,
  };
}

/**
 * The conv bias of the fast form for one image size: bc[o] = b1[o] + W1[o, cell_h]·rc_h +
 * W1[o, cell_w]·rc_w, every step rounded to f32 in this order (as torch's Linear sees a constant
 * input), so it is exact whatever the GPU does with multiply-adds.
 */
export function nrnConvBias(rt: Runtime, w: NrnWeights, rcH: number, rcW: number): GpuTensor {
  const key = `${rcH},${rcW}`;
  let t = w.convBiasCache.get(key);
  if (!t) {
    const f = Math.fround;
    const { b1, wCellH, wCellW } = w.cellBias;
    const padded = new Float32Array(roundUp(b1.length, w.fastLayout.q));
    for (let o = 0; o < b1.length; o++) padded[o] = f(f(b1[o]! + f(wCellH[o]! * rcH)) + f(wCellW[o]! * rcW));
    t = rt.constant(padded, [padded.length], `${w.label} nrn conv bias rc=(${rcH}, ${rcW})`);
    w.convBiasCache.set(key, t);
  }
  return t;
}

/**
 * The general form's buffers: every layer with the checkpoint's values, transposed to
 * [in][out/4] vec4 (outputs padded with zeros) and followed by its bias (layout in
 * nrn_general.wgsl). Built on first use.
 */
export function nrnGeneralBuffers(rt: Runtime, w: NrnWeights): NrnGeneralBuffers {
  if (w.general) return w.general;
  let floats = 0;
  for (const l of w.layers) {
    const [out, inWidth] = l.weight.shape as [number, number];
    floats += (inWidth + 1) * roundUp(out, 4);
  }
  const data = new Float32Array(floats);
  const table = new Uint32Array(4 * w.layers.length);
  let at = 0;
  w.layers.forEach((layer, l) => {
    const [out, inWidth] = layer.weight.shape as [number, number];
    const outPadded = roundUp(out, 4);
    const wOffset = at;
    for (let k = 0; k < inWidth; k++, at += outPadded) {
      for (let o = 0; o < out; o++) data[at + o] = layer.weight.data[o * inWidth + k]!;
    }
    data.set(layer.bias.data, at);
    table.set([inWidth, out, wOffset / 4, at / 4], 4 * l);
    at += outPadded;
  });
  w.general = {
    weights: rt.constant(data, [data.length], `${w.label} nrn general weights`),
    layerTable: rt.constant(table, [table.length], `${w.label} nrn general layer table`),
  };
  return w.general;
}

/** Frees every GPU buffer the weights own. */
export function releaseNrn(w: NrnWeights): void {
  w.fastWeights.release();
  w.fastLayerTable.release();
  for (const t of w.convBiasCache.values()) t.release();
  w.convBiasCache.clear();
  if (w.general) {
    w.general.weights.release();
    w.general.layerTable.release();
    w.general = null;
  }
  if (w.sg) {
    w.sg.weights.release();
    w.sg.layerTable.release();
    w.sg = null;
  }
}
