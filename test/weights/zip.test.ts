import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../../src/errors.js';
import { crc32, ZipReader } from '../../weights-tools/zip.js';
import { catchError, fixtureBytes, fixtureCopy } from './fixtures.js';

/** Offset of the end-of-central-directory record and of the first central entry, found by hand. */
function locate(bytes: Uint8Array): { eocd: number; firstCentral: number } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = bytes.length - 22;
  while (dv.getUint32(eocd, true) !== 0x06054b50) eocd--;
  return { eocd, firstCentral: dv.getUint32(eocd + 16, true) };
}

describe('crc32', () => {
  it('gives the standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    // Lengths that are not multiples of 4 exercise the byte-wise tail.
    expect(crc32(new TextEncoder().encode('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
  });
});

describe('ZipReader', () => {
  it('lists and reads a stored archive written by torch.save', () => {
    const zip = ZipReader.open(fixtureBytes('f32.pt'), 'f32.pt');
    const names = zip.entries.map((e) => e.name);
    expect(names).toContain('f32/data.pkl');
    expect(names).toContain('f32/data/0');
    expect(zip.entries.every((e) => e.method === 0)).toBe(true);
    expect(new TextDecoder().decode(zip.read('f32/version')).trim()).toBe('3');
  });

  it('reads deflated entries (re-zipped by Python zipfile) to the same bytes as the stored original', () => {
    const stored = ZipReader.open(fixtureBytes('strided.pt'), 'strided.pt');
    const deflated = ZipReader.open(fixtureBytes('deflated.pt'), 'deflated.pt');
    expect(deflated.entries.every((e) => e.method === 8)).toBe(true);
    for (const e of stored.entries) {
      const twin = e.name.replace(/^strided\//, 'deflated/');
      expect(Buffer.from(deflated.read(twin)).equals(Buffer.from(stored.read(e.name))), twin).toBe(true);
    }
  });

  it('reads a zip64 archive (zip64 extra fields, zip64 end record and locator)', () => {
    const plain = ZipReader.open(fixtureBytes('f32.pt'), 'f32.pt');
    const z64 = ZipReader.open(fixtureBytes('zip64.pt'), 'zip64.pt');
    expect(z64.entries.map((e) => e.name)).toEqual(plain.entries.map((e) => e.name.replace(/^f32\//, 'zip64/')));
    for (const e of plain.entries) {
      expect(Buffer.from(z64.read(e.name.replace(/^f32\//, 'zip64/'))).equals(Buffer.from(plain.read(e.name)))).toBe(true);
    }
  });

  it('rejects a corrupted entry by its CRC', () => {
    const bytes = fixtureCopy('f32.pt');
    const zip = ZipReader.open(bytes, 'f32.pt');
    const entry = zip.entry('f32/data/0')!;
    const dv = new DataView(bytes.buffer);
    const dataStart = entry.localHeaderOffset + 30 + dv.getUint16(entry.localHeaderOffset + 26, true) + dv.getUint16(entry.localHeaderOffset + 28, true);
    bytes[dataStart + 3] ^= 0x40;
    const err = catchError(() => zip.read('f32/data/0'), CheckpointError);
    expect(err.message).toMatch(/f32\.pt.*f32\/data\/0.*CRC-32/);
  });

  it('rejects truncated archives', () => {
    const bytes = fixtureBytes('f32.pt');
    for (const cut of [5, 30, Math.floor(bytes.length / 2), bytes.length - 10]) {
      const err = catchError(() => ZipReader.open(bytes.subarray(0, bytes.length - cut), 'cut.pt'), CheckpointError);
      expect(err.file).toBe('cut.pt');
      expect(err.message).toMatch(/truncated|not a zip/);
    }
  });

  it('rejects bytes that are not a zip, naming the file', () => {
    const err = catchError(() => ZipReader.open(new TextEncoder().encode('just some text, no archive here at all'), 'notes.txt'), CheckpointError);
    expect(err.message).toMatch(/^notes\.txt: not a zip archive/);
    expect(catchError(() => ZipReader.open(new Uint8Array(3), 'tiny.bin'), CheckpointError).message).toMatch(/tiny\.bin/);
  });

  it('refuses a deflated entry whose declared size implies a zip bomb', () => {
    const bytes = fixtureCopy('deflated.pt');
    const { firstCentral } = locate(bytes);
    new DataView(bytes.buffer).setUint32(firstCentral + 24, 0x7fffffff, true); // uncompressed size of entry 0
    const err = catchError(() => ZipReader.open(bytes, 'bomb.pt'), CheckpointError);
    expect(err.message).toMatch(/bomb\.pt.*compression ratio/);
  });

  it('enforces the per-entry size limit', () => {
    const err = catchError(() => ZipReader.open(fixtureBytes('f32.pt'), 'f32.pt', { maxEntryBytes: 64 }), CheckpointError);
    expect(err.message).toMatch(/over the limit of 64/);
  });

  it('rejects a central directory offset outside the file (plain and zip64 end records)', () => {
    const plain = fixtureCopy('deflated.pt'); // Python's zipfile: no zip64 records
    new DataView(plain.buffer).setUint32(locate(plain).eocd + 16, plain.length + 1000, true);
    expect(catchError(() => ZipReader.open(plain, 'deflated.pt'), CheckpointError).message).toMatch(/central directory/);

    const z64 = fixtureCopy('f32.pt'); // torch always writes a zip64 end record, which takes precedence
    const dv = new DataView(z64.buffer);
    const locator = locate(z64).eocd - 20;
    expect(dv.getUint32(locator, true)).toBe(0x07064b50);
    const record = Number(dv.getBigUint64(locator + 8, true));
    dv.setBigUint64(record + 48, BigInt(z64.length + 1000), true);
    expect(catchError(() => ZipReader.open(z64, 'f32.pt'), CheckpointError).message).toMatch(/central directory/);
  });

  it('rejects a local header offset that points past the data', () => {
    const bytes = fixtureCopy('f32.pt');
    const { firstCentral } = locate(bytes);
    new DataView(bytes.buffer).setUint32(firstCentral + 42, bytes.length - 40, true);
    expect(catchError(() => ZipReader.open(bytes, 'f32.pt'), CheckpointError).message).toMatch(/overlaps the central directory/);
  });

  it('rejects encrypted entries and unknown compression methods', () => {
    const enc = fixtureCopy('f32.pt');
    const at = locate(enc).firstCentral;
    new DataView(enc.buffer).setUint16(at + 8, 1, true);
    expect(catchError(() => ZipReader.open(enc, 'f32.pt'), CheckpointError).message).toMatch(/encrypted/);
    const lzma = fixtureCopy('f32.pt');
    new DataView(lzma.buffer).setUint16(at + 10, 14, true);
    expect(catchError(() => ZipReader.open(lzma, 'f32.pt'), CheckpointError).message).toMatch(/compression method 14/);
  });

  it('rejects corrupt deflate data', () => {
    const bytes = fixtureCopy('deflated.pt');
    const zip = ZipReader.open(bytes, 'deflated.pt');
    const entry = zip.entries.find((e) => e.compressedSize > 40)!;
    const dv = new DataView(bytes.buffer);
    const start = entry.localHeaderOffset + 30 + dv.getUint16(entry.localHeaderOffset + 26, true) + dv.getUint16(entry.localHeaderOffset + 28, true);
    for (let i = 0; i < 16; i++) bytes[start + 2 + i] ^= 0xa5;
    expect(catchError(() => zip.read(entry.name), CheckpointError).message).toMatch(/deflated\.pt: zip entry .*(corrupt deflate|inflates to|CRC-32)/);
  });

  it('accepts a Node Buffer and never aliases results to Buffer slices', () => {
    const buf = Buffer.concat([Buffer.alloc(3), Buffer.from(fixtureBytes('f32.pt'))]).subarray(3);
    const zip = ZipReader.open(buf, 'f32.pt');
    expect(zip.read('f32/data.pkl')).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(zip.read('f32/data.pkl'))).toBe(false);
  });
});
