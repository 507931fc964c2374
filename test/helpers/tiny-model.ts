/**
 * A small random NeRCo (NERCO.md §2.5: same graph and key names, narrower and shallower), built in
 * TypeScript from a seed and validated by the same architecture inference as real checkpoints.
 * Tests that need a whole model but not the official widths use it to stay fast on the software
 * adapter: G_A and Pre with ngf 8 and one ResBlock, an NRN MLP of widths [16, 3], netH with
 * ngf 16 (the smallest its channel attention allows: fc1 has ngf/16 outputs).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  expectedShapesGA, expectedShapesH, expectedShapesPre, type GAConfig, type HConfig, type PreConfig,
} from '../../src/nerco/architecture.js';
import { numel, type StateDict } from '../../src/nerco/host-tensor.js';
import { fromCombined, COMBINED_PREFIXES, type NeRCoWeights, toCombinedStateDict } from '../../src/nerco/load-weights.js';
import { writeSafetensors } from '../../weights-tools/safetensors.js';
import { makeRng, type Rng } from './random.js';

export interface TinyModelConfig {
  readonly ga: Omit<GAConfig, 'inChannels'>;
  readonly pre: PreConfig;
  readonly h: HConfig;
}

export const TINY_CONFIG: TinyModelConfig = {
  ga: { ngf: 8, nBlocks: 1 },
  pre: { ngf: 8, nBlocks: 1, mlpWidths: [16, 3] },
  h: { ngf: 16 },
};

/** The file name `writeTinyWeights` uses. */
export const TINY_WEIGHTS_FILE = 'tiny-nerco.safetensors';

/**
 * Uniform in ±1/√fan_in, like torch's default init, so activations keep a sensible scale through
 * the layers and the output is not saturated by tanh. A weight's fan-in is everything but its
 * output axis (dimension 0; dimension 1 for ConvTranspose, whose layout is [Cin, Cout, kh, kw]).
 */
function randomTensor(rng: Rng, shape: readonly number[], fanIn: number): Float32Array {
  const bound = 1 / Math.sqrt(Math.max(1, fanIn));
  const out = new Float32Array(numel(shape));
  for (let i = 0; i < out.length; i++) out[i] = (2 * rng() - 1) * bound;
  return out;
}

function randomNet(rng: Rng, shapes: Map<string, readonly number[]>, transposed: ReadonlySet<string>): StateDict {
  const dict: StateDict = new Map();
  let lastFanIn = 1;
  for (const [key, shape] of shapes) {
    // Biases follow their weight in every layout, so they share its fan-in.
    if (key.endsWith('.weight')) {
      const layer = key.slice(0, -'.weight'.length);
      const n = numel(shape);
      lastFanIn = transposed.has(layer) ? n / shape[1]! : n / shape[0]!;
    }
    dict.set(key, { shape: [...shape], data: randomTensor(rng, shape, lastFanIn), sourceDtype: 'float32' });
  }
  return dict;
}

/** The combined state dict (keys `G_A.*`, `Pre.*`, `H.*`) of a random small NeRCo. */
export function tinyStateDict(seed = 1, config: TinyModelConfig = TINY_CONFIG): StateDict {
  const rng = makeRng(seed);
  // Up-sampling ConvTransposes sit at model.(10+B) and model.(13+B).
  const upLayers = (b: number) => new Set([`model.${10 + b}`, `model.${13 + b}`]);
  const nets: [string, StateDict][] = [
    [COMBINED_PREFIXES.G_A, randomNet(rng, expectedShapesGA({ ...config.ga, inChannels: 6 }), upLayers(config.ga.nBlocks))],
    [COMBINED_PREFIXES.Pre, randomNet(rng, expectedShapesPre(config.pre), upLayers(config.pre.nBlocks))],
    [COMBINED_PREFIXES.H, randomNet(rng, expectedShapesH(config.h), new Set())],
  ];
  const out: StateDict = new Map();
  for (const [prefix, dict] of nets) for (const [k, t] of dict) out.set(prefix + k, t);
  return out;
}

/** Random small NeRCo weights, validated like a real file (inference, shapes, finiteness). */
export function tinyWeights(seed = 1, config: TinyModelConfig = TINY_CONFIG): NeRCoWeights {
  return fromCombined(tinyStateDict(seed, config), `tiny NeRCo (seed ${seed})`);
}

/** The bytes of a combined float32 safetensors file holding `tinyWeights(seed)`. */
export function tinyWeightsBytes(seed = 1, config: TinyModelConfig = TINY_CONFIG): Uint8Array {
  return writeSafetensors(toCombinedStateDict(tinyWeights(seed, config)));
}

/** Writes the tiny weights to `<dir>/tiny-nerco.safetensors` (creating `dir`) and returns the path. */
export function writeTinyWeights(dir: string, seed = 1, config: TinyModelConfig = TINY_CONFIG): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, TINY_WEIGHTS_FILE);
  writeFileSync(path, tinyWeightsBytes(seed, config));
  return path;
}
