/**
 * The CLI's `enhance` against bad and unusual inputs, in-process through `main(argv, io)` with
 * the small random NeRCo (test/helpers/tiny-model.ts) written to a temporary directory.
 *
 * What every failure must do: exit non-zero, say what is wrong on one line (no stack trace), and
 * leave the output directory as it was (no output file, no temporary file). What the unusual but
 * valid inputs must do: 16-bit, gray, palette and alpha PNGs give exactly what their Pillow
 * `convert('RGB')` as an 8-bit RGB PNG gives, and tiny images match the CPU reference.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeBToRGB8 } from '../../src/nerco/postprocess.js';
import { prepareInput } from '../../src/nerco/preprocess.js';
import { decodeImageFile, encodePNG, type RGBImage } from '../../src/node/image-io.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { releaseNodeGPU } from '../../src/runtime/device.js';
import { nercoForwardCPU } from '../reference/nerco.js';
import { runCli, type CliRun } from '../helpers/cli.js';
import { makeRng } from '../helpers/random.js';
import { repoPath, sharedPath } from '../helpers/shared-path.js';
import { TINY_CONFIG, tinyWeights, writeTinyWeights } from '../helpers/tiny-model.js';

const DECODE = repoPath('test', 'preprocess', 'fixtures', 'decode');
const CHECKPOINTS = repoPath('test', 'fixtures', 'checkpoints');
const SHARED_WEIGHTS = sharedPath('fixtures', 'nerco-random', 'weights');
const tmp = mkdtempSync(join(tmpdir(), 'nerco-cli-'));
const inDir = join(tmp, 'in');
const WEIGHTS = writeTinyWeights(join(tmp, 'weights'), 3);

type Run = CliRun;
const cli = runCli;

/** `enhance` with the tiny weights. */
const enhance = (...argv: string[]) => cli('enhance', ...argv, '--weights', WEIGHTS);

function randomImage(w: number, h: number, seed: number): RGBImage {
  const rng = makeRng(seed);
  return { width: w, height: h, data: Uint8Array.from({ length: w * h * 3 }, () => Math.floor(rng() * 120)) };
}

function writeImage(name: string, img: RGBImage, dir = inDir): string {
  const path = join(dir, name);
  writeFileSync(path, encodePNG(img));
  return path;
}

function listing(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/** A failure: non-zero exit, one line naming `mentions`, no stack trace, nothing new in `outDir`. */
function expectCleanFailure(r: Run, outDir: string, before: string[], ...mentions: (string | RegExp)[]): void {
  expect(r.code, r.err.join('\n')).not.toBe(0);
  expect(r.err).toHaveLength(1);
  const line = r.err[0]!;
  expect(line).not.toContain('\n');
  expect(line).not.toMatch(/\n\s+at |\bat .*\.(ts|js):\d+/);
  expect(line.startsWith('nerco-webgpu: ')).toBe(true);
  for (const m of mentions) expect(line).toMatch(m);
  expect(listing(outDir)).toEqual(before);
}

/** The CPU reference of what `--fit pad` should give for an image (NERCO.md §1, §3, §8; rounding to nearest). */
function cpuEnhancePad(img: RGBImage): Uint8Array {
  const w = tinyWeights(3);
  const input = prepareInput(img.data, img.width, img.height, 'pad');
  const { fakeB } = nercoForwardCPU({ ga: w.ga.tensors, pre: w.pre.tensors, h: w.h.tensors }, input.chw, input.netH, input.netW);
  return fakeBToRGB8(fakeB, input.netW, input.netH, 'nearest', input.crop);
}

beforeAll(() => {
  mkdirSync(inDir, { recursive: true });
  writeImage('good.png', randomImage(13, 11, 1));
});

afterAll(() => {
  releaseNodeGPU();
  rmSync(tmp, { recursive: true, force: true });
});

describe('enhance: bad inputs fail cleanly and write nothing', () => {
  const outDir = join(tmp, 'out-fail');
  beforeAll(() => mkdirSync(outDir, { recursive: true }));

  const png = () => readFileSync(join(inDir, 'good.png'));
  const jpg = () => readFileSync(join(DECODE, 'photo.jpg'));
  const cases: [string, () => Uint8Array | string, RegExp][] = [
    ['truncated.png', () => png().subarray(0, png().length - 40), /truncated PNG/],
    ['corrupt.png', () => { const b = Buffer.from(png()); b[b.length - 30] ^= 0xff; return b; }, /corrupt PNG/],
    ['truncated.jpg', () => jpg().subarray(0, jpg().length >> 1), /truncated JPEG/],
    ['corrupt.jpg', () => {
      // A damaged Huffman table: libjpeg refuses it.
      const b = Buffer.from(jpg());
      const dht = b.indexOf(Buffer.from([0xff, 0xc4]));
      b.fill(0xab, dht + 4, dht + 30);
      return b;
    }, /corrupt or unsupported JPEG/],
    ['truncated.webp', () => { const b = readFileSync(join(DECODE, 'photo-lossy.webp')); return b.subarray(0, b.length >> 1); }, /corrupt or unsupported WebP/],
    ['notes.png', () => 'this is a text file, not a picture\n', /not a supported image/],
    ['empty.png', () => new Uint8Array(0), /the file is empty/],
    ['animation.gif', () => Buffer.concat([Buffer.from('GIF89a'), Buffer.alloc(32)]), /GIF images are not supported/],
    ['bitmap.bmp', () => Buffer.concat([Buffer.from('BM'), Buffer.alloc(52)]), /BMP images are not supported/],
    ['cmyk.jpg', () => readFileSync(join(DECODE, 'photo-cmyk.jpg')), /CMYK/],
    ['ascii.ppm', () => 'P3\n2 2\n255\n0 0 0 0 0 0 0 0 0 0 0 0\n', /only binary/],
    // A 200 000-digit width once overflowed the call stack while being parsed.
    ['digits.ppm', () => `P6\n${'9'.repeat(200_000)} 1\n255\n`, /corrupt PPM\/PGM header/],
  ];
  for (const [name, bytes, why] of cases) {
    it(`${name}: exit 1, one line naming the file and the problem`, async () => {
      const input = join(tmp, name);
      writeFileSync(input, bytes());
      const before = listing(outDir);
      const r = await enhance(input, '-o', join(outDir, 'out.png'));
      expect(r.code).toBe(1);
      expectCleanFailure(r, outDir, before, new RegExp(name.replace('.', '\\.')), why);
    });
  }

  it('a missing input: exit 1, "no such file"', async () => {
    const r = await enhance(join(tmp, 'nope.png'), '-o', join(outDir, 'out.png'));
    expectCleanFailure(r, outDir, [], /nope\.png: no such file/);
  });

  it('an unknown option or a missing -o: exit 2 with usage after the error line', async () => {
    const r = await cli('enhance', join(inDir, 'good.png'), '--bogus');
    expect(r.code).toBe(2);
    expect(r.err[0]).toMatch(/^nerco-webgpu: .*bogus/);
    expect(r.err[1]).toMatch(/^nerco-webgpu enhance <input image\|dir> -o/);
    const r2 = await cli('enhance', join(inDir, 'good.png'));
    expect(r2.code).toBe(2);
    expect(r2.err[0]).toMatch(/-o <output> is required/);
    expect(r2.err[1]).toMatch(/^nerco-webgpu enhance <input image\|dir> -o/);
  });

  it('--fit resize of a 3×3 image is refused, naming the image and the minimum', async () => {
    const input = writeImage('three.png', randomImage(3, 3, 5), tmp);
    const r = await enhance(input, '-o', join(outDir, 'three-out.png'), '--fit', 'resize');
    expectCleanFailure(r, outDir, [], /three\.png: image is 3×3 px/, /at least 8×8/, /fit 'pad'/);
  });

  it('an image above the device limits fails with LIMIT_EXCEEDED naming maxStorageBufferBindingSize, before decoding', async () => {
    // The widest full-resolution map of the tiny model has 16 channels (netH). A panorama so wide
    // that not even a few rows of that map fit one storage binding: refused however the pass is
    // organised (whole maps or row bands). One row high, so the PNG stays small.
    const rt = await Runtime.create();
    const limit = rt.limits.maxStorageBufferBindingSize;
    rt.destroy();
    const widest = Math.max(TINY_CONFIG.ga.ngf, TINY_CONFIG.pre.ngf, TINY_CONFIG.h.ngf);
    const width = 4 * Math.ceil(limit / (widest * 4) / 4) + 4;
    const input = join(tmp, 'panorama.png');
    writeFileSync(input, encodePNG({ width, height: 1, data: new Uint8Array(width * 3).fill(40) }));
    const r = await enhance(input, '-o', join(outDir, 'panorama-out.png'));
    expect(r.code).toBe(1);
    expectCleanFailure(r, outDir, [], /panorama\.png/, /maxStorageBufferBindingSize/);
  });
});

describe('enhance: checkpoint problems through --weights', () => {
  const outDir = join(tmp, 'out-weights');
  beforeAll(() => mkdirSync(outDir, { recursive: true }));

  async function withWeights(weights: string): Promise<Run> {
    return cli('enhance', join(inDir, 'good.png'), '-o', join(outDir, 'x.png'), '--weights', weights);
  }

  it('a truncated combined file: CHECKPOINT error naming the file', async () => {
    const bad = join(tmp, 'cut.safetensors');
    const bytes = readFileSync(WEIGHTS);
    writeFileSync(bad, bytes.subarray(0, bytes.length - 100));
    expectCleanFailure(await withWeights(bad), outDir, [], /cut\.safetensors: safetensors: .*truncated/);
  });

  it('Pre\'s checkpoint in G_A\'s place: says which net the file looks like', async () => {
    const dir = join(tmp, 'swapped');
    mkdirSync(dir);
    symlinkSync(join(SHARED_WEIGHTS, 'latest_net_Pre.pth'), join(dir, 'latest_net_G_A.pth'));
    symlinkSync(join(SHARED_WEIGHTS, 'latest_net_Pre.pth'), join(dir, 'latest_net_Pre.pth'));
    symlinkSync(join(SHARED_WEIGHTS, 'latest_net_H.pth'), join(dir, 'latest_net_H.pth'));
    expectCleanFailure(await withWeights(dir), outDir, [], /latest_net_G_A\.pth \(G_A\): this looks like a Pre checkpoint/);
  });

  it('a pickle calling posix.system is refused at its GLOBAL opcode', async () => {
    const dir = join(tmp, 'evil');
    mkdirSync(dir);
    copyFileSync(join(CHECKPOINTS, 'malicious_posix_system.pt'), join(dir, 'latest_net_G_A.pth'));
    symlinkSync(join(SHARED_WEIGHTS, 'latest_net_Pre.pth'), join(dir, 'latest_net_Pre.pth'));
    symlinkSync(join(SHARED_WEIGHTS, 'latest_net_H.pth'), join(dir, 'latest_net_H.pth'));
    expectCleanFailure(await withWeights(dir), outDir, [], /latest_net_G_A\.pth: pickle: refusing the global "posix\.system"/);
  });

  it('a directory without the checkpoints names the missing file', async () => {
    const dir = join(tmp, 'empty-weights');
    mkdirSync(dir);
    expectCleanFailure(await withWeights(dir), outDir, [], /latest_net_G_A\.pth: not found/);
  });
});

describe('enhance: never overwrites without --force', () => {
  const outDir = join(tmp, 'out-force');

  it('refuses an existing output (content and mtime untouched); --force replaces it atomically', async () => {
    mkdirSync(outDir, { recursive: true });
    const target = join(outDir, 'keep.png');
    writeFileSync(target, 'precious');
    const old = new Date('2001-02-03T04:05:06Z');
    utimesSync(target, old, old);

    const r = await enhance(join(inDir, 'good.png'), '-o', target);
    expectCleanFailure(r, outDir, ['keep.png'], /keep\.png: file exists \(use --force to overwrite\)/);
    expect(readFileSync(target, 'utf8')).toBe('precious');
    expect(statSync(target).mtimeMs).toBe(old.getTime());

    const forced = await enhance(join(inDir, 'good.png'), '-o', target, '--force');
    expect(forced.code, forced.err.join('\n')).toBe(0);
    expect(listing(outDir)).toEqual(['keep.png']);
    const img = await decodeImageFile(target);
    expect([img.width, img.height]).toEqual([13, 11]);
    expect(img.data).toEqual(cpuEnhancePadTolerant(img.data, cpuEnhancePad(await decodeImageFile(join(inDir, 'good.png')))));
  });

  it('refuses to write over its own input, even with --force', async () => {
    const input = writeImage('self.png', randomImage(9, 9, 8), tmp);
    const before = readFileSync(input);
    const r = await enhance(input, '-o', input, '--force');
    expect(r.code).toBe(2);
    expect(r.err[0]).toMatch(/self\.png: is the input image/);
    expect(readFileSync(input)).toEqual(before);
  });

  it('refuses an output that is a directory, not named .png, or in a missing directory: before any GPU work', async () => {
    const dir = join(tmp, 'a-directory.png');
    mkdirSync(dir);
    const asDir = await enhance(join(inDir, 'good.png'), '-o', dir);
    expect(asDir.code).toBe(1);
    expect(asDir.err).toEqual([`nerco-webgpu: ${dir}: is a directory; give a file name`]);
    const jpg = await enhance(join(inDir, 'good.png'), '-o', join(tmp, 'out.jpg'));
    expect(jpg.code).toBe(2);
    expect(jpg.err[0]).toMatch(/out\.jpg: the output is written as PNG; give it a \.png name/);
    expect(existsSync(join(tmp, 'out.jpg'))).toBe(false);
    const missing = await enhance(join(inDir, 'good.png'), '-o', join(tmp, 'nowhere', 'out.png'));
    expect(missing.code).toBe(1);
    expect(missing.err).toEqual([`nerco-webgpu: ${join(tmp, 'nowhere')}: no such directory`]);
    expect(existsSync(join(tmp, 'nowhere'))).toBe(false);
  });
});

/**
 * GPU and CPU agree to float rounding, so a byte may differ by one where the value sits on a
 * rounding boundary: returns `want` with such ±1 differences replaced by `got`'s bytes, so that
 * toEqual reports any larger difference.
 */
function cpuEnhancePadTolerant(got: Uint8Array, want: Uint8Array): Uint8Array {
  expect(got.length).toBe(want.length);
  return Uint8Array.from(want, (v, i) => (Math.abs(v - got[i]!) <= 1 ? got[i]! : v));
}

describe('enhance <dir> -o <dir>: batch', () => {
  const batchIn = join(tmp, 'batch-in');
  const batchOut = join(tmp, 'batch-out');
  let run: Run;
  // Unusual but valid PNGs, each next to its Pillow convert('RGB') saved as plain 8-bit RGB.
  const CONVERTED = ['rgb16.png', 'gray8.png', 'gray16.png', 'gray1.png', 'palette4.png', 'palette8-trns.png', 'la8.png', 'rgba8.png', 'rgba16.png'];
  const TINY: [string, number, number][] = [['tiny-1x1.png', 1, 1], ['tiny-5x7.png', 5, 7], ['tiny-7x7.png', 7, 7]];
  const BAD = ['broken.png', 'text.jpg', 'clip.gif'];

  beforeAll(async () => {
    mkdirSync(batchIn, { recursive: true });
    for (const f of CONVERTED) {
      copyFileSync(join(DECODE, f), join(batchIn, f));
      const rgb = new Uint8Array(readFileSync(join(DECODE, `${f}.rgb`)));
      writeImage(`${f.replace('.png', '')}-pillow.png`, { width: 13, height: 9, data: rgb }, batchIn);
    }
    TINY.forEach(([name, w, h], i) => writeImage(name, randomImage(w, h, 20 + i), batchIn));
    writeFileSync(join(batchIn, 'broken.png'), readFileSync(join(inDir, 'good.png')).subarray(0, 60));
    writeFileSync(join(batchIn, 'text.jpg'), 'not a jpeg');
    writeFileSync(join(batchIn, 'clip.gif'), Buffer.concat([Buffer.from('GIF89a'), Buffer.alloc(20)]));
    writeFileSync(join(batchIn, 'readme.txt'), 'ignored: not an image extension');
    // Two inputs with one stem would write one output: the second is refused, not overwritten.
    copyFileSync(join(DECODE, 'photo.jpg'), join(batchIn, 'dup.jpg'));
    copyFileSync(join(inDir, 'good.png'), join(batchIn, 'dup.png'));
    run = await cli('enhance', batchIn, '-o', batchOut, '--weights', WEIGHTS);
  });

  it('goes on past bad files, reports each on one line at the end, and exits 1', () => {
    expect(run.code).toBe(1);
    const report = run.err.slice(run.err.findIndex((l) => /images? failed:$/.test(l)));
    expect(report[0]).toBe(`${BAD.length + 1} images failed:`);
    const failed = report.slice(1).map((l) => l.trim().split(':')[0]).sort();
    expect(failed).toEqual([...BAD, 'dup.png'].sort());
    expect(report.find((l) => l.includes('dup.png:'))).toMatch(/dup\.jpg already writes/);
    for (const l of run.err) expect(l).not.toMatch(/\n|\bat .*\.(ts|js):\d+/);
    const total = CONVERTED.length * 2 + TINY.length + BAD.length + 2;
    expect(run.out).toContain(`${total - BAD.length - 1} of ${total} images enhanced`);
  });

  it('writes every good image and nothing for the bad ones (no temporary files either)', () => {
    const expected = [...CONVERTED.flatMap((f) => [f, f.replace('.png', '-pillow.png')]), ...TINY.map(([n]) => n), 'dup.png'];
    expect(listing(batchOut)).toEqual(expected.sort());
  });

  it('16-bit, gray, palette and alpha PNGs enhance exactly like their Pillow convert("RGB")', () => {
    for (const f of CONVERTED) {
      const ours = readFileSync(join(batchOut, f));
      const pillow = readFileSync(join(batchOut, f.replace('.png', '-pillow.png')));
      expect(ours.equals(pillow), f).toBe(true);
    }
  });

  it('tiny images (1×1, 5×7, 7×7) are padded, enhanced and cropped back: the CPU reference within ±1', async () => {
    for (const [name, w, h] of TINY) {
      const got = await decodeImageFile(join(batchOut, name));
      expect([got.width, got.height]).toEqual([w, h]);
      const want = cpuEnhancePad(await decodeImageFile(join(batchIn, name)));
      expect(got.data).toEqual(cpuEnhancePadTolerant(got.data, want));
    }
  });

  it('refuses to write outputs over its inputs (output directory = input directory)', async () => {
    const before = listing(batchIn).map((n) => [n, readFileSync(join(batchIn, n))] as const);
    const r = await cli('enhance', batchIn, '-o', batchIn, '--force', '--weights', WEIGHTS);
    expect(r.code).toBe(1);
    expect(r.err.some((l) => /rgb16\.png: .*is an input image/.test(l))).toBe(true);
    expect(r.err.some((l) => /dup\.jpg: .*dup\.png is an input image/.test(l))).toBe(true);
    for (const [n, bytes] of before) expect(readFileSync(join(batchIn, n)).equals(bytes), n).toBe(true);
  });

  it('a directory without images is an error, not a silent success', async () => {
    const empty = join(tmp, 'no-images');
    mkdirSync(empty);
    writeFileSync(join(empty, 'notes.txt'), 'x');
    const r = await cli('enhance', empty, '-o', join(tmp, 'no-images-out'), '--weights', WEIGHTS);
    expect(r.code).toBe(1);
    expect(r.err[0]).toMatch(/no-images: no images/);
    expect(existsSync(join(tmp, 'no-images-out'))).toBe(false);
  });
});
