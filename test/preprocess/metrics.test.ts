/**
 * PSNR/SSIM against scikit-image 0.19.3 (numbers in fixtures/metrics/manifest.json, made by
 * make_metrics_fixtures.py). Both are float64 computations of the same formulas with different
 * summation orders, so agreement is to ~1e-12; the tolerances below are far tighter than any
 * definitional difference (e.g. sample vs population covariance moves SSIM by ~1e-3, a uniform
 * 7×7 window by ~1e-2).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { decodePNG } from '../../src/node/image-io.js';
import { psnr, ssim } from '../../src/nerco/metrics.js';

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'metrics');
interface Case { a: string; b: string; width: number; height: number; psnr: number; ssim: number }
const manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8')) as { cases: Case[] };

it('the metrics manifest lists its 3 cases (an empty list would test nothing)', () => {
  expect(manifest.cases).toHaveLength(3);
});

describe.each(manifest.cases.map((c) => [c.b, c] as const))('metrics on %s', (_name, c) => {
  const a = decodePNG(readFileSync(join(DIR, c.a)), c.a);
  const b = decodePNG(readFileSync(join(DIR, c.b)), c.b);

  it('PSNR matches skimage.metrics.peak_signal_noise_ratio', () => {
    expect(Math.abs(psnr(a.data, b.data) - c.psnr)).toBeLessThan(1e-9);
  });

  it('SSIM matches skimage.metrics.structural_similarity (gaussian, σ=1.5, population cov.)', () => {
    expect(Math.abs(ssim(a.data, b.data, c.width, c.height) - c.ssim)).toBeLessThan(1e-9);
  });
});

describe('metric edge cases', () => {
  const img = Uint8Array.from({ length: 12 * 11 * 3 }, (_, i) => (i * 37) % 256);

  it('identical images: PSNR = Infinity, SSIM = 1', () => {
    expect(psnr(img, img)).toBe(Infinity);
    expect(ssim(img, img, 12, 11)).toBeCloseTo(1, 12);
  });

  it('PSNR of a uniform error of 1 is 10·log10(255²)', () => {
    const b = img.map((v) => (v === 255 ? 254 : v + 1));
    expect(psnr(img, b)).toBeCloseTo(20 * Math.log10(255), 10);
  });

  it('rejects mismatched sizes and images smaller than the 11×11 window', () => {
    expect(() => psnr(img, img.subarray(3))).toThrow(InvalidArgumentError);
    expect(() => ssim(img, img, 13, 11)).toThrow(InvalidArgumentError);
    const small = new Uint8Array(10 * 11 * 3);
    expect(() => ssim(small, small, 10, 11)).toThrow(InvalidArgumentError);
  });
});
