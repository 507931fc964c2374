import { InvalidArgumentError } from '../errors.js';
import type { Recorder } from '../runtime/recorder.js';
import type { GpuTensor } from '../runtime/tensor.js';
import { planeGrid } from './plane-grid.js';
import { shape3 } from './tensor-checks.js';

/** [C, H, W] of a channel-pair packed f16 tensor (C even). */
export function shape3F16(t: GpuTensor, what: string): [number, number, number] {
  const s = t.shape;
  if (t.dtype !== 'f16' || s.length !== 3 || s.some((d) => !Number.isInteger(d) || d < 1) || s[0]! % 2 !== 0) {
    throw new InvalidArgumentError(`${what}: expected an f16 [C, H, W] tensor with C even, got ${t.dtype} [${s.join(', ')}]`);
  }
  return [s[0]!, s[1]!, s[2]!];
}

/**
 * y += IN(b) for a channel-pair packed f16 `b` and an f32 `y` of the same [C, H, W] shape (C even),
 * with `stats` [C, 2] from instanceNormStats: the residual add closing a ResBlock in the f16 path
 * (shaders/instance_norm_residual_f16.wgsl). y is updated in place.
 */
export async function instanceNormResidualF16(rec: Recorder, b: GpuTensor, stats: GpuTensor, y: GpuTensor, label = 'instanceNorm.residual'): Promise<void> {
  const [c, h, w] = shape3F16(b, label);
  const [yc, yh, yw] = shape3(y, label);
  if (yc !== c || yh !== h || yw !== w) throw new InvalidArgumentError(`${label}: y is [${y.shape.join(', ')}], b is [${b.shape.join(', ')}]`);
  if (stats.shape.length !== 2 || stats.shape[0] !== c || stats.shape[1] !== 2) throw new InvalidArgumentError(`${label}: stats must be [${c}, 2]`);
  const plane = h * w;
  const k = await rec.kernel({ shader: 'instance_norm_residual_f16' });
  const { workgroups, pitch } = planeGrid(plane, c / 2, 64);
  rec.dispatch(k, { label, bindings: { stats, b, y }, uniforms: { plane, pitch }, workgroups });
}
