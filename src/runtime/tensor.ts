import type { BufferPool } from './buffer-pool.js';

export type DType = 'f32' | 'f16';

export const BYTES_PER_ELEMENT: Readonly<Record<DType, number>> = { f32: 4, f16: 2 };

export function shapeSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * A dense NCHW (batch 1, so [C, H, W] for activations) tensor in a GPU buffer. Activations come
 * from the runtime's pool and go back with `release()`; weights own their buffer for the model's
 * lifetime. The buffer may be larger than the tensor (pool buckets): kernels take sizes from
 * uniforms, never from arrayLength.
 */
export class GpuTensor {
  private released = false;

  constructor(
    readonly buffer: GPUBuffer,
    readonly shape: readonly number[],
    readonly dtype: DType,
    private readonly pool: BufferPool | null,
    readonly label: string,
    /** Told once, after the buffer went back to the pool or was destroyed (the runtime's accounts). */
    private readonly onRelease?: (t: GpuTensor) => void,
  ) {}

  get size(): number { return shapeSize(this.shape); }
  get byteLength(): number { return this.size * BYTES_PER_ELEMENT[this.dtype]; }
  get isReleased(): boolean { return this.released; }

  /** Returns a pooled buffer to the pool, or destroys an owned one. Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    if (this.pool) this.pool.release(this.buffer);
    else this.buffer.destroy();
    this.onRelease?.(this);
  }
}
