import type { NeRCoModel } from './model.js';
import { fakeBToRGB8, rgbaToRGB, rgbToRGBA, type OutputRounding } from './postprocess.js';
import { MIN_NETWORK_SIDE, networkSizePad, networkSizeResize, prepareInput, type FitMode } from './preprocess.js';
import type { RGBImage } from './rgb-image.js';

export interface EnhanceImageOptions {
  /** 'pad' (default): same size as the input; 'resize': the reference test.py behaviour (NERCO.md §3.2). */
  readonly fit?: FitMode;
  /** Default: 'truncate' with fit 'resize' (the reference), 'nearest' with fit 'pad'. */
  readonly rounding?: OutputRounding;
}

export interface EnhancedImage {
  readonly image: RGBImage;
  /** The network output fake_B for the returned pixels: float32 [3, height, width], in [-1, 1]. */
  readonly fakeB: Float32Array;
}

function cropCHW(chw: Float32Array, w: number, h: number, cw: number, ch: number): Float32Array {
  if (cw === w && ch === h) return chw;
  const out = new Float32Array(3 * cw * ch);
  for (let c = 0; c < 3; c++) for (let y = 0; y < ch; y++) out.set(chw.subarray((c * h + y) * w, (c * h + y) * w + cw), (c * ch + y) * cw);
  return out;
}

/**
 * Throws the model's LimitError when an image of width×height, brought to network size by `fit`,
 * is too large for the device (sizes too small for the network are left to `prepareInput`, which
 * explains them). Cheap: meant to run as soon as an image's size is known, before decoding it.
 */
export function checkImageFits(model: NeRCoModel, width: number, height: number, fit: FitMode = 'pad'): void {
  const net = fit === 'resize' ? networkSizeResize(width, height) : networkSizePad(width, height);
  if (net.w >= MIN_NETWORK_SIDE && net.h >= MIN_NETWORK_SIDE) model.checkNetworkSize(net.w, net.h);
}

/**
 * Host pixels in, host pixels out, with the exact pre/post-processing of NERCO.md §3 and §8.
 * (For pixels already on the GPU use `model.enhance(texture)`, which never leaves the device.)
 */
export async function enhanceImage(model: NeRCoModel, image: RGBImage, opts: EnhanceImageOptions = {}): Promise<EnhancedImage> {
  const fit = opts.fit ?? 'pad';
  const rounding = opts.rounding ?? (fit === 'resize' ? 'truncate' : 'nearest');
  checkImageFits(model, image.width, image.height, fit);
  const input = prepareInput(image.data, image.width, image.height, fit);
  const { fakeB } = await model.runCHW(input.chw, input.netH, input.netW);
  const { w, h } = input.crop;
  return {
    image: { width: w, height: h, data: fakeBToRGB8(fakeB, input.netW, input.netH, rounding, input.crop) },
    fakeB: cropCHW(fakeB, input.netW, input.netH, w, h),
  };
}

/** RGBA bytes (alpha ignored, as `convert('RGB')` does) → enhanced RGBA bytes (alpha 255). */
export async function enhanceRGBA(model: NeRCoModel, rgba: Uint8Array | Uint8ClampedArray, width: number, height: number, opts: EnhanceImageOptions = {}): Promise<{ width: number; height: number; data: Uint8ClampedArray }> {
  const { image } = await enhanceImage(model, { width, height, data: rgbaToRGB(rgba) }, opts);
  return { width: image.width, height: image.height, data: rgbToRGBA(image.data) };
}
