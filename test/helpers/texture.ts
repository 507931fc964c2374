import { BufferUsage, MapMode, TextureUsage } from '../../src/runtime/gpu-constants.js';

/** An rgba8unorm texture holding `rgba` (tightly packed rows), usable as enhance()'s input. */
export function uploadRGBA8(device: GPUDevice, w: number, h: number, rgba: Uint8Array): GPUTexture {
  const tex = device.createTexture({ size: [w, h], format: 'rgba8unorm', usage: TextureUsage.COPY_SRC | TextureUsage.COPY_DST | TextureUsage.TEXTURE_BINDING });
  device.queue.writeTexture({ texture: tex }, rgba as Uint8Array<ArrayBuffer>, { bytesPerRow: 4 * w }, [w, h]);
  return tex;
}

/**
 * An 8-bit 4-channel texture's bytes as stored, tightly packed rows. Written here rather than
 * taken from the library (readTexturePixels) so that tests of the library do not read through it.
 */
export async function readRGBA8(device: GPUDevice, tex: GPUTexture): Promise<Uint8Array> {
  const row = Math.ceil((tex.width * 4) / 256) * 256;
  const buf = device.createBuffer({ size: row * tex.height, usage: BufferUsage.COPY_DST | BufferUsage.MAP_READ });
  try {
    const enc = device.createCommandEncoder();
    enc.copyTextureToBuffer({ texture: tex }, { buffer: buf, bytesPerRow: row }, [tex.width, tex.height]);
    device.queue.submit([enc.finish()]);
    await buf.mapAsync(MapMode.READ);
    const mapped = new Uint8Array(buf.getMappedRange());
    const out = new Uint8Array(tex.width * tex.height * 4);
    for (let y = 0; y < tex.height; y++) out.set(mapped.subarray(y * row, y * row + tex.width * 4), y * tex.width * 4);
    return out;
  } finally {
    buf.destroy();
  }
}
