/**
 * The f16 storage path against f32, alternating in one process on one device:
 *   npm run bench -- f16 [--size 64x64] [--runs 7] [--json]
 * Warm whole passes (upload excluded, GPU finished), medians, and the max/mean abs difference of
 * fake_B between the two (the error against the PyTorch fixtures is test/nerco/f16.test.ts').
 * Needs a device with shader-f16 and subgroups (else the 'f16' model falls back to f32 and this
 * says so).
 */
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { resolveWeights } from '../src/nerco/load.js';
import { prepareNeRCo, recordForward, type NeRCoGpuWeights } from '../src/nerco/forward.js';
import { Runtime } from '../src/runtime/runtime.js';
import type { GpuTensor } from '../src/runtime/tensor.js';

const FIXTURE_WEIGHTS = fileURLToPath(new URL('../../shared/fixtures/nerco-random/weights', import.meta.url));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export async function f16(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { size: { type: 'string', default: '64x64' }, runs: { type: 'string', default: '7' }, json: { type: 'boolean' } } });
  const m = /^(\d+)x(\d+)$/.exec(values.size!);
  if (!m) throw new Error('--size must be HxW');
  const [h, w] = [Number(m[1]), Number(m[2])];
  const weights = await resolveWeights(existsSync(FIXTURE_WEIGHTS) ? FIXTURE_WEIGHTS : undefined);
  const rt = await Runtime.create();
  try {
    const nets: Record<'f32' | 'f16', NeRCoGpuWeights> = { f32: prepareNeRCo(rt, weights, { precision: 'f32' }), f16: prepareNeRCo(rt, weights, { precision: 'f16' }) };
    const input = new Float32Array(3 * h * w);
    for (let i = 0; i < input.length; i++) input[i] = Math.sin(i * 0.37) * 0.8 - 0.1;
    const realA = rt.upload(input, [3, h, w], 'real_A');
    const outputs: Partial<Record<'f32' | 'f16', Float32Array>> = {};
    const times: Record<'f32' | 'f16', number[]> = { f32: [], f16: [] };
    const once = async (p: 'f32' | 'f16', keep: boolean): Promise<void> => {
      const t0 = performance.now();
      const out: GpuTensor = (await rt.run((rec) => recordForward(rec, nets[p], realA))).fakeB;
      await rt.device.queue.onSubmittedWorkDone();
      if (keep) times[p].push(performance.now() - t0);
      if (!outputs[p]) outputs[p] = await rt.read(out);
      out.release();
    };
    for (const p of ['f32', 'f16'] as const) await once(p, false);
    for (let r = 0; r < Number(values.runs); r++) for (const p of ['f32', 'f16'] as const) await once(p, true);
    realA.release();
    const a = outputs.f32!;
    const b = outputs.f16!;
    let max = 0;
    let sum = 0;
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs(a[i]! - b[i]!);
      max = Math.max(max, d);
      sum += d;
    }
    const result = {
      adapter: rt.adapterName,
      size: [h, w],
      f16_in_effect: nets.f16.precision === 'f16',
      f32_ms: median(times.f32),
      f16_ms: median(times.f16),
      speedup: median(times.f32) / median(times.f16),
      fake_b_max_abs_diff: max,
      fake_b_mean_abs_diff: sum / a.length,
      runs: times,
      loadavg: loadavg()[0],
    };
    if (!values.json) {
      console.log(`adapter ${rt.adapterName}; ${h}×${w}; load average ${result.loadavg!.toFixed(1)}; f16 ${result.f16_in_effect ? 'in effect' : 'NOT available (ran f32)'}`);
      console.log(`warm median f32 ${result.f32_ms.toFixed(1)} ms, f16 ${result.f16_ms.toFixed(1)} ms: ${result.speedup.toFixed(2)}×; fake_B f16 vs f32 max abs ${max.toExponential(2)}, mean ${result.fake_b_mean_abs_diff.toExponential(2)}`);
    }
    console.log(JSON.stringify(result));
  } finally {
    rt.destroy();
  }
}
