import { InvalidArgumentError } from '../errors.js';
import type { Recorder } from '../runtime/recorder.js';
import type { GpuTensor } from '../runtime/tensor.js';
import { planeGrid } from './plane-grid.js';
import { requireSameShape, sameShape, shape3 } from './tensor-checks.js';
import { shape3F16 } from './instance-norm-f16.js';

/** InstanceNorm2d's eps (NERCO.md §7.5). */
export const INSTANCE_NORM_EPS = 1e-5;

/** Invocations per workgroup of the two statistics shaders (their `WG`). */
const STATS_WG = 64;
/**
 * Elements one statistics workgroup reduces (256 per invocation). Planes up to this size take a
 * single dispatch; larger ones are split into chunks across workgroups and merged by a second,
 * tiny pass, so that a 1920×1080 plane keeps every core (or SM) busy instead of one workgroup per
 * channel. On lavapipe 16384 was no slower than 4096 (fewer barriers per element); a GPU still gets
 * 8k workgroups for 64 channels at 1080p.
 */
export const DEFAULT_STATS_CHUNK = 16384;

export interface InstanceNormStatsOptions {
  /** Elements per workgroup in the first pass (a positive multiple of 64). Tests lower it. */
  chunk?: number;
}

/**
 * Per-channel statistics of a [C, H, W] tensor for InstanceNorm (biased variance, eps 1e-5, no
 * affine): returns [C, 2] f32 holding (mean, invStd = 1/sqrt(var + 1e-5)). Numerically stable:
 * each chunk is reduced two-pass and chunks are combined with Chan's parallel formula.
 */
export async function instanceNormStats(rec: Recorder, x: GpuTensor, label = 'instanceNorm.stats', opts: InstanceNormStatsOptions = {}): Promise<GpuTensor> {
  // f16: a channel-pair packed map (the f16 path's ResBlock intermediates).
  const [c, h, w] = x.dtype === 'f16' ? shape3F16(x, label) : shape3(x, label);
  const plane = h * w;
  const chunk = opts.chunk ?? DEFAULT_STATS_CHUNK;
  if (!Number.isInteger(chunk) || chunk <= 0 || chunk % STATS_WG !== 0) {
    throw new InvalidArgumentError(`${label}: chunk must be a positive multiple of ${STATS_WG}, got ${chunk}`);
  }
  const chunks = Math.ceil(plane / chunk);
  const uniforms = { plane, chunk, chunks, eps: INSTANCE_NORM_EPS };
  if (x.dtype === 'f16' && !(chunks === 1 && rec.runtime.hasSubgroups8)) {
    throw new InvalidArgumentError(`${label}: statistics of an f16 tensor need subgroups and a plane of at most ${chunk} elements`);
  }
  const stats = rec.runtime.tensor([c, 2], label);
  if (chunks === 1 && rec.runtime.hasSubgroups8) {
    // One group of 8 lanes per channel with subgroup sums: no barriers, no workgroup memory.
    const k = await rec.kernel({ shader: 'instance_norm_stats_sg', subgroups: true, defines: { F16: x.dtype === 'f16' } });
    rec.dispatch(k, { label, bindings: { x, out: stats }, uniforms: { plane, eps: INSTANCE_NORM_EPS }, workgroups: [1, c] });
    return stats;
  }
  if (chunks === 1) {
    const k = await rec.kernel({ shader: 'instance_norm_stats', defines: { FINALIZE: true } });
    rec.dispatch(k, { label, bindings: { x, out: stats }, uniforms: { ...uniforms, partBase: 0 }, workgroups: [1, c] });
    return stats;
  }
  const [partialK, mergeK] = await Promise.all([
    rec.kernel({ shader: 'instance_norm_stats', defines: { FINALIZE: false } }),
    rec.kernel({ shader: 'instance_norm_merge' }),
  ]);
  const partials = rec.runtime.tensor([c, chunks, 2], `${label} partials`);
  rec.dispatch(partialK, { label, bindings: { x, out: partials }, uniforms: { ...uniforms, partBase: 0 }, workgroups: [chunks, c] });
  rec.dispatch(mergeK, { label: `${label} merge`, bindings: { partials, stats }, uniforms: { ...uniforms, bandPlane: plane, bandChunks: chunks }, workgroups: [c] });
  // Safe while recording: later users of the pooled buffer are ordered after the merge pass.
  partials.release();
  return stats;
}

/**
 * instanceNormStats over a [C, H, W] tensor split into row bands [C, rows_b, W] (top to bottom;
 * every band but the last has the same number of rows, as src/nerco/banded.ts makes them). Each
 * band is reduced in chunks into one partials buffer, and one merge over all of them gives the
 * statistics of the whole image, exactly as if it were one tensor (the same Chan merges).
 */
export async function instanceNormStatsBanded(rec: Recorder, bands: readonly GpuTensor[], label = 'instanceNorm.stats', opts: InstanceNormStatsOptions = {}): Promise<GpuTensor> {
  if (bands.length === 0) throw new InvalidArgumentError(`${label}: no bands`);
  const [c, rows0, w] = shape3(bands[0]!, label);
  let plane = 0;
  bands.forEach((b, i) => {
    const [bc, rows, bw] = shape3(b, label);
    if (bc !== c || bw !== w || (i < bands.length - 1 && rows !== rows0) || rows > rows0) {
      throw new InvalidArgumentError(`${label}: band ${i} is [${b.shape.join(', ')}]; bands must be [${c}, ${rows0}, ${w}] (the last may be shorter)`);
    }
    plane += rows * w;
  });
  const chunk = opts.chunk ?? DEFAULT_STATS_CHUNK;
  if (!Number.isInteger(chunk) || chunk <= 0 || chunk % STATS_WG !== 0) {
    throw new InvalidArgumentError(`${label}: chunk must be a positive multiple of ${STATS_WG}, got ${chunk}`);
  }
  const bandPlane = rows0 * w;
  const bandChunks = Math.ceil(bandPlane / chunk);
  const chunksOf = bands.map((b) => Math.ceil((b.shape[1]! * w) / chunk));
  const chunks = chunksOf.reduce((a, b) => a + b, 0);
  const [partialK, mergeK] = await Promise.all([
    rec.kernel({ shader: 'instance_norm_stats', defines: { FINALIZE: false } }),
    rec.kernel({ shader: 'instance_norm_merge' }),
  ]);
  const stats = rec.runtime.tensor([c, 2], label);
  const partials = rec.runtime.tensor([c, chunks, 2], `${label} partials`);
  let partBase = 0;
  bands.forEach((x, i) => {
    const uniforms = { plane: x.shape[1]! * w, chunk, chunks, eps: INSTANCE_NORM_EPS, partBase };
    rec.dispatch(partialK, { label: `${label} band ${i}`, bindings: { x, out: partials }, uniforms, workgroups: [chunksOf[i]!, c] });
    partBase += chunksOf[i]!;
  });
  rec.dispatch(mergeK, {
    label: `${label} merge`,
    bindings: { partials, stats },
    uniforms: { plane, chunk, chunks, eps: INSTANCE_NORM_EPS, bandPlane, bandChunks },
    workgroups: [c],
  });
  partials.release();
  return stats;
}

export interface InstanceNormApplyOptions {
  relu: boolean;
  /** Added after the (optional) ReLU: a ResBlock's skip connection. */
  residual?: GpuTensor;
  /** Where to write; may be `x` itself (in place) or `residual`. Default: a new tensor. */
  output?: GpuTensor;
}

/**
 * y = [ReLU]((x − mean) · invStd) [+ residual] with `stats` from instanceNormStats. Returns the
 * output tensor (opts.output when given).
 */
export async function instanceNormApply(rec: Recorder, x: GpuTensor, stats: GpuTensor, opts: InstanceNormApplyOptions, label = 'instanceNorm.apply'): Promise<GpuTensor> {
  const [c, h, w] = shape3(x, label);
  if (!sameShape(stats.shape, [c, 2])) throw new InvalidArgumentError(`${label}: stats ${stats.label} is [${stats.shape.join(', ')}], expected [${c}, 2]`);
  const { residual, output } = opts;
  if (residual) requireSameShape(x, residual, label);
  if (output) requireSameShape(x, output, label);
  const y = output ?? rec.runtime.tensor(x.shape, label);
  // One buffer cannot be bound read-only and read-write in one dispatch: read aliased operands
  // through `y` (or `x`), and bind the never-read bindings to `stats` (read-only, like them).
  const xSrc = x.buffer === y.buffer ? 1 : 0;
  let resSrc = 0;
  if (residual) resSrc = residual.buffer === y.buffer ? 3 : residual.buffer === x.buffer ? 2 : 1;
  const k = await rec.kernel({ shader: 'instance_norm_apply', defines: { X_SRC: xSrc, RES_SRC: resSrc, RELU: opts.relu } });
  const plane = h * w;
  const { workgroups, pitch } = planeGrid(plane, c, 256);
  rec.dispatch(k, {
    label,
    bindings: { stats, x: xSrc === 1 ? stats : x, residual: resSrc === 1 ? residual! : stats, y },
    uniforms: { plane, pitch },
    workgroups,
  });
  return y;
}
