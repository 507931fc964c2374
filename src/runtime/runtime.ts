import { BufferUsage, MapMode } from './gpu-constants.js';
import { DeviceLostError, GpuKernelError, InvalidArgumentError, LimitError } from '../errors.js';
import { BufferPool } from './buffer-pool.js';
import { acquireDevice, deviceLostError, deviceReleased, lossWithin, type AcquireDeviceOptions } from './device.js';
import { PipelineCache } from './pipeline-cache.js';
import { Recorder } from './recorder.js';
import { BYTES_PER_ELEMENT, GpuTensor, shapeSize, type DType } from './tensor.js';
import { UniformArena } from './uniform-arena.js';

/** Receives per-pass GPU timestamps (benchmarks); see bench/. */
export interface PassProfiler {
  timestampWrites(label: string): GPUComputePassTimestampWrites | undefined;
  /** Called after the pass's command buffer is encoded, before submit. */
  resolve(encoder: GPUCommandEncoder): void;
}

/**
 * The tensor runtime: one device, its buffer pool, pipeline cache and uniform arena. Everything
 * that touches the GPU goes through here, so errors, memory and lifetime are handled in one place.
 */
export class Runtime {
  readonly pool: BufferPool;
  readonly pipelines: PipelineCache;
  readonly uniforms: UniformArena;
  readonly limits: GPUSupportedLimits;
  readonly hasF16: boolean;
  /**
   * Subgroup operations with subgroups of at least 8 lanes (the size the subgroup kernels share
   * loads over), e.g. lavapipe's 8-wide SIMD, 32-lane warps; false when the feature is missing or
   * the adapter may run narrower subgroups.
   */
  readonly hasSubgroups8: boolean;
  private profiler: PassProfiler | null = null;
  private lostInfo: GPUDeviceLostInfo | null = null;
  private destroyed = false;
  private deviceAccounted = false;
  private recordedIntoCallerEncoder = false;
  /**
   * Every live constant (weights, tables): destroy() frees them, so a model on the caller's device,
   * which outlives the model, does not keep its weights.
   */
  private readonly constants = new Set<GpuTensor>();
  /** Pooled tensors taken during the run() in progress and not yet released: freed if it fails. */
  private runTensors: Set<GpuTensor> | null = null;

  private constructor(readonly device: GPUDevice, readonly ownsDevice: boolean, readonly adapterName: string, use: { readonly f16?: boolean; readonly subgroups?: boolean } = {}) {
    this.limits = device.limits;
    // `f16: false` / `subgroups: false` hold for a caller's device too, which may have the features.
    this.hasF16 = use.f16 !== false && device.features.has('shader-f16');
    const minSubgroup = (device as { adapterInfo?: { subgroupMinSize?: number } }).adapterInfo?.subgroupMinSize;
    this.hasSubgroups8 = use.subgroups !== false && device.features.has('subgroups') && typeof minSubgroup === 'number' && minSubgroup >= 8;
    this.pool = new BufferPool(device, Math.min(device.limits.maxBufferSize, device.limits.maxStorageBufferBindingSize));
    this.pipelines = new PipelineCache(device);
    this.uniforms = new UniformArena(device);
    // A lost device (driver reset, or destroy() by anyone) is dead for good: note it for
    // checkAlive, and stop counting it as live so that Node can exit even if nobody calls destroy().
    void device.lost.then((info) => {
      this.lostInfo = info;
      this.releaseOwnedDevice();
    });
  }

  static async create(opts: AcquireDeviceOptions = {}): Promise<Runtime> {
    const d = await acquireDevice(opts);
    return new Runtime(d.device, d.owned, d.adapterName, opts);
  }

  /** Throws DeviceLostError when the device is gone (destroyed or lost). */
  checkAlive(): void {
    if (this.lostInfo) throw deviceLostError(this.lostInfo);
    if (this.destroyed) throw new DeviceLostError('this model was destroyed; create a new one');
  }

  setProfiler(p: PassProfiler | null): void { this.profiler = p; }

  timestampWrites(label: string): { timestampWrites?: GPUComputePassTimestampWrites } {
    const tw = this.profiler?.timestampWrites(label);
    return tw ? { timestampWrites: tw } : {};
  }

  /** A pooled activation tensor (contents undefined until written). */
  tensor(shape: readonly number[], label: string, dtype: DType = 'f32'): GpuTensor {
    this.checkAlive();
    const bytes = shapeSize(shape) * BYTES_PER_ELEMENT[dtype];
    const max = this.limits.maxStorageBufferBindingSize;
    if (bytes > max) {
      throw new LimitError(`${label}: a ${shape.join('×')} ${dtype} tensor needs ${bytes} bytes; this device's maxStorageBufferBindingSize is ${max} bytes`);
    }
    const t = new GpuTensor(this.pool.acquire(bytes, label), shape, dtype, this.pool, label, (gone) => this.runTensors?.delete(gone));
    this.runTensors?.add(t);
    return t;
  }

  /** Uploads data into a buffer the tensor owns (weights, constants). */
  constant(data: Float32Array | Uint16Array | Uint32Array, shape: readonly number[], label: string, dtype: DType = 'f32'): GpuTensor {
    this.checkAlive();
    const n = shapeSize(shape);
    const expected = dtype === 'f16' ? n * 2 : n * 4;
    if (data.byteLength !== expected) throw new InvalidArgumentError(`${label}: ${data.byteLength} bytes of data for shape [${shape.join(', ')}] ${dtype}`);
    const size = Math.max(16, Math.ceil(expected / 4) * 4);
    let buffer: GPUBuffer;
    try {
      buffer = this.device.createBuffer({ label, size, usage: BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC, mappedAtCreation: true });
    } catch (e) {
      // mappedAtCreation throws (RangeError) when the mapping cannot be allocated.
      throw new GpuKernelError('GPU_OUT_OF_MEMORY', label, `cannot allocate ${size} bytes (${(e as Error).message})`);
    }
    new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    buffer.unmap();
    const t = new GpuTensor(buffer, shape, dtype, null, label, (gone) => this.constants.delete(gone));
    this.constants.add(t);
    return t;
  }

  /** A pooled tensor filled from host data. */
  upload(data: Float32Array, shape: readonly number[], label: string): GpuTensor {
    if (!(data instanceof Float32Array)) throw new InvalidArgumentError(`${label}: expected a Float32Array, got ${(data as object)?.constructor?.name ?? typeof data}`);
    if (data.length !== shapeSize(shape)) throw new InvalidArgumentError(`${label}: ${data.length} values for shape [${shape.join(', ')}]`);
    const t = this.tensor(shape, label);
    this.device.queue.writeBuffer(t.buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    return t;
  }

  /** A recorder over a new encoder, or over the caller's encoder (which the caller submits). */
  recorder(encoder?: GPUCommandEncoder): Recorder {
    this.checkAlive();
    return new Recorder(this, encoder ?? this.device.createCommandEncoder({ label: 'nerco-webgpu' }));
  }

  /**
   * Runs `record` inside validation and out-of-memory error scopes, then (unless the recorder
   * wraps a caller's encoder) submits. A GPU error becomes a GpuKernelError naming the kernel.
   * Calls must not overlap on one runtime (error scopes are per device): the model serialises them.
   */
  async run<T>(record: (rec: Recorder) => Promise<T>, opts: { encoder?: GPUCommandEncoder } = {}): Promise<T> {
    if (opts.encoder) this.recordedIntoCallerEncoder = true;
    else if (this.uniforms.isLarge && !this.recordedIntoCallerEncoder) {
      // A caller's encoder may be submitted at any time later, so once one has been used the
      // uniform slots it binds must live on; otherwise wait for our own work and start afresh.
      await this.device.queue.onSubmittedWorkDone();
      this.uniforms.destroy();
    }
    const rec = this.recorder(opts.encoder);
    const taken = new Set<GpuTensor>();
    this.runTensors = taken;
    try {
      return await this.runInErrorScopes(rec, record, opts);
    } catch (e) {
      // A failed run hands nothing back: whatever it took from the pool and did not release
      // (its results, or what it held when it threw) goes back, so errors leak no memory.
      for (const t of taken) t.release();
      throw e;
    } finally {
      this.runTensors = null;
    }
  }

  private async runInErrorScopes<T>(rec: Recorder, record: (rec: Recorder) => Promise<T>, opts: { encoder?: GPUCommandEncoder }): Promise<T> {
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    let result: T;
    let failure: unknown = null;
    try {
      result = await record(rec);
      this.uniforms.flush();
      if (!opts.encoder) {
        this.profiler?.resolve(rec.encoder);
        this.device.queue.submit([rec.encoder.finish()]);
        // Everything recorded is submitted: free buffers may go. Not after a caller's encoder was
        // used, which may still reference them until the caller submits it.
        if (!this.recordedIntoCallerEncoder) this.pool.trimToBudget();
      }
    } catch (e) {
      failure = e;
    }
    let validation: GPUError | null;
    let oom: GPUError | null;
    try {
      validation = await this.device.popErrorScope();
      oom = await this.device.popErrorScope();
    } catch (e) {
      // Popping fails when the device went away meanwhile.
      await this.settleLoss();
      throw e;
    }
    this.checkAlive();
    if (oom) throw new GpuKernelError('GPU_OUT_OF_MEMORY', kernelFromMessage(oom.message), oom.message);
    if (validation) throw new GpuKernelError('GPU_VALIDATION', kernelFromMessage(validation.message), validation.message);
    if (failure) throw failure;
    return result!;
  }

  /** Copies a tensor back to the host (waits for all submitted work). */
  async read(t: GpuTensor): Promise<Float32Array> {
    this.checkAlive();
    if (t.dtype !== 'f32') throw new InvalidArgumentError(`read: ${t.label} is ${t.dtype}; read f32 tensors`);
    const bytes = t.byteLength;
    const staging = this.device.createBuffer({ label: `read ${t.label}`, size: Math.ceil(bytes / 4) * 4, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
    try {
      const enc = this.device.createCommandEncoder({ label: `read ${t.label}` });
      enc.copyBufferToBuffer(t.buffer, 0, staging, 0, staging.size);
      this.device.queue.submit([enc.finish()]);
      try {
        await staging.mapAsync(MapMode.READ);
      } catch (e) {
        await this.settleLoss();
        throw new GpuKernelError('GPU_VALIDATION', `read ${t.label}`, `could not map the read-back buffer (${(e as Error).message})`);
      }
      return new Float32Array(staging.getMappedRange().slice(0, bytes));
    } finally {
      staging.destroy();
    }
  }

  /** GPU memory this runtime holds: weights/constants, pooled activations (now and peak), uniforms. */
  memoryStats(): { constantBytes: number; poolBytes: number; poolPeakBytes: number; uniformBytes: number; peakTotalBytes: number } {
    let constantBytes = 0;
    for (const t of this.constants) constantBytes += t.buffer.size;
    const p = this.pool.stats();
    return {
      constantBytes,
      poolBytes: p.allocatedBytes,
      poolPeakBytes: p.peakAllocatedBytes,
      uniformBytes: this.uniforms.bytes,
      peakTotalBytes: constantBytes + p.peakAllocatedBytes + this.uniforms.bytes,
    };
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const t of [...this.constants]) t.release();
    this.pool.destroy();
    this.uniforms.destroy();
    if (this.ownsDevice) {
      this.device.destroy();
      this.releaseOwnedDevice();
    }
  }

  private releaseOwnedDevice(): void {
    if (!this.ownsDevice || this.deviceAccounted) return;
    this.deviceAccounted = true;
    deviceReleased();
  }

  /**
   * After a GPU promise failed: a device loss may be the cause, and its notification may still be
   * on its way; give it a moment, then report it as DeviceLostError.
   */
  private async settleLoss(): Promise<void> {
    if (!this.lostInfo && !this.destroyed) await lossWithin(this.device, 100);
    this.checkAlive();
  }
}

/** Dawn and browsers quote the labels of the objects involved; ours start with the shader key. */
export function kernelFromMessage(message: string): string {
  const labels = [...message.matchAll(/"([^"]+)"/g)].map((m) => m[1]!).filter((l) => l !== 'nerco-webgpu');
  // Pool buffers carry their first user's label, which may be another layer: prefer a kernel's.
  const own = labels.filter((l) => !l.startsWith('pool:'));
  return own.find((l) => l.includes('(')) ?? own[0] ?? labels[0] ?? 'unknown kernel';
}
