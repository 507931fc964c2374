import { promises as fs } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { NercoError } from '../errors.js';
import { enhanceImage } from '../nerco/enhance-image.js';
import { loadNeRCo } from '../nerco/load.js';
import { psnr, ssim } from '../nerco/metrics.js';
import { decodeImageFile } from '../node/image-io.js';
import { oneOf, parse, UsageError } from './args.js';
import type { Output } from './enhance.js';

export const EVAL_USAGE = `nerco-webgpu eval --data <dir with low/ and high/> [--weights <dir|file>] [--fit pad|resize] [--json] [--adapter <substring>]
  PSNR (RGB, 0–255) and SSIM (Gaussian 11×11, σ 1.5, per channel, mean) of the enhanced low/ images against high/`;

export interface EvalRow {
  readonly name: string;
  readonly psnr: number;
  readonly ssim: number;
}

const IMAGE = /\.(png|jpe?g|webp)$/i;

export async function runEval(argv: string[], io: Output): Promise<number> {
  const { values, positionals } = parse(argv, {
    data: { type: 'string' },
    weights: { type: 'string' },
    fit: { type: 'string' },
    json: { type: 'boolean' },
    adapter: { type: 'string' },
  });
  if (positionals.length || !values.data) throw new UsageError('--data <dir> is required');
  const fit = oneOf(values.fit, ['pad', 'resize'] as const, '--fit', 'pad');
  const lowDir = join(values.data, 'low');
  const highDir = join(values.data, 'high');
  const lows = (await listDirectory(lowDir)).filter((n) => IMAGE.test(n)).sort();
  const highs = await listDirectory(highDir);
  const highByStem = new Map(highs.filter((n) => IMAGE.test(n)).map((n) => [basename(n, extname(n)), n]));
  if (!lows.length) throw new NercoError('IO', `${lowDir}: no images`);
  // Every pair is known before the GPU is touched: a missing reference fails at once.
  const pairs = lows.map((name) => {
    const stem = basename(name, extname(name));
    const highName = highByStem.get(stem);
    if (!highName) throw new NercoError('IO', `${join(highDir, stem)}.*: no reference for ${name}`);
    return { name, stem, highName };
  });

  const model = await loadNeRCo(values.weights, { adapter: values.adapter });
  const rows: EvalRow[] = [];
  try {
    for (const { name, stem, highName } of pairs) {
      const [low, high] = await Promise.all([decodeImageFile(join(lowDir, name)), decodeImageFile(join(highDir, highName))]);
      const { image } = await enhanceImage(model, low, { fit });
      if (image.width !== high.width || image.height !== high.height) {
        throw new NercoError('IO', `${name}: output is ${image.width}×${image.height} but the reference is ${high.width}×${high.height}${fit === 'resize' ? ' (use --fit pad)' : ''}`);
      }
      const row = { name: stem, psnr: psnr(image.data, high.data), ssim: ssim(image.data, high.data, image.width, image.height) };
      rows.push(row);
      if (!values.json) io.log(`${stem.padEnd(12)} PSNR ${row.psnr.toFixed(2)} dB  SSIM ${row.ssim.toFixed(4)}`);
    }
  } finally {
    model.destroy();
  }
  const mean = (f: (r: EvalRow) => number) => rows.reduce((a, r) => a + f(r), 0) / rows.length;
  const summary = { images: rows.length, psnr: mean((r) => r.psnr), ssim: mean((r) => r.ssim) };
  if (values.json) io.log(JSON.stringify({ ...summary, perImage: rows }));
  else io.log(`mean over ${rows.length} images: PSNR ${summary.psnr.toFixed(2)} dB  SSIM ${summary.ssim.toFixed(4)}`);
  return 0;
}

async function listDirectory(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new NercoError('IO', `${dir}: ${code === 'ENOENT' ? 'no such directory' : code === 'ENOTDIR' ? 'not a directory' : (e as Error).message}`, { cause: e });
  }
}
