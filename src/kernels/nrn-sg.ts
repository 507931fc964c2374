import type { Recorder } from '../runtime/recorder.js';
import type { Runtime } from '../runtime/runtime.js';
import type { GpuTensor } from '../runtime/tensor.js';
import { flatGrid } from './grid.js';
import { isCpuAdapter, nrnConvBias, nrnRelCell, type NrnWeights } from './nrn-weights.js';

/**
 * Host side of shaders/nrn_sg.wgsl: the NRN's exact fast form with each invocation carrying P
 * pixels through every layer in private memory and the weights shared across 8 subgroup lanes.
 * nrnFast() uses it on CPU adapters with subgroups (where workgroup memory and barriers, which
 * nrn_fast.wgsl relies on, are slow); GPUs keep nrn_fast.wgsl.
 */

/** Pixels per invocation (a row segment). */
export const NRN_SG_P = 4;
/** Outputs per block: P·CO accumulators per lane. */
export const NRN_SG_CO = 16;
const WG = 64;

const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;

/** The repacked MLP (layout in nrn_sg.wgsl). */
export interface NrnSgBuffers {
  readonly weights: GpuTensor;
  readonly layerTable: GpuTensor;
  /** Widest hidden layer, padded to NRN_SG_CO. */
  readonly maxWidth: number;
}

/**
 * Whether nrn_sg serves these weights on this runtime: a CPU adapter with subgroups of ≥ 8 lanes,
 * an MLP of at least two layers (the conv then is a hidden layer), and a conv bias padded far
 * enough for whole output blocks.
 */
export function nrnSgApplicable(rt: Runtime, w: NrnWeights): boolean {
  const w0 = w.widths[0]!;
  return rt.hasSubgroups8 && isCpuAdapter(rt.adapterName) && w.widths.length >= 2 && roundUp(w0, w.fastLayout.q) >= roundUp(w0, NRN_SG_CO);
}

/** Packs the checkpoint layers for nrn_sg.wgsl. */
export function packNrnSg(w: NrnWeights): { data: Float32Array; table: Uint32Array; maxWidth: number } {
  const co = NRN_SG_CO;
  const chunks: Float32Array[] = [];
  const table = new Uint32Array(4 * w.layers.length);
  let offset = 0;
  const push = (a: Float32Array): number => {
    const at = offset;
    chunks.push(a);
    offset += a.length;
    return at;
  };
  const last = w.layers.length - 1;
  const c = w.inFeatures;
  let maxWidth = 0;
  w.layers.forEach((layer, l) => {
    const src = layer.weight.data;
    const [out, inWidth] = layer.weight.shape as [number, number];
    if (l === 0) {
      const outPadded = roundUp(out, co);
      maxWidth = Math.max(maxWidth, outPadded);
      const packed = new Float32Array(outPadded * c * 9);
      for (let o = 0; o < out; o++) {
        const blk = Math.floor(o / co);
        for (let ch = 0; ch < c; ch++) {
          for (let tap = 0; tap < 9; tap++) packed[((blk * c + ch) * 9 + tap) * co + (o % co)] = src[o * inWidth + ch * 9 + tap]!;
        }
      }
      table.set([c, outPadded, push(packed), 0], 0);
    } else if (l < last) {
      const outPadded = roundUp(out, co);
      maxWidth = Math.max(maxWidth, outPadded);
      const packed = new Float32Array(outPadded * inWidth);
      for (let o = 0; o < out; o++) {
        const blk = Math.floor(o / co);
        for (let k = 0; k < inWidth; k++) packed[(blk * inWidth + k) * co + (o % co)] = src[o * inWidth + k]!;
      }
      const bias = new Float32Array(outPadded);
      bias.set(layer.bias.data);
      table.set([inWidth, outPadded, push(packed), push(bias)], 4 * l);
    } else {
      const packed = new Float32Array(4 * inWidth);
      for (let k = 0; k < inWidth; k++) for (let o = 0; o < 3; o++) packed[4 * k + o] = src[o * inWidth + k]!;
      const bias = new Float32Array(4);
      bias.set(layer.bias.data);
      table.set([inWidth, 4, push(packed), push(bias)], 4 * l);
    }
  });
  const data = new Float32Array(offset);
  let at = 0;
  for (const ch of chunks) {
    data.set(ch, at);
    at += ch.length;
  }
  return { data, table, maxWidth };
}

/** The packed buffers, built on first use and kept with the weights (released by releaseNrn, or by Runtime.destroy()). */
export function nrnSgBuffers(rt: Runtime, w: NrnWeights): NrnSgBuffers {
  if (w.sg) return w.sg;
  const { data, table, maxWidth } = packNrnSg(w);
  w.sg = {
    weights: rt.constant(data, [data.length], `${w.label} nrn sg weights`),
    layerTable: rt.constant(table, [table.length], `${w.label} nrn sg layer table`),
    maxWidth,
  };
  return w.sg;
}

/** Records nrn_sg on feat [ngf, H, W] into a new pre_A [3, H, W] (see nrnFast for the arguments). */
export async function nrnSg(rec: Recorder, w: NrnWeights, feat: GpuTensor, h: number, wd: number, label: string, imageHeight?: number): Promise<GpuTensor> {
  const rt = rec.runtime;
  const buf = nrnSgBuffers(rt, w);
  const kernel = await rec.kernel({ shader: 'nrn_sg', subgroups: true, defines: { P: NRN_SG_P, CO: NRN_SG_CO, MAX_WIDTH: buf.maxWidth, WG } });
  const convBias = nrnConvBias(rt, w, nrnRelCell(imageHeight ?? h), nrnRelCell(wd));
  const tilesX = Math.ceil(wd / NRN_SG_P);
  const tiles = h * tilesX;
  const out = rt.tensor([3, h, wd], `${label} pre_A`);
  const grid = flatGrid(tiles, WG);
  rec.dispatch(kernel, {
    label,
    bindings: { feat, weights: buf.weights, convBias, layerTable: buf.layerTable, preA: out },
    uniforms: { height: h, width: wd, pixels: h * wd, tilesX, tiles, pitch: grid.pitch, numLayers: w.widths.length },
    workgroups: grid.workgroups,
  });
  return out;
}
