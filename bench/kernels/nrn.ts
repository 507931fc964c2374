// Times the NRN kernels with NeRCo's widths (ngf 64, MLP 612→256→256→256→3) on random weights.
//   node --import tsx bench/kernels/nrn.ts [--runs=5] [--sizes=64,128] [--p=16,4] [--q=16,8] [--tile=64] [--general]
// Block shapes default to the adapter's (16×16 on CPU adapters, 4×16 on GPUs).
// Wall clock per call (record, submit, wait with onSubmittedWorkDone), warm: the first call
// (pipeline compilation, conv-bias upload) is not timed; reports the median of the timed runs in
// ms and GFLOP/s (2 FLOP per MAC, counting the MACs of the form that ran).
import { nrnFast, nrnFastMacsPerPixel, nrnGeneral, nrnGeneralMacsPerPixel, prepareNrn, releaseNrn } from '../../src/kernels/nrn.js';
import type { HostTensor } from '../../src/nerco/host-tensor.js';
import { releaseNodeGPU } from '../../src/runtime/device.js';
import type { Recorder } from '../../src/runtime/recorder.js';
import { Runtime } from '../../src/runtime/runtime.js';
import type { GpuTensor } from '../../src/runtime/tensor.js';

function arg(name: string): string | undefined {
  return process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}
const list = <T>(s: string | undefined, fallback: T[]): (number | T)[] => (s ? s.split(',').map(Number) : fallback);

const RUNS = Number(arg('runs') ?? 5);
const SIZES = list(arg('sizes'), [64, 128]);
const PS = list(arg('p'), [undefined]);
const QS = list(arg('q'), [undefined]);
const TILES = list(arg('tile'), [undefined]);
const GENERAL = process.argv.includes('--general');
const CHANNELS = 64;
const WIDTHS = [256, 256, 256, 3];

function host(shape: number[], seed: number, scale: number): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.sin(i * 0.37 + seed) * scale;
  return { shape, data, sourceDtype: 'float32' };
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Wall clock (what a user sees) and this process's CPU time (lavapipe runs in its threads): on a
 * shared, busy machine the CPU time compares variants more fairly. */
interface Timing {
  readonly wallMs: number;
  readonly cpuMs: number;
}

async function time(rt: Runtime, call: (rec: Recorder) => Promise<GpuTensor>): Promise<Timing> {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r <= RUNS; r++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const out = await rt.run(call);
    await rt.device.queue.onSubmittedWorkDone();
    const c = process.cpuUsage(c0);
    if (r > 0) {
      wall.push(performance.now() - t0);
      cpu.push((c.user + c.system) / 1000);
    }
    out.release();
  }
  return { wallMs: median(wall), cpuMs: median(cpu) };
}

const rt = await Runtime.create();
console.log(`adapter: ${rt.adapterName}; ${RUNS} timed runs, warm, medians`);
let inWidth = CHANNELS * 9 + 36;
const layers = WIDTHS.map((out, k) => {
  const layer = { weight: host([out, inWidth], k, 1 / Math.sqrt(inWidth)), bias: host([out], k + 10, 0.05) };
  inWidth = out;
  return layer;
});

function report(name: string, size: number, t: Timing, macsPerPixel: number): void {
  const flop = 2 * macsPerPixel * size * size;
  const rate = (ms: number): string => (flop / (ms * 1e6)).toFixed(2).padStart(7);
  console.log(`${name.padEnd(30)} ${`${size}×${size}`.padStart(9)}  wall ${t.wallMs.toFixed(1).padStart(8)} ms ${rate(t.wallMs)} GFLOP/s | cpu ${t.cpuMs.toFixed(1).padStart(8)} ms ${rate(t.cpuMs)} GFLOP/core-s`);
}

for (const size of SIZES) {
  const feat = rt.upload(host([CHANNELS, size, size], 99, 1).data.map((v) => Math.max(v, 0)), [CHANNELS, size, size], 'feat');
  for (const p of PS) {
    for (const q of QS) {
      for (const tile of TILES) {
        const w = prepareNrn(rt, layers, 'bench', { p, q, tile });
        const l = w.fastLayout;
        const t = await time(rt, (rec) => nrnFast(rec, w, feat));
        report(`fast ${l.p}×${l.q} tile=${l.tile} groups=${l.groups}`, size, t, nrnFastMacsPerPixel(w));
        releaseNrn(w);
      }
    }
  }
  if (GENERAL) {
    const w = prepareNrn(rt, layers, 'bench');
    const t = await time(rt, (rec) => nrnGeneral(rec, w, feat));
    report('general', size, t, nrnGeneralMacsPerPixel(w));
    releaseNrn(w);
  }
  feat.release();
}
rt.destroy();
releaseNodeGPU();
