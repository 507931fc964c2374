/**
 * Every hot kernel at NeRCo's real shapes for an input of HxW (default 64×64), against the
 * adapter's measured peaks (bench/kernels/peak.ts):
 *   npm run bench -- kernels [--size 64x64] [--runs 7] [--only substring] [--json]
 * Per kernel: median GPU time over warm runs (timestamp queries when the device has them, else
 * wall clock), the median process CPU time (lavapipe runs shaders on this process's threads; on a
 * shared machine it is the steadier figure), GFLOP/s (convolutions, NRN: 2 FLOP per nominal MAC)
 * or GB/s (instance norm: bytes read + written), and the fraction of the measured FMA peak or copy
 * bandwidth. The 3×3 convs run with both kernels where the device has subgroups: the subgroup
 * kernel (what the library uses there) and the portable one (everywhere else).
 */
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { conv2d, prepareConv2d, type Activation, type Conv2dKernel } from '../../src/kernels/conv2d.js';
import { convTranspose2d, prepareConvTranspose2d } from '../../src/kernels/conv-transpose2d.js';
import { instanceNormApply, instanceNormStats } from '../../src/kernels/instance-norm.js';
import { nrnFast, nrnFastMacsPerPixel, prepareNrn, releaseNrn } from '../../src/kernels/nrn.js';
import { nrnSgApplicable } from '../../src/kernels/nrn-sg.js';
import type { HostTensor } from '../../src/nerco/host-tensor.js';
import { releaseNodeGPU } from '../../src/runtime/device.js';
import type { Recorder } from '../../src/runtime/recorder.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { TimestampProfiler } from '../../src/runtime/profiler.js';
import type { GpuTensor } from '../../src/runtime/tensor.js';
import { measurePeak, type PeakResult } from './peak.js';

function host(shape: number[], seed: number, scale = 0.1): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.sin(i * 0.37 + seed) * scale;
  return { shape, data, sourceDtype: 'float32' };
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export interface KernelResult {
  readonly name: string;
  readonly variant: string;
  readonly gpu_ms: number;
  readonly cpu_ms: number;
  /** GFLOP/s or GB/s over gpu_ms. */
  readonly rate: number;
  readonly unit: 'GFLOP/s' | 'GB/s';
  /** rate / the measured peak (FMA throughput or copy bandwidth). */
  readonly fraction_of_peak: number;
}

interface Case {
  readonly name: string;
  readonly variant: string;
  /** FLOP (compute kernels) or bytes moved (memory-bound kernels) per call. */
  readonly work: number;
  readonly unit: 'GFLOP/s' | 'GB/s';
  /** Records one call; returns the tensors to release after it. */
  readonly call: (rec: Recorder) => Promise<GpuTensor[]>;
  readonly release: () => void;
}

async function timeCase(rt: Runtime, profiler: TimestampProfiler | null, c: Case, runs: number): Promise<{ gpu: number; cpu: number }> {
  const gpu: number[] = [];
  const cpu: number[] = [];
  for (let r = -1; r < runs; r++) {
    if (profiler) rt.setProfiler(profiler);
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const outs = await rt.run(c.call);
    await rt.device.queue.onSubmittedWorkDone();
    const cu = process.cpuUsage(c0);
    const wall = performance.now() - t0;
    rt.setProfiler(null);
    const passes = profiler ? await profiler.collect() : [];
    for (const o of outs) o.release();
    if (r < 0) continue; // the first call compiles the pipelines
    gpu.push(profiler ? passes.reduce((a, p) => a + p.ms, 0) : wall);
    cpu.push((cu.user + cu.system) / 1000);
  }
  return { gpu: median(gpu), cpu: median(cpu) };
}

function cases(rt: Runtime, h: number, w: number): Case[] {
  const out: Case[] = [];
  const tensors: GpuTensor[] = [];
  const input = (c: number, hh: number, ww: number): GpuTensor => {
    const t = rt.upload(host([c, hh, ww], c + hh).data, [c, hh, ww], `x ${c}×${hh}×${ww}`);
    tensors.push(t);
    return t;
  };
  const stats = (c: number): GpuTensor => {
    const t = rt.upload(Float32Array.from({ length: 2 * c }, (_, i) => (i % 2 ? 1.5 : 0.01)), [c, 2], 'stats');
    tensors.push(t);
    return t;
  };
  // The 3×3 variants: the subgroup kernel with 1 and 2 output channels per lane, the portable one.
  const kernels: [Conv2dKernel, 1 | 2][] = rt.hasSubgroups8 ? [['subgroup', 1], ['subgroup', 2], ['portable', 1]] : [['portable', 1]];
  const conv = (name: string, cin: number, cout: number, k: number, hh: number, ww: number, stride: 1 | 2, pad: number, padMode: 'zero' | 'reflect', norm: boolean, activation?: Activation) => {
    const variants = k === 3 ? kernels : k === 7 && cout >= 32 ? kernels.filter(([, cl]) => cl === 1) : [['portable', 1] as const];
    for (const [kernel, laneChannels] of variants) {
      const x = input(cin, hh, ww);
      const s = norm ? stats(cin) : undefined;
      const wts = prepareConv2d(rt, host([cout, cin, k, k], 2, 1 / Math.sqrt(cin * k * k)), host([cout], 3), name, undefined, { kernel, laneChannels });
      const ho = Math.floor((hh + 2 * pad - k) / stride) + 1;
      const wo = Math.floor((ww + 2 * pad - k) / stride) + 1;
      out.push({
        name,
        variant: kernel === 'subgroup' ? `sg cl${laneChannels}` : kernel,
        work: 2 * cout * cin * k * k * ho * wo,
        unit: 'GFLOP/s',
        call: async (rec) => [await conv2d(rec, wts, x, { stride, pad, padMode, activation, inputNorm: s ? { stats: s, relu: true } : undefined })],
        release: () => { wts.weight.release(); wts.bias?.release(); },
      });
    }
  };
  const [h2, w2, h4, w4] = [h / 2, w / 2, h / 4, w / 4];
  conv(`conv 3×3 256→256 @${h4}×${w4} reflect +IN+ReLU (ResBlock)`, 256, 256, 3, h4, w4, 1, 1, 'reflect', true);
  conv(`conv 3×3 64→64 @${h}×${w} reflect (netH ResBlock)`, 64, 64, 3, h, w, 1, 1, 'reflect', false);
  conv(`conv 7×7 3→64 @${h}×${w} reflect (stem)`, 3, 64, 7, h, w, 1, 3, 'reflect', false);
  conv(`conv 7×7 6→64 @${h}×${w} reflect (G_A stem)`, 6, 64, 7, h, w, 1, 3, 'reflect', false);
  conv(`conv 7×7 64→3 @${h}×${w} reflect +IN tanh (head)`, 64, 3, 7, h, w, 1, 3, 'reflect', true, 'tanh');
  conv(`conv 3×3 s2 64→128 @${h}×${w} zero +IN (down)`, 64, 128, 3, h, w, 2, 1, 'zero', true);
  conv(`conv 3×3 s2 128→256 @${h2}×${w2} zero +IN (down)`, 128, 256, 3, h2, w2, 2, 1, 'zero', true);
  for (const [cin, cout, hh, ww] of [[256, 128, h4, w4], [128, 64, h2, w2]] as const) {
    const x = input(cin, hh, ww);
    const s = stats(cin);
    const wts = prepareConvTranspose2d(rt, host([cin, cout, 3, 3], 2, 1 / Math.sqrt(cin * 9)), host([cout], 3), 'convT');
    out.push({
      name: `convT 3×3 s2 ${cin}→${cout} @${hh}×${ww} +IN (up)`,
      variant: wts.kernel,
      work: 2 * cin * cout * 9 * hh * ww,
      unit: 'GFLOP/s',
      call: async (rec) => [await convTranspose2d(rec, wts, x, { inputNorm: { stats: s, relu: true } })],
      release: () => { wts.weight.release(); wts.bias?.release(); },
    });
  }
  for (const [c, hh, ww] of [[256, h4, w4], [64, h, w]] as const) {
    const x = input(c, hh, ww);
    const res = input(c, hh, ww);
    // Stats read the map once (two passes over a chunk that stays in cache count once); apply
    // reads x and the residual and writes the result.
    out.push({
      name: `instance norm stats ${c}×${hh}×${ww}`,
      variant: rt.hasSubgroups8 ? 'subgroup' : 'portable',
      work: 4 * c * hh * ww,
      unit: 'GB/s',
      call: async (rec) => [await instanceNormStats(rec, x)],
      release: () => undefined,
    });
    const s = stats(c);
    out.push({
      name: `instance norm apply + residual ${c}×${hh}×${ww}`,
      variant: 'portable',
      work: 3 * 4 * c * hh * ww,
      unit: 'GB/s',
      call: async (rec) => [await instanceNormApply(rec, x, s, { relu: false, residual: res })],
      release: () => undefined,
    });
  }
  {
    let inWidth = 64 * 9 + 36;
    const layers = [256, 256, 256, 3].map((o, k) => {
      const layer = { weight: host([o, inWidth], k, 1 / Math.sqrt(inWidth)), bias: host([o], k + 10, 0.05) };
      inWidth = o;
      return layer;
    });
    const nrn = prepareNrn(rt, layers, 'nrn');
    const feat = input(64, h, w);
    out.push({
      name: `NRN fused conv 3×3 + MLP 64→256→256→256→3 @${h}×${w}`,
      variant: nrnSgApplicable(rt, nrn) ? 'subgroup' : 'portable',
      work: 2 * nrnFastMacsPerPixel(nrn) * h * w,
      unit: 'GFLOP/s',
      call: async (rec) => [await nrnFast(rec, nrn, feat)],
      release: () => releaseNrn(nrn),
    });
  }
  const last = out[out.length - 1]!;
  out[out.length - 1] = { ...last, release: () => { last.release(); for (const t of tensors) t.release(); } };
  return out;
}

export async function kernels(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { size: { type: 'string', default: '64x64' }, runs: { type: 'string', default: '7' }, only: { type: 'string' }, json: { type: 'boolean' } } });
  const m = /^(\d+)x(\d+)$/.exec(values.size!);
  if (!m || Number(m[1]) % 4 || Number(m[2]) % 4) throw new Error('--size must be HxW, multiples of 4');
  const [h, w] = [Number(m[1]), Number(m[2])];
  const runs = Number(values.runs);
  const rt = await Runtime.create();
  const profiler = TimestampProfiler.forRuntime(rt);
  try {
    const peak: PeakResult = await measurePeak(rt, runs);
    const log = (s: string) => { if (!values.json) console.log(s); };
    log(`adapter ${rt.adapterName}; ${h}×${w} input; timer: ${profiler ? 'timestamp-query' : 'wall clock'}; medians of ${runs} warm runs; load average ${loadavg()[0]!.toFixed(1)}`);
    log(`measured peak: FMA ${peak.fma_gflops.toFixed(1)} GFLOP/s (${peak.fma_gflops_per_cpu_second.toFixed(1)} per CPU-s), copy ${peak.copy_gbps.toFixed(2)} GB/s (${peak.copy_gbps_per_cpu_second.toFixed(2)} per CPU-s)`);
    const results: KernelResult[] = [];
    const all = cases(rt, h, w);
    for (const c of all) {
      if (values.only && !c.name.includes(values.only)) continue;
      const t = await timeCase(rt, profiler, c, runs);
      const rate = c.work / t.gpu / 1e6;
      const peakRate = c.unit === 'GFLOP/s' ? peak.fma_gflops : peak.copy_gbps;
      const cpuRate = c.work / t.cpu / 1e6;
      const r: KernelResult = { name: c.name, variant: c.variant, gpu_ms: t.gpu, cpu_ms: t.cpu, rate, unit: c.unit, fraction_of_peak: rate / peakRate };
      results.push(r);
      log(`${c.name.padEnd(52)} ${c.variant.padEnd(9)} ${t.gpu.toFixed(2).padStart(9)} ms ${rate.toFixed(2).padStart(7)} ${c.unit.padEnd(7)} ${(100 * r.fraction_of_peak).toFixed(0).padStart(3)} % of peak | cpu ${t.cpu.toFixed(1).padStart(7)} ms ${cpuRate.toFixed(2).padStart(6)} per CPU-s`);
    }
    for (const c of all) c.release();
    if (values.json) console.log(JSON.stringify({ adapter: rt.adapterName, size: [h, w], peak, results, loadavg: loadavg()[0] }));
  } finally {
    profiler?.destroy();
    rt.destroy();
    releaseNodeGPU();
  }
}
