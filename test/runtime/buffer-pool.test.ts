/**
 * The buffer pool's reuse and trimming rules, on a stand-in device that records what is created
 * and destroyed (no GPU needed): best fit up to twice the request, least-recently-used trimming
 * to the budget, and in-use buffers never touched.
 */
import { describe, expect, it } from 'vitest';
import { LimitError } from '../../src/errors.js';
import { BufferPool, bucketSize } from '../../src/runtime/buffer-pool.js';

interface FakeBuffer { size: number; label: string; destroyed: boolean; destroy(): void }

function fakeDevice(): { device: GPUDevice; created: FakeBuffer[] } {
  const created: FakeBuffer[] = [];
  const device = {
    createBuffer({ size, label }: { size: number; label: string }) {
      const b: FakeBuffer = { size, label, destroyed: false, destroy() { this.destroyed = true; } };
      created.push(b);
      return b;
    },
  } as unknown as GPUDevice;
  return { device, created };
}

const MiB = 1024 * 1024;

describe('BufferPool', () => {
  it('reuses a free buffer up to twice the request, not a larger one', () => {
    const { device, created } = fakeDevice();
    const pool = new BufferPool(device, 1 << 30);
    const big = pool.acquire(4096, 'a');
    pool.release(big);
    expect(pool.acquire(2048, 'b')).toBe(big); // 4096 ≤ 2 × 2048
    pool.release(big);
    const small = pool.acquire(1024, 'c'); // 4096 > 2 × 1024: a new buffer
    expect(small).not.toBe(big);
    expect(created.map((b) => b.size)).toEqual([4096, 1024]);
    // The smallest fitting buffer is chosen.
    pool.release(small);
    expect(pool.acquire(1000, 'd')).toBe(small);
    expect(pool.stats()).toMatchObject({ allocatedBytes: 5120, inUseBytes: 1024, buffers: 2 });
  });

  it('trimToBudget destroys least recently used free buffers down to twice the in-use high water, never in-use ones', () => {
    const { device, created } = fakeDevice();
    const pool = new BufferPool(device, 1 << 30);
    // A "call" with 12 MiB in use: the budget becomes max(16 MiB, 24 MiB) = 24 MiB.
    const call = [pool.acquire(4 * MiB, 'x'), pool.acquire(8 * MiB, 'y')];
    for (const b of call) pool.release(b);
    // Later calls at ever new sizes, one at a time (none of the earlier buffers fits them).
    const sizes = [20, 24, 30, 40].map((m) => bucketSize(m * MiB));
    let held: GPUBuffer | undefined;
    for (const s of sizes) {
      held = pool.acquire(s, `size ${s}`);
      if (s !== sizes[sizes.length - 1]) pool.release(held);
    }
    const before = pool.stats().allocatedBytes;
    expect(before).toBe(12 * MiB + sizes.reduce((a, b) => a + b, 0));
    const freed = pool.trimToBudget();
    const after = pool.stats();
    // High water: the 40 MiB call → budget 80 MiB; the oldest free buffers go first.
    expect(after.allocatedBytes).toBeLessThanOrEqual(2 * 40 * MiB);
    expect(freed).toBe(before - after.allocatedBytes);
    const destroyed = created.filter((b) => b.destroyed).map((b) => b.label);
    expect(destroyed.slice(0, 2)).toEqual([`pool:${4 * MiB} x`, `pool:${8 * MiB} y`]);
    expect((held as unknown as FakeBuffer).destroyed).toBe(false);
    expect(after.inUseBytes).toBe(sizes[sizes.length - 1]);
    // Within budget: nothing more to do.
    expect(pool.trimToBudget()).toBe(0);
  });

  it('keeps everything under the 16 MiB floor (small workloads are not reallocated)', () => {
    const { device, created } = fakeDevice();
    const pool = new BufferPool(device, 1 << 30);
    for (let k = 1; k <= 20; k++) pool.release(pool.acquire(k * 64 * 1024, 'z'));
    expect(pool.trimToBudget()).toBe(0);
    expect(created.some((b) => b.destroyed)).toBe(false);
  });

  it('refuses a buffer over the device limit with a LimitError naming it', () => {
    const { device } = fakeDevice();
    const pool = new BufferPool(device, 1 * MiB);
    expect(() => pool.acquire(2 * MiB, 'huge map')).toThrow(LimitError);
    expect(() => pool.acquire(2 * MiB, 'huge map')).toThrow(/huge map: .*maxStorageBufferBindingSize/);
  });
});
