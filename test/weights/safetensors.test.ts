import { describe, expect, it } from 'vitest';
import { CheckpointError, InvalidArgumentError } from '../../src/errors.js';
import type { StateDict } from '../../src/nerco/host-tensor.js';
import { readSafetensors, readSafetensorsWithMetadata, writeSafetensors } from '../../weights-tools/safetensors.js';
import { readTorchCheckpoint } from '../../weights-tools/torch-checkpoint.js';
import { catchError, EXPECTED, expectMatchesExpected, expectSameTensors, fixtureBytes } from './fixtures.js';

/** Builds a safetensors file from a literal header and data length (for malformed-header tests). */
function craft(header: unknown, dataBytes: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

describe('readSafetensors', () => {
  it('reads a file written by hand from the format description (F32, F16, BF16, out-of-order data)', () => {
    const { tensors, metadata } = readSafetensorsWithMetadata(fixtureBytes('python_written.safetensors'), 'py.safetensors');
    // Tensors come back in data order: mid.bf, zeta, alpha.
    expect([...tensors.keys()]).toEqual(['mid.bf', 'zeta', 'alpha']);
    const exp = EXPECTED['python_written.safetensors'];
    expectMatchesExpected(tensors, { 'mid.bf': exp['mid.bf'], zeta: exp.zeta, alpha: exp.alpha });
    expect(metadata).toEqual({ format: 'pt', note: 'hand-written' });
  });

  const t = (dtype: string, shape: number[], begin: number, end: number) => ({ dtype, shape, data_offsets: [begin, end] });
  const cases: [string, unknown, number, RegExp][] = [
    ['overlap', { a: t('F32', [2], 0, 8), b: t('F32', [2], 4, 12) }, 12, /tensor "b" overlaps/],
    ['gap', { a: t('F32', [1], 0, 4), b: t('F32', [1], 8, 12) }, 12, /gap in the data before tensor "b"/],
    ['out of range', { a: t('F32', [4], 0, 16) }, 8, /past the end of the 8-byte data section/],
    ['trailing bytes', { a: t('F32', [1], 0, 4) }, 12, /8 trailing bytes/],
    ['shape/offsets mismatch', { a: t('F32', [3], 0, 8) }, 8, /tensor "a" of shape \[3\] and dtype F32 needs 12 bytes, but data_offsets span 8/],
    ['unsupported dtype', { idx: t('I64', [1], 0, 8) }, 8, /tensor "idx" has dtype "I64"/],
    ['negative dim', { a: t('F32', [-1], 0, 0) }, 0, /tensor "a" has an invalid shape/],
    ['reversed offsets', { a: t('F32', [0], 4, 0) }, 4, /invalid data_offsets/],
    ['non-string metadata', { __metadata__: { n: 3 } }, 0, /__metadata__\["n"\] is not a string/],
    ['not an object', [1, 2], 0, /not a JSON object/],
  ];
  for (const [name, header, dataBytes, message] of cases) {
    it(`rejects a header with ${name}`, () => {
      const err = catchError(() => readSafetensors(craft(header, dataBytes), 'bad.safetensors'), CheckpointError);
      expect(err.file).toBe('bad.safetensors');
      expect(err.message).toMatch(message);
    });
  }

  it('rejects a header length beyond the file, invalid JSON and tiny files', () => {
    const long = craft({}, 0);
    new DataView(long.buffer).setBigUint64(0, 1000n, true);
    expect(catchError(() => readSafetensors(long, 'l.safetensors'), CheckpointError).message).toMatch(/header length 1000 does not fit/);
    const junk = craft({}, 0);
    junk[8] = 0x7b;
    junk[9] = 0x7b;
    expect(catchError(() => readSafetensors(junk, 'j.safetensors'), CheckpointError).message).toMatch(/not valid UTF-8 JSON/);
    expect(catchError(() => readSafetensors(new Uint8Array(5), 's.safetensors'), CheckpointError).message).toMatch(/only 5 bytes/);
    // A torch zip is not a safetensors file either.
    expect(catchError(() => readSafetensors(fixtureBytes('f32.pt'), 'f32.pt'), CheckpointError).file).toBe('f32.pt');
  });
});

describe('writeSafetensors', () => {
  const source = (): StateDict => readTorchCheckpoint(fixtureBytes('f32.pt'), 'f32.pt');

  it('round-trips float32 exactly, keeping order and metadata', () => {
    const dict = source();
    const bytes = writeSafetensors(dict, { metadata: { format: 'pt', origin: 'test' } });
    const back = readSafetensorsWithMetadata(bytes, 'rt.safetensors');
    expectSameTensors(dict, back.tensors);
    expect(back.metadata).toEqual({ format: 'pt', origin: 'test' });
    expectMatchesExpected(back.tensors, EXPECTED['f32.pt']);
  });

  it('lays the file out as the format says: u64 header length, JSON header, 8-byte aligned little-endian data', () => {
    const dict: StateDict = new Map([
      ['w', { shape: [2], data: Float32Array.from([1, -2]), sourceDtype: 'float32' }],
      ['v', { shape: [1, 1], data: Float32Array.from([0.5]), sourceDtype: 'float32' }],
    ]);
    const bytes = writeSafetensors(dict);
    const dv = new DataView(bytes.buffer);
    const n = Number(dv.getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header).toEqual({
      w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      v: { dtype: 'F32', shape: [1, 1], data_offsets: [8, 12] },
    });
    expect([dv.getFloat32(8 + n, true), dv.getFloat32(12 + n, true), dv.getFloat32(16 + n, true)]).toEqual([1, -2, 0.5]);
    expect(bytes.length).toBe(8 + n + 12);
  });

  it('writes float16 rounded like numpy and reads it back as float16', () => {
    const { input, half } = EXPECTED.f16_rounding;
    const dict: StateDict = new Map([['x', { shape: [input.length], data: Float32Array.from(input), sourceDtype: 'float32' }]]);
    const bytes = writeSafetensors(dict, { fp16: true });
    const back = readSafetensors(bytes, 'h.safetensors').get('x')!;
    expect(back.sourceDtype).toBe('float16');
    expect([...back.data]).toEqual(half);
    // Half the data bytes of the float32 file.
    expect(bytes.length).toBeLessThan(writeSafetensors(dict).length - input.length * 2 + 16);
  });

  it('refuses values that would overflow float16, naming the tensor', () => {
    const dict: StateDict = new Map([['big.weight', { shape: [2], data: Float32Array.from([1, 70000]), sourceDtype: 'float32' }]]);
    expect(catchError(() => writeSafetensors(dict, { fp16: true }), InvalidArgumentError).message).toMatch(/"big\.weight" holds 70000 at index 1/);
    expect(() => writeSafetensors(dict)).not.toThrow();
  });

  it('refuses a tensor whose data does not match its shape', () => {
    const dict: StateDict = new Map([['w', { shape: [3], data: new Float32Array(2), sourceDtype: 'float32' }]]);
    expect(catchError(() => writeSafetensors(dict), InvalidArgumentError).message).toMatch(/"w" has shape \[3\] but 2 values/);
  });
});
