/**
 * Debian's Chromium under puppeteer-core, as ../shared/WEBGPU-ON-CPU.md describes: never a
 * downloaded browser, WebGPU through --enable-unsafe-webgpu (SwiftShader on CPU-only machines),
 * a fresh profile per launch, pages from 127.0.0.1.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const CHROMIUM = '/usr/bin/chromium';

/**
 * Without these, headless Chromium on a CPU-only machine cannot share WebGPU textures with the
 * compositor: presenting a WebGPU canvas (drawToCanvas, toImageBitmap) loses the device ("Could
 * not find SharedImageBackingFactory ... WebgpuSwapChainTexture"), and VideoFrame imports fail.
 * With the compositor on SwiftShader's Vulkan (the same implementation WebGPU uses here), canvas
 * contents, transferToImageBitmap and VideoFrame copies come out right; the adapter stays
 * SwiftShader. (--use-vulkan=native or ANGLE on Vulkan alone gave blank canvases.)
 */
export const CANVAS_INTEROP_FLAGS = ['--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-angle=vulkan'];

export interface LaunchOptions {
  /** Pass --enable-unsafe-webgpu (default true). */
  readonly webgpu?: boolean;
}

export interface Chromium {
  readonly browser: Browser;
  /** Opens `url`, forwarding the page's console errors and uncaught exceptions to `log`. */
  open(url: string, opts?: { waitFor?: string; viewport?: { width: number; height: number } }): Promise<Page>;
  /** Everything the pages printed (console, errors), for failure messages. */
  readonly log: string[];
  close(): Promise<void>;
}

export async function launchChromium(opts: LaunchOptions = {}): Promise<Chromium> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (scripts/install-system-deps.sh --browser)`);
  const profile = mkdtempSync(join(tmpdir(), 'nerco-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true, // puppeteer passes --headless=new
    userDataDir: profile,
    // A forward pass on SwiftShader can take minutes; the tests set their own limits.
    protocolTimeout: 1_800_000,
    args: [
      '--no-sandbox', // the test machines run as root
      ...(opts.webgpu ?? true ? ['--enable-unsafe-webgpu'] : []),
      ...(opts.webgpu ?? true ? CANVAS_INTEROP_FLAGS : []),
      '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
      '--disable-dev-shm-usage',
    ],
  });
  const log: string[] = [];
  return {
    browser,
    log,
    async open(url, o = {}) {
      const page = await browser.newPage();
      if (o.viewport) await page.setViewport(o.viewport);
      page.on('console', (m) => log.push(`[${m.type()}] ${m.text()}`));
      page.on('pageerror', (e) => log.push(`[pageerror] ${(e as Error).message}`));
      await page.goto(url, { waitUntil: 'load' });
      if (o.waitFor) await page.waitForFunction(o.waitFor, { timeout: 60_000 });
      return page;
    },
    async close() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** `page.evaluate(fn, ...args)`; on failure the last 20 lines the pages printed are appended to the error. */
export async function evaluateLogged<T, A extends unknown[]>(chromium: Chromium, page: Page, fn: (...args: A) => Promise<T> | T, ...args: A): Promise<T> {
  try {
    return await page.evaluate(fn as never, ...args) as T;
  } catch (e) {
    throw new Error(`${(e as Error).message}\npage log:\n${chromium.log.slice(-20).join('\n')}`);
  }
}

/** The harness hands bytes back from the page as base64. */
export const bytesFromBase64 = (b64: string): Uint8Array => new Uint8Array(Buffer.from(b64, 'base64'));
