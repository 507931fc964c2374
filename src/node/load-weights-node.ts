/**
 * Node-only: loads NeRCo weights from a path (a directory with the three official checkpoints,
 * or one combined .safetensors file).
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, NercoError } from '../errors.js';
import { type NeRCoWeights, OFFICIAL_FILE_NAMES, parseNeRCoWeights, type WeightsFile } from '../nerco/load-weights.js';

function ioError(path: string, what: string, err: unknown): NercoError {
  const code = (err as NodeJS.ErrnoException).code;
  const reason = code === 'ENOENT' ? 'no such file or directory' : code ?? (err instanceof Error ? err.message : String(err));
  return new NercoError('IO', `${path}: ${what} (${reason})`, { cause: err });
}

async function readWeightsFile(path: string): Promise<WeightsFile> {
  try {
    const buf = await fs.readFile(path);
    return { name: path, bytes: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength) };
  } catch (err) {
    throw ioError(path, 'cannot read weights file', err);
  }
}

/**
 * `path` is either a directory holding latest_net_G_A.pth, latest_net_Pre.pth and
 * latest_net_H.pth (as the original's checkpoints/<name>/ does), or a combined .safetensors file.
 */
export async function readNeRCoWeightsFromPath(path: string): Promise<NeRCoWeights> {
  let stat;
  try {
    stat = await fs.stat(path);
  } catch (err) {
    throw ioError(path, 'cannot open weights', err);
  }
  if (stat.isDirectory()) {
    const names = Object.values(OFFICIAL_FILE_NAMES);
    const files: WeightsFile[] = [];
    for (const name of names) {
      const file = join(path, name);
      try {
        files.push(await readWeightsFile(file));
      } catch (err) {
        if ((err as { cause?: NodeJS.ErrnoException }).cause?.code === 'ENOENT') {
          throw new NercoError('IO', `${file}: not found; a weights directory must hold ${names.join(', ')}`, { cause: err });
        }
        throw err;
      }
    }
    return parseNeRCoWeights(files);
  }
  if (!/\.safetensors$/i.test(path)) {
    throw new InvalidArgumentError(
      `${path}: expected a directory holding ${Object.values(OFFICIAL_FILE_NAMES).join(', ')}, or a combined .safetensors file`);
  }
  return parseNeRCoWeights([await readWeightsFile(path)]);
}
