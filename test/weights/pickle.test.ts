import { describe, expect, it, vi } from 'vitest';
import { CheckpointError } from '../../src/errors.js';
import {
  type GlobalHandler, PickleDict, PickleList, PickleTuple, type PickleValue, unpickle,
} from '../../weights-tools/pickle.js';
import { torchGlobals } from '../../weights-tools/torch-pickle.js';
import { catchError, fixtureBytes } from './fixtures.js';

/** Plain-JS view of a decoded value: dict → Map, list → array, tuple → { tuple: [...] }. */
function plain(v: PickleValue): unknown {
  if (v instanceof PickleDict) return new Map([...v.map].map(([k, x]) => [k, plain(x)]));
  if (v instanceof PickleList) return v.items.map(plain);
  if (v instanceof PickleTuple) return { tuple: v.items.map(plain) };
  return v;
}
const tup = (...items: unknown[]) => ({ tuple: items });

/** The object make.py pickled (written out here by hand). */
function expectedPlain(protocol: number): Map<unknown, unknown> {
  const m = new Map<unknown, unknown>([
    ['int', 1], ['neg', -5], ['i16', 40000], ['i32', -(2 ** 31)], ['big', 2 ** 40], ['huge', -(2n ** 70n)],
    ['float', 1.5], ['inf', -Infinity], ['str', 'h\u00e9llo \u2713'], ['none', null], ['t', true], ['f', false],
    ['list', [1, 2, 3, [4]]], ['tuple', tup(1, 'a')], ['t3', tup(1, 2, 3)], ['t4', tup(1, 2, 3, 4)], ['empty', tup()],
    ['dict', new Map<unknown, unknown>([['x', [tup()]], [7, 'seven']])],
    ['shared', tup([9], [9])],
  ]);
  if (protocol >= 3) m.set('bytes', new Uint8Array([0, 1, 255]));
  return m;
}

const enc = (s: string) => new TextEncoder().encode(s);
const cat = (...parts: (Uint8Array | number[] | string)[]) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...enc(p)] : [...p])));

describe('unpickle: ordinary data written by Python', () => {
  for (const protocol of [2, 3, 4, 5]) {
    it(`decodes protocol ${protocol} exactly`, () => {
      const v = unpickle(fixtureBytes(`plain_p${protocol}.pkl`), { file: 'p.pkl', globals: torchGlobals() });
      expect(plain(v)).toEqual(expectedPlain(protocol));
      // Memoised objects stay shared, as in Python.
      const shared = (v as PickleDict).map.get('shared') as PickleTuple;
      expect(shared.items[0]).toBe(shared.items[1]);
    });
  }
});

describe('unpickle: allow-list', () => {
  it('rejects posix.system at the GLOBAL opcode, naming it', () => {
    const err = catchError(() => unpickle(fixtureBytes('malicious_posix_system.pkl'), { file: 'evil.pkl', globals: torchGlobals() }), CheckpointError);
    expect(err.message).toMatch(/^evil\.pkl: .*"posix\.system"/);
    expect(err.file).toBe('evil.pkl');
  });

  it('rejects builtins.eval reached through STACK_GLOBAL (protocol 4)', () => {
    const err = catchError(() => unpickle(fixtureBytes('malicious_builtins_eval.pkl'), { file: 'eval.pkl', globals: torchGlobals() }), CheckpointError);
    expect(err.message).toMatch(/"builtins\.eval"/);
  });

  it('stops before reading anything after the forbidden global, and calls no handler', () => {
    const call = vi.fn(() => null);
    const persistentLoad = vi.fn(() => null);
    const globals = new Map<string, GlobalHandler>([['collections.OrderedDict', { call }]]);
    // OrderedDict() is called only after the forbidden global; the trailing 0xff is not a valid opcode.
    const bytes = cat([0x80, 0x02], 'cos\nsystem\n', 'ccollections\nOrderedDict\n', [0x29, 0x52, 0xff]);
    const err = catchError(() => unpickle(bytes, { file: 'x', globals, persistentLoad }), CheckpointError);
    expect(err.message).toMatch(/"os\.system"/);
    expect(call).not.toHaveBeenCalled();
    expect(persistentLoad).not.toHaveBeenCalled();
  });

  it('refuses to call an allowed global that is only a type tag', () => {
    const bytes = cat([0x80, 0x02], 'ctorch\nFloatStorage\n', [0x29, 0x52, 0x2e]);
    expect(catchError(() => unpickle(bytes, { file: 'x', globals: torchGlobals() }), CheckpointError).message)
      .toMatch(/"torch\.FloatStorage" may not be called/);
  });

  it('rejects object-building opcodes it does not model (INST, OBJ, NEWOBJ, EXT1)', () => {
    for (const op of [0x69, 0x6f, 0x81, 0x82]) {
      const bytes = cat([0x80, 0x02, 0x28, op, 0x2e]);
      expect(catchError(() => unpickle(bytes, { file: 'x', globals: torchGlobals() }), CheckpointError).message)
        .toMatch(new RegExp(`unsupported opcode 0x${op.toString(16)}`));
    }
  });
});

describe('unpickle: resource limits and malformed input', () => {
  const opts = { file: 'x.pkl', globals: torchGlobals() };
  it('caps MARK nesting', () => {
    const bytes = cat([0x80, 0x02], new Array(50).fill(0x28), [0x2e]);
    expect(catchError(() => unpickle(bytes, { ...opts, limits: { maxMarkDepth: 20 } }), CheckpointError).message).toMatch(/MARK nesting exceeds 20/);
  });
  it('caps the stack', () => {
    const bytes = cat([0x80, 0x02], new Array(200).fill(0x4e), [0x2e]);
    expect(catchError(() => unpickle(bytes, { ...opts, limits: { maxStack: 100 } }), CheckpointError).message).toMatch(/stack exceeds 100/);
  });
  it('caps the memo', () => {
    const parts: number[] = [0x80, 0x02, 0x4e];
    for (let i = 0; i < 20; i++) parts.push(0x71, i);
    expect(catchError(() => unpickle(cat(parts, [0x2e]), { ...opts, limits: { maxMemo: 10 } }), CheckpointError).message).toMatch(/memo exceeds 10/);
  });
  it('caps integer width', () => {
    const bytes = cat([0x80, 0x02, 0x8a, 200], new Array(200).fill(1), [0x2e]);
    expect(catchError(() => unpickle(bytes, opts), CheckpointError).message).toMatch(/integer of 200 bytes/);
  });
  it('detects truncation, undefined memo keys and stack underflow', () => {
    expect(catchError(() => unpickle(cat([0x80, 0x02, 0x58, 10, 0, 0, 0], 'abc'), opts), CheckpointError).message).toMatch(/truncated/);
    expect(catchError(() => unpickle(cat([0x80, 0x02, 0x68, 3, 0x2e]), opts), CheckpointError).message).toMatch(/memo key 3/);
    expect(catchError(() => unpickle(cat([0x80, 0x02, 0x85, 0x2e]), opts), CheckpointError).message).toMatch(/underflow/);
    expect(catchError(() => unpickle(cat([0x80, 0x02, 0x4e]), opts), CheckpointError).message).toMatch(/truncated/);
    expect(catchError(() => unpickle(cat([0x80, 0x02, 0x4e, 0x28, 0x2e]), opts), CheckpointError).message).toMatch(/open MARK/);
  });
  it('refuses FRAME lengths beyond the data and unknown protocols', () => {
    expect(catchError(() => unpickle(cat([0x80, 0x04, 0x95, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0x4e, 0x2e]), opts), CheckpointError).message).toMatch(/length 65535 exceeds the pickle size/);
    expect(catchError(() => unpickle(cat([0x80, 0x06, 0x4e, 0x2e]), opts), CheckpointError).message).toMatch(/protocol 6/);
  });
  it('rejects a persistent id when no loader is given', () => {
    expect(catchError(() => unpickle(cat([0x80, 0x02, 0x4e, 0x51, 0x2e]), opts), CheckpointError).message).toMatch(/persistent id/);
  });
});
