/**
 * The model in a long-running app: device loss, GPU validation errors, limits, concurrent
 * callers and memory over many calls. Uses the small random NeRCo (test/helpers/tiny-model.ts).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { DeviceLostError, GpuKernelError, InvalidArgumentError, LimitError, NercoError } from '../../src/errors.js';
import { readTexturePixels } from '../../src/browser/index.js';
import { unary } from '../../src/kernels/unary.js';
import { loadNeRCo } from '../../src/nerco/load.js';
import type { NeRCoModel } from '../../src/nerco/model.js';
import { fakeBToRGB8 } from '../../src/nerco/postprocess.js';
import { prepareInput } from '../../src/nerco/preprocess.js';
import { BufferUsage } from '../../src/runtime/gpu-constants.js';
import { releaseNodeGPU } from '../../src/runtime/device.js';
import { kernelFromMessage, Runtime } from '../../src/runtime/runtime.js';
import { GpuTensor } from '../../src/runtime/tensor.js';
import { nercoForwardCPU } from '../reference/nerco.js';
import { makeRng } from '../helpers/random.js';
import { readRGBA8, uploadRGBA8 } from '../helpers/texture.js';
import { tinyWeights, tinyWeightsBytes } from '../helpers/tiny-model.js';

const SEED = 5;
const models: NeRCoModel[] = [];

async function newModel(source: Parameters<typeof loadNeRCo>[0] = tinyWeights(SEED)): Promise<NeRCoModel> {
  const m = await loadNeRCo(source);
  models.push(m);
  return m;
}

afterAll(() => {
  for (const m of models) m.destroy();
  releaseNodeGPU();
});

function randomRGBA(w: number, h: number, seed: number): Uint8Array {
  const rng = makeRng(seed);
  return Uint8Array.from({ length: w * h * 4 }, () => Math.floor(rng() * 140));
}

/** What enhance(texture) should give (NERCO.md §1/§3/§8 with reflect padding, nearest rounding), as RGB. */
function cpuReference(rgba: Uint8Array, w: number, h: number): Uint8Array {
  const rgb = Uint8Array.from({ length: w * h * 3 }, (_, i) => rgba[4 * Math.floor(i / 3) + (i % 3)]!);
  const input = prepareInput(rgb, w, h, 'pad');
  const wt = tinyWeights(SEED);
  const { fakeB } = nercoForwardCPU({ ga: wt.ga.tensors, pre: wt.pre.tensors, h: wt.h.tensors }, input.chw, input.netH, input.netW);
  return fakeBToRGB8(fakeB, input.netW, input.netH, 'nearest', input.crop);
}

/** Max |difference| between an RGBA texture's RGB and an RGB reference (GPU vs CPU: ±1 at rounding boundaries). */
function maxRGBDiff(rgba: Uint8Array, rgb: Uint8Array): number {
  let m = 0;
  for (let i = 0; i < rgb.length; i++) m = Math.max(m, Math.abs(rgba[4 * Math.floor(i / 3) + (i % 3)]! - rgb[i]!));
  return m;
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

describe('device loss', () => {
  it('after device.destroy(), calls fail with DeviceLostError; a new model then works and is correct', async () => {
    const model = await newModel();
    const [w, h] = [9, 7];
    const rgba = randomRGBA(w, h, 1);
    const tex = uploadRGBA8(model.device, w, h, rgba);
    // In flight when the device goes: called, then the device is destroyed before it runs.
    const inFlight = model.enhance(tex);
    model.device.destroy();
    for (const p of [inFlight, model.enhance(tex), model.runCHW(new Float32Array(3 * 64), 8, 8)]) {
      const err = await rejection(p);
      expect(err).toBeInstanceOf(DeviceLostError);
      expect((err as NercoError).code).toBe('DEVICE_LOST');
      expect(err.message).toMatch(/create a new model/);
    }
    // Reading a texture back through the lost model says the same, not a validation error.
    expect(await rejection(readTexturePixels(model, tex))).toBeInstanceOf(DeviceLostError);
    model.destroy(); // still safe

    const fresh = await newModel(tinyWeightsBytes(SEED));
    const tex2 = uploadRGBA8(fresh.device, w, h, rgba);
    const out = await fresh.enhance(tex2);
    const got = await readRGBA8(fresh.device, out);
    // GPU vs the float64 CPU reference: bytes may differ by 1 where a value sits on a rounding boundary.
    expect(maxRGBDiff(got, cpuReference(rgba, w, h))).toBeLessThanOrEqual(1);
    out.destroy();
    tex2.destroy();
  });
});

describe('failures leak nothing', () => {
  it('model.destroy() with a call queued: the call fails with DeviceLostError, not an internal error', async () => {
    const model = await newModel();
    const tex = uploadRGBA8(model.device, 9, 7, randomRGBA(9, 7, 2));
    const queued = model.enhance(tex);
    model.destroy();
    const err = await rejection(queued);
    expect(err).toBeInstanceOf(DeviceLostError);
    expect(err.message).toMatch(/this model was destroyed/);
  });

  it('destroyed mid-call: releasing its buffers afterwards is harmless, the error stays DeviceLostError', async () => {
    const owner = await newModel();
    const rt = await Runtime.create({ device: owner.device });
    const held = rt.tensor([64], 'held across the run');
    const err = await rejection((async () => {
      try {
        await rt.run(async () => rt.destroy());
      } finally {
        held.release(); // as the model's finally blocks do
      }
    })());
    expect(err).toBeInstanceOf(DeviceLostError);
    expect(err.message).toMatch(/this model was destroyed/);
  });

  it('a run that throws, or whose GPU work fails, returns to the pool every buffer it took', async () => {
    const model = await newModel();
    const rt = model.runtime;
    const x = rt.upload(Float32Array.from({ length: 64 }, (_, i) => i - 32), [64], 'x');
    const inUse = rt.pool.stats().inUseBytes;
    const thrown = await rejection(rt.run(async () => {
      rt.tensor([1024], 'held when it throws');
      rt.tensor([64], 'another');
      throw new InvalidArgumentError('boom');
    }));
    expect(thrown.message).toBe('boom');
    expect(rt.pool.stats().inUseBytes).toBe(inUse);
    // The recording succeeds and hands back a result, but a dispatch fails on the GPU.
    const gone = rt.tensor([64], 'destroyed output');
    gone.buffer.destroy();
    const failed = await rejection(rt.run(async (rec) => {
      const y = rt.tensor([64], 'result');
      await unary(rec, 'relu', x, gone);
      return y;
    }));
    expect(failed).toBeInstanceOf(GpuKernelError);
    gone.release();
    expect(rt.pool.stats().inUseBytes).toBe(inUse);
    x.release();
  });

  it('destroy() frees the weights of a model on the caller\'s device, which lives on', async () => {
    const owner = await newModel();
    const device = owner.device;
    const rt = await Runtime.create({ device });
    const weight = rt.constant(new Float32Array(64), [64], 'a weight');
    expect(rt.memoryStats().constantBytes).toBe(256);
    rt.destroy();
    expect(rt.memoryStats().constantBytes).toBe(0);
    // The buffer is destroyed: writing to it is a validation error on the still-alive device.
    device.pushErrorScope('validation');
    device.queue.writeBuffer(weight.buffer, 0, new Float32Array(64));
    const error = await device.popErrorScope();
    expect(error?.message).toMatch(/destroyed/i);
  });
});

describe('bad options are typed errors, checked before any GPU work', () => {
  it('enhance: an unknown format or rounding; runCHW: not a Float32Array, an unknown nrn form; nothing left in use', async () => {
    const model = await newModel();
    const tex = uploadRGBA8(model.device, 9, 7, randomRGBA(9, 7, 3));
    const before = model.runtime.pool.stats().inUseBytes;
    const cases: [Promise<unknown>, RegExp][] = [
      [model.enhance(tex, { format: 'rgba16float' as never }), /enhance: format must be rgba8unorm or bgra8unorm, got rgba16float/],
      [model.enhance(tex, { rounding: 'round' as never }), /enhance: rounding must be 'truncate' or 'nearest', got round/],
      [model.runCHW(new Float64Array(3 * 64) as never, 8, 8), /real_A: expected a Float32Array, got Float64Array/],
      [model.runCHW(new Float32Array(3 * 64), 8, 8, { nrn: 'Fast' as never }), /nrn must be 'fast' or 'general', not Fast/],
    ];
    for (const [p, message] of cases) {
      const err = await rejection(p);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err.message).toMatch(message);
    }
    expect(model.runtime.pool.stats().inUseBytes).toBe(before);
    tex.destroy();
    await expect(loadNeRCo(tinyWeights(SEED), { precision: 'fp16' as never })).rejects.toThrow(/precision must be 'f32' or 'f16', not fp16/);
  });

  it('with the caller\'s device: subgroups: false and f16: false hold; adapter choices are refused', async () => {
    const owner = await newModel();
    const device = owner.device;
    expect(device.features.has('subgroups') && device.features.has('shader-f16')).toBe(true);
    const plain = await Runtime.create({ device, subgroups: false, f16: false });
    expect([plain.hasSubgroups8, plain.hasF16]).toEqual([false, false]);
    plain.destroy();
    const err = await rejection(Runtime.create({ device, adapter: 'llvmpipe' }));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toMatch(/with your own device, leave them out/);
  });
});

describe('GPU errors name the kernel', () => {
  it('a dispatch with an invalid binding is a GpuKernelError (GPU_VALIDATION) naming the kernel; the runtime stays usable', async () => {
    const model = await newModel();
    const rt = model.runtime;
    const x = rt.upload(Float32Array.from({ length: 64 }, (_, i) => i - 32), [64], 'x');
    // A buffer without STORAGE usage where the kernel binds a storage buffer.
    const notStorage = rt.device.createBuffer({ label: 'map-read buffer', size: 256, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
    const err = await rejection(rt.run((rec) => unary(rec, 'relu', x, new GpuTensor(notStorage, [64], 'f32', null, 'y'))));
    expect(err).toBeInstanceOf(GpuKernelError);
    expect((err as GpuKernelError).code).toBe('GPU_VALIDATION');
    expect((err as GpuKernelError).kernel).toBe('unary(OP=1) relu');
    expect(err.message.startsWith('unary(OP=1) relu: ')).toBe(true);
    notStorage.destroy();

    // A destroyed buffer is only caught at submit: the error names the tensor it was pooled for.
    const gone = rt.tensor([64], 'destroyed output');
    gone.buffer.destroy();
    const err2 = await rejection(rt.run((rec) => unary(rec, 'relu', x, gone)));
    expect(err2).toBeInstanceOf(GpuKernelError);
    expect((err2 as GpuKernelError).kernel).toMatch(/destroyed output/);

    // Error scopes are balanced: the next run works.
    const y = rt.tensor([64], 'y');
    await rt.run((rec) => unary(rec, 'relu', x, y));
    expect(Array.from(await rt.read(y))).toEqual(Array.from({ length: 64 }, (_, i) => Math.max(0, i - 32)));
    x.release();
    y.release();
  });

  it('a size over the device limits is a LimitError naming maxStorageBufferBindingSize, before anything is allocated', async () => {
    const model = await newModel();
    const before = model.runtime.pool.stats();
    // So wide that not even a few rows of the 16-channel full-resolution map fit one binding.
    const width = 4 * Math.ceil(model.runtime.limits.maxStorageBufferBindingSize / 64 / 4) + 4;
    // real_A is not even looked at: the size check comes first.
    const err = await rejection(model.runCHW(new Float32Array(0), 8, width));
    expect(err).toBeInstanceOf(LimitError);
    expect((err as LimitError).code).toBe('LIMIT_EXCEEDED');
    expect(err.message).toMatch(/maxStorageBufferBindingSize/);
    expect(model.runtime.pool.stats()).toEqual(before);
  });
});

describe('kernelFromMessage', () => {
  it('names the kernel from the labels Dawn quotes, else the tensor a pooled buffer was made for', () => {
    expect(kernelFromMessage('Binding usage of [Buffer "pool:256 x"] does not match.\n - While calling [Device].CreateBindGroup([BindGroupDescriptor "conv2d(K=3,S=2) G_A.model.4"])'))
      .toBe('conv2d(K=3,S=2) G_A.model.4');
    expect(kernelFromMessage('Out of memory: [Buffer "pool:1048576 G_A.model.4 out"] could not be allocated.')).toBe('pool:1048576 G_A.model.4 out');
    expect(kernelFromMessage('no labels at all')).toBe('unknown kernel');
  });
});

describe('many callers, many calls', () => {
  const SIZES: [number, number][] = [[9, 7], [16, 12], [1, 1], [23, 10], [12, 31], [8, 8]];

  it('10 concurrent enhance calls on different inputs equal their sequential results', async () => {
    const model = await newModel();
    const inputs = Array.from({ length: 10 }, (_, i) => {
      const [w, h] = SIZES[i % SIZES.length]!;
      return uploadRGBA8(model.device, w, h, randomRGBA(w, h, 100 + i));
    });
    const sequential: Uint8Array[] = [];
    for (const tex of inputs) {
      const out = await model.enhance(tex);
      sequential.push(await readRGBA8(model.device, out));
      out.destroy();
    }
    const outs = await Promise.all(inputs.map((tex) => model.enhance(tex)));
    for (let i = 0; i < outs.length; i++) {
      expect(await readRGBA8(model.device, outs[i]!), `input ${i}`).toEqual(sequential[i]);
      outs[i]!.destroy();
    }
    // And the sequential results are right (two of them checked against the CPU reference).
    for (const i of [0, 3]) {
      const [w, h] = SIZES[i]!;
      expect(maxRGBDiff(sequential[i]!, cpuReference(randomRGBA(w, h, 100 + i), w, h))).toBeLessThanOrEqual(1);
    }
    for (const t of inputs) t.destroy();
  });

  it('soak: 60 calls over 6 sizes; pooled memory, uniforms and pipelines identical after the first round', async () => {
    const model = await newModel();
    const rt = model.runtime;
    const inputs = SIZES.map(([w, h], i) => uploadRGBA8(model.device, w, h, randomRGBA(w, h, 200 + i)));
    const snapshots: { pool: number; buffers: number; inUse: number; uniforms: number; pipelines: number }[] = [];
    for (let call = 0; call < 60; call++) {
      const out = await model.enhance(inputs[call % inputs.length]!);
      out.destroy();
      const p = rt.pool.stats();
      snapshots.push({ pool: p.allocatedBytes, buffers: p.buffers, inUse: p.inUseBytes, uniforms: rt.uniforms.bytes, pipelines: rt.pipelines.size });
    }
    const afterWarmUp = snapshots.slice(SIZES.length);
    console.log(`soak (tiny model): pool ${afterWarmUp[0]!.pool} B in ${afterWarmUp[0]!.buffers} buffers, uniforms ${afterWarmUp[0]!.uniforms} B, ${afterWarmUp[0]!.pipelines} pipelines after the first round`);
    for (const s of afterWarmUp) expect(s).toEqual(afterWarmUp[0]);
    // Nothing pooled stays in use between calls.
    for (const s of snapshots) expect(s.inUse).toBe(0);
    for (const t of inputs) t.destroy();
  });
});
