/**
 * Interrupted runs: the CLI's SIGINT/SIGTERM handler removes the temporary files of writes in
 * progress (removePendingTemporaryFiles), so a killed run leaves neither a half-written output
 * (outputs are renamed into place whole) nor a stray temporary file.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { NercoError } from '../../src/errors.js';
import { removePendingTemporaryFiles, writeFileAtomic } from '../../src/node/fs-atomic.js';

const tmp = mkdtempSync(join(tmpdir(), 'nerco-interrupt-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('interrupted writes', () => {
  it('removing the pending temporary file mid-write leaves no temporary file and no partial output', async () => {
    const target = join(tmp, 'big.png');
    const bytes = new Uint8Array(64 * 1024 * 1024).fill(7);
    const write = writeFileAtomic(target, bytes);
    // Wait until the temporary file exists (the write is under way), then do what the handler does.
    const deadline = Date.now() + 10_000;
    while (!readdirSync(tmp).some((n) => n.endsWith('.tmp')) && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    expect(readdirSync(tmp).some((n) => n.endsWith('.tmp'))).toBe(true);
    removePendingTemporaryFiles();
    const outcome = await write.then(() => 'written', (e: unknown) => e);
    expect(readdirSync(tmp).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    if (outcome === 'written') {
      // The rename won the race: then the output is complete, never partial.
      expect(statSync(target).size).toBe(bytes.length);
    } else {
      expect(outcome).toBeInstanceOf(NercoError);
      expect(existsSync(target)).toBe(false);
    }
  });

  it('main installs its signal handlers only while it runs', async () => {
    const counts = (): number[] => [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];
    const before = counts();
    let during: number[] = [];
    const lines: string[] = [];
    // main prints the usage while it runs: the handlers must be there then, and gone afterwards.
    const log = (l: string): void => { during = counts(); lines.push(l); };
    expect(await main(['--help'], { log, warn: log })).toBe(0);
    expect(during).toEqual([before[0]! + 1, before[1]! + 1]);
    expect(counts()).toEqual(before);
  });
});
