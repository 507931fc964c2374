/**
 * A mutation fuzzer for the weights readers: it takes real checkpoints (the torch-saved fixtures,
 * the shared 45 MB random-weight checkpoints, a combined safetensors file of a small NeRCo, bare
 * pickles and a few files that are not checkpoints at all), damages them in the ways downloads
 * and tools do (bit flips, truncation, inserted or deleted bytes, corrupted length and offset
 * fields, duplicated zip entries, swapped pickle opcodes, edited safetensors headers...) and
 * feeds them to the same entry points the library uses.
 *
 * The contract under test: every input either loads or fails with a NercoError subclass, fast.
 * Anything else (TypeError, RangeError, a hang, a loaded state dict whose data does not match
 * its shapes) is a finding.
 *
 * Input i of a run with seed s is a pure function of (s, i), so any input can be replayed alone.
 * Used by bench/fuzz.ts (the long run) and test/fuzz/fuzz.test.ts (a fast subset).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'fflate';
import { NercoError } from '../../src/errors.js';
import { inferGA, inferH, inferPre, type NetName } from '../../src/nerco/architecture.js';
import { numel, type StateDict } from '../../src/nerco/host-tensor.js';
import { parseNeRCoWeights, readStateDictFile } from '../../src/nerco/load-weights.js';
import { readSafetensors, writeSafetensors } from '../../weights-tools/safetensors.js';
import { unpickleTorch } from '../../weights-tools/torch-pickle.js';
import { crc32, ZipReader } from '../../weights-tools/zip.js';
import { makeRng, type Rng } from '../helpers/random.js';
import { repoPath, sharedPath } from '../helpers/shared-path.js';
import { tinyWeightsBytes } from '../helpers/tiny-model.js';

// ---------------------------------------------------------------------------------------------
// Seeds

export type SeedKind = 'torch' | 'safetensors' | 'combined' | 'pickle' | 'foreign';

interface ZipEntryLayout {
  readonly name: string;
  readonly method: number;
  readonly localOffset: number;
  readonly dataStart: number;
  readonly dataEnd: number;
  readonly centralOffset: number;
}

interface ZipLayout {
  readonly entries: readonly ZipEntryLayout[];
  readonly centralStart: number;
  readonly centralEnd: number;
  readonly eocd: number;
}

export interface Seed {
  readonly name: string;
  readonly kind: SeedKind;
  readonly bytes: Uint8Array;
  /** The net a torch checkpoint holds, when it is one of NeRCo's (checked by architecture inference). */
  readonly net?: NetName;
  /** Large files are mutated in place (and restored) instead of copied. */
  readonly big: boolean;
  readonly zip?: ZipLayout;
  /** Byte ranges worth mutating in a big file: headers, the directory, the pickle, storage edges. */
  readonly hot?: readonly [number, number][];
}

const CHECKPOINTS = repoPath('test', 'fixtures', 'checkpoints');
const BIG_BYTES = 4 * 1024 * 1024;

/** Finds the zip structures of a well-formed (pristine) archive, for targeted mutations. */
function zipLayout(bytes: Uint8Array): ZipLayout {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const reader = ZipReader.open(bytes, 'seed');
  let eocd = bytes.length - 22;
  while (eocd >= 0 && dv.getUint32(eocd, true) !== 0x06054b50) eocd--;
  // The central directory starts at the first central record; find each entry's record by scanning.
  const entries: ZipEntryLayout[] = [];
  let centralStart = Infinity;
  let p = 0;
  const centralByName = new Map<string, number>();
  for (p = 0; p + 46 <= eocd; p++) {
    if (dv.getUint32(p, true) !== 0x02014b50) continue;
    const nameLen = dv.getUint16(p + 28, true);
    const name = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLen));
    if (reader.has(name) && !centralByName.has(name)) {
      centralByName.set(name, p);
      centralStart = Math.min(centralStart, p);
    }
  }
  for (const e of reader.entries) {
    const lo = e.localHeaderOffset;
    const dataStart = lo + 30 + dv.getUint16(lo + 26, true) + dv.getUint16(lo + 28, true);
    entries.push({
      name: e.name, method: e.method, localOffset: lo, dataStart, dataEnd: dataStart + e.compressedSize,
      centralOffset: centralByName.get(e.name) ?? -1,
    });
  }
  return { entries, centralStart, centralEnd: eocd, eocd };
}

function hotRanges(bytes: Uint8Array, zip: ZipLayout): [number, number][] {
  const ranges: [number, number][] = [[zip.centralStart, bytes.length]];
  for (const e of zip.entries) {
    ranges.push([e.localOffset, e.dataStart]);
    if (e.name.endsWith('data.pkl') || e.dataEnd - e.dataStart <= 256) ranges.push([e.dataStart, e.dataEnd]);
    else ranges.push([e.dataStart, e.dataStart + 64], [e.dataEnd - 64, e.dataEnd]);
  }
  return ranges;
}

function seedFromBytes(name: string, kind: SeedKind, bytes: Uint8Array, net?: NetName): Seed {
  const big = bytes.length > BIG_BYTES;
  const isZip = kind === 'torch' && bytes[0] === 0x50 && bytes[1] === 0x4b;
  const zip = isZip ? zipLayout(bytes) : undefined;
  return { name, kind, bytes, net, big, zip, hot: zip && big ? hotRanges(bytes, zip) : undefined };
}

function read(path: string): Uint8Array {
  const b = readFileSync(path);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export interface CorpusOptions {
  /** Include the shared 45 MB checkpoints of G_A and Pre (netH's 1 MB one is always in). */
  readonly big?: boolean;
}

/** The seed files: every fixture checkpoint and pickle, a small NeRCo, the shared checkpoints, non-checkpoints. */
export function loadCorpus(opts: CorpusOptions = {}): Seed[] {
  const seeds: Seed[] = [];
  for (const f of readdirSync(CHECKPOINTS).sort()) {
    const bytes = read(join(CHECKPOINTS, f));
    if (f.endsWith('.pt')) {
      const net = f.startsWith('tiny_G_A') ? 'G_A' : f.startsWith('tiny_Pre') ? 'Pre' : undefined;
      seeds.push(seedFromBytes(f, 'torch', bytes, net));
    } else if (f.endsWith('.pkl')) {
      seeds.push(seedFromBytes(f, 'pickle', bytes));
    } else if (f.endsWith('.safetensors')) {
      seeds.push(seedFromBytes(f, 'safetensors', bytes));
    }
  }
  seeds.push(seedFromBytes('tiny-nerco.safetensors', 'combined', tinyWeightsBytes(7)));
  const shared = sharedPath('fixtures', 'nerco-random', 'weights');
  const nets: NetName[] = opts.big ? ['H', 'G_A', 'Pre'] : ['H'];
  for (const net of nets) seeds.push(seedFromBytes(`latest_net_${net}.pth`, 'torch', read(join(shared, `latest_net_${net}.pth`)), net));
  seeds.push(seedFromBytes('photo.png', 'foreign', read(repoPath('test', 'preprocess', 'fixtures', 'decode', 'rgb8.png'))));
  seeds.push(seedFromBytes('notes.txt', 'foreign', new TextEncoder().encode('these are not the weights you are looking for\n'.repeat(8))));
  seeds.push(seedFromBytes('empty.pth', 'foreign', new Uint8Array(0)));
  return seeds;
}

// ---------------------------------------------------------------------------------------------
// Building blocks

const INTERESTING_32 = [0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xff, 0x0a, 0x2e, 0x28];

const int = (rng: Rng, n: number): number => Math.floor(rng() * n);
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[int(rng, xs.length)]!;

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** A position to mutate: anywhere in a small file, inside the hot ranges of a big one. */
function position(rng: Rng, seed: Seed, length: number): number {
  if (seed.hot && rng() < 0.97) {
    const [a, b] = pick(rng, seed.hot);
    return Math.min(length - 1, a + int(rng, Math.max(1, b - a)));
  }
  return int(rng, Math.max(1, length));
}

/** A 32-bit value to plant in a length, offset or count field. */
function interesting32(rng: Rng, original: number, fileLength: number): number {
  switch (int(rng, 5)) {
    case 0: return pick(rng, INTERESTING_32);
    case 1: return (original + pick(rng, [-2, -1, 1, 2, 8, -8])) >>> 0;
    case 2: return (fileLength + int(rng, 64) - 32) >>> 0;
    case 3: return (original * pick(rng, [2, 16, 1024])) >>> 0;
    default: return Math.floor(rng() * 2 ** 32) >>> 0;
  }
}

// ---------------------------------------------------------------------------------------------
// Zip writer (for structured mutations: the entries change, the container stays consistent)

export interface PlainEntry { name: string; data: Uint8Array; deflate?: boolean }

/** A consistent zip (stored or deflated entries, correct CRCs and sizes) of the given entries. */
export function writeZip(entries: readonly PlainEntry[]): Uint8Array {
  const enc = new TextEncoder();
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = enc.encode(e.name);
    const body = e.deflate ? deflateSync(e.data, { level: 1 }) : e.data;
    const crc = crc32(e.data);
    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(8, e.deflate ? 8 : 0, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, body.length, true);
    lv.setUint32(22, e.data.length, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    const central = new Uint8Array(46 + name.length);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(10, e.deflate ? 8 : 0, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, body.length, true);
    cv.setUint32(24, e.data.length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    central.set(name, 46);
    locals.push(local, body);
    centrals.push(central);
    offset += local.length + body.length;
  }
  const cd = concat(centrals);
  const eocd = new Uint8Array(22);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, cd.length, true);
  ev.setUint32(16, offset, true);
  return concat([...locals, cd, eocd]);
}

function plainEntries(seed: Pick<Seed, 'bytes' | 'name'>): PlainEntry[] {
  return zipEntries(seed.bytes, seed.name);
}

/** The entries of a well-formed zip, in directory order. */
export function zipEntries(bytes: Uint8Array, name: string): PlainEntry[] {
  const zip = ZipReader.open(bytes, name);
  return zip.entries.map((e) => ({ name: e.name, data: zip.read(e.name), deflate: e.method === 8 }));
}

// ---------------------------------------------------------------------------------------------
// Pickle tokenizer (for well-formed seed pickles only: where each opcode and its argument lie)

interface PickleOp { readonly at: number; readonly op: number; readonly argStart: number; readonly argEnd: number }

const FIXED_ARG: Record<number, number> = {
  0x80: 1, 0x4b: 1, 0x68: 1, 0x71: 1, 0x82: 1, 0x4d: 2, 0x83: 2, 0x4a: 4, 0x6a: 4, 0x72: 4, 0x84: 4, 0x47: 8, 0x95: 8,
};
const COUNTED_ARG: Record<number, number> = { 0x8a: 1, 0x8c: 1, 0x55: 1, 0x43: 1, 0x58: 4, 0x54: 4, 0x42: 4, 0x8b: 4, 0x8d: 8, 0x8e: 8, 0x96: 8 };
const LINE_ARGS: Record<number, number> = { 0x63: 2, 0x69: 2, 0x49: 1, 0x4c: 1, 0x53: 1, 0x56: 1, 0x46: 1, 0x70: 1, 0x67: 1, 0x50: 1 };
/** Every opcode of protocols 0–5, for replacements (including those the reader refuses). */
const ALL_OPCODES = [
  0x28, 0x2e, 0x30, 0x31, 0x32, 0x46, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x58,
  0x61, 0x62, 0x63, 0x64, 0x7d, 0x65, 0x67, 0x68, 0x69, 0x6a, 0x6c, 0x5d, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x29, 0x75,
  0x47, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x42, 0x43, 0x8c, 0x8d, 0x8e, 0x8f, 0x90,
  0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98,
];

function tokenizePickle(data: Uint8Array): PickleOp[] {
  const ops: PickleOp[] = [];
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let p = 0;
  while (p < data.length) {
    const at = p;
    const op = data[p++]!;
    let argStart = p;
    if (op in FIXED_ARG) p += FIXED_ARG[op]!;
    else if (op in COUNTED_ARG) {
      const w = COUNTED_ARG[op]!;
      const n = w === 1 ? data[p]! : w === 4 ? dv.getUint32(p, true) : Number(dv.getBigUint64(p, true));
      argStart = p + w;
      p += w + n;
    } else if (op in LINE_ARGS) {
      for (let k = 0; k < LINE_ARGS[op]!; k++) p = data.indexOf(0x0a, p) + 1;
    }
    ops.push({ at, op, argStart, argEnd: p });
    if (op === 0x2e || p > data.length) break;
  }
  return ops;
}

function mutatePickle(rng: Rng, data: Uint8Array): { data: Uint8Array; what: string } {
  const ops = tokenizePickle(data);
  if (ops.length === 0) return { data: Uint8Array.from(data), what: 'pickle unchanged' };
  const o = pick(rng, ops);
  const out = Uint8Array.from(data);
  const dv = new DataView(out.buffer);
  switch (int(rng, 9)) {
    case 0: {
      const op = pick(rng, ALL_OPCODES);
      out[o.at] = op;
      return { data: out, what: `opcode at ${o.at} 0x${o.op.toString(16)} → 0x${op.toString(16)}` };
    }
    case 1: {
      const b = pick(rng, ops);
      if (o.at === b.at) return { data: out, what: 'pickle ops swapped with themselves' };
      const [first, second] = o.at < b.at ? [o, b] : [b, o];
      const swapped = concat([data.subarray(0, first.at), data.subarray(second.at, second.argEnd), data.subarray(first.argEnd, second.at),
        data.subarray(first.at, first.argEnd), data.subarray(second.argEnd)]);
      return { data: swapped, what: `pickle ops at ${first.at} and ${second.at} swapped` };
    }
    case 2:
      return { data: concat([data.subarray(0, o.at), data.subarray(o.argEnd)]), what: `pickle op 0x${o.op.toString(16)} at ${o.at} deleted` };
    case 3:
      return { data: concat([data.subarray(0, o.argEnd), data.subarray(o.at, o.argEnd), data.subarray(o.argEnd)]), what: `pickle op 0x${o.op.toString(16)} at ${o.at} duplicated` };
    case 4: {
      // An integer argument (sizes, strides, offsets, numel, memo indices) set to something odd.
      const ints = ops.filter((x) => x.op === 0x4a || x.op === 0x4b || x.op === 0x4d);
      if (!ints.length) break;
      const t = pick(rng, ints);
      if (t.op === 0x4a) dv.setInt32(t.argStart, pick(rng, [-1, 0, 1, 2 ** 31 - 1, -(2 ** 31), 1 << 20, 1 << 28, int(rng, 4096)]), true);
      else if (t.op === 0x4d) dv.setUint16(t.argStart, pick(rng, [0, 1, 0xffff, int(rng, 65536)]), true);
      else out[t.argStart] = pick(rng, INTERESTING_8);
      return { data: out, what: `pickle int at ${t.at} changed` };
    }
    case 5: {
      // A string (a key, a storage key, a global's name) edited.
      const strs = ops.filter((x) => x.op === 0x58 || x.op === 0x8c || x.op === 0x63 || x.op === 0x55);
      if (!strs.length) break;
      const t = pick(rng, strs);
      if (t.argEnd > t.argStart) out[t.argStart + int(rng, t.argEnd - t.argStart)] = pick(rng, [0x2e, 0x5f, 0x30, 0x78, 0x0a, 0xff, 0x2f]);
      return { data: out, what: `pickle string at ${t.at} edited` };
    }
    case 6: {
      // A forbidden global planted where an allowed one was.
      const globals = ops.filter((x) => x.op === 0x63);
      if (!globals.length) break;
      const t = pick(rng, globals);
      const evil = new TextEncoder().encode(pick(rng, ['posix\nsystem\n', 'builtins\neval\n', 'os\nsystem\n', '__builtin__\nexec\n', 'torch\nload\n']));
      return { data: concat([data.subarray(0, t.at + 1), evil, data.subarray(t.argEnd)]), what: `global at ${t.at} replaced` };
    }
    case 7:
      return { data: data.slice(0, int(rng, data.length)), what: 'pickle truncated' };
    default: {
      const op = pick(rng, ALL_OPCODES);
      return { data: concat([data.subarray(0, o.at), Uint8Array.of(op), data.subarray(o.at)]), what: `opcode 0x${op.toString(16)} inserted at ${o.at}` };
    }
  }
  out[int(rng, out.length)]! ^= 1 << int(rng, 8);
  return { data: out, what: 'pickle bit flip' };
}

// ---------------------------------------------------------------------------------------------
// Mutations

export interface Mutation {
  readonly bytes: Uint8Array;
  readonly what: string;
  /** The name the input is read under (a role swap feeds a file under another net's name). */
  readonly net?: NetName;
  /** Restores a big seed mutated in place. */
  readonly restore?: () => void;
}

/** Applies byte patches in place and returns their undo. */
function patchInPlace(bytes: Uint8Array, patches: readonly [number, Uint8Array][]): () => void {
  const saved = patches.map(([at, b]) => [at, bytes.slice(at, at + b.length)] as const);
  for (const [at, b] of patches) bytes.set(b.subarray(0, Math.max(0, bytes.length - at)), at);
  return () => { for (let i = saved.length - 1; i >= 0; i--) bytes.set(saved[i]![1], saved[i]![0]); };
}

function u32le(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}
function u16le(v: number): Uint8Array {
  return Uint8Array.of(v & 0xff, (v >>> 8) & 0xff);
}

/** Raw byte damage: what a bad disk, a bad transfer or a bad tool does. */
function rawMutation(rng: Rng, seed: Seed): Mutation {
  const src = seed.bytes;
  const n = src.length;
  const kind = int(rng, seed.big ? 4 : 8);
  if (kind === 0 || kind === 1) {
    const count = 1 + int(rng, kind === 0 ? 4 : 12);
    const patches: [number, Uint8Array][] = [];
    for (let k = 0; k < count && n > 0; k++) {
      const at = position(rng, seed, n);
      patches.push([at, Uint8Array.of(kind === 0 ? src[at]! ^ (1 << int(rng, 8)) : rng() < 0.5 ? pick(rng, INTERESTING_8) : int(rng, 256))]);
    }
    const what = `${kind === 0 ? 'bit flips' : 'bytes set'} at ${patches.map(([a]) => a).join(',')}`;
    if (seed.big) return { bytes: src, what, restore: patchInPlace(src, patches) };
    const copy = Uint8Array.from(src);
    patchInPlace(copy, patches);
    return { bytes: copy, what };
  }
  if (kind === 2) {
    const cut = rng() < 0.5 ? int(rng, n + 1) : Math.max(0, n - 1 - int(rng, Math.min(n, 2048)));
    return { bytes: seed.big ? src.subarray(0, cut) : src.slice(0, cut), what: `truncated to ${cut} of ${n}` };
  }
  if (kind === 3) {
    // A length, offset, size or count field of a zip structure.
    if (!seed.zip) return rawMutation(rng, { ...seed, zip: undefined, big: false });
    const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
    const z = seed.zip;
    const e = pick(rng, z.entries);
    const choices: [number, 2 | 4, string][] = [
      [z.eocd + 8, 2, 'EOCD entries on disk'], [z.eocd + 10, 2, 'EOCD entries'], [z.eocd + 12, 4, 'EOCD directory size'],
      [z.eocd + 16, 4, 'EOCD directory offset'], [z.eocd + 20, 2, 'EOCD comment length'],
      [e.localOffset + 8, 2, 'local method'], [e.localOffset + 18, 4, 'local compressed size'], [e.localOffset + 22, 4, 'local size'],
      [e.localOffset + 26, 2, 'local name length'], [e.localOffset + 28, 2, 'local extra length'],
    ];
    if (e.centralOffset >= 0) {
      const c = e.centralOffset;
      choices.push([c + 8, 2, 'central flags'], [c + 10, 2, 'central method'], [c + 16, 4, 'central CRC'], [c + 20, 4, 'central compressed size'],
        [c + 24, 4, 'central size'], [c + 28, 2, 'central name length'], [c + 30, 2, 'central extra length'],
        [c + 32, 2, 'central comment length'], [c + 34, 2, 'central disk'], [c + 42, 4, 'central local offset']);
    }
    const [at, width, what] = pick(rng, choices);
    const original = width === 2 ? dv.getUint16(at, true) : dv.getUint32(at, true);
    const value = interesting32(rng, original, n);
    const patch: [number, Uint8Array] = [at, width === 2 ? u16le(value) : u32le(value)];
    const label = `${what} of "${e.name}" ${original} → ${width === 2 ? value & 0xffff : value}`;
    if (seed.big) return { bytes: src, what: label, restore: patchInPlace(src, [patch]) };
    const copy = Uint8Array.from(src);
    patchInPlace(copy, [patch]);
    return { bytes: copy, what: label };
  }
  // Small files only from here: the length changes.
  if (kind === 4) {
    const at = int(rng, n + 1);
    const len = 1 + int(rng, 16);
    const ins = rng() < 0.5 ? Uint8Array.from({ length: len }, () => int(rng, 256)) : src.slice(int(rng, n + 1), int(rng, n + 1));
    return { bytes: concat([src.subarray(0, at), ins, src.subarray(at)]), what: `${ins.length} bytes inserted at ${at}` };
  }
  if (kind === 5) {
    const at = int(rng, n + 1);
    const len = 1 + int(rng, rng() < 0.7 ? 8 : 512);
    return { bytes: concat([src.subarray(0, at), src.subarray(at + len)]), what: `${len} bytes deleted at ${at}` };
  }
  if (kind === 6 && seed.zip && seed.zip.entries.some((e) => e.centralOffset >= 0)) {
    // A central directory record duplicated (the EOCD counts and size follow).
    const z = seed.zip;
    const e = pick(rng, z.entries.filter((x) => x.centralOffset >= 0));
    const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
    const c = e.centralOffset;
    const recLen = 46 + dv.getUint16(c + 28, true) + dv.getUint16(c + 30, true) + dv.getUint16(c + 32, true);
    const out = concat([src.subarray(0, c + recLen), src.subarray(c, c + recLen), src.subarray(c + recLen)]);
    const ov = new DataView(out.buffer);
    const eocd = z.eocd + recLen;
    if (ov.getUint32(eocd, true) === 0x06054b50 && ov.getUint16(eocd + 10, true) !== 0xffff) {
      ov.setUint16(eocd + 8, ov.getUint16(eocd + 8, true) + 1, true);
      ov.setUint16(eocd + 10, ov.getUint16(eocd + 10, true) + 1, true);
      ov.setUint32(eocd + 12, ov.getUint32(eocd + 12, true) + recLen, true);
    }
    return { bytes: out, what: `central record of "${e.name}" duplicated` };
  }
  // Splice: the head of this file and the tail of itself at another offset.
  const a = int(rng, n + 1);
  const b = int(rng, n + 1);
  return { bytes: concat([src.subarray(0, a), src.subarray(b)]), what: `spliced ${a}|${b}` };
}

const NAN_PATTERNS = [0x7fc00000, 0x7f800000, 0xff800000, 0x7f7fffff, 0xffffffff];

/** Damage inside a torch zip that keeps the container valid, so the pickle and tensor layers are reached. */
function structuredTorchMutation(rng: Rng, seed: Seed): Mutation {
  const entries = plainEntries(seed);
  const pkl = entries.find((e) => e.name.endsWith('/data.pkl'));
  const storages = entries.filter((e) => /\/data\/[^/]+$/.test(e.name));
  const root = pkl ? pkl.name.slice(0, -'/data.pkl'.length) : 'archive';
  let what: string;
  switch (int(rng, 10)) {
    case 0: case 1: case 2: case 3: {
      if (!pkl) return rawMutation(rng, seed);
      const m = mutatePickle(rng, pkl.data);
      pkl.data = m.data;
      what = m.what;
      break;
    }
    case 4: {
      // Non-finite or huge values in a float storage (CRC kept valid): the NaN/Inf check must catch it.
      const s = storages.length ? pick(rng, storages) : undefined;
      if (!s || s.data.length < 4) return rawMutation(rng, seed);
      const data = Uint8Array.from(s.data);
      // Half-precision patterns on 2-byte elements, single-precision ones on 4-byte elements.
      const half = data.length % 4 !== 0 || rng() < 0.3;
      const at = half ? 2 * int(rng, Math.floor(data.length / 2)) : 4 * int(rng, Math.floor(data.length / 4));
      if (half) data.set(u16le(pick(rng, [0x7c00, 0xfc00, 0x7e00])), at); else data.set(u32le(pick(rng, NAN_PATTERNS)), at);
      s.data = data;
      what = `non-finite value planted in ${s.name} at byte ${at}`;
      break;
    }
    case 5: {
      const s = storages.length ? pick(rng, storages) : undefined;
      if (!s) return rawMutation(rng, seed);
      s.data = s.data.slice(0, int(rng, s.data.length + 1));
      what = `storage ${s.name} shortened to ${s.data.length} bytes`;
      break;
    }
    case 6: {
      const victim = pick(rng, entries);
      entries.splice(entries.indexOf(victim), 1);
      what = `entry ${victim.name} dropped`;
      break;
    }
    case 7: {
      const copy = pick(rng, entries);
      const renamed = rng() < 0.5 ? copy.name : copy.name.replace(root, `${root}2`);
      entries.push({ name: renamed, data: copy.data, deflate: copy.deflate });
      what = `entry ${copy.name} added again as ${renamed}`;
      break;
    }
    case 8: {
      entries.push({ name: `${root}/byteorder`, data: new TextEncoder().encode(pick(rng, ['big', 'little', 'middle', '\xff'])) });
      what = 'byteorder entry added';
      break;
    }
    default: {
      for (const e of entries) e.deflate = rng() < 0.7;
      what = 'entries re-deflated';
      break;
    }
  }
  return { bytes: writeZip(entries), what: `[rebuilt zip] ${what}` };
}

/**
 * A well-formed file with the wrong contents (written by the library's own writer): missing,
 * renamed and extra keys, wrong shapes, non-finite values, other dtypes. Reaches the layout checks.
 */
function semanticSafetensorsMutation(rng: Rng, seed: Seed): Mutation {
  const dict = readSafetensors(seed.bytes, seed.name);
  const keys = [...dict.keys()];
  const key = pick(rng, keys);
  const t = dict.get(key)!;
  let fp16 = false;
  let what: string;
  switch (int(rng, 8)) {
    case 0: dict.delete(key); what = `${key} removed`; break;
    case 1: {
      const renamed = pick(rng, [key.replace(/\.weight$/, '.wieght'), key.replace(/\d+/, (d) => String(Number(d) + 1)), key.replace(/^[^.]+\./, ''), `module.${key}`]);
      dict.delete(key);
      dict.set(renamed, t);
      what = `${key} renamed to ${renamed}`;
      break;
    }
    case 2: dict.set(`${key.split('.')[0]}.model.99.weight`, t); what = 'extra key added'; break;
    case 3: {
      const shape = pick(rng, [[...t.shape].reverse(), [t.data.length], [...t.shape, 1], t.shape.slice(1)]);
      const n = shape.reduce((a, b) => a * b, 1);
      dict.set(key, { ...t, shape, data: n === t.data.length ? t.data : t.data.slice(0, n) });
      what = `${key} reshaped to [${shape.join(', ')}]`;
      break;
    }
    case 4: {
      const data = Float32Array.from(t.data);
      data[int(rng, data.length)] = pick(rng, [NaN, Infinity, -Infinity]);
      dict.set(key, { ...t, data });
      what = `non-finite value in ${key}`;
      break;
    }
    case 5: {
      const other = pick(rng, keys);
      dict.set(key, dict.get(other)!);
      dict.set(other, t);
      what = `${key} and ${other} swapped`;
      break;
    }
    case 6: fp16 = true; what = 'stored as float16'; break;
    default: {
      // A net of another width in this one's place: the stem disagrees with everything after it.
      const stem = `${key.split('.')[0]}.model.1.weight`;
      const old = dict.get(stem);
      if (old) dict.set(stem, { ...old, shape: [old.shape[0]! * 2, ...old.shape.slice(1)], data: new Float32Array(old.data.length * 2) });
      what = `${stem} doubled`;
    }
  }
  try {
    return { bytes: writeSafetensors(dict, { fp16 }), what: `[rewritten] ${what}` };
  } catch {
    return { bytes: writeSafetensors(dict), what: `[rewritten] ${what}` };
  }
}

/** Edits of a safetensors header (re-serialised, so the JSON parses and deeper checks run). */
function structuredSafetensorsMutation(rng: Rng, seed: Seed): Mutation {
  if (rng() < 0.5) return semanticSafetensorsMutation(rng, seed);
  const src = seed.bytes;
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const headerLen = Number(dv.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(src.subarray(8, 8 + headerLen))) as Record<string, Record<string, unknown>>;
  let data = src.subarray(8 + headerLen);
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const name = pick(rng, names);
  const entry = header[name]!;
  const shape = entry.shape as number[];
  const offsets = entry.data_offsets as number[];
  let what: string;
  switch (int(rng, 12)) {
    case 0: entry.dtype = pick(rng, ['F64', 'I64', 'BOOL', 'U8', 'F8_E4M3', 'f32', '', 7, null]); what = `dtype of ${name} → ${String(entry.dtype)}`; break;
    case 1: entry.shape = pick(rng, [[...shape].reverse(), [...shape, 1], shape.slice(1), shape.map((s) => s * 2), [0], [2 ** 40, 2 ** 40], [-1], [1.5], ['3'], 'x', null, [2 ** 53]]); what = `shape of ${name} → ${JSON.stringify(entry.shape)}`; break;
    case 2: entry.data_offsets = pick(rng, [[offsets[0], offsets[1]! + 4], [offsets[0]! + 4, offsets[1]], [offsets[1], offsets[0]], [0, 2 ** 53], [-4, offsets[1]], [offsets[0]], 'a', [0.5, 4]]); what = `data_offsets of ${name} → ${JSON.stringify(entry.data_offsets)}`; break;
    case 3: delete header[name]; what = `entry ${name} deleted`; break;
    case 4: {
      const renamed = pick(rng, [name.replace(/^(G_A|Pre|H)\./, ''), name.replace(/\d+/, '99'), `${name}.extra`, name.replace('G_A.', 'Pre.'), name.toUpperCase()]);
      delete header[name];
      header[renamed] = entry;
      what = `${name} renamed to ${renamed}`;
      break;
    }
    case 5: header[`${name}_copy`] = { ...entry }; what = `${name} duplicated (overlapping data)`; break;
    case 6: header.__metadata__ = pick(rng, [{ format: 'pt' }, { n: 3 } as never, [] as never, 'x' as never]); what = '__metadata__ replaced'; break;
    case 7: {
      // A non-finite value in the data of a float32 entry.
      const copy = Uint8Array.from(data);
      if (entry.dtype === 'F32' && offsets[1]! > offsets[0]!) copy.set(u32le(pick(rng, NAN_PATTERNS)), offsets[0]! + 4 * int(rng, (offsets[1]! - offsets[0]!) / 4));
      data = copy;
      what = `non-finite value planted in ${name}`;
      break;
    }
    case 8: data = data.subarray(0, int(rng, data.length + 1)); what = `data truncated to ${data.length}`; break;
    case 9: data = concat([data, new Uint8Array(1 + int(rng, 16))]); what = 'data extended'; break;
    case 10: {
      // Swap two same-sized entries' metadata (a "renamed key" that still fits the data).
      const other = pick(rng, names);
      const tmp = header[other]!;
      header[other] = entry;
      header[name] = tmp;
      what = `${name} and ${other} swapped`;
      break;
    }
    default: {
      // The declared header length off by a little (no re-serialisation of it below).
      const bytes = Uint8Array.from(src);
      new DataView(bytes.buffer).setBigUint64(0, BigInt(Math.max(0, headerLen + pick(rng, [-1, 1, -8, 8, 1 << 20]))), true);
      return { bytes, what: 'header length off' };
    }
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return { bytes: out, what: `[header] ${what}` };
}

function mutate(rng: Rng, seed: Seed): Mutation {
  const r = rng();
  const role = rng() < 0.1 && seed.net ? pick(rng, (['G_A', 'Pre', 'H'] as const).filter((n) => n !== seed.net)) : seed.net;
  let m: Mutation;
  if (r < 0.05) m = { bytes: seed.bytes, what: 'unchanged' };
  else if ((seed.kind === 'safetensors' || seed.kind === 'combined') && r < 0.6) m = structuredSafetensorsMutation(rng, seed);
  else if (seed.kind === 'torch' && seed.zip && r < 0.55 && (!seed.big || rng() < 0.3)) m = structuredTorchMutation(rng, seed);
  else if (seed.kind === 'pickle' && r < 0.7) { const p = mutatePickle(rng, seed.bytes); m = { bytes: p.data, what: p.what }; }
  else m = rawMutation(rng, seed);
  return role === seed.net ? m : { ...m, net: role, what: `${m.what}; read as ${role}` };
}

// ---------------------------------------------------------------------------------------------
// Targets and outcomes

/** 'ok', a NercoError code, or `FINDING <ErrorName>: message` for anything else. */
export type Outcome = string;

export interface FuzzResult {
  readonly index: number;
  readonly seed: string;
  readonly what: string;
  readonly outcome: Outcome;
  /** Wall-clock time of the reader on this input. */
  readonly ms: number;
  /** CPU time of the process meanwhile (user + system): what the input costs, whatever else the machine runs. */
  readonly cpuMs: number;
  readonly message?: string;
}

function checkStateDict(dict: StateDict): void {
  for (const [k, t] of dict) {
    if (!(t.data instanceof Float32Array) || t.data.length !== numel(t.shape) || t.shape.some((s) => !Number.isSafeInteger(s) || s < 0)) {
      throw new Error(`invariant: tensor "${k}" has ${t.data.length} values for shape [${t.shape.join(', ')}]`);
    }
  }
}

const INFER = { G_A: inferGA, Pre: inferPre, H: inferH } as const;

/** Feeds one input to the entry point the library would use for a file of its kind. */
function feed(seed: Seed, bytes: Uint8Array, net: NetName | undefined): void {
  switch (seed.kind) {
    case 'combined': {
      const w = parseNeRCoWeights([{ name: seed.name, bytes }]);
      for (const part of [w.ga, w.pre, w.h]) checkStateDict(part.tensors);
      return;
    }
    case 'safetensors':
      checkStateDict(readSafetensors(bytes, seed.name));
      return;
    case 'pickle':
      unpickleTorch(bytes, seed.name, () => undefined);
      return;
    default: {
      const name = net ? `latest_net_${net}.pth` : seed.name;
      const dict = readStateDictFile({ name, bytes });
      checkStateDict(dict);
      if (net) checkStateDict(INFER[net](dict, { source: name }).tensors);
    }
  }
}

/**
 * Picks the seed for input i: the big files rarely (they cost tens of ms each even when rejected
 * early), the files of NeRCo's own nets often (only they reach the architecture checks).
 */
function pickSeed(rng: Rng, corpus: readonly Seed[]): Seed {
  const big = corpus.filter((s) => s.big);
  const r = rng();
  if (big.length && r < 0.03) return pick(rng, big);
  const nets = corpus.filter((s) => !s.big && (s.net || s.kind === 'combined'));
  if (nets.length && r < 0.3) return pick(rng, nets);
  return pick(rng, corpus.filter((s) => !s.big));
}

export interface FuzzInput {
  readonly index: number;
  readonly seed: Seed;
  readonly mutation: Mutation;
}

/** Input `index` of the run with `runSeed` (deterministic). A big seed stays mutated until the input is fed. */
export function makeInput(corpus: readonly Seed[], runSeed: number, index: number): FuzzInput {
  const rng = makeRng((Math.imul(runSeed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca77)) >>> 0);
  const seed = pickSeed(rng, corpus);
  return { index, seed, mutation: mutate(rng, seed) };
}

/** What input `index` is, without running it (for reporting a hang). */
export function describeInput(corpus: readonly Seed[], runSeed: number, index: number): string {
  const { seed, mutation } = makeInput(corpus, runSeed, index);
  mutation.restore?.();
  return `${seed.name}: ${mutation.what}`;
}

/** Input `index` of the run with `runSeed`, made and fed. */
export function runOne(corpus: readonly Seed[], runSeed: number, index: number): FuzzResult {
  return feedInput(makeInput(corpus, runSeed, index));
}

/** Feeds an input to its reader and classifies the outcome; only this part is timed. */
export function feedInput(input: FuzzInput): FuzzResult {
  const { index, seed, mutation: m } = input;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let outcome: Outcome = 'ok';
  let message: string | undefined;
  try {
    feed(seed, m.bytes, m.net);
  } catch (e) {
    if (e instanceof NercoError) {
      outcome = e.code;
      message = e.message;
    } else {
      outcome = `FINDING ${(e as Error)?.name ?? typeof e}`;
      message = e instanceof Error ? `${e.message}\n${e.stack}` : String(e);
    }
  } finally {
    m.restore?.();
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { index, seed: seed.name, what: m.what, outcome, ms, cpuMs: (cpu.user + cpu.system) / 1000, message };
}

export interface FuzzSummary {
  readonly count: number;
  readonly outcomes: Record<string, number>;
  readonly maxMs: number;
  readonly medianMs: number;
  readonly p99Ms: number;
  readonly maxCpuMs: number;
  readonly slowest: FuzzResult;
  readonly findings: FuzzResult[];
}

export function summarise(results: readonly FuzzResult[]): FuzzSummary {
  const outcomes: Record<string, number> = {};
  for (const r of results) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
  const ms = results.map((r) => r.ms).sort((a, b) => a - b);
  const slowest = results.reduce((a, b) => (b.ms > a.ms ? b : a), results[0]!);
  return {
    count: results.length,
    outcomes,
    maxMs: ms[ms.length - 1] ?? 0,
    medianMs: ms[Math.floor(ms.length / 2)] ?? 0,
    p99Ms: ms[Math.floor(ms.length * 0.99)] ?? 0,
    maxCpuMs: results.reduce((m, r) => Math.max(m, r.cpuMs), 0),
    slowest,
    findings: results.filter((r) => r.outcome.startsWith('FINDING')),
  };
}
