// Wall-clock timing of netH's attention head (src/kernels/attention.ts), warm, median of 5.
// Run: XDG_RUNTIME_DIR=/tmp node --import tsx bench/kernels/attention.ts [HxW ...]
// Each timed call records the kernels, submits and waits for the queue, so the figure includes
// submission and synchronisation, not pipeline compilation (the untimed warm-up call does that).
// Also printed: the process CPU time of the same calls (median), which on lavapipe is the adapter's
// work and, unlike wall time, does not grow when other jobs share the cores.
import { performance } from 'node:perf_hooks';
import {
  channelScale,
  maskFromFeatures,
  maskFromStats,
  poolReflectPadded,
  prepareAttention,
  releaseAttention,
  spatialStats,
} from '../../src/kernels/attention.js';
import type { HostTensor } from '../../src/nerco/host-tensor.js';
import { releaseNodeGPU } from '../../src/runtime/device.js';
import type { Recorder } from '../../src/runtime/recorder.js';
import { Runtime } from '../../src/runtime/runtime.js';
import type { GpuTensor } from '../../src/runtime/tensor.js';

const NGF = 64;
const REPEATS = 5;

function random(n: number, scale: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 4294967296 - 0.5) * 2 * scale;
  }
  return out;
}

function host(data: Float32Array, shape: number[]): HostTensor {
  return { shape, data, sourceDtype: 'float32' };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

interface Timing {
  readonly wallMs: number;
  readonly cpuMs: number;
}

function fmtTiming(t: Timing): string {
  return `${t.wallMs.toFixed(2)} ms (cpu ${t.cpuMs.toFixed(2)})`;
}

/** Median wall and CPU time of `record` (warm: one untimed call first). */
async function time(rt: Runtime, record: (rec: Recorder) => Promise<GpuTensor>): Promise<Timing> {
  const once = async (): Promise<Timing> => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const out = await rt.run(record);
    await rt.device.queue.onSubmittedWorkDone();
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(c0);
    out.release();
    return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
  };
  await once();
  const runs: Timing[] = [];
  for (let i = 0; i < REPEATS; i++) runs.push(await once());
  return { wallMs: median(runs.map((r) => r.wallMs)), cpuMs: median(runs.map((r) => r.cpuMs)) };
}

async function main(): Promise<void> {
  const sizes = process.argv.slice(2).length ? process.argv.slice(2) : ['64x64', '400x600'];
  const rt = await Runtime.create();
  console.log(`adapter: ${rt.adapterName}`);
  const r = NGF / 16;
  const w = prepareAttention(rt, {
    fc1: host(random(r * 2 * NGF, 0.09, 1), [r, 2 * NGF, 1, 1]),
    fc2: host(random(2 * NGF * r, 0.5, 2), [2 * NGF, r, 1, 1]),
    convCa: host(random(NGF * 2 * NGF, 0.09, 3), [NGF, 2 * NGF, 1, 1]),
    conv1: host(random(98, 0.1, 4), [1, 2, 7, 7]),
  }, 'bench netH attention');
  for (const size of sizes) {
    const [h, wd] = size.split('x').map(Number) as [number, number];
    const f0 = rt.upload(random(NGF * h * wd, 2, 5), [NGF, h, wd], 'f0');
    const total = await time(rt, (rec) => maskFromFeatures(rec, w, f0));
    const pool = await time(rt, (rec) => poolReflectPadded(rec, f0));
    const pooled = await rt.run((rec) => poolReflectPadded(rec, f0));
    const chain = await time(rt, (rec) => channelScale(rec, w, pooled));
    const ca = await rt.run((rec) => channelScale(rec, w, pooled));
    const spatial = await time(rt, (rec) => spatialStats(rec, f0, ca));
    const s0 = await rt.run((rec) => spatialStats(rec, f0, ca));
    const conv = await time(rt, (rec) => maskFromStats(rec, w, s0, h, wd));
    console.log(`ngf ${NGF} ${h}×${wd}: maskFromFeatures ${fmtTiming(total)}; alone: pool+merge ${fmtTiming(pool)}, chain ${fmtTiming(chain)}, ` +
      `spatial ${fmtTiming(spatial)}, 7×7+sigmoid ${fmtTiming(conv)}`);
    for (const t of [f0, pooled, ca, s0]) t.release();
  }
  releaseAttention(w);
  rt.destroy();
  releaseNodeGPU();
}

await main();
