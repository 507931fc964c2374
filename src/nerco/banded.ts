/**
 * Row-banded execution: big images within WebGPU's default 128 MiB per storage binding.
 *
 * A banded map is a [C, H, W] activation kept as horizontal bands [C, rows_b, W], each its own
 * pooled buffer: every band but the last has the same number of rows. A conv over a banded input
 * produces a banded output one band at a time: the input rows that band's taps read (its halo
 * included) are gathered from the neighbouring bands into a scratch tensor, and the kernel gets
 * the scratch's and the output band's row offsets in the whole image, so reflect and zero padding
 * and the fused instance-norm loads are exactly those of the unbanded conv. Instance-norm
 * statistics and netH's pooling are reduced over all bands at once (instanceNormStatsBanded,
 * maskFromFeatureBands), so nothing is approximated: a band's output equals the same rows of the
 * unbanded pass, up to the summation order of the statistics.
 */
import { InvalidArgumentError } from '../errors.js';
import { conv2d, convOutputSize, type Conv2dOptions, type Conv2dWeights } from '../kernels/conv2d.js';
import { convTranspose2d, type ConvTranspose2dOptions, type ConvTranspose2dWeights } from '../kernels/conv-transpose2d.js';
import { copyRows } from '../kernels/copy-rows.js';
import { instanceNormApply, instanceNormStatsBanded } from '../kernels/instance-norm.js';
import type { ResBlockWeights } from '../ops/res-block.js';
import type { Recorder } from '../runtime/recorder.js';
import type { GpuTensor } from '../runtime/tensor.js';

export interface Band {
  /** First image row of the band. */
  readonly row0: number;
  readonly rows: number;
  /** [C, rows, W]; null once released (consumed). */
  tensor: GpuTensor | null;
}

/** A [channels, height, width] map as row bands, top to bottom. */
export interface BandedMap {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly bands: Band[];
  /** False for a view of a tensor someone else owns (never released here). */
  readonly owned: boolean;
}

/** Row ranges [row0, rows] of bands of `rowsPerBand` rows covering `height` rows. */
export function bandLayout(height: number, rowsPerBand: number): Array<[number, number]> {
  if (!Number.isInteger(rowsPerBand) || rowsPerBand < 1) throw new InvalidArgumentError(`band rows must be a positive integer, got ${rowsPerBand}`);
  const out: Array<[number, number]> = [];
  for (let r = 0; r < height; r += rowsPerBand) out.push([r, Math.min(rowsPerBand, height - r)]);
  return out;
}

/** A whole [C, H, W] tensor seen as one band, not owned (the caller keeps and releases it). */
export function wholeView(t: GpuTensor): BandedMap {
  const [c, h, w] = t.shape as [number, number, number];
  return { channels: c, height: h, width: w, bands: [{ row0: 0, rows: h, tensor: t }], owned: false };
}

function live(b: Band, label: string): GpuTensor {
  if (!b.tensor) throw new InvalidArgumentError(`${label}: band at row ${b.row0} was already released`);
  return b.tensor;
}

/** The band tensors (all must still be live). */
export function bandTensors(m: BandedMap, label: string): GpuTensor[] {
  return m.bands.map((b) => live(b, label));
}

export function releaseMap(m: BandedMap): void {
  if (!m.owned) return;
  for (const b of m.bands) {
    b.tensor?.release();
    b.tensor = null;
  }
}

/** Releases the bands that lie entirely above image row `row` (no later reader needs them). */
function releaseAbove(m: BandedMap, row: number): void {
  if (!m.owned) return;
  for (const b of m.bands) {
    if (b.row0 + b.rows <= row && b.tensor) {
      b.tensor.release();
      b.tensor = null;
    }
  }
}

/** Rows [lo, hi) of a banded map as one tensor, with the image row its first row holds. */
interface Gathered {
  readonly tensor: GpuTensor;
  readonly row0: number;
  /** True when `tensor` is a band of the map itself (do not release it). */
  readonly borrowed: boolean;
}

/**
 * Rows [lo, hi) of `m` in one tensor: a band that already holds them (when `exact` is false, one
 * that holds more is fine), else a scratch tensor filled from the bands they overlap.
 */
async function gatherRows(rec: Recorder, m: BandedMap, lo: number, hi: number, exact: boolean, label: string): Promise<Gathered> {
  for (const b of m.bands) {
    if (b.row0 <= lo && b.row0 + b.rows >= hi && (!exact || (b.row0 === lo && b.rows === hi - lo))) {
      return { tensor: live(b, label), row0: b.row0, borrowed: true };
    }
  }
  const scratch = rec.runtime.tensor([m.channels, hi - lo, m.width], `${label} rows ${lo}-${hi - 1}`);
  for (const b of m.bands) {
    const s = Math.max(lo, b.row0);
    const e = Math.min(hi, b.row0 + b.rows);
    if (s < e) await copyRows(rec, live(b, label), s - b.row0, scratch, s - lo, e - s, `${label} gather`);
  }
  return { tensor: scratch, row0: lo, borrowed: false };
}

function done(g: Gathered): void {
  if (!g.borrowed) g.tensor.release();
}

/** The whole map in one pooled tensor (it must fit a binding); releases the bands if `consume`. */
export async function assemble(rec: Recorder, m: BandedMap, label: string, consume = true): Promise<GpuTensor> {
  const whole = rec.runtime.tensor([m.channels, m.height, m.width], label);
  for (const b of m.bands) await copyRows(rec, live(b, label), 0, whole, b.row0, b.rows, `${label} join`);
  if (consume) releaseMap(m);
  return whole;
}

export interface BandedConvOptions extends Omit<Conv2dOptions, 'output' | 'band'> {
  /** Release the input's bands as soon as no later output band reads them. */
  readonly consume?: boolean;
}

/** conv2d over a banded map, output in bands of `rowsPerBand` rows. */
export async function conv2dBanded(rec: Recorder, w: Conv2dWeights, input: BandedMap, opts: BandedConvOptions, rowsPerBand: number, label = w.label): Promise<BandedMap> {
  const { consume = false, ...convOpts } = opts;
  const { stride, pad } = convOpts;
  const h = input.height;
  const ho = convOutputSize(h, w.k, stride, pad);
  const wo = convOutputSize(input.width, w.k, stride, pad);
  if (ho < 1 || wo < 1) throw new InvalidArgumentError(`${label}: a ${w.k}×${w.k} kernel does not fit the padded ${h}×${input.width} input (pad ${pad})`);
  const firstRow = (r: number): number => Math.max(0, r * stride - pad);
  const bands: Band[] = [];
  for (const [o0, n] of bandLayout(ho, rowsPerBand)) {
    const lo = firstRow(o0);
    const hi = Math.min(h, (o0 + n - 1) * stride - pad + w.k);
    const src = await gatherRows(rec, input, lo, hi, false, `${label} band ${o0}`);
    const out = await conv2d(rec, w, src.tensor, { ...convOpts, band: { imageHeight: h, inRow0: src.row0, outRow0: o0, outRows: n } }, `${label} band ${o0}`);
    done(src);
    bands.push({ row0: o0, rows: n, tensor: out });
    if (consume) releaseAbove(input, o0 + n < ho ? firstRow(o0 + n) : h);
  }
  if (consume) releaseMap(input);
  return { channels: w.cout, height: ho, width: wo, bands, owned: true };
}

export interface BandedConvTransposeOptions extends Omit<ConvTranspose2dOptions, 'output' | 'rows'> {
  readonly consume?: boolean;
}

/** convTranspose2d (×2) over a banded map, output in bands of `rowsPerBand` rows rounded up to even. */
export async function convTranspose2dBanded(
  rec: Recorder,
  w: ConvTranspose2dWeights,
  input: BandedMap,
  opts: BandedConvTransposeOptions,
  rowsPerBand: number,
  label = w.label,
): Promise<BandedMap> {
  const { consume = false, ...ctOpts } = opts;
  const h = input.height;
  // An output band starts on an even row: output rows 2m and 2m+1 both come from input row m.
  const rows = rowsPerBand + (rowsPerBand % 2);
  const bands: Band[] = [];
  for (const [o0, n] of bandLayout(2 * h, rows)) {
    const m0 = o0 / 2;
    const count = n / 2;
    const src = await gatherRows(rec, input, m0, Math.min(h, m0 + count + 1), true, `${label} band ${o0}`);
    const out = await convTranspose2d(rec, w, src.tensor, { ...ctOpts, rows: count }, `${label} band ${o0}`);
    done(src);
    bands.push({ row0: o0, rows: n, tensor: out });
    if (consume) releaseAbove(input, m0 + count);
  }
  if (consume) releaseMap(input);
  return { channels: w.cout, height: 2 * h, width: 2 * input.width, bands, owned: true };
}

/** Instance-norm statistics [C, 2] of the whole map (see instanceNormStatsBanded). */
export function statsBanded(rec: Recorder, m: BandedMap, label: string): Promise<GpuTensor> {
  return instanceNormStatsBanded(rec, bandTensors(m, label), label);
}

/** instanceNormApply band by band, in place on `output` (x itself or the residual map). */
export async function applyBanded(rec: Recorder, x: BandedMap, stats: GpuTensor, relu: boolean, label: string, residual?: BandedMap): Promise<void> {
  if (residual && (residual.bands.length !== x.bands.length || residual.bands.some((b, i) => b.row0 !== x.bands[i]!.row0 || b.rows !== x.bands[i]!.rows))) {
    throw new InvalidArgumentError(`${label}: the residual's bands differ from the map's`);
  }
  for (let i = 0; i < x.bands.length; i++) {
    const xb = live(x.bands[i]!, label);
    const rb = residual ? live(residual.bands[i]!, label) : undefined;
    await instanceNormApply(rec, xb, stats, { relu, residual: rb, output: rb ?? xb }, `${label} band ${x.bands[i]!.row0}`);
  }
}

/** NeRCo's ResBlock (src/ops/res-block.ts) on a banded map, updated in place. */
export async function resBlockBanded(rec: Recorder, w: ResBlockWeights, x: BandedMap, rowsPerBand: number, label: string): Promise<void> {
  const a = await conv2dBanded(rec, w.convA, x, { stride: 1, pad: 1, padMode: 'reflect' }, rowsPerBand, `${label}.conv_block.1`);
  const sa = await statsBanded(rec, a, `${label}.conv_block.2`);
  const b = await conv2dBanded(rec, w.convB, a, { stride: 1, pad: 1, padMode: 'reflect', inputNorm: { stats: sa, relu: true }, consume: true }, rowsPerBand, `${label}.conv_block.5`);
  sa.release();
  const sb = await statsBanded(rec, b, `${label}.conv_block.6`);
  await applyBanded(rec, b, sb, false, `${label}.add`, x);
  releaseMap(b);
  sb.release();
}

/**
 * Runs `fn` on every band of `m` with its halo: the tensor holds rows [row0 − halo, row0 + rows +
 * halo) clipped to the image, `offset` is the band's first row within it.
 */
export async function forEachBandWithHalo(
  rec: Recorder,
  m: BandedMap,
  halo: number,
  rowsPerBand: number,
  label: string,
  fn: (t: GpuTensor, offset: number, row0: number, rows: number) => Promise<void>,
  consume = false,
): Promise<void> {
  const layout = bandLayout(m.height, rowsPerBand);
  for (const [row0, rows] of layout) {
    const lo = Math.max(0, row0 - halo);
    const src = await gatherRows(rec, m, lo, Math.min(m.height, row0 + rows + halo), true, `${label} band ${row0}`);
    await fn(src.tensor, row0 - lo, row0, rows);
    done(src);
    if (consume) releaseAbove(m, Math.max(0, row0 + rows - halo));
  }
  if (consume) releaseMap(m);
}
