/**
 * Test assets the browser pages fetch, written under test/.artifacts/browser/ (served at
 * /test/.artifacts/browser/): tiny random weights and PNG inputs made from seeded pixels, so the
 * Node side can recompute what the page should see.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { repoPath } from '../helpers/shared-path.js';
import { makeRng } from '../helpers/random.js';
import { TINY_WEIGHTS_FILE, writeTinyWeights } from '../helpers/tiny-model.js';

export const ASSET_DIR = repoPath('test', '.artifacts', 'browser');
/** URL path of the asset directory on the test server. */
export const ASSET_URL = '/test/.artifacts/browser/';
export const TINY_WEIGHTS_URL = ASSET_URL + TINY_WEIGHTS_FILE;
export const TINY_SEED = 1;

export interface TestImage {
  readonly name: string;
  readonly width: number;
  readonly height: number;
  /** RGBA, straight alpha. */
  readonly data: Uint8ClampedArray;
  readonly hasAlpha: boolean;
}

/**
 * A dark, image-like RGBA picture: smooth gradients plus noise, values mostly below 100 (a
 * low-light input). With `alpha`, alpha varies over 1..255 so premultiplication would show.
 */
export function makeTestImage(name: string, width: number, height: number, seed: number, alpha: boolean): TestImage {
  const rng = makeRng(seed);
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = 4 * (y * width + x);
      const base = 20 + 50 * (x / width) + 30 * Math.sin(y / 3);
      data[i] = base + 25 * rng();
      data[i + 1] = base * 0.8 + 25 * rng();
      data[i + 2] = base * 0.6 + 40 * rng() * (y / height);
      data[i + 3] = alpha ? 1 + Math.floor(rng() * 255) : 255;
    }
  }
  return { name, width, height, data, hasAlpha: alpha };
}

/** Network-sized (multiples of 4): the CPU reference runs on it directly. */
export const IMAGE_RGB = makeTestImage('rgb-40x28.png', 40, 28, 11, false);
/** Odd size (padding path) with varying alpha (no premultiplication may leak into RGB). */
export const IMAGE_RGBA = makeTestImage('rgba-37x29.png', 37, 29, 12, true);

function encodePng(img: TestImage): Buffer {
  const png = new PNG({ width: img.width, height: img.height, colorType: img.hasAlpha ? 6 : 2, inputColorType: 6, inputHasAlpha: true });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  // No gAMA/iCCP/sRGB chunks: nothing for a browser to colour-manage.
  return PNG.sync.write(png, { colorType: img.hasAlpha ? 6 : 2, inputColorType: 6, inputHasAlpha: true });
}

export function writeBrowserAssets(): void {
  mkdirSync(ASSET_DIR, { recursive: true });
  writeTinyWeights(ASSET_DIR, TINY_SEED);
  for (const img of [IMAGE_RGB, IMAGE_RGBA]) writeFileSync(join(ASSET_DIR, img.name), encodePng(img));
}
