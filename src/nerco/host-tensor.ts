/** A tensor in host memory, as read from a checkpoint (always widened to float32 on load). */
export interface HostTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
  /** The dtype the tensor had in its file; data is always float32. */
  readonly sourceDtype: 'float32' | 'float16' | 'bfloat16';
}

/** name → tensor, in file order. */
export type StateDict = Map<string, HostTensor>;

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
