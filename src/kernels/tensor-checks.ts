import { InvalidArgumentError } from '../errors.js';
import type { GpuTensor } from '../runtime/tensor.js';

/** [C, H, W] of a tensor that must be 3-D with positive integer sizes. */
export function shape3(t: GpuTensor, what: string): [number, number, number] {
  const s = t.shape;
  if (s.length !== 3 || !s.every((d) => Number.isInteger(d) && d > 0)) {
    throw new InvalidArgumentError(`${what}: expected a [C, H, W] tensor, ${t.label} is [${s.join(', ')}]`);
  }
  if (t.dtype !== 'f32') throw new InvalidArgumentError(`${what}: ${t.label} is ${t.dtype}; this kernel takes f32`);
  return [s[0]!, s[1]!, s[2]!];
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function requireSameShape(a: GpuTensor, b: GpuTensor, what: string): void {
  if (!sameShape(a.shape, b.shape)) {
    throw new InvalidArgumentError(`${what}: ${a.label} [${a.shape.join(', ')}] and ${b.label} [${b.shape.join(', ')}] differ in shape`);
  }
}
