/**
 * One fixture case of ../shared/fixtures/nerco-random in Chromium with the real (random-valued,
 * full-size) fixture checkpoints: the .pth files read in the page, the PNG decoded by the browser,
 * `enhance(texture)` on SwiftShader, compared with the original code's out.png as the Node tests
 * do (±1, ≥ 99 % equal). A full-size forward pass takes minutes on SwiftShader with 2 cores,
 * so only the smallest case runs here; the Node suite covers all three.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Page } from 'puppeteer-core';
import { decodeImageFile } from '../../src/node/image-io.js';
import { INPUT_LUT } from '../../src/nerco/preprocess.js';
import { readNpy } from '../helpers/npy.js';
import { sharedPath } from '../helpers/shared-path.js';
import { launchChromium, type Chromium, bytesFromBase64, evaluateLogged } from './chromium.js';

const CASE = 'dark-40x56';
const FIXTURE_URL = '/fixtures/nerco-random/';

let chromium: Chromium;
let page: Page;

beforeAll(async () => {
  chromium = await launchChromium();
  page = await chromium.open(`${inject('serverUrl')}test/browser/pages/harness.html`, { waitFor: 'window.harnessReady === true' });
});

afterAll(async () => {
  await chromium?.close();
});

/** Evaluates in the page; on failure the page's console is appended to the error. */
async function inPage<T, A extends unknown[]>(fn: (...args: A) => Promise<T> | T, ...args: A): Promise<T> {
  return evaluateLogged(chromium, page, fn, ...args);
}

const bytes = bytesFromBase64;

describe(`fixture ${CASE} in Chromium (official-size random checkpoints)`, () => {
  it('the .pth files load in the page, and weightsToSafetensors round-trips them exactly', async () => {
    const r = await inPage(async (base) => {
      const { H, nerco } = window as any;
      const t0 = performance.now();
      const names = ['latest_net_G_A.pth', 'latest_net_Pre.pth', 'latest_net_H.pth'];
      const files = await Promise.all(names.map(async (name) => ({ name, bytes: await H.bytes(`${base}weights/${name}`) })));
      const t1 = performance.now();
      const weights = nerco.parseNeRCoWeights(files);
      const t2 = performance.now();
      const st: Uint8Array = nerco.weightsToSafetensors(weights);
      const back = nerco.parseNeRCoWeights([{ name: 'converted.safetensors', bytes: st }]);
      let tensors = 0;
      let mismatches = 0;
      for (const net of ['ga', 'pre', 'h']) {
        for (const [key, t] of weights[net].tensors) {
          tensors++;
          const u = back[net].tensors.get(key);
          if (!u || u.shape.join() !== t.shape.join() || u.data.some((v: number, i: number) => !Object.is(v, t.data[i]))) mismatches++;
        }
      }
      // The model for the next test, from the parsed .pth weights.
      const t3 = performance.now();
      await H.model('fixture', () => nerco.loadNeRCo(weights));
      return { fetchMs: t1 - t0, parseMs: t2 - t1, uploadMs: performance.now() - t3, tensors, mismatches, configs: [weights.ga.config, weights.pre.config, weights.h.config], stBytes: st.length };
    }, FIXTURE_URL);
    console.log(`fixture weights: fetch ${r.fetchMs.toFixed(0)} ms, parse .pth ${r.parseMs.toFixed(0)} ms, upload ${r.uploadMs.toFixed(0)} ms; safetensors ${r.stBytes} bytes`);
    expect(r.configs[0]).toMatchObject({ ngf: 64, nBlocks: 9 });
    expect(r.tensors).toBe(122); // NERCO.md §2: the official checkpoints' tensor count
    expect(r.mismatches).toBe(0);
  });

  it('input.png decodes to the bytes behind input.npy (no colour management)', async () => {
    const b64 = await inPage(async (url) => {
      const { H } = window as any;
      const model = await H.model('fixture');
      const bitmap: ImageBitmap = await H.decode(url);
      const tex = model.device.createTexture({ size: [bitmap.width, bitmap.height], format: 'rgba8unorm', usage: GPUTextureUsage.COPY_SRC | GPUTextureUsage.COPY_DST | GPUTextureUsage.RENDER_ATTACHMENT });
      model.device.queue.copyExternalImageToTexture({ source: bitmap }, { texture: tex, premultipliedAlpha: false }, [bitmap.width, bitmap.height]);
      const px = await H.pixels(model, tex);
      tex.destroy();
      return px;
    }, `${FIXTURE_URL}${CASE}/input.png`);
    const rgba = bytes(b64);
    const npy = readNpy(sharedPath('fixtures', 'nerco-random', CASE, 'input.npy'));
    const [, , h, w] = npy.shape as [number, number, number, number];
    expect(rgba.length).toBe(4 * w * h);
    let off = 0;
    for (let k = 0; k < w * h; k++) for (let c = 0; c < 3; c++) if (INPUT_LUT[rgba[4 * k + c]!] !== npy.data[c * w * h + k]) off++;
    expect(off).toBe(0);
  });

  it('enhance(texture) reproduces out.png (every byte ±1, ≥ 99 % equal)', async () => {
    const r = await inPage(async (url) => {
      const { H, nerco } = window as any;
      const model = await H.model('fixture');
      const bitmap: ImageBitmap = await H.decode(url);
      const tex = model.device.createTexture({ size: [bitmap.width, bitmap.height], format: 'rgba8unorm', usage: GPUTextureUsage.COPY_SRC | GPUTextureUsage.COPY_DST | GPUTextureUsage.RENDER_ATTACHMENT });
      model.device.queue.copyExternalImageToTexture({ source: bitmap }, { texture: tex, premultipliedAlpha: false }, [bitmap.width, bitmap.height]);
      const t0 = performance.now();
      // The reference's uint8 cast (NERCO.md §8).
      const out = await nerco.enhance(model, tex, { rounding: 'truncate' });
      await model.device.queue.onSubmittedWorkDone();
      const ms = performance.now() - t0;
      const px = await H.pixels(model, out);
      out.destroy();
      tex.destroy();
      return { px, ms, size: [out.width, out.height] };
    }, `${FIXTURE_URL}${CASE}/input.png`);
    console.log(`${CASE} forward on SwiftShader (cold, incl. pipeline creation): ${(r.ms / 1000).toFixed(1)} s`);
    const ref = await decodeImageFile(sharedPath('fixtures', 'nerco-random', CASE, 'out.png'));
    expect(r.size).toEqual([ref.width, ref.height]);
    const rgba = bytes(r.px);
    let max = 0;
    let equal = 0;
    for (let k = 0; k < ref.width * ref.height; k++) {
      for (let c = 0; c < 3; c++) {
        const d = Math.abs(rgba[4 * k + c]! - ref.data[3 * k + c]!);
        max = Math.max(max, d);
        if (d === 0) equal++;
      }
    }
    expect(max).toBeLessThanOrEqual(1);
    expect(equal / ref.data.length).toBeGreaterThanOrEqual(0.99);
  });
});
