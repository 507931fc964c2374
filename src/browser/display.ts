/**
 * Getting a result texture in front of a user: onto a canvas (WebGPU context, no CPU round trip),
 * into an ImageBitmap, into host pixels, or into an encoded image file.
 */
import { GpuKernelError, InvalidArgumentError } from '../errors.js';
import { deviceLostError, lossWithin } from '../runtime/device.js';
import { BufferUsage, MapMode, TextureUsage } from '../runtime/gpu-constants.js';
import { NeRCoModel } from '../nerco/model.js';
import { recordBlit } from './blit.js';
import { copyRowPitch } from '../kernels/image.js';

/** The model (its device) or a device: where the texture lives. */
export type DeviceLike = NeRCoModel | GPUDevice;

function deviceOf(d: DeviceLike): GPUDevice {
  return d instanceof NeRCoModel ? d.device : d;
}

/**
 * Colour formats a render pass samples as floats without changing them (no sRGB decoding), so
 * readTexturePixels can blit them to rgba8unorm.
 */
const BLIT_READABLE: ReadonlySet<GPUTextureFormat> = new Set<GPUTextureFormat>([
  'rgba8unorm', 'bgra8unorm', 'rgba16float', 'rgba32float', 'rgb10a2unorm',
  'r8unorm', 'rg8unorm', 'r16float', 'rg16float', 'r32float', 'rg32float', 'rg11b10ufloat',
]);

/** Host RGBA pixels: an ImageData where the platform has one. */
export type HostPixels = ImageData | { readonly width: number; readonly height: number; readonly data: Uint8ClampedArray<ArrayBuffer> };

/**
 * Copies an 8-bit texture (rgba8unorm or bgra8unorm with COPY_SRC; any other readable texture
 * with TEXTURE_BINDING is converted to rgba8unorm on the GPU first) back to the host as RGBA
 * bytes: an ImageData where the platform has one, else `{ width, height, data }`.
 */
export async function readTexturePixels(target: DeviceLike, texture: GPUTexture): Promise<HostPixels> {
  if (target instanceof NeRCoModel) target.runtime.checkAlive();
  const device = deviceOf(target);
  const { width, height } = texture;
  const direct = (texture.format === 'rgba8unorm' || texture.format === 'bgra8unorm') && (texture.usage & TextureUsage.COPY_SRC) !== 0;
  // The blit samples the texture as floats: integer, depth and compressed formats cannot be read so.
  if (!direct && !BLIT_READABLE.has(texture.format)) {
    throw new InvalidArgumentError(`readTexturePixels: cannot read a ${texture.format} texture (readable: ${[...BLIT_READABLE].join(', ')})`);
  }
  const encoder = device.createCommandEncoder({ label: 'nerco-webgpu read pixels' });
  let source = texture;
  let temporary: GPUTexture | null = null;
  let staging: GPUBuffer | null = null;
  const bytesPerRow = copyRowPitch(width, 4);
  try {
    if (!direct) {
      temporary = device.createTexture({ label: 'nerco-webgpu read pixels', size: [width, height], format: 'rgba8unorm', usage: TextureUsage.COPY_SRC | TextureUsage.RENDER_ATTACHMENT });
      recordBlit(device, encoder, texture, temporary, 'nerco-webgpu read pixels');
      source = temporary;
    }
    staging = device.createBuffer({ label: 'nerco-webgpu read pixels', size: bytesPerRow * height, usage: BufferUsage.COPY_DST | BufferUsage.MAP_READ });
    encoder.copyTextureToBuffer({ texture: source }, { buffer: staging, bytesPerRow, rowsPerImage: height }, [width, height]);
    device.queue.submit([encoder.finish()]);
    try {
      await staging.mapAsync(MapMode.READ);
    } catch (e) {
      // A lost device rejects the map as well: say that, rather than blame the read.
      const lost = await lossWithin(device, 100);
      if (lost) throw deviceLostError(lost, e);
      throw new GpuKernelError('GPU_VALIDATION', 'read pixels', `could not map the read-back buffer (${(e as Error).message})`);
    }
    const rows = new Uint8Array(staging.getMappedRange());
    const data = new Uint8ClampedArray(width * height * 4);
    const bgra = source.format === 'bgra8unorm';
    for (let y = 0; y < height; y++) {
      const row = rows.subarray(y * bytesPerRow, y * bytesPerRow + width * 4);
      const out = y * width * 4;
      if (!bgra) data.set(row, out);
      else {
        for (let i = 0; i < width * 4; i += 4) {
          data[out + i] = row[i + 2]!;
          data[out + i + 1] = row[i + 1]!;
          data[out + i + 2] = row[i]!;
          data[out + i + 3] = row[i + 3]!;
        }
      }
    }
    staging.unmap();
    return typeof ImageData === 'function' ? new ImageData(data, width, height) : { width, height, data };
  } finally {
    staging?.destroy();
    temporary?.destroy();
  }
}

export interface DrawToCanvasOptions {
  /**
   * Resize the canvas's drawing buffer to the texture (default true). With false the canvas must
   * already have the texture's size.
   */
  readonly resize?: boolean;
}

/**
 * Draws `texture` (TEXTURE_BINDING) onto a canvas through a WebGPU context configured for the
 * texture's device: texel for texel, nothing leaves the GPU. The canvas must not already have a
 * 2d or webgl context (a canvas keeps its first context type). Works with OffscreenCanvas in workers.
 */
export function drawToCanvas(target: DeviceLike, texture: GPUTexture, canvas: HTMLCanvasElement | OffscreenCanvas, opts: DrawToCanvasOptions = {}): void {
  const device = deviceOf(target);
  if (opts.resize ?? true) {
    if (canvas.width !== texture.width) canvas.width = texture.width;
    if (canvas.height !== texture.height) canvas.height = texture.height;
  } else if (canvas.width !== texture.width || canvas.height !== texture.height) {
    throw new InvalidArgumentError(`drawToCanvas: the canvas is ${canvas.width}×${canvas.height}, the texture ${texture.width}×${texture.height}`);
  }
  const context = canvas.getContext('webgpu') as GPUCanvasContext | null;
  if (!context) throw new InvalidArgumentError('drawToCanvas: this canvas has no WebGPU context (it may already have a 2d or webgl one)');
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  const format = gpu?.getPreferredCanvasFormat() ?? 'bgra8unorm';
  context.configure({ device, format, alphaMode: 'opaque' });
  const encoder = device.createCommandEncoder({ label: 'nerco-webgpu draw to canvas' });
  recordBlit(device, encoder, texture, context.getCurrentTexture(), 'nerco-webgpu draw to canvas');
  device.queue.submit([encoder.finish()]);
}

/**
 * An ImageBitmap of `texture` for display (e.g. `ctx.drawImage`, `bitmaprenderer`), made by
 * drawing into an OffscreenCanvas's WebGPU context: no CPU round trip. Works in workers.
 */
export async function toImageBitmap(target: DeviceLike, texture: GPUTexture): Promise<ImageBitmap> {
  if (typeof OffscreenCanvas !== 'function') throw new InvalidArgumentError('toImageBitmap needs OffscreenCanvas (a browser or a worker)');
  const canvas = new OffscreenCanvas(texture.width, texture.height);
  drawToCanvas(target, texture, canvas);
  await deviceOf(target).queue.onSubmittedWorkDone();
  return canvas.transferToImageBitmap();
}

export interface EncodeImageOptions {
  /** MIME type: 'image/png' (default, lossless), 'image/jpeg' or 'image/webp'. */
  readonly type?: string;
  /** 0..1 for lossy types. */
  readonly quality?: number;
}

/** Encodes `texture` as an image file (PNG by default), e.g. for a download link. */
export async function textureToBlob(target: DeviceLike, texture: GPUTexture, opts: EncodeImageOptions = {}): Promise<Blob> {
  if (typeof OffscreenCanvas !== 'function') throw new InvalidArgumentError('textureToBlob needs OffscreenCanvas (a browser or a worker)');
  const pixels = await readTexturePixels(target, texture);
  const canvas = new OffscreenCanvas(pixels.width, pixels.height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new InvalidArgumentError('textureToBlob: no 2d context available');
  // Alpha is 255 in every texel we produce, so the canvas's premultiplication loses nothing.
  ctx.putImageData(pixels instanceof ImageData ? pixels : new ImageData(pixels.data, pixels.width, pixels.height), 0, 0);
  return canvas.convertToBlob({ type: opts.type ?? 'image/png', quality: opts.quality });
}
