import { describe, expect, it } from 'vitest';
import {
  add, channelMax, channelMean, concatChannels, globalAvgPool, globalMaxPool, mulBroadcastChannel, relu, sigmoid, tanh,
} from './elementwise.js';
import { linear, mlp } from './linear.js';

describe('element-wise ops (NERCO.md §7.6)', () => {
  it('relu, tanh, sigmoid on hand values', () => {
    expect(Array.from(relu(Float32Array.from([-2, -0, 0, 1.5])))).toEqual([0, 0, 0, 1.5]);
    expect(Array.from(tanh(Float32Array.from([0, 20, -20])))).toEqual([0, 1, -1]);
    expect(tanh(Float32Array.from([0.5]))[0]).toBe(Math.fround(Math.tanh(0.5)));
    const s = sigmoid(Float32Array.from([0, 2, -1000, 1000]));
    expect(s[0]).toBe(0.5);
    expect(s[1]).toBe(Math.fround(1 / (1 + Math.exp(-2))));
    expect(s[2]).toBe(0); // 1/(1+∞), no NaN
    expect(s[3]).toBe(1);
  });

  it('add', () => {
    expect(Array.from(add(Float32Array.from([1, 2]), Float32Array.from([0.5, -2])))).toEqual([1.5, 0]);
    expect(() => add(new Float32Array(2), new Float32Array(3))).toThrow(/lengths differ \(2 vs 3\)/);
  });

  it('mulBroadcastChannel scales every channel by the same per-pixel value (NERCO.md §1)', () => {
    const x = Float32Array.from([1, 2, 3, 4, 10, 20, 30, 40]); // [2, 2, 2]
    const m = Float32Array.from([0, 0.5, 1, 2]);
    expect(Array.from(mulBroadcastChannel(x, [2, 2, 2], m))).toEqual([0, 1, 3, 8, 0, 10, 30, 80]);
  });

  it('concatChannels puts a first', () => {
    const out = concatChannels(Float32Array.from([1, 2]), [1, 1, 2], Float32Array.from([3, 4, 5, 6]), [2, 1, 2]);
    expect(Array.from(out)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => concatChannels(new Float32Array(2), [1, 1, 2], new Float32Array(2), [1, 2, 1])).toThrow(/spatial sizes differ/);
  });

  it('global and channel pools', () => {
    const x = Float32Array.from([1, 2, 3, -4, 5, 6, 7, 8]); // [2, 2, 2]
    expect(Array.from(globalAvgPool(x, [2, 2, 2]))).toEqual([0.5, 6.5]);
    expect(Array.from(globalMaxPool(x, [2, 2, 2]))).toEqual([3, 8]);
    expect(Array.from(channelMean(x, [2, 2, 2]))).toEqual([3, 4, 5, 2]);
    expect(Array.from(channelMax(x, [2, 2, 2]))).toEqual([5, 6, 7, 8]);
  });
});

describe('linear / mlp', () => {
  it('y = W·x + b with W as [out, in]', () => {
    const y = linear([1, 2], { weight: Float32Array.from([1, 0, 3, -1]), bias: Float32Array.from([0.5, 1]) });
    expect(Array.from(y)).toEqual([1.5, 2]);
  });

  it('mlp applies ReLU between layers but not after the last', () => {
    const layers = [
      { weight: Float32Array.from([1, -1]), bias: Float32Array.from([0, 0]) }, // 1 → 2: [x, −x]
      { weight: Float32Array.from([-1, -1]), bias: Float32Array.from([0]) }, // 2 → 1: −(a + b)
    ];
    expect(Array.from(mlp([3], layers))).toEqual([-3]); // ReLU kills −3 before the last layer
    expect(Array.from(mlp([-3], layers))).toEqual([-3]);
  });
});
