/**
 * Developer check, not a test: runs the CPU reference forward on a fixture case and prints the
 * max abs difference of every intermediate against the PyTorch fixture.
 * Needs the weights as .npy files (test/reference/export_weights_npy.py writes them to the
 * git-ignored test/.artifacts/weights-npy/); the vitest suite does not depend on them.
 *
 *   /usr/bin/python3 test/reference/export_weights_npy.py
 *   npx tsx test/reference/compare-fixtures.ts [case ...]      # default: dark-40x56
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readNpy } from '../helpers/npy.js';
import { repoPath, sharedPath } from '../helpers/shared-path.js';
import { nercoForwardCPU, type NercoWeights, type WeightMap } from './nerco.js';

function loadNpyWeightDir(dir: string): WeightMap {
  const keys = readFileSync(join(dir, 'keys.txt'), 'utf8').split('\n').filter((k) => k.length > 0);
  return new Map(keys.map((k) => [k, readNpy(join(dir, `${k}.npy`))]));
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const root = repoPath('test', '.artifacts', 'weights-npy');
const weights: NercoWeights = {
  ga: loadNpyWeightDir(join(root, 'ga')),
  pre: loadNpyWeightDir(join(root, 'pre')),
  h: loadNpyWeightDir(join(root, 'h')),
};
const cases = process.argv.slice(2);
for (const name of cases.length > 0 ? cases : ['dark-40x56']) {
  const fixture = (f: string) => readNpy(sharedPath('fixtures', 'nerco-random', name, `${f}.npy`));
  const input = fixture('input');
  const [, , height, width] = input.shape;
  const t0 = performance.now();
  const out = nercoForwardCPU(weights, input.data, height, width);
  const seconds = (performance.now() - t0) / 1000;
  const rows: [string, Float32Array, string][] = [
    ['pre_trunk', out.preTrunk, 'pre_trunk'],
    ['pre_A', out.preA, 'pre_A'],
    ['mask', out.mask, 'mask'],
    ['H', out.hImage, 'H'],
    ['fake_B', out.fakeB, 'fake_B'],
  ];
  console.log(`${name} (${height}×${width}, ${seconds.toFixed(1)} s)`);
  for (const [label, mine, file] of rows) console.log(`  ${label.padEnd(10)} max|Δ| = ${maxAbsDiff(mine, fixture(file).data).toExponential(2)}`);
}
