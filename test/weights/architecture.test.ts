import { beforeAll, describe, expect, it } from 'vitest';
import { WeightsMismatchError } from '../../src/errors.js';
import {
  countParameters, inferGA, inferH, inferPre, stripModulePrefix,
} from '../../src/nerco/architecture.js';
import type { HostTensor, StateDict } from '../../src/nerco/host-tensor.js';
import { readTorchCheckpoint } from '../../weights-tools/torch-checkpoint.js';
import { catchError, EXPECTED, fixtureBytes, officialBytes } from './fixtures.js';

const tensor = (shape: number[], fill = 0.01): HostTensor =>
  ({ shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(fill), sourceDtype: 'float32' });

let ga: StateDict;
let pre: StateDict;
let h: StateDict;
beforeAll(() => {
  ga = readTorchCheckpoint(officialBytes('G_A'), 'latest_net_G_A.pth');
  pre = readTorchCheckpoint(officialBytes('Pre'), 'latest_net_Pre.pth');
  h = readTorchCheckpoint(officialBytes('H'), 'latest_net_H.pth');
}, 30_000);

describe('inferring the official layout', () => {
  it('G_A: ngf 64, 9 blocks, 6 input channels; 48 tensors, 11,387,587 parameters', () => {
    const r = inferGA(ga);
    expect(r.config).toEqual({ ngf: 64, nBlocks: 9, inChannels: 6 });
    expect(r.tensors.size).toBe(48);
    expect(countParameters(r.tensors)).toBe(11_387_587);
    expect(r.tensors.get('model.26.weight')).toBe(ga.get('model.26.weight'));
  });
  it('Pre: ngf 64, 9 blocks, MLP 612 → 256 → 256 → 256 → 3; 54 tensors, 11,658,051 parameters', () => {
    const r = inferPre(pre);
    expect(r.config).toEqual({ ngf: 64, nBlocks: 9, mlpWidths: [256, 256, 256, 3] });
    expect(r.tensors.size).toBe(54);
    expect(countParameters(r.tensors)).toBe(11_658_051);
  });
  it('netH: ngf 64; 20 tensors, 249,765 parameters', () => {
    const r = inferH(h);
    expect(r.config).toEqual({ ngf: 64 });
    expect(r.tensors.size).toBe(20);
    expect(countParameters(r.tensors)).toBe(249_765);
  });
});

describe('inferring smaller variants (NERCO.md §2.5)', () => {
  it('a torch-built G_A (ngf 1, 2 blocks) saved through DataParallel with InstanceNorm running stats', () => {
    const raw = readTorchCheckpoint(fixtureBytes('tiny_G_A_module_legacy.pt'), 'tiny.pt');
    expect([...raw.keys()].every((k) => k.startsWith('module.'))).toBe(true);
    expect([...raw.keys()].some((k) => k.endsWith('.running_mean'))).toBe(true);
    const r = inferGA(raw);
    expect(r.config).toEqual({ ngf: 1, nBlocks: 2, inChannels: 6 });
    // Exactly the parameters torch lists for the same net without running stats.
    const params = EXPECTED['tiny_G_A_module_legacy.pt#params'];
    expect([...r.tensors.keys()]).toEqual(Object.keys(params));
    for (const [k, shape] of Object.entries(params)) expect(r.tensors.get(k)!.shape, k).toEqual(shape);
  });

  it('a torch-built Pre (ngf 1, 1 block, hidden widths 5, 4)', () => {
    const r = inferPre(readTorchCheckpoint(fixtureBytes('tiny_Pre.pt'), 'tiny_Pre.pt'));
    expect(r.config).toEqual({ ngf: 1, nBlocks: 1, mlpWidths: [5, 4, 3] });
  });

  it('a netH with ngf 32', () => {
    const shapes: [string, number[]][] = [
      ['output.weight', [3, 32, 7, 7]], ['output.bias', [3]], ['model.1.weight', [32, 3, 7, 7]], ['model.1.bias', [32]],
    ];
    for (const b of [4, 5, 6]) for (const c of [1, 5]) shapes.push([`model.${b}.conv_block.${c}.weight`, [32, 32, 3, 3]], [`model.${b}.conv_block.${c}.bias`, [32]]);
    shapes.push(['fc1.weight', [2, 64, 1, 1]], ['fc2.weight', [64, 2, 1, 1]], ['conv1.weight', [1, 2, 7, 7]], ['conv_ca.weight', [32, 64, 1, 1]]);
    expect(inferH(new Map(shapes.map(([k, s]) => [k, tensor(s)]))).config).toEqual({ ngf: 32 });
  });
});

describe('clean-up rules', () => {
  it('strips module. only when every key has it', () => {
    const prefixed = new Map([...ga].map(([k, t]) => [`module.${k}`, t]));
    expect(inferGA(prefixed).config.ngf).toBe(64);
    const partly = new Map(ga);
    partly.set('module.extra', tensor([1]));
    expect(stripModulePrefix(partly)).toBe(partly);
    expect(catchError(() => inferGA(partly), WeightsMismatchError).key).toBe('module.extra');
  });

  it('drops running stats only at InstanceNorm paths', () => {
    const legacy = new Map(ga);
    for (const p of ['model.2', 'model.13.conv_block.6', 'model.23']) {
      legacy.set(`${p}.running_mean`, tensor([64])).set(`${p}.running_var`, tensor([64])).set(`${p}.num_batches_tracked`, tensor([]));
    }
    expect(inferGA(legacy).tensors.size).toBe(48);
    const wrong = new Map(ga).set('model.1.running_mean', tensor([64]));
    const err = catchError(() => inferGA(wrong), WeightsMismatchError);
    expect(err.key).toBe('model.1.running_mean');
    expect(err.message).toMatch(/unexpected key "model\.1\.running_mean"/);
  });
});

describe('mismatch errors name the key and both shapes', () => {
  it('missing key', () => {
    const d = new Map(ga);
    d.delete('model.19.bias');
    const err = catchError(() => inferGA(d, { source: 'latest_net_G_A.pth' }), WeightsMismatchError);
    expect(err.key).toBe('model.19.bias');
    expect(err.message).toBe('latest_net_G_A.pth (G_A): missing key "model.19.bias" (expected shape [128])');
  });

  it('extra key', () => {
    const d = new Map(ga).set('model.99.weight', tensor([3, 3]));
    const err = catchError(() => inferGA(d), WeightsMismatchError);
    expect(err.key).toBe('model.99.weight');
    expect(err.message).toMatch(/unexpected key "model\.99\.weight" \(shape \[3, 3\]\)/);
  });

  it('wrong shape', () => {
    const d = new Map(ga).set('model.4.weight', tensor([128, 64, 3, 2]));
    const err = catchError(() => inferGA(d), WeightsMismatchError);
    expect(err.key).toBe('model.4.weight');
    expect(err.message).toMatch(/key "model\.4\.weight" has shape \[128, 64, 3, 2\], expected \[128, 64, 3, 3\]/);
  });

  it('a block missing in the middle is a missing key, not a shorter net', () => {
    const d = new Map([...ga].filter(([k]) => !k.startsWith('model.14.')));
    const err = catchError(() => inferGA(d), WeightsMismatchError);
    expect(err.message).toMatch(/missing key|unexpected key/);
    expect(err.key).toMatch(/^model\.(14|18|19|22|26)\./);
  });

  it('Pre: wrong MLP output width and a missing hidden layer', () => {
    const wide = new Map(pre).set('mlp.imnet.layers.6.weight', tensor([4, 256])).set('mlp.imnet.layers.6.bias', tensor([4]));
    const err = catchError(() => inferPre(wide), WeightsMismatchError);
    expect(err.key).toBe('mlp.imnet.layers.6.weight');
    expect(err.message).toMatch(/has shape \[4, 256\], expected \[3, 256\]/);
    const gap = new Map([...pre].filter(([k]) => !k.startsWith('mlp.imnet.layers.2.')));
    expect(catchError(() => inferPre(gap), WeightsMismatchError).key).toBe('mlp.imnet.layers.2.weight');
  });

  it('netH with ngf < 16 cannot have channel attention', () => {
    const d = new Map(h).set('model.1.weight', tensor([8, 3, 7, 7]));
    expect(catchError(() => inferH(d), WeightsMismatchError).message).toMatch(/ngf = 8.*ngf >= 16/);
  });
});

describe('the wrong net in the wrong place', () => {
  it('a Pre file where G_A is expected', () => {
    const err = catchError(() => inferGA(pre, { source: 'latest_net_G_A.pth' }), WeightsMismatchError);
    expect(err.message).toMatch(/^latest_net_G_A\.pth \(G_A\): this looks like a Pre checkpoint/);
  });
  it('a G_A file where Pre is expected, and netH where G_A is expected', () => {
    expect(catchError(() => inferPre(ga), WeightsMismatchError).message).toMatch(/looks like a G_A checkpoint/);
    expect(catchError(() => inferGA(h), WeightsMismatchError).message).toMatch(/looks like a netH \(H\) checkpoint/);
    expect(catchError(() => inferH(pre), WeightsMismatchError).message).toMatch(/looks like a Pre checkpoint/);
  });
});

describe('non-finite values', () => {
  for (const [bad, name] of [[NaN, 'NaN'], [Infinity, 'Infinity'], [-Infinity, '-Infinity']] as const) {
    it(`rejects ${name}, naming the key and index`, () => {
      const t = ga.get('model.7.bias')!;
      const data = t.data.slice();
      data[17] = bad;
      const d = new Map(ga).set('model.7.bias', { ...t, data });
      const err = catchError(() => inferGA(d), WeightsMismatchError);
      expect(err.key).toBe('model.7.bias');
      expect(err.message).toContain(`key "model.7.bias" contains ${name} at flat index 17`);
    });
  }
});
