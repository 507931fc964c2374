/** Shared helpers for the weights tests: fixture paths, expected values made by make.py, comparisons. */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { HostTensor, StateDict } from '../../src/nerco/host-tensor.js';
import { repoPath, sharedPath } from '../helpers/shared-path.js';

export const CHECKPOINT_DIR = repoPath('test', 'fixtures', 'checkpoints');
export const NERCO_WEIGHTS_DIR = sharedPath('fixtures', 'nerco-random', 'weights');
export const NETS = ['G_A', 'Pre', 'H'] as const;

export function fixtureBytes(name: string): Uint8Array {
  const b = readFileSync(`${CHECKPOINT_DIR}/${name}`);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** A fresh copy (tests that corrupt bytes must not share buffers). */
export function fixtureCopy(name: string): Uint8Array {
  return Uint8Array.from(fixtureBytes(name));
}

const officialCache = new Map<string, Uint8Array>();
/** Bytes of the shared random-weight checkpoint of one net (read once per test file). */
export function officialBytes(net: (typeof NETS)[number]): Uint8Array {
  const name = `latest_net_${net}.pth`;
  let b = officialCache.get(name);
  if (!b) {
    b = readFileSync(`${NERCO_WEIGHTS_DIR}/${name}`);
    officialCache.set(name, b);
  }
  return b;
}

export interface ExpectedTensor {
  shape: number[];
  dtype: HostTensor['sourceDtype'];
  values?: number[];
  head?: number[];
  sum?: number;
}

export type ExpectedDict = Record<string, ExpectedTensor>;

/** expected.json, written by make.py from torch's own view of each fixture. */
export const EXPECTED = JSON.parse(readFileSync(`${CHECKPOINT_DIR}/expected.json`, 'utf8')) as
  Record<string, ExpectedDict> & {
    f16_rounding: { input: number[]; half: number[] };
    'tiny_G_A_module_legacy.pt#params': Record<string, number[]>;
  };

export interface OfficialSample {
  keys: number;
  parameters: number;
  tensors: Record<string, { shape: number[]; head: number[]; last: number; sum: number }>;
}
export const OFFICIAL_SAMPLES = JSON.parse(readFileSync(`${CHECKPOINT_DIR}/nerco-random-samples.json`, 'utf8')) as
  Record<(typeof NETS)[number], OfficialSample>;

function sum64(data: Float32Array): { sum: number; abs: number } {
  let sum = 0;
  let abs = 0;
  for (const v of data) { sum += v; abs += Math.abs(v); }
  return { sum, abs };
}

/** The dict matches torch's view: same keys in order, shapes, dtypes, values (exactly) and float64 sums (to 1e-12 of Σ|x|). */
export function expectMatchesExpected(dict: StateDict, expected: ExpectedDict): void {
  expect([...dict.keys()]).toEqual(Object.keys(expected));
  for (const [key, e] of Object.entries(expected)) {
    const t = dict.get(key) as HostTensor;
    expect(t.shape, key).toEqual(e.shape);
    expect(t.sourceDtype, key).toBe(e.dtype);
    expect(t.data).toBeInstanceOf(Float32Array);
    expect(t.data.length, key).toBe(e.shape.reduce((a, b) => a * b, 1));
    if (e.values) expect([...t.data], key).toEqual(e.values);
    if (e.head) expect([...t.data.subarray(0, e.head.length)], key).toEqual(e.head);
    if (e.sum !== undefined) {
      const { sum, abs } = sum64(t.data);
      expect(Math.abs(sum - e.sum), key).toBeLessThanOrEqual(1e-12 * abs + 1e-30);
    }
  }
}

export function expectSameTensors(a: StateDict, b: StateDict): void {
  expect([...a.keys()]).toEqual([...b.keys()]);
  for (const [key, t] of a) {
    const u = b.get(key) as HostTensor;
    expect(u.shape, key).toEqual(t.shape);
    expect(Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength)
      .equals(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)), key).toBe(true);
  }
}

/** Runs `fn`, expects it to throw an instance of `cls`, and returns the error for further checks. */
export function catchError<E extends Error>(fn: () => unknown, cls: abstract new (...args: never[]) => E): E {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected an error').toBeInstanceOf(cls);
  return caught as E;
}

export async function catchErrorAsync<E extends Error>(fn: () => Promise<unknown>, cls: abstract new (...args: never[]) => E): Promise<E> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected an error').toBeInstanceOf(cls);
  return caught as E;
}
