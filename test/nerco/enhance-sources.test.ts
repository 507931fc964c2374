/**
 * The source/texture layer (src/browser) on Node's Dawn: the paths that need no DOM — RGBA pixels,
 * textures with and without COPY_SRC, rgba8/bgra8 outputs, edge views — checked against the
 * model's own CHW pass, which is checked against the CPU reference here too. The DOM sources are
 * covered by test/browser.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, edges, enhance, readTexturePixels, textureFromSource } from '../../src/browser/index.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { NeRCoModel } from '../../src/nerco/model.js';
import { fakeBToRGB8 } from '../../src/nerco/postprocess.js';
import { INPUT_LUT } from '../../src/nerco/preprocess.js';
import { TextureUsage } from '../../src/runtime/gpu-constants.js';
import { releaseNodeGPU } from '../../src/runtime/device.js';
import { makeRng } from '../helpers/random.js';
import { tinyWeights } from '../helpers/tiny-model.js';
import * as ref from '../reference/edges.js';
import { nercoForwardCPU } from '../reference/nerco.js';

let model: NeRCoModel;
beforeAll(async () => {
  model = await NeRCoModel.create(tinyWeights(3));
});
afterAll(() => {
  model?.destroy();
  releaseNodeGPU();
});

/** A dark-ish random RGBA image with varying alpha (alpha must not affect anything). */
function randomPixels(width: number, height: number, seed: number): { width: number; height: number; data: Uint8ClampedArray } {
  const rng = makeRng(seed);
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < data.length; i++) data[i] = (i & 3) === 3 ? Math.floor(rng() * 256) : Math.floor(rng() * rng() * 256);
  return { width, height, data };
}

/** real_A [3, H, W] of RGBA bytes through the §3.3 table. */
function realA(p: { width: number; height: number; data: Uint8ClampedArray }): Float32Array {
  const n = p.width * p.height;
  const out = new Float32Array(3 * n);
  for (let k = 0; k < n; k++) for (let c = 0; c < 3; c++) out[c * n + k] = INPUT_LUT[p.data[4 * k + c]!]!;
  return out;
}

function rgbOf(data: Uint8ClampedArray): Uint8Array {
  const out = new Uint8Array((data.length / 4) * 3);
  for (let k = 0; k < data.length / 4; k++) for (let c = 0; c < 3; c++) out[3 * k + c] = data[4 * k + c]!;
  return out;
}

function countOver(a: ArrayLike<number>, b: ArrayLike<number>, tol: number): number {
  expect(a.length).toBe(b.length);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i]! - b[i]!) > tol) n++;
  return n;
}

describe('enhance(model, source)', () => {
  // A network-sized image (multiple of 4), so the texture path pads nothing and must equal the CHW
  // pass quantised on the host: 0 bytes off by more than 1 (the GPU and host roundings of the same
  // f32 agree except where fake_B differs in the last ulp at a .5 boundary).
  const pixels = randomPixels(20, 12, 7);
  let expected: Uint8Array;
  beforeAll(async () => {
    const { fakeB } = await model.runCHW(realA(pixels), 12, 20);
    expected = fakeBToRGB8(fakeB, 20, 12, 'nearest');
  });

  it('the CHW pass the tests below compare with matches the float64 CPU reference (±1)', () => {
    const wt = tinyWeights(3);
    const { fakeB } = nercoForwardCPU({ ga: wt.ga.tensors, pre: wt.pre.tensors, h: wt.h.tensors }, realA(pixels), 12, 20);
    expect(countOver(expected, fakeBToRGB8(fakeB, 20, 12, 'nearest'), 1)).toBe(0);
  });

  it('RGBA pixels → rgba8unorm texture equal to the CHW pass (±1, ≥ 99 % exact), alpha 255', async () => {
    const out = await enhance(model, pixels);
    expect([out.width, out.height, out.format]).toEqual([20, 12, 'rgba8unorm']);
    const got = await readTexturePixels(model, out);
    out.destroy();
    expect(countOver(rgbOf(got.data), expected, 1)).toBe(0);
    expect(countOver(rgbOf(got.data), expected, 0)).toBeLessThanOrEqual(expected.length / 100);
    for (let k = 3; k < got.data.length; k += 4) if (got.data[k] !== 255) expect.fail(`alpha ${got.data[k]} at ${k}`);
  });

  it('a bgra8unorm output holds the same pixels', async () => {
    const a = await enhance(model, pixels);
    const b = await enhance(model, pixels, { format: 'bgra8unorm' });
    expect(b.format).toBe('bgra8unorm');
    const [pa, pb] = [await readTexturePixels(model, a), await readTexturePixels(model, b)];
    a.destroy();
    b.destroy();
    expect(countOver(pa.data, pb.data, 0)).toBe(0);
  });

  it('a texture without COPY_SRC (render target) is copied by a render pass and gives the same pixels', async () => {
    const direct = await enhance(model, pixels);
    const want = (await readTexturePixels(model, direct)).data;
    direct.destroy();
    const device = model.device;
    for (const format of ['bgra8unorm', 'rgba32float'] as const) {
      const tex = device.createTexture({ size: [20, 12], format, usage: TextureUsage.TEXTURE_BINDING | TextureUsage.RENDER_ATTACHMENT | TextureUsage.COPY_DST });
      if (format === 'bgra8unorm') {
        const bgra = new Uint8Array(pixels.data.length);
        for (let i = 0; i < bgra.length; i += 4) bgra.set([pixels.data[i + 2]!, pixels.data[i + 1]!, pixels.data[i]!, pixels.data[i + 3]!], i);
        device.queue.writeTexture({ texture: tex }, bgra, { bytesPerRow: 80 }, [20, 12]);
      } else {
        // f32(k/255) packs to f32(2·f32(k/255) − 1), which equals the §3.3 table bit for bit.
        const floats = Float32Array.from(pixels.data, (v) => v / 255);
        device.queue.writeTexture({ texture: tex }, floats, { bytesPerRow: 320 }, [20, 12]);
      }
      const out = await enhance(model, tex);
      const got = (await readTexturePixels(model, out)).data;
      out.destroy();
      tex.destroy();
      expect(countOver(got, want, 0), format).toBe(0);
    }
  });

  it('rejects unsupported sources and formats with InvalidArgumentError', async () => {
    // Node has no createImageBitmap: the browser decoder says where Node's is.
    expect(() => decodeImage(new Blob([]))).toThrow(/from 'nerco-webgpu\/node'/);
    await expect(enhance(model, { width: 2, height: 2, data: new Uint8ClampedArray(15) })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(enhance(model, {} as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    const srgb = model.device.createTexture({ size: [4, 4], format: 'rgba8unorm-srgb', usage: TextureUsage.COPY_SRC | TextureUsage.TEXTURE_BINDING });
    await expect(textureFromSource(model.device, srgb)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(readTexturePixels(model, srgb)).rejects.toThrow(/cannot read a rgba8unorm-srgb texture/);
    srgb.destroy();
    const volume = model.device.createTexture({ size: [4, 4, 2], dimension: '3d', format: 'rgba8unorm', usage: TextureUsage.COPY_SRC | TextureUsage.TEXTURE_BINDING });
    await expect(model.enhance(volume)).rejects.toThrow(/the input texture must be 2d with one sample \(got 3d, 1 samples\)/);
    volume.destroy();
    const integer = model.device.createTexture({ size: [4, 4], format: 'rgba8uint', usage: TextureUsage.COPY_SRC | TextureUsage.TEXTURE_BINDING });
    await expect(readTexturePixels(model, integer)).rejects.toThrow(/cannot read a rgba8uint texture/);
    integer.destroy();
  });
});

describe('edges(target, source, kind)', () => {
  const shapes: [number, number][] = [[1, 1], [2, 2], [7, 5], [33, 18]];
  // The view is round(clamp(|e|·gain, 0, 1)·255) of an e that matches the reference within a few
  // f32 ulps: a byte may differ by one where |e|·gain·255 sits at a .5 boundary, never more.
  for (const [w, h] of shapes) {
    for (const kind of ['sobel', 'laplacian'] as const) {
      if (kind === 'laplacian' && (w < 2 || h < 2)) continue;
      it(`${kind} ${w}×${h} matches the CPU reference (±1 per byte)`, async () => {
        const p = randomPixels(w, h, w * 31 + h);
        const gain = 3;
        const out = await edges(model, p, kind, { gain });
        const got = (await readTexturePixels(model, out)).data;
        out.destroy();
        const x = realA(p);
        const e = kind === 'sobel' ? ref.sobel(x, [3, h, w]) : ref.laplacian(x, [3, h, w], 4);
        const want = new Uint8ClampedArray(w * h * 4);
        const n = w * h;
        for (let k = 0; k < n; k++) {
          for (let c = 0; c < 3; c++) {
            const v = kind === 'sobel' ? e[k]! : e[c * n + k]!;
            want[4 * k + c] = Math.floor(Math.min(1, Math.abs(v) * gain) * 255 + 0.5);
          }
          want[4 * k + 3] = 255;
        }
        expect(countOver(got, want, 1)).toBe(0);
      });
    }
  }

  it('8-neighbour Laplacian and a bare GPUDevice target work too', async () => {
    const p = randomPixels(9, 6, 5);
    const out = await edges(model.device, p, 'laplacian', { neighbours: 8, gain: 1 });
    const got = (await readTexturePixels(model.device, out)).data;
    out.destroy();
    const e = ref.laplacian(realA(p), [3, 6, 9], 8);
    const want = new Uint8ClampedArray(got.length);
    for (let k = 0; k < 54; k++) {
      for (let c = 0; c < 3; c++) want[4 * k + c] = Math.floor(Math.min(1, Math.abs(e[c * 54 + k]!)) * 255 + 0.5);
      want[4 * k + 3] = 255;
    }
    expect(countOver(got, want, 1)).toBe(0);
  });

  it('rejects a Laplacian of a 1-pixel-wide image, an unknown kind, a bad gain or neighbour count', async () => {
    await expect(edges(model, randomPixels(1, 4, 1), 'laplacian')).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(edges(model, randomPixels(4, 4, 1), 'canny' as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(edges(model, randomPixels(4, 4, 1), 'sobel', { gain: 0 })).rejects.toThrow(/edges: gain must be a positive number, got 0/);
    await expect(edges(model, randomPixels(4, 4, 1), 'laplacian', { neighbours: 6 as never })).rejects.toThrow(/edges: neighbours must be 4 or 8, got 6/);
  });
});
