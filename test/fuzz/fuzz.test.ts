/**
 * A fast, deterministic slice of the checkpoint fuzzer (bench/fuzz.ts runs 10 000+ inputs, with
 * the 45 MB checkpoints): mutated real checkpoints, pickles and safetensors files must load or
 * fail with a NercoError, each in well under a second. Plus crafted inputs for what the fuzzer
 * and the review found.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../../src/errors.js';
import { PickleList } from '../../weights-tools/pickle.js';
import { unpickleTorch } from '../../weights-tools/torch-pickle.js';
import { readSafetensors } from '../../weights-tools/safetensors.js';
import { readTorchCheckpoint } from '../../weights-tools/torch-checkpoint.js';
import { repoPath } from '../helpers/shared-path.js';
import { loadCorpus, runOne, summarise, writeZip, zipEntries } from './checkpoint-fuzzer.js';

const COUNT = 400;
const SEED = 20240601;

describe('checkpoint fuzzing (fast subset)', () => {
  it(`${COUNT} mutated inputs: only successes and NercoErrors`, () => {
    const corpus = loadCorpus({ big: false });
    const results = Array.from({ length: COUNT }, (_, i) => runOne(corpus, SEED, i));
    const s = summarise(results);
    console.log(`fuzz subset: ${JSON.stringify(s.outcomes)}; max ${s.maxMs.toFixed(1)} ms (CPU ${s.maxCpuMs.toFixed(1)} ms), median ${s.medianMs.toFixed(2)} ms`);
    const findings = s.findings.map((f) => `#${f.index} ${f.seed} (${f.what}): ${f.outcome} ${f.message?.split('\n')[0]}`);
    expect(findings).toEqual([]);
    // The mutations reach every layer: zip/pickle/safetensors errors, layout mismatches, and loads.
    expect(s.outcomes.CHECKPOINT).toBeGreaterThan(COUNT / 4);
    expect(s.outcomes.WEIGHTS_MISMATCH).toBeGreaterThan(0);
    expect(s.outcomes.ok).toBeGreaterThan(0);
    // The 1 s per input bar is a timing goal: bench/fuzz.ts measures it (timed asserts fail on busy
    // machines without a code change).
  });
});

describe('crafted inputs', () => {
  it('APPENDS and LIST of 500 000 items (a spread would overflow the call stack) load as lists', () => {
    const n = 500_000;
    for (const op of [0x65 /* APPENDS */, 0x6c /* LIST */]) {
      const p = new Uint8Array(4 + n + 2);
      p.set([0x80, 2, 0x5d /* EMPTY_LIST */, 0x28 /* MARK */]);
      p.fill(0x4e /* NONE */, 4, 4 + n);
      p.set([op, 0x2e /* STOP */], 4 + n);
      const v = unpickleTorch(p, 'many.pkl', () => undefined);
      expect(v).toBeInstanceOf(PickleList);
      expect((v as PickleList).items.length).toBe(n);
    }
  });

  it('a big-endian checkpoint (byteorder "big", storages byte-swapped) reads to the same values', () => {
    const bytes = new Uint8Array(readFileSync(repoPath('test', 'fixtures', 'checkpoints', 'f32.pt')));
    const entries = zipEntries(bytes, 'f32.pt');
    const root = entries[0]!.name.split('/')[0]!;
    const swapped = entries.map((e) => {
      if (!/\/data\/\d+$/.test(e.name)) return e;
      const d = Uint8Array.from(e.data);
      for (let i = 0; i + 4 <= d.length; i += 4) d.subarray(i, i + 4).reverse();
      return { ...e, data: d };
    });
    swapped.push({ name: `${root}/byteorder`, data: new TextEncoder().encode('big') });
    const little = readTorchCheckpoint(bytes, 'f32.pt');
    const big = readTorchCheckpoint(writeZip(swapped), 'f32-big.pt');
    expect([...big.keys()]).toEqual([...little.keys()]);
    for (const [k, t] of little) expect(Array.from(big.get(k)!.data), k).toEqual(Array.from(t.data));
  });

  it('a safetensors header declaring a tensor of 2^60 elements is refused without allocating', () => {
    const header = JSON.stringify({ w: { dtype: 'F32', shape: [2 ** 30, 2 ** 30], data_offsets: [0, 4] } });
    const bytes = new Uint8Array(8 + header.length + 4);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
    bytes.set(new TextEncoder().encode(header), 8);
    expect(() => readSafetensors(bytes, 'huge.safetensors')).toThrow(CheckpointError);
    expect(() => readSafetensors(bytes, 'huge.safetensors')).toThrow(/huge\.safetensors: safetensors: tensor "w" of shape \[1073741824, 1073741824\]/);
  });
});
