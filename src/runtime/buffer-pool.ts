import { LimitError } from '../errors.js';
import { BufferUsage } from './gpu-constants.js';

/**
 * Reuses GPU storage buffers across layers and calls. Sizes are rounded up to a bucket so that
 * the many same-shaped activations of a network share a few allocations; a forward pass that
 * releases tensors as soon as their last reader is recorded needs only a handful of live buffers.
 *
 * Releasing a buffer while its command buffer is still being recorded is safe: every later use is
 * recorded after every earlier one in the same queue order, and WebGPU orders storage accesses
 * between dispatches.
 */
export interface PoolStats {
  /** Bytes held by the pool (free + in use). */
  readonly allocatedBytes: number;
  readonly inUseBytes: number;
  /** Highest allocatedBytes since creation or the last resetPeak(). */
  readonly peakAllocatedBytes: number;
  readonly peakInUseBytes: number;
  readonly buffers: number;
}

const STORAGE_USAGE = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;

/** Buckets: multiples of 256 B up to 64 KiB, then steps of 1/8 of the next power of two. */
export function bucketSize(bytes: number): number {
  const b = Math.max(256, Math.ceil(bytes / 256) * 256);
  if (b <= 65536) return b;
  const step = 2 ** Math.floor(Math.log2(b)) / 8;
  return Math.ceil(b / step) * step;
}

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private readonly inUse = new Set<GPUBuffer>();
  private allocated = 0;
  private inUseBytes = 0;
  private peakAllocated = 0;
  private peakInUse = 0;
  private count = 0;

  constructor(private readonly device: GPUDevice, private readonly maxBufferSize: number) {}

  acquire(bytes: number, label: string): GPUBuffer {
    const size = bucketSize(bytes);
    if (size > this.maxBufferSize) {
      throw new LimitError(`${label}: needs a ${size}-byte buffer; this device's maxStorageBufferBindingSize / maxBufferSize allow ${this.maxBufferSize}`);
    }
    const list = this.free.get(size);
    let buffer = list?.pop();
    if (!buffer) {
      // The first user's label, so that an out-of-memory error at creation names the layer.
      buffer = this.device.createBuffer({ label: `pool:${size} ${label}`, size, usage: STORAGE_USAGE });
      this.allocated += size;
      this.count++;
      this.peakAllocated = Math.max(this.peakAllocated, this.allocated);
    }
    this.inUse.add(buffer);
    this.inUseBytes += size;
    this.peakInUse = Math.max(this.peakInUse, this.inUseBytes);
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    if (!this.inUse.delete(buffer)) throw new Error(`buffer ${buffer.label} released twice or not from this pool`);
    this.inUseBytes -= buffer.size;
    const list = this.free.get(buffer.size);
    if (list) list.push(buffer);
    else this.free.set(buffer.size, [buffer]);
  }

  /** Destroys every free buffer (in-use ones stay valid). */
  trim(): void {
    for (const list of this.free.values()) {
      for (const b of list) {
        this.allocated -= b.size;
        this.count--;
        b.destroy();
      }
    }
    this.free.clear();
  }

  destroy(): void {
    this.trim();
    for (const b of this.inUse) b.destroy();
    this.inUse.clear();
    this.allocated = 0;
    this.inUseBytes = 0;
    this.count = 0;
  }

  resetPeak(): void {
    this.peakAllocated = this.allocated;
    this.peakInUse = this.inUseBytes;
  }

  stats(): PoolStats {
    return {
      allocatedBytes: this.allocated,
      inUseBytes: this.inUseBytes,
      peakAllocatedBytes: this.peakAllocated,
      peakInUseBytes: this.peakInUse,
      buffers: this.count,
    };
  }
}
