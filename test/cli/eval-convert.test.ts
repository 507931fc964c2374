/**
 * The CLI's `eval` and `convert`, in-process through `main(argv, io)`. `eval`'s scores are checked
 * against an independent computation: the float64 CPU reference of the network, quantised as
 * `--fit pad` does, scored by the metrics that test/preprocess/metrics.test.ts holds to
 * scikit-image. `convert` must write a file that loads to the very tensors it read.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { psnr, ssim } from '../../src/nerco/metrics.js';
import { fakeBToRGB8 } from '../../src/nerco/postprocess.js';
import { prepareInput } from '../../src/nerco/preprocess.js';
import { readNeRCoWeightsFromPath } from '../../src/node/load-weights-node.js';
import { encodePNG, type RGBImage } from '../../src/node/image-io.js';
import { releaseNodeGPU } from '../../src/runtime/device.js';
import { runCli } from '../helpers/cli.js';
import { makeRng } from '../helpers/random.js';
import { sharedPath } from '../helpers/shared-path.js';
import { tinyWeights, writeTinyWeights } from '../helpers/tiny-model.js';
import { nercoForwardCPU } from '../reference/nerco.js';

const SEED = 4;
const tmp = mkdtempSync(join(tmpdir(), 'nerco-cli-eval-'));
const WEIGHTS = writeTinyWeights(join(tmp, 'weights'), SEED);

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
  releaseNodeGPU();
});

const cli = runCli;

function randomImage(w: number, h: number, seed: number, max: number): RGBImage {
  const rng = makeRng(seed);
  return { width: w, height: h, data: Uint8Array.from({ length: w * h * 3 }, () => Math.floor(rng() * max)) };
}

/** A data directory of low/ and high/ pairs (PNG), each pair named by its stem. */
function dataDir(name: string, pairs: Record<string, [RGBImage, RGBImage | null]>): string {
  const dir = join(tmp, name);
  for (const side of ['low', 'high']) mkdirSync(join(dir, side), { recursive: true });
  for (const [stem, [low, high]] of Object.entries(pairs)) {
    writeFileSync(join(dir, 'low', `${stem}.png`), encodePNG(low));
    if (high) writeFileSync(join(dir, 'high', `${stem}.png`), encodePNG(high));
  }
  return dir;
}

/** `--fit pad` on the CPU: the float64 reference network, rounded to nearest, cropped back. */
function cpuEnhance(img: RGBImage): Uint8Array {
  const w = tinyWeights(SEED);
  const input = prepareInput(img.data, img.width, img.height, 'pad');
  const { fakeB } = nercoForwardCPU({ ga: w.ga.tensors, pre: w.pre.tensors, h: w.h.tensors }, input.chw, input.netH, input.netW);
  return fakeBToRGB8(fakeB, input.netW, input.netH, 'nearest', input.crop);
}

describe('eval --data <dir>', () => {
  const pairs: Record<string, [RGBImage, RGBImage]> = {
    a: [randomImage(16, 12, 1, 60), randomImage(16, 12, 2, 255)],
    b: [randomImage(13, 11, 3, 40), randomImage(13, 11, 4, 255)],
  };
  const dir = dataDir('data', pairs);

  it('--json: per-image PSNR / SSIM of the enhanced low/ images against high/, and their means', async () => {
    const r = await cli('eval', '--data', dir, '--weights', WEIGHTS, '--json');
    expect(r.code, r.err.join('\n')).toBe(0);
    const report = JSON.parse(r.out.at(-1)!) as { images: number; psnr: number; ssim: number; perImage: { name: string; psnr: number; ssim: number }[] };
    expect(report.images).toBe(2);
    expect(report.perImage.map((p) => p.name)).toEqual(['a', 'b']);
    for (const row of report.perImage) {
      const [low, high] = pairs[row.name]!;
      const enhanced = cpuEnhance(low);
      // The GPU output may differ from the CPU's by 1 where a value sits on a rounding boundary:
      // a few such bytes move PSNR by ~1e-4 dB on these images.
      expect(Math.abs(row.psnr - psnr(enhanced, high.data)), row.name).toBeLessThan(1e-2);
      expect(Math.abs(row.ssim - ssim(enhanced, high.data, high.width, high.height)), row.name).toBeLessThan(1e-3);
    }
    expect(report.psnr).toBeCloseTo((report.perImage[0]!.psnr + report.perImage[1]!.psnr) / 2, 10);
    expect(report.ssim).toBeCloseTo((report.perImage[0]!.ssim + report.perImage[1]!.ssim) / 2, 10);
  });

  it('without --json: one line per image, then the mean', async () => {
    const r = await cli('eval', '--data', dir, '--weights', WEIGHTS);
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(r.out).toHaveLength(3);
    expect(r.out[0]).toMatch(/^a\s+PSNR \d+\.\d\d dB {2}SSIM \d\.\d{4}$/);
    expect(r.out[2]).toMatch(/^mean over 2 images: PSNR \d+\.\d\d dB {2}SSIM \d\.\d{4}$/);
  });

  it('a low image without a reference fails at once, naming it', async () => {
    const partial = dataDir('partial', { a: pairs.a!, lonely: [randomImage(8, 8, 5, 50), null] });
    const r = await cli('eval', '--data', partial, '--weights', WEIGHTS);
    expect(r.code).toBe(1);
    expect(r.err).toEqual([`nerco-webgpu: ${join(partial, 'high', 'lonely')}.*: no reference for lonely.png`]);
  });

  it('--fit resize output of another size than the reference is an error that suggests --fit pad', async () => {
    const r = await cli('eval', '--data', dir, '--weights', WEIGHTS, '--fit', 'resize');
    expect(r.code).toBe(1);
    expect(r.err[0]).toMatch(/b\.png: output is 12×12 but the reference is 13×11 \(use --fit pad\)/);
  });

  it('a missing --data or data directory', async () => {
    const none = await cli('eval', '--weights', WEIGHTS);
    expect(none.code).toBe(2);
    expect(none.err[0]).toBe('nerco-webgpu: --data <dir> is required');
    const missing = await cli('eval', '--data', join(tmp, 'nowhere'));
    expect(missing.code).toBe(1);
    expect(missing.err).toEqual([`nerco-webgpu: ${join(tmp, 'nowhere', 'low')}: no such directory`]);
  });
});

describe('convert <dir> -o <file>', () => {
  const checkpoints = sharedPath('fixtures', 'nerco-random', 'weights');

  it('writes a .safetensors that loads to the same tensors; an existing file needs --force', async () => {
    const out = join(tmp, 'nerco.safetensors');
    const r = await cli('convert', checkpoints, '-o', out);
    expect(r.code, r.err.join('\n')).toBe(0);
    const [original, converted] = await Promise.all([readNeRCoWeightsFromPath(checkpoints), readNeRCoWeightsFromPath(out)]);
    for (const net of ['ga', 'pre', 'h'] as const) {
      expect([...converted[net].tensors.keys()]).toEqual([...original[net].tensors.keys()]);
      for (const [key, t] of original[net].tensors) {
        const u = converted[net].tensors.get(key)!;
        expect(u.shape, key).toEqual(t.shape);
        // Bit-for-bit, compared as bytes (element-wise expect() is far too slow for 23 M values).
        expect(Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength).equals(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)), key).toBe(true);
      }
    }
    const before = readFileSync(out);
    const again = await cli('convert', checkpoints, '-o', out, '--fp16');
    expect(again.code).toBe(1);
    expect(again.err).toEqual([`nerco-webgpu: ${out}: file exists (use --force to overwrite)`]);
    expect(readFileSync(out).equals(before), 'the existing file is unchanged').toBe(true);
  }, 120_000);

  it('refuses an output not named .safetensors, which --weights would not read', async () => {
    const out = join(tmp, 'nerco.st');
    const r = await cli('convert', checkpoints, '-o', out);
    expect(r.code).toBe(2);
    expect(r.err[0]).toBe(`nerco-webgpu: ${out}: the output is a .safetensors file; give it a .safetensors name`);
    expect(existsSync(out)).toBe(false);
  });
});
