import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseNpy, readNpy } from './npy.js';
import { sharedPath } from './shared-path.js';

/** Builds a .npy file by hand: magic, version, header padded to a multiple of 64, then the data. */
function npyBytes(version: 1 | 2, descr: string, shape: number[], data: ArrayBufferView, fortran = false): Uint8Array {
  const prefix = version === 1 ? 10 : 12;
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(63 - ((prefix + header.length) % 64)) + '\n';
  const out = new Uint8Array(prefix + header.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  out.set(new TextEncoder().encode(header), prefix);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), prefix + header.length);
  return out;
}

describe('npy reader', () => {
  it('reads v1 <f4 in C order', () => {
    const a = parseNpy(npyBytes(1, '<f4', [2, 3], Float32Array.from([1, 2, 3, 4, 5, -6.5])));
    expect(a.shape).toEqual([2, 3]);
    expect(Array.from(a.data)).toEqual([1, 2, 3, 4, 5, -6.5]);
  });

  it('reads v2 <f8 and narrows to float32', () => {
    const a = parseNpy(npyBytes(2, '<f8', [3], Float64Array.from([0.1, 1e-3, -2])));
    expect(a.shape).toEqual([3]);
    expect(Array.from(a.data)).toEqual([0.1, 1e-3, -2].map(Math.fround));
  });

  it('reads a 0-d array and rejects other dtypes, Fortran order and truncated data', () => {
    expect(Array.from(parseNpy(npyBytes(1, '<f4', [], Float32Array.from([7]))).data)).toEqual([7]);
    expect(() => parseNpy(npyBytes(1, '<i4', [1], Int32Array.from([1])))).toThrow(/dtype/);
    expect(() => parseNpy(npyBytes(1, '<f4', [1], Float32Array.from([1]), true))).toThrow(/Fortran/);
    expect(() => parseNpy(npyBytes(1, '<f4', [4], Float32Array.from([1])))).toThrow(/truncated/);
    expect(() => parseNpy(new Uint8Array(16))).toThrow(/magic/);
  });

  it('reads the fixture input.npy: 1×3×40×56 with the stats recorded in meta.json', () => {
    const dir = sharedPath('fixtures', 'nerco-random', 'dark-40x56');
    const meta = JSON.parse(readFileSync(`${dir}/meta.json`, 'utf8'));
    const a = readNpy(`${dir}/input.npy`);
    expect(a.shape).toEqual([1, 3, 40, 56]);
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    for (const v of a.data) {
      min = Math.min(min, v);
      max = Math.max(max, v);
      sum += v;
    }
    expect(min).toBe(meta.stats.input.min);
    expect(max).toBe(meta.stats.input.max);
    expect(sum / a.data.length).toBeCloseTo(meta.stats.input.mean, 6);
  });
});
