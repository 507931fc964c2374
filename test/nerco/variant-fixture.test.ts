/**
 * A fixture the kernels were not written against (test/fixtures/variant-rc/make.py): another
 * seed, smaller widths and depths, and a bicubic resize to 164×44 where rc_w = 2 − 2⁻²³.
 * Through the CLI exactly as a user would run it: --fit resize --raw.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { decodeImageFile } from '../../src/node/image-io.js';
import { maxAbsDiff } from '../helpers/gpu.js';
import { readNpy } from '../helpers/npy.js';
import { repoPath } from '../helpers/shared-path.js';

const DIR = repoPath('test', 'fixtures', 'variant-rc');
const tmp = mkdtempSync(join(tmpdir(), 'nerco-variant-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('variant-width fixture at an rc ≠ 2 size, through the CLI', () => {
  it('fake_B within 1e-3 and the PNG within ±1 (≥ 99 % equal) of PyTorch', async () => {
    const out = join(tmp, 'out.png');
    const raw = join(tmp, 'out.f32');
    const lines: string[] = [];
    const code = await main(['enhance', join(DIR, 'input.png'), '-o', out, '--fit', 'resize', '--raw', raw, '--weights', DIR],
      { log: (l) => lines.push(l), warn: (l) => lines.push(l) });
    expect(code, lines.join('\n')).toBe(0);
    const bytes = readFileSync(raw);
    const fakeB = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    const err = maxAbsDiff(fakeB, readNpy(join(DIR, 'fake_B.npy')).data);
    console.log(`variant-rc fake_B max abs: ${err.toExponential(2)}`);
    expect(err).toBeLessThanOrEqual(1e-3);
    const [png, ref] = await Promise.all([decodeImageFile(out), decodeImageFile(join(DIR, 'out.png'))]);
    expect([png.width, png.height]).toEqual([164, 44]);
    let equal = 0;
    for (let i = 0; i < png.data.length; i++) {
      expect(Math.abs(png.data[i]! - ref.data[i]!)).toBeLessThanOrEqual(1);
      if (png.data[i] === ref.data[i]) equal++;
    }
    expect(equal / png.data.length).toBeGreaterThanOrEqual(0.99);
  });
});
