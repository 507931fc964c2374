/**
 * The torch vocabulary for the allow-list unpickler: which globals a state-dict pickle may name,
 * and how the allowed constructors are modelled as plain data (storage and tensor references).
 */
import { CheckpointError } from '../src/errors.js';
import {
  describePickleValue, type GlobalHandler, PickleDict, PickleGlobal, PickleOpaque, PickleTuple, type PickleValue, unpickle,
} from './pickle.js';

export type StorageDtype = 'float32' | 'float16' | 'bfloat16' | 'int64';

/** Storage classes a persistent id may name, with the dtype and element size they stand for. */
export const STORAGE_TYPES: ReadonlyMap<string, { dtype: StorageDtype; itemSize: number }> = new Map([
  ['torch.FloatStorage', { dtype: 'float32', itemSize: 4 }],
  ['torch.HalfStorage', { dtype: 'float16', itemSize: 2 }],
  ['torch.BFloat16Storage', { dtype: 'bfloat16', itemSize: 2 }],
  // Only for BatchNorm/InstanceNorm `num_batches_tracked` counters, which legacy files may carry.
  ['torch.LongStorage', { dtype: 'int64', itemSize: 8 }],
]);

/** A persistent storage reference: `('storage', <type>, key, location, numel)`. */
export interface StorageRef {
  readonly key: string;
  readonly dtype: StorageDtype;
  readonly itemSize: number;
  readonly location: string;
  readonly numel: number;
}

/** What `torch._utils._rebuild_tensor_v2` would build, as data. */
export interface TensorRef {
  readonly storage: StorageRef;
  readonly offset: number;
  readonly size: readonly number[];
  readonly stride: readonly number[];
}

export const STORAGE_KIND = 'torch.storage';
export const TENSOR_KIND = 'torch.Tensor';

export function isTensorRef(v: PickleValue): v is PickleOpaque<TensorRef> {
  return v instanceof PickleOpaque && v.kind === TENSOR_KIND;
}

function intArg(v: PickleValue, what: string, file: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new CheckpointError(file, `pickle: ${what} must be a non-negative integer, got ${typeof v === 'number' ? v : describePickleValue(v)}`);
  }
  return v;
}

function intTuple(v: PickleValue, what: string, file: string): number[] {
  if (!(v instanceof PickleTuple)) throw new CheckpointError(file, `pickle: ${what} must be a tuple, got ${describePickleValue(v)}`);
  if (v.items.length > 64) throw new CheckpointError(file, `pickle: ${what} has ${v.items.length} dimensions`);
  return v.items.map((x, i) => intArg(x, `${what}[${i}]`, file));
}

function rebuildTensorV2(args: readonly PickleValue[], file: string): PickleValue {
  // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  if (args.length < 6 || args.length > 7) {
    throw new CheckpointError(file, `pickle: _rebuild_tensor_v2 takes 6 or 7 arguments, got ${args.length}`);
  }
  const [storage, offset, size, stride, requiresGrad, hooks] = args;
  if (!(storage instanceof PickleOpaque) || storage.kind !== STORAGE_KIND) {
    throw new CheckpointError(file, `pickle: _rebuild_tensor_v2 expects a storage, got ${describePickleValue(storage)}`);
  }
  if (typeof requiresGrad !== 'boolean') throw new CheckpointError(file, 'pickle: requires_grad must be a bool');
  if (!(hooks instanceof PickleDict) || hooks.map.size > 0) {
    throw new CheckpointError(file, 'pickle: tensors with backward hooks are not supported');
  }
  const ref: TensorRef = {
    storage: storage.value as StorageRef,
    offset: intArg(offset, 'storage_offset', file),
    size: intTuple(size, 'size', file),
    stride: intTuple(stride, 'stride', file),
  };
  if (ref.size.length !== ref.stride.length) {
    throw new CheckpointError(file, `pickle: tensor size has ${ref.size.length} dims but stride has ${ref.stride.length}`);
  }
  return new PickleOpaque(TENSOR_KIND, ref);
}

function rebuildParameter(args: readonly PickleValue[], file: string): PickleValue {
  // (data, requires_grad, backward_hooks): a Parameter is its tensor, as far as weights go.
  if (args.length !== 3 || !isTensorRef(args[0])) {
    throw new CheckpointError(file, 'pickle: _rebuild_parameter expects (tensor, requires_grad, hooks)');
  }
  return args[0];
}

function orderedDict(args: readonly PickleValue[], file: string): PickleValue {
  if (args.length !== 0) throw new CheckpointError(file, 'pickle: OrderedDict with constructor arguments is not supported');
  return new PickleDict();
}

/** The allow-list: every global a torch state-dict pickle may reference. */
export function torchGlobals(): Map<string, GlobalHandler> {
  const globals = new Map<string, GlobalHandler>([
    ['collections.OrderedDict', { call: orderedDict }],
    ['torch._utils._rebuild_tensor_v2', { call: rebuildTensorV2 }],
    ['torch._utils._rebuild_parameter', { call: rebuildParameter }],
  ]);
  // Storage classes are only type tags inside persistent ids; they are never called.
  for (const name of STORAGE_TYPES.keys()) globals.set(name, {});
  return globals;
}

/** Validates a torch persistent id and turns it into a storage reference. */
export function parseStoragePid(pid: PickleValue, file: string): StorageRef {
  if (!(pid instanceof PickleTuple) || pid.items.length !== 5 || pid.items[0] !== 'storage') {
    throw new CheckpointError(file, `pickle: unsupported persistent id (${describePickleValue(pid)}); expected ('storage', type, key, location, numel)`);
  }
  const [, type, key, location, numel] = pid.items;
  const typeName = type instanceof PickleGlobal ? type.qualifiedName : undefined;
  const info = typeName ? STORAGE_TYPES.get(typeName) : undefined;
  if (!info) {
    throw new CheckpointError(file, `pickle: unsupported storage type ${typeName ?? describePickleValue(type)}; only float32, float16 and bfloat16 weights are supported`);
  }
  if (typeof key !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(key) || key.includes('..')) {
    throw new CheckpointError(file, `pickle: bad storage key ${JSON.stringify(key)}`);
  }
  if (typeof location !== 'string') throw new CheckpointError(file, 'pickle: storage location must be a string');
  return { key, dtype: info.dtype, itemSize: info.itemSize, location, numel: intArg(numel, 'storage numel', file) };
}

/**
 * Unpickles a torch `data.pkl`. `resolveStorage` is asked about every storage reference (once per
 * occurrence) so the caller can check it against the archive while the pickle is read.
 */
export function unpickleTorch(data: Uint8Array, file: string, resolveStorage: (ref: StorageRef) => void): PickleValue {
  return unpickle(data, {
    file,
    globals: torchGlobals(),
    persistentLoad: (pid) => {
      const ref = parseStoragePid(pid, file);
      resolveStorage(ref);
      return new PickleOpaque(STORAGE_KIND, ref);
    },
  });
}
