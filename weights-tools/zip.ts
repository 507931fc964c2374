/**
 * A read-only ZIP reader over an in-memory byte array, written for PyTorch checkpoints
 * (torch.save writes a stored ZIP) but general enough for re-zipped, deflated or zip64 copies.
 *
 * Every offset and length read from the file is bounds-checked before use, declared sizes are
 * capped (zip-bomb defence), inflation writes into a buffer of the declared size and never
 * grows it, and every entry's CRC-32 is verified. All problems surface as CheckpointError.
 */
import { inflateSync } from 'fflate';
import { CheckpointError } from '../src/errors.js';

export interface ZipLimits {
  /** Largest uncompressed size accepted for one entry, in bytes. */
  readonly maxEntryBytes: number;
  /** Largest uncompressed/compressed ratio accepted for a deflated entry (deflate's own ceiling is about 1032). */
  readonly maxCompressionRatio: number;
  /** Largest number of entries in the central directory. */
  readonly maxEntries: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = {
  maxEntryBytes: 4 * 1024 ** 3,
  maxCompressionRatio: 1100,
  maxEntries: 1_000_000,
};

export interface ZipEntry {
  readonly name: string;
  /** 0 = stored, 8 = deflated; other methods are rejected when the directory is read. */
  readonly method: 0 | 8;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  readonly crc32: number;
  readonly localHeaderOffset: number;
}

type InflateRaw = (raw: Uint8Array, options: { maxOutputLength: number }) => Uint8Array;

/**
 * Node's native zlib when this runs in Node (three to four times faster than fflate on the tens
 * of MB of a re-zipped checkpoint); fetched through `process.getBuiltinModule` so that bundlers
 * and browsers never see an import of it. Elsewhere, fflate.
 */
const nativeInflateRaw: InflateRaw | undefined = (() => {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const zlib = proc?.getBuiltinModule?.('node:zlib') as { inflateRawSync?: InflateRaw } | undefined;
  return zlib?.inflateRawSync;
})();

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const EOCD_SIZE = 22;
const ZIP64_LOCATOR_SIZE = 20;
const ZIP64_EOCD_MIN_SIZE = 56;
const CENTRAL_HEADER_SIZE = 46;
const LOCAL_HEADER_SIZE = 30;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;

/** Reads little-endian integers with bounds checks that name the file in the error. */
class ByteReader {
  private readonly view: DataView;
  readonly bytes: Uint8Array;
  constructor(input: Uint8Array, readonly file: string) {
    // A plain view, so subarray() yields Uint8Arrays even when given a Node Buffer.
    this.bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    const bytes = this.bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  private need(offset: number, size: number, what: string): void {
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + size > this.bytes.length) {
      throw new CheckpointError(this.file, `truncated or corrupt zip: ${what} at offset ${offset} lies outside the ${this.bytes.length}-byte file`);
    }
  }
  u16(offset: number, what: string): number {
    this.need(offset, 2, what);
    return this.view.getUint16(offset, true);
  }
  u32(offset: number, what: string): number {
    this.need(offset, 4, what);
    return this.view.getUint32(offset, true);
  }
  /** A u64 that must fit a JS safe integer (anything larger is certainly bogus for an in-memory file). */
  u64(offset: number, what: string): number {
    this.need(offset, 8, what);
    const v = this.view.getBigUint64(offset, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new CheckpointError(this.file, `corrupt zip: ${what} is ${v}, which is absurdly large`);
    }
    return Number(v);
  }
  slice(offset: number, length: number, what: string): Uint8Array {
    this.need(offset, length, what);
    return this.bytes.subarray(offset, offset + length);
  }
}

interface DirectoryLocation {
  readonly entryCount: number;
  readonly offset: number;
  readonly size: number;
}

export class ZipReader {
  private readonly reader: ByteReader;
  private readonly byName: Map<string, ZipEntry>;
  /** Central-directory entries in directory order. */
  readonly entries: readonly ZipEntry[];

  private constructor(reader: ByteReader, entries: ZipEntry[]) {
    this.reader = reader;
    this.entries = entries;
    this.byName = new Map(entries.map((e) => [e.name, e]));
  }

  /** Parses the central directory (entry data is read lazily by `read`). */
  static open(bytes: Uint8Array, file: string, limits: Partial<ZipLimits> = {}): ZipReader {
    const lim: ZipLimits = { ...DEFAULT_ZIP_LIMITS, ...limits };
    const reader = new ByteReader(bytes, file);
    const dir = locateCentralDirectory(reader, lim);
    const entries = readCentralDirectory(reader, dir, lim);
    return new ZipReader(reader, entries);
  }

  get file(): string {
    return this.reader.file;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  entry(name: string): ZipEntry | undefined {
    return this.byName.get(name);
  }

  /**
   * The entry's uncompressed bytes, CRC-checked. Stored entries are returned as a view into the
   * archive (no copy); deflated ones in a fresh buffer of exactly the declared size.
   */
  read(name: string): Uint8Array {
    const entry = this.byName.get(name);
    if (!entry) throw new CheckpointError(this.file, `zip has no entry "${name}"`);
    const data = this.readData(entry);
    const crc = crc32(data);
    if (crc !== entry.crc32) {
      throw new CheckpointError(this.file, `zip entry "${name}" is corrupt: CRC-32 is ${hex32(crc)}, the directory says ${hex32(entry.crc32)}`);
    }
    return data;
  }

  private readData(entry: ZipEntry): Uint8Array {
    const r = this.reader;
    const at = entry.localHeaderOffset;
    if (r.u32(at, `local header of "${entry.name}"`) !== SIG_LOCAL) {
      throw new CheckpointError(this.file, `corrupt zip: no local header for "${entry.name}" at offset ${at}`);
    }
    const nameLen = r.u16(at + 26, 'local header name length');
    const extraLen = r.u16(at + 28, 'local header extra length');
    const localName = decodeName(r.slice(at + LOCAL_HEADER_SIZE, nameLen, 'local header name'));
    if (localName !== entry.name) {
      throw new CheckpointError(this.file, `corrupt zip: local header says "${localName}" where the directory says "${entry.name}"`);
    }
    const start = at + LOCAL_HEADER_SIZE + nameLen + extraLen;
    const raw = r.slice(start, entry.compressedSize, `data of "${entry.name}"`);
    if (entry.method === 0) return raw;

    let produced: Uint8Array;
    try {
      if (nativeInflateRaw) {
        // maxOutputLength: zlib stops (RangeError) rather than allocate past the declared size.
        const b = nativeInflateRaw(raw, { maxOutputLength: Math.max(1, entry.uncompressedSize) });
        produced = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      } else {
        // With `out` given, fflate never allocates beyond it: a stream that inflates to more is truncated (and then fails the CRC).
        produced = inflateSync(raw, { out: new Uint8Array(entry.uncompressedSize) });
      }
    } catch (err) {
      if (err instanceof RangeError) {
        throw new CheckpointError(this.file, `zip entry "${entry.name}" inflates to more than the ${entry.uncompressedSize} bytes the directory says`, { cause: err });
      }
      throw new CheckpointError(this.file, `zip entry "${entry.name}" has corrupt deflate data (${(err as Error).message})`, { cause: err });
    }
    if (produced.length !== entry.uncompressedSize) {
      throw new CheckpointError(this.file, `zip entry "${entry.name}" inflates to ${produced.length} bytes, the directory says ${entry.uncompressedSize}`);
    }
    return produced;
  }
}

function locateCentralDirectory(r: ByteReader, lim: ZipLimits): DirectoryLocation {
  const n = r.bytes.length;
  if (n < EOCD_SIZE) throw new CheckpointError(r.file, `not a zip archive (only ${n} bytes)`);
  // The end record sits in the last 22 + 65535 (max comment) bytes; scan backwards for its signature.
  const lowest = Math.max(0, n - EOCD_SIZE - U16_MAX);
  let eocd = -1;
  for (let p = n - EOCD_SIZE; p >= lowest; p--) {
    if (r.bytes[p] === 0x50 && r.u32(p, 'end of central directory') === SIG_EOCD) {
      const commentLen = r.u16(p + 20, 'zip comment length');
      if (p + EOCD_SIZE + commentLen <= n) { eocd = p; break; }
    }
  }
  if (eocd < 0) {
    throw new CheckpointError(r.file, 'not a zip archive, or truncated: no end-of-central-directory record');
  }
  const diskNo = r.u16(eocd + 4, 'disk number');
  const cdDisk = r.u16(eocd + 6, 'central directory disk');
  let entryCount = r.u16(eocd + 10, 'entry count');
  let size = r.u32(eocd + 12, 'central directory size');
  let offset = r.u32(eocd + 16, 'central directory offset');

  const locatorAt = eocd - ZIP64_LOCATOR_SIZE;
  const hasLocator = locatorAt >= 0 && r.u32(locatorAt, 'zip64 locator') === SIG_ZIP64_LOCATOR;
  if (hasLocator) {
    const recordAt = r.u64(locatorAt + 8, 'zip64 end record offset');
    if (recordAt + ZIP64_EOCD_MIN_SIZE > locatorAt) {
      throw new CheckpointError(r.file, `corrupt zip: zip64 end record offset ${recordAt} is out of range`);
    }
    if (r.u32(recordAt, 'zip64 end record') !== SIG_ZIP64_EOCD) {
      throw new CheckpointError(r.file, `corrupt zip: no zip64 end record at offset ${recordAt}`);
    }
    if (r.u32(recordAt + 16, 'zip64 disk number') !== 0 || r.u32(recordAt + 20, 'zip64 central directory disk') !== 0) {
      throw new CheckpointError(r.file, 'multi-volume zip archives are not supported');
    }
    entryCount = r.u64(recordAt + 32, 'zip64 entry count');
    size = r.u64(recordAt + 40, 'zip64 central directory size');
    offset = r.u64(recordAt + 48, 'zip64 central directory offset');
  } else {
    if (diskNo !== 0 || cdDisk !== 0) throw new CheckpointError(r.file, 'multi-volume zip archives are not supported');
    if (entryCount === U16_MAX || size === U32_MAX || offset === U32_MAX) {
      throw new CheckpointError(r.file, 'corrupt zip: zip64 sizes are flagged but there is no zip64 end record');
    }
  }
  const directoryEnd = hasLocator ? locatorAt : eocd;
  if (offset + size > directoryEnd) {
    throw new CheckpointError(r.file, `truncated or corrupt zip: central directory (${size} bytes at ${offset}) runs past its end record at ${directoryEnd}`);
  }
  if (entryCount > lim.maxEntries) {
    throw new CheckpointError(r.file, `zip declares ${entryCount} entries, more than the limit of ${lim.maxEntries}`);
  }
  if (entryCount * CENTRAL_HEADER_SIZE > size) {
    throw new CheckpointError(r.file, `corrupt zip: ${entryCount} entries cannot fit a ${size}-byte central directory`);
  }
  return { entryCount, offset, size };
}

function readCentralDirectory(r: ByteReader, dir: DirectoryLocation, lim: ZipLimits): ZipEntry[] {
  const entries: ZipEntry[] = [];
  const seen = new Set<string>();
  const end = dir.offset + dir.size;
  let p = dir.offset;
  for (let i = 0; i < dir.entryCount; i++) {
    if (p + CENTRAL_HEADER_SIZE > end || r.u32(p, 'central directory entry') !== SIG_CENTRAL) {
      throw new CheckpointError(r.file, `corrupt zip: central directory entry ${i} at offset ${p} is missing`);
    }
    const flags = r.u16(p + 8, 'entry flags');
    const method = r.u16(p + 10, 'compression method');
    const crc = r.u32(p + 16, 'entry CRC');
    let compressedSize = r.u32(p + 20, 'compressed size');
    let uncompressedSize = r.u32(p + 24, 'uncompressed size');
    const nameLen = r.u16(p + 28, 'name length');
    const extraLen = r.u16(p + 30, 'extra length');
    const commentLen = r.u16(p + 32, 'comment length');
    const disk = r.u16(p + 34, 'entry disk');
    let localHeaderOffset = r.u32(p + 42, 'local header offset');
    const recordEnd = p + CENTRAL_HEADER_SIZE + nameLen + extraLen + commentLen;
    if (recordEnd > end) {
      throw new CheckpointError(r.file, `corrupt zip: central directory entry ${i} runs past the directory`);
    }
    const name = decodeName(r.slice(p + CENTRAL_HEADER_SIZE, nameLen, 'entry name'));

    if (compressedSize === U32_MAX || uncompressedSize === U32_MAX || localHeaderOffset === U32_MAX || disk === U16_MAX) {
      const z64 = findZip64Extra(r, p + CENTRAL_HEADER_SIZE + nameLen, extraLen, name);
      // The zip64 extra field lists only the fields whose 32-bit slot is saturated, in this fixed order.
      let q = z64.offset;
      const take = (what: string): number => {
        if (q + 8 > z64.offset + z64.size) {
          throw new CheckpointError(r.file, `corrupt zip: zip64 extra field of "${name}" lacks the ${what}`);
        }
        const v = r.u64(q, `zip64 ${what} of "${name}"`);
        q += 8;
        return v;
      };
      if (uncompressedSize === U32_MAX) uncompressedSize = take('uncompressed size');
      if (compressedSize === U32_MAX) compressedSize = take('compressed size');
      if (localHeaderOffset === U32_MAX) localHeaderOffset = take('local header offset');
    } else if (disk !== 0) {
      throw new CheckpointError(r.file, 'multi-volume zip archives are not supported');
    }

    if (flags & 0x1) throw new CheckpointError(r.file, `zip entry "${name}" is encrypted`);
    if (method !== 0 && method !== 8) {
      throw new CheckpointError(r.file, `zip entry "${name}" uses compression method ${method}; only stored (0) and deflate (8) are supported`);
    }
    if (seen.has(name)) throw new CheckpointError(r.file, `corrupt zip: entry "${name}" appears twice`);
    seen.add(name);
    checkDeclaredSizes(r.file, name, method, compressedSize, uncompressedSize, lim);
    // Entry data must lie before the central directory; this also bounds it by the file length.
    if (localHeaderOffset + LOCAL_HEADER_SIZE + compressedSize > dir.offset) {
      throw new CheckpointError(r.file, `truncated or corrupt zip: data of "${name}" (${compressedSize} bytes at ${localHeaderOffset}) overlaps the central directory`);
    }
    entries.push({ name, method: method as 0 | 8, compressedSize, uncompressedSize, crc32: crc, localHeaderOffset });
    p = recordEnd;
  }
  return entries;
}

function findZip64Extra(r: ByteReader, start: number, length: number, name: string): { offset: number; size: number } {
  let q = start;
  const end = start + length;
  while (q + 4 <= end) {
    const id = r.u16(q, 'extra field id');
    const size = r.u16(q + 2, 'extra field size');
    if (q + 4 + size > end) break;
    if (id === 0x0001) return { offset: q + 4, size };
    q += 4 + size;
  }
  throw new CheckpointError(r.file, `corrupt zip: entry "${name}" has saturated 32-bit sizes but no zip64 extra field`);
}

function checkDeclaredSizes(file: string, name: string, method: number, compressed: number, uncompressed: number, lim: ZipLimits): void {
  if (uncompressed > lim.maxEntryBytes) {
    throw new CheckpointError(file, `zip entry "${name}" declares ${uncompressed} uncompressed bytes, over the limit of ${lim.maxEntryBytes}`);
  }
  if (method === 0 && compressed !== uncompressed) {
    throw new CheckpointError(file, `corrupt zip: stored entry "${name}" has compressed size ${compressed} but uncompressed size ${uncompressed}`);
  }
  // Deflate cannot beat ~1032:1; a larger declared ratio is a zip bomb or a corrupt header. (+64 allows tiny entries.)
  if (method === 8 && uncompressed > compressed * lim.maxCompressionRatio + 64) {
    throw new CheckpointError(file, `zip entry "${name}" declares a compression ratio above ${lim.maxCompressionRatio}:1 (${compressed} → ${uncompressed} bytes); refusing it as a possible zip bomb`);
  }
}

function decodeName(bytes: Uint8Array): string {
  // Names are UTF-8 (flag bit 11) or CP437; torch writes ASCII, for which both agree.
  return new TextDecoder('utf-8').decode(bytes);
}

function hex32(v: number): string {
  return `0x${v.toString(16).padStart(8, '0')}`;
}

let crcTable: Uint32Array | undefined;

/** Slice-by-8 tables for the reflected CRC-32 (polynomial 0xEDB88320) used by ZIP. */
function crcTables(): Uint32Array {
  if (crcTable) return crcTable;
  const t = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 8; k++) t[k * 256 + n] = (t[(k - 1) * 256 + n] >>> 8) ^ t[t[(k - 1) * 256 + n] & 0xff];
  }
  crcTable = t;
  return t;
}

/**
 * CRC-32 as used by ZIP (and gzip, PNG). Eight bytes per step: checkpoints are tens of MB and
 * every entry is checked, so this is most of the time it takes to open one.
 */
export function crc32(data: Uint8Array): number {
  const t = crcTables();
  let c = 0xffffffff;
  let i = 0;
  const n = data.length;
  const n8 = n - (n % 8);
  for (; i < n8; i += 8) {
    const lo = c ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24));
    const hi = data[i + 4] | (data[i + 5] << 8) | (data[i + 6] << 16) | (data[i + 7] << 24);
    c = t[1792 + (lo & 0xff)] ^ t[1536 + ((lo >>> 8) & 0xff)] ^ t[1280 + ((lo >>> 16) & 0xff)] ^ t[1024 + (lo >>> 24)] ^
      t[768 + (hi & 0xff)] ^ t[512 + ((hi >>> 8) & 0xff)] ^ t[256 + ((hi >>> 16) & 0xff)] ^ t[hi >>> 24];
  }
  for (; i < n; i++) c = t[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
