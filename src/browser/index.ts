/// <reference types="@webgpu/types" preserve="true" />
// Image sources in, textures out, on the caller's device: the browser-facing layer (it also runs
// in Node for GPUTexture and RGBA-pixel inputs).
export { enhance, type EnhanceOptions } from './enhance.js';
export { edges, type EdgeKind, type EdgesOptions } from './edges.js';
export { textureFromSource, sourceSize, decodeImage, MODEL_INPUT_FORMATS, type ImageSource, type RGBAPixels, type SourceTexture, type DecodeImageOptions } from './sources.js';
export { drawToCanvas, toImageBitmap, readTexturePixels, textureToBlob, type DeviceLike, type HostPixels, type DrawToCanvasOptions, type EncodeImageOptions } from './display.js';
export { weightsToSafetensors, type ToSafetensorsOptions } from './convert.js';
