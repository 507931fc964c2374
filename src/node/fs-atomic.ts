/**
 * Writing output files so that a reader never sees a half-written file and an existing file is
 * never clobbered by accident.
 */
import { promises as fs, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { NercoError } from '../errors.js';

/** Temporary files of writes in progress, for `removePendingTemporaryFiles`. */
const pending = new Set<string>();

/**
 * Removes the temporary files of writes still in progress. Synchronous, for a signal handler:
 * an interrupted run then leaves neither a half-written output nor a stray temporary file.
 */
export function removePendingTemporaryFiles(): void {
  for (const temp of pending) {
    try {
      rmSync(temp, { force: true });
    } catch {
      // Nothing more can be done while exiting.
    }
  }
  pending.clear();
}

export interface WriteFileAtomicOptions {
  /** Replace an existing file at `path` (default false: refuse with a NercoError 'IO'). */
  force?: boolean;
}

/**
 * Writes `bytes` to a temporary file in the target's directory (same file system, so the final
 * step is a rename, not a copy), then moves it into place. Without `force`, the move is a hard
 * link, which fails atomically if the target appeared meanwhile; file systems without hard links
 * fall back to an existence check followed by a rename.
 */
export async function writeFileAtomic(
  path: string, bytes: Uint8Array, options: WriteFileAtomicOptions = {},
): Promise<void> {
  const force = options.force ?? false;
  if (!force && await exists(path)) {
    throw new NercoError('IO', `${path}: file exists (use --force to overwrite)`);
  }
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  pending.add(temp);
  try {
    await fs.writeFile(temp, bytes, { flag: 'wx' });
  } catch (err) {
    await fs.rm(temp, { force: true }).catch(() => undefined);
    pending.delete(temp);
    throw ioError(path, 'cannot write', err);
  }
  try {
    if (force) {
      await fs.rename(temp, path);
    } else {
      await linkNoClobber(temp, path);
    }
  } catch (err) {
    if (err instanceof NercoError) throw err;
    throw ioError(path, 'cannot move the written file into place', err);
  } finally {
    await fs.rm(temp, { force: true }).catch(() => undefined);
    pending.delete(temp);
  }
}

async function linkNoClobber(temp: string, path: string): Promise<void> {
  try {
    await fs.link(temp, path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      throw new NercoError('IO', `${path}: file exists (use --force to overwrite)`);
    }
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS' || code === 'EXDEV') {
      if (await exists(path)) throw new NercoError('IO', `${path}: file exists (use --force to overwrite)`);
      await fs.rename(temp, path);
      return;
    }
    throw err;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await fs.lstat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw ioError(path, 'cannot check the output path', err);
  }
}

function ioError(path: string, what: string, err: unknown): NercoError {
  const reason = (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
  return new NercoError('IO', `${path}: ${what} (${reason})`, { cause: err });
}
