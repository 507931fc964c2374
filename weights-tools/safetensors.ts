/**
 * safetensors reader and writer (https://github.com/huggingface/safetensors, format section):
 * u64 little-endian header length N, N bytes of JSON header, then the tensor bytes.
 * The reader accepts F32, F16 and BF16 and widens everything to float32.
 */
import { CheckpointError, InvalidArgumentError } from '../src/errors.js';
import { type HostTensor, numel, type StateDict } from '../src/nerco/host-tensor.js';
import { decodeBfloat16Array, decodeHalfArray, encodeHalfArray, HOST_LITTLE_ENDIAN } from './float16.js';

/** Header size cap (the reference implementation uses 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';

const DTYPES = {
  F32: { itemSize: 4, sourceDtype: 'float32' },
  F16: { itemSize: 2, sourceDtype: 'float16' },
  BF16: { itemSize: 2, sourceDtype: 'bfloat16' },
} as const;
type SafetensorsDtype = keyof typeof DTYPES;

interface HeaderEntry {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: number[];
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsFile {
  readonly tensors: StateDict;
  readonly metadata: Record<string, string>;
}

export function readSafetensors(bytes: Uint8Array, fileName: string): StateDict {
  return readSafetensorsWithMetadata(bytes, fileName).tensors;
}

/** Like readSafetensors, also returning the `__metadata__` map. Tensors come in data-offset order. */
export function readSafetensorsWithMetadata(input: Uint8Array, fileName: string): SafetensorsFile {
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength); // plain view even for a Node Buffer
  const fail = (msg: string): never => { throw new CheckpointError(fileName, `safetensors: ${msg}`); };
  if (bytes.length < 8) fail(`file is only ${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen64 = view.getBigUint64(0, true);
  if (headerLen64 > BigInt(Math.min(MAX_HEADER_BYTES, bytes.length - 8))) {
    fail(`header length ${headerLen64} does not fit the ${bytes.length}-byte file (or exceeds ${MAX_HEADER_BYTES})`);
  }
  const headerLen = Number(headerLen64);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch (err) {
    return fail(`header is not valid UTF-8 JSON (${(err as Error).message}); is this a safetensors file?`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('header is not a JSON object');

  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === METADATA_KEY) {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__["${k}"] is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    entries.push(parseEntry(name, raw, fail));
  }

  // Offsets must tile the data section exactly: in range, no overlap, no holes.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const e of sorted) {
    if (e.begin !== cursor) {
      fail(e.begin < cursor
        ? `tensor "${e.name}" overlaps the previous tensor (starts at ${e.begin}, previous ends at ${cursor})`
        : `gap in the data before tensor "${e.name}" (bytes ${cursor}..${e.begin})`);
    }
    cursor = e.end;
  }
  if (cursor !== dataLen) {
    fail(cursor > dataLen
      ? `tensor data ends at ${cursor}, past the end of the ${dataLen}-byte data section (truncated file?)`
      : `${dataLen - cursor} trailing bytes after the last tensor`);
  }

  const tensors: StateDict = new Map();
  for (const e of sorted) tensors.set(e.name, decodeTensor(bytes.subarray(dataStart + e.begin, dataStart + e.end), e));
  return { tensors, metadata };
}

function parseEntry(name: string, raw: unknown, fail: (msg: string) => never): HeaderEntry {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail(`entry "${name}" is not an object`);
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (typeof dtype !== 'string' || !(dtype in DTYPES)) {
    fail(`tensor "${name}" has dtype ${JSON.stringify(dtype)}; only F32, F16 and BF16 are supported`);
  }
  const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (!Array.isArray(shape) || shape.length > 64 || !shape.every(isIndex)) fail(`tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex) || offsets[0] > offsets[1]) {
    fail(`tensor "${name}" has invalid data_offsets ${JSON.stringify(offsets)}`);
  }
  const dt = dtype as SafetensorsDtype;
  const [begin, end] = offsets as number[];
  const count = numel(shape as number[]);
  if (!Number.isSafeInteger(count) || count * DTYPES[dt].itemSize !== end - begin) {
    fail(`tensor "${name}" of shape [${(shape as number[]).join(', ')}] and dtype ${dt} needs ${count * DTYPES[dt].itemSize} bytes, but data_offsets span ${end - begin}`);
  }
  return { name, dtype: dt, shape: shape as number[], begin, end };
}

function decodeTensor(raw: Uint8Array, e: HeaderEntry): HostTensor {
  const { itemSize, sourceDtype } = DTYPES[e.dtype];
  const count = raw.length / itemSize;
  // Copy into aligned memory we own; safetensors data is little-endian.
  const copy = new Uint8Array(raw.length);
  copy.set(raw);
  if (!HOST_LITTLE_ENDIAN) for (let i = 0; i < copy.length; i += itemSize) copy.subarray(i, i + itemSize).reverse();
  let data: Float32Array;
  if (e.dtype === 'F32') data = new Float32Array(copy.buffer, 0, count);
  else if (e.dtype === 'F16') data = decodeHalfArray(new Uint16Array(copy.buffer, 0, count));
  else data = decodeBfloat16Array(new Uint16Array(copy.buffer, 0, count));
  return { shape: e.shape, data, sourceDtype };
}

export interface WriteSafetensorsOptions {
  /** Store every tensor as F16 (round to nearest even). A finite value beyond ±65504 is an error. */
  readonly fp16?: boolean;
  readonly metadata?: Record<string, string>;
}

export function writeSafetensors(dict: StateDict, options: WriteSafetensorsOptions = {}): Uint8Array {
  const dtype: SafetensorsDtype = options.fp16 ? 'F16' : 'F32';
  const itemSize = DTYPES[dtype].itemSize;
  const header: Record<string, unknown> = {};
  if (options.metadata && Object.keys(options.metadata).length) {
    for (const [k, v] of Object.entries(options.metadata)) {
      if (typeof v !== 'string') throw new InvalidArgumentError(`safetensors metadata "${k}" must be a string`);
    }
    header[METADATA_KEY] = options.metadata;
  }
  const payloads: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of dict) {
    if (name === METADATA_KEY) throw new InvalidArgumentError(`a tensor may not be named ${METADATA_KEY}`);
    if (numel(t.shape) !== t.data.length) {
      throw new InvalidArgumentError(`tensor "${name}" has shape [${t.shape.join(', ')}] but ${t.data.length} values`);
    }
    const payload = options.fp16 ? toHalfBytes(name, t.data) : toFloatBytes(t.data);
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + t.data.length * itemSize] };
    payloads.push(payload);
    offset += payload.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  // Pad the header with spaces so the data section starts 8-byte aligned (as the reference writer does).
  const headerLen = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLen + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLen), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);
  let p = 8 + headerLen;
  for (const payload of payloads) {
    out.set(payload, p);
    p += payload.length;
  }
  return out;
}

function toFloatBytes(data: Float32Array): Uint8Array {
  const bytes = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  if (!HOST_LITTLE_ENDIAN) for (let i = 0; i < bytes.length; i += 4) bytes.subarray(i, i + 4).reverse();
  return bytes;
}

function toHalfBytes(name: string, data: Float32Array): Uint8Array {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    // 65520 is the rounding boundary: anything at or above it would silently become Inf.
    if (Number.isFinite(v) && Math.abs(v) >= 65520) {
      throw new InvalidArgumentError(`tensor "${name}" holds ${v} at index ${i}, which does not fit float16 (max 65504); convert without fp16`);
    }
  }
  const bytes = new Uint8Array(encodeHalfArray(data).buffer);
  if (!HOST_LITTLE_ENDIAN) for (let i = 0; i < bytes.length; i += 2) bytes.subarray(i, i + 2).reverse();
  return bytes;
}
