/**
 * NeRCo's pass (NERCO.md §1) on row bands (src/nerco/banded.ts), for images whose full-resolution
 * maps exceed one storage binding (1920×1080 and up within WebGPU's default limits). Same
 * arithmetic as src/nerco/forward.ts; only the maps are split, and every map is released as soon
 * as its last band has been read, which also bounds the peak memory.
 */
import { InvalidArgumentError } from '../errors.js';
import { maskFromFeatureBands } from '../kernels/attention.js';
import { conv2dBanded, convTranspose2dBanded, applyBanded, assemble, forEachBandWithHalo, releaseMap, resBlockBanded, statsBanded, wholeView, type Band, type BandedMap } from './banded.js';
import { copyRows } from '../kernels/copy-rows.js';
import { maskedConcat } from '../kernels/elementwise.js';
import { nrnFast } from '../kernels/nrn-fast.js';
import { bucketSize } from '../runtime/buffer-pool.js';
import type { Recorder } from '../runtime/recorder.js';
import type { GpuTensor } from '../runtime/tensor.js';
import type { TrunkWeights } from '../ops/resnet-trunk.js';
import type { ForwardTensors, NeRCoGpuWeights } from './forward.js';
import type { GAWeights } from './g-a.js';
import type { NetHWeights } from './net-h.js';
import type { PreWeights } from './pre.js';

/** Channels of the widest map at full, 1/2 and 1/4 resolution. */
export interface LevelChannels {
  readonly full: number;
  readonly half: number;
  readonly quarter: number;
}

export function levelChannels(w: NeRCoGpuWeights): LevelChannels {
  return {
    full: Math.max(w.pre.trunk.stem.cout, w.ga.trunk.stem.cout, w.h.stem.cout, 6),
    half: Math.max(w.pre.trunk.down[0].cout, w.ga.trunk.down[0].cout),
    quarter: Math.max(w.pre.trunk.down[1].cout, w.ga.trunk.down[1].cout, w.ga.trunk.up[0].cin),
  };
}

/** Bytes of one row of the widest map at each level of an H×W image, the largest of them. */
function maxRowBytes(ch: LevelChannels, width: number): number {
  return 4 * Math.max(ch.full * width, ch.half * Math.ceil(width / 2), ch.quarter * Math.ceil(width / 4));
}

/** True when some whole map of an H×W pass would not fit one buffer of `limit` bytes. */
export function needsBands(ch: LevelChannels, height: number, width: number, limit: number): boolean {
  const levels: Array<[number, number, number]> = [[ch.full, height, width], [ch.half, height / 2, width / 2], [ch.quarter, height / 4, width / 4]];
  return levels.some(([c, h, w]) => bucketSize(4 * c * h * w) > limit);
}

/**
 * Bytes of one band of the widest map that defaultBandRows aims at. Small bands keep the halo
 * scratches and the odd-sized last bands small, which is what the pool's peak is sensitive to:
 * at 1920×1080 (record-time pool accounting, bench/run.ts) bands of 16, 32, 64 and 96 rows gave
 * total peaks of 1278, 1325, 1633 and 1511 MiB; 32-row bands need half the dispatches of 16.
 */
export const BAND_TARGET_BYTES = 16 * 2 ** 20;

/**
 * Rows per band: about BAND_TARGET_BYTES per band of the widest map, and few enough that every
 * buffer of the banded pass fits `limit` bytes: the largest is a stride-2 conv's scratch,
 * 2·rows + 1 rows of the level above (a 7×7 conv's needs rows + 6). Returns 0 when not even
 * one-row bands fit (an image too wide).
 */
export function defaultBandRows(ch: LevelChannels, height: number, width: number, limit: number): number {
  const row = maxRowBytes(ch, width);
  const fits = (r: number): boolean => bucketSize((2 * r + 7) * row) <= limit;
  if (!fits(1)) return 0;
  let r = Math.max(1, Math.min(height, Math.floor(BAND_TARGET_BYTES / row)));
  while (r > 1 && !fits(r)) r--;
  return r;
}

/** Rows per band at full, 1/2 and 1/4 resolution. */
export type BandRows = number | readonly [number, number, number];

function rowsAt(rows: BandRows, level: 0 | 1 | 2): number {
  return typeof rows === 'number' ? rows : rows[level];
}

/** The ResnetGenerator trunk (src/ops/resnet-trunk.ts) on bands; returns the last map and its stats. */
async function trunkBanded(rec: Recorder, w: TrunkWeights, input: BandedMap, rows: BandRows): Promise<{ x: BandedMap; stats: GpuTensor }> {
  const p = w.prefix;
  const [r0, r1, r2] = [rowsAt(rows, 0), rowsAt(rows, 1), rowsAt(rows, 2)];
  const stem = await conv2dBanded(rec, w.stem, input, { stride: 1, pad: 3, padMode: 'reflect', consume: input.owned }, r0, `${p}model.1`);
  const s0 = await statsBanded(rec, stem, `${p}model.2`);
  const d1 = await conv2dBanded(rec, w.down[0], stem, { stride: 2, pad: 1, padMode: 'zero', inputNorm: { stats: s0, relu: true }, consume: true }, r1, `${p}model.4`);
  s0.release();
  const s1 = await statsBanded(rec, d1, `${p}model.5`);
  const d2 = await conv2dBanded(rec, w.down[1], d1, { stride: 2, pad: 1, padMode: 'zero', inputNorm: { stats: s1, relu: true }, consume: true }, r2, `${p}model.7`);
  s1.release();
  const s2 = await statsBanded(rec, d2, `${p}model.8`);
  await applyBanded(rec, d2, s2, true, `${p}model.9`);
  s2.release();
  for (let i = 0; i < w.blocks.length; i++) await resBlockBanded(rec, w.blocks[i]!, d2, r2, `${p}model.${10 + i}`);
  const nb = w.blocks.length;
  const u1 = await convTranspose2dBanded(rec, w.up[0], d2, { consume: true }, r1, `${p}model.${10 + nb}`);
  const su1 = await statsBanded(rec, u1, `${p}model.${11 + nb}`);
  const u2 = await convTranspose2dBanded(rec, w.up[1], u1, { inputNorm: { stats: su1, relu: true }, consume: true }, r0, `${p}model.${13 + nb}`);
  su1.release();
  const su2 = await statsBanded(rec, u2, `${p}model.${14 + nb}`);
  return { x: u2, stats: su2 };
}

/** Pre on bands: pre_A in bands of `rows` (full-resolution) rows, pre_trunk kept if asked. */
async function preBanded(rec: Recorder, w: PreWeights, realA: GpuTensor, rows: BandRows, keepTrunk: boolean): Promise<{ preA: BandedMap; preTrunk?: GpuTensor }> {
  const { x, stats } = await trunkBanded(rec, w.trunk, wholeView(realA), rows);
  await applyBanded(rec, x, stats, true, 'Pre.model.24');
  stats.release();
  const preTrunk = keepTrunk ? await assemble(rec, x, 'pre_trunk', false) : undefined;
  const [, h, wd] = realA.shape as [number, number, number];
  const bands: Band[] = [];
  // The NRN's 3×3 conv has zero padding 1: each band reads one row of each neighbour. Rows of the
  // NRN output next to a cut see zeros there and are dropped; only the band's own rows are kept.
  await forEachBandWithHalo(rec, x, 1, rowsAt(rows, 0), 'Pre.mlp', async (feat, offset, row0, n) => {
    const out = await nrnFast(rec, w.nrn, feat, `Pre.mlp band ${row0}`, h);
    const band = rec.runtime.tensor([3, n, wd], `pre_A band ${row0}`);
    await copyRows(rec, out, offset, band, 0, n, 'pre_A band');
    out.release();
    bands.push({ row0, rows: n, tensor: band });
  }, true);
  return { preA: { channels: 3, height: h, width: wd, bands, owned: true }, preTrunk };
}

/** netH on bands: the whole mask [1, H, W] (and the image head H when asked). */
async function netHBanded(rec: Recorder, w: NetHWeights, realA: GpuTensor, rows: BandRows, withImage: boolean): Promise<{ mask: GpuTensor; hImage?: GpuTensor }> {
  const r0 = rowsAt(rows, 0);
  const x = await conv2dBanded(rec, w.stem, wholeView(realA), { stride: 1, pad: 3, padMode: 'reflect' }, r0, 'H.model.1');
  const s = await statsBanded(rec, x, 'H.model.2');
  await applyBanded(rec, x, s, true, 'H.model.3');
  s.release();
  for (let i = 0; i < w.blocks.length; i++) await resBlockBanded(rec, w.blocks[i]!, x, r0, `H.model.${4 + i}`);
  const mask = await maskFromFeatureBands(rec, w.attention, x.bands.map((b) => ({ tensor: b.tensor!, row0: b.row0 })), 'H.attention');
  let hImage: GpuTensor | undefined;
  if (withImage) {
    const img = await conv2dBanded(rec, w.output, x, { stride: 1, pad: 3, padMode: 'reflect', activation: 'tanh' }, r0, 'H.output');
    hImage = await assemble(rec, img, 'H');
  }
  releaseMap(x);
  return hImage ? { mask, hImage } : { mask };
}

/** g_in = cat(real_A, pre_A) · mask, in pre_A's bands. */
async function gInBanded(rec: Recorder, realA: GpuTensor, preA: BandedMap, mask: GpuTensor): Promise<BandedMap> {
  const bands: Band[] = [];
  for (const b of preA.bands) {
    const a = rec.runtime.tensor([3, b.rows, preA.width], `real_A band ${b.row0}`);
    const m = rec.runtime.tensor([1, b.rows, preA.width], `mask band ${b.row0}`);
    await copyRows(rec, realA, b.row0, a, 0, b.rows, 'real_A band');
    await copyRows(rec, mask, b.row0, m, 0, b.rows, 'mask band');
    const g = await maskedConcat(rec, a, b.tensor!, m, `g_in band ${b.row0}`);
    a.release();
    m.release();
    b.tensor!.release();
    b.tensor = null;
    bands.push({ row0: b.row0, rows: b.rows, tensor: g });
  }
  return { channels: 6, height: preA.height, width: preA.width, bands, owned: true };
}

/** G_A on bands: fake_B [3, H, W] whole. */
async function gaBanded(rec: Recorder, w: GAWeights, gIn: BandedMap, rows: BandRows): Promise<GpuTensor> {
  const { x, stats } = await trunkBanded(rec, w.trunk, gIn, rows);
  const fakeB = await conv2dBanded(rec, w.head, x, { stride: 1, pad: 3, padMode: 'reflect', inputNorm: { stats, relu: true }, activation: 'tanh', consume: true }, rowsAt(rows, 0), w.head.label);
  stats.release();
  return assemble(rec, fakeB, 'fake_B');
}

/**
 * The banded pass: the same outputs as recordForward (fake_B, and with `keep` pre_trunk, pre_A,
 * mask and H, each whole: those must fit one binding). `rows`: rows per band at full, 1/2 and
 * 1/4 resolution (see defaultBandRows).
 */
export async function recordForwardBanded(rec: Recorder, w: NeRCoGpuWeights, realA: GpuTensor, rows: BandRows, keep: boolean): Promise<ForwardTensors> {
  for (const l of [0, 1, 2] as const) {
    const r = rowsAt(rows, l);
    if (!Number.isInteger(r) || r < 1) throw new InvalidArgumentError(`band rows must be positive integers, got ${String(rows)}`);
  }
  const { preA, preTrunk } = await preBanded(rec, w.pre, realA, rows, keep);
  const preAWhole = keep ? await assemble(rec, preA, 'pre_A', false) : undefined;
  const { mask, hImage } = await netHBanded(rec, w.h, realA, rows, keep);
  const gIn = await gInBanded(rec, realA, preA, mask);
  const fakeB = await gaBanded(rec, w.ga, gIn, rows);
  if (!keep) {
    mask.release();
    return { fakeB };
  }
  return { fakeB, preTrunk, preA: preAWhole, mask, hImage };
}

