import { afterAll } from 'vitest';
import { Runtime } from '../../src/runtime/runtime.js';
import { releaseNodeGPU } from '../../src/runtime/device.js';

let shared: Promise<Runtime> | null = null;

/** One runtime per test file (vitest isolates files), destroyed after the file's tests. */
export function testRuntime(): Promise<Runtime> {
  if (!shared) {
    shared = Runtime.create();
    afterAll(async () => {
      const rt = await shared!;
      rt.destroy();
      shared = null;
      releaseNodeGPU();
    });
  }
  return shared;
}

/** Max |a-b| over all elements. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}
