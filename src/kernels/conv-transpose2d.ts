import { InvalidArgumentError } from '../errors.js';
import type { HostTensor } from '../nerco/host-tensor.js';
import type { Recorder } from '../runtime/recorder.js';
import type { Runtime } from '../runtime/runtime.js';
import type { GpuTensor } from '../runtime/tensor.js';
import { checkInputNorm, outputTensor, workgroupSizeFor, type InputNorm } from './conv2d.js';
import { flatGrid } from './grid.js';
import { paddedBiasConstant } from './padded-bias.js';
import { dispatchConvTranspose2dSg, packConvTranspose2dSgWeights } from './conv-transpose2d-sg.js';

/** One invocation's block: `qx` input columns (a 2 × 2·qx output block) × `cob`·4 output channels. */
export interface ConvTranspose2dTiling {
  readonly qx: number;
  readonly cob: number;
}

/**
 * The block shape for a call when the weights do not force one. Measured on lavapipe at NeRCo's
 * shapes (bench/kernels/conv.ts): 8 input columns × 1 vec4 group (a 2×16 output block) beat 4×1,
 * 4×2 and 2×2, because every weight load is then shared by 32 outputs; 8×2 was about as fast
 * but needs twice the registers. Narrow maps get 4 columns so that fewer outputs are wasted.
 */
export function convTranspose2dTilingFor(w: ConvTranspose2dWeights, inW: number): ConvTranspose2dTiling {
  if (w.fixedTiling) return w.fixedTiling;
  return { qx: inW > 4 ? 8 : 4, cob: w.cob };
}

/** vec4 output-channel groups per invocation unless a tiling is forced (see conv2d's DEFAULT_COB). */
export const DEFAULT_CONV_TRANSPOSE_COB = 1;

export interface ConvTranspose2dWeights {
  readonly cin: number;
  readonly cout: number;
  /**
   * 'portable' (conv_transpose2d.wgsl, any device) or 'subgroup' (conv_transpose2d_sg.wgsl,
   * devices with subgroups of ≥ 8 lanes; weights then [group of 8 outputs][ci][tap][lane] f32).
   */
  readonly kernel: 'portable' | 'subgroup';
  /** Output channels after padding (the packing's). */
  readonly paddedCout: number;
  /** vec4 over 4 output channels, laid out [coutBlock][ci][ky·3+kx][cob]; Cout zero-padded. */
  readonly weight: GpuTensor;
  /** vec4 per 4 output channels, zero-padded; null when the layer has no bias. */
  readonly bias: GpuTensor | null;
  readonly label: string;
  /** vec4 output-channel groups per invocation (the packing's innermost block). */
  readonly cob: number;
  /** Output-channel blocks of cob·4 channels (the dispatch's z). */
  readonly coutBlocks: number;
  /** A block shape forced at prepare time (benchmarks, tests); null: chosen per call. */
  readonly fixedTiling: ConvTranspose2dTiling | null;
}

export interface ConvTranspose2dOptions {
  /** Instance-norm apply fused into the loads (in-range taps only), then ReLU if relu. */
  readonly inputNorm?: InputNorm;
  /** Write here (shape [Cout, 2H, 2W]) instead of allocating from the pool. */
  readonly output?: GpuTensor;
  /**
   * Input rows to process (a row band, src/nerco/banded.ts): the output is [Cout, 2·rows, 2W].
   * The input then holds rows + 1 rows (the following image row, read by the odd output rows)
   * or exactly `rows` when the band ends at the image's last row. Default: all rows.
   */
  readonly rows?: number;
}

/**
 * Repacks a ConvTranspose2d weight [Cin, Cout, 3, 3] (k3, s2, p1, output_padding 1 only,
 * NERCO.md §7.3) for shaders/conv_transpose2d.wgsl and uploads it with its bias.
 */
export function prepareConvTranspose2d(
  rt: Runtime,
  weight: HostTensor,
  bias: HostTensor | null,
  label: string,
  tiling?: ConvTranspose2dTiling,
  opts: { readonly kernel?: 'auto' | 'portable' | 'subgroup' } = {},
): ConvTranspose2dWeights {
  if (weight.shape.length !== 4 || weight.shape[2] !== 3 || weight.shape[3] !== 3) {
    throw new InvalidArgumentError(`${label}: convTranspose2d weight must be [Cin, Cout, 3, 3], got [${weight.shape.join(', ')}]`);
  }
  const [cin, cout] = weight.shape as [number, number, number, number];
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== cout)) {
    throw new InvalidArgumentError(`${label}: convTranspose2d bias must be [${cout}], got [${bias.shape.join(', ')}]`);
  }
  if (tiling) {
    for (const [name, v, max] of [['qx', tiling.qx, 16], ['cob', tiling.cob, 8]] as const) {
      if (!Number.isInteger(v) || v < 1 || v > max) throw new InvalidArgumentError(`${label}: tiling.${name} must be an integer in [1, ${max}], got ${v}`);
    }
  }
  const wanted = tiling ? 'portable' : (opts.kernel ?? 'auto');
  if (wanted === 'subgroup' && !rt.hasSubgroups8) throw new InvalidArgumentError(`${label}: the subgroup kernel needs a device with subgroups of ≥ 8 lanes`);
  if (wanted === 'subgroup' || (wanted === 'auto' && rt.hasSubgroups8)) {
    const { packed, paddedCout } = packConvTranspose2dSgWeights(weight);
    const wT = rt.constant(packed, [packed.length], `${label}.weight`);
    const bT = paddedBiasConstant(rt, bias, cout, paddedCout, label);
    return { cin, cout, kernel: 'subgroup', paddedCout, weight: wT, bias: bT, label, cob: 1, coutBlocks: paddedCout / 4, fixedTiling: null };
  }
  const cob = Math.min(tiling?.cob ?? DEFAULT_CONV_TRANSPOSE_COB, Math.ceil(cout / 4));
  const coutBlocks = Math.ceil(cout / (4 * cob));
  const padded = coutBlocks * cob * 4;

  const packed = new Float32Array(padded * cin * 9);
  const src = weight.data;
  for (let ci = 0; ci < cin; ci++) {
    for (let o = 0; o < cout; o++) {
      const cb = Math.floor(o / (4 * cob));
      const c = Math.floor(o / 4) % cob;
      const lane = o % 4;
      for (let t = 0; t < 9; t++) {
        packed[((((cb * cin + ci) * 9 + t) * cob + c) * 4) + lane] = src[(ci * cout + o) * 9 + t]!;
      }
    }
  }
  const wT = rt.constant(packed, [packed.length], `${label}.weight`);
  const bT = paddedBiasConstant(rt, bias, cout, padded, label);
  return { cin, cout, kernel: 'portable', paddedCout: padded, weight: wT, bias: bT, label, cob, coutBlocks, fixedTiling: tiling ? { qx: tiling.qx, cob } : null };
}

/**
 * out = convTranspose(norm(input)) + bias: [Cin, H, W] → [Cout, 2H, 2W]. The output comes from
 * the runtime's pool unless opts.output is given; the caller releases it.
 */
export async function convTranspose2d(
  rec: Recorder,
  w: ConvTranspose2dWeights,
  input: GpuTensor,
  opts: ConvTranspose2dOptions = {},
  label = w.label,
): Promise<GpuTensor> {
  if (input.shape.length !== 3 || input.shape[0] !== w.cin) {
    throw new InvalidArgumentError(`${label}: convTranspose2d input must be [${w.cin}, H, W], got [${input.shape.join(', ')}]`);
  }
  if (input.dtype !== 'f32') throw new InvalidArgumentError(`${label}: convTranspose2d input must be f32`);
  checkInputNorm(opts.inputNorm, w.cin, label);
  const [, h, wd] = input.shape as [number, number, number];
  const rows = opts.rows ?? h;
  if (!Number.isInteger(rows) || rows < 1 || rows > h || h > rows + 1) {
    throw new InvalidArgumentError(`${label}: rows ${rows} must be the input's ${h} rows or one fewer`);
  }
  if (w.kernel === 'subgroup') {
    const out = outputTensor(rec, opts.output, [w.cout, 2 * rows, 2 * wd], label);
    await dispatchConvTranspose2dSg(rec, {
      input, output: out, weight: w.weight, bias: w.bias, stats: opts.inputNorm?.stats ?? null, relu: opts.inputNorm?.relu ?? false,
      cin: w.cin, cout: w.cout, paddedCout: w.paddedCout, rows, label,
    });
    return out;
  }
  const { qx, cob } = convTranspose2dTilingFor(w, wd);
  const blocksX = Math.ceil(wd / qx);
  const blocks = rows * blocksX;
  const wg = workgroupSizeFor(blocks);
  const kernel = await rec.kernel({
    shader: 'conv_transpose2d',
    defines: {
      QX: qx,
      COB: cob,
      NORM: opts.inputNorm ? (opts.inputNorm.relu ? 2 : 1) : 0,
      HAS_BIAS: w.bias !== null,
      WG: wg,
    },
  });
  const out = outputTensor(rec, opts.output, [w.cout, 2 * rows, 2 * wd], label);
  const grid = flatGrid(blocks, wg);
  rec.dispatch(kernel, {
    label,
    // Unused bindings (no bias / no norm) get the weight buffer: the layout still names them.
    bindings: { x: input, weight: w.weight, bias: w.bias ?? w.weight, stats: opts.inputNorm?.stats ?? w.weight, y: out },
    uniforms: { cin: w.cin, inH: h, inW: wd, cout: w.cout, blocksX, blocks, pitch: grid.pitch, outH: 2 * rows },
    workgroups: [grid.workgroups[0], grid.workgroups[1], w.coutBlocks],
  });
  return out;
}
