/**
 * An allow-list unpickler: a pure data decoder for the subset of the pickle protocol (0–5) that
 * torch.save emits. It never imports or executes anything. A GLOBAL / STACK_GLOBAL naming
 * anything outside the caller's allow-list is rejected right at that opcode; REDUCE only "calls"
 * allow-listed handlers that the caller supplies, which build plain data.
 *
 * The machine is iterative (no recursion) and bounded: stack, mark depth, memo size and integer
 * widths are capped, and every read is checked against the end of the input.
 */
import { CheckpointError } from '../src/errors.js';

export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleTuple
  | PickleList
  | PickleDict
  | PickleGlobal
  | PickleOpaque;

export class PickleTuple {
  constructor(readonly items: readonly PickleValue[]) {}
}

export class PickleList {
  readonly items: PickleValue[] = [];
}

export type PickleDictKey = string | number | bigint | boolean | null;

/** A dict or OrderedDict (insertion order is kept, as in Python). */
export class PickleDict {
  readonly map = new Map<PickleDictKey, PickleValue>();
  /** State set by BUILD (torch stores `_metadata` this way); kept but not interpreted. */
  state: PickleValue | undefined;
}

/** A reference to an allow-listed global (a class or function), as pushed by GLOBAL. */
export class PickleGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** A value built by a caller-supplied handler (REDUCE) or persistent loader; opaque to the machine. */
export class PickleOpaque<T = unknown> {
  constructor(readonly kind: string, readonly value: T) {}
}

export interface GlobalHandler {
  /**
   * What REDUCE does with this global: receives the argument tuple's items and returns plain
   * data. Absent: the global may be referenced (e.g. as a type tag) but not called.
   */
  readonly call?: (args: readonly PickleValue[], file: string) => PickleValue;
}

export interface PickleLimits {
  readonly maxStack: number;
  readonly maxMarkDepth: number;
  readonly maxMemo: number;
  /** Widest LONG1/LONG4 integer accepted, in bytes. */
  readonly maxLongBytes: number;
  /** Longest GLOBAL module/name line, in bytes. */
  readonly maxGlobalLine: number;
}

export const DEFAULT_PICKLE_LIMITS: PickleLimits = {
  maxStack: 1_000_000,
  maxMarkDepth: 10_000,
  maxMemo: 1_000_000,
  maxLongBytes: 64,
  maxGlobalLine: 256,
};

export interface UnpickleOptions {
  /** Name used in error messages. */
  readonly file: string;
  /** Allowed globals, keyed by "module.name". Everything else is refused. */
  readonly globals: ReadonlyMap<string, GlobalHandler>;
  /** Resolves BINPERSID ids; without it, a persistent id is an error. */
  readonly persistentLoad?: (pid: PickleValue) => PickleValue;
  readonly limits?: Partial<PickleLimits>;
}

const OP = {
  MARK: 0x28, STOP: 0x2e, POP: 0x30, POP_MARK: 0x31, DUP: 0x32,
  BINFLOAT: 0x47, BININT: 0x4a, BININT1: 0x4b, BININT2: 0x4d, NONE: 0x4e,
  BINPERSID: 0x51, REDUCE: 0x52, BINSTRING: 0x54, SHORT_BINSTRING: 0x55, BINUNICODE: 0x58,
  APPEND: 0x61, BUILD: 0x62, GLOBAL: 0x63, DICT: 0x64, APPENDS: 0x65, BINGET: 0x68,
  LONG_BINGET: 0x6a, LIST: 0x6c, BINPUT: 0x71, LONG_BINPUT: 0x72, SETITEM: 0x73, TUPLE: 0x74,
  SETITEMS: 0x75, EMPTY_DICT: 0x7d, EMPTY_LIST: 0x5d, EMPTY_TUPLE: 0x29,
  BINBYTES: 0x42, SHORT_BINBYTES: 0x43,
  PROTO: 0x80, TUPLE1: 0x85, TUPLE2: 0x86, TUPLE3: 0x87, NEWTRUE: 0x88, NEWFALSE: 0x89,
  LONG1: 0x8a, LONG4: 0x8b,
  SHORT_BINUNICODE: 0x8c, BINUNICODE8: 0x8d, BINBYTES8: 0x8e, MEMOIZE: 0x94, FRAME: 0x95,
  STACK_GLOBAL: 0x93,
} as const;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A short type name for error messages (never recurses into the value). */
export function describePickleValue(v: PickleValue): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'string') return 'str';
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof PickleTuple) return `tuple of ${v.items.length}`;
  if (v instanceof PickleList) return 'list';
  if (v instanceof PickleDict) return 'dict';
  if (v instanceof PickleGlobal) return `global ${v.qualifiedName}`;
  return v.kind;
}

/** Decodes one pickle. Throws CheckpointError (naming `options.file`) on anything unsupported or unsafe. */
export function unpickle(data: Uint8Array, options: UnpickleOptions): PickleValue {
  const file = options.file;
  const lim: PickleLimits = { ...DEFAULT_PICKLE_LIMITS, ...options.limits };
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const stack: PickleValue[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PickleValue>();
  let pos = 0;
  let opAt = 0;

  const fail = (msg: string): never => {
    throw new CheckpointError(file, `pickle: ${msg} (opcode at byte ${opAt})`);
  };
  const need = (n: number): void => {
    if (n < 0 || pos + n > data.length) fail(`truncated: needs ${n} more byte(s) at ${pos}, the pickle has ${data.length}`);
  };
  const u8 = (): number => { need(1); return data[pos++]; };
  const u16 = (): number => { need(2); const v = view.getUint16(pos, true); pos += 2; return v; };
  const u32 = (): number => { need(4); const v = view.getUint32(pos, true); pos += 4; return v; };
  const i32 = (): number => { need(4); const v = view.getInt32(pos, true); pos += 4; return v; };
  const u64 = (): number => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(data.length)) fail(`length ${v} exceeds the pickle size`);
    return Number(v);
  };
  const bytes = (n: number): Uint8Array => { need(n); const b = data.subarray(pos, pos + n); pos += n; return b; };
  const text = (n: number): string => {
    try {
      return utf8.decode(bytes(n));
    } catch (err) {
      if (err instanceof CheckpointError) throw err;
      return fail('string is not valid UTF-8');
    }
  };
  const line = (): string => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0 || end - pos > lim.maxGlobalLine) fail('GLOBAL argument is unterminated or too long');
    const s = text(end - pos);
    pos = end + 1;
    return s;
  };

  const push = (v: PickleValue): void => {
    if (stack.length >= lim.maxStack) fail(`stack exceeds ${lim.maxStack} items`);
    stack.push(v);
  };
  const pop = (): PickleValue => {
    const floor = marks.length ? marks[marks.length - 1] : 0;
    if (stack.length <= floor) fail('stack underflow');
    return stack.pop() as PickleValue;
  };
  const top = (): PickleValue => {
    const floor = marks.length ? marks[marks.length - 1] : 0;
    if (stack.length <= floor) fail('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): PickleValue[] => {
    const m = marks.pop();
    if (m === undefined) fail('no MARK on the stack');
    return stack.splice(m as number);
  };
  const memoPut = (idx: number): void => {
    if (!memo.has(idx) && memo.size >= lim.maxMemo) fail(`memo exceeds ${lim.maxMemo} entries`);
    memo.set(idx, top());
  };
  const memoGet = (idx: number): void => {
    if (!memo.has(idx)) fail(`memo key ${idx} is not defined`);
    push(memo.get(idx) as PickleValue);
  };
  const resolveGlobal = (module: string, name: string): void => {
    const qualified = `${module}.${name}`;
    if (!options.globals.has(qualified)) {
      fail(`refusing the global "${qualified}": only ${[...options.globals.keys()].join(', ')} are allowed (a checkpoint that needs other globals could run code)`);
    }
    push(new PickleGlobal(module, name));
  };
  const dictKey = (k: PickleValue): PickleDictKey => {
    if (k === null || typeof k === 'string' || typeof k === 'number' || typeof k === 'bigint' || typeof k === 'boolean') return k;
    return fail(`unsupported dict key of type ${describePickleValue(k)}`);
  };
  const setItems = (target: PickleValue, items: readonly PickleValue[]): void => {
    if (!(target instanceof PickleDict)) fail(`SETITEM(S) on a ${describePickleValue(target)}, not a dict`);
    if (items.length % 2) fail('SETITEMS with an odd number of items');
    for (let i = 0; i < items.length; i += 2) (target as PickleDict).map.set(dictKey(items[i]), items[i + 1]);
  };
  const appendItems = (target: PickleValue, items: readonly PickleValue[]): void => {
    if (!(target instanceof PickleList)) fail(`APPEND(S) on a ${describePickleValue(target)}, not a list`);
    // A loop, not push(...items): a spread of a few hundred thousand items overflows the call stack.
    const list = (target as PickleList).items;
    for (const item of items) list.push(item);
  };
  const readLong = (n: number): number | bigint => {
    if (n > lim.maxLongBytes) fail(`integer of ${n} bytes exceeds the limit of ${lim.maxLongBytes}`);
    const b = bytes(n);
    if (n === 0) return 0;
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };

  for (;;) {
    opAt = pos;
    const op = u8();
    switch (op) {
      case OP.PROTO: {
        const v = u8();
        if (v > 5) fail(`unsupported pickle protocol ${v}`);
        break;
      }
      case OP.FRAME:
        // Framing is only an I/O hint; the frame must still lie inside the data.
        need(u64());
        break;
      case OP.STOP: {
        if (marks.length) fail('STOP with an open MARK');
        const result = pop();
        return result;
      }
      case OP.MARK:
        if (marks.length >= lim.maxMarkDepth) fail(`MARK nesting exceeds ${lim.maxMarkDepth}`);
        marks.push(stack.length);
        break;
      case OP.POP:
        pop();
        break;
      case OP.POP_MARK:
        popMark();
        break;
      case OP.DUP:
        push(top());
        break;

      case OP.NONE: push(null); break;
      case OP.NEWTRUE: push(true); break;
      case OP.NEWFALSE: push(false); break;
      case OP.BININT1: push(u8()); break;
      case OP.BININT2: push(u16()); break;
      case OP.BININT: push(i32()); break;
      case OP.LONG1: push(readLong(u8())); break;
      case OP.LONG4: {
        const n = i32();
        if (n < 0) fail('negative LONG4 length');
        push(readLong(n));
        break;
      }
      case OP.BINFLOAT: {
        need(8);
        push(view.getFloat64(pos, false));
        pos += 8;
        break;
      }

      case OP.SHORT_BINUNICODE: push(text(u8())); break;
      case OP.BINUNICODE: push(text(u32())); break;
      case OP.BINUNICODE8: push(text(u64())); break;
      // Python-2 byte strings: torch.load decodes them as UTF-8 text.
      case OP.SHORT_BINSTRING: push(text(u8())); break;
      case OP.BINSTRING: {
        const n = i32();
        if (n < 0) fail('negative BINSTRING length');
        push(text(n));
        break;
      }
      case OP.SHORT_BINBYTES: push(Uint8Array.from(bytes(u8()))); break;
      case OP.BINBYTES: push(Uint8Array.from(bytes(u32()))); break;
      case OP.BINBYTES8: push(Uint8Array.from(bytes(u64()))); break;

      case OP.EMPTY_TUPLE: push(new PickleTuple([])); break;
      case OP.TUPLE: push(new PickleTuple(popMark())); break;
      case OP.TUPLE1: { const a = pop(); push(new PickleTuple([a])); break; }
      case OP.TUPLE2: { const b = pop(); const a = pop(); push(new PickleTuple([a, b])); break; }
      case OP.TUPLE3: { const c = pop(); const b = pop(); const a = pop(); push(new PickleTuple([a, b, c])); break; }
      case OP.EMPTY_LIST: push(new PickleList()); break;
      case OP.LIST: { const items = popMark(); const l = new PickleList(); appendItems(l, items); push(l); break; }
      case OP.APPEND: { const v = pop(); appendItems(top(), [v]); break; }
      case OP.APPENDS: { const items = popMark(); appendItems(top(), items); break; }
      case OP.EMPTY_DICT: push(new PickleDict()); break;
      case OP.DICT: { const items = popMark(); const d = new PickleDict(); setItems(d, items); push(d); break; }
      case OP.SETITEM: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; }
      case OP.SETITEMS: { const items = popMark(); setItems(top(), items); break; }

      case OP.BINPUT: memoPut(u8()); break;
      case OP.LONG_BINPUT: memoPut(u32()); break;
      case OP.MEMOIZE: memoPut(memo.size); break;
      case OP.BINGET: memoGet(u8()); break;
      case OP.LONG_BINGET: memoGet(u32()); break;

      case OP.GLOBAL: {
        const module = line();
        const name = line();
        resolveGlobal(module, name);
        break;
      }
      case OP.STACK_GLOBAL: {
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        resolveGlobal(module as string, name as string);
        break;
      }
      case OP.REDUCE: {
        const args = pop();
        const callable = pop();
        if (!(callable instanceof PickleGlobal)) fail(`REDUCE on a ${describePickleValue(callable)}, not a global`);
        if (!(args instanceof PickleTuple)) fail('REDUCE arguments are not a tuple');
        const g = callable as PickleGlobal;
        const handler = options.globals.get(g.qualifiedName);
        if (!handler?.call) fail(`"${g.qualifiedName}" may not be called`);
        push((handler as Required<GlobalHandler>).call((args as PickleTuple).items, file));
        break;
      }
      case OP.BUILD: {
        const state = pop();
        const target = top();
        if (!(target instanceof PickleDict)) fail(`BUILD on a ${describePickleValue(target)} is not supported`);
        (target as PickleDict).state = state;
        break;
      }
      case OP.BINPERSID: {
        const pid = pop();
        if (!options.persistentLoad) fail('unexpected persistent id');
        push((options.persistentLoad as (p: PickleValue) => PickleValue)(pid));
        break;
      }
      default:
        fail(`unsupported opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }
}
