import { readFileSync } from 'node:fs';

/** A NumPy array read from a .npy file, widened to float32, C order. */
export interface NpyArray {
  shape: number[];
  data: Float32Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

/** Reads a .npy file holding little-endian '<f4' or '<f8' data in C order (format v1, v2 or v3). */
export function readNpy(path: string): NpyArray {
  return parseNpy(readFileSync(path), path);
}

/** Parses the bytes of a .npy file; `label` only names the source in error messages. */
export function parseNpy(bytes: Uint8Array, label = '<bytes>'): NpyArray {
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) throw new Error(`${label}: not a .npy file (bad magic)`);
  }
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    headerLen = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw new Error(`${label}: unsupported .npy format version ${major}`);
  }
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(
    bytes.subarray(headerStart, headerStart + headerLen),
  );
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new Error(`${label}: malformed .npy header: ${header}`);
  }
  if (fortran === 'True') throw new Error(`${label}: Fortran-order arrays are not supported`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => Number.parseInt(s, 10));
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = headerStart + headerLen;
  const data = new Float32Array(count);
  if (descr === '<f4') {
    need(bytes, dataStart, count * 4, label);
    for (let i = 0; i < count; i++) data[i] = view.getFloat32(dataStart + 4 * i, true);
  } else if (descr === '<f8') {
    need(bytes, dataStart, count * 8, label);
    for (let i = 0; i < count; i++) data[i] = view.getFloat64(dataStart + 8 * i, true);
  } else {
    throw new Error(`${label}: unsupported dtype ${descr} (only '<f4' and '<f8')`);
  }
  return { shape, data };
}

function need(bytes: Uint8Array, start: number, len: number, label: string): void {
  if (bytes.byteLength < start + len) {
    throw new Error(`${label}: truncated .npy data (need ${len} bytes at ${start}, file has ${bytes.byteLength})`);
  }
}
