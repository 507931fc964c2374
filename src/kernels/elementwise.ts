import { InvalidArgumentError } from '../errors.js';
import type { Recorder } from '../runtime/recorder.js';
import type { GpuTensor } from '../runtime/tensor.js';
import { planeGrid } from './plane-grid.js';
import { requireSameShape, shape3 } from './tensor-checks.js';

const WG = 256;

/** y = a + b for two tensors of the same shape (any rank). Returns a new tensor. */
export async function add(rec: Recorder, a: GpuTensor, b: GpuTensor, label = 'add'): Promise<GpuTensor> {
  requireSameShape(a, b, label);
  if (a.dtype !== 'f32' || b.dtype !== 'f32') throw new InvalidArgumentError(`${label}: add takes f32 tensors, got ${a.dtype} and ${b.dtype}`);
  const k = await rec.kernel({ shader: 'binary', defines: { OP: 0, B_BROADCAST: false } });
  const y = rec.runtime.tensor(a.shape, label);
  const { workgroups, pitch } = planeGrid(a.size, 1, WG);
  rec.dispatch(k, { label, bindings: { a, b, y }, uniforms: { plane: a.size, pitch }, workgroups });
  return y;
}

/** y[c] = x[c] · m[0] for x [C, H, W] and a one-channel map m [1, H, W]. Returns a new tensor. */
export async function mulBroadcast(rec: Recorder, x: GpuTensor, m: GpuTensor, label = 'mulBroadcast'): Promise<GpuTensor> {
  const [c, h, w] = shape3(x, label);
  const [mc, mh, mw] = shape3(m, label);
  if (mc !== 1 || mh !== h || mw !== w) throw new InvalidArgumentError(`${label}: map ${m.label} is [${m.shape.join(', ')}], expected [1, ${h}, ${w}]`);
  const k = await rec.kernel({ shader: 'binary', defines: { OP: 1, B_BROADCAST: true } });
  const y = rec.runtime.tensor(x.shape, label);
  const { workgroups, pitch } = planeGrid(h * w, c, WG);
  rec.dispatch(k, { label, bindings: { a: x, b: m, y }, uniforms: { plane: h * w, pitch }, workgroups });
  return y;
}

/**
 * Concatenation of [Ci, H, W] tensors along the channel axis. With N = 1 and NCHW this is the
 * buffers end to end, so it is recorded as buffer copies (no shader).
 */
export async function concatChannels(rec: Recorder, tensors: readonly GpuTensor[], label = 'concatChannels'): Promise<GpuTensor> {
  if (tensors.length === 0) throw new InvalidArgumentError(`${label}: nothing to concatenate`);
  const [, h, w] = shape3(tensors[0]!, label);
  let channels = 0;
  for (const t of tensors) {
    const [c, th, tw] = shape3(t, label);
    if (th !== h || tw !== w) throw new InvalidArgumentError(`${label}: ${t.label} is [${t.shape.join(', ')}]; every input must be ?×${h}×${w}`);
    channels += c;
  }
  const y = rec.runtime.tensor([channels, h, w], label);
  let offset = 0;
  for (const t of tensors) {
    rec.encoder.copyBufferToBuffer(t.buffer, 0, y.buffer, offset, t.byteLength);
    offset += t.byteLength;
  }
  return y;
}

/**
 * NeRCo's g_in = cat(a, b; channels) · mask in one pass (NERCO.md §1): a [Ca, H, W] (real_A),
 * b [Cb, H, W] (pre_A), mask [1, H, W] → [Ca + Cb, H, W].
 */
export async function maskedConcat(rec: Recorder, a: GpuTensor, b: GpuTensor, mask: GpuTensor, label = 'maskedConcat'): Promise<GpuTensor> {
  const [ca, h, w] = shape3(a, label);
  const [cb, bh, bw] = shape3(b, label);
  const [mc, mh, mw] = shape3(mask, label);
  if (bh !== h || bw !== w) throw new InvalidArgumentError(`${label}: ${b.label} is [${b.shape.join(', ')}], expected ?×${h}×${w}`);
  if (mc !== 1 || mh !== h || mw !== w) throw new InvalidArgumentError(`${label}: mask ${mask.label} is [${mask.shape.join(', ')}], expected [1, ${h}, ${w}]`);
  const k = await rec.kernel({ shader: 'masked_concat' });
  const y = rec.runtime.tensor([ca + cb, h, w], label);
  const plane = h * w;
  const { workgroups, pitch } = planeGrid(plane, ca + cb, WG);
  rec.dispatch(k, { label, bindings: { a, b, mask, y }, uniforms: { plane, pitch, channels_a: ca }, workgroups });
  return y;
}
