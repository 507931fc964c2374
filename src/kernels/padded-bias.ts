import type { HostTensor } from '../nerco/host-tensor.js';
import type { Runtime } from '../runtime/runtime.js';
import type { GpuTensor } from '../runtime/tensor.js';

/**
 * A conv's bias as a GPU constant of `length` ≥ Cout values, zero past Cout: the conv kernels read
 * whole vec4 (or wider) channel blocks, so the buffer must cover the padded channel count.
 */
export function paddedBiasConstant(rt: Runtime, bias: HostTensor | null | undefined, cout: number, length: number, label: string): GpuTensor | null {
  if (!bias) return null;
  const b = new Float32Array(length);
  b.set(bias.data.subarray(0, cout));
  return rt.constant(b, [length], `${label}.bias`);
}
