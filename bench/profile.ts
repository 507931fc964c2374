/**
 * Where the time goes: one warm forward pass with a GPU timestamp around every dispatch.
 *   npm run bench -- profile --size 64x64 [--runs 3] [--precision f16] [--weights <dir|file>] [--top 20] [--json]
 * Prints the time per kernel (shader + defines), per layer group, and the heaviest dispatches
 * (median over the runs), plus the pass's wall and process CPU time. On lavapipe the GPU is the
 * CPU: a timestamp interval is wall time on a machine that may be shared, so compare kernels
 * within one run, and prefer the CPU column of bench/kernels/*.ts to compare variants.
 */
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { resolveWeights } from '../src/nerco/load.js';
import { prepareNeRCo, recordForward } from '../src/nerco/forward.js';
import { Runtime } from '../src/runtime/runtime.js';
import { TimestampProfiler, kernelOfLabel, type PassTiming } from '../src/runtime/profiler.js';

const FIXTURE_WEIGHTS = fileURLToPath(new URL('../../shared/fixtures/nerco-random/weights', import.meta.url));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** "G_A.model.12.conv_block.1" → "G_A res conv"; groups the layers NeRCo repeats. */
export function layerGroup(layer: string): string {
  const net = layer.split('.')[0]!;
  if (/conv_block\.[15]$/.test(layer)) return `${net} res 3×3 conv`;
  if (/conv_block\.[26]$/.test(layer) || /\.add$/.test(layer)) return `${net} res IN`;
  return layer;
}

export async function profile(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { size: { type: 'string', default: '64x64' }, runs: { type: 'string', default: '3' }, weights: { type: 'string' }, top: { type: 'string', default: '15' }, json: { type: 'boolean' }, precision: { type: 'string', default: 'f32' } },
  });
  const m = /^(\d+)x(\d+)$/.exec(values.size!);
  if (!m) throw new Error('--size must be HxW');
  const [h, w] = [Number(m[1]), Number(m[2])];
  const weights = await resolveWeights(values.weights ?? (existsSync(FIXTURE_WEIGHTS) ? FIXTURE_WEIGHTS : undefined));
  const rt = await Runtime.create();
  const profiler = TimestampProfiler.forRuntime(rt);
  if (!profiler) throw new Error(`${rt.adapterName} has no timestamp-query: use bench/kernels/*.ts (CPU/wall time) instead`);
  try {
    const gpu = prepareNeRCo(rt, weights, { precision: values.precision === 'f16' ? 'f16' : 'f32' });
    const input = new Float32Array(3 * h * w);
    for (let i = 0; i < input.length; i++) input[i] = Math.sin(i * 0.37) * 0.8 - 0.1;
    const realA = rt.upload(input, [3, h, w], 'real_A');
    const once = async (): Promise<{ wall: number; cpu: number }> => {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const out = await rt.run((rec) => recordForward(rec, gpu, realA));
      await rt.device.queue.onSubmittedWorkDone();
      const c = process.cpuUsage(c0);
      out.fakeB.release();
      return { wall: performance.now() - t0, cpu: (c.user + c.system) / 1000 };
    };
    await once(); // compile pipelines
    rt.setProfiler(profiler);
    const runs: PassTiming[][] = [];
    const walls: number[] = [];
    const cpus: number[] = [];
    for (let r = 0; r < Number(values.runs); r++) {
      const t = await once();
      walls.push(t.wall);
      cpus.push(t.cpu);
      runs.push(await profiler.collect());
    }
    rt.setProfiler(null);
    realA.release();

    // Median per dispatch position (the same sequence every run).
    const passes = runs[0]!.map((p, i) => ({ label: p.label, ms: median(runs.map((r) => r[i]!.ms)) }));
    const total = passes.reduce((a, p) => a + p.ms, 0);
    const sumBy = (key: (p: PassTiming) => string) => {
      const by = new Map<string, { ms: number; n: number }>();
      for (const p of passes) {
        const k = key(p);
        const e = by.get(k) ?? { ms: 0, n: 0 };
        e.ms += p.ms;
        e.n++;
        by.set(k, e);
      }
      return [...by.entries()].sort((a, b) => b[1].ms - a[1].ms);
    };
    const byKernel = sumBy((p) => kernelOfLabel(p.label));
    const byGroup = sumBy((p) => `${kernelOfLabel(p.label).split('(')[0]} ${layerGroup(p.label.slice(kernelOfLabel(p.label).length + 1))}`);
    const result = {
      adapter: rt.adapterName,
      size: [h, w],
      precision: values.precision,
      dispatches: passes.length,
      gpu_total_ms: total,
      wall_ms: median(walls),
      cpu_ms: median(cpus),
      loadavg: loadavg()[0],
      by_kernel: byKernel.map(([k, v]) => ({ kernel: k, ms: v.ms, dispatches: v.n })),
      by_group: byGroup.map(([k, v]) => ({ group: k, ms: v.ms, dispatches: v.n })),
      passes,
    };
    if (values.json) {
      console.log(JSON.stringify(result));
      return;
    }
    const pct = (ms: number) => `${((100 * ms) / total).toFixed(1).padStart(5)} %`;
    console.log(`adapter ${rt.adapterName}, ${h}×${w}, ${values.precision}; ${passes.length} dispatches; load average ${result.loadavg.toFixed(1)}`);
    console.log(`sum of pass times ${total.toFixed(1)} ms; the pass: wall ${result.wall_ms.toFixed(1)} ms, process CPU ${result.cpu_ms.toFixed(1)} ms (medians of ${values.runs})`);
    console.log('\nby layer group:');
    for (const [k, v] of byGroup.slice(0, Number(values.top))) console.log(`  ${v.ms.toFixed(1).padStart(9)} ms ${pct(v.ms)}  ×${String(v.n).padEnd(3)} ${k}`);
    console.log('\nby kernel:');
    for (const [k, v] of byKernel.slice(0, Number(values.top))) console.log(`  ${v.ms.toFixed(1).padStart(9)} ms ${pct(v.ms)}  ×${String(v.n).padEnd(3)} ${k}`);
  } finally {
    profiler.destroy();
    rt.destroy();
  }
}
