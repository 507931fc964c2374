import { checkLength, checkShape3, ensure } from './check.js';
import { conv2d } from './conv.js';
import { relu } from './elementwise.js';
import { linearDims, mlp } from './linear.js';
import type { LinearLayer, Shape3 } from './types.js';

const f32 = Math.fround;

/** Number of positional-encoding frequencies (models/mlp.py `L`). */
export const NRN_PE_LEVELS = 8;
/** Width of the coordinate block of the MLP input: the 2-vector plus its encoding (2 + 4L = 34). */
export const NRN_COORD_WIDTH = 2 + 4 * NRN_PE_LEVELS;

/** MLP input width for a feature map with `channels` channels: 9·C (unfold) + 34 (coord) + 2 (cell). */
export function nrnInputWidth(channels: number): number {
  return channels * 9 + NRN_COORD_WIDTH + 2;
}

/**
 * rel_cell along an axis of length n: `f32(f32(2/n) · n)`. 2.0 for most n, 2 − 2⁻²³ for some
 * (41, 47, 55, 61, 164, …; NERCO.md §4.3).
 */
export function rcValue(n: number): number {
  return f32(f32(2 / n) * n);
}

/**
 * make_coord for one axis of length n, as torch evaluates `v0 + r + (2*r) * arange(n).float()`
 * with v0 = −1, r = 1/n: the double scalars are rounded to f32 before the f32 tensor ops.
 */
export function makeCoord(n: number): Float32Array {
  const r = 2 / (2 * n);
  const step = f32(2 * r);
  const start = f32(-1 + r);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = f32(f32(step * i) + start);
  return out;
}

/** Frequencies of the positional encoding: f32(2^l) · f32(π), which is f32(2^l · π). */
export function peFrequencies(): Float32Array {
  const freq = new Float32Array(NRN_PE_LEVELS);
  for (let l = 0; l < NRN_PE_LEVELS; l++) freq[l] = f32(2 ** l * Math.PI);
  return freq;
}

/** [v0, v1, sin(v0·f), cos(v0·f), sin(v1·f), cos(v1·f)] (34 values), each product and sin/cos in f32. */
export function coordFeature(v0: number, v1: number): Float32Array {
  const freq = peFrequencies();
  const out = new Float32Array(NRN_COORD_WIDTH);
  out[0] = v0;
  out[1] = v1;
  let k = 2;
  for (const v of [v0, v1]) {
    for (let l = 0; l < NRN_PE_LEVELS; l++) out[k++] = f32(Math.sin(f32(v * freq[l])));
    for (let l = 0; l < NRN_PE_LEVELS; l++) out[k++] = f32(Math.cos(f32(v * freq[l])));
  }
  return out;
}

function checkMlp(channels: number, layers: readonly LinearLayer[]): void {
  ensure(layers.length >= 1, 'nrn: needs at least one MLP layer');
  let width = nrnInputWidth(channels);
  layers.forEach((layer, k) => {
    const d = linearDims(layer);
    ensure(d.in === width, `nrn: MLP layer ${k} takes ${d.in} inputs, expected ${width}`);
    width = d.out;
  });
  ensure(width === 3, `nrn: the last MLP layer gives ${width} outputs, expected 3`);
}

/**
 * The NRN exactly as models/mlp.py writes it (NERCO.md §4.2): unfold 3×3 (zero pad), query and
 * feature coordinates with positional encoding, cell, and the 4-way local ensemble with swapped
 * area weights. Every step that torch does in f32 is rounded to f32 here; only the MLP sums are
 * float64. Costs 4 full MLP evaluations per pixel: meant for small inputs.
 * Returns pre_A as [3, h, w].
 */
export function nrnGeneral(feat: Float32Array, shape: Shape3, layers: readonly LinearLayer[]): Float32Array {
  checkShape3('nrnGeneral', shape);
  checkLength('nrnGeneral input', feat, shape);
  const [c, h, w] = shape;
  checkMlp(c, layers);
  const width = nrnInputWidth(c);
  const unfoldWidth = c * 9;

  // Query coordinates (NRN.forward) and feature coordinates (query_rgb) are built separately,
  // as in the original; they come out identical, which is what makes rel_coord vanish.
  const queryRows = makeCoord(h);
  const queryCols = makeCoord(w);
  const featRows = makeCoord(h);
  const featCols = makeCoord(w);
  const cell0 = f32(2 / h);
  const cell1 = f32(2 / w);
  const relCell0 = f32(cell0 * h);
  const relCell1 = f32(cell1 * w);
  const areaEps = f32(1e-9);

  const out = new Float32Array(3 * h * w);
  const inp = new Float32Array(width);
  const preds: Float32Array[] = [];
  const areas = new Float32Array(4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const coord = coordFeature(queryRows[y], queryCols[x]);
      const qCoord = coordFeature(featRows[y], featCols[x]);
      preds.length = 0;
      let k = 0;
      for (const _vx of [-1, 1]) {
        for (const _vy of [-1, 1]) {
          // The shifted `coord_` of the original only feeds grid_sample calls that are commented
          // out, so the ensemble members read the same unfolded feature at (y, x).
          for (let ch = 0; ch < c; ch++) {
            for (let ky = 0; ky < 3; ky++) {
              for (let kx = 0; kx < 3; kx++) {
                const sy = y + ky - 1;
                const sx = x + kx - 1;
                const inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
                inp[ch * 9 + ky * 3 + kx] = inside ? feat[(ch * h + sy) * w + sx] : 0;
              }
            }
          }
          const rel = new Float32Array(NRN_COORD_WIDTH);
          for (let j = 0; j < NRN_COORD_WIDTH; j++) rel[j] = f32(coord[j] - qCoord[j]);
          rel[0] = f32(rel[0] * h);
          rel[1] = f32(rel[1] * w);
          inp.set(rel, unfoldWidth);
          inp[unfoldWidth + NRN_COORD_WIDTH] = relCell0;
          inp[unfoldWidth + NRN_COORD_WIDTH + 1] = relCell1;
          preds.push(mlp(inp, layers));
          areas[k++] = f32(Math.abs(f32(rel[0] * rel[1])) + areaEps);
        }
      }
      const tot = f32(f32(f32(areas[0] + areas[1]) + areas[2]) + areas[3]);
      const swapped = [areas[3], areas[2], areas[1], areas[0]];
      for (let o = 0; o < 3; o++) {
        let ret = 0;
        for (let m = 0; m < 4; m++) ret = f32(ret + f32(preds[m][o] * f32(swapped[m] / tot)));
        out[(o * h + y) * w + x] = ret;
      }
    }
  }
  return out;
}

/**
 * The exact fast form of the NRN (NERCO.md §4.3): the first Linear folded into a 3×3 conv
 * (zero pad 1) over the feature map, with the cell columns folded into the bias using the rc
 * values; the remaining layers run per pixel (1×1 convs). Returns pre_A as [3, h, w].
 */
export function nrnFast(feat: Float32Array, shape: Shape3, layers: readonly LinearLayer[]): Float32Array {
  checkShape3('nrnFast', shape);
  checkLength('nrnFast input', feat, shape);
  const [c, h, w] = shape;
  checkMlp(c, layers);
  const width = nrnInputWidth(c);
  const unfoldWidth = c * 9;
  const first = layers[0];
  const hidden = first.bias.length;

  const wc = new Float32Array(hidden * unfoldWidth);
  const bc = new Float32Array(hidden);
  const rcH = rcValue(h);
  const rcW = rcValue(w);
  for (let o = 0; o < hidden; o++) {
    wc.set(first.weight.subarray(o * width, o * width + unfoldWidth), o * unfoldWidth);
    const cellCol = o * width + unfoldWidth + NRN_COORD_WIDTH;
    bc[o] = first.bias[o] + first.weight[cellCol] * rcH + first.weight[cellCol + 1] * rcW;
  }
  let a = conv2d(feat, shape, wc, [hidden, c, 3, 3], bc, { pad: 1, padMode: 'zero' });
  let aChannels = hidden;
  for (let k = 1; k < layers.length; k++) {
    a = relu(a);
    const { out, in: inWidth } = linearDims(layers[k]);
    a = conv2d(a, [aChannels, h, w], layers[k].weight, [out, inWidth, 1, 1], layers[k].bias);
    aChannels = out;
  }
  return a;
}
