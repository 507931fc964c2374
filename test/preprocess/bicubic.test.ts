/**
 * Pillow 9.4 BICUBIC bit-exactness. The reference images were made by Pillow itself with
 * make_bicubic_fixtures.py (sources with hard 0/255 edges for the clamping, smooth gradients and
 * noise), for the __make_power_2 sizes of NERCO.md §11 plus arbitrary up/down scalings.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodePNG } from '../../src/node/image-io.js';
import { pillowBicubicResize } from '../../src/nerco/preprocess.js';

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'bicubic');

interface Case { source: string; expected: string; from: [number, number]; to: [number, number] }
const manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8')) as { cases: Case[] };

describe('pillowBicubicResize', () => {
  it('the manifest lists the 10 size pairs make_bicubic_fixtures.py writes (an empty list would test nothing)', () => {
    expect(manifest.cases).toHaveLength(10);
  });

  it.each(manifest.cases.map((c) => [`${c.from.join('×')} → ${c.to.join('×')}`, c] as const))(
    '%s is bit-exact with Pillow', (_label, c) => {
      const src = decodePNG(readFileSync(join(DIR, c.source)), c.source);
      const expected = decodePNG(readFileSync(join(DIR, c.expected)), c.expected);
      expect([src.width, src.height]).toEqual(c.from);
      expect([expected.width, expected.height]).toEqual(c.to);
      const out = pillowBicubicResize(src.data, src.width, src.height, c.to[0], c.to[1]);
      let differing = 0;
      for (let i = 0; i < out.length; i++) if (out[i] !== expected.data[i]) differing++;
      expect(differing).toBe(0);
      expect(out.length).toBe(expected.data.length);
    },
  );

  it('returns an unchanged copy when the size does not change', () => {
    const src = new Uint8Array([1, 2, 3, 4, 5, 6]);
    const out = pillowBicubicResize(src, 2, 1, 2, 1);
    expect(Array.from(out)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(out).not.toBe(src);
  });
});
