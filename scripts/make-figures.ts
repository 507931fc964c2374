/**
 * Regenerates the before/after figures of the README and docs/MODEL.md with the CLI:
 *   node --import tsx scripts/make-figures.ts [--weights <dir|file>]
 * Every "after" image is what `nerco-webgpu enhance <photo> -o <out>.png` writes (default weights
 * unless --weights); the script only lays inputs and outputs side by side, each scaled (bicubic)
 * to a common width.
 *  - docs/img/sample-before-after.png: samples/dark-street.png (bundled, our own image)
 *  - docs/img/real-lowlight-before-after.png: LIME and DICM photos from ../shared/data/real-lowlight
 *    (research-only images: the figure is documentation, the photos are never in the package)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { decodeImageFile, encodePNG } from '../src/node/image-io.js';
import { pillowBicubicResize } from '../src/nerco/preprocess.js';
import type { RGBImage } from '../src/nerco/rgb-image.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const REAL = fileURLToPath(new URL('../../shared/data/real-lowlight/', import.meta.url));
const GAP = 8;

/** Downscale to `width` with the project's Pillow-exact bicubic resize (never upscales). */
function scaleToWidth(img: RGBImage, width: number): RGBImage {
  if (img.width <= width) return img;
  const height = Math.max(1, Math.round((img.height * width) / img.width));
  return { width, height, data: pillowBicubicResize(img.data, img.width, img.height, width, height) };
}

/** Rows of [before, after] pairs on a white background, GAP pixels apart. */
function grid(rows: readonly (readonly [RGBImage, RGBImage])[]): RGBImage {
  const width = Math.max(...rows.map(([a, b]) => a.width + GAP + b.width));
  const height = rows.reduce((h, [a]) => h + a.height, 0) + GAP * (rows.length - 1);
  const data = new Uint8Array(width * height * 3).fill(255);
  let top = 0;
  for (const [a, b] of rows) {
    for (const [img, left] of [[a, 0], [b, a.width + GAP]] as const) {
      for (let y = 0; y < img.height; y++) {
        data.set(img.data.subarray(y * img.width * 3, (y + 1) * img.width * 3), ((top + y) * width + left) * 3);
      }
    }
    top += a.height + GAP;
  }
  return { width, height, data };
}

function enhanceWithCli(input: string, output: string, weights: string | undefined): void {
  const args = [join(ROOT, 'bin/nerco-webgpu.js'), 'enhance', input, '-o', output, '--force'];
  if (weights) args.push('--weights', weights);
  execFileSync(process.execPath, args, { stdio: 'inherit' });
}

async function figure(inputs: readonly string[], out: string, width: number, weights: string | undefined, tmp: string): Promise<void> {
  const rows: [RGBImage, RGBImage][] = [];
  for (const [i, input] of inputs.entries()) {
    const enhanced = join(tmp, `${i}.png`);
    enhanceWithCli(input, enhanced, weights);
    rows.push([scaleToWidth(await decodeImageFile(input), width), scaleToWidth(await decodeImageFile(enhanced), width)]);
  }
  writeFileSync(out, encodePNG(grid(rows)));
  console.log(`wrote ${out}`);
}

const { values } = parseArgs({ options: { weights: { type: 'string' } } });
const tmp = mkdtempSync(join(tmpdir(), 'nerco-figures-'));
try {
  await figure([join(ROOT, 'samples/dark-street.png')], join(ROOT, 'docs/img/sample-before-after.png'), 384, values.weights, tmp);
  await figure([join(REAL, 'LIME/3.png'), join(REAL, 'DICM/12.jpg'), join(REAL, 'DICM/05.jpg')],
    join(ROOT, 'docs/img/real-lowlight-before-after.png'), 400, values.weights, tmp);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
