/**
 * Decoding against Pillow 9.4's `Image.open(f).convert('RGB')`: the fixtures and their expected
 * raw RGB bytes were made by make_decode_fixtures.py (Pillow, libjpeg-turbo, libwebp 1.2.4).
 * Every supported case is required to match exactly, JPEG included (libjpeg-turbo in wasm).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ImageError, NercoError } from '../../src/errors.js';
import { decodeImage, decodeImageFile, decodePNG, detectImageFormat, encodePNG } from '../../src/node/image-io.js';
import { sharedPath } from '../helpers/shared-path.js';

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'decode');
interface Case { file: string; pillowMode: string; width: number; height: number; expected: string | null }
interface SharedCase { path: string; width: number; height: number; sha256: string }
const manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8')) as { cases: Case[]; shared: SharedCase[] };
const fixtureBytes = (file: string): Buffer => readFileSync(join(DIR, file));

async function decodeError(bytes: Uint8Array, name: string): Promise<Error> {
  try {
    await decodeImage(bytes, name);
  } catch (err) {
    return err as Error;
  }
  throw new Error(`${name} decoded without error`);
}

describe('decodeImage matches Pillow convert("RGB")', () => {
  const supported = manifest.cases.filter((c) => c.expected !== null);
  it('the manifest lists the 28 decodable files and 2 shared WebPs (an empty list would test nothing)', () => {
    expect([supported.length, manifest.shared.length]).toEqual([28, 2]);
  });

  it.each(supported.map((c) => [`${c.file} (Pillow mode ${c.pillowMode})`, c] as const))('%s', async (_label, c) => {
    const img = await decodeImageFile(join(DIR, c.file));
    expect([img.width, img.height]).toEqual([c.width, c.height]);
    const expected = fixtureBytes(c.expected!);
    expect(img.data.length).toBe(expected.length);
    let differing = 0;
    for (let i = 0; i < expected.length; i++) if (img.data[i] !== expected[i]) differing++;
    expect(differing).toBe(0);
  });

  it.each(manifest.shared.map((s) => [s.path, s] as const))('shared lossless WebP %s', async (_p, s) => {
    const img = await decodeImageFile(sharedPath(...s.path.split('/')));
    expect([img.width, img.height]).toEqual([s.width, s.height]);
    expect(createHash('sha256').update(img.data).digest('hex')).toBe(s.sha256);
  });
});

describe('decoding errors', () => {
  const png = fixtureBytes('rgb8.png');
  const jpg = fixtureBytes('photo.jpg');

  it('rejects a truncated PNG', async () => {
    const err = await decodeError(png.subarray(0, png.length - 30), 'cut.png');
    expect(err).toBeInstanceOf(ImageError);
    expect(err.message).toBe('cut.png: truncated PNG');
  });

  it('rejects a PNG with a damaged chunk', async () => {
    const bad = Buffer.from(png);
    bad[bad.length - 20] ^= 0x55; // inside IDAT: CRC mismatch
    const err = await decodeError(bad, 'bad.png');
    expect(err).toBeInstanceOf(ImageError);
    expect(err.message).toMatch(/^bad\.png: corrupt PNG/);
  });

  it('accepts a PNG without IEND, as Pillow does', async () => {
    const img = await decodeImage(png.subarray(0, png.length - 12), 'no-iend.png');
    expect(Buffer.from(img.data).equals(fixtureBytes('rgb8.png.rgb'))).toBe(true);
  });

  it('rejects text named .png by content, with one line naming the file', async () => {
    const err = await decodeError(Buffer.from('just some text\n'), 'notes.png');
    expect(err).toBeInstanceOf(ImageError);
    expect(err.message).toMatch(/^notes\.png: not a supported image/);
    expect(err.message).not.toContain('\n');
  });

  it('detects the format by magic bytes, not the name', async () => {
    const img = await decodeImage(png, 'actually-a-png.jpg');
    expect(img.width).toBe(13);
    expect(detectImageFormat(jpg)).toBe('jpeg');
    expect(detectImageFormat(fixtureBytes('photo-lossy.webp'))).toBe('webp');
    expect(detectImageFormat(Buffer.from('GIF89a\x01\x00'))).toBe('gif');
    const gif = await decodeError(Buffer.from('GIF89a\x01\x00\x01\x00'), 'a.gif');
    expect(gif.message).toBe('a.gif: GIF images are not supported; convert to PNG');
  });

  it('rejects truncated JPEG and WebP, and CMYK JPEG', async () => {
    expect((await decodeError(jpg.subarray(0, jpg.length >> 1), 'cut.jpg')).message).toBe('cut.jpg: truncated JPEG');
    const webp = fixtureBytes('photo-lossless.webp');
    const w = await decodeError(webp.subarray(0, webp.length >> 1), 'cut.webp');
    expect(w).toBeInstanceOf(ImageError);
    expect(w.message).toMatch(/^cut\.webp: corrupt or unsupported WebP/);
    const cmyk = await decodeError(fixtureBytes('photo-cmyk.jpg'), 'cmyk.jpg');
    expect(cmyk.message).toMatch(/^cmyk\.jpg: CMYK\/YCCK JPEG is not supported/);
    // The decoder keeps working after errors.
    expect((await decodeImage(jpg, 'photo.jpg')).width).toBe(48);
  });

  it('reports a missing file as an IO error', async () => {
    const err = await decodeImageFile(join(DIR, 'does-not-exist.png')).catch((e: unknown) => e as NercoError);
    expect(err).toBeInstanceOf(NercoError);
    expect((err as NercoError).code).toBe('IO');
  });
});

describe('encodePNG', () => {
  it('writes 8-bit RGB without alpha that decodes to the same bytes', () => {
    const data = Uint8Array.from({ length: 7 * 5 * 3 }, (_, i) => (i * 53) % 256);
    const png = encodePNG({ width: 7, height: 5, data });
    expect(png[25]).toBe(2); // IHDR colour type: truecolour, no alpha
    expect(png[24]).toBe(8); // bit depth
    const back = decodePNG(png, 'roundtrip.png');
    expect([back.width, back.height]).toEqual([7, 5]);
    expect(Array.from(back.data)).toEqual(Array.from(data));
  });
});
