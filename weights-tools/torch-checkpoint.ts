/**
 * Reads a PyTorch (>= 1.6, ZIP container) state-dict checkpoint into a StateDict of float32
 * tensors, without executing anything from the file.
 */
import { CheckpointError } from '../src/errors.js';
import type { HostTensor, StateDict } from '../src/nerco/host-tensor.js';
import { decodeBfloat16Array, decodeHalfArray, HOST_LITTLE_ENDIAN } from './float16.js';
import { describePickleValue, PickleDict, type PickleValue } from './pickle.js';
import { isTensorRef, type StorageRef, type TensorRef, unpickleTorch } from './torch-pickle.js';
import { ZipReader } from './zip.js';

/** Largest tensor (in elements) that will be materialised; guards against zero-stride expansion bombs. */
export const MAX_TENSOR_ELEMENTS = 1 << 28;

/** Integer counters that state dicts carry and inference never reads; dropped on load. */
const COUNTER_SUFFIX = '.num_batches_tracked';

export function readTorchCheckpoint(input: Uint8Array, fileName: string): StateDict {
  // A plain view, so that slice()/subarray() behave as Uint8Array's even when given a Node Buffer.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  checkContainer(bytes, fileName);
  const zip = ZipReader.open(bytes, fileName);

  const pickles = zip.entries.filter((e) => /^[^/]+\/data\.pkl$/.test(e.name));
  if (pickles.length !== 1) {
    throw new CheckpointError(fileName, pickles.length === 0
      ? 'zip archive has no <root>/data.pkl: not a torch.save checkpoint'
      : `zip archive has ${pickles.length} data.pkl entries; expected one`);
  }
  const root = pickles[0].name.slice(0, -'/data.pkl'.length);
  const littleEndian = readByteOrder(zip, root, fileName);

  const storages = new Map<string, StorageRef>();
  const value = unpickleTorch(zip.read(pickles[0].name), fileName, (ref) => {
    checkStorage(zip, root, ref, storages, fileName);
  });

  const dict = selectStateDict(value, fileName);
  const tensors: [string, TensorRef][] = [];
  for (const [key, v] of dict.map) {
    if (typeof key !== 'string') throw new CheckpointError(fileName, `state dict has a non-string key (${String(key)})`);
    if (!isTensorRef(v)) throw new CheckpointError(fileName, `state dict entry "${key}" is a ${describePickleValue(v)}, not a tensor`);
    if (v.value.storage.dtype === 'int64') {
      if (key.endsWith(COUNTER_SUFFIX)) continue;
      throw new CheckpointError(fileName, `tensor "${key}" is int64; only float32, float16 and bfloat16 weights are supported`);
    }
    tensors.push([key, v.value]);
  }

  const uses = new Map<string, number>();
  for (const [, t] of tensors) uses.set(t.storage.key, (uses.get(t.storage.key) ?? 0) + 1);
  checkMaterialisedSize(tensors, storages, fileName);
  const decoded = new Map<string, Float32Array>();
  const out: StateDict = new Map();
  for (const [key, t] of tensors) {
    let storage = decoded.get(t.storage.key);
    if (!storage) {
      storage = decodeStorage(zip.read(`${root}/data/${t.storage.key}`), t.storage, littleEndian);
      decoded.set(t.storage.key, storage);
    }
    out.set(key, materialise(key, t, storage, (uses.get(t.storage.key) ?? 0) > 1, fileName));
  }
  return out;
}

/**
 * Views may repeat storage elements (a tensor and its slices; zero strides), but a real state dict
 * never materialises much more than its storages hold. A file that would is refused before any allocation.
 */
function checkMaterialisedSize(tensors: readonly [string, TensorRef][], storages: ReadonlyMap<string, StorageRef>, fileName: string): void {
  let stored = 0;
  for (const s of storages.values()) stored += s.numel;
  let total = 0;
  for (const [key, t] of tensors) {
    let n = 1;
    for (const s of t.size) {
      n *= s;
      if (n > MAX_TENSOR_ELEMENTS) throw new CheckpointError(fileName, `tensor "${key}" of shape [${t.size.join(', ')}] is too large`);
    }
    total += n;
  }
  if (total > 8 * stored + (1 << 20)) {
    throw new CheckpointError(fileName, `tensors would expand ${stored} stored elements to ${total}; refusing the file`);
  }
}

function checkContainer(bytes: Uint8Array, fileName: string): void {
  if (bytes.length >= 2 && bytes[0] === 0x50 && bytes[1] === 0x4b) return; // "PK"
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1] <= 5) {
    throw new CheckpointError(fileName,
      'this is a legacy (pre-1.6, non-ZIP) torch.save file, which is not supported; re-save it with torch >= 1.6: ' +
      'torch.save(torch.load(path), new_path)');
  }
  throw new CheckpointError(fileName, 'not a PyTorch checkpoint: the file is not a ZIP archive (it does not start with "PK")');
}

function readByteOrder(zip: ZipReader, root: string, fileName: string): boolean {
  const name = `${root}/byteorder`;
  if (!zip.has(name)) return true; // torch omits it on little-endian machines up to 1.x
  const order = new TextDecoder().decode(zip.read(name)).trim();
  if (order !== 'little' && order !== 'big') throw new CheckpointError(fileName, `unknown byteorder "${order}"`);
  return order === 'little';
}

function checkStorage(zip: ZipReader, root: string, ref: StorageRef, seen: Map<string, StorageRef>, fileName: string): void {
  const prev = seen.get(ref.key);
  if (prev) {
    if (prev.dtype !== ref.dtype || prev.numel !== ref.numel) {
      throw new CheckpointError(fileName, `storage ${ref.key} is referenced as ${prev.dtype}[${prev.numel}] and as ${ref.dtype}[${ref.numel}]`);
    }
    return;
  }
  const entry = zip.entry(`${root}/data/${ref.key}`);
  if (!entry) throw new CheckpointError(fileName, `storage ${ref.key} is missing from the archive (${root}/data/${ref.key})`);
  const expected = ref.numel * ref.itemSize;
  if (entry.uncompressedSize !== expected) {
    throw new CheckpointError(fileName, `storage ${ref.key} holds ${entry.uncompressedSize} bytes, but ${ref.numel} ${ref.dtype} elements need ${expected}`);
  }
  seen.set(ref.key, ref);
}

/** The top-level OrderedDict; a `{'state_dict': ...}` wrapper (as training scripts often save) is unwrapped once. */
function selectStateDict(value: PickleValue, fileName: string): PickleDict {
  if (!(value instanceof PickleDict)) {
    throw new CheckpointError(fileName, `checkpoint holds a ${describePickleValue(value)}, not a state dict`);
  }
  const inner = value.map.get('state_dict');
  if (inner instanceof PickleDict && ![...value.map.values()].every(isTensorRef)) return inner;
  return value;
}

function decodeStorage(raw: Uint8Array, ref: StorageRef, littleEndian: boolean): Float32Array {
  // Copy into fresh, aligned memory: the zip view may be unaligned and belongs to the caller.
  const copy = new Uint8Array(raw.length);
  copy.set(raw);
  if (littleEndian !== HOST_LITTLE_ENDIAN) swapBytes(copy, ref.itemSize);
  switch (ref.dtype) {
    case 'float32': return new Float32Array(copy.buffer, 0, ref.numel);
    case 'float16': return decodeHalfArray(new Uint16Array(copy.buffer, 0, ref.numel));
    case 'bfloat16': return decodeBfloat16Array(new Uint16Array(copy.buffer, 0, ref.numel));
    case 'int64': throw new Error('unreachable: int64 storages are filtered before decoding');
  }
}

/** Reverses the bytes of each `size`-byte element in place (a plain loop: tens of millions of elements). */
function swapBytes(b: Uint8Array, size: number): void {
  const half = size >> 1;
  for (let i = 0; i + size <= b.length; i += size) {
    for (let k = 0; k < half; k++) {
      const t = b[i + k];
      b[i + k] = b[i + size - 1 - k];
      b[i + size - 1 - k] = t;
    }
  }
}

function materialise(key: string, t: TensorRef, storage: Float32Array, shared: boolean, fileName: string): HostTensor {
  const { size, stride, offset } = t;
  const numel = size.reduce((a, b) => a * b, 1); // bounded by checkMaterialisedSize
  const sourceDtype = t.storage.dtype as HostTensor['sourceDtype'];
  const shape = [...size];
  if (numel === 0) return { shape, data: new Float32Array(0), sourceDtype };

  let last = offset;
  for (let d = 0; d < size.length; d++) last += (size[d] - 1) * stride[d];
  if (last >= storage.length) {
    throw new CheckpointError(fileName,
      `tensor "${key}" (offset ${offset}, size [${size.join(', ')}], stride [${stride.join(', ')}]) reaches element ${last} of a ${storage.length}-element storage`);
  }

  if (isContiguous(size, stride)) {
    const view = storage.subarray(offset, offset + numel);
    // A storage used by several tensors is copied so that no two HostTensors alias each other.
    const whole = offset === 0 && numel === storage.length;
    return { shape, data: whole && !shared ? view : view.slice(), sourceDtype };
  }
  return { shape, data: gatherStrided(storage, offset, size, stride, numel), sourceDtype };
}

function isContiguous(size: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let d = size.length - 1; d >= 0; d--) {
    if (size[d] !== 1 && stride[d] !== expected) return false;
    expected *= size[d];
  }
  return true;
}

/** Row-major copy of an arbitrary strided view. */
function gatherStrided(src: Float32Array, offset: number, size: readonly number[], stride: readonly number[], numel: number): Float32Array {
  const out = new Float32Array(numel);
  const nd = size.length;
  const index = new Array<number>(nd).fill(0);
  const innerSize = nd ? size[nd - 1] : 1;
  const innerStride = nd ? stride[nd - 1] : 0;
  let base = offset;
  for (let o = 0; o < numel; o += innerSize) {
    for (let i = 0; i < innerSize; i++) out[o + i] = src[base + i * innerStride];
    // Advance the outer index like an odometer.
    for (let d = nd - 2; d >= 0; d--) {
      index[d]++;
      base += stride[d];
      if (index[d] < size[d]) break;
      base -= stride[d] * size[d];
      index[d] = 0;
    }
  }
  return out;
}
