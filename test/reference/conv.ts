import { checkLength, checkShape3, checkShape4, ensure } from './check.js';
import { paddedShape, reflectPad, zeroPad } from './pad.js';
import type { Shape3, Shape4 } from './types.js';

export type PadMode = 'zero' | 'reflect';

export interface Conv2dOptions {
  stride?: number;
  pad?: number;
  /** 'zero' (the conv's own padding, NERCO.md §7.2) or 'reflect' (a ReflectionPad2d before a p0 conv). */
  padMode?: PadMode;
}

/** Output length of a conv along one axis: floor((n + 2p − k)/s) + 1. */
export function conv2dOutputSize(n: number, k: number, stride: number, pad: number): number {
  return Math.floor((n + 2 * pad - k) / stride) + 1;
}

export function conv2dOutputShape(xShape: Shape3, wShape: Shape4, opts: Conv2dOptions = {}): Shape3 {
  const stride = opts.stride ?? 1;
  const pad = opts.pad ?? 0;
  return [
    wShape[0],
    conv2dOutputSize(xShape[1], wShape[2], stride, pad),
    conv2dOutputSize(xShape[2], wShape[3], stride, pad),
  ];
}

/**
 * Conv2d (cross-correlation), NERCO.md §7.2:
 * out[o,y,x] = b[o] + Σ_{i,ky,kx} W[o,i,ky,kx] · X[i, s·y+ky−p, s·x+kx−p],
 * with X zero- or reflect-padded by p. Sums in float64, result rounded once to float32.
 */
export function conv2d(
  x: Float32Array,
  xShape: Shape3,
  weight: Float32Array,
  wShape: Shape4,
  bias: Float32Array | null,
  opts: Conv2dOptions = {},
): Float32Array {
  checkShape3('conv2d input', xShape);
  checkShape4('conv2d weight', wShape);
  checkLength('conv2d input', x, xShape);
  checkLength('conv2d weight', weight, wShape);
  const stride = opts.stride ?? 1;
  const pad = opts.pad ?? 0;
  const padMode = opts.padMode ?? 'zero';
  const [cout, cin, kh, kw] = wShape;
  ensure(xShape[0] === cin, `conv2d: input has ${xShape[0]} channels, weight expects ${cin}`);
  ensure(bias === null || bias.length === cout, `conv2d: bias length ${bias?.length} ≠ Cout ${cout}`);
  ensure(Number.isInteger(stride) && stride >= 1, `conv2d: bad stride ${stride}`);

  const xp = pad === 0 ? x : padMode === 'reflect' ? reflectPad(x, xShape, pad) : zeroPad(x, xShape, pad);
  const [, hp, wp] = paddedShape(xShape, pad);
  const [, ho, wo] = conv2dOutputShape(xShape, wShape, { stride, pad });
  ensure(ho >= 1 && wo >= 1, `conv2d: kernel ${kh}×${kw} does not fit the padded input ${hp}×${wp}`);

  return convValid(xp, [cin, hp, wp], weight, wShape, bias, stride, ho, wo);
}

/** Elements of the im2col block built at a time; bounds memory for large inputs. */
const IM2COL_BLOCK = 1 << 22;

/**
 * Valid (unpadded) strided convolution. Works on blocks of output rows: im2col copies the
 * receptive fields into rows col[(i·kh+ky)·kw+kx][pixel], then each output channel is a sum of
 * weight × row, so the innermost loop runs over contiguous pixels even for small feature maps.
 */
function convValid(
  xp: Float32Array,
  xShape: Shape3,
  weight: Float32Array,
  wShape: Shape4,
  bias: Float32Array | null,
  stride: number,
  ho: number,
  wo: number,
): Float32Array {
  const [cout, cin, kh, kw] = wShape;
  const [, hp, wp] = xShape;
  const taps = cin * kh * kw;
  const rowsPerBlock = Math.max(1, Math.min(ho, Math.floor(IM2COL_BLOCK / (taps * wo))));
  const out = new Float32Array(cout * ho * wo);
  const col = new Float32Array(taps * rowsPerBlock * wo);
  const acc = new Float64Array(rowsPerBlock * wo);
  for (let y0 = 0; y0 < ho; y0 += rowsPerBlock) {
    const rows = Math.min(rowsPerBlock, ho - y0);
    const n = rows * wo;
    for (let i = 0; i < cin; i++) {
      for (let ky = 0; ky < kh; ky++) {
        for (let kx = 0; kx < kw; kx++) {
          const base = ((i * kh + ky) * kw + kx) * n;
          for (let r = 0; r < rows; r++) {
            const src = (i * hp + (y0 + r) * stride + ky) * wp + kx;
            const dst = base + r * wo;
            for (let xo = 0; xo < wo; xo++) col[dst + xo] = xp[src + xo * stride];
          }
        }
      }
    }
    for (let o = 0; o < cout; o++) {
      acc.fill(bias === null ? 0 : bias[o], 0, n);
      const wRow = o * taps;
      let t = 0;
      for (; t + 4 <= taps; t += 4) {
        const w0 = weight[wRow + t];
        const w1 = weight[wRow + t + 1];
        const w2 = weight[wRow + t + 2];
        const w3 = weight[wRow + t + 3];
        const c0 = t * n;
        const c1 = c0 + n;
        const c2 = c1 + n;
        const c3 = c2 + n;
        for (let p = 0; p < n; p++) acc[p] += w0 * col[c0 + p] + w1 * col[c1 + p] + w2 * col[c2 + p] + w3 * col[c3 + p];
      }
      for (; t < taps; t++) {
        const wv = weight[wRow + t];
        const c0 = t * n;
        for (let p = 0; p < n; p++) acc[p] += wv * col[c0 + p];
      }
      const dst = (o * ho + y0) * wo;
      for (let p = 0; p < n; p++) out[dst + p] = acc[p];
    }
  }
  return out;
}

export interface ConvTranspose2dOptions {
  stride?: number;
  pad?: number;
  outputPadding?: number;
}

/** Output length of a ConvTranspose2d along one axis: (n−1)·s − 2p + k + output_padding. */
export function convTranspose2dOutputSize(n: number, k: number, stride: number, pad: number, outputPadding: number): number {
  return (n - 1) * stride - 2 * pad + k + outputPadding;
}

/**
 * ConvTranspose2d in the scatter form (NERCO.md §7.3), weight layout [Cin, Cout, kh, kw]:
 * every in[i,iy,ix] adds W[i,o,ky,kx]·in into out[o, s·iy−p+ky, s·ix−p+kx], dropping targets
 * outside the output. Defaults are NeRCo's (k3, s2, p1, output_padding 1 → 2H × 2W).
 * The GPU uses the gather form; keeping this one in scatter form makes the two independent.
 */
export function convTranspose2d(
  x: Float32Array,
  xShape: Shape3,
  weight: Float32Array,
  wShape: Shape4,
  bias: Float32Array | null,
  opts: ConvTranspose2dOptions = {},
): Float32Array {
  checkShape3('convTranspose2d input', xShape);
  checkShape4('convTranspose2d weight', wShape);
  checkLength('convTranspose2d input', x, xShape);
  checkLength('convTranspose2d weight', weight, wShape);
  const stride = opts.stride ?? 2;
  const pad = opts.pad ?? 1;
  const outputPadding = opts.outputPadding ?? 1;
  const [cin, cout, kh, kw] = wShape;
  const [, hin, win] = xShape;
  ensure(xShape[0] === cin, `convTranspose2d: input has ${xShape[0]} channels, weight expects ${cin}`);
  ensure(bias === null || bias.length === cout, `convTranspose2d: bias length ${bias?.length} ≠ Cout ${cout}`);
  const ho = convTranspose2dOutputSize(hin, kh, stride, pad, outputPadding);
  const wo = convTranspose2dOutputSize(win, kw, stride, pad, outputPadding);

  const acc = new Float64Array(cout * ho * wo);
  for (let o = 0; o < cout; o++) acc.fill(bias === null ? 0 : bias[o], o * ho * wo, (o + 1) * ho * wo);
  for (let i = 0; i < cin; i++) {
    for (let o = 0; o < cout; o++) {
      for (let ky = 0; ky < kh; ky++) {
        for (let kx = 0; kx < kw; kx++) {
          const wv = weight[((i * cout + o) * kh + ky) * kw + kx];
          // Input columns whose target ox = s·ix − p + kx lands inside [0, wo).
          const ixMin = Math.max(0, Math.ceil((pad - kx) / stride));
          const ixMax = Math.min(win - 1, Math.floor((wo - 1 + pad - kx) / stride));
          for (let iy = 0; iy < hin; iy++) {
            const oy = stride * iy - pad + ky;
            if (oy < 0 || oy >= ho) continue;
            const src = (i * hin + iy) * win;
            const dst = (o * ho + oy) * wo - pad + kx;
            for (let ix = ixMin; ix <= ixMax; ix++) acc[dst + stride * ix] += wv * x[src + ix];
          }
        }
      }
    }
  }
  return Float32Array.from(acc);
}

export function convTranspose2dOutputShape(xShape: Shape3, wShape: Shape4, opts: ConvTranspose2dOptions = {}): Shape3 {
  const stride = opts.stride ?? 2;
  const pad = opts.pad ?? 1;
  const op = opts.outputPadding ?? 1;
  return [
    wShape[1],
    convTranspose2dOutputSize(xShape[1], wShape[2], stride, pad, op),
    convTranspose2dOutputSize(xShape[2], wShape[3], stride, pad, op),
  ];
}
