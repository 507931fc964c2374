/**
 * Soak: many sequential `model.enhance(texture)` calls of varying sizes in one process, as a
 * long-running app makes them. Prints the buffer pool, the uniform cache and the pipeline count
 * every 50 calls, and checks that pooled GPU memory stops growing once every size has been seen.
 *
 *   node --import tsx bench/soak.ts [--calls 500] [--weights tiny|<dir|file>] [--sizes 9x7,64x48,...]
 *                                   [--random-sizes N] [--concurrent 10]
 *
 * --weights tiny (default): the small random NeRCo of test/helpers/tiny-model.ts (fast on a
 * software adapter); a path: real checkpoints (e.g. ../shared/fixtures/nerco-random/weights).
 * --random-sizes N: sizes drawn at random (seeded) up to N×N instead of the fixed cycle; pooled
 * memory then grows while new size buckets appear and is bounded by the bucket count.
 * --concurrent K: also issue K calls at once every 50 calls and check them against sequential runs.
 * Exit status 1 when pooled memory grew after the first round of the fixed size cycle, or a pooled
 * buffer was still in use between calls.
 */
import { parseArgs } from 'node:util';
import { loadNeRCo } from '../src/nerco/load.js';
import type { NeRCoModel } from '../src/nerco/model.js';
import { releaseNodeGPU } from '../src/runtime/device.js';
import { makeRng } from '../test/helpers/random.js';
import { readRGBA8, uploadRGBA8 } from '../test/helpers/texture.js';
import { tinyWeights } from '../test/helpers/tiny-model.js';

const DEFAULT_SIZES = '9x7,64x48,1x1,33x17,48x64,100x75,8x8,127x33,16x12,80x60';

function parseSizes(s: string): [number, number][] {
  return s.split(',').map((t) => {
    const m = /^(\d+)x(\d+)$/.exec(t.trim());
    if (!m) throw new Error(`sizes are WxH, comma-separated (got ${t})`);
    return [Number(m[1]), Number(m[2])];
  });
}

function texture(model: NeRCoModel, w: number, h: number, seed: number): GPUTexture {
  const rng = makeRng(seed);
  const data = Uint8Array.from({ length: w * h * 4 }, () => Math.floor(rng() * 160));
  return uploadRGBA8(model.device, w, h, data);
}

const mib = (b: number): string => `${(b / 2 ** 20).toFixed(2)} MiB`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      calls: { type: 'string', default: '500' },
      weights: { type: 'string', default: 'tiny' },
      sizes: { type: 'string', default: DEFAULT_SIZES },
      'random-sizes': { type: 'string' },
      concurrent: { type: 'string', default: '0' },
    },
  });
  const calls = Number(values.calls);
  const model = await loadNeRCo(values.weights === 'tiny' ? tinyWeights(11) : values.weights);
  const rt = model.runtime;
  const cycle = parseSizes(values.sizes);
  const randomMax = values['random-sizes'] ? Number(values['random-sizes']) : 0;
  const rng = makeRng(99);
  const sizeOf = (call: number): [number, number] =>
    randomMax ? [1 + Math.floor(rng() * randomMax), 1 + Math.floor(rng() * randomMax)] : cycle[call % cycle.length]!;
  const cache = new Map<string, GPUTexture>();
  const input = (w: number, h: number): GPUTexture => {
    const key = `${w}x${h}`;
    let t = cache.get(key);
    if (!t) {
      t = texture(model, w, h, w * 1000 + h);
      if (!randomMax) cache.set(key, t);
    }
    return t;
  };
  const concurrent = Number(values.concurrent);
  const cfg = model.weights;
  console.log(`soak: ${calls} calls on "${rt.adapterName}", weights ${values.weights} (G_A ngf ${cfg.ga.config.ngf}, Pre ngf ${cfg.pre.config.ngf}, netH ngf ${cfg.h.config.ngf}), ` +
    (randomMax ? `random sizes up to ${randomMax}×${randomMax}` : `sizes ${values.sizes}`));
  console.log('calls  pool allocated (buffers)   in use   pool peak     uniforms   pipelines  ms/call  rss');

  const allocatedAfter: number[] = [];
  let leaked = 0;
  let concurrencyMismatches = 0;
  let windowStart = performance.now();
  const started = performance.now();
  for (let call = 0; call < calls; call++) {
    const [w, h] = sizeOf(call);
    const tex = input(w, h);
    const out = await model.enhance(tex);
    out.destroy();
    if (randomMax) tex.destroy();
    const p = rt.pool.stats();
    allocatedAfter.push(p.allocatedBytes);
    if (p.inUseBytes !== 0) leaked++;
    if (concurrent > 0 && (call + 1) % 50 === 0) {
      const sizes = Array.from({ length: concurrent }, (_, i) => cycle[i % cycle.length]!);
      const inputs = sizes.map(([cw, ch]) => input(cw, ch));
      const sequential: Uint8Array[] = [];
      for (const t of inputs) {
        const o = await model.enhance(t);
        sequential.push(await readRGBA8(model.device, o));
        o.destroy();
      }
      const outs = await Promise.all(inputs.map((t) => model.enhance(t)));
      for (let i = 0; i < outs.length; i++) {
        const got = await readRGBA8(model.device, outs[i]!);
        if (got.some((v, j) => v !== sequential[i]![j])) concurrencyMismatches++;
        outs[i]!.destroy();
      }
    }
    if ((call + 1) % 50 === 0 || call + 1 === calls) {
      await rt.device.queue.onSubmittedWorkDone();
      const n = (call % 50) + 1;
      const ms = (performance.now() - windowStart) / n;
      console.log(`${String(call + 1).padStart(5)}  ${mib(p.allocatedBytes).padStart(11)} (${String(p.buffers).padStart(3)})  ${mib(p.inUseBytes).padStart(10)}  ${mib(p.peakAllocatedBytes).padStart(10)}  ${mib(rt.uniforms.bytes).padStart(10)}  ${String(rt.pipelines.size).padStart(9)}  ${ms.toFixed(1).padStart(7)}  ${mib(process.memoryUsage().rss)}`);
      windowStart = performance.now();
    }
  }
  const warm = randomMax ? 0 : cycle.length;
  const plateau = allocatedAfter[Math.min(warm, allocatedAfter.length - 1)]!;
  const grewAfterWarmUp = allocatedAfter.slice(warm).some((b) => b !== plateau);
  const firstGrowthAfter = allocatedAfter.findIndex((b, i) => i > 0 && b !== allocatedAfter[i - 1]);
  const lastGrowth = allocatedAfter.reduce((last, b, i) => (i > 0 && b !== allocatedAfter[i - 1] ? i : last), 0);
  console.log(`\n${calls} calls in ${((performance.now() - started) / 1000).toFixed(1)} s; pool ${mib(allocatedAfter[allocatedAfter.length - 1]!)}, ` +
    `last change of the pool at call ${lastGrowth + 1}${firstGrowthAfter < 0 ? ' (never changed)' : ''}; ` +
    (randomMax ? '' : `flat after the first round of ${cycle.length} sizes: ${grewAfterWarmUp ? 'NO' : 'yes'}; `) +
    `calls leaving pooled buffers in use: ${leaked}` + (concurrent ? `; concurrent results differing from sequential: ${concurrencyMismatches}` : ''));
  for (const t of cache.values()) t.destroy();
  model.destroy();
  releaseNodeGPU();
  return (!randomMax && grewAfterWarmUp) || leaked || concurrencyMismatches ? 1 : 0;
}

process.exitCode = await main();
