import { LimitError } from '../errors.js';
import type { Recorder } from '../runtime/recorder.js';
import type { GpuTensor } from '../runtime/tensor.js';
import { flatGrid } from './grid.js';
import { checkNrnInput } from './nrn-fast.js';
import { nrnGeneralBuffers, type NrnWeights } from './nrn-weights.js';

const WORKGROUP = 64;
// WGSL caps function-scope variables at 8192 bytes per function; the kernel keeps two activation
// vectors plus ~150 floats of coordinates and accumulators per invocation.
const MAX_PRIVATE_FLOATS = 8192 / 4 - 192;
/** vec4 outputs per pass over a layer's inputs (16 outputs: each input is loaded 1/16 as often). */
const Q4 = 4;

/** MACs per pixel of the general form: 4 full MLP evaluations on 9·C + 36 inputs (1,154,048 for NeRCo). */
export function nrnGeneralMacsPerPixel(w: NrnWeights): number {
  let macs = 0;
  let inWidth = w.inFeatures * 9 + 36;
  for (const out of w.widths) {
    macs += inWidth * out;
    inWidth = out;
  }
  return 4 * macs;
}

/**
 * The NRN as the original module computes it (NERCO.md §4.2): unfold, coordinates with positional
 * encoding, cell, the 4-way local ensemble and its area weights. A test and reference path (about
 * 4× the work of `nrnFast`, one invocation per pixel); returns pre_A [3, H, W].
 */
export async function nrnGeneral(rec: Recorder, w: NrnWeights, feat: GpuTensor, label = `${w.label} nrn general`): Promise<GpuTensor> {
  const [h, wd] = checkNrnInput(w, feat, label);
  const actWidth = Math.ceil(Math.max(...w.widths) / 4) * 4;
  if (2 * actWidth > MAX_PRIVATE_FLOATS) throw new LimitError(`${label}: the general NRN kernel holds Linear widths up to ${MAX_PRIVATE_FLOATS / 2}, got ${Math.max(...w.widths)}`);
  const kernel = await rec.kernel({ shader: 'nrn_general', defines: { ACT_WIDTH: actWidth, Q4 } });
  const rt = rec.runtime;
  const { weights, layerTable } = nrnGeneralBuffers(rt, w);
  const pixels = h * wd;
  const out = rt.tensor([3, h, wd], `${label} pre_A`);
  const { workgroups, pitch } = flatGrid(pixels, WORKGROUP);
  const f = Math.fround;
  // make_coord: torch evaluates `(-1 + r) + (2 * r) * arange(n)` with r = 1/n a Python float,
  // so both scalars are rounded to f32 before the tensor ops.
  const axis = (n: number): [number, number] => [f(-1 + 1 / n), f(2 / n)];
  const [rowStart, rowStep] = axis(h);
  const [colStart, colStep] = axis(wd);
  rec.dispatch(kernel, {
    label,
    bindings: { feat, weights, layerTable, preA: out },
    uniforms: {
      height: h, width: wd, pixels, pitch, numLayers: w.widths.length,
      rowStart, rowStep, colStart, colStep, cellH: f(2 / h), cellW: f(2 / wd), areaEps: f(1e-9),
    },
    workgroups,
  });
  return out;
}
