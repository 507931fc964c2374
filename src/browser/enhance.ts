import type { EnhanceTextureOptions, NeRCoModel } from '../nerco/model.js';
import { textureFromSource, type ImageSource } from './sources.js';

export type EnhanceOptions = EnhanceTextureOptions;

/**
 * Enhances any image source on the model's device and returns a new texture of the same size
 * (rgba8unorm by default, or `opts.format`; usage COPY_SRC | COPY_DST | TEXTURE_BINDING |
 * RENDER_ATTACHMENT) that the caller owns and destroys.
 *
 * To get the result on your own device, load the model with it: `loadNeRCo(weights, { device })`.
 * A GPUTexture input must belong to that device; it is read in place when it has COPY_SRC usage
 * (else copied once by a render pass, which needs TEXTURE_BINDING). Other sources are uploaded
 * with copyExternalImageToTexture / writeTexture into a temporary texture destroyed afterwards.
 */
export async function enhance(model: NeRCoModel, input: ImageSource, opts: EnhanceOptions = {}): Promise<GPUTexture> {
  const src = await textureFromSource(model.device, input);
  try {
    return await model.enhance(src.texture, opts);
  } finally {
    // Destroying after submit is safe: WebGPU frees it once the queued work that reads it is done.
    if (src.owned) src.texture.destroy();
  }
}
