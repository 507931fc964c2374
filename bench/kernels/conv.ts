// Times the conv kernels at NeRCo's shapes for a 64×64 input, for a few register-block shapes.
//   node --import tsx bench/kernels/conv.ts [--runs=5] [--conv=8x1x1,4x1x1] [--convt=8x1,4x2] [--only=substring]
// Tilings: conv PXxPYxCOB (output columns × rows × vec4 output-channel groups per invocation),
// convT QXxCOB (input columns × vec4 groups); "default" is what the library picks by itself.
// Wall clock per call, GPU synchronised with onSubmittedWorkDone after each submit; the first call
// of each variant (pipeline compilation) is not timed. The variants of one shape run interleaved,
// round by round, so that load from other processes drifts over all of them alike.
import { conv2d, conv2dTilingFor, prepareConv2d, type Activation, type Conv2dTiling } from '../../src/kernels/conv2d.js';
import { convTranspose2d, convTranspose2dTilingFor, prepareConvTranspose2d, type ConvTranspose2dTiling } from '../../src/kernels/conv-transpose2d.js';
import type { HostTensor } from '../../src/nerco/host-tensor.js';
import { releaseNodeGPU } from '../../src/runtime/device.js';
import type { Recorder } from '../../src/runtime/recorder.js';
import { Runtime } from '../../src/runtime/runtime.js';
import type { GpuTensor } from '../../src/runtime/tensor.js';

interface ConvShape {
  readonly name: string;
  readonly cin: number;
  readonly cout: number;
  readonly k: number;
  readonly size: number;
  readonly stride: 1 | 2;
  readonly pad: number;
  readonly padMode: 'zero' | 'reflect';
  /** Fused IN+ReLU on the input, as where the layer follows an InstanceNorm in NeRCo. */
  readonly norm: boolean;
  readonly activation?: Activation;
}

interface ConvTShape {
  readonly name: string;
  readonly cin: number;
  readonly cout: number;
  readonly size: number;
}

const CONVS: ConvShape[] = [
  { name: 'res 3×3 256→256 @16×16 reflect1 +IN', cin: 256, cout: 256, k: 3, size: 16, stride: 1, pad: 1, padMode: 'reflect', norm: true },
  { name: 'stem 7×7 3→64 @64×64 reflect3', cin: 3, cout: 64, k: 7, size: 64, stride: 1, pad: 3, padMode: 'reflect', norm: false },
  { name: 'stem 7×7 6→64 @64×64 reflect3', cin: 6, cout: 64, k: 7, size: 64, stride: 1, pad: 3, padMode: 'reflect', norm: false },
  { name: 'head 7×7 64→3 @64×64 reflect3 +IN tanh', cin: 64, cout: 3, k: 7, size: 64, stride: 1, pad: 3, padMode: 'reflect', norm: true, activation: 'tanh' },
  { name: 'down 3×3 s2 64→128 @64×64 zero1 +IN', cin: 64, cout: 128, k: 3, size: 64, stride: 2, pad: 1, padMode: 'zero', norm: true },
  { name: 'down 3×3 s2 128→256 @32×32 zero1 +IN', cin: 128, cout: 256, k: 3, size: 32, stride: 2, pad: 1, padMode: 'zero', norm: true },
];

const CONVTS: ConvTShape[] = [
  { name: 'up convT 256→128 @16×16 +IN', cin: 256, cout: 128, size: 16 },
  { name: 'up convT 128→64 @32×32 +IN', cin: 128, cout: 64, size: 32 },
];

function arg(name: string): string | undefined {
  return process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

/** "default" → undefined (the library's choice); "AxBxC" → numbers. */
function parseTilings<T>(text: string, make: (n: number[]) => T): (T | undefined)[] {
  return text.split(',').map((s) => (s === 'default' ? undefined : make(s.split('x').map(Number))));
}

const RUNS = Number(arg('runs') ?? 5);
const ONLY = arg('only');
const CONV_TILINGS = parseTilings<Conv2dTiling>(arg('conv') ?? 'default,4x1x1,8x1x1,4x2x1,4x1x2', ([px, py, cob]) => ({ px: px!, py: py!, cob: cob! }));
const CONVT_TILINGS = parseTilings<ConvTranspose2dTiling>(arg('convt') ?? 'default,4x1,8x2,2x2', ([qx, cob]) => ({ qx: qx!, cob: cob! }));

function host(shape: number[], seed: number): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.sin(i * 0.37 + seed) * 0.1;
  return { shape, data, sourceDtype: 'float32' };
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * Wall time is what a user sees; on a shared, loaded machine it also counts time the two cores
 * spent on other processes, so the least CPU time of this process over the runs (lavapipe works
 * in its threads) is printed too: it compares block shapes more fairly when the machine is busy.
 */
interface Variant {
  readonly tiling: string;
  readonly call: (rec: Recorder) => Promise<GpuTensor>;
  readonly release: () => void;
  readonly wall: number[];
  readonly cpu: number[];
  /** Wall time of the first call, which includes compiling the pipeline. */
  first?: number;
}

async function runOnce(rt: Runtime, v: Variant, keep: boolean): Promise<void> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const out = await rt.run(v.call);
  await rt.device.queue.onSubmittedWorkDone();
  const c = process.cpuUsage(c0);
  if (keep) {
    v.wall.push(performance.now() - t0);
    v.cpu.push((c.user + c.system) / 1000);
  } else v.first = performance.now() - t0;
  out.release();
}

async function measure(rt: Runtime, name: string, flops: number, variants: Variant[]): Promise<void> {
  for (const v of variants) await runOnce(rt, v, false);
  for (let r = 0; r < RUNS; r++) for (const v of variants) await runOnce(rt, v, true);
  for (const v of variants) {
    const wall = median(v.wall);
    const cpu = Math.min(...v.cpu);
    const rate = (ms: number): string => (flops / ms / 1e6).toFixed(2).padStart(6);
    console.log(`${name.padEnd(40)} ${v.tiling.padEnd(14)} wall ${wall.toFixed(1).padStart(7)} ms ${rate(wall)} GFLOP/s | cpu(min) ${cpu.toFixed(1).padStart(7)} ms ${rate(cpu)} GFLOP/core-s | first call ${(v.first! / 1000).toFixed(1)} s`);
    v.release();
  }
}

async function main(): Promise<void> {
  const rt = await Runtime.create();
  console.log(`adapter: ${rt.adapterName}; wall: median of ${RUNS} warm runs`);
  try {
    for (const s of CONVS) {
      if (ONLY && !s.name.includes(ONLY)) continue;
      const input = rt.upload(host([s.cin, s.size, s.size], 1).data, [s.cin, s.size, s.size], 'x');
      const stats = rt.upload(Float32Array.from({ length: 2 * s.cin }, (_, i) => (i % 2 ? 1.5 : 0.01)), [s.cin, 2], 'stats');
      const ho = Math.floor((s.size + 2 * s.pad - s.k) / s.stride) + 1;
      const variants = CONV_TILINGS.map((tiling): Variant => {
        const w = prepareConv2d(rt, host([s.cout, s.cin, s.k, s.k], 2), host([s.cout], 3), s.name, tiling);
        const opts = { stride: s.stride, pad: s.pad, padMode: s.padMode, activation: s.activation, inputNorm: s.norm ? { stats, relu: true } : undefined };
        const t = conv2dTilingFor(w, s.stride, ho);
        return {
          tiling: `${tiling ? '' : 'default '}${t.px}x${t.py}x${t.cob}`,
          call: (rec) => conv2d(rec, w, input, opts),
          release: () => { w.weight.release(); w.bias?.release(); },
          wall: [],
          cpu: [],
        };
      });
      await measure(rt, s.name, 2 * s.cout * s.cin * s.k * s.k * ho * ho, variants);
      input.release();
      stats.release();
    }
    for (const s of CONVTS) {
      if (ONLY && !s.name.includes(ONLY)) continue;
      const input = rt.upload(host([s.cin, s.size, s.size], 1).data, [s.cin, s.size, s.size], 'x');
      const stats = rt.upload(Float32Array.from({ length: 2 * s.cin }, (_, i) => (i % 2 ? 1.5 : 0.01)), [s.cin, 2], 'stats');
      const variants = CONVT_TILINGS.map((tiling): Variant => {
        const w = prepareConvTranspose2d(rt, host([s.cin, s.cout, 3, 3], 2), host([s.cout], 3), s.name, tiling);
        return {
          tiling: `${tiling ? '' : 'default '}${convTranspose2dTilingFor(w, s.size).qx}x${w.cob}`,
          call: (rec) => convTranspose2d(rec, w, input, { inputNorm: { stats, relu: true } }),
          release: () => { w.weight.release(); w.bias?.release(); },
          wall: [],
          cpu: [],
        };
      });
      // Nominal cost (NERCO.md §9): Cin·Cout·9·Hin·Win MACs.
      await measure(rt, s.name, 2 * s.cin * s.cout * 9 * s.size * s.size, variants);
      input.release();
      stats.release();
    }
  } finally {
    rt.destroy();
    releaseNodeGPU();
  }
}

await main();
