import { InvalidArgumentError } from '../errors.js';
import type { Recorder } from '../runtime/recorder.js';
import type { GpuTensor } from '../runtime/tensor.js';
import { shape3 } from './tensor-checks.js';

/**
 * NeRCo's gradient ("sobel") layer, the seed's edge map: gray = R·65.738/256 + G·129.057/256 +
 * B·25.064/256 of the [-1, 1] input (GradLayer.get_gray; a 1-channel input is used as is), central
 * differences gv = I[y+1,x] − I[y−1,x], gh = I[y,x+1] − I[y,x−1] with zero padding, magnitude
 * sqrt(gv² + gh² + 1e−6). [3, H, W] (or [1, H, W]) → [1, H, W]. The untrained 1×1 gray→RGB conv
 * the original applies afterwards is not part of this (see test/reference/edges.ts).
 */
export async function sobel(rec: Recorder, rgb: GpuTensor, label = 'sobel'): Promise<GpuTensor> {
  const [c, h, w] = shape3(rgb, label);
  if (c !== 3 && c !== 1) throw new InvalidArgumentError(`${label}: expected 3 (RGB) or 1 (gray) channels, ${rgb.label} is [${rgb.shape.join(', ')}]`);
  const k = await rec.kernel({ shader: 'sobel', defines: { GRAY_INPUT: c === 1 } });
  const y = rec.runtime.tensor([1, h, w], label);
  rec.dispatch(k, { label, bindings: { x: rgb, y }, uniforms: { width: w, height: h }, workgroups: [Math.ceil(w / 16), Math.ceil(h / 16)] });
  return y;
}

/** Throws unless `neighbours` is a Laplacian this kernel has (4 or 8). */
export function checkNeighbours(neighbours: unknown, label: string): asserts neighbours is 4 | 8 {
  if (neighbours !== 4 && neighbours !== 8) throw new InvalidArgumentError(`${label}: neighbours must be 4 or 8, got ${String(neighbours)}`);
}

/**
 * Per-channel Laplacian with reflect borders (ReflectionPad2d(1) semantics, so H, W ≥ 2):
 * 4 neighbours [[0,1,0],[1,−4,1],[0,1,0]] or 8 neighbours [[1,1,1],[1,−8,1],[1,1,1]]. [C, H, W] → [C, H, W].
 */
export async function laplacian(rec: Recorder, x: GpuTensor, neighbours: 4 | 8, label = 'laplacian'): Promise<GpuTensor> {
  const [c, h, w] = shape3(x, label);
  checkNeighbours(neighbours, label);
  if (h < 2 || w < 2) throw new InvalidArgumentError(`${label}: reflect borders need H, W ≥ 2, ${x.label} is ${h}×${w}`);
  if (c > 65535) throw new InvalidArgumentError(`${label}: at most 65535 channels, got ${c}`);
  const k = await rec.kernel({ shader: 'laplacian', defines: { NEIGHBOURS: neighbours } });
  const y = rec.runtime.tensor(x.shape, label);
  rec.dispatch(k, { label, bindings: { x, y }, uniforms: { width: w, height: h }, workgroups: [Math.ceil(w / 16), Math.ceil(h / 16), c] });
  return y;
}
