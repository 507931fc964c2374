/**
 * The browser bundle in Chromium (SwiftShader) with tiny random weights: every input path (textures,
 * ImageBitmap, <img>, canvases, VideoFrame, ImageData), the encoder-embedding API, a Web Worker,
 * the display helpers and the edge views, checked against each other (exactly) and against the
 * float64 CPU reference (±1).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Page } from 'puppeteer-core';
import { fakeBToRGB8 } from '../../src/nerco/postprocess.js';
import { INPUT_LUT, prepareInput } from '../../src/nerco/preprocess.js';
import { tinyWeights } from '../helpers/tiny-model.js';
import * as refEdges from '../reference/edges.js';
import { nercoForwardCPU } from '../reference/nerco.js';
import { launchChromium, type Chromium, bytesFromBase64, evaluateLogged } from './chromium.js';
import { ASSET_URL, IMAGE_RGB, IMAGE_RGBA, TINY_SEED, TINY_WEIGHTS_URL, type TestImage } from './assets.js';

let chromium: Chromium;
let page: Page;

beforeAll(async () => {
  chromium = await launchChromium();
  page = await chromium.open(`${inject('serverUrl')}test/browser/pages/harness.html`, { waitFor: 'window.harnessReady === true' });
  await page.evaluate(async (url) => {
    const { H, nerco } = window as any;
    await H.model('tiny', async () => nerco.loadNeRCo(await H.bytes(url)));
  }, TINY_WEIGHTS_URL);
});

afterAll(async () => {
  await chromium?.close();
});

/** Evaluates in the page; on failure the page's console is appended to the error. */
async function inPage<T, A extends unknown[]>(fn: (...args: A) => Promise<T> | T, ...args: A): Promise<T> {
  return evaluateLogged(chromium, page, fn, ...args);
}

const bytes = bytesFromBase64;

function realA(img: TestImage): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(3 * n);
  for (let k = 0; k < n; k++) for (let c = 0; c < 3; c++) out[c * n + k] = INPUT_LUT[img.data[4 * k + c]!]!;
  return out;
}

function rgb(rgba: Uint8Array): Uint8Array {
  const out = new Uint8Array((rgba.length / 4) * 3);
  for (let k = 0; k < rgba.length / 4; k++) for (let c = 0; c < 3; c++) out[3 * k + c] = rgba[4 * k + c]!;
  return out;
}

function diffStats(a: Uint8Array, b: Uint8Array): { max: number; equal: number } {
  expect(a.length).toBe(b.length);
  let max = 0;
  let equal = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (d > max) max = d;
    if (d === 0) equal++;
  }
  return { max, equal: equal / a.length };
}

/** The page's texture-path result for an image asset: the baseline the other paths must equal. */
async function texturePath(img: TestImage): Promise<Uint8Array> {
  return bytes(await inPage(async (url) => {
    const { H, nerco } = window as any;
    const model = await H.model('tiny');
    const bitmap = await H.decode(url);
    const tex = model.device.createTexture({ size: [bitmap.width, bitmap.height], format: 'rgba8unorm', usage: GPUTextureUsage.COPY_SRC | GPUTextureUsage.COPY_DST | GPUTextureUsage.RENDER_ATTACHMENT });
    model.device.queue.copyExternalImageToTexture({ source: bitmap }, { texture: tex, premultipliedAlpha: false }, [bitmap.width, bitmap.height]);
    const out = await nerco.enhance(model, tex);
    const px = await H.pixels(model, out);
    out.destroy();
    tex.destroy();
    return px;
  }, ASSET_URL + img.name));
}

describe('browser bundle (tiny weights, SwiftShader)', () => {
  let baseline: Uint8Array;
  beforeAll(async () => {
    baseline = await texturePath(IMAGE_RGB);
  });

  it('decodeImage returns the stored bytes: no colour management, straight alpha', async () => {
    for (const img of [IMAGE_RGB, IMAGE_RGBA]) {
      const got = bytes(await inPage(async (url) => {
        const { H } = window as any;
        const bitmap = await H.decode(url);
        // Read through a texture (copyExternalImageToTexture, unpremultiplied): a 2d canvas would premultiply.
        const model = await H.model('tiny');
        const tex = model.device.createTexture({ size: [bitmap.width, bitmap.height], format: 'rgba8unorm', usage: GPUTextureUsage.COPY_SRC | GPUTextureUsage.COPY_DST | GPUTextureUsage.RENDER_ATTACHMENT });
        model.device.queue.copyExternalImageToTexture({ source: bitmap }, { texture: tex, premultipliedAlpha: false }, [bitmap.width, bitmap.height]);
        const px = await H.pixels(model, tex);
        tex.destroy();
        return px;
      }, ASSET_URL + img.name));
      expect(diffStats(got, new Uint8Array(img.data.buffer)).max, img.name).toBe(0);
    }
  });

  it('enhance(texture) matches the float64 CPU reference (±1, ≥ 99 % equal)', () => {
    const w = tinyWeights(TINY_SEED);
    const ref = nercoForwardCPU({ ga: w.ga.tensors, pre: w.pre.tensors, h: w.h.tensors }, realA(IMAGE_RGB), IMAGE_RGB.height, IMAGE_RGB.width);
    const want = fakeBToRGB8(ref.fakeB, IMAGE_RGB.width, IMAGE_RGB.height, 'nearest');
    const s = diffStats(rgb(baseline), want);
    expect(s.max).toBeLessThanOrEqual(1);
    expect(s.equal).toBeGreaterThanOrEqual(0.99);
    for (let k = 3; k < baseline.length; k += 4) if (baseline[k] !== 255) expect.fail(`alpha ${baseline[k]} at texel ${(k - 3) / 4}`);
  });

  it('model.encode records into the caller\'s encoder, submits nothing, and gives the same pixels (rgba8 and bgra8 outputs)', async () => {
    const r = await inPage(async (url) => {
      const { H } = window as any;
      const model = await H.model('tiny');
      const device = model.device;
      const bitmap = await H.decode(url);
      const size = [bitmap.width, bitmap.height];
      const input = device.createTexture({ size, format: 'rgba8unorm', usage: GPUTextureUsage.COPY_SRC | GPUTextureUsage.COPY_DST | GPUTextureUsage.RENDER_ATTACHMENT });
      device.queue.copyExternalImageToTexture({ source: bitmap }, { texture: input }, size);
      const result: Record<string, string> = {};
      for (const format of ['rgba8unorm', 'bgra8unorm']) {
        const output = device.createTexture({ size, format, usage: GPUTextureUsage.COPY_SRC | GPUTextureUsage.COPY_DST | GPUTextureUsage.TEXTURE_BINDING });
        const encoder = device.createCommandEncoder({ label: 'caller frame' });
        await model.encode(encoder, input, output);
        // Not submitted yet: the output must still be the zeros it was created with.
        result[`${format} before`] = await H.pixels(model, output);
        device.queue.submit([encoder.finish()]);
        result[format] = await H.pixels(model, output);
        output.destroy();
      }
      input.destroy();
      return result;
    }, ASSET_URL + IMAGE_RGB.name);
    for (const format of ['rgba8unorm', 'bgra8unorm']) {
      expect(bytes(r[`${format} before`]!).every((v) => v === 0), `${format}: output written before submit`).toBe(true);
      expect(diffStats(bytes(r[format]!), baseline).max, format).toBe(0);
    }
  });

  it('ImageBitmap, ImageData, <img>, canvas, OffscreenCanvas, VideoFrame and a render-target texture give the same pixels', async () => {
    const r = await inPage(async (url) => {
      const { H, nerco } = window as any;
      const model = await H.model('tiny');
      const bitmap: ImageBitmap = await H.decode(url);
      const { width, height } = bitmap;
      const c2d = new OffscreenCanvas(width, height).getContext('2d')!;
      c2d.drawImage(bitmap, 0, 0);
      const imageData = c2d.getImageData(0, 0, width, height);
      const canvas = document.createElement('canvas');
      canvas.width = width;
      canvas.height = height;
      canvas.getContext('2d')!.drawImage(bitmap, 0, 0);
      const offscreen = new OffscreenCanvas(width, height);
      offscreen.getContext('2d')!.drawImage(bitmap, 0, 0);
      const img = await H.loadImageElement(url);
      const frame = new VideoFrame(bitmap, { timestamp: 0 });
      // A bgra8unorm render target without COPY_SRC (what an engine's frame often is), filled by
      // rendering the image into it: the library must copy it by rendering too.
      const target = model.device.createTexture({ size: [width, height], format: 'bgra8unorm', usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.RENDER_ATTACHMENT });
      const staging = model.device.createTexture({ size: [width, height], format: 'rgba8unorm', usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST | GPUTextureUsage.RENDER_ATTACHMENT });
      model.device.queue.copyExternalImageToTexture({ source: bitmap }, { texture: staging }, [width, height]);
      const module = model.device.createShaderModule({ code: `
        @group(0) @binding(0) var src: texture_2d<f32>;
        @vertex fn vs(@builtin(vertex_index) i: u32) -> @builtin(position) vec4f {
          let xy = vec2f(f32((i << 1u) & 2u), f32(i & 2u)) * 2.0 - 1.0; return vec4f(xy, 0.0, 1.0); }
        @fragment fn fs(@builtin(position) p: vec4f) -> @location(0) vec4f { return textureLoad(src, vec2u(p.xy), 0); }` });
      const pipeline = model.device.createRenderPipeline({ layout: 'auto', vertex: { module }, fragment: { module, targets: [{ format: 'bgra8unorm' }] } });
      const enc2 = model.device.createCommandEncoder();
      const pass2 = enc2.beginRenderPass({ colorAttachments: [{ view: target.createView(), loadOp: 'clear', storeOp: 'store' }] });
      pass2.setPipeline(pipeline);
      pass2.setBindGroup(0, model.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: staging.createView() }] }));
      pass2.draw(3);
      pass2.end();
      model.device.queue.submit([enc2.finish()]);

      const sources: Record<string, unknown> = { ImageBitmap: bitmap, ImageData: imageData, HTMLImageElement: img, HTMLCanvasElement: canvas, OffscreenCanvas: offscreen, VideoFrame: frame, 'GPUTexture without COPY_SRC': target };
      const out: Record<string, string> = {};
      for (const [name, source] of Object.entries(sources)) {
        const tex = await nerco.enhance(model, source);
        out[name] = await H.pixels(model, tex);
        tex.destroy();
      }
      frame.close();
      target.destroy();
      staging.destroy();
      return out;
    }, ASSET_URL + IMAGE_RGB.name);
    expect(Object.keys(r)).toHaveLength(7);
    for (const [name, b64] of Object.entries(r)) expect(diffStats(bytes(b64), baseline).max, name).toBe(0);
  });

  it('alpha is ignored and never premultiplied: an RGBA PNG (odd size, padded path) equals its opaque copy', async () => {
    const r = await inPage(async (url) => {
      const { H, nerco } = window as any;
      const model = await H.model('tiny');
      const bitmap: ImageBitmap = await H.decode(url);
      const viaBitmap = await nerco.enhance(model, bitmap);
      // The same RGB with alpha forced to 255, as ImageData (written byte for byte).
      const tex = model.device.createTexture({ size: [bitmap.width, bitmap.height], format: 'rgba8unorm', usage: GPUTextureUsage.COPY_SRC | GPUTextureUsage.COPY_DST | GPUTextureUsage.RENDER_ATTACHMENT });
      model.device.queue.copyExternalImageToTexture({ source: bitmap }, { texture: tex, premultipliedAlpha: false }, [bitmap.width, bitmap.height]);
      const straight = await nerco.readTexturePixels(model, tex);
      tex.destroy();
      const opaque = new ImageData(new Uint8ClampedArray(straight.data), bitmap.width, bitmap.height);
      for (let i = 3; i < opaque.data.length; i += 4) opaque.data[i] = 255;
      const viaImageData = await nerco.enhance(model, opaque);
      const result = { bitmap: await H.pixels(model, viaBitmap), imageData: await H.pixels(model, viaImageData), size: [viaBitmap.width, viaBitmap.height] };
      viaBitmap.destroy();
      viaImageData.destroy();
      return result;
    }, ASSET_URL + IMAGE_RGBA.name);
    expect(r.size).toEqual([IMAGE_RGBA.width, IMAGE_RGBA.height]);
    expect(diffStats(bytes(r.bitmap), bytes(r.imageData)).max).toBe(0);
    // And the padded path against the float64 CPU reference (reflect-pad to the network size, crop back).
    const input = prepareInput(rgb(new Uint8Array(IMAGE_RGBA.data.buffer)), IMAGE_RGBA.width, IMAGE_RGBA.height, 'pad');
    const w = tinyWeights(TINY_SEED);
    const ref = nercoForwardCPU({ ga: w.ga.tensors, pre: w.pre.tensors, h: w.h.tensors }, input.chw, input.netH, input.netW);
    const s = diffStats(rgb(bytes(r.bitmap)), fakeBToRGB8(ref.fakeB, input.netW, input.netH, 'nearest', input.crop));
    expect(s.max).toBeLessThanOrEqual(1);
    expect(s.equal).toBeGreaterThanOrEqual(0.99);
  });

  it('a model on the caller\'s GPUDevice returns textures that device can use; destroy() leaves the device alive', async () => {
    const r = await inPage(async (url) => {
      const { H, nerco } = window as any;
      const adapter = await navigator.gpu.requestAdapter();
      const device = await adapter!.requestDevice();
      const model = await nerco.loadNeRCo(await H.bytes(url), { device });
      const bitmap = await H.decode(new URL('rgb-40x28.png', new URL(url, location.href)).href);
      const out: GPUTexture = await nerco.enhance(model, bitmap);
      model.destroy();
      device.pushErrorScope('validation');
      const buffer = device.createBuffer({ size: 256 * out.height, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
      const enc = device.createCommandEncoder();
      enc.copyTextureToBuffer({ texture: out }, { buffer, bytesPerRow: 256 }, [out.width, out.height]);
      device.queue.submit([enc.finish()]);
      const error = await device.popErrorScope();
      await buffer.mapAsync(GPUMapMode.READ);
      const rows = new Uint8Array(buffer.getMappedRange());
      const px = new Uint8Array(out.width * out.height * 4);
      for (let y = 0; y < out.height; y++) px.set(rows.subarray(y * 256, y * 256 + out.width * 4), y * out.width * 4);
      out.destroy();
      return { error: error ? error.message : null, pixels: H.b64(px) };
    }, TINY_WEIGHTS_URL);
    expect(r.error).toBeNull();
    expect(diffStats(bytes(r.pixels), baseline).max).toBe(0);
  });

  it('loadNeRCo() with no argument fetches the package\'s weights/default.safetensors relative to dist/browser/', async () => {
    const r = await inPage(async () => {
      const { nerco } = window as any;
      const requested: string[] = [];
      const original = window.fetch;
      window.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
        requested.push(String(input instanceof Request ? input.url : input));
        return original(input, init);
      };
      try {
        const model = await nerco.loadNeRCo();
        const config = model.weights.ga.config;
        model.destroy();
        return { requested, config };
      } finally {
        window.fetch = original;
      }
    });
    expect(r.requested).toEqual([`${inject('serverUrl')}weights/default.safetensors`]);
    expect(r.config.inChannels).toBe(6);
  });

  it('works in a module Web Worker (OffscreenCanvas source); toImageBitmap there shows the same pixels', async () => {
    const r = await inPage(async (url, weightsUrl) => {
      const { H } = window as any;
      const bitmap = await H.decode(url);
      const reply = await H.inWorker({ weightsUrl: new URL(weightsUrl, location.href).href, bitmap }, [bitmap]);
      if (!reply.ok) throw new Error(reply.error);
      return { pixels: H.b64(reply.pixels), shown: H.canvasPixels(reply.shown) };
    }, ASSET_URL + IMAGE_RGB.name, TINY_WEIGHTS_URL);
    expect(diffStats(bytes(r.pixels), baseline).max).toBe(0);
    expect(diffStats(bytes(r.shown), baseline).max).toBe(0);
  });

  it('drawToCanvas, toImageBitmap and textureToBlob (PNG) show exactly the result', async () => {
    const r = await inPage(async (url) => {
      const { H, nerco } = window as any;
      const model = await H.model('tiny');
      const out = await nerco.enhance(model, await H.decode(url));
      const canvas = document.createElement('canvas');
      nerco.drawToCanvas(model, out, canvas);
      await model.device.queue.onSubmittedWorkDone();
      const onCanvas = H.canvasPixels(canvas);
      const bitmap = H.canvasPixels(await nerco.toImageBitmap(model, out));
      const blob: Blob = await nerco.textureToBlob(model, out);
      const decoded = await nerco.decodeImage(blob);
      const png = H.canvasPixels(decoded);
      out.destroy();
      return { onCanvas, bitmap, png, type: blob.type, size: [canvas.width, canvas.height] };
    }, ASSET_URL + IMAGE_RGB.name);
    expect(r.type).toBe('image/png');
    expect(r.size).toEqual([IMAGE_RGB.width, IMAGE_RGB.height]);
    for (const k of ['onCanvas', 'bitmap', 'png'] as const) expect(diffStats(bytes(r[k]), baseline).max, k).toBe(0);
  });

  it('edges(model, texture, sobel | laplacian) match the CPU reference (±1 per byte)', async () => {
    const gain = 3;
    const r = await inPage(async (url, g) => {
      const { H, nerco } = window as any;
      const model = await H.model('tiny');
      const bitmap = await H.decode(url);
      const out: Record<string, string> = {};
      for (const kind of ['sobel', 'laplacian']) {
        const tex = await nerco.edges(model, bitmap, kind, { gain: g });
        out[kind] = await H.pixels(model, tex);
        tex.destroy();
      }
      return out;
    }, ASSET_URL + IMAGE_RGB.name, gain);
    const { width: w, height: h } = IMAGE_RGB;
    const x = realA(IMAGE_RGB);
    const n = w * h;
    for (const kind of ['sobel', 'laplacian'] as const) {
      const e = kind === 'sobel' ? refEdges.sobel(x, [3, h, w]) : refEdges.laplacian(x, [3, h, w], 4);
      const want = new Uint8Array(4 * n);
      for (let k = 0; k < n; k++) {
        for (let c = 0; c < 3; c++) want[4 * k + c] = Math.floor(Math.min(1, Math.abs(kind === 'sobel' ? e[k]! : e[c * n + k]!) * gain) * 255 + 0.5);
        want[4 * k + 3] = 255;
      }
      expect(diffStats(bytes(r[kind]!), want).max, kind).toBeLessThanOrEqual(1);
    }
  });
});
