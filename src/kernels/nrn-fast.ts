import { InvalidArgumentError } from '../errors.js';
import type { Recorder } from '../runtime/recorder.js';
import type { GpuTensor } from '../runtime/tensor.js';
import { flatGrid } from './grid.js';
import { nrnConvBias, nrnRelCell, type NrnWeights } from './nrn-weights.js';
import { nrnSg, nrnSgApplicable } from './nrn-sg.js';

/** MACs per pixel of the fast form: 3×3 conv, then the per-pixel Linears (279,296 for NeRCo). */
export function nrnFastMacsPerPixel(w: NrnWeights): number {
  let macs = w.inFeatures * 9 * w.widths[0]!;
  for (let l = 1; l < w.widths.length; l++) macs += w.widths[l - 1]! * w.widths[l]!;
  return macs;
}

export function checkNrnInput(w: NrnWeights, feat: GpuTensor, label: string): [number, number] {
  const [c, h, wd] = feat.shape;
  if (feat.shape.length !== 3 || c !== w.inFeatures || !(h! >= 1) || !(wd! >= 1)) {
    throw new InvalidArgumentError(`${label}: the NRN takes a [${w.inFeatures}, H, W] feature map, got [${feat.shape.join(', ')}]`);
  }
  return [h!, wd!];
}

/**
 * The NRN in its exact fast form (NERCO.md §4.3): ReLU(Conv3x3(feat)) followed by the per-pixel
 * MLP, all in one dispatch, so no hidden map is ever written to memory. `feat` is pre_trunk
 * [ngf, H, W]; returns pre_A [3, H, W] (a new pooled tensor the caller releases).
 */
export async function nrnFast(
  rec: Recorder,
  w: NrnWeights,
  feat: GpuTensor,
  label = `${w.label} nrn`,
  /** The whole image's height when feat is a row band of it (rel_cell depends on it, §4.3). */
  imageHeight?: number,
): Promise<GpuTensor> {
  const [h, wd] = checkNrnInput(w, feat, label);
  // CPU adapters with subgroups: the variant without workgroup memory and barriers (nrn-sg.ts).
  if (nrnSgApplicable(rec.runtime, w)) return nrnSg(rec, w, feat, h, wd, label, imageHeight);
  const { tile, p, q, groups, maxWidth } = w.fastLayout;
  const kernel = await rec.kernel({ shader: 'nrn_fast', defines: { TILE: tile, P: p, Q: q, GROUPS: groups, MAX_WIDTH: maxWidth } });
  const rt = rec.runtime;
  const convBias = nrnConvBias(rt, w, nrnRelCell(imageHeight ?? h), nrnRelCell(wd));
  const pixels = h * wd;
  const out = rt.tensor([3, h, wd], `${label} pre_A`);
  const { workgroups, pitch } = flatGrid(Math.ceil(pixels / tile), 1);
  rec.dispatch(kernel, {
    label,
    bindings: { feat, weights: w.fastWeights, convBias, layerTable: w.fastLayerTable, preA: out },
    uniforms: { height: h, width: wd, pixels, tilePitch: pitch, numLayers: w.widths.length },
    workgroups,
  });
  return out;
}
