import { describe, expect, it } from 'vitest';
import { WeightsMismatchError } from '../../src/errors.js';
import { makeRng, randn, uniform, type Rng } from '../helpers/random.js';
import { concatChannels } from './elementwise.js';
import { gaForwardCPU, inferResnetLayout, nercoForwardCPU, netHForwardCPU, preForwardCPU, type WeightMap } from './nerco.js';
import { nrnInputWidth } from './nrn.js';

type MutableWeights = Map<string, { shape: number[]; data: Float32Array }>;

function put(map: MutableWeights, rng: Rng, key: string, shape: number[], std: number): void {
  map.set(key, { shape, data: randn(rng, shape.reduce((a, b) => a * b, 1), std) });
}

/** A ResnetGenerator-layout net (NERCO.md §2.5) with `blocks` residual blocks; head only if outChannels > 0. */
function resnetWeights(rng: Rng, inChannels: number, ngf: number, blocks: number, outChannels: number): MutableWeights {
  const m: MutableWeights = new Map();
  const conv = (key: string, cout: number, cin: number, k: number) => {
    put(m, rng, `${key}.weight`, [cout, cin, k, k], 1 / Math.sqrt(cin * k * k));
    put(m, rng, `${key}.bias`, [cout], 0.1);
  };
  conv('model.1', ngf, inChannels, 7);
  conv('model.4', 2 * ngf, ngf, 3);
  conv('model.7', 4 * ngf, 2 * ngf, 3);
  for (let b = 10; b < 10 + blocks; b++) {
    conv(`model.${b}.conv_block.1`, 4 * ngf, 4 * ngf, 3);
    conv(`model.${b}.conv_block.5`, 4 * ngf, 4 * ngf, 3);
  }
  put(m, rng, `model.${10 + blocks}.weight`, [4 * ngf, 2 * ngf, 3, 3], 0.2);
  put(m, rng, `model.${10 + blocks}.bias`, [2 * ngf], 0.1);
  put(m, rng, `model.${13 + blocks}.weight`, [2 * ngf, ngf, 3, 3], 0.2);
  put(m, rng, `model.${13 + blocks}.bias`, [ngf], 0.1);
  if (outChannels > 0) conv(`model.${17 + blocks}`, outChannels, ngf, 7);
  return m;
}

function preWeights(rng: Rng, ngf: number, blocks: number, hidden: number[]): MutableWeights {
  const m: MutableWeights = new Map();
  let prev = nrnInputWidth(ngf);
  [...hidden, 3].forEach((out, k) => {
    put(m, rng, `mlp.imnet.layers.${2 * k}.weight`, [out, prev], 1 / Math.sqrt(prev));
    put(m, rng, `mlp.imnet.layers.${2 * k}.bias`, [out], 0.1);
    prev = out;
  });
  for (const [k, v] of resnetWeights(rng, 3, ngf, blocks, 0)) m.set(k, v);
  return m;
}

function netHWeights(rng: Rng, ngf: number): MutableWeights {
  const m: MutableWeights = new Map();
  put(m, rng, 'output.weight', [3, ngf, 7, 7], 0.05);
  put(m, rng, 'output.bias', [3], 0.1);
  put(m, rng, 'model.1.weight', [ngf, 3, 7, 7], 0.1);
  put(m, rng, 'model.1.bias', [ngf], 0.1);
  for (const b of [4, 5, 6]) {
    for (const c of [1, 5]) {
      put(m, rng, `model.${b}.conv_block.${c}.weight`, [ngf, ngf, 3, 3], 1 / Math.sqrt(9 * ngf));
      put(m, rng, `model.${b}.conv_block.${c}.bias`, [ngf], 0.1);
    }
  }
  put(m, rng, 'fc1.weight', [ngf / 16, 2 * ngf, 1, 1], 0.2);
  put(m, rng, 'fc2.weight', [2 * ngf, ngf / 16, 1, 1], 0.2);
  put(m, rng, 'conv1.weight', [1, 2, 7, 7], 0.2);
  put(m, rng, 'conv_ca.weight', [ngf, 2 * ngf, 1, 1], 0.2);
  return m;
}

function smallNet(seed: number) {
  const rng = makeRng(seed);
  return { ga: resnetWeights(rng, 6, 4, 2, 3), pre: preWeights(rng, 4, 2, [8, 8]), h: netHWeights(rng, 16) };
}

const H = 16;
const W = 20;
const input = uniform(makeRng(99), 3 * H * W, -1, 0.2);

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('nercoForwardCPU on a small variant (ngf 4, 2 blocks; netH ngf 16)', () => {
  const net = smallNet(1);
  const out = nercoForwardCPU(net, input, H, W);

  it('returns the documented shapes and ranges', () => {
    expect(out.preTrunk.length).toBe(4 * H * W);
    expect(out.preA.length).toBe(3 * H * W);
    expect(out.mask.length).toBe(H * W);
    expect(out.hImage.length).toBe(3 * H * W);
    expect(out.fakeB.length).toBe(3 * H * W);
    expect(out.preTrunk.every((v) => v >= 0)).toBe(true); // after the final ReLU
    expect(out.mask.every((v) => v > 0 && v < 1)).toBe(true);
    expect(out.hImage.every((v) => Math.abs(v) <= 1)).toBe(true);
    expect(out.fakeB.every((v) => Math.abs(v) <= 1)).toBe(true);
    expect(out.fakeB.some((v) => Math.abs(v) > 0.01)).toBe(true);
  });

  it('the general NRN gives the same pre_A as the fast form', () => {
    const general = preForwardCPU(net.pre, input, H, W, { nrn: 'general' });
    expect(maxAbsDiff(general.preA, out.preA)).toBeLessThan(1e-5);
  });

  it('biases of convs that feed an InstanceNorm cancel (NERCO.md §6.2); the head bias does not', () => {
    const noBias = smallNet(1);
    for (const m of [noBias.ga, noBias.pre]) {
      for (const [k, v] of m) if (/^model\..*\.bias$/.test(k) && k !== 'model.19.bias') v.data.fill(0);
    }
    noBias.ga.get('model.19.bias')!.data.set(net.ga.get('model.19.bias')!.data); // G_A head (17 + 2 blocks)
    const again = nercoForwardCPU(noBias, input, H, W);
    expect(maxAbsDiff(again.preTrunk, out.preTrunk)).toBeLessThan(1e-4);
    expect(maxAbsDiff(again.fakeB, out.fakeB)).toBeLessThan(1e-4);
    noBias.ga.get('model.19.bias')!.data.fill(0);
    expect(maxAbsDiff(nercoForwardCPU(noBias, input, H, W).fakeB, out.fakeB)).toBeGreaterThan(1e-3);
  });

  it('G_A sees cat(real_A, pre_A) scaled by the mask: with conv1 = 0 the mask is 0.5', () => {
    const flat = smallNet(1);
    flat.h.get('conv1.weight')!.data.fill(0);
    const o = nercoForwardCPU(flat, input, H, W);
    expect(o.mask.every((v) => v === 0.5)).toBe(true);
    const half = concatChannels(input, [3, H, W], o.preA, [3, H, W]).map((v) => v * 0.5);
    expect(Array.from(gaForwardCPU(flat.ga, half, H, W))).toEqual(Array.from(o.fakeB));
  });

  it('netH: the mask does not depend on the output head, H does', () => {
    const other = smallNet(1);
    other.h.get('output.weight')!.data.fill(0);
    const o = netHForwardCPU(other.h, input, H, W);
    expect(Array.from(o.mask)).toEqual(Array.from(out.mask));
    const bias = other.h.get('output.bias')!.data;
    expect(o.hImage[0]).toBeCloseTo(Math.tanh(bias[0]), 6);
    expect(o.featureShape).toEqual([16, H + 6, W + 6]);
  });
});

describe('layout inference (NERCO.md §2.5)', () => {
  const shapesOnly = (keys: [string, number[]][]): WeightMap =>
    new Map(keys.map(([k, shape]) => [k, { shape, data: new Float32Array(0) }]));

  it('9 blocks give up convs 19, 22 and head 26', () => {
    const keys: [string, number[]][] = [['model.1.weight', [64, 6, 7, 7]]];
    for (let b = 10; b <= 18; b++) keys.push([`model.${b}.conv_block.1.weight`, [256, 256, 3, 3]]);
    expect(inferResnetLayout(shapesOnly(keys))).toEqual({
      ngf: 64, blocks: [10, 11, 12, 13, 14, 15, 16, 17, 18], up1: 19, up2: 22, head: 26,
    });
  });

  it('a gap in the block indices is a WeightsMismatchError', () => {
    const keys: [string, number[]][] = [
      ['model.1.weight', [8, 3, 7, 7]],
      ['model.10.conv_block.1.weight', [32, 32, 3, 3]],
      ['model.12.conv_block.1.weight', [32, 32, 3, 3]],
    ];
    expect(() => inferResnetLayout(shapesOnly(keys))).toThrow(WeightsMismatchError);
  });

  it('a block whose second conv is zero is the identity, so B = 2 with zeroed blocks equals B = 0', () => {
    const rng = makeRng(5);
    const withBlocks = resnetWeights(rng, 6, 4, 2, 3);
    for (const b of [10, 11]) {
      withBlocks.get(`model.${b}.conv_block.5.weight`)!.data.fill(0); // IN of a constant plane is 0
    }
    const noBlocks: MutableWeights = new Map();
    for (const [k, v] of withBlocks) {
      if (k.includes('conv_block')) continue;
      const m = /^model\.(\d+)\.(.*)$/.exec(k)!;
      const i = Number(m[1]);
      noBlocks.set(i >= 12 ? `model.${i - 2}.${m[2]}` : k, v);
    }
    const gIn = uniform(makeRng(6), 6 * H * W, -1, 1);
    const a = gaForwardCPU(withBlocks, gIn, H, W);
    const b = gaForwardCPU(noBlocks, gIn, H, W);
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-6);
  });

  it('a missing key is a WeightsMismatchError naming it', () => {
    const net = smallNet(2);
    net.h.delete('conv_ca.weight');
    expect(() => netHForwardCPU(net.h, input, H, W)).toThrow(/conv_ca\.weight/);
  });
});
