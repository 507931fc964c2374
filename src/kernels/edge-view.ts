import { InvalidArgumentError } from '../errors.js';
import type { Recorder } from '../runtime/recorder.js';
import type { GpuTensor } from '../runtime/tensor.js';
import { shape3 } from './tensor-checks.js';

export interface EdgeViewOptions {
  /** Row pitch of `output` in bytes (a multiple of 4, ≥ 4·W; copyBufferToTexture needs 256). */
  bytesPerRow: number;
  /** |e|·gain is clamped to [0, 1] and scaled to 0..255. */
  gain: number;
  /** Where the rgba8unorm texels go (STORAGE usage, ≥ bytesPerRow·(H−1) + 4·W bytes). */
  output: GPUBuffer;
}

/** Throws unless `gain` (the edge view's scale) is a positive finite number. */
export function checkGain(gain: number, label: string): void {
  if (!Number.isFinite(gain) || gain <= 0) throw new InvalidArgumentError(`${label}: gain must be a positive number, got ${gain}`);
}

/**
 * An edge map [1, H, W] (gray) or [3, H, W] (per channel) → RGBA8 texels for display:
 * byte = round(clamp(|e|·gain, 0, 1)·255), alpha 255, a 1-channel map replicated to R, G, B.
 */
export async function edgeView(rec: Recorder, edges: GpuTensor, opts: EdgeViewOptions, label = 'edgeView'): Promise<void> {
  const [c, h, w] = shape3(edges, label);
  if (c !== 1 && c !== 3) throw new InvalidArgumentError(`${label}: expected 1 or 3 channels, ${edges.label} is [${edges.shape.join(', ')}]`);
  const { bytesPerRow, gain, output } = opts;
  if (!Number.isInteger(bytesPerRow) || bytesPerRow % 4 !== 0 || bytesPerRow < 4 * w) {
    throw new InvalidArgumentError(`${label}: bytesPerRow ${bytesPerRow} must be a multiple of 4 and at least ${4 * w}`);
  }
  checkGain(gain, label);
  const needed = bytesPerRow * (h - 1) + 4 * w;
  if (output.size < needed) throw new InvalidArgumentError(`${label}: output buffer holds ${output.size} bytes, needs ${needed}`);
  const k = await rec.kernel({ shader: 'edge_view', defines: { GRAY: c === 1 } });
  rec.dispatch(k, {
    label,
    bindings: { x: edges, texels: output },
    uniforms: { width: w, height: h, words_per_row: bytesPerRow / 4, gain },
    workgroups: [Math.ceil(w / 16), Math.ceil(h / 16)],
  });
}
