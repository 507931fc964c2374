import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NercoError } from '../../src/errors.js';
import { writeFileAtomic } from '../../src/node/fs-atomic.js';

describe('writeFileAtomic', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'nerco-atomic-')); });
  afterEach(() => { rmSync(dir, { recursive: true, force: true }); });

  it('writes a new file and leaves no temporary file behind', async () => {
    const path = join(dir, 'out.png');
    await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    expect(Array.from(readFileSync(path))).toEqual([1, 2, 3]);
    expect(readdirSync(dir)).toEqual(['out.png']);
  });

  it('refuses to overwrite without force (NercoError IO) and keeps the old content', async () => {
    const path = join(dir, 'out.png');
    writeFileSync(path, 'old');
    const err = await writeFileAtomic(path, new Uint8Array([9])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NercoError);
    expect((err as NercoError).code).toBe('IO');
    expect((err as NercoError).message).toContain('file exists');
    expect(readFileSync(path, 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['out.png']);
  });

  it('overwrites with force', async () => {
    const path = join(dir, 'out.png');
    writeFileSync(path, 'old');
    await writeFileAtomic(path, new Uint8Array([104, 105]), { force: true });
    expect(readFileSync(path, 'utf8')).toBe('hi');
    expect(readdirSync(dir)).toEqual(['out.png']);
  });

  it('reports a missing directory as NercoError IO', async () => {
    const err = await writeFileAtomic(join(dir, 'no', 'such', 'dir.png'), new Uint8Array([1])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NercoError);
    expect((err as NercoError).code).toBe('IO');
  });
});
