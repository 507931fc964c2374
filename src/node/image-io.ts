/**
 * Image file decoding to 8-bit RGB with Pillow's `Image.open(path).convert('RGB')` semantics
 * (NERCO.md §3.1), and 8-bit RGB PNG encoding. Node only.
 *
 * The format is detected from the leading bytes, never from the file name.
 * - PNG (pngjs): exact. All colour types and bit depths, interlaced or not. No gamma / ICC / EXIF
 *   handling, tRNS ignored, alpha dropped without compositing; 16-bit gray is clamped to 255
 *   (not scaled), 16-bit colour keeps the high byte, 1/2/4-bit gray is scaled to 0–255.
 * - JPEG (@jsquash/jpeg: MozJPEG, i.e. libjpeg-turbo, compiled to wasm and shipped inside its npm
 *   package; loaded lazily on first use): libjpeg-turbo's default decoding (islow IDCT, fancy
 *   upsampling), the same as Pillow's; bit-identical to Pillow 9.4 on our test files, though JPEG
 *   decoding is not bit-defined in general (another libjpeg version or build could differ).
 *   CMYK/YCCK JPEGs are rejected; truncated JPEGs are rejected, as Pillow does by default.
 * - WebP (@jsquash/webp, libwebp as wasm in its npm package, lazily loaded): alpha dropped.
 *   Lossless WebP is exact; lossy WebP matched Pillow's libwebp 1.2.4 in our tests.
 * - Binary PPM/PGM (P6/P5) with maxval 255: exact.
 * - BMP, TIFF, GIF: detected and rejected with a message asking for PNG.
 */
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import { PNG } from 'pngjs';
import { ImageError, NercoError } from '../errors.js';
import type { RGBImage } from '../nerco/rgb-image.js';

export type { RGBImage } from '../nerco/rgb-image.js';

export type ImageFormat = 'png' | 'jpeg' | 'webp' | 'pnm' | 'bmp' | 'tiff' | 'gif';

/** Refuse images whose decoded RGBA would not fit comfortably in memory (≈ 1 GiB). */
const MAX_PIXELS = 1 << 28;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(bytes: Uint8Array, prefix: ArrayLike<number>, offset = 0): boolean {
  if (bytes.length < offset + prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[offset + i] !== prefix[i]) return false;
  return true;
}

function ascii(s: string): number[] {
  return Array.from(s, (c) => c.charCodeAt(0));
}

/** The container format from the magic bytes, or undefined when none is recognised. */
export function detectImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (startsWith(bytes, PNG_SIGNATURE)) return 'png';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WEBP'), 8)) return 'webp';
  if (bytes.length >= 3 && bytes[0] === 0x50 /* P */ && bytes[1] >= 0x31 && bytes[1] <= 0x37 &&
      isPnmSpace(bytes[2])) return 'pnm';
  if (startsWith(bytes, ascii('BM'))) return 'bmp';
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  if (startsWith(bytes, ascii('GIF8'))) return 'gif';
  return undefined;
}

export interface DecodeOptions {
  /**
   * Called with the image's size as soon as it is known (from the header for PNG, JPEG and
   * PPM/PGM, before any pixel is decoded; after decoding for WebP). Throw to refuse the image,
   * e.g. one too large for the GPU, before paying for its decode.
   */
  readonly checkSize?: (width: number, height: number) => void;
}

/** Reads and decodes an image file (see the file comment for the formats). */
export async function decodeImageFile(path: string, options: DecodeOptions = {}): Promise<RGBImage> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : `cannot read (${code ?? String(err)})`;
    throw new NercoError('IO', `${path}: ${why}`, { cause: err });
  }
  return decodeImage(bytes, path, options);
}

/** Decodes the bytes of an image file; `nameForErrors` names it in error messages. */
export async function decodeImage(bytes: Uint8Array, nameForErrors: string, options: DecodeOptions = {}): Promise<RGBImage> {
  const format = detectImageFormat(bytes);
  const check = options.checkSize ?? (() => undefined);
  switch (format) {
    case 'png': return decodePNG(bytes, nameForErrors, check);
    case 'jpeg': return decodeJPEG(bytes, nameForErrors, check);
    case 'webp': return decodeWebP(bytes, nameForErrors, check);
    case 'pnm': return decodePNM(bytes, nameForErrors, check);
    case 'bmp': case 'tiff': case 'gif':
      throw new ImageError(`${nameForErrors}: ${format.toUpperCase()} images are not supported; convert to PNG`);
    default:
      throw new ImageError(
        `${nameForErrors}: not a supported image (expected PNG, JPEG, WebP or binary PPM/PGM data` +
        `${bytes.length === 0 ? '; the file is empty' : ''})`,
      );
  }
}

function checkSize(width: number, height: number, name: string, kind: string): void {
  if (!(width >= 1 && height >= 1)) {
    throw new ImageError(`${name}: invalid ${kind} size ${width}×${height}`);
  }
  if (width * height > MAX_PIXELS) {
    throw new ImageError(`${name}: ${kind} of ${width}×${height} px is too large (limit ${MAX_PIXELS} px)`);
  }
}

// ---------------------------------------------------------------------------------------------
// PNG

const IEND_CHUNK = new Uint8Array([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);

/**
 * Rewrites the chunk stream where pngjs and Pillow disagree:
 * - tRNS chunks are removed. Pillow ignores transparency in `convert('RGB')`, but pngjs applies
 *   it: for gray/RGB images it zeroes the colour of pixels equal to the transparent colour.
 *   Chunks are self-contained (each has its own CRC), so dropping one leaves a valid stream.
 * - A missing IEND is added when the data ends cleanly after a complete chunk: Pillow stops
 *   reading once the image data is complete, pngjs insists on IEND.
 * A chunk that runs past the end of the data is left for pngjs to report as truncated.
 */
function normalizePngChunks(png: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [png.subarray(0, 8)];
  let offset = 8;
  let changed = false;
  let sawIEND = false;
  while (offset + 8 <= png.length) {
    const length = readU32BE(png, offset);
    const type = String.fromCharCode(png[offset + 4], png[offset + 5], png[offset + 6], png[offset + 7]);
    const end = offset + 12 + length;
    if (end > png.length) break;
    if (type === 'tRNS') changed = true;
    else parts.push(png.subarray(offset, end));
    offset = end;
    if (type === 'IEND') { sawIEND = true; break; }
  }
  if (!sawIEND && offset === png.length) {
    parts.push(IEND_CHUNK);
    changed = true;
  }
  if (!changed) return png;
  parts.push(png.subarray(offset));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

function readU32BE(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/** PNG bytes → RGB, synchronously (also usable on its own, e.g. for reference images). */
export function decodePNG(bytes: Uint8Array, name: string, check: (width: number, height: number) => void = () => undefined): RGBImage {
  if (bytes.length < 33 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') {
    throw new ImageError(`${name}: corrupt PNG (no IHDR header)`);
  }
  checkSize(readU32BE(bytes, 16), readU32BE(bytes, 20), name, 'PNG');
  check(readU32BE(bytes, 16), readU32BE(bytes, 20));
  let decoded: ReturnType<typeof PNG.sync.read>;
  try {
    // skipRescale: keep 16-bit samples raw (Pillow clamps or takes the high byte, it never
    // rescales); low-bit gray is scaled below, exactly as pngjs would.
    decoded = PNG.sync.read(Buffer.from(normalizePngChunks(bytes)), { skipRescale: true });
  } catch (err) {
    const message = (err as Error).message;
    // pngjs's wording when the stream ends inside a chunk.
    if (/read requests/.test(message)) throw new ImageError(`${name}: truncated PNG`, { cause: err });
    throw new ImageError(`${name}: corrupt PNG (${message})`, { cause: err });
  }
  const { width, height, depth } = decoded;
  // The pngjs typings omit colour type 3 (palette), which the decoder does report.
  const colorType: number = decoded.colorType;
  // RGBA, one sample per channel: a Buffer for depth ≤ 8, a Uint16Array for depth 16.
  const src = decoded.data as unknown as ArrayLike<number>;
  const n = width * height;
  const rgb = new Uint8Array(n * 3);
  const isPalette = colorType === 3;
  const isGray = colorType === 0 || colorType === 4;
  let map: (v: number) => number;
  if (isPalette || depth === 8) {
    map = (v) => v; // palette entries are already 8-bit RGB
  } else if (depth === 16) {
    // 16-bit gray opens as Pillow mode I and convert('RGB') clamps it; 16-bit gray+alpha and
    // colour are unpacked to 8 bits by taking the high byte.
    map = colorType === 0 ? (v) => (v > 255 ? 255 : v) : (v) => v >>> 8;
  } else if (isGray) {
    const scale = 255 / ((1 << depth) - 1); // 255, 85 or 17: exact
    map = (v) => v * scale;
  } else {
    throw new ImageError(`${name}: invalid PNG bit depth ${depth} for colour type ${colorType}`);
  }
  for (let i = 0; i < n; i++) {
    rgb[3 * i] = map(src[4 * i]);
    rgb[3 * i + 1] = map(src[4 * i + 1]);
    rgb[3 * i + 2] = map(src[4 * i + 2]);
  }
  return { width, height, data: rgb };
}

/** 8-bit RGB PNG (no alpha, no ancillary chunks), like `Image.fromarray(u8).save(...)`. */
export function encodePNG(image: RGBImage): Uint8Array {
  const { width, height, data } = image;
  if (data.length !== width * height * 3) {
    throw new ImageError(`cannot encode PNG: ${data.length} bytes for ${width}×${height} RGB`);
  }
  const png = PNG.sync.write(
    { width, height, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength) } as PNG,
    { colorType: 2, inputColorType: 2, inputHasAlpha: false, bitDepth: 8, deflateLevel: 6 },
  );
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

// ---------------------------------------------------------------------------------------------
// JPEG and WebP: libjpeg-turbo (MozJPEG) and libwebp compiled to wasm, shipped inside the
// @jsquash packages. Loaded on first use only, so PNG-only users never pay for them.

interface DecodedRGBA { width: number; height: number; data: Uint8ClampedArray }
type JsquashDecode = (data: ArrayBuffer, options?: object) => Promise<DecodedRGBA>;
type JsquashInit = (module: WebAssembly.Module, overrides: object) => Promise<void>;

interface LoadedCodec {
  decode: JsquashDecode;
  /** What the C library printed (libjpeg warnings and errors) since the last decode began. */
  messages: string[];
}

/**
 * One lazily loaded wasm decoder. Decodes run one at a time so that the library's printed
 * messages can be attributed to the file being decoded.
 */
class LazyCodec {
  private loaded: Promise<LoadedCodec> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly format: string,
    private readonly importModule: () => Promise<{ default: unknown; init: unknown }>,
    private readonly wasmSpecifier: string,
  ) {}

  private async load(): Promise<LoadedCodec> {
    const mod = await this.importModule();
    const messages: string[] = [];
    // Emscripten's default loader fetches the .wasm by URL, which Node cannot do for files:
    // compile the one shipped in the package and hand the module over. Printed messages are
    // captured instead of going to the console.
    const require = createRequire(import.meta.url);
    const wasm = await WebAssembly.compile(await fs.readFile(require.resolve(this.wasmSpecifier)));
    const collect = (m: string): void => { messages.push(String(m)); };
    await (mod.init as JsquashInit)(wasm, { print: collect, printErr: collect });
    return { decode: mod.default as JsquashDecode, messages };
  }

  decode(bytes: Uint8Array, name: string, options?: object): Promise<{ image: DecodedRGBA; messages: string[] }> {
    const job = this.queue.then(async () => {
      this.loaded ??= this.load();
      let codec: LoadedCodec;
      try {
        codec = await this.loaded;
      } catch (err) {
        this.loaded = undefined;
        throw new ImageError(`${name}: cannot load the ${this.format} decoder (${(err as Error).message})`, { cause: err });
      }
      codec.messages.length = 0;
      try {
        // A copy into a fresh ArrayBuffer: `bytes` may be a view into a larger (pooled) buffer.
        const image = await codec.decode(new Uint8Array(bytes).buffer, options);
        return { image, messages: codec.messages.splice(0) };
      } catch (err) {
        const said = codec.messages.splice(0).join('; ');
        throw new ImageError(
          `${name}: corrupt or unsupported ${this.format} (${said || (err as Error).message})`, { cause: err },
        );
      }
    });
    this.queue = job.catch(() => undefined);
    return job;
  }
}

const jpegCodec = new LazyCodec(
  'JPEG', () => import('@jsquash/jpeg/decode.js'), '@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm',
);
const webpCodec = new LazyCodec(
  'WebP', () => import('@jsquash/webp/decode.js'), '@jsquash/webp/codec/dec/webp_dec.wasm',
);

function rgbaToRGBImage(d: DecodedRGBA, name: string, kind: string): RGBImage {
  checkSize(d.width, d.height, name, kind);
  const n = d.width * d.height;
  if (d.data.length !== 4 * n) throw new ImageError(`${name}: ${kind} decoder returned an unexpected pixel layout`);
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    rgb[3 * i] = d.data[4 * i];
    rgb[3 * i + 1] = d.data[4 * i + 1];
    rgb[3 * i + 2] = d.data[4 * i + 2];
  }
  return { width: d.width, height: d.height, data: rgb };
}

interface JpegFrame { readonly components: number; readonly width: number; readonly height: number }

/** Component count and size from the first SOFn marker, or undefined if none is found. */
function jpegFrame(bytes: Uint8Array): JpegFrame | undefined {
  let o = 2;
  while (o + 4 <= bytes.length) {
    if (bytes[o] !== 0xff) return undefined;
    const marker = bytes[o + 1];
    if (marker === 0xff) { o++; continue; } // fill byte
    const len = (bytes[o + 2] << 8) | bytes[o + 3];
    const isSOF = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSOF) {
      if (o + 9 >= bytes.length) return undefined;
      return { components: bytes[o + 9], height: (bytes[o + 5] << 8) | bytes[o + 6], width: (bytes[o + 7] << 8) | bytes[o + 8] };
    }
    if (marker === 0xda) return undefined; // start of scan before any frame header
    o += 2 + len;
  }
  return undefined;
}

/**
 * JPEG through libjpeg-turbo's defaults (islow IDCT, fancy upsampling), as Pillow decodes it:
 * bit-identical to Pillow 9.4 in our tests. No EXIF rotation (Pillow applies none either).
 */
async function decodeJPEG(bytes: Uint8Array, name: string, check: (width: number, height: number) => void): Promise<RGBImage> {
  const frame = jpegFrame(bytes);
  if (frame?.components === 4) {
    throw new ImageError(`${name}: CMYK/YCCK JPEG is not supported; convert it to RGB first`);
  }
  // Height 0 means "defined by a later DNL marker": the decoder finds out.
  if (frame && frame.width > 0 && frame.height > 0) check(frame.width, frame.height);
  const { image, messages } = await jpegCodec.decode(bytes, name, { preserveOrientation: false });
  // libjpeg only warns and pads with gray; Pillow refuses truncated images by default.
  if (messages.some((m) => /premature end of jpeg file/i.test(m))) {
    throw new ImageError(`${name}: truncated JPEG`);
  }
  return rgbaToRGBImage(image, name, 'JPEG');
}

/** WebP (lossless, lossy, with or without alpha); alpha is dropped without compositing. */
async function decodeWebP(bytes: Uint8Array, name: string, check: (width: number, height: number) => void): Promise<RGBImage> {
  const { image } = await webpCodec.decode(bytes, name);
  const rgb = rgbaToRGBImage(image, name, 'WebP');
  check(rgb.width, rgb.height);
  return rgb;
}

// ---------------------------------------------------------------------------------------------
// Binary PPM / PGM

function isPnmSpace(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}

function decodePNM(bytes: Uint8Array, name: string, check: (width: number, height: number) => void): RGBImage {
  const kind = bytes[1];
  if (kind !== 0x35 && kind !== 0x36) {
    throw new ImageError(`${name}: only binary PGM (P5) and PPM (P6) are supported, not P${String.fromCharCode(kind)}`);
  }
  // Header: magic, width, height, maxval as decimal tokens separated by whitespace or comments,
  // then exactly one whitespace byte before the samples.
  let o = 2;
  const fields: number[] = [];
  while (fields.length < 3) {
    while (o < bytes.length && (isPnmSpace(bytes[o]) || bytes[o] === 0x23)) {
      if (bytes[o] === 0x23) while (o < bytes.length && bytes[o] !== 0x0a) o++;
      else o++;
    }
    const start = o;
    while (o < bytes.length && bytes[o] >= 0x30 && bytes[o] <= 0x39) o++;
    // Ten digits already exceed any accepted size (and a longer run would overflow fromCharCode's arguments).
    if (o === start || o - start > 10) throw new ImageError(`${name}: corrupt PPM/PGM header`);
    fields.push(Number(String.fromCharCode(...bytes.subarray(start, o))));
  }
  if (o >= bytes.length || !isPnmSpace(bytes[o])) throw new ImageError(`${name}: corrupt PPM/PGM header`);
  o++;
  const [width, height, maxval] = fields;
  checkSize(width, height, name, 'PPM/PGM');
  check(width, height);
  if (maxval !== 255) {
    throw new ImageError(`${name}: PPM/PGM with maxval ${maxval} is not supported (only 255)`);
  }
  const channels = kind === 0x36 ? 3 : 1;
  const n = width * height;
  if (bytes.length - o < n * channels) throw new ImageError(`${name}: truncated PPM/PGM data`);
  if (channels === 3) return { width, height, data: bytes.slice(o, o + 3 * n) };
  const rgb = new Uint8Array(3 * n);
  for (let i = 0; i < n; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = bytes[o + i];
  return { width, height, data: rgb };
}
