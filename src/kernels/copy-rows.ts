import { InvalidArgumentError } from '../errors.js';
import type { Recorder } from '../runtime/recorder.js';
import type { GpuTensor } from '../runtime/tensor.js';
import { planeGrid } from './plane-grid.js';
import { shape3 } from './tensor-checks.js';

/**
 * dst[:, dstRow0 + i, :] = src[:, srcRow0 + i, :] for i < rows, both [C, ·, W] with the same C and
 * W (shaders/copy_rows.wgsl). One dispatch for all channels, where buffer copies would need one
 * command per channel.
 */
export async function copyRows(rec: Recorder, src: GpuTensor, srcRow0: number, dst: GpuTensor, dstRow0: number, rows: number, label = 'copyRows'): Promise<void> {
  const [c, sh, w] = shape3(src, label);
  const [dc, dh, dw] = shape3(dst, label);
  if (dc !== c || dw !== w) throw new InvalidArgumentError(`${label}: ${src.label} [${src.shape.join(', ')}] and ${dst.label} [${dst.shape.join(', ')}] differ in channels or width`);
  for (const v of [srcRow0, dstRow0, rows]) if (!Number.isInteger(v) || v < 0) throw new InvalidArgumentError(`${label}: rows must be non-negative integers`);
  if (srcRow0 + rows > sh || dstRow0 + rows > dh) {
    throw new InvalidArgumentError(`${label}: rows ${srcRow0}+${rows} of ${sh} → ${dstRow0}+${rows} of ${dh} out of range`);
  }
  if (rows === 0) return;
  if (src.buffer === dst.buffer) throw new InvalidArgumentError(`${label}: source and destination share a buffer`);
  const k = await rec.kernel({ shader: 'copy_rows' });
  const count = rows * w;
  const { workgroups, pitch } = planeGrid(count, c, 256);
  rec.dispatch(k, {
    label,
    bindings: { src, dst },
    uniforms: { count, width: w, src_plane: sh * w, dst_plane: dh * w, src_start: srcRow0 * w, dst_start: dstRow0 * w, pitch },
    workgroups,
  });
}
