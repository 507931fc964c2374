import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, InvalidArgumentError, NercoError, WeightsMismatchError } from '../../src/errors.js';
import type { StateDict } from '../../src/nerco/host-tensor.js';
import {
  netForFileName, type NeRCoWeights, parseNeRCoWeights, toCombinedStateDict,
} from '../../src/nerco/load-weights.js';
import { readNeRCoWeightsFromPath } from '../../src/node/load-weights-node.js';
import { weightsToSafetensors } from '../../src/browser/convert.js';
import { resolveWeights } from '../../src/nerco/load.js';
import { tinyWeights } from '../helpers/tiny-model.js';
import { convertCheckpoints } from '../../weights-tools/convert.js';
import { floatToHalfBits, halfBitsToFloat } from '../../weights-tools/float16.js';
import { readSafetensors, readSafetensorsWithMetadata, writeSafetensors } from '../../weights-tools/safetensors.js';
import { readTorchCheckpoint } from '../../weights-tools/torch-checkpoint.js';
import {
  catchError, catchErrorAsync, expectSameTensors, NERCO_WEIGHTS_DIR, officialBytes,
} from './fixtures.js';

const officialFiles = () => [
  { name: 'latest_net_H.pth', bytes: officialBytes('H') },
  { name: 'latest_net_G_A.pth', bytes: officialBytes('G_A') },
  { name: 'latest_net_Pre.pth', bytes: officialBytes('Pre') },
];

let weights: NeRCoWeights;
let torchDicts: Record<'G_A' | 'Pre' | 'H', StateDict>;
let tmp: string;
beforeAll(() => {
  weights = parseNeRCoWeights(officialFiles());
  torchDicts = {
    G_A: readTorchCheckpoint(officialBytes('G_A'), 'G_A'),
    Pre: readTorchCheckpoint(officialBytes('Pre'), 'Pre'),
    H: readTorchCheckpoint(officialBytes('H'), 'H'),
  };
  tmp = mkdtempSync(join(tmpdir(), 'nerco-weights-test-'));
}, 60_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function expectOfficial(w: NeRCoWeights): void {
  expect(w.ga.config).toEqual({ ngf: 64, nBlocks: 9, inChannels: 6 });
  expect(w.pre.config).toEqual({ ngf: 64, nBlocks: 9, mlpWidths: [256, 256, 256, 3] });
  expect(w.h.config).toEqual({ ngf: 64 });
}

describe('parseNeRCoWeights', () => {
  it('recognises per-net file names', () => {
    expect(netForFileName('checkpoints/lol/latest_net_G_A.pth')).toBe('G_A');
    expect(netForFileName('C:\\m\\10_net_Pre.pth')).toBe('Pre');
    expect(netForFileName('net_H.safetensors')).toBe('H');
    expect(netForFileName('latest_net_G_B.pth')).toBeUndefined();
    expect(netForFileName('latest_net_D_A.pth')).toBeUndefined();
  });

  it('loads the three official files in any order, ignoring files of other nets', () => {
    expectOfficial(weights);
    expectSameTensors(weights.ga.tensors, torchDicts.G_A);
    expectSameTensors(weights.pre.tensors, torchDicts.Pre);
    expectSameTensors(weights.h.tensors, torchDicts.H);
    const withExtras = [...officialFiles(), { name: 'latest_net_G_B.pth', bytes: new Uint8Array(4) }];
    expectOfficial(parseNeRCoWeights(withExtras));
  }, 30_000);

  it('names the missing file', () => {
    const err = catchError(() => parseNeRCoWeights(officialFiles().filter((f) => !f.name.includes('_H'))), CheckpointError);
    expect(err.message).toMatch(/missing latest_net_H\.pth/);
  });

  it('refuses two files for one net', () => {
    const files = [...officialFiles(), { name: 'other/latest_net_H.pth', bytes: officialBytes('H') }];
    expect(catchError(() => parseNeRCoWeights(files), CheckpointError).message).toMatch(/two files for H/);
  });

  it('says so when the Pre file sits in G_A\'s place', () => {
    const files = [
      { name: 'latest_net_G_A.pth', bytes: officialBytes('Pre') },
      { name: 'latest_net_Pre.pth', bytes: officialBytes('Pre') },
      { name: 'latest_net_H.pth', bytes: officialBytes('H') },
    ];
    const err = catchError(() => parseNeRCoWeights(files), WeightsMismatchError);
    expect(err.message).toMatch(/^latest_net_G_A\.pth \(G_A\): this looks like a Pre checkpoint/);
  }, 30_000);

  it('round-trips through one combined safetensors file', () => {
    const combined = toCombinedStateDict(weights);
    expect(combined.size).toBe(122);
    expect([...combined.keys()].slice(0, 2)).toEqual(['G_A.model.1.weight', 'G_A.model.1.bias']);
    const bytes = writeSafetensors(combined);
    const w = parseNeRCoWeights([{ name: 'model.safetensors', bytes }]);
    expectOfficial(w);
    // Recognised by content too (e.g. a URL or blob without the extension).
    expectOfficial(parseNeRCoWeights([{ name: 'https://example.org/weights?v=2', bytes }]));
    expectSameTensors(w.ga.tensors, weights.ga.tensors);
    expectSameTensors(w.pre.tensors, weights.pre.tensors);
    expectSameTensors(w.h.tensors, weights.h.tensors);
  }, 30_000);

  it('refuses a combined file with an unprefixed key or a missing net', () => {
    const stray = new Map(toCombinedStateDict(weights)).set('loose.weight', { shape: [1], data: new Float32Array(1), sourceDtype: 'float32' });
    const err = catchError(() => parseNeRCoWeights([{ name: 'm.safetensors', bytes: writeSafetensors(stray) }]), WeightsMismatchError);
    expect(err.key).toBe('loose.weight');
    const noH = new Map([...toCombinedStateDict(weights)].filter(([k]) => !k.startsWith('H.')));
    expect(catchError(() => parseNeRCoWeights([{ name: 'm.safetensors', bytes: writeSafetensors(noH) }]), WeightsMismatchError).message)
      .toMatch(/no H\.\* keys/);
  }, 30_000);
});

describe('readNeRCoWeightsFromPath (Node)', () => {
  it('reads a directory of official checkpoints', async () => {
    expectOfficial(await readNeRCoWeightsFromPath(NERCO_WEIGHTS_DIR));
  }, 30_000);

  it('names the missing path', async () => {
    const missing = join(tmp, 'does-not-exist');
    const err = await catchErrorAsync(() => readNeRCoWeightsFromPath(missing), NercoError);
    expect(err.code).toBe('IO');
    expect(err.message).toContain(missing);

    const partial = join(tmp, 'partial');
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(partial, { recursive: true });
    for (const net of ['G_A', 'Pre']) symlinkSync(join(NERCO_WEIGHTS_DIR, `latest_net_${net}.pth`), join(partial, `latest_net_${net}.pth`));
    const err2 = await catchErrorAsync(() => readNeRCoWeightsFromPath(partial), NercoError);
    expect(err2.message).toContain(join(partial, 'latest_net_H.pth'));
  });

  it('refuses a file that is neither a directory nor .safetensors with an InvalidArgumentError', async () => {
    const file = join(tmp, 'weights.bin');
    writeFileSync(file, new Uint8Array(16));
    const err = await catchErrorAsync(() => readNeRCoWeightsFromPath(file), InvalidArgumentError);
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toMatch(/weights\.bin: expected a directory holding latest_net_G_A\.pth, .* or a combined \.safetensors file/);
  });
});

describe('resolveWeights with parsed weights', () => {
  it('checks hand-made or altered weights again: a wrong shape, a missing tensor Map', async () => {
    const good = tinyWeights(2);
    const again = await resolveWeights(good);
    expect(again.ga.config).toEqual(good.ga.config);
    const key = [...good.ga.tensors.keys()][0]!;
    const t = good.ga.tensors.get(key)!;
    const altered = { ...good, ga: { ...good.ga, tensors: new Map(good.ga.tensors).set(key, { ...t, shape: [t.shape[0]! + 1, ...t.shape.slice(1)] }) } };
    const err = await catchErrorAsync(() => resolveWeights(altered), WeightsMismatchError);
    expect(err.message.startsWith(`parsed weights [G_A.*] (G_A): key "${key}"`), err.message).toBe(true);
    const shapeless = await catchErrorAsync(() => resolveWeights({ ga: {}, pre: {}, h: {} } as never), InvalidArgumentError);
    expect(shapeless.message).toMatch(/each with a tensors Map/);
  });
});

describe('convertCheckpoints', () => {
  it('writes a combined float32 file that loads to the same tensors, and never overwrites without force', async () => {
    const out = join(tmp, 'model.safetensors');
    await convertCheckpoints(NERCO_WEIGHTS_DIR, out);
    const { tensors, metadata } = readSafetensorsWithMetadata(readFileSync(out), out);
    expect(metadata.format).toBe('pt');
    expect(JSON.parse(metadata['Pre.config'])).toEqual({ ngf: 64, nBlocks: 9, mlpWidths: [256, 256, 256, 3] });
    expect(metadata.parameters).toBe('23295403'); // NERCO.md §2
    expectSameTensors(tensors, toCombinedStateDict(weights));
    // The browser's converter writes the same file, but for the producer it names.
    const inPage = readSafetensorsWithMetadata(weightsToSafetensors(weights), 'in-page.safetensors');
    expect({ ...inPage.metadata, producer: 'nerco-webgpu convert' }).toEqual(metadata);
    expectSameTensors(inPage.tensors, tensors);
    const loaded = await readNeRCoWeightsFromPath(out);
    expectSameTensors(loaded.ga.tensors, torchDicts.G_A);

    const before = statSync(out).mtimeMs;
    const err = await catchErrorAsync(() => convertCheckpoints(NERCO_WEIGHTS_DIR, out), NercoError);
    expect(err.message).toMatch(/exists/);
    expect(statSync(out).mtimeMs).toBe(before);
    await convertCheckpoints(NERCO_WEIGHTS_DIR, out, { force: true });
    expect(readdirSync(tmp).filter((f) => f.includes('.tmp'))).toEqual([]);
  }, 60_000);

  it('writes float16 on request: half the size, values rounded to the nearest half', async () => {
    const out = join(tmp, 'model-fp16.safetensors');
    await convertCheckpoints(NERCO_WEIGHTS_DIR, out, { fp16: true });
    const half = readSafetensors(readFileSync(out), out);
    expect(statSync(out).size).toBeLessThan(23_295_403 * 2 + 64 * 1024);
    const src = torchDicts.G_A.get('model.26.weight')!.data;
    const got = half.get('G_A.model.26.weight')!;
    expect(got.sourceDtype).toBe('float16');
    let worst = 0;
    for (let i = 0; i < src.length; i++) {
      // |x - half(x)| <= 2^-11 |x| for normal halves (plus subnormal spacing 2^-25).
      worst = Math.max(worst, Math.abs(got.data[i] - src[i]) - (Math.abs(src[i]) * 2 ** -11 + 2 ** -25));
      if (got.data[i] !== halfBitsToFloat(floatToHalfBits(src[i]))) throw new Error(`index ${i}`);
    }
    expect(worst).toBeLessThanOrEqual(0);
  }, 60_000);
});
