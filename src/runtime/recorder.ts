import { GpuKernelError, InvalidArgumentError } from '../errors.js';
import { packUniforms } from './reflection.js';
import type { CompiledKernel, KernelSource } from './pipeline-cache.js';
import type { Runtime } from './runtime.js';
import { GpuTensor } from './tensor.js';

export type Workgroups = readonly [number, number?, number?];

export interface Dispatch {
  /** Names the kernel in errors and GPU debug labels, e.g. "conv2d G_A.model.4". */
  readonly label: string;
  /** Storage bindings by WGSL variable name. */
  readonly bindings: Readonly<Record<string, GpuTensor | GPUBuffer>>;
  /** Values for the members of the shader's uniform struct, by member name. */
  readonly uniforms?: Readonly<Record<string, number | readonly number[]>>;
  readonly workgroups: Workgroups;
}

/**
 * Records dispatches into one command encoder (the runtime's own, or a caller's). Each dispatch
 * gets its own compute pass labelled with the kernel, so a validation error names it. Nothing is
 * submitted here: `Runtime.run` (or the caller) does that.
 */
export class Recorder {
  constructor(readonly runtime: Runtime, readonly encoder: GPUCommandEncoder) {}

  kernel(src: KernelSource): Promise<CompiledKernel> {
    return this.runtime.pipelines.prepare(src);
  }

  dispatch(kernel: CompiledKernel, d: Dispatch): void {
    const device = this.runtime.device;
    const label = `${kernel.key} ${d.label}`;
    const maxWg = this.runtime.limits.maxComputeWorkgroupsPerDimension;
    const [x, y = 1, z = 1] = d.workgroups;
    for (const n of [x, y, z]) {
      if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${label}: bad workgroup count ${n}`);
      if (n > maxWg) throw new GpuKernelError('GPU_VALIDATION', label, `needs ${n} workgroups in one dimension; the device allows ${maxWg}`);
    }
    if (x === 0 || y === 0 || z === 0) return;
    const entries: GPUBindGroupEntry[] = [];
    for (const b of kernel.reflection.bindings) {
      if (b.kind === 'uniform') {
        const slot = this.runtime.uniforms.allocate(packUniforms(b.uniform!, d.uniforms ?? {}, label));
        entries.push({ binding: b.binding, resource: { buffer: slot.buffer, offset: slot.offset, size: slot.size } });
        continue;
      }
      const t = d.bindings[b.name];
      if (!t) throw new InvalidArgumentError(`${label}: binding ${b.name} not given`);
      if (t instanceof GpuTensor) {
        if (t.isReleased) throw new InvalidArgumentError(`${label}: tensor ${t.label} bound to ${b.name} was already released`);
        entries.push({ binding: b.binding, resource: { buffer: t.buffer } });
      } else entries.push({ binding: b.binding, resource: { buffer: t } });
    }
    const known = new Set(kernel.reflection.bindings.map((b) => b.name));
    for (const name of Object.keys(d.bindings)) {
      if (!known.has(name)) throw new InvalidArgumentError(`${label}: the shader has no binding named ${name}`);
    }
    const bindGroup = device.createBindGroup({ label, layout: kernel.bindGroupLayout, entries });
    const pass = this.encoder.beginComputePass({ label, ...this.runtime.timestampWrites(label) });
    pass.setPipeline(kernel.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    pass.end();
  }
}
