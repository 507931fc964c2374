import { LimitError } from '../errors.js';
import { BufferUsage } from './gpu-constants.js';

/**
 * Reuses GPU storage buffers across layers and calls. Sizes are rounded up to a bucket so that
 * the many same-shaped activations of a network share a few allocations; a forward pass that
 * releases tensors as soon as their last reader is recorded needs only a handful of live buffers.
 *
 * A request takes the smallest free buffer that holds it, up to twice its bucket, so a freed
 * larger activation serves a smaller one instead of the pool keeping a buffer of every size it
 * ever saw. Between calls (`trimToBudget`, at points where no recorded work is left unsubmitted)
 * the least recently used free buffers are destroyed while the pool holds more than twice the
 * most any call had in use: a long-running app that sees images of ever new sizes stays bounded.
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

/** A free buffer may serve a request up to this many times smaller than itself. */
const BEST_FIT_SLACK = 2;
/** trimToBudget keeps at most this multiple of the highest in-use total ever seen... */
const BUDGET_FACTOR = 2;
/** ...and never trims below this (small workloads are not worth reallocating). */
const MIN_BUDGET_BYTES = 16 * 1024 * 1024;

export class BufferPool {
  /** Free buffers by size, and their sizes in ascending order (for best fit). */
  private readonly free = new Map<number, GPUBuffer[]>();
  private freeSizes: number[] = [];
  private readonly inUse = new Set<GPUBuffer>();
  /** Acquisition time of every buffer (a counter), for least-recently-used trimming. */
  private readonly lastUse = new Map<GPUBuffer, number>();
  private clock = 0;
  private allocated = 0;
  private inUseBytes = 0;
  private peakAllocated = 0;
  private peakInUse = 0;
  /** Highest inUseBytes ever (not reset by resetPeak): sets the trimming budget. */
  private highWaterInUse = 0;
  private count = 0;
  private destroyed = false;

  constructor(private readonly device: GPUDevice, private readonly maxBufferSize: number) {}

  acquire(bytes: number, label: string): GPUBuffer {
    const size = bucketSize(bytes);
    if (size > this.maxBufferSize) {
      throw new LimitError(`${label}: needs a ${size}-byte buffer; this device's maxStorageBufferBindingSize / maxBufferSize allow ${this.maxBufferSize}`);
    }
    let buffer = this.takeFree(size, BEST_FIT_SLACK * size);
    if (!buffer) {
      // The first user's label, so that an out-of-memory error at creation names the layer.
      buffer = this.device.createBuffer({ label: `pool:${size} ${label}`, size, usage: STORAGE_USAGE });
      this.allocated += size;
      this.count++;
      this.peakAllocated = Math.max(this.peakAllocated, this.allocated);
    }
    this.inUse.add(buffer);
    this.lastUse.set(buffer, ++this.clock);
    this.inUseBytes += buffer.size;
    this.peakInUse = Math.max(this.peakInUse, this.inUseBytes);
    this.highWaterInUse = Math.max(this.highWaterInUse, this.inUseBytes);
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    // After destroy() every buffer is gone already; a call that was in flight may still release.
    if (this.destroyed) return;
    if (!this.inUse.delete(buffer)) throw new Error(`buffer ${buffer.label} released twice or not from this pool`);
    this.inUseBytes -= buffer.size;
    const list = this.free.get(buffer.size);
    if (list?.length) list.push(buffer);
    else {
      this.free.set(buffer.size, [buffer]);
      this.freeSizes.splice(this.lowerBound(buffer.size), 0, buffer.size);
    }
  }

  /** Index of the first free size ≥ `size`. */
  private lowerBound(size: number): number {
    let lo = 0;
    let hi = this.freeSizes.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.freeSizes[mid]! < size) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The most recently freed buffer of the smallest free size in [min, max], if any. */
  private takeFree(min: number, max: number): GPUBuffer | undefined {
    const i = this.lowerBound(min);
    const size = this.freeSizes[i];
    if (size === undefined || size > max) return undefined;
    const list = this.free.get(size)!;
    const buffer = list.pop()!;
    if (!list.length) {
      this.free.delete(size);
      this.freeSizes.splice(i, 1);
    }
    return buffer;
  }

  /**
   * Destroys least recently used free buffers while the pool holds more than its budget
   * (twice the most ever in use, at least 16 MiB). Call only where every command buffer that
   * used a free buffer has been submitted (destroying after submit is safe: the memory lives
   * until that work is done). Returns the bytes freed.
   */
  trimToBudget(): number {
    const budget = Math.max(MIN_BUDGET_BYTES, BUDGET_FACTOR * this.highWaterInUse);
    if (this.allocated <= budget) return 0;
    const candidates: GPUBuffer[] = [];
    for (const list of this.free.values()) candidates.push(...list);
    candidates.sort((a, b) => this.lastUse.get(a)! - this.lastUse.get(b)!);
    let freed = 0;
    for (const b of candidates) {
      if (this.allocated <= budget) break;
      this.evict(b);
      freed += b.size;
    }
    return freed;
  }

  private evict(b: GPUBuffer): void {
    const list = this.free.get(b.size)!;
    list.splice(list.indexOf(b), 1);
    if (!list.length) {
      this.free.delete(b.size);
      this.freeSizes.splice(this.lowerBound(b.size), 1);
    }
    this.lastUse.delete(b);
    this.allocated -= b.size;
    this.count--;
    b.destroy();
  }

  /** Destroys every free buffer (in-use ones stay valid). */
  trim(): void {
    for (const list of this.free.values()) {
      for (const b of list) {
        this.lastUse.delete(b);
        this.allocated -= b.size;
        this.count--;
        b.destroy();
      }
    }
    this.free.clear();
    this.freeSizes = [];
  }

  destroy(): void {
    this.destroyed = true;
    this.trim();
    for (const b of this.inUse) b.destroy();
    this.inUse.clear();
    this.lastUse.clear();
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
