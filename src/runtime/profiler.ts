import { BufferUsage, MapMode } from './gpu-constants.js';
import type { PassProfiler, Runtime } from './runtime.js';

/** One compute pass's GPU time. `label` is the dispatch label: "<kernel key> <layer>". */
export interface PassTiming {
  readonly label: string;
  readonly ms: number;
}

/**
 * Per-pass GPU timing with timestamp queries (the device needs `timestamp-query`, which the runtime
 * requests when the adapter has it). Install with `runtime.setProfiler(p)`, run, then `collect()`.
 * Each dispatch is its own compute pass (see Recorder), so every kernel launch gets a begin and
 * an end timestamp. Benchmarks only: resolving and reading the queries costs a round trip.
 * Timestamps may be quantised by the browser/Dawn (tens of µs); kernels here take far longer.
 */
export class TimestampProfiler implements PassProfiler {
  private readonly querySet: GPUQuerySet;
  private readonly resolveBuffer: GPUBuffer;
  private readonly readBuffer: GPUBuffer;
  private labels: string[] = [];
  private resolvedUpTo = 0;
  private overflowed = false;

  /** `capacity`: passes per collect() (2 queries each); passes beyond it go untimed. */
  constructor(private readonly device: GPUDevice, readonly capacity = 2048) {
    this.querySet = device.createQuerySet({ label: 'profiler', type: 'timestamp', count: 2 * capacity });
    this.resolveBuffer = device.createBuffer({ label: 'profiler resolve', size: 16 * capacity, usage: BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC });
    this.readBuffer = device.createBuffer({ label: 'profiler read', size: 16 * capacity, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
  }

  /** A profiler on the runtime's device, or null when the device lacks timestamp queries. */
  static forRuntime(rt: Runtime, capacity?: number): TimestampProfiler | null {
    return rt.device.features.has('timestamp-query') ? new TimestampProfiler(rt.device, capacity) : null;
  }

  timestampWrites(label: string): GPUComputePassTimestampWrites | undefined {
    const i = this.labels.length;
    if (i >= this.capacity) {
      this.overflowed = true;
      return undefined;
    }
    this.labels.push(label);
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  resolve(encoder: GPUCommandEncoder): void {
    const n = this.labels.length - this.resolvedUpTo;
    if (n <= 0) return;
    encoder.resolveQuerySet(this.querySet, 2 * this.resolvedUpTo, 2 * n, this.resolveBuffer, 16 * this.resolvedUpTo);
    this.resolvedUpTo = this.labels.length;
  }

  /** Waits for the GPU, returns the timings of the passes since the last collect, and resets. */
  async collect(): Promise<PassTiming[]> {
    const n = this.resolvedUpTo;
    const labels = this.labels.slice(0, n);
    this.labels = [];
    this.resolvedUpTo = 0;
    if (n === 0) return [];
    const enc = this.device.createCommandEncoder({ label: 'profiler read' });
    enc.copyBufferToBuffer(this.resolveBuffer, 0, this.readBuffer, 0, 16 * n);
    this.device.queue.submit([enc.finish()]);
    await this.readBuffer.mapAsync(MapMode.READ, 0, 16 * n);
    const ticks = new BigUint64Array(this.readBuffer.getMappedRange(0, 16 * n).slice(0));
    this.readBuffer.unmap();
    return labels.map((label, i) => ({ label, ms: Number(ticks[2 * i + 1]! - ticks[2 * i]!) / 1e6 }));
  }

  /** True when more passes were recorded than `capacity` since the last collect. */
  get dropped(): boolean { return this.overflowed; }

  destroy(): void {
    this.querySet.destroy();
    this.resolveBuffer.destroy();
    this.readBuffer.destroy();
  }
}

/** "conv2d(K=3,...) G_A.model.12.conv_block.1" → its kernel key, "conv2d(K=3,...)". */
export function kernelOfLabel(label: string): string {
  const i = label.indexOf(') ');
  return i < 0 ? label.split(' ')[0]! : label.slice(0, i + 1);
}
