import { promises as fs } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { InvalidArgumentError, NercoError } from '../errors.js';
import { enhanceImage } from '../nerco/enhance-image.js';
import { loadNeRCo } from '../nerco/load.js';
import type { NeRCoModel } from '../nerco/model.js';
import { decodeImageFile, encodePNG } from '../node/image-io.js';
import { writeFileAtomic } from '../node/fs-atomic.js';
import { oneOf, parse } from './args.js';

export const ENHANCE_USAGE = `nerco-webgpu enhance <input image|dir> -o <output.png|dir> [options]
  --weights <dir|file.safetensors>  official latest_net_*.pth directory or a converted file (default: shipped weights)
  --fit pad|resize                  pad (default): output has the input's size; resize: test.py's bicubic resize
  --rounding nearest|truncate       default: truncate with --fit resize (the reference), nearest with pad
  --raw <out.f32>                   also write fake_B, float32 little-endian CHW (single image only)
  --adapter <substring>             require an adapter whose name contains this
  --force                           overwrite existing outputs`;

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.bmp', '.ppm', '.pgm', '.pnm', '.tif', '.tiff']);

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await fs.stat(path)).isDirectory();
  } catch {
    return false;
  }
}

export interface Output {
  readonly log: (line: string) => void;
  readonly warn: (line: string) => void;
}

export async function runEnhance(argv: string[], io: Output): Promise<number> {
  const { values, positionals } = parse(argv, {
    output: { type: 'string', short: 'o' },
    weights: { type: 'string' },
    fit: { type: 'string' },
    rounding: { type: 'string' },
    raw: { type: 'string' },
    adapter: { type: 'string' },
    force: { type: 'boolean' },
  });
  if (positionals.length !== 1) throw new InvalidArgumentError(`expected one input (got ${positionals.length})\n${ENHANCE_USAGE}`);
  if (!values.output) throw new InvalidArgumentError(`-o <output> is required\n${ENHANCE_USAGE}`);
  const input = positionals[0]!;
  const fit = oneOf(values.fit, ['pad', 'resize'] as const, '--fit', 'pad');
  const rounding = oneOf(values.rounding, ['nearest', 'truncate'] as const, '--rounding', fit === 'resize' ? 'truncate' : 'nearest');
  const force = values.force ?? false;
  const batch = await isDirectory(input);
  if (!batch) await fs.access(input).catch(() => { throw new NercoError('IO', `${input}: no such file`); });
  if (batch && values.raw) throw new InvalidArgumentError('--raw works with a single input image, not a directory');
  if (!batch && !force && (await fs.stat(values.output).then(() => true, () => false))) {
    throw new NercoError('IO', `${values.output}: file exists (use --force to overwrite)`);
  }

  const model = await loadNeRCo(values.weights, { adapter: values.adapter });
  try {
    if (!batch) {
      await enhanceOne(model, input, values.output, { fit, rounding, force, raw: values.raw });
      io.log(`${input} → ${values.output}`);
      return 0;
    }
    return await enhanceDirectory(model, input, values.output, { fit, rounding, force }, io);
  } finally {
    model.destroy();
  }
}

interface OneOptions {
  readonly fit: 'pad' | 'resize';
  readonly rounding: 'nearest' | 'truncate';
  readonly force: boolean;
  readonly raw?: string;
}

async function enhanceOne(model: NeRCoModel, input: string, output: string, o: OneOptions): Promise<void> {
  const image = await decodeImageFile(input);
  const { image: out, fakeB } = await enhanceImage(model, image, { fit: o.fit, rounding: o.rounding });
  // Everything is computed before anything is written, so a failure leaves no partial output.
  const png = encodePNG(out);
  if (o.raw) await writeFileAtomic(o.raw, new Uint8Array(fakeB.buffer, fakeB.byteOffset, fakeB.byteLength), { force: o.force });
  await writeFileAtomic(output, png, { force: o.force });
}

async function enhanceDirectory(model: NeRCoModel, dir: string, outDir: string, o: OneOptions, io: Output): Promise<number> {
  await fs.mkdir(outDir, { recursive: true });
  const names = (await fs.readdir(dir)).filter((n) => IMAGE_EXTENSIONS.has(extname(n).toLowerCase())).sort();
  const failed: string[] = [];
  for (const name of names) {
    const target = join(outDir, `${basename(name, extname(name))}.png`);
    try {
      await enhanceOne(model, join(dir, name), target, o);
      io.log(`${join(dir, name)} → ${target}`);
    } catch (e) {
      if (e instanceof NercoError && (e.code === 'DEVICE_LOST')) throw e;
      failed.push(`${name}: ${(e as Error).message}`);
    }
  }
  io.log(`${names.length - failed.length} of ${names.length} images enhanced`);
  if (failed.length) {
    for (const f of failed) io.warn(`failed: ${f}`);
    return 1;
  }
  return 0;
}
