/**
 * Image sources → a texture the model can read (COPY_SRC, one of its four input formats), on the
 * model's device, without a CPU round trip where the platform allows it:
 * - a GPUTexture with COPY_SRC is used as it is; one without COPY_SRC (but TEXTURE_BINDING) is
 *   first copied by a render pass;
 * - ImageBitmap, HTMLImageElement, HTMLCanvasElement, OffscreenCanvas, HTMLVideoElement and
 *   VideoFrame go through `queue.copyExternalImageToTexture` (unpremultiplied, sRGB, no flip);
 * - ImageData (or any `{ width, height, data }` of RGBA bytes) is written with `queue.writeTexture`,
 *   byte for byte.
 *
 * Exactness (NERCO.md §3.1): the reference uses the stored pixel values, with no colour
 * management, EXIF rotation or alpha premultiplication. ImageData and textures are exact. For
 * files, decode with `decodeImage` (createImageBitmap with colorSpaceConversion 'none',
 * premultiplyAlpha 'none', imageOrientation 'none'); an <img> element may be colour-managed by
 * the browser, and a VideoFrame is converted from YUV by the browser.
 */
import { InvalidArgumentError } from '../errors.js';
import { TextureUsage } from '../runtime/gpu-constants.js';
import { readableFormatFor, recordBlit } from './blit.js';
import { BYTES_PER_TEXEL, type ImageFormat } from '../kernels/image.js';

/** RGBA bytes, row-major, straight (not premultiplied) alpha: ImageData or a plain object. */
export interface RGBAPixels {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array | Uint8ClampedArray;
}

/** Everything `enhance`, `edges` and `textureFromSource` accept. */
export type ImageSource =
  | GPUTexture
  | ImageBitmap
  | HTMLImageElement
  | HTMLCanvasElement
  | HTMLVideoElement
  | OffscreenCanvas
  | VideoFrame
  | ImageData
  | RGBAPixels;

/** Texture formats the model reads directly. */
export const MODEL_INPUT_FORMATS: readonly GPUTextureFormat[] = Object.keys(BYTES_PER_TEXEL) as ImageFormat[];

export interface SourceTexture {
  readonly texture: GPUTexture;
  /** True when the texture was made here: the caller of textureFromSource destroys it when done. */
  readonly owned: boolean;
}

const isA = <T>(ctor: string, v: unknown): v is T => {
  const c = (globalThis as Record<string, unknown>)[ctor];
  return typeof c === 'function' && v instanceof (c as new () => unknown);
};

/** Duck-typed, so that textures from Node's Dawn and from any realm are recognised. */
export function isGPUTexture(v: unknown): v is GPUTexture {
  return typeof v === 'object' && v !== null && typeof (v as GPUTexture).createView === 'function'
    && typeof (v as GPUTexture).format === 'string' && typeof (v as GPUTexture).usage === 'number';
}

function isRGBAPixels(v: unknown): v is RGBAPixels {
  if (typeof v !== 'object' || v === null) return false;
  const p = v as RGBAPixels;
  return typeof p.width === 'number' && typeof p.height === 'number' && (p.data instanceof Uint8Array || p.data instanceof Uint8ClampedArray);
}

type ExternalSource = Exclude<ImageSource, GPUTexture | RGBAPixels>;

/** The pixel size copyExternalImageToTexture copies for an external source. */
function externalSize(source: ExternalSource): [number, number] | null {
  if (isA<ImageBitmap>('ImageBitmap', source)) return [source.width, source.height];
  if (isA<HTMLImageElement>('HTMLImageElement', source)) {
    if (!source.complete || source.naturalWidth === 0) throw new InvalidArgumentError('the <img> has not finished loading (or failed to): await img.decode() first');
    return [source.naturalWidth, source.naturalHeight];
  }
  if (isA<HTMLVideoElement>('HTMLVideoElement', source)) {
    if (source.readyState < 2) throw new InvalidArgumentError('the <video> has no current frame yet (readyState < HAVE_CURRENT_DATA)');
    return [source.videoWidth, source.videoHeight];
  }
  if (isA<VideoFrame>('VideoFrame', source)) return [source.displayWidth, source.displayHeight];
  if (isA<HTMLCanvasElement>('HTMLCanvasElement', source) || isA<OffscreenCanvas>('OffscreenCanvas', source)) return [source.width, source.height];
  return null;
}

/** Width and height of any accepted source; throws InvalidArgumentError for anything else. */
export function sourceSize(source: ImageSource): { width: number; height: number } {
  if (isGPUTexture(source)) return { width: source.width, height: source.height };
  const ext = externalSize(source as ExternalSource);
  if (ext) return { width: ext[0], height: ext[1] };
  if (isRGBAPixels(source)) return { width: source.width, height: source.height };
  throw new InvalidArgumentError(
    'image source: expected a GPUTexture, ImageBitmap, HTMLImageElement, HTMLCanvasElement, HTMLVideoElement, OffscreenCanvas, VideoFrame or ImageData');
}

function checkSize(width: number, height: number, device: GPUDevice): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new InvalidArgumentError(`image source: size ${width}×${height} is empty or not whole pixels`);
  }
  const max = device.limits.maxTextureDimension2D;
  if (width > max || height > max) throw new InvalidArgumentError(`image source: ${width}×${height} exceeds this device's maxTextureDimension2D ${max}`);
}

function copyExternalNow(device: GPUDevice, source: GPUCopyExternalImageSource, texture: GPUTexture): void {
  device.queue.copyExternalImageToTexture(
    { source, flipY: false },
    { texture, premultipliedAlpha: false, colorSpace: 'srgb' },
    [texture.width, texture.height],
  );
}

/**
 * copyExternalImageToTexture, GPU to GPU. Some browser configurations cannot import video frames
 * that way: headless Chromium on SwiftShader throws "Failed to copy content from video element",
 * or (with other compositor flags) raises an asynchronous validation error and leaves the texture
 * empty. Every copy is therefore made inside an error scope (pushed and popped with no await in
 * between, so it nests correctly inside any scope the model has open); a video source that fails
 * goes through createImageBitmap first, any other source's failure is an error.
 */
async function copyExternal(device: GPUDevice, source: GPUCopyExternalImageSource, texture: GPUTexture): Promise<void> {
  const isVideo = isA<VideoFrame>('VideoFrame', source) || isA<HTMLVideoElement>('HTMLVideoElement', source);
  const failure = await scopedCopy(device, source, texture);
  if (!failure) return;
  if (!isVideo) throw new InvalidArgumentError(`image source: copyExternalImageToTexture failed: ${failure}`);
  if (typeof createImageBitmap !== 'function') throw new InvalidArgumentError('image source: this video frame could not be copied to a texture');
  const bitmap = await createImageBitmap(source as ImageBitmapSource, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  try {
    const again = await scopedCopy(device, bitmap, texture);
    if (again) throw new InvalidArgumentError(`image source: copyExternalImageToTexture failed: ${again}`);
  } finally {
    bitmap.close();
  }
}

/** One copyExternalImageToTexture in its own validation scope: the failure's message, or null. */
async function scopedCopy(device: GPUDevice, source: GPUCopyExternalImageSource, texture: GPUTexture): Promise<string | null> {
  return (await inValidationScope(device, () => copyExternalNow(device, source, texture)))?.message ?? null;
}

/**
 * Runs `work` (synchronous GPU calls) in its own validation scope, pushed and popped with no await
 * between, so it nests inside any scope the model has open. Resolves to what went wrong (the
 * error `work` threw, or the device's report), or null.
 */
async function inValidationScope(device: GPUDevice, work: () => void): Promise<{ readonly message: string } | null> {
  device.pushErrorScope('validation');
  let thrown: Error | null = null;
  try {
    work();
  } catch (e) {
    thrown = e as Error;
  }
  const reported = await device.popErrorScope();
  return thrown ?? reported;
}

const UPLOAD_USAGE = TextureUsage.COPY_SRC | TextureUsage.COPY_DST | TextureUsage.TEXTURE_BINDING | TextureUsage.RENDER_ATTACHMENT;

/**
 * Puts `source` on `device` as a texture the model can read. A texture passed in is returned as
 * it is when it is readable (owned: false); otherwise a new texture is made (owned: true) that the
 * caller destroys, and the work that fills it is on the device's queue before this resolves, so
 * any later submission sees it.
 */
export async function textureFromSource(device: GPUDevice, source: ImageSource, label = 'nerco-webgpu input'): Promise<SourceTexture> {
  if (isGPUTexture(source)) {
    if (!MODEL_INPUT_FORMATS.includes(source.format)) {
      throw new InvalidArgumentError(`input texture format ${source.format} is not supported (use ${MODEL_INPUT_FORMATS.join(', ')})`);
    }
    if (source.usage & TextureUsage.COPY_SRC) return { texture: source, owned: false };
    const copy = device.createTexture({ label, size: [source.width, source.height], format: readableFormatFor(source.format), usage: UPLOAD_USAGE });
    // A failed copy is an error here, not an empty texture enhanced later.
    const failure = await inValidationScope(device, () => {
      const encoder = device.createCommandEncoder({ label });
      recordBlit(device, encoder, source, copy, label);
      device.queue.submit([encoder.finish()]);
    });
    if (failure) {
      copy.destroy();
      throw failure instanceof InvalidArgumentError ? failure : new InvalidArgumentError(`${label}: copying the ${source.format} texture failed: ${failure.message}`);
    }
    return { texture: copy, owned: true };
  }

  const ext = externalSize(source as ExternalSource);
  if (ext) {
    const [width, height] = ext;
    checkSize(width, height, device);
    const texture = device.createTexture({ label, size: [width, height], format: 'rgba8unorm', usage: UPLOAD_USAGE });
    try {
      await copyExternal(device, source as GPUCopyExternalImageSource, texture);
    } catch (e) {
      texture.destroy();
      throw e;
    }
    return { texture, owned: true };
  }

  if (isRGBAPixels(source)) {
    const { width, height, data } = source;
    checkSize(width, height, device);
    if (data.length !== width * height * 4) throw new InvalidArgumentError(`image source: ${data.length} bytes for ${width}×${height} RGBA (expected ${width * height * 4})`);
    const texture = device.createTexture({ label, size: [width, height], format: 'rgba8unorm', usage: UPLOAD_USAGE });
    device.queue.writeTexture({ texture }, data.buffer as ArrayBuffer, { offset: data.byteOffset, bytesPerRow: width * 4, rowsPerImage: height }, [width, height]);
    return { texture, owned: true };
  }
  sourceSize(source); // throws the descriptive error
  throw new InvalidArgumentError('image source: unsupported');
}

export interface DecodeImageOptions {
  /**
   * Apply the file's EXIF orientation (default false: the reference ignores it, NERCO.md §3.1).
   * Browsers that predate imageOrientation 'none' apply it regardless.
   */
  readonly applyOrientation?: boolean;
}

/**
 * Decodes an image file (Blob/File) to an ImageBitmap holding the stored pixel values: no colour
 * management (colorSpaceConversion 'none'), straight alpha (premultiplyAlpha 'none'), and by
 * default no EXIF rotation: what the reference pre-processing sees (NERCO.md §3.1).
 */
export function decodeImage(blob: Blob, opts: DecodeImageOptions = {}): Promise<ImageBitmap> {
  if (typeof createImageBitmap !== 'function') throw new InvalidArgumentError("decodeImage(blob) needs createImageBitmap (a browser or a worker); in Node, decode files with decodeImageFile / decodeImage(bytes, name) from 'nerco-webgpu/node'");
  return createImageBitmap(blob, {
    colorSpaceConversion: 'none',
    premultiplyAlpha: 'none',
    imageOrientation: opts.applyOrientation ? 'from-image' : 'none',
  });
}
