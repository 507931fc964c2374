import { InvalidArgumentError, WeightsMismatchError } from '../errors.js';
import type { HostTensor } from '../nerco/host-tensor.js';
import type { KernelSource } from '../runtime/pipeline-cache.js';
import type { Recorder } from '../runtime/recorder.js';
import type { Runtime } from '../runtime/runtime.js';
import type { GpuTensor } from '../runtime/tensor.js';
import { flatGrid } from './grid.js';

/**
 * The attention head of netH's mask extractor (NERCO.md §5): everything after the 3 ResBlocks.
 * The input is F0 = the un-padded feature map [ngf, H, W]; the spec's F = ReflectionPad2d(3)(F0)
 * is never materialised, the kernels index the reflection instead.
 *
 *   attention_pool        partial sums / maxima of F per channel (reflection multiplicities)
 *   attention_pool_merge  v = [avg(F), max(F)]                   [2·ngf]
 *   attention_chain       ca = conv_ca · fc2 · ReLU(fc1 · v)     [ngf]   (no sigmoid, Q4)
 *   attention_spatial     S0 = [mean_c ca·F0, max_c ca·F0]       [2, H·W rounded up to 4]
 *   attention_mask        mask = sigmoid(conv1 ⋆ RP3(S0))        [1, H, W]
 */
export interface AttentionWeights {
  readonly ngf: number;
  /** Rows of fc1: ngf / 16 in NeRCo's layout. */
  readonly reduced: number;
  /** [R, 2·ngf] */
  readonly fc1: GpuTensor;
  /** [2·ngf, R] */
  readonly fc2: GpuTensor;
  /** [ngf, 2·ngf] */
  readonly convCa: GpuTensor;
  /** [1, 2, 7, 7] */
  readonly conv1: GpuTensor;
  readonly label: string;
}

/** The chain kernel keeps z in a private array of this size (shaders/attention_chain.wgsl). */
const MAX_REDUCED = 64;
/** Rows each lane of attention_pool sums before the workgroup tree (its define ROWS). */
const POOL_ROWS = 64;
/** attention_pool's workgroup covers 256 columns (64 lanes × 4) × POOL_ROWS rows. */
const POOL_TILE_W = 256;
const POOL_TILE_H = POOL_ROWS;
const FLAT_WORKGROUP = 64;
/** ReflectionPad2d(3) needs at least 4 samples per axis (PyTorch requires pad < size). */
const MIN_SIZE = 4;

// Rows start on a vec4 only when the width is a multiple of 4.
function poolKernel(width: number): KernelSource {
  return { shader: 'attention_pool', defines: { ROWS: POOL_ROWS, ALIGNED: width % 4 === 0 } };
}

// Channels start on a vec4 only when the plane size is a multiple of 4.
function spatialKernel(plane: number): KernelSource {
  return { shader: 'attention_spatial', defines: { ALIGNED: plane % 4 === 0 } };
}

function fmt(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Checks a 1×1 conv weight [out, in, 1, 1] (or [out, in]) and returns (out, in). */
function pointwiseShape(t: HostTensor, what: string, label: string): [number, number] {
  const s = t.shape;
  const ok = (s.length === 2 || (s.length === 4 && s[2] === 1 && s[3] === 1)) && s[0]! > 0 && s[1]! > 0;
  if (!ok) throw new WeightsMismatchError(`${label}: ${what} has shape ${fmt(s)}, expected a 1×1 conv [out, in, 1, 1]`);
  return [s[0]!, s[1]!];
}

function expectShape(got: readonly number[], want: readonly number[], what: string, label: string): void {
  if (got.length !== want.length || got.some((v, i) => v !== want[i])) {
    throw new WeightsMismatchError(`${label}: ${what} has shape ${fmt(got)}, expected ${fmt(want)}`);
  }
}

/**
 * Validates netH's attention weights (fc1 [R, 2ngf,1,1], fc2 [2ngf, R,1,1], conv_ca [ngf, 2ngf,1,1],
 * conv1 [1,2,7,7]; no biases) and uploads them. ngf is taken from conv_ca.
 */
export function prepareAttention(
  rt: Runtime,
  t: { fc1: HostTensor; fc2: HostTensor; convCa: HostTensor; conv1: HostTensor },
  label: string,
): AttentionWeights {
  const [ngf, caIn] = pointwiseShape(t.convCa, 'conv_ca', label);
  if (caIn !== 2 * ngf) throw new WeightsMismatchError(`${label}: conv_ca has shape ${fmt(t.convCa.shape)}, expected [ngf, 2·ngf, 1, 1]`);
  const [reduced, fc1In] = pointwiseShape(t.fc1, 'fc1', label);
  if (fc1In !== 2 * ngf) throw new WeightsMismatchError(`${label}: fc1 has shape ${fmt(t.fc1.shape)}, expected [R, ${2 * ngf}, 1, 1]`);
  if (reduced > MAX_REDUCED) throw new WeightsMismatchError(`${label}: fc1 has ${reduced} rows; at most ${MAX_REDUCED} are supported`);
  const fc2 = pointwiseShape(t.fc2, 'fc2', label);
  expectShape(fc2, [2 * ngf, reduced], 'fc2 (without its 1×1 dims)', label);
  expectShape(t.conv1.shape, [1, 2, 7, 7], 'conv1', label);
  for (const [name, h] of Object.entries(t)) {
    const n = h.shape.reduce((a, b) => a * b, 1);
    if (h.data.length !== n) throw new WeightsMismatchError(`${label}: ${name} has ${h.data.length} values for shape ${fmt(h.shape)}`);
  }
  return {
    ngf,
    reduced,
    fc1: rt.constant(t.fc1.data, [reduced, 2 * ngf], `${label}.fc1`),
    fc2: rt.constant(t.fc2.data, [2 * ngf, reduced], `${label}.fc2`),
    convCa: rt.constant(t.convCa.data, [ngf, 2 * ngf], `${label}.conv_ca`),
    conv1: rt.constant(t.conv1.data, [1, 2, 7, 7], `${label}.conv1`),
    label,
  };
}

/** Frees the weight buffers now (tests, benchmarks); Runtime.destroy() frees any still alive. */
export function releaseAttention(w: AttentionWeights): void {
  for (const t of [w.fc1, w.fc2, w.convCa, w.conv1]) t.release();
}

/** [C, H, W] with H, W ≥ 4, readable as vec4s (the pool's buffers always are). */
function checkFeatures(f0: GpuTensor, label: string): [number, number, number] {
  if (f0.shape.length !== 3 || f0.dtype !== 'f32') throw new InvalidArgumentError(`${label}: features must be f32 [C, H, W], got ${f0.dtype} ${fmt(f0.shape)}`);
  const [c, h, w] = f0.shape as [number, number, number];
  if (c < 1 || h < MIN_SIZE || w < MIN_SIZE) {
    throw new InvalidArgumentError(`${label}: features ${fmt(f0.shape)} are smaller than ${MIN_SIZE}×${MIN_SIZE}, the minimum for ReflectionPad2d(3)`);
  }
  // The shaders read F0 as array<vec4f>; a last partial vec4 must still lie inside the buffer.
  if (f0.buffer.size < Math.ceil(f0.size / 4) * 16) {
    throw new InvalidArgumentError(`${label}: buffer of ${f0.label} (${f0.buffer.size} B) must be padded to a multiple of 16 B`);
  }
  return [c, h, w];
}

/**
 * Global average and max pooling of ReflectionPad2d(3)(f0) per channel → [2C] = [avg(C), max(C)].
 * Two passes: per-tile partials, then one workgroup per channel merges them (tree sums).
 */
export async function poolReflectPadded(rec: Recorder, f0: GpuTensor, label = 'attention pool'): Promise<GpuTensor> {
  checkFeatures(f0, label);
  // A whole map is the one-band case: the same partials and merge, with nothing to offset.
  return poolReflectPaddedBanded(rec, [{ tensor: f0, row0: 0 }], label);
}

/** ca = conv_ca · fc2 · ReLU(fc1 · v) from the pooled vector v [2·ngf] → [ngf]. */
export async function channelScale(rec: Recorder, w: AttentionWeights, pooled: GpuTensor, label = 'attention chain'): Promise<GpuTensor> {
  if (pooled.size !== 2 * w.ngf) throw new InvalidArgumentError(`${label}: pooled vector has ${pooled.size} values, expected ${2 * w.ngf}`);
  const k = await rec.kernel({ shader: 'attention_chain' });
  const ca = rec.runtime.tensor([w.ngf], `${label} ca`);
  try {
    rec.dispatch(k, {
      label,
      bindings: { pooled, fc1: w.fc1, fc2: w.fc2, conv_ca: w.convCa, ca },
      uniforms: { channels: w.ngf, reduced: w.reduced },
      workgroups: [Math.ceil(w.ngf / FLAT_WORKGROUP)],
    });
  } catch (e) {
    ca.release();
    throw e;
  }
  return ca;
}

/** Channel stride of the S0 tensor made by spatialStats: H·W rounded up to a multiple of 4. */
export function spatialPlaneStride(h: number, w: number): number {
  return Math.ceil((h * w) / 4) * 4;
}

/**
 * S0 = [mean_c(ca·f0), max_c(ca·f0)] over the un-padded plane → [2, spatialPlaneStride(H, W)]
 * (channel 1 starts at the stride; the padding entries are unspecified).
 */
export async function spatialStats(rec: Recorder, f0: GpuTensor, ca: GpuTensor, label = 'attention spatial'): Promise<GpuTensor> {
  const [c, h, w] = checkFeatures(f0, label);
  return spatialStatsOf(rec, f0, ca, c, h, w, label);
}

// spatialStats without the reflection's minimum size: a row band of the map may be 1 row high.
async function spatialStatsOf(rec: Recorder, f0: GpuTensor, ca: GpuTensor, c: number, h: number, w: number, label: string): Promise<GpuTensor> {
  if (ca.size !== c) throw new InvalidArgumentError(`${label}: ca has ${ca.size} values for ${c} channels`);
  const plane = h * w;
  const stride = spatialPlaneStride(h, w);
  const quads = stride / 4;
  const k = await rec.kernel(spatialKernel(plane));
  const s0 = rec.runtime.tensor([2, stride], `${label} S0`);
  const { workgroups, pitch } = flatGrid(quads, FLAT_WORKGROUP);
  try {
    rec.dispatch(k, {
      label,
      bindings: { f0, ca, s0 },
      uniforms: { channels: c, plane, plane_stride: stride, quads, inv_channels: 1 / c, pitch },
      workgroups,
    });
  } catch (e) {
    s0.release();
    throw e;
  }
  return s0;
}

/** mask = sigmoid(conv1 ⋆ ReflectionPad2d(3)(S0)) → [1, H, W]. */
export async function maskFromStats(rec: Recorder, w: AttentionWeights, s0: GpuTensor, h: number, wd: number, label = 'attention mask'): Promise<GpuTensor> {
  const stride = spatialPlaneStride(h, wd);
  if (s0.size !== 2 * stride) throw new InvalidArgumentError(`${label}: S0 has ${s0.size} values, expected ${2 * stride} for ${h}×${wd}`);
  const rowQuads = Math.ceil(wd / 4);
  const quads = h * rowQuads;
  const k = await rec.kernel({ shader: 'attention_mask' });
  const mask = rec.runtime.tensor([1, h, wd], `${label}`);
  const { workgroups, pitch } = flatGrid(quads, FLAT_WORKGROUP);
  try {
    rec.dispatch(k, {
      label,
      bindings: { s0, conv1: w.conv1, mask },
      uniforms: { height: h, width: wd, plane_stride: stride, row_quads: rowQuads, quads, pitch },
      workgroups,
    });
  } catch (e) {
    mask.release();
    throw e;
  }
  return mask;
}

/**
 * netH's mask from the feature map after its 3 ResBlocks (f0 [ngf, H, W], un-padded): the
 * channel attention (pooling over the reflect-padded map, no sigmoid on ca), then the spatial
 * attention and sigmoid. Returns the mask [1, H, W] in (0, 1); f0 is left untouched. All on the
 * GPU, recorded into `rec`.
 */
export async function maskFromFeatures(rec: Recorder, w: AttentionWeights, f0: GpuTensor, label = 'netH attention'): Promise<GpuTensor> {
  const [c, h, wd] = checkFeatures(f0, label);
  if (c !== w.ngf) throw new InvalidArgumentError(`${label}: features have ${c} channels, the weights ${w.ngf}`);
  // Compile everything up front so the pipelines build in parallel.
  await Promise.all([
    rec.kernel(poolKernel(wd)),
    rec.kernel({ shader: 'attention_pool_merge' }),
    rec.kernel({ shader: 'attention_chain' }),
    rec.kernel(spatialKernel(h * wd)),
    rec.kernel({ shader: 'attention_mask' }),
  ]);
  const pooled = await poolReflectPadded(rec, f0, `${label} pool`);
  let ca: GpuTensor;
  try {
    ca = await channelScale(rec, w, pooled, `${label} chain`);
  } finally {
    pooled.release();
  }
  let s0: GpuTensor;
  try {
    s0 = await spatialStats(rec, f0, ca, `${label} spatial`);
  } finally {
    ca.release();
  }
  try {
    return await maskFromStats(rec, w, s0, h, wd, `${label} mask`);
  } finally {
    s0.release();
  }
}

/** A row band of a feature map: image rows row0 … row0 + rows − 1 as a [C, rows, W] tensor. */
export interface FeatureBand {
  readonly tensor: GpuTensor;
  readonly row0: number;
}

/** The bands' common [C, W] and the image height; bands must tile the rows top to bottom. */
function checkFeatureBands(bands: readonly FeatureBand[], label: string): [number, number, number] {
  if (bands.length === 0) throw new InvalidArgumentError(`${label}: no bands`);
  const t0 = bands[0]!.tensor;
  if (t0.shape.length !== 3) throw new InvalidArgumentError(`${label}: bands must be [C, rows, W], got ${fmt(t0.shape)}`);
  const [c, , w] = t0.shape as [number, number, number];
  let row = 0;
  for (const b of bands) {
    const s = b.tensor.shape;
    if (s.length !== 3 || s[0] !== c || s[2] !== w || b.row0 !== row || b.tensor.dtype !== 'f32') {
      throw new InvalidArgumentError(`${label}: band at row ${b.row0} (${fmt(s)}) does not continue [${c}, ·, ${w}] bands at row ${row}`);
    }
    if (b.tensor.buffer.size < Math.ceil(b.tensor.size / 4) * 16) throw new InvalidArgumentError(`${label}: buffer of ${b.tensor.label} must be padded to a multiple of 16 B`);
    row += s[1]!;
  }
  if (c < 1 || row < MIN_SIZE || w < MIN_SIZE) throw new InvalidArgumentError(`${label}: features [${c}, ${row}, ${w}] are smaller than ${MIN_SIZE}×${MIN_SIZE}`);
  return [c, row, w];
}

/**
 * poolReflectPadded over a map split into row bands: every band adds its partials (with the
 * reflection multiplicities of the whole image's rows) to one buffer, and one merge pools them,
 * so the result is the whole image's avg and max of ReflectionPad2d(3)(f0).
 */
export async function poolReflectPaddedBanded(rec: Recorder, bands: readonly FeatureBand[], label = 'attention pool'): Promise<GpuTensor> {
  const [c, h, w] = checkFeatureBands(bands, label);
  const rt = rec.runtime;
  const partsX = Math.ceil(w / POOL_TILE_W);
  const partsYOf = bands.map((b) => Math.ceil(b.tensor.shape[1]! / POOL_TILE_H));
  const parts = partsX * partsYOf.reduce((a, b) => a + b, 0);
  const maxWg = rt.limits.maxComputeWorkgroupsPerDimension;
  if (c > maxWg) throw new InvalidArgumentError(`${label}: ${c} channels exceed ${maxWg} workgroups per dimension`);
  const [pool, merge] = await Promise.all([rec.kernel(poolKernel(w)), rec.kernel({ shader: 'attention_pool_merge' })]);
  const partialSum = rt.tensor([c, parts], `${label} partial sums`);
  const partialMax = rt.tensor([c, parts], `${label} partial maxima`);
  const pooled = rt.tensor([2 * c], `${label} pooled`);
  try {
    let partBase = 0;
    bands.forEach((b, i) => {
      rec.dispatch(pool, {
        label: `${label} partials band ${i}`,
        bindings: { f0: b.tensor, partial_sum: partialSum, partial_max: partialMax },
        uniforms: { height: b.tensor.shape[1]!, width: w, parts_x: partsX, parts, row0: b.row0, image_height: h, part_base: partBase },
        workgroups: [partsX, partsYOf[i]!, c],
      });
      partBase += partsX * partsYOf[i]!;
    });
    rec.dispatch(merge, {
      label: `${label} merge`,
      bindings: { partial_sum: partialSum, partial_max: partialMax, pooled },
      uniforms: { channels: c, parts, inv_count: 1 / ((h + 6) * (w + 6)) },
      workgroups: [c],
    });
  } catch (e) {
    pooled.release();
    throw e;
  } finally {
    // Safe while recording: later users of these buffers are ordered after these dispatches.
    partialSum.release();
    partialMax.release();
  }
  return pooled;
}

/**
 * maskFromFeatures on a map split into row bands (src/nerco/banded.ts): pooling over the whole
 * image (poolReflectPaddedBanded), then S0 band by band into one whole-image S0 (2 channels, small
 * enough for one binding at any size a band plan allows), and the 7×7 mask on it as usual.
 * Returns the whole mask [1, H, W].
 */
export async function maskFromFeatureBands(rec: Recorder, w: AttentionWeights, bands: readonly FeatureBand[], label = 'netH attention'): Promise<GpuTensor> {
  const [c, h, wd] = checkFeatureBands(bands, label);
  if (c !== w.ngf) throw new InvalidArgumentError(`${label}: features have ${c} channels, the weights ${w.ngf}`);
  const pooled = await poolReflectPaddedBanded(rec, bands, `${label} pool`);
  let ca: GpuTensor;
  try {
    ca = await channelScale(rec, w, pooled, `${label} chain`);
  } finally {
    pooled.release();
  }
  const stride = spatialPlaneStride(h, wd);
  const s0 = rec.runtime.tensor([2, stride], `${label} spatial S0`);
  try {
    for (const b of bands) {
      const rows = b.tensor.shape[1]!;
      const part = await spatialStatsOf(rec, b.tensor, ca, c, rows, wd, `${label} spatial`);
      const bandStride = spatialPlaneStride(rows, wd);
      // Byte offsets and sizes are multiples of 4, as copyBufferToBuffer requires.
      rec.encoder.copyBufferToBuffer(part.buffer, 0, s0.buffer, b.row0 * wd * 4, rows * wd * 4);
      rec.encoder.copyBufferToBuffer(part.buffer, bandStride * 4, s0.buffer, (stride + b.row0 * wd) * 4, rows * wd * 4);
      part.release();
    }
  } catch (e) {
    s0.release();
    throw e;
  } finally {
    ca.release();
  }
  try {
    return await maskFromStats(rec, w, s0, h, wd, `${label} mask`);
  } finally {
    s0.release();
  }
}
