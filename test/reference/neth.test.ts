import { describe, expect, it } from 'vitest';
import { makeRng, randn } from '../helpers/random.js';
import { channelAttention, hImageHead, maskExtractor, type MaskAttentionWeights } from './neth.js';

const C = 16; // ngf/16 = 1 hidden unit in fc1/fc2
const HP = 9;
const WP = 10;

/**
 * Weights chosen so that ca has a closed form: z = ReLU(avg[0] + max[1]), g[j] = 0.5·z,
 * ca[c] = (c+1)·g[c] = 0.5·(c+1)·z.
 */
function handWeights(conv1: Float32Array): MaskAttentionWeights {
  const fc1 = new Float32Array(2 * C);
  fc1[0] = 1; // avg of channel 0
  fc1[C + 1] = 1; // max of channel 1
  const fc2 = new Float32Array(2 * C).fill(0.5);
  const convCa = new Float32Array(C * 2 * C);
  for (let c = 0; c < C; c++) convCa[c * 2 * C + c] = c + 1;
  return { fc1, fc2, convCa, conv1 };
}

function featureMap(seed: number): Float32Array {
  return randn(makeRng(seed), C * HP * WP, 1, 0.3);
}

function expectedZ(f: Float32Array): number {
  const n = HP * WP;
  let avg0 = 0;
  let max1 = -Infinity;
  for (let k = 0; k < n; k++) {
    avg0 += f[k];
    max1 = Math.max(max1, f[n + k]);
  }
  return Math.max(0, avg0 / n + max1);
}

describe('netH attention (NERCO.md §5)', () => {
  it('channel attention: pools over the padded map, no sigmoid on ca', () => {
    const f = featureMap(1);
    const z = expectedZ(f);
    expect(z).toBeGreaterThan(0);
    const ca = channelAttention(f, [C, HP, WP], handWeights(new Float32Array(98)));
    for (let c = 0; c < C; c++) expect(ca[c]).toBeCloseTo(0.5 * (c + 1) * z, 5);
  });

  it('ca may be negative (it multiplies the features directly)', () => {
    const f = featureMap(2);
    const w = handWeights(new Float32Array(98));
    for (let c = 0; c < C; c++) w.convCa[c * 2 * C + c] = -1;
    const ca = channelAttention(f, [C, HP, WP], w);
    expect(ca[0]).toBeLessThan(0);
  });

  it('mask with a centre tap on the channel-max plane is sigmoid(max_c(ca·F)) at the centre pixel', () => {
    const f = featureMap(3);
    const conv1 = new Float32Array(98);
    conv1[49 + 24] = 1; // channel 1 (max), ky = kx = 3
    const mask = maskExtractor(f, [C, HP, WP], handWeights(conv1));
    const z = expectedZ(f);
    const h = HP - 6;
    const w = WP - 6;
    expect(mask.length).toBe(h * w);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        let m = -Infinity;
        for (let c = 0; c < C; c++) m = Math.max(m, 0.5 * (c + 1) * z * f[(c * HP + y + 3) * WP + x + 3]);
        expect(mask[y * w + x]).toBeCloseTo(1 / (1 + Math.exp(-m)), 6);
      }
  });

  it('mask with a corner tap on the channel-mean plane is sigmoid(mean_c(ca·F)) at (y, x)', () => {
    const f = featureMap(4);
    const conv1 = new Float32Array(98);
    conv1[0] = 2; // channel 0 (mean), ky = kx = 0, weight 2
    const mask = maskExtractor(f, [C, HP, WP], handWeights(conv1));
    const z = expectedZ(f);
    const w = WP - 6;
    for (const [y, x] of [[0, 0], [2, 3], [1, 2]]) {
      let s = 0;
      for (let c = 0; c < C; c++) s += 0.5 * (c + 1) * z * f[(c * HP + y) * WP + x];
      expect(mask[y * w + x]).toBeCloseTo(1 / (1 + Math.exp(-2 * (s / C))), 6);
    }
  });

  it('H image head: tanh(7×7 valid conv + bias) of F', () => {
    const f = featureMap(5);
    const weight = new Float32Array(3 * C * 49);
    weight[(0 * C + 2) * 49 + 24] = 1; // out 0 ← centre of channel 2
    weight[(2 * C + 5) * 49 + 0] = -3; // out 2 ← −3 · top-left of channel 5
    const bias = Float32Array.from([0.1, 0.2, 0.3]);
    const out = hImageHead(f, [C, HP, WP], weight, bias);
    const h = HP - 6;
    const w = WP - 6;
    expect(out.length).toBe(3 * h * w);
    expect(out[1 * w + 2]).toBeCloseTo(Math.tanh(f[(2 * HP + 4) * WP + 5] + 0.1), 6);
    expect(out[h * w + 7]).toBeCloseTo(Math.tanh(0.2), 6);
    expect(out[2 * h * w + 2 * w + 1]).toBeCloseTo(Math.tanh(-3 * f[(5 * HP + 2) * WP + 1] + 0.3), 6);
  });
});
