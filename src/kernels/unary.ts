import type { Recorder } from '../runtime/recorder.js';
import type { GpuTensor } from '../runtime/tensor.js';
import { flatGrid } from './grid.js';

export type UnaryOp = 'identity' | 'relu' | 'tanh' | 'sigmoid';
const OP_CODE: Record<UnaryOp, number> = { identity: 0, relu: 1, tanh: 2, sigmoid: 3 };

/** y = op(x) element-wise; y may be x (in place). */
export async function unary(rec: Recorder, op: UnaryOp, x: GpuTensor, y: GpuTensor, label = op): Promise<void> {
  const k = await rec.kernel({ shader: 'unary', defines: { OP: OP_CODE[op] } });
  const { workgroups, pitch } = flatGrid(x.size, 256);
  rec.dispatch(k, { label, bindings: { x, y }, uniforms: { count: x.size, pitch }, workgroups });
}
