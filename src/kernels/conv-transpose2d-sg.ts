import type { HostTensor } from '../nerco/host-tensor.js';
import type { Recorder } from '../runtime/recorder.js';
import type { GpuTensor } from '../runtime/tensor.js';
import { flatGrid } from './grid.js';

/**
 * Host side of shaders/conv_transpose2d_sg.wgsl (the k3 s2 transposed conv with its input window
 * shared across groups of 8 subgroup lanes, one output channel per lane). Used by
 * convTranspose2d() when the device has subgroups of ≥ 8 lanes (Runtime.hasSubgroups8).
 */

/** Invocations per workgroup: 8 groups of 8 lanes, 64 output channels. */
const WG = 64;

/**
 * The input tile of one group: QY rows × QX columns (a 2QY × 2QX output block). Per input channel
 * a group loads (QY+1)·(QX+1) values and each lane 9 taps, for 9·QX·QY multiply-adds per lane;
 * 8×2 keeps the 4·QX·QY accumulators in registers.
 */
export function convTranspose2dSgTileFor(rows: number, inW: number): { qx: number; qy: number } {
  return { qx: inW <= 4 ? 4 : 8, qy: Math.min(2, rows) };
}

/** Weights [Cin, Cout, 3, 3] repacked as [group of 8 output channels][ci][tap][lane], Cout padded to whole workgroups. */
export function packConvTranspose2dSgWeights(weight: HostTensor): { packed: Float32Array; paddedCout: number } {
  const [cin, cout] = weight.shape as [number, number, number, number];
  const paddedCout = Math.ceil(cout / WG) * WG;
  const packed = new Float32Array(paddedCout * cin * 9);
  const src = weight.data;
  for (let o = 0; o < cout; o++) {
    const base = (o >> 3) * cin * 72 + (o & 7);
    for (let ci = 0; ci < cin; ci++) {
      for (let t = 0; t < 9; t++) packed[base + (ci * 9 + t) * 8] = src[(ci * cout + o) * 9 + t]!;
    }
  }
  return { packed, paddedCout };
}

export interface ConvTranspose2dSgCall {
  readonly input: GpuTensor;
  readonly output: GpuTensor;
  readonly weight: GpuTensor;
  readonly bias: GpuTensor | null;
  readonly stats: GpuTensor | null;
  readonly relu: boolean;
  readonly cin: number;
  readonly cout: number;
  readonly paddedCout: number;
  /** Input rows processed (the output has 2·rows rows). */
  readonly rows: number;
  readonly label: string;
}

/** Records one conv_transpose2d_sg dispatch (shapes already checked by convTranspose2d()). */
export async function dispatchConvTranspose2dSg(rec: Recorder, c: ConvTranspose2dSgCall): Promise<void> {
  const [, inH, inW] = c.input.shape as [number, number, number];
  const { qx, qy } = convTranspose2dSgTileFor(c.rows, inW);
  const tilesX = Math.ceil(inW / qx);
  const tiles = Math.ceil(c.rows / qy) * tilesX;
  const kernel = await rec.kernel({
    shader: 'conv_transpose2d_sg',
    subgroups: true,
    defines: { QX: qx, QY: qy, NORM: c.stats ? (c.relu ? 2 : 1) : 0, HAS_BIAS: c.bias !== null, WG },
  });
  const grid = flatGrid(tiles, 1);
  rec.dispatch(kernel, {
    label: c.label,
    bindings: { x: c.input, weight: c.weight, bias: c.bias ?? c.weight, stats: c.stats ?? c.weight, y: c.output },
    uniforms: { cin: c.cin, inH, inW, cout: c.cout, rows: c.rows, tilesX, tiles, tilePitch: grid.pitch },
    workgroups: [grid.workgroups[0], grid.workgroups[1], c.paddedCout / WG],
  });
}
