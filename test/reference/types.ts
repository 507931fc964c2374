/** Shapes used by the CPU reference. Every tensor is NCHW with N = 1, so a shape is [C, H, W]. */
export type Shape3 = readonly [number, number, number];

/** Convolution weight shape [Cout, Cin, kh, kw] (ConvTranspose: [Cin, Cout, kh, kw]). */
export type Shape4 = readonly [number, number, number, number];

/** A Linear layer: y = W·x + b with W stored [out, in] row-major (out = bias.length). */
export interface LinearLayer {
  weight: Float32Array;
  bias: Float32Array;
}

export function numel3(shape: Shape3): number {
  return shape[0] * shape[1] * shape[2];
}
