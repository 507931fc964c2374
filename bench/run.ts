/**
 * Benchmarks. `npm run bench -- e2e --size 64x64 [--runs 5] [--precision f16] [--weights <dir|file>] [--json]`
 * End to end on the fixture-size NeRCo (full widths) by default: cold (first call, pipeline
 * creation included) and warm (median) times of the whole pass, a per-net breakdown (Pre, netH,
 * G_A, each recorded and timed alone), and GPU memory (weights + pooled activations peak).
 */
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolveWeights } from '../src/nerco/load.js';
import { bandRowsNeeded, prepareNeRCo, recordForward } from '../src/nerco/forward.js';
import { runPre } from '../src/nerco/pre.js';
import { runNetH } from '../src/nerco/net-h.js';
import { runGA } from '../src/nerco/g-a.js';
import { Runtime } from '../src/runtime/runtime.js';
import type { Recorder } from '../src/runtime/recorder.js';
import type { GpuTensor } from '../src/runtime/tensor.js';

const FIXTURE_WEIGHTS = fileURLToPath(new URL('../../shared/fixtures/nerco-random/weights', import.meta.url));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function parseSize(s: string): [number, number] {
  const m = /^(\d+)x(\d+)$/.exec(s);
  if (!m) throw new Error(`--size must be HxW, e.g. 64x64 (got ${s})`);
  return [Number(m[1]), Number(m[2])];
}

/** Times one recorded-and-submitted piece of work until the GPU has finished it. */
async function timeRun(rt: Runtime, record: (rec: Recorder) => Promise<GpuTensor[]>): Promise<number> {
  const t0 = performance.now();
  const outs = await rt.run(record);
  await rt.device.queue.onSubmittedWorkDone();
  const ms = performance.now() - t0;
  for (const t of outs) t.release();
  return ms;
}

async function e2e(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { size: { type: 'string', default: '64x64' }, runs: { type: 'string', default: '5' }, weights: { type: 'string' }, json: { type: 'boolean' }, adapter: { type: 'string' }, precision: { type: 'string', default: 'f32' } } });
  const [h, w] = parseSize(values.size!);
  const runs = Number(values.runs);
  const weightsPath = values.weights ?? (existsSync(FIXTURE_WEIGHTS) ? FIXTURE_WEIGHTS : undefined);
  const weights = await resolveWeights(weightsPath);
  const rt = await Runtime.create({ adapter: values.adapter });
  try {
    const gpu = prepareNeRCo(rt, weights, { precision: values.precision === 'f16' ? 'f16' : 'f32' });
    const input = new Float32Array(3 * h * w);
    for (let i = 0; i < input.length; i++) input[i] = Math.sin(i * 0.37) * 0.8 - 0.1;
    const realA = rt.upload(input, [3, h, w], 'real_A');
    rt.pool.resetPeak();
    const whole = (rec: Recorder) => recordForward(rec, gpu, realA).then((o) => [o.fakeB]);
    const bandRows = bandRowsNeeded(rt, gpu, realA);
    const coldMs = await timeRun(rt, whole);
    // Printed at once: a big image's warm runs may take as long again.
    const coldMem = rt.memoryStats();
    console.error(`cold ${coldMs.toFixed(0)} ms${bandRows === null ? '' : `, row bands of ${bandRows} rows`}, GPU memory total peak ${(coldMem.peakTotalBytes / 2 ** 20).toFixed(1)} MiB (weights ${(coldMem.constantBytes / 2 ** 20).toFixed(1)}, activations ${(coldMem.poolPeakBytes / 2 ** 20).toFixed(1)})`);
    const warm: number[] = [];
    for (let i = 0; i < runs; i++) warm.push(await timeRun(rt, whole));
    const parts = {
      Pre: (rec: Recorder) => runPre(rec, gpu.pre, realA).then((o) => [o.preTrunk, o.preA]),
      H: (rec: Recorder) => runNetH(rec, gpu.h, realA).then((o) => [o.mask]),
      G_A: async (rec: Recorder) => {
        const gIn = rt.tensor([6, h, w], 'g_in');
        rec.encoder.clearBuffer(gIn.buffer);
        const out = await runGA(rec, gpu.ga, gIn);
        return [gIn, out];
      },
    };
    const perNet: Record<string, number> = {};
    // The per-net parts run unbanded: skipped when the image needs bands.
    for (const [name, fn] of bandRows === null ? Object.entries(parts) : []) {
      await timeRun(rt, fn);
      const t: number[] = [];
      for (let i = 0; i < Math.max(3, Math.ceil(runs / 2)); i++) t.push(await timeRun(rt, fn));
      perNet[name] = median(t);
    }
    const mem = rt.memoryStats();
    const result = {
      adapter: rt.adapterName,
      precision: gpu.precision,
      loadavg: loadavg()[0],
      size: [h, w],
      weights: weightsPath ?? 'default',
      cold_ms: coldMs,
      warm_ms: warm.length ? median(warm) : null,
      warm_runs_ms: warm,
      band_rows: bandRows,
      per_net_ms: perNet,
      gpu_memory_mb: { weights: mem.constantBytes / 2 ** 20, activations_peak: mem.poolPeakBytes / 2 ** 20, uniforms: mem.uniformBytes / 2 ** 20, total_peak: mem.peakTotalBytes / 2 ** 20 },
    };
    if (!values.json) {
      console.log(`adapter ${result.adapter}, ${h}×${w}, ${result.precision}, weights ${result.weights}; load average ${result.loadavg!.toFixed(1)}`);
      console.log(`cold ${coldMs.toFixed(0)} ms, ${result.warm_ms === null ? 'no warm runs (--runs 0)' : `warm median ${result.warm_ms.toFixed(1)} ms (${warm.map((x) => x.toFixed(0)).join(', ')})`}`);
      if (bandRows === null) console.log(`per net (warm median): ${Object.entries(perNet).map(([k, v]) => `${k} ${v.toFixed(1)} ms`).join(', ')}`);
      else console.log(`row bands of ${bandRows} rows (per-net breakdown skipped: the parts run unbanded)`);
      console.log(`GPU memory: weights ${result.gpu_memory_mb.weights.toFixed(1)} MiB, activations peak ${result.gpu_memory_mb.activations_peak.toFixed(1)} MiB, total peak ${result.gpu_memory_mb.total_peak.toFixed(1)} MiB`);
    }
    console.log(JSON.stringify(result));
    realA.release();
  } finally {
    rt.destroy();
  }
}

const [cmd, ...rest] = process.argv.slice(2);
process.env.XDG_RUNTIME_DIR ??= '/tmp';
if (cmd === 'e2e') await e2e(rest);
else if (cmd === 'profile') await (await import('./profile.js')).profile(rest);
else if (cmd === 'peak') await (await import('./kernels/peak.js')).peak(rest);
else if (cmd === 'kernels') await (await import('./kernels/hot.js')).kernels(rest);
else if (cmd === 'f16') await (await import('./f16.js')).f16(rest);
else {
  console.error('usage: npm run bench -- e2e --size HxW [--runs N] [--weights <dir|file>] [--json]\n' +
    '       npm run bench -- profile --size HxW [--runs N] [--top N] [--json]   (per-kernel GPU timestamps)\n' +
    '       npm run bench -- peak [--json]   (adapter FMA throughput and copy bandwidth)\n' +
    '       npm run bench -- kernels [--size HxW] [--runs N] [--only text] [--json]   (every hot kernel vs the peaks)\n' +
    '       npm run bench -- f16 [--size HxW] [--runs N] [--json]   (f16 storage vs f32, alternating)');
  process.exit(2);
}
