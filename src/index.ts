// nerco-webgpu: NeRCo low-light enhancement in hand-written WebGPU kernels.
export { loadNeRCo, resolveWeights, type WeightsSource, type LoadOptions } from './nerco/load.js';
export { NeRCoModel, type ForwardResult, type TextureEnhanceOptions, type EnhanceTextureOptions } from './nerco/model.js';
export { enhanceImage, enhanceRGBA, type EnhanceImageOptions, type EnhancedImage } from './nerco/enhance-image.js';
export type { ForwardOptions, Precision } from './nerco/forward.js';
export { parseNeRCoWeights, type NeRCoWeights } from './nerco/load-weights.js';
export type { GAConfig, PreConfig, HConfig } from './nerco/architecture.js';
export { INPUT_LUT, prepareInput, fitImage, networkSizePad, networkSizeResize, pillowBicubicResize, type FitMode } from './nerco/preprocess.js';
export { fakeBToRGB8, type OutputRounding } from './nerco/postprocess.js';
export type { RGBImage } from './nerco/rgb-image.js';
export { psnr, ssim } from './nerco/metrics.js';
export { Runtime } from './runtime/runtime.js';
export { acquireDevice, releaseNodeGPU, type AcquireDeviceOptions } from './runtime/device.js';
export * from './browser/index.js';
export * from './errors.js';
