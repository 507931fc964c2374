/**
 * The demo page (demo/, served as `npm run demo` serves it): it loads, enhances the bundled sample,
 * shows before/after, edge views, timings and a download; the in-page converter turns the
 * official-layout .pth files into a .safetensors equal to the CLI's parse; a browser without
 * WebGPU gets the explanation instead of a broken page. A screenshot is saved for the docs.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PNG } from 'pngjs';
import type { Page } from 'puppeteer-core';
import { parseNeRCoWeights } from '../../src/nerco/load-weights.js';
import { readNeRCoWeightsFromPath } from '../../src/node/load-weights-node.js';
import { repoPath, sharedPath } from '../helpers/shared-path.js';
import { launchChromium, type Chromium } from './chromium.js';
import { ASSET_DIR, TINY_WEIGHTS_URL } from './assets.js';

/**
 * Tiny random weights and a 128-px working size keep a SwiftShader run short; the page flow is the
 * same as with the shipped weights. NERCO_DOCS_SCREENSHOT=1 runs the demo as a user gets it (shipped
 * default weights, full size: minutes on SwiftShader) and writes the README's docs/img/demo.png.
 */
const DOCS = process.env.NERCO_DOCS_SCREENSHOT === '1';
const DEMO_QUERY = DOCS ? '' : `?weights=${encodeURIComponent(TINY_WEIGHTS_URL)}&maxSide=128`;
const WORKING = DOCS ? [384, 256] : [128, 85];
const SCREENSHOT = DOCS ? repoPath('docs', 'img', 'demo.png') : join(ASSET_DIR, 'demo.png');
const ENHANCE_TIMEOUT = DOCS ? 1_500_000 : 180_000;

let chromium: Chromium;

beforeAll(async () => {
  chromium = await launchChromium();
});

afterAll(async () => {
  await chromium?.close();
});

const state = (page: Page) => page.evaluate(() => document.body.dataset.state);

async function waitForState(page: Page, want: string, timeout: number): Promise<void> {
  try {
    await page.waitForFunction((w) => ['error', 'no-webgpu', w].includes(document.body.dataset.state ?? ''), { timeout, polling: 250 }, want);
  } catch (e) {
    throw new Error(`demo never reached "${want}" (${(e as Error).message}); status: ${await page.$eval('#status', (el) => el.textContent)}\n${chromium.log.slice(-20).join('\n')}`);
  }
  const s = await state(page);
  if (s !== want) throw new Error(`demo went to "${s}" instead of "${want}": ${await page.$eval('#status', (el) => el.textContent)}\n${chromium.log.slice(-20).join('\n')}`);
}

/**
 * What the user sees of a canvas: its drawing-buffer size, and the mean and number of distinct
 * colours of its on-screen pixels (a screenshot clip: a WebGPU canvas cannot be read back once
 * presented, its drawing buffer is cleared).
 */
async function canvasStats(page: Page, id: string): Promise<{ width: number; height: number; mean: number; distinct: number }> {
  const el = (await page.$(`#${id}`))!;
  const { width, height } = await el.evaluate((c) => ({ width: (c as HTMLCanvasElement).width, height: (c as HTMLCanvasElement).height }));
  const png = PNG.sync.read(Buffer.from(await el.screenshot({ type: 'png' })));
  let sum = 0;
  const seen = new Set<number>();
  for (let i = 0; i < png.data.length; i += 4) {
    sum += png.data[i]! + png.data[i + 1]! + png.data[i + 2]!;
    seen.add((png.data[i]! << 16) | (png.data[i + 1]! << 8) | png.data[i + 2]!);
  }
  return { width, height, mean: sum / (3 * (png.data.length / 4)), distinct: seen.size };
}

/**
 * The downloaded PNG holds what the library gives for the demo's input: the sample decoded and
 * scaled to the working size as demo.js does it, enhanced by a second model with the same weights
 * on its own device in the same browser (±1: that device may pick other kernels). paths.test.ts
 * checks the library's enhance against the float64 CPU reference.
 */
async function expectDownloadIsEnhancedSample(page: Page, href: string): Promise<void> {
  const bundle = new URL('../dist/browser/nerco-webgpu.js', page.url()).href;
  // A module script, not a dynamic import inside evaluate(): the test's own transform would rewrite that.
  await page.addScriptTag({ type: 'module', content: `import * as nerco from ${JSON.stringify(bundle)}; window.nercoUnderTest = nerco;` });
  await page.waitForFunction(() => (window as any).nercoUnderTest !== undefined, { timeout: 60_000 });
  const r = await page.evaluate(async (downloadUrl: string, weightsUrl: string | null, maxSide: number) => {
    const nerco = (window as any).nercoUnderTest;
    const b64 = (u8: Uint8Array): string => {
      let t = '';
      for (let i = 0; i < u8.length; i += 0x8000) t += String.fromCharCode(...u8.subarray(i, i + 0x8000));
      return btoa(t);
    };
    const src: ImageBitmap = await nerco.decodeImage(await (await fetch(new URL('../samples/dark-street.png', location.href))).blob());
    let input = src;
    if (maxSide > 0 && Math.max(src.width, src.height) > maxSide) {
      const s = maxSide / Math.max(src.width, src.height);
      input = await createImageBitmap(src, {
        resizeWidth: Math.max(1, Math.round(src.width * s)), resizeHeight: Math.max(1, Math.round(src.height * s)),
        resizeQuality: 'high', premultiplyAlpha: 'none', colorSpaceConversion: 'none',
      });
    }
    const model = await nerco.loadNeRCo(weightsUrl ? new URL(weightsUrl, location.href) : undefined);
    const out: GPUTexture = await nerco.enhance(model, input);
    const want = (await nerco.readTexturePixels(model, out)).data as Uint8ClampedArray;
    out.destroy();
    model.destroy();
    const downloaded = new Uint8Array(await (await fetch(downloadUrl)).arrayBuffer());
    return { want: b64(new Uint8Array(want.buffer)), size: [input.width, input.height], png: b64(downloaded) };
  }, href, DOCS ? null : TINY_WEIGHTS_URL, DOCS ? 0 : 128);
  const got = PNG.sync.read(Buffer.from(r.png, 'base64'));
  const want = Buffer.from(r.want, 'base64');
  expect([got.width, got.height]).toEqual(WORKING);
  expect(r.size).toEqual(WORKING);
  let over = 0;
  let equal = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got.data[i]! - want[i]!);
    if (d > 1) over++;
    if (d === 0) equal++;
  }
  expect(over, 'bytes of the download more than 1 away from the library\'s result').toBe(0);
  expect(equal / want.length).toBeGreaterThanOrEqual(0.99);
}

describe('demo page', () => {
  let page: Page;

  it(`loads the sample, enhances it, shows before/after, edges, timings and a download; screenshot saved to ${DOCS ? 'docs/img' : 'test/.artifacts/browser'}`, async () => {
    page = await chromium.open(`${inject('serverUrl')}demo/${DEMO_QUERY}`, { viewport: { width: 1280, height: 860 } });
    await waitForState(page, 'ready', 120_000);
    expect(await page.$eval('#image-info', (el) => el.textContent)).toBe(DOCS ? 'dark-street: 384×256' : 'dark-street: 384×256, working at 128×85');
    expect(await page.$eval('#adapter', (el) => el.textContent)).toMatch(/GPU: /);
    await page.click('#enhance');
    await waitForState(page, 'done', ENHANCE_TIMEOUT);

    const cold = await page.$eval('#t-cold', (el) => el.textContent);
    const warm = await page.$eval('#t-warm', (el) => el.textContent);
    console.log(`demo ${WORKING.join('×')} (${DOCS ? 'default' : 'tiny'} weights): cold ${cold}, warm ${warm}`);
    expect(cold).toMatch(/^\d+(\.\d)? m?s$/);
    expect(warm).toMatch(/^\d+(\.\d)? m?s$/);
    expect(await page.$eval('#status', (el) => el.textContent)).toMatch(new RegExp(`Enhanced ${WORKING.join('×')}: cold .*, warm `));

    // Before, after and both edge views are drawn at the working size and are not blank.
    for (const id of ['before', 'after', 'edges-before', 'edges-after']) {
      const s = await canvasStats(page, id);
      expect([s.width, s.height], id).toEqual(WORKING);
      expect(s.distinct, `${id} is flat`).toBeGreaterThan(50);
    }
    expect(await page.$eval('#after', (el) => (el as HTMLElement).hidden)).toBe(false);
    const href = await page.$eval('#download', (el) => (el as HTMLAnchorElement).href);
    expect(href).toMatch(/^blob:/);
    expect(await page.$eval('#download', (el) => (el as HTMLAnchorElement).download)).toBe('dark-street-enhanced.png');
    const png = await page.evaluate(async (u) => new Uint8Array(await (await fetch(u)).arrayBuffer()).slice(0, 8).join(','), href);
    expect(png).toBe('137,80,78,71,13,10,26,10');
    await expectDownloadIsEnhancedSample(page, href);

    // The slider moves the split; Laplacian redraws the edge views.
    await page.$eval('#slider', (el) => {
      (el as HTMLInputElement).value = '35';
      el.dispatchEvent(new Event('input', { bubbles: true }));
    });
    expect(await page.$eval('#compare', (el) => (el as HTMLElement).style.getPropertyValue('--split'))).toBe('35%');
    const sobelMean = (await canvasStats(page, 'edges-after')).mean;
    await page.click('input[name="edges"][value="laplacian"]');
    await page.waitForFunction(() => document.body.dataset.busy === 'false', { timeout: 60_000 });
    expect((await canvasStats(page, 'edges-after')).mean).not.toBe(sobelMean);

    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    // Back to Sobel and the split in the middle, for the picture.
    await page.click('input[name="edges"][value="sobel"]');
    await page.waitForFunction(() => document.body.dataset.busy === 'false', { timeout: 60_000 });
    await page.$eval('#slider', (el) => {
      (el as HTMLInputElement).value = '50';
      el.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(readFileSync(SCREENSHOT).length).toBeGreaterThan(10_000);
  }, ENHANCE_TIMEOUT + 120_000);

  it('converts the official .pth files in the page; the downloaded .safetensors holds the same tensors', async () => {
    const downloads = mkdtempSync(join(tmpdir(), 'nerco-demo-dl-'));
    try {
      const cdp = await page.createCDPSession();
      await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });
      await page.click('input[name="weights"][value="files"]');
      const input = await page.$('#weights-input');
      const dir = sharedPath('fixtures', 'nerco-random', 'weights');
      await (input as unknown as { uploadFile(...p: string[]): Promise<void> }).uploadFile(
        join(dir, 'latest_net_G_A.pth'), join(dir, 'latest_net_Pre.pth'), join(dir, 'latest_net_H.pth'));
      await waitForState(page, 'ready', 120_000);
      expect(await page.$eval('#weights-info', (el) => el.textContent)).toMatch(/G_A ngf 64×9 blocks, Pre ngf 64, netH ngf 64/);
      await page.click('#download-weights');
      let file: string | undefined;
      for (let i = 0; i < 240 && !file; i++) {
        await new Promise((r) => setTimeout(r, 250));
        file = readdirSync(downloads).find((f) => f.endsWith('.safetensors'));
      }
      expect(file).toBe('nerco.safetensors');
      const converted = parseNeRCoWeights([{ name: file!, bytes: new Uint8Array(readFileSync(join(downloads, file!))) }]);
      const original = await readNeRCoWeightsFromPath(dir);
      for (const net of ['ga', 'pre', 'h'] as const) {
        expect([...converted[net].tensors.keys()]).toEqual([...original[net].tensors.keys()]);
        for (const [k, t] of original[net].tensors) {
          const u = converted[net].tensors.get(k)!;
          expect(u.shape, k).toEqual(t.shape);
          expect(Buffer.compare(Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength), Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)), k).toBe(0);
        }
      }
    } finally {
      rmSync(downloads, { recursive: true, force: true });
      await page.close();
    }
  });

  it('without navigator.gpu the page explains what is missing and how to get it', async () => {
    const p = await chromium.browser.newPage();
    try {
      await p.evaluateOnNewDocument(() => {
        Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
      });
      await p.goto(`${inject('serverUrl')}demo/`, { waitUntil: 'load' });
      await p.waitForFunction(() => document.body.dataset.state === 'no-webgpu', { timeout: 30_000 });
      expect(await p.$eval('#no-webgpu', (el) => (el as HTMLElement).hidden)).toBe(false);
      expect(await p.$eval('#app', (el) => (el as HTMLElement).hidden)).toBe(true);
      const text = await p.$eval('#no-webgpu', (el) => el.textContent);
      expect(text).toMatch(/WebGPU is not available here/);
      expect(text).toMatch(/navigator\.gpu is missing/);
      expect(text).toMatch(/--enable-unsafe-webgpu/);
    } finally {
      await p.close();
    }
  });

  it('with no WebGPU adapter (a Chromium started without --enable-unsafe-webgpu) the page says so', async () => {
    const plain = await launchChromium({ webgpu: false });
    try {
      const p = await plain.open(`${inject('serverUrl')}demo/`);
      // Depending on the build, navigator.gpu is missing or requestAdapter() gives null: both must explain.
      await p.waitForFunction(() => ['no-webgpu', 'ready', 'error'].includes(document.body.dataset.state ?? ''), { timeout: 60_000 });
      expect(await p.evaluate(() => document.body.dataset.state)).toBe('no-webgpu');
      expect(await p.$eval('#no-webgpu-message', (el) => el.textContent)).toMatch(/WebGPU|adapter/);
    } finally {
      await plain.close();
    }
  });
});
