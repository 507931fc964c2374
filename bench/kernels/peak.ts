/**
 * The adapter's measured peaks, the yardstick of the kernel benchmarks' "fraction of peak":
 *   npm run bench -- peak [--runs 7] [--json]
 * - FMA throughput: every invocation runs a long chain of independent vec4 fma()s on registers
 *   (no memory traffic), counted as 2 FLOP per lane per fma.
 * - Copy bandwidth: a 64 MiB vec4 buffer-to-buffer copy in a shader (read + write bytes counted).
 * Each is timed with GPU timestamps when the device has them (else wall clock), and with the
 * process's CPU time (lavapipe runs the shader on this process's threads): on a shared machine the
 * CPU rate per core is the steadier figure. Medians over warm runs, plus the best run.
 */
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { BufferUsage } from '../../src/runtime/gpu-constants.js';
import { releaseNodeGPU } from '../../src/runtime/device.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { TimestampProfiler } from '../../src/runtime/profiler.js';

const FMA_CHAINS = 8; // independent vec4 accumulators: enough to hide FMA latency on CPUs and GPUs
const FMA_ITERS = 4096;
const FMA_SHADER = `
struct P { iters: u32, m: f32, c: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> out: array<vec4f>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let m = vec4f(p.m);
  let c = vec4f(p.c);
  ${Array.from({ length: FMA_CHAINS }, (_, i) => `var a${i} = vec4f(f32(gid.x) + ${i}.0);`).join('\n  ')}
  for (var i = 0u; i < p.iters; i++) {
    ${Array.from({ length: FMA_CHAINS }, (_, i) => `a${i} = fma(a${i}, m, c);`).join('\n    ')}
  }
  out[gid.x] = ${Array.from({ length: FMA_CHAINS }, (_, i) => `a${i}`).join(' + ')};
}`;

const COPY_SHADER = `
struct P { n: u32, pitch: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> src: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4f>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.y * p.pitch + gid.x;
  if (i < p.n) { dst[i] = src[i]; }
}`;

interface Measured {
  readonly gpu_ms: number;
  readonly cpu_ms: number;
  readonly best_gpu_ms: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timeDispatch(rt: Runtime, profiler: TimestampProfiler | null, pipeline: GPUComputePipeline, bindGroup: GPUBindGroup, workgroups: [number, number], runs: number): Promise<Measured> {
  const device = rt.device;
  const gpu: number[] = [];
  const cpu: number[] = [];
  for (let r = -1; r < runs; r++) {
    const enc = device.createCommandEncoder();
    const tw = profiler?.timestampWrites('peak');
    const pass = enc.beginComputePass(tw ? { timestampWrites: tw } : {});
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(workgroups[0], workgroups[1]);
    pass.end();
    profiler?.resolve(enc);
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
    const c = process.cpuUsage(c0);
    const wall = performance.now() - t0;
    const ts = profiler ? (await profiler.collect())[0]?.ms : undefined;
    if (r < 0) continue; // first run: pipeline warm-up
    gpu.push(ts ?? wall);
    cpu.push((c.user + c.system) / 1000);
  }
  return { gpu_ms: median(gpu), cpu_ms: median(cpu), best_gpu_ms: Math.min(...gpu) };
}

export interface PeakResult {
  readonly adapter: string;
  readonly timer: 'timestamp-query' | 'wall clock';
  /** GFLOP/s over the GPU time (median, best), and per core-second of this process's CPU time. */
  readonly fma_gflops: number;
  readonly fma_gflops_best: number;
  readonly fma_gflops_per_cpu_second: number;
  /** GB/s, read + write bytes. */
  readonly copy_gbps: number;
  readonly copy_gbps_best: number;
  readonly copy_gbps_per_cpu_second: number;
  readonly loadavg: number;
}

export async function measurePeak(rt: Runtime, runs = 7): Promise<PeakResult> {
  const device = rt.device;
  const profiler = TimestampProfiler.forRuntime(rt, 4);
  const mk = (size: number, usage: number) => device.createBuffer({ size, usage });
  try {
    // FMA: enough workgroups to fill every core or SM.
    const fmaGroups = 256;
    const fmaModule = device.createShaderModule({ code: FMA_SHADER });
    const fmaPipe = await device.createComputePipelineAsync({ layout: 'auto', compute: { module: fmaModule, entryPoint: 'main' } });
    const u = mk(16, BufferUsage.UNIFORM | BufferUsage.COPY_DST);
    device.queue.writeBuffer(u, 0, new Float32Array([0, 0.999999, 1e-7, 0]));
    device.queue.writeBuffer(u, 0, new Uint32Array([FMA_ITERS]));
    const fmaOut = mk(fmaGroups * 64 * 16, BufferUsage.STORAGE);
    const fmaBg = device.createBindGroup({ layout: fmaPipe.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: u } }, { binding: 1, resource: { buffer: fmaOut } }] });
    const fma = await timeDispatch(rt, profiler, fmaPipe, fmaBg, [fmaGroups, 1], runs);
    const flops = fmaGroups * 64 * FMA_ITERS * FMA_CHAINS * 4 * 2;

    // Copy: 64 MiB, or what one binding allows.
    const bytes = Math.min(64 * 2 ** 20, rt.limits.maxStorageBufferBindingSize);
    const n = bytes / 16;
    const groups = Math.ceil(n / 64);
    const wx = Math.min(groups, 65535);
    const copyModule = device.createShaderModule({ code: COPY_SHADER });
    const copyPipe = await device.createComputePipelineAsync({ layout: 'auto', compute: { module: copyModule, entryPoint: 'main' } });
    const cu = mk(16, BufferUsage.UNIFORM | BufferUsage.COPY_DST);
    device.queue.writeBuffer(cu, 0, new Uint32Array([n, wx * 64, 0, 0]));
    const src = mk(bytes, BufferUsage.STORAGE);
    const dst = mk(bytes, BufferUsage.STORAGE);
    const copyBg = device.createBindGroup({
      layout: copyPipe.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: cu } }, { binding: 1, resource: { buffer: src } }, { binding: 2, resource: { buffer: dst } }],
    });
    const copy = await timeDispatch(rt, profiler, copyPipe, copyBg, [wx, Math.ceil(groups / wx)], runs);
    for (const b of [u, fmaOut, cu, src, dst]) b.destroy();
    return {
      adapter: rt.adapterName,
      timer: profiler ? 'timestamp-query' : 'wall clock',
      fma_gflops: flops / fma.gpu_ms / 1e6,
      fma_gflops_best: flops / fma.best_gpu_ms / 1e6,
      fma_gflops_per_cpu_second: flops / fma.cpu_ms / 1e6,
      copy_gbps: (2 * bytes) / copy.gpu_ms / 1e6,
      copy_gbps_best: (2 * bytes) / copy.best_gpu_ms / 1e6,
      copy_gbps_per_cpu_second: (2 * bytes) / copy.cpu_ms / 1e6,
      loadavg: loadavg()[0]!,
    };
  } finally {
    profiler?.destroy();
  }
}

export async function peak(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { runs: { type: 'string', default: '7' }, json: { type: 'boolean' } } });
  const rt = await Runtime.create();
  try {
    const r = await measurePeak(rt, Number(values.runs));
    if (!values.json) {
      console.log(`adapter ${r.adapter}; timer: ${r.timer}; load average ${r.loadavg.toFixed(1)}`);
      console.log(`FMA throughput: ${r.fma_gflops.toFixed(1)} GFLOP/s median, ${r.fma_gflops_best.toFixed(1)} best; ${r.fma_gflops_per_cpu_second.toFixed(1)} GFLOP per CPU-second`);
      console.log(`copy bandwidth: ${r.copy_gbps.toFixed(2)} GB/s median, ${r.copy_gbps_best.toFixed(2)} best; ${r.copy_gbps_per_cpu_second.toFixed(2)} GB per CPU-second`);
    }
    console.log(JSON.stringify(r));
  } finally {
    rt.destroy();
    releaseNodeGPU();
  }
}
