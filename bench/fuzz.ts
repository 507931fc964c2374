/**
 * Fuzzes the checkpoint readers with mutated real checkpoints (test/fuzz/checkpoint-fuzzer.ts).
 *
 *   node --import tsx bench/fuzz.ts --count 10000 [--seed N] [--no-big] [--hang-ms 10000]
 *   node --import tsx bench/fuzz.ts --seed N --only I      # replay one input, with its error
 *
 * The inputs run in a worker thread; the main thread watches a shared progress counter and
 * reports an input that does not finish within --hang-ms as a hang (then stops the worker).
 * Exit status 1 when any input ends in anything but success or a NercoError, hangs, or takes
 * 1 s or more.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { parseArgs } from 'node:util';
import { describeInput, feedInput, loadCorpus, makeInput, runOne, summarise, type FuzzResult } from '../test/fuzz/checkpoint-fuzzer.js';

interface Job { count: number; seed: number; big: boolean; progress: SharedArrayBuffer }
type Report = { kind: 'done'; results: FuzzResult[] } | { kind: 'progress'; done: number };

const SLOW_MS = 1000;

function worker(): void {
  const job = workerData as Job;
  const progress = new Int32Array(job.progress);
  const corpus = loadCorpus({ big: job.big });
  const results: FuzzResult[] = [];
  for (let i = 0; i < job.count; i++) {
    // Even: making input i (the fuzzer's own work); odd: the reader is running on it.
    Atomics.store(progress, 0, 2 * i);
    let input;
    try {
      input = makeInput(corpus, job.seed, i);
    } catch (e) {
      throw new Error(`the fuzzer itself failed making input ${i} (replay with --only ${i}): ${(e as Error).message}`, { cause: e });
    }
    Atomics.store(progress, 0, 2 * i + 1);
    const r = feedInput(input);
    // Keep the messages of findings and slow inputs only: 10 000 messages are mostly noise.
    results.push(r.outcome.startsWith('FINDING') || r.ms >= SLOW_MS ? r : { ...r, message: undefined });
    if ((i + 1) % 1000 === 0) parentPort!.postMessage({ kind: 'progress', done: i + 1 } satisfies Report);
  }
  Atomics.store(progress, 0, 2 * job.count);
  parentPort!.postMessage({ kind: 'done', results } satisfies Report);
}

async function supervise(): Promise<number> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '10000' },
      seed: { type: 'string', default: '1' },
      only: { type: 'string' },
      'no-big': { type: 'boolean', default: false },
      'hang-ms': { type: 'string', default: '10000' },
    },
  });
  const seed = Number(values.seed);
  const big = !values['no-big'];
  if (values.only !== undefined) {
    const corpus = loadCorpus({ big });
    const r = runOne(corpus, seed, Number(values.only));
    console.log(JSON.stringify({ ...r, message: undefined }, null, 2));
    if (r.message) console.log(r.message);
    return r.outcome.startsWith('FINDING') ? 1 : 0;
  }

  const count = Number(values.count);
  const hangMs = Number(values['hang-ms']);
  const progress = new SharedArrayBuffer(4);
  const counter = new Int32Array(progress);
  const started = performance.now();
  // A worker does not inherit tsx's loader in Node 20: register it, then load this file.
  const bootstrap = `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))}; register(); await import(${JSON.stringify(import.meta.url)});`;
  const w = new Worker(new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`), { workerData: { count, seed, big, progress } satisfies Job });
  const results = await new Promise<FuzzResult[] | { hang: number }>((resolve, reject) => {
    let last = -1;
    let since = performance.now();
    const watch = setInterval(() => {
      const now = Atomics.load(counter, 0);
      if (now !== last) {
        last = now;
        since = performance.now();
      } else if (now % 2 === 1 && performance.now() - since > hangMs) {
        clearInterval(watch);
        void w.terminate();
        resolve({ hang: (now - 1) / 2 });
      }
    }, 200);
    w.on('message', (m: Report) => {
      if (m.kind === 'progress') console.log(`  ${m.done} / ${count}  (${((performance.now() - started) / 1000).toFixed(0)} s)`);
      else {
        clearInterval(watch);
        resolve(m.results);
      }
    });
    w.on('error', (e) => { clearInterval(watch); reject(e); });
  });
  if (!Array.isArray(results)) {
    console.log(`HANG: input ${results.hang} ran longer than ${hangMs} ms: ${describeInput(loadCorpus({ big }), seed, results.hang)}`);
    console.log(`replay: node --import tsx bench/fuzz.ts --seed ${seed} --only ${results.hang}`);
    return 1;
  }

  const s = summarise(results);
  const slowInputs = results.filter((r) => r.ms >= SLOW_MS);
  console.log(`\nfuzz: ${s.count} inputs, seed ${seed}, ${big ? 'with' : 'without'} the 45 MB checkpoints, ${((performance.now() - started) / 1000).toFixed(1)} s`);
  console.log('outcomes:', Object.entries(s.outcomes).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', '));
  console.log(`time per input (wall): median ${s.medianMs.toFixed(2)} ms, p99 ${s.p99Ms.toFixed(1)} ms, max ${s.maxMs.toFixed(1)} ms; CPU time max ${s.maxCpuMs.toFixed(1)} ms`);
  console.log(`slowest: #${s.slowest.index} ${s.slowest.seed}: ${s.slowest.what} → ${s.slowest.outcome}`);
  const bySeed = new Map<string, { n: number; max: number }>();
  for (const r of results) {
    const e = bySeed.get(r.seed) ?? { n: 0, max: 0 };
    e.n++;
    e.max = Math.max(e.max, r.ms);
    bySeed.set(r.seed, e);
  }
  console.log('per seed file (inputs, max ms):', [...bySeed].map(([k, v]) => `${k} ${v.n}/${v.max.toFixed(0)}`).join(', '));
  for (const f of s.findings.slice(0, 20)) {
    console.log(`\nFINDING #${f.index} ${f.seed}: ${f.what}\n  ${f.outcome}: ${f.message?.split('\n')[0]}\n  replay: node --import tsx bench/fuzz.ts --seed ${seed} --only ${f.index}`);
  }
  for (const r of slowInputs.slice(0, 10)) console.log(`SLOW #${r.index} ${r.seed} ${r.ms.toFixed(0)} ms (CPU ${r.cpuMs.toFixed(0)} ms): ${r.what}`);
  return s.findings.length || slowInputs.length ? 1 : 0;
}

if (isMainThread) process.exitCode = await supervise();
else worker();
