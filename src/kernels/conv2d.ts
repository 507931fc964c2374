import { InvalidArgumentError } from '../errors.js';
import type { HostTensor } from '../nerco/host-tensor.js';
import type { Recorder } from '../runtime/recorder.js';
import type { Runtime } from '../runtime/runtime.js';
import type { GpuTensor } from '../runtime/tensor.js';
import { flatGrid } from './grid.js';
import { paddedBiasConstant } from './padded-bias.js';
import { dispatchConv2dSg, packConv2dSgWeights } from './conv2d-sg.js';

/**
 * How one invocation's output block is shaped: `px` columns × `py` rows × `cob`·4 output
 * channels. `cob` is baked into the weight packing; `px`/`py` only into the pipeline.
 */
export interface Conv2dTiling {
  readonly px: number;
  readonly py: number;
  readonly cob: number;
}

/**
 * vec4 output-channel groups per invocation unless a tiling is forced. On lavapipe a uniform
 * (weight) load costs about as much as a whole 8-lane gather, so blocks wide in pixels (weights
 * reused across more outputs) beat blocks deep in channels; 1 measured best (bench/kernels/conv.ts).
 */
export const DEFAULT_COB = 1;

/**
 * The block shape for a call when the weights do not force one (measured on lavapipe, see
 * bench/kernels/conv.ts): 8 columns at stride 1, where the input window is shared by the block's
 * taps; 4 at stride 2, where a wide block's window would need twice the loads, and on outputs at
 * most 4 wide (fewer wasted lanes).
 */
export function conv2dTilingFor(w: Conv2dWeights, stride: 1 | 2, outW: number): Conv2dTiling {
  if (w.fixedTiling) return w.fixedTiling;
  const px = stride === 1 && outW > 4 ? 8 : 4;
  return { px, py: 1, cob: w.cob };
}

/**
 * Invocations per workgroup: 64, or fewer (a power of two ≥ 8) when the map has fewer output
 * blocks, so small maps (the 1/4-resolution ResBlocks of a small image) do not run idle lanes:
 * every workgroup runs in full on lavapipe's 8-wide SIMD, live or not.
 */
export function workgroupSizeFor(blocks: number): number {
  let wg = 8;
  while (wg < 64 && wg < blocks) wg *= 2;
  return wg;
}

/**
 * Which kernel a conv's weights are packed for: 'portable' (shaders/conv2d.wgsl, any device) or
 * 'subgroup' (shaders/conv2d_sg.wgsl, 3×3 only, devices with subgroups of ≥ 8 lanes).
 */
export type Conv2dKernel = 'portable' | 'subgroup';

export interface Conv2dWeights {
  readonly cout: number;
  readonly cin: number;
  readonly k: number;
  readonly kernel: Conv2dKernel;
  /**
   * portable: vec4 over 4 output channels, laid out [coutBlock][ky][ci][kx][cob]; subgroup: f32
   * [group of 8 output channels][ci][tap][lane] (src/kernels/conv2d-sg.ts). Cout zero-padded.
   */
  readonly weight: GpuTensor;
  /** Per output channel, zero-padded like the weights; null when the conv has no bias. */
  readonly bias: GpuTensor | null;
  /** Output channels after padding (the packing's). */
  readonly paddedCout: number;
  /**
   * The subgroup kernel's weights stored as f16 pairs (precision 'f16'); such weights also accept
   * f16 (channel-pair packed) inputs and give f16 outputs on request (Conv2dOptions.outputDtype).
   */
  readonly weightF16: boolean;
  /** Subgroup kernel: output channels per lane of the packing (1 or 2). */
  readonly laneChannels: 1 | 2;
  readonly label: string;
  /** vec4 output-channel groups per invocation (the packing's innermost block). */
  readonly cob: number;
  /** Output-channel blocks of cob·4 channels (the dispatch's z). */
  readonly coutBlocks: number;
  /** A block shape forced at prepare time (benchmarks, tests); null: chosen per call. */
  readonly fixedTiling: Conv2dTiling | null;
}

export interface InputNorm {
  /** [C, 2] f32: (mean, invStd) per channel. */
  readonly stats: GpuTensor;
  readonly relu: boolean;
}

export type Activation = 'none' | 'relu' | 'tanh' | 'sigmoid';
export const ACTIVATION_CODE: Readonly<Record<Activation, number>> = { none: 0, relu: 1, tanh: 2, sigmoid: 3 };

export interface Conv2dOptions {
  readonly stride: 1 | 2;
  /** Padding on each side. */
  readonly pad: number;
  /** reflect = ReflectionPad2d(pad) before the conv (NERCO.md §7.1), folded into the loads. */
  readonly padMode: 'zero' | 'reflect';
  /**
   * Instance-norm apply fused into the loads: v = (x − mean)·invStd, then ReLU if relu. Applies
   * to in-range taps (a reflected tap is an in-range value); zero padding stays 0.
   */
  readonly inputNorm?: InputNorm;
  /** Fused epilogue after the bias. */
  readonly activation?: Activation;
  /** Write here (shape [Cout, Ho, Wo]) instead of allocating from the pool. */
  readonly output?: GpuTensor;
  /**
   * 'f16': a channel-pair packed f16 output ([Cout/2][Ho][Wo] u32 of (c, c+1) pairs), for weights
   * with weightF16 and Cout even. Default 'f32'.
   */
  readonly outputDtype?: 'f32' | 'f16';
  /** Run on a row band of a taller image (see ConvRowBand); default: the input is the whole image. */
  readonly band?: ConvRowBand;
}

/**
 * A conv over rows of a taller image (src/nerco/banded.ts): the input tensor holds image rows
 * inRow0 … inRow0+H−1 (every row the band's taps read that lies inside the image), and the output
 * is rows outRow0 … outRow0+outRows−1 of the whole output. Padding, reflect and zero alike, is
 * decided in image coordinates, so a band's output equals the same rows of the unbanded conv.
 */
export interface ConvRowBand {
  readonly imageHeight: number;
  readonly inRow0: number;
  readonly outRow0: number;
  readonly outRows: number;
}

/** Output length of a conv along one axis: floor((n + 2p − k)/s) + 1. */
export function convOutputSize(n: number, k: number, stride: number, pad: number): number {
  return Math.floor((n + 2 * pad - k) / stride) + 1;
}

export interface PrepareConv2dOptions {
  /**
   * 'auto' (default): the subgroup kernel for 3×3 convs when the device has subgroups of ≥ 8
   * lanes (Runtime.hasSubgroups8), else the portable one. A forced `tiling` means 'portable'.
   */
  readonly kernel?: 'auto' | Conv2dKernel;
  /**
   * 'f16' stores the weights as f16 (the subgroup kernel, Cin even; others stay f32). The caller
   * checks the device (Runtime.hasF16): see NeRCo's `precision` option.
   */
  readonly precision?: 'f32' | 'f16';
  /**
   * Subgroup kernel: output channels per lane (1 or 2, default 1). 2 shares each loaded input
   * value between two output channels, which pays off where the input window is large against
   * the taps (the stride-2 down convs); the kernel then needs PY ≤ 4, which it always uses.
   */
  readonly laneChannels?: 1 | 2;
}

/**
 * The kernel prepareConv2d picks for a k×k conv with `cout` outputs on this runtime: the subgroup
 * kernel for 3×3 convs, and for 7×7 ones with at least 32 outputs (the stems; a 3-channel head
 * would leave most of each 8-lane group idle), on devices with subgroups of ≥ 8 lanes.
 */
export function conv2dKernelFor(rt: Runtime, k: number, opts: PrepareConv2dOptions = {}, tiling?: Conv2dTiling, cout = 64): Conv2dKernel {
  const wanted = tiling ? 'portable' : (opts.kernel ?? 'auto');
  if (wanted === 'subgroup' && ((k !== 3 && k !== 7) || !rt.hasSubgroups8)) {
    throw new InvalidArgumentError(`the subgroup conv kernel needs a 3×3 or 7×7 conv and a device with subgroups of ≥ 8 lanes (k = ${k}, subgroups: ${rt.hasSubgroups8})`);
  }
  if (wanted !== 'auto') return wanted;
  return rt.hasSubgroups8 && (k === 3 || (k === 7 && cout >= 32)) ? 'subgroup' : 'portable';
}

/**
 * Repacks a [Cout, Cin, k, k] conv weight for its kernel (see conv2dKernelFor) and uploads it
 * with its bias. Done once per model. `tiling` forces a block shape of the portable kernel (else
 * conv2dTilingFor).
 */
export function prepareConv2d(
  rt: Runtime,
  weight: HostTensor,
  bias: HostTensor | null,
  label: string,
  tiling?: Conv2dTiling,
  opts: PrepareConv2dOptions = {},
): Conv2dWeights {
  if (weight.shape.length !== 4 || weight.shape[2] !== weight.shape[3]) {
    throw new InvalidArgumentError(`${label}: conv2d weight must be [Cout, Cin, k, k], got [${weight.shape.join(', ')}]`);
  }
  const [cout, cin, k] = weight.shape as [number, number, number, number];
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== cout)) {
    throw new InvalidArgumentError(`${label}: conv2d bias must be [${cout}], got [${bias.shape.join(', ')}]`);
  }
  if (tiling) checkTiling(tiling, label);
  const kernel = conv2dKernelFor(rt, k, opts, tiling, cout);
  if (kernel === 'subgroup') {
    const weightF16 = opts.precision === 'f16' && cin % 2 === 0;
    const laneChannels = opts.laneChannels ?? 1;
    const { packed, paddedCout } = packConv2dSgWeights(weight, weightF16, laneChannels);
    const wT = rt.constant(packed, [packed.length], `${label}.weight`);
    const bT = paddedBiasConstant(rt, bias, cout, paddedCout, label);
    return { cout, cin, k, kernel, weight: wT, bias: bT, paddedCout, weightF16, laneChannels, label, cob: 1, coutBlocks: paddedCout / 4, fixedTiling: null };
  }
  // A block of 4 channels per vec4; small Cout (the 3-channel heads) would waste most of a wider block.
  const cob = Math.min(tiling?.cob ?? DEFAULT_COB, Math.ceil(cout / 4));
  const coutBlocks = Math.ceil(cout / (4 * cob));
  const padded = coutBlocks * cob * 4;

  const packed = new Float32Array(padded * cin * k * k);
  const src = weight.data;
  for (let o = 0; o < cout; o++) {
    const cb = Math.floor(o / (4 * cob));
    const c = Math.floor(o / 4) % cob;
    const lane = o % 4;
    for (let ci = 0; ci < cin; ci++) {
      for (let ky = 0; ky < k; ky++) {
        for (let kx = 0; kx < k; kx++) {
          const dst = (((((cb * k + ky) * cin + ci) * k + kx) * cob + c) * 4) + lane;
          packed[dst] = src[((o * cin + ci) * k + ky) * k + kx]!;
        }
      }
    }
  }
  const wT = rt.constant(packed, [packed.length], `${label}.weight`);
  const bT = paddedBiasConstant(rt, bias, cout, padded, label);
  return { cout, cin, k, kernel, weight: wT, bias: bT, paddedCout: padded, weightF16: false, laneChannels: 1, label, cob, coutBlocks, fixedTiling: tiling ? { ...tiling, cob } : null };
}

function checkTiling(t: Conv2dTiling, label: string): void {
  for (const [name, v, max] of [['px', t.px, 16], ['py', t.py, 8], ['cob', t.cob, 8]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > max) throw new InvalidArgumentError(`${label}: tiling.${name} must be an integer in [1, ${max}], got ${v}`);
  }
}

/** Checks an optional fused instance-norm against the channel count it normalises. */
export function checkInputNorm(norm: InputNorm | undefined, channels: number, label: string): void {
  if (!norm) return;
  const s = norm.stats.shape;
  if (s.length !== 2 || s[0] !== channels || s[1] !== 2) {
    throw new InvalidArgumentError(`${label}: inputNorm stats must be [${channels}, 2], got [${s.join(', ')}]`);
  }
}

/** outputTensor for a channel-pair packed f16 output. */
function outputTensorF16(rec: Recorder, given: GpuTensor | undefined, shape: readonly number[], label: string): GpuTensor {
  if (!given) return rec.runtime.tensor(shape, label, 'f16');
  if (given.dtype !== 'f16' || given.shape.length !== shape.length || given.shape.some((d, i) => d !== shape[i])) {
    throw new InvalidArgumentError(`${label}: output tensor must be f16 [${shape.join(', ')}]`);
  }
  return given;
}

/** Checks a caller-given output tensor's shape, or allocates one from the pool. */
export function outputTensor(rec: Recorder, given: GpuTensor | undefined, shape: readonly number[], label: string): GpuTensor {
  if (!given) return rec.runtime.tensor(shape, label);
  if (given.shape.length !== shape.length || given.shape.some((d, i) => d !== shape[i])) {
    throw new InvalidArgumentError(`${label}: output tensor is [${given.shape.join(', ')}], the conv produces [${shape.join(', ')}]`);
  }
  if (given.dtype !== 'f32') throw new InvalidArgumentError(`${label}: output tensor must be f32`);
  return given;
}

/**
 * out = act(conv(norm(input)) + bias), NCHW with N = 1: input [Cin, H, W] → [Cout, Ho, Wo] with
 * Ho = floor((H + 2·pad − k)/stride) + 1 (likewise Wo). The output comes from the runtime's pool
 * unless opts.output is given; the caller releases it.
 */
export async function conv2d(rec: Recorder, w: Conv2dWeights, input: GpuTensor, opts: Conv2dOptions, label = w.label): Promise<GpuTensor> {
  const { stride, pad, padMode } = opts;
  if (input.shape.length !== 3 || input.shape[0] !== w.cin) {
    throw new InvalidArgumentError(`${label}: conv2d input must be [${w.cin}, H, W], got [${input.shape.join(', ')}]`);
  }
  const f16Ok = w.weightF16 && w.cin % 2 === 0;
  if (input.dtype !== 'f32' && !(input.dtype === 'f16' && f16Ok)) throw new InvalidArgumentError(`${label}: conv2d input must be f32 (f16 needs f16 weights)`);
  const outF16 = opts.outputDtype === 'f16';
  if (outF16 && !(w.weightF16 && w.cout % 2 === 0)) throw new InvalidArgumentError(`${label}: an f16 output needs f16 weights and an even Cout`);
  if (stride !== 1 && stride !== 2) throw new InvalidArgumentError(`${label}: stride must be 1 or 2, got ${String(stride)}`);
  if (!Number.isInteger(pad) || pad < 0) throw new InvalidArgumentError(`${label}: pad must be a non-negative integer, got ${pad}`);
  const [, h, wd] = input.shape as [number, number, number];
  const band = opts.band;
  const imgH = band?.imageHeight ?? h;
  if (padMode === 'reflect' && (pad >= imgH || pad >= wd)) {
    // The same rule as PyTorch's ReflectionPad2d: only one reflection is defined.
    throw new InvalidArgumentError(`${label}: reflect padding ${pad} must be less than the input size ${imgH}×${wd}`);
  }
  const imageHo = convOutputSize(imgH, w.k, stride, pad);
  const wo = convOutputSize(wd, w.k, stride, pad);
  if (imageHo < 1 || wo < 1) throw new InvalidArgumentError(`${label}: a ${w.k}×${w.k} kernel does not fit the padded ${imgH}×${wd} input (pad ${pad})`);
  if (band) checkConvBand(band, h, imageHo, (r) => r * stride - pad, (r) => r * stride - pad + w.k - 1, label);
  const ho = band ? band.outRows : imageHo;
  checkInputNorm(opts.inputNorm, w.cin, label);

  if (w.kernel === 'subgroup') {
    const out = outF16 ? outputTensorF16(rec, opts.output, [w.cout, ho, wo], label) : outputTensor(rec, opts.output, [w.cout, ho, wo], label);
    await dispatchConv2dSg(rec, {
      input, output: out, weight: w.weight, bias: w.bias, stats: opts.inputNorm?.stats ?? null, relu: opts.inputNorm?.relu ?? false,
      weightF16: w.weightF16, inputF16: input.dtype === 'f16', outputF16: outF16, laneChannels: w.laneChannels,
      cin: w.cin, cout: w.cout, k: w.k, paddedCout: w.paddedCout, stride, pad, padMode, activationCode: ACTIVATION_CODE[opts.activation ?? 'none'],
      outH: ho, outW: wo, imgH, inRow0: band?.inRow0 ?? 0, outRow0: band?.outRow0 ?? 0, label,
    });
    return out;
  }

  const { px, py, cob } = conv2dTilingFor(w, stride, wo);
  const blocksX = Math.ceil(wo / px);
  const blocks = Math.ceil(ho / py) * blocksX;
  const wg = workgroupSizeFor(blocks);
  const kernel = await rec.kernel({
    shader: 'conv2d',
    defines: {
      K: w.k,
      STRIDE: stride,
      PX: px,
      PY: py,
      COB: cob,
      PAD_MODE: pad === 0 ? 0 : padMode === 'zero' ? 1 : 2,
      NORM: opts.inputNorm ? (opts.inputNorm.relu ? 2 : 1) : 0,
      HAS_BIAS: w.bias !== null,
      ACT: ACTIVATION_CODE[opts.activation ?? 'none'],
      WG: wg,
    },
  });
  const out = outputTensor(rec, opts.output, [w.cout, ho, wo], label);
  const grid = flatGrid(blocks, wg);
  rec.dispatch(kernel, {
    label,
    // Unused bindings (no bias / no norm) get the weight buffer: the layout still names them.
    bindings: { x: input, weight: w.weight, bias: w.bias ?? w.weight, stats: opts.inputNorm?.stats ?? w.weight, y: out },
    uniforms: {
      cin: w.cin, inH: h, inW: wd, cout: w.cout, outH: ho, outW: wo, pad, blocksX, blocks, pitch: grid.pitch,
      imgH, inRow0: band?.inRow0 ?? 0, outRow0: band?.outRow0 ?? 0,
    },
    workgroups: [grid.workgroups[0], grid.workgroups[1], w.coutBlocks],
  });
  return out;
}

/**
 * Checks that a band's input rows cover every in-image row its outputs read: `first(r)`/`last(r)`
 * give the (unpadded) input rows output row r reads, before clamping to the image.
 */
export function checkConvBand(
  band: ConvRowBand,
  inRows: number,
  imageOutRows: number,
  first: (r: number) => number,
  last: (r: number) => number,
  label: string,
): void {
  const { imageHeight, inRow0, outRow0, outRows } = band;
  for (const v of [imageHeight, inRow0, outRow0, outRows]) {
    if (!Number.isInteger(v) || v < 0) throw new InvalidArgumentError(`${label}: band rows must be non-negative integers`);
  }
  if (outRows < 1 || outRow0 + outRows > imageOutRows) {
    throw new InvalidArgumentError(`${label}: output band rows ${outRow0}…${outRow0 + outRows - 1} are outside the ${imageOutRows} output rows`);
  }
  const need0 = Math.max(0, first(outRow0));
  const need1 = Math.min(imageHeight - 1, last(outRow0 + outRows - 1));
  // Reflected taps read mirrored rows, which lie inside [need0, need1] as long as the band holds
  // every row the unreflected window spans within the image: the window includes the mirror axis.
  if (inRow0 > need0 || inRow0 + inRows - 1 < need1 || inRow0 + inRows > imageHeight) {
    throw new InvalidArgumentError(`${label}: input band rows ${inRow0}…${inRow0 + inRows - 1} do not cover rows ${need0}…${need1} of ${imageHeight}`);
  }
}
