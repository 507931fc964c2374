import { GpuKernelError, InvalidArgumentError, LimitError } from '../errors.js';
import { BYTES_PER_TEXEL, checkRgba8Format, checkRounding, copyRowPitch, isImageFormat, packImage, unpackImage, type ImageFormat } from '../kernels/image.js';
import { TextureUsage } from '../runtime/gpu-constants.js';
import { Runtime } from '../runtime/runtime.js';
import type { GpuTensor } from '../runtime/tensor.js';
import type { AcquireDeviceOptions } from '../runtime/device.js';
import { bufferLimit, prepareNeRCo, recordForward, type ForwardOptions, type NeRCoGpuWeights, type Precision } from './forward.js';
import { defaultBandRows, levelChannels, needsBands } from './forward-banded.js';
import { bucketSize } from '../runtime/buffer-pool.js';
import type { NeRCoWeights } from './load-weights.js';
import { INPUT_LUT, MIN_NETWORK_SIDE, NETWORK_SIZE_MULTIPLE, networkSizePad } from './preprocess.js';
import type { OutputRounding } from './postprocess.js';

/** Host copies of the pass's tensors, float32 CHW. */
export interface ForwardResult {
  readonly fakeB: Float32Array;
  readonly preTrunk?: Float32Array;
  readonly preA?: Float32Array;
  readonly mask?: Float32Array;
  readonly hImage?: Float32Array;
}

export interface TextureEnhanceOptions {
  /** Output quantisation: 'nearest' (default) or 'truncate' (the reference's uint8 cast). */
  readonly rounding?: OutputRounding;
}

export interface EnhanceTextureOptions extends TextureEnhanceOptions {
  /** Format of the returned texture (default rgba8unorm; bgra8unorm suits most canvases). */
  readonly format?: 'rgba8unorm' | 'bgra8unorm';
}


/**
 * A loaded NeRCo: its weights on one device. Calls are serialised (they share the device's
 * error scopes and the buffer pool); concurrent callers simply queue.
 *
 * Lifetime: the model owns its weights, pooled activations and, when it created the device, the
 * device. Textures returned by `enhance` belong to the caller. `destroy()` frees everything the
 * model owns; using the model afterwards throws DeviceLostError.
 */
export class NeRCoModel {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly lut: GpuTensor;

  private constructor(readonly runtime: Runtime, readonly weights: NeRCoWeights, private readonly gpu: NeRCoGpuWeights) {
    this.lut = runtime.constant(INPUT_LUT, [256], 'input LUT');
  }

  /**
   * `precision` 'f16' (where the device has `shader-f16` and subgroups) stores the 3×3 conv
   * weights and the ResBlock intermediates as f16; elsewhere the model runs in f32 without error.
   * `model.precision` tells which one it got.
   */
  static async create(weights: NeRCoWeights, opts: AcquireDeviceOptions & { readonly precision?: Precision } = {}): Promise<NeRCoModel> {
    if (opts.precision !== undefined && opts.precision !== 'f32' && opts.precision !== 'f16') {
      throw new InvalidArgumentError(`precision must be 'f32' or 'f16', not ${String(opts.precision)}`);
    }
    const runtime = await Runtime.create(opts);
    try {
      // Uploading the weights happens outside Runtime.run: catch its GPU errors here.
      runtime.device.pushErrorScope('out-of-memory');
      runtime.device.pushErrorScope('validation');
      let model: NeRCoModel | undefined;
      let failure: unknown;
      try {
        model = new NeRCoModel(runtime, weights, prepareNeRCo(runtime, weights, { precision: opts.precision }));
      } catch (e) {
        failure = e;
      }
      const validation = await runtime.device.popErrorScope();
      const oom = await runtime.device.popErrorScope();
      runtime.checkAlive();
      if (oom) throw new GpuKernelError('GPU_OUT_OF_MEMORY', 'weights upload', oom.message);
      if (validation) throw new GpuKernelError('GPU_VALIDATION', 'weights upload', validation.message);
      if (failure !== undefined || !model) throw failure;
      return model;
    } catch (e) {
      runtime.destroy();
      throw e;
    }
  }

  get device(): GPUDevice { return this.runtime.device; }

  /** The storage precision in effect: 'f16' only when asked for and supported by the device. */
  get precision(): Precision { return this.gpu.precision; }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Throws LimitError when a network input of width×height (multiples of 4, ≥ 8) would not fit
   * this device's limits, InvalidArgumentError when it is not a valid network size.
   */
  checkNetworkSize(width: number, height: number): void {
    for (const [n, what] of [[width, 'width'], [height, 'height']] as const) {
      if (!Number.isInteger(n) || n < MIN_NETWORK_SIDE || n % NETWORK_SIZE_MULTIPLE !== 0) {
        throw new InvalidArgumentError(`network ${what} ${n} must be a multiple of ${NETWORK_SIZE_MULTIPLE} and at least ${MIN_NETWORK_SIDE}`);
      }
    }
    // Maps wider than one storage binding run in row bands (forward-banded.ts); the 3-channel
    // input and output stay whole, and one row of the widest map must fit a band.
    const limit = bufferLimit(this.runtime);
    const rgbBytes = 3 * width * height * 4;
    if (bucketSize(rgbBytes) > limit) {
      throw new LimitError(`a ${width}×${height} image needs 3-channel tensors of ${rgbBytes} bytes; this device's maxStorageBufferBindingSize / maxBufferSize allow ${limit} bytes (largest image ≈ ${Math.floor(limit / 12)} pixels)`);
    }
    const ch = levelChannels(this.gpu);
    if (needsBands(ch, height, width, limit) && defaultBandRows(ch, height, width, limit) === 0) {
      throw new LimitError(`a ${width}-pixel-wide image is too wide for this device: a band of its ${ch.full}-channel maps needs more than the ${limit} bytes one storage binding allows`);
    }
  }

  /**
   * Runs the network on real_A (float32 [3,H,W] in [-1,1], H and W multiples of 4, ≥ 8) and
   * reads the results back. The path the CLI, the tests and the conformance checks use.
   */
  runCHW(realA: Float32Array, height: number, width: number, opts: ForwardOptions = {}): Promise<ForwardResult> {
    return this.exclusive(async () => {
      this.checkNetworkSize(width, height);
      if (realA.length !== 3 * height * width) throw new InvalidArgumentError(`real_A has ${realA.length} values; expected 3×${height}×${width}`);
      if (opts.nrn !== undefined && opts.nrn !== 'fast' && opts.nrn !== 'general') throw new InvalidArgumentError(`nrn must be 'fast' or 'general', not ${String(opts.nrn)}`);
      const rt = this.runtime;
      const input = rt.upload(realA, [3, height, width], 'real_A');
      try {
        const out = await rt.run((rec) => recordForward(rec, this.gpu, input, opts));
        const tensors = Object.entries(out) as [keyof ForwardResult, GpuTensor | undefined][];
        try {
          const result: Record<string, Float32Array> = {};
          for (const [name, t] of tensors) if (t) result[name] = await rt.read(t);
          return result as unknown as ForwardResult;
        } finally {
          for (const [, t] of tensors) t?.release();
        }
      } finally {
        input.release();
      }
    });
  }

  /**
   * Enhances a texture on the model's device and returns a new texture (rgba8unorm, or opts.format) of the same
   * size (the caller owns it). The input needs COPY_SRC usage; any size ≥ 1×1 works: it is
   * reflect-padded to the network's multiple of 4 on the GPU and cropped back.
   */
  enhance(input: GPUTexture, opts: EnhanceTextureOptions = {}): Promise<GPUTexture> {
    return this.exclusive(async () => {
      const format = opts.format ?? 'rgba8unorm';
      checkRgba8Format(format, 'enhance');
      this.runtime.checkAlive();
      const output = this.device.createTexture({
        label: 'nerco-webgpu output',
        size: [input.width, input.height],
        format,
        usage: TextureUsage.COPY_SRC | TextureUsage.COPY_DST | TextureUsage.TEXTURE_BINDING | TextureUsage.RENDER_ATTACHMENT,
      });
      try {
        // The runtime's own encoder: submitted inside its error scopes (a bad input texture is a
        // typed error, not a console warning), and free pooled buffers can be trimmed afterwards.
        await this.recordEnhance(undefined, input, output, opts);
        return output;
      } catch (e) {
        output.destroy();
        throw e;
      }
    });
  }

  /**
   * Records the whole enhancement of `input` into `output` (same size; rgba8unorm or bgra8unorm
   * with COPY_DST) into the caller's encoder. Nothing is submitted: the caller submits when it
   * likes, but before `destroy()`. Every buffer the recording uses belongs to the model.
   */
  encode(encoder: GPUCommandEncoder, input: GPUTexture, output: GPUTexture, opts: TextureEnhanceOptions = {}): Promise<void> {
    return this.exclusive(() => this.recordEnhance(encoder, input, output, opts));
  }

  /** Records into `callerEncoder` (submitted by the caller), or into the runtime's own encoder, which it submits. */
  private async recordEnhance(callerEncoder: GPUCommandEncoder | undefined, input: GPUTexture, output: GPUTexture, opts: TextureEnhanceOptions): Promise<void> {
    if (!isImageFormat(input.format)) throw new InvalidArgumentError(`input texture format ${input.format} is not supported (use ${Object.keys(BYTES_PER_TEXEL).join(', ')})`);
    const inFormat: ImageFormat = input.format;
    if (input.dimension !== '2d' || input.sampleCount !== 1) throw new InvalidArgumentError(`the input texture must be 2d with one sample (got ${input.dimension}, ${input.sampleCount} samples)`);
    if (!(input.usage & TextureUsage.COPY_SRC)) throw new InvalidArgumentError('the input texture needs GPUTextureUsage.COPY_SRC');
    const outFormat = output.format;
    checkRgba8Format(outFormat, 'output texture');
    if (!(output.usage & TextureUsage.COPY_DST)) throw new InvalidArgumentError('the output texture needs GPUTextureUsage.COPY_DST');
    if (output.width !== input.width || output.height !== input.height) throw new InvalidArgumentError(`output is ${output.width}×${output.height}; the input is ${input.width}×${input.height}`);
    const rounding = opts.rounding ?? 'nearest';
    checkRounding(rounding, 'enhance');
    const { width, height } = input;
    const net = networkSizePad(width, height);
    this.checkNetworkSize(net.w, net.h);
    const rt = this.runtime;
    const inRow = copyRowPitch(width, BYTES_PER_TEXEL[inFormat]);
    const staging = rt.tensor([(inRow * height) / 4], 'input texels');
    const outRow = copyRowPitch(width, 4);
    // Pooled, never destroyed: safe for a caller's encoder submitted late, because every
    // recording writes each pooled buffer before it reads it.
    const outTexels = rt.tensor([(outRow * height) / 4], 'output texels');
    try {
      await rt.run(async (rec) => {
        const encoder = rec.encoder;
        encoder.copyTextureToBuffer({ texture: input }, { buffer: staging.buffer, bytesPerRow: inRow, rowsPerImage: height }, [width, height]);
        const realA = await packImage(rec, staging.buffer, { format: inFormat, width, height, bytesPerRow: inRow, lut: this.lut, padW: net.w, padH: net.h }, 'real_A');
        const { fakeB } = await recordForward(rec, this.gpu, realA);
        realA.release();
        await unpackImage(rec, fakeB, { width, height, bytesPerRow: outRow, rounding, format: outFormat, output: outTexels.buffer }, 'output');
        fakeB.release();
        encoder.copyBufferToTexture({ buffer: outTexels.buffer, bytesPerRow: outRow, rowsPerImage: height }, { texture: output }, [width, height]);
      }, callerEncoder ? { encoder: callerEncoder } : {});
    } finally {
      staging.release();
      outTexels.release();
    }
  }

  /**
   * Runs `fn` with the model's runtime, queued with the model's own calls (they share the
   * device's error scopes and buffer pool): how add-ons such as `edges` record their kernels.
   */
  withRuntime<T>(fn: (runtime: Runtime) => Promise<T>): Promise<T> {
    return this.exclusive(() => {
      this.runtime.checkAlive();
      return fn(this.runtime);
    });
  }

  destroy(): void {
    this.lut.release();
    this.runtime.destroy();
  }
}

