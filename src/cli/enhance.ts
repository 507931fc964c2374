import { constants as fsConstants, promises as fs } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { InvalidArgumentError, NercoError } from '../errors.js';
import { checkImageFits, enhanceImage } from '../nerco/enhance-image.js';
import { loadNeRCo } from '../nerco/load.js';
import type { NeRCoModel } from '../nerco/model.js';
import { decodeImageFile, encodePNG } from '../node/image-io.js';
import { writeFileAtomic } from '../node/fs-atomic.js';
import { oneOf, parse, UsageError } from './args.js';

export const ENHANCE_USAGE = `nerco-webgpu enhance <input image|dir> -o <output.png|dir> [options]
  --weights <dir|file.safetensors>  official latest_net_*.pth directory or a converted file (default: shipped weights)
  --fit pad|resize                  pad (default): output has the input's size; resize: test.py's bicubic resize
  --rounding nearest|truncate       default: truncate with --fit resize (the reference), nearest with pad
  --raw <out.f32>                   also write fake_B, float32 little-endian CHW (single image only)
  --adapter <substring>             require an adapter whose name contains this
  --force                           overwrite existing outputs`;

// Everything the decoder recognises, unsupported formats included, so that a batch reports a
// GIF or TIFF as unsupported instead of skipping it silently.
const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.bmp', '.ppm', '.pgm', '.pnm', '.tif', '.tiff', '.gif']);

type PathKind = 'file' | 'directory' | 'other' | 'missing';

async function pathKind(path: string): Promise<PathKind> {
  try {
    const st = await fs.stat(path);
    return st.isDirectory() ? 'directory' : st.isFile() ? 'file' : 'other';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    throw new NercoError('IO', `${path}: cannot access (${code ?? String(err)})`, { cause: err });
  }
}

/** Fails early (before any GPU work) when outputs could not be written into `dir`. */
async function checkWritableDirectory(dir: string): Promise<void> {
  const kind = await pathKind(dir);
  if (kind === 'missing') throw new NercoError('IO', `${dir}: no such directory`);
  if (kind !== 'directory') throw new NercoError('IO', `${dir}: not a directory`);
  await fs.access(dir, fsConstants.W_OK).catch((err: NodeJS.ErrnoException) => {
    throw new NercoError('IO', `${dir}: cannot write here (${err.code ?? err.message})`, { cause: err });
  });
}

/** The same file (after symlinks) or, when either does not exist, the same absolute path. */
async function samePath(a: string, b: string): Promise<boolean> {
  const real = (p: string) => fs.realpath(p).catch(() => resolve(p));
  return (await real(a)) === (await real(b));
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
  if (positionals.length !== 1) throw new UsageError(`expected one input (got ${positionals.length})`);
  if (!values.output) throw new UsageError('-o <output> is required');
  const input = positionals[0]!;
  const output = values.output;
  const fit = oneOf(values.fit, ['pad', 'resize'] as const, '--fit', 'pad');
  const rounding = oneOf(values.rounding, ['nearest', 'truncate'] as const, '--rounding', fit === 'resize' ? 'truncate' : 'nearest');
  const force = values.force ?? false;
  const opts: OneOptions = { fit, rounding, force, raw: values.raw };

  // Every check that needs no GPU comes first: a mistake costs nothing and touches nothing.
  const kind = await pathKind(input);
  if (kind === 'missing') throw new NercoError('IO', `${input}: no such file`);
  if (kind === 'other') throw new NercoError('IO', `${input}: not a regular file or directory`);
  const batch = kind === 'directory';
  if (batch) {
    if (values.raw) throw new InvalidArgumentError('--raw works with a single input image, not a directory');
    const outKind = await pathKind(output);
    if (outKind !== 'missing' && outKind !== 'directory') throw new NercoError('IO', `${output}: exists and is not a directory`);
    const jobs = await planDirectory(input, output);
    if (!jobs.length) throw new NercoError('IO', `${input}: no images (looked for ${[...IMAGE_EXTENSIONS].join(' ')})`);
    const model = await loadNeRCo(values.weights, { adapter: values.adapter });
    try {
      await fs.mkdir(output, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
        throw new NercoError('IO', `${output}: cannot create the directory (${err.code ?? err.message})`, { cause: err });
      });
      return await enhanceDirectory(model, jobs, opts, io);
    } finally {
      model.destroy();
    }
  }

  if (extname(output).toLowerCase() !== '.png') {
    throw new InvalidArgumentError(`${output}: the output is written as PNG; give it a .png name (or a directory for a batch)`);
  }
  for (const target of [output, ...(values.raw ? [values.raw] : [])]) {
    if (await samePath(target, input)) throw new InvalidArgumentError(`${target}: is the input image; choose another output`);
    const targetKind = await pathKind(target);
    if (targetKind === 'directory') throw new NercoError('IO', `${target}: is a directory; give a file name`);
    if (targetKind !== 'missing' && !force) throw new NercoError('IO', `${target}: file exists (use --force to overwrite)`);
    await checkWritableDirectory(dirname(target));
  }
  if (values.raw && await samePath(values.raw, output)) throw new InvalidArgumentError('--raw and -o name the same file');
  const model = await loadNeRCo(values.weights, { adapter: values.adapter });
  try {
    await enhanceOne(model, input, output, opts);
    io.log(`${input} → ${output}`);
    return 0;
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

/** Errors about an image say which one: prefix the input's name where the message lacks it. */
function naming(err: unknown, input: string): unknown {
  if (err instanceof NercoError && !err.message.includes(input)) err.message = `${input}: ${err.message}`;
  return err;
}

async function enhanceOne(model: NeRCoModel, input: string, output: string, o: OneOptions): Promise<void> {
  let png: Uint8Array;
  let fakeB: Float32Array;
  try {
    // The size is checked against the device as soon as the header is read, before decoding.
    const image = await decodeImageFile(input, { checkSize: (w, h) => checkImageFits(model, w, h, o.fit) });
    const result = await enhanceImage(model, image, { fit: o.fit, rounding: o.rounding });
    fakeB = result.fakeB;
    // Everything is computed before anything is written, so a failure leaves no partial output.
    png = encodePNG(result.image);
  } catch (err) {
    throw naming(err, input);
  }
  // The image first: if it cannot be written, no --raw file is left beside a missing output.
  await writeFileAtomic(output, png, { force: o.force });
  if (o.raw) await writeFileAtomic(o.raw, new Uint8Array(fakeB.buffer, fakeB.byteOffset, fakeB.byteLength), { force: o.force });
}

interface BatchJob {
  readonly name: string;
  readonly input: string;
  readonly output: string;
  /** Set when the job is refused before any work (e.g. two inputs would write one output). */
  readonly refused?: string;
}

/** The images of `dir` in name order, each with its output `<outDir>/<stem>.png`. */
async function planDirectory(dir: string, outDir: string): Promise<BatchJob[]> {
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new NercoError('IO', `${dir}: cannot list the directory (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
  }
  const names = entries
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase()))
    .map((e) => e.name)
    .sort();
  const inputs = new Set(await Promise.all(names.map((n) => fs.realpath(join(dir, n)).catch(() => resolve(dir, n)))));
  const claimed = new Map<string, string>();
  const jobs: BatchJob[] = [];
  for (const name of names) {
    const output = join(outDir, `${basename(name, extname(name))}.png`);
    const key = resolve(output);
    const first = claimed.get(key);
    let refused: string | undefined;
    // Never write over an input (--force or not), nor twice to one output in a run.
    if (inputs.has(await fs.realpath(output).catch(() => key))) refused = `${output} is an input image; use another output directory`;
    else if (first) refused = `${first} already writes ${output}`;
    else claimed.set(key, name);
    jobs.push({ name, input: join(dir, name), output, refused });
  }
  return jobs;
}

async function enhanceDirectory(model: NeRCoModel, jobs: readonly BatchJob[], o: OneOptions, io: Output): Promise<number> {
  const failed: string[] = [];
  for (const job of jobs) {
    try {
      if (job.refused) throw new NercoError('IO', job.refused);
      await enhanceOne(model, job.input, job.output, o);
      io.log(`${job.input} → ${job.output}`);
    } catch (e) {
      // A lost device fails every later image too: stop, with the report so far.
      if (e instanceof NercoError && e.code === 'DEVICE_LOST') {
        reportFailures(failed, io);
        throw e;
      }
      const message = e instanceof NercoError ? e.message : `${(e as Error)?.name ?? 'Error'}: ${(e as Error)?.message ?? String(e)}`;
      const line = message.split('\n')[0]!.replace(`${job.input}: `, '');
      failed.push(`${job.name}: ${line}`);
      io.warn(`nerco-webgpu: ${job.name}: ${line}`);
    }
  }
  io.log(`${jobs.length - failed.length} of ${jobs.length} images enhanced`);
  reportFailures(failed, io);
  return failed.length ? 1 : 0;
}

function reportFailures(failed: readonly string[], io: Output): void {
  if (!failed.length) return;
  io.warn(`${failed.length} image${failed.length > 1 ? 's' : ''} failed:`);
  for (const f of failed) io.warn(`  ${f}`);
}
