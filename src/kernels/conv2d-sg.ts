import type { HostTensor } from '../nerco/host-tensor.js';
import type { Recorder } from '../runtime/recorder.js';
import type { GpuTensor } from '../runtime/tensor.js';
import { packF16Pair } from './f16.js';
import { flatGrid } from './grid.js';

/**
 * Host side of shaders/conv2d_sg.wgsl, the 3×3 conv that shares its input window across groups
 * of 8 subgroup lanes (one output channel per lane). Used by conv2d() for every 3×3 layer when the
 * device has subgroups of ≥ 8 lanes (Runtime.hasSubgroups8).
 */

/** Invocations per workgroup: 8 groups of 8 lanes, i.e. 64 output channels per workgroup. */
export const CONV2D_SG_WG = 64;
const CHANNELS_PER_WORKGROUP = CONV2D_SG_WG;

/** The output tile of one group of 8 lanes. */
export interface Conv2dSgTile {
  readonly px: number;
  readonly py: number;
}

/**
 * Tile shape per call. Per input channel a group loads its tile's input window
 * (((py−1)·s+3)·((px−1)·s+3) values, spread over 8 lanes) and 9 taps per lane, for 9·px·py
 * multiply-adds per lane: bigger tiles need fewer loads per multiply-add, until the accumulators
 * (px·py per lane) no longer fit in registers. 8×4 measured best on lavapipe at NeRCo's shapes
 * (bench/kernels/conv.ts); narrow or short maps get narrower/shorter tiles so that fewer lanes work
 * on clamped, never-stored outputs.
 */
export function conv2dSgTileFor(outH: number, outW: number): Conv2dSgTile {
  return { px: outW <= 4 ? 4 : 8, py: Math.min(4, outH) };
}

/** Output channels per lane (the shader's CL), fixed by the weight packing. */
export type Conv2dSgLaneChannels = 1 | 2;

/**
 * Weights repacked as [group of 8 output channels][ci][tap][lane] f32, or with `f16` (Cin even)
 * as [group][ci/2][tap][lane] u32 pairs (ci, ci+1) of f16; Cout padded to whole workgroups.
 */
export function packConv2dSgWeights(weight: HostTensor, f16 = false, cl: Conv2dSgLaneChannels = 1): { packed: Float32Array | Uint32Array; paddedCout: number } {
  const [cout, cin, k] = weight.shape as [number, number, number, number];
  const perWorkgroup = CHANNELS_PER_WORKGROUP * cl;
  const paddedCout = Math.ceil(cout / perWorkgroup) * perWorkgroup;
  const taps = k * k;
  const src = weight.data;
  // Output channel o is lane o % 8 of sub-block c = (o / 8) % cl of group o / (8·cl).
  const slot = (o: number) => ({ g: Math.floor(o / (8 * cl)), c: Math.floor(o / 8) % cl, l: o % 8 });
  if (f16) {
    const packed = new Uint32Array((paddedCout * cin * taps) / 2);
    for (let o = 0; o < cout; o++) {
      const { g, c, l } = slot(o);
      for (let ci = 0; ci < cin; ci += 2) {
        for (let t = 0; t < taps; t++) {
          packed[(((g * (cin / 2) + ci / 2) * taps + t) * cl + c) * 8 + l] = packF16Pair(src[(o * cin + ci) * taps + t]!, src[(o * cin + ci + 1) * taps + t]!);
        }
      }
    }
    return { packed, paddedCout };
  }
  const packed = new Float32Array(paddedCout * cin * taps);
  for (let o = 0; o < cout; o++) {
    const { g, c, l } = slot(o);
    for (let ci = 0; ci < cin; ci++) {
      for (let t = 0; t < taps; t++) packed[(((g * cin + ci) * taps + t) * cl + c) * 8 + l] = src[(o * cin + ci) * taps + t]!;
    }
  }
  return { packed, paddedCout };
}

export interface Conv2dSgCall {
  readonly input: GpuTensor;
  readonly output: GpuTensor;
  readonly weight: GpuTensor;
  readonly bias: GpuTensor | null;
  readonly stats: GpuTensor | null;
  readonly relu: boolean;
  /** f16 pairs: the weights; the input / output tensors (channel-pair packed). */
  readonly weightF16: boolean;
  readonly inputF16: boolean;
  readonly outputF16: boolean;
  /** Output channels per lane the weights are packed for. */
  readonly laneChannels: Conv2dSgLaneChannels;
  readonly cin: number;
  readonly cout: number;
  /** Kernel size: 3 or 7. */
  readonly k: number;
  readonly paddedCout: number;
  readonly stride: 1 | 2;
  readonly pad: number;
  readonly padMode: 'zero' | 'reflect';
  readonly activationCode: number;
  /** Output rows and columns written, and the band geometry (unbanded: imgH = input rows, 0, 0). */
  readonly outH: number;
  readonly outW: number;
  readonly imgH: number;
  readonly inRow0: number;
  readonly outRow0: number;
  readonly label: string;
}

/** Records one conv2d_sg dispatch (shapes already checked by conv2d()). */
export async function dispatchConv2dSg(rec: Recorder, c: Conv2dSgCall): Promise<void> {
  const [, inH, inW] = c.input.shape as [number, number, number];
  const { px, py } = conv2dSgTileFor(c.outH, c.outW);
  const cl = c.laneChannels;
  const tilesX = Math.ceil(c.outW / px);
  const tiles = Math.ceil(c.outH / py) * tilesX;
  const kernel = await rec.kernel({
    shader: 'conv2d_sg',
    subgroups: true,
    defines: {
      K: c.k,
      PX: px,
      PY: py,
      STRIDE: c.stride,
      PAD_MODE: c.pad === 0 ? 0 : c.padMode === 'zero' ? 1 : 2,
      NORM: c.stats ? (c.relu ? 2 : 1) : 0,
      HAS_BIAS: c.bias !== null,
      ACT: c.activationCode,
      WG: CONV2D_SG_WG,
      X_F16: c.inputF16,
      W_F16: c.weightF16,
      Y_F16: c.outputF16,
      CL: cl,
    },
  });
  // One workgroup per tile and 64 output channels: tiles folded into x/y past 65535.
  const grid = flatGrid(tiles, 1);
  rec.dispatch(kernel, {
    label: c.label,
    // Unused bindings (no bias / no norm) get the weight buffer: the layout still names them.
    bindings: { x: c.input, weight: c.weight, bias: c.bias ?? c.weight, stats: c.stats ?? c.weight, y: c.output },
    uniforms: {
      cin: c.cin, inH, inW, cout: c.cout, outH: c.outH, outW: c.outW, pad: c.pad,
      tilesX, tiles, tilePitch: grid.pitch, imgH: c.imgH, inRow0: c.inRow0, outRow0: c.outRow0,
    },
    workgroups: [grid.workgroups[0], grid.workgroups[1], c.paddedCout / (CHANNELS_PER_WORKGROUP * cl)],
  });
}
