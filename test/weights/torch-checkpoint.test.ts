import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../../src/errors.js';
import { readTorchCheckpoint } from '../../weights-tools/torch-checkpoint.js';
import {
  catchError, EXPECTED, expectMatchesExpected, fixtureBytes, NETS, OFFICIAL_SAMPLES, officialBytes,
} from './fixtures.js';

describe('readTorchCheckpoint: small fixtures saved by torch', () => {
  const cases: [string, string][] = [
    ['f32.pt', 'float32, a 0-d and an empty tensor'],
    ['f16.pt', 'float16 (subnormals, 65504)'],
    ['bf16.pt', 'bfloat16'],
    ['strided.pt', 'storage offsets, strides, transposes, zero strides, a shared storage'],
    ['parameter.pt', 'nn.Parameter (_rebuild_parameter)'],
    ['wrapped.pt', "{'state_dict': ...} wrapper"],
    ['zip64.pt', 'zip64 container'],
    ['deflated.pt', 'deflated container'],
    ['tiny_Pre.pt', 'a tiny Pre-layout net'],
    ['tiny_G_A_module_legacy.pt', 'module. prefix and InstanceNorm running stats (counters dropped)'],
  ];
  for (const [file, what] of cases) {
    it(`${file}: ${what}`, () => {
      expectMatchesExpected(readTorchCheckpoint(fixtureBytes(file), file), EXPECTED[file]);
    });
  }

  it('gives every tensor its own memory, even when torch shared one storage', () => {
    const sd = readTorchCheckpoint(fixtureBytes('strided.pt'), 'strided.pt');
    const base = sd.get('base')!;
    const slice = sd.get('slice')!;
    expect(slice.data.buffer).not.toBe(base.data.buffer);
    base.data[5] = 1234;
    expect(slice.data[0]).not.toBe(1234);
  });
});

describe('readTorchCheckpoint: the shared random-weight checkpoints', () => {
  const counts = { G_A: [48, 11_387_587], Pre: [54, 11_658_051], H: [20, 249_765] } as const; // NERCO.md §2.1, §2.4
  for (const net of NETS) {
    it(`latest_net_${net}.pth: key and parameter counts, shapes and sampled values`, () => {
      const sd = readTorchCheckpoint(officialBytes(net), `latest_net_${net}.pth`);
      const [keys, params] = counts[net];
      expect(sd.size).toBe(keys);
      let total = 0;
      for (const t of sd.values()) total += t.data.length;
      expect(total).toBe(params);
      const sample = OFFICIAL_SAMPLES[net];
      expect([...sd.keys()]).toEqual(Object.keys(sample.tensors));
      for (const [key, s] of Object.entries(sample.tensors)) {
        const t = sd.get(key)!;
        expect(t.shape, key).toEqual(s.shape);
        expect(t.sourceDtype).toBe('float32');
        expect([...t.data.subarray(0, 4)], key).toEqual(s.head);
        expect(t.data[t.data.length - 1], key).toBe(s.last);
        let sum = 0;
        let abs = 0;
        for (const v of t.data) { sum += v; abs += Math.abs(v); }
        expect(Math.abs(sum - s.sum), key).toBeLessThanOrEqual(1e-12 * abs);
      }
    }, 20_000);
  }
});

describe('readTorchCheckpoint: refusals', () => {
  it('refuses a pickle that references posix.system, naming the file and the global', () => {
    const err = catchError(() => readTorchCheckpoint(fixtureBytes('malicious_posix_system.pt'), 'evil.pt'), CheckpointError);
    expect(err.file).toBe('evil.pt');
    expect(err.message).toMatch(/^evil\.pt: .*"posix\.system"/);
  });

  it('refuses builtins.eval', () => {
    expect(catchError(() => readTorchCheckpoint(fixtureBytes('malicious_builtins_eval.pt'), 'e.pt'), CheckpointError).message)
      .toMatch(/"builtins\.eval"/);
  });

  it('refuses the legacy (pre-1.6) format with a clear message', () => {
    expect(catchError(() => readTorchCheckpoint(fixtureBytes('legacy.pt'), 'old.pth'), CheckpointError).message)
      .toMatch(/^old\.pth: this is a legacy \(pre-1\.6, non-ZIP\) torch\.save file/);
  });

  it('refuses non-zip bytes and truncated files', () => {
    expect(catchError(() => readTorchCheckpoint(new TextEncoder().encode('<html>not a model</html>'), 'page.pth'), CheckpointError).message)
      .toMatch(/^page\.pth: not a PyTorch checkpoint/);
    const bytes = fixtureBytes('f32.pt');
    expect(catchError(() => readTorchCheckpoint(bytes.subarray(0, bytes.length - 100), 'cut.pth'), CheckpointError).file).toBe('cut.pth');
    expect(catchError(() => readTorchCheckpoint(new Uint8Array(0), 'empty.pth'), CheckpointError).file).toBe('empty.pth');
  });

  it('refuses missing and short storages', () => {
    expect(catchError(() => readTorchCheckpoint(fixtureBytes('missing_storage.pt'), 'm.pt'), CheckpointError).message)
      .toMatch(/storage 1 is missing from the archive/);
    expect(catchError(() => readTorchCheckpoint(fixtureBytes('short_storage.pt'), 's.pt'), CheckpointError).message)
      .toMatch(/storage 1 holds \d+ bytes, but \d+ float32 elements need \d+/);
  });

  it('refuses views that would expand a tiny storage into a huge allocation', () => {
    expect(catchError(() => readTorchCheckpoint(fixtureBytes('expansion_bomb.pt'), 'b.pt'), CheckpointError).message)
      .toMatch(/expand 1 stored elements to 3000000/);
  });

  it('refuses integer tensors other than running-stat counters', () => {
    expect(catchError(() => readTorchCheckpoint(fixtureBytes('int64.pt'), 'i.pt'), CheckpointError).message)
      .toMatch(/tensor "idx" is int64/);
  });

  it('refuses a zip without <root>/data.pkl, and one with two', () => {
    const version = new TextEncoder().encode('3');
    const none = zipSync({ 'root/version': version, 'a/b/data.pkl': version }, { level: 0 });
    expect(catchError(() => readTorchCheckpoint(none, 'none.zip'), CheckpointError).message).toMatch(/^none\.zip: zip archive has no <root>\/data\.pkl/);
    const two = zipSync({ 'a/data.pkl': version, 'b/data.pkl': version }, { level: 0 });
    expect(catchError(() => readTorchCheckpoint(two, 'two.zip'), CheckpointError).message).toMatch(/2 data\.pkl entries/);
  });
});
