import { InvalidArgumentError } from '../errors.js';
import { BufferUsage } from '../runtime/gpu-constants.js';
import type { Recorder } from '../runtime/recorder.js';
import type { GpuTensor } from '../runtime/tensor.js';
import { shape3 } from './tensor-checks.js';

/** Texture formats whose texels packImage reads (as copyTextureToBuffer writes them). */
export type ImageFormat = 'rgba8unorm' | 'bgra8unorm' | 'rgba16float' | 'rgba32float';
/** Texture formats unpackImage writes. */
export type Rgba8Format = 'rgba8unorm' | 'bgra8unorm';

/** Throws unless `format` is one unpackImage writes. */
export function checkRgba8Format(format: unknown, label: string): asserts format is Rgba8Format {
  if (format !== 'rgba8unorm' && format !== 'bgra8unorm') throw new InvalidArgumentError(`${label}: format must be rgba8unorm or bgra8unorm, got ${String(format)}`);
}

/** Throws unless `rounding` is one unpackImage applies. */
export function checkRounding(rounding: unknown, label: string): asserts rounding is 'truncate' | 'nearest' {
  if (rounding !== 'truncate' && rounding !== 'nearest') throw new InvalidArgumentError(`${label}: rounding must be 'truncate' or 'nearest', got ${String(rounding)}`);
}

const FORMAT_CODE: Record<ImageFormat, number> = { rgba8unorm: 0, bgra8unorm: 1, rgba16float: 2, rgba32float: 3 };
export const BYTES_PER_TEXEL: Readonly<Record<ImageFormat, number>> = { rgba8unorm: 4, bgra8unorm: 4, rgba16float: 8, rgba32float: 16 };

/** Whether packImage reads textures of this format. */
export function isImageFormat(format: GPUTextureFormat): format is ImageFormat {
  return Object.hasOwn(BYTES_PER_TEXEL, format);
}

/** Bytes per row of a texture ↔ buffer copy: copyTextureToBuffer needs a multiple of 256. */
export function copyRowPitch(width: number, bytesPerTexel: number): number {
  return Math.ceil((width * bytesPerTexel) / 256) * 256;
}

export interface PackImageOptions {
  format: ImageFormat;
  /** Size of the image in `src`. */
  width: number;
  height: number;
  /** Row pitch of `src` in bytes (a multiple of 4; copyTextureToBuffer needs a multiple of 256). */
  bytesPerRow: number;
  /** 256 f32: NERCO.md §3.3's LUT[u] = f32(f32(u/255 − 0.5)/0.5), built on the host. */
  lut: GpuTensor;
  /**
   * Network size: the image is reflect-padded (ReflectionPad2d semantics: edge not repeated) on the
   * right and bottom up to padW × padH. Past one reflection (pad ≥ size) the mirror continues
   * with period 2(n − 1), which PyTorch would refuse; a 1-pixel axis repeats its pixel.
   */
  padW?: number;
  padH?: number;
}

function requireDim(v: number, what: string, label: string): void {
  if (!Number.isInteger(v) || v <= 0) throw new InvalidArgumentError(`${label}: ${what} must be a positive integer, got ${v}`);
}

function requireRowPitch(bytesPerRow: number, width: number, bytesPerTexel: number, label: string): void {
  if (!Number.isInteger(bytesPerRow) || bytesPerRow % 4 !== 0 || bytesPerRow < width * bytesPerTexel) {
    throw new InvalidArgumentError(`${label}: bytesPerRow ${bytesPerRow} must be a multiple of 4 and at least ${width * bytesPerTexel} (${width} texels)`);
  }
}

/**
 * Texels (as laid out by copyTextureToBuffer) → real_A [3, padH, padW] in [-1, 1], channels R, G, B.
 * 8-bit formats map each byte through `lut`, so the result is bit-identical to the reference
 * pre-processing of that byte; float formats use v = clamp(c, 0, 1)·2 − 1 without quantising to
 * 8 bits (so they match the reference only for values that are exact k/255), NaN counts as 0.
 * Alpha is ignored.
 */
export async function packImage(rec: Recorder, src: GPUBuffer, opts: PackImageOptions, label = 'packImage'): Promise<GpuTensor> {
  const { format, width, height, bytesPerRow, lut } = opts;
  const code = FORMAT_CODE[format];
  if (code === undefined) throw new InvalidArgumentError(`${label}: unsupported format ${String(format)}`);
  requireDim(width, 'width', label);
  requireDim(height, 'height', label);
  const bpt = BYTES_PER_TEXEL[format];
  requireRowPitch(bytesPerRow, width, bpt, label);
  const outW = opts.padW ?? width;
  const outH = opts.padH ?? height;
  requireDim(outW, 'padW', label);
  requireDim(outH, 'padH', label);
  if (outW < width || outH < height) throw new InvalidArgumentError(`${label}: pad size ${outW}×${outH} is smaller than the image ${width}×${height}`);
  if (lut.size !== 256 || lut.dtype !== 'f32') throw new InvalidArgumentError(`${label}: lut ${lut.label} must hold 256 f32 values`);
  const needed = bytesPerRow * (height - 1) + width * bpt;
  if (src.size < needed) throw new InvalidArgumentError(`${label}: source buffer holds ${src.size} bytes; ${width}×${height} ${format} at ${bytesPerRow} bytes per row needs ${needed}`);
  const k = await rec.kernel({ shader: 'pack_image', defines: { FORMAT: code } });
  const y = rec.runtime.tensor([3, outH, outW], label);
  rec.dispatch(k, {
    label,
    bindings: { src, lut, y },
    uniforms: { width, height, out_width: outW, out_height: outH, words_per_row: bytesPerRow / 4 },
    workgroups: [Math.ceil(outW / 16), Math.ceil(outH / 16)],
  });
  return y;
}

export interface UnpackImageOptions {
  /** Size to write: the top-left crop of the tensor (≤ its W, H). */
  width: number;
  height: number;
  /** Row pitch of the output in bytes (a multiple of 4, ≥ 4·width; copyBufferToTexture needs 256). */
  bytesPerRow: number;
  /** 'truncate' is the reference (NERCO.md §8); 'nearest' is floor(v + 0.5), an option. */
  rounding: 'truncate' | 'nearest';
  format: Rgba8Format;
  /**
   * Where to write (usage must include STORAGE; at least bytesPerRow·(height−1) + 4·width bytes).
   * Default: a new buffer with usage STORAGE | COPY_SRC that the caller owns and must destroy.
   */
  output?: GPUBuffer;
}

/**
 * fake_B [3, H, W] → RGBA8 texels (alpha 255) for copyBufferToTexture, per NERCO.md §8:
 * v = f32(f32(a + 1)·127.5), then trunc(v) or floor(f32(v + 0.5)), clamped to [0, 255], NaN → 0.
 * Returns opts.output, or a new buffer the caller must destroy. Row padding bytes are not written.
 */
export async function unpackImage(rec: Recorder, fakeB: GpuTensor, opts: UnpackImageOptions, label = 'unpackImage'): Promise<GPUBuffer> {
  const [c, h, w] = shape3(fakeB, label);
  if (c !== 3) throw new InvalidArgumentError(`${label}: expected 3 channels, ${fakeB.label} is [${fakeB.shape.join(', ')}]`);
  const { width, height, bytesPerRow, rounding, format } = opts;
  requireDim(width, 'width', label);
  requireDim(height, 'height', label);
  if (width > w || height > h) throw new InvalidArgumentError(`${label}: crop ${width}×${height} exceeds the tensor's ${w}×${h}`);
  requireRowPitch(bytesPerRow, width, 4, label);
  checkRounding(rounding, label);
  checkRgba8Format(format, label);
  const needed = bytesPerRow * (height - 1) + 4 * width;
  const k = await rec.kernel({ shader: 'unpack_image', defines: { ROUNDING: rounding === 'nearest' ? 1 : 0, BGRA: format === 'bgra8unorm' } });
  let output = opts.output;
  if (output) {
    if (output.size < needed) throw new InvalidArgumentError(`${label}: output buffer holds ${output.size} bytes, needs ${needed}`);
    if ((output.usage & BufferUsage.STORAGE) === 0) throw new InvalidArgumentError(`${label}: output buffer lacks STORAGE usage`);
  } else {
    rec.runtime.checkAlive();
    output = rec.runtime.device.createBuffer({ label, size: bytesPerRow * height, usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC });
  }
  rec.dispatch(k, {
    label,
    bindings: { x: fakeB, texels: output },
    uniforms: { width, height, src_width: w, src_height: h, words_per_row: bytesPerRow / 4, one: 1 },
    workgroups: [Math.ceil(width / 16), Math.ceil(height / 16)],
  });
  return output;
}
