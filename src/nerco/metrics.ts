/**
 * Full-reference image quality metrics on 8-bit interleaved RGB. Browser-safe.
 *
 * Definitions (the ones low-light enhancement papers report, computed in float64):
 * - PSNR = 10·log10(255² / MSE), MSE over all pixels and all three channels together.
 * - SSIM (Wang et al. 2004) as `skimage.metrics.structural_similarity(a, b, channel_axis=2,
 *   gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)`, which is also
 *   what MATLAB's `ssim` computes per channel:
 *   - each channel separately, on its 0–255 values (no conversion to gray / Y);
 *   - local statistics with an 11×11 Gaussian window, σ = 1.5 (separable, 1-D weights
 *     exp(−x²/(2σ²)) for x = −5…5, normalised to sum 1);
 *   - population (biased) local variances and covariance: σx² = E[x²] − E[x]², etc.;
 *   - C1 = (0.01·255)², C2 = (0.03·255)²;
 *     S = ((2μxμy + C1)(2σxy + C2)) / ((μx² + μy² + C1)(σx² + σy² + C2));
 *   - only "valid" windows (those entirely inside the image, i.e. centres at least 5 px from every
 *     border; skimage filters with reflection and then crops those 5 px, which is the same);
 *   - the result is the mean of S over the valid centres, then the mean over the 3 channels.
 */
import { InvalidArgumentError } from '../errors.js';

const SSIM_SIGMA = 1.5;
const SSIM_RADIUS = 5; // int(3.5·σ + 0.5): skimage's truncate = 3.5
const SSIM_WINDOW = 2 * SSIM_RADIUS + 1;
const SSIM_C1 = (0.01 * 255) ** 2;
const SSIM_C2 = (0.03 * 255) ** 2;

const GAUSSIAN_1D: Float64Array = (() => {
  const k = new Float64Array(SSIM_WINDOW);
  let sum = 0;
  for (let i = 0; i < SSIM_WINDOW; i++) {
    const x = i - SSIM_RADIUS;
    k[i] = Math.exp((-0.5 / (SSIM_SIGMA * SSIM_SIGMA)) * x * x);
    sum += k[i];
  }
  for (let i = 0; i < SSIM_WINDOW; i++) k[i] /= sum;
  return k;
})();

/** Mean squared error over all bytes of two equally sized images. */
export function mse(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length || a.length === 0) {
    throw new InvalidArgumentError(`images differ in size (${a.length} vs ${b.length} bytes) or are empty`);
  }
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    sum += d * d;
  }
  return sum / a.length;
}

/** PSNR in dB for 8-bit data (peak 255); Infinity when the images are identical. */
export function psnr(a: Uint8Array, b: Uint8Array): number {
  const m = mse(a, b);
  return m === 0 ? Infinity : 10 * Math.log10((255 * 255) / m);
}

/** 'Valid' horizontal Gaussian filtering of a w×h plane: h × (w − 10) values. */
function filterRows(src: Float64Array, w: number, h: number): Float64Array {
  const vw = w - 2 * SSIM_RADIUS;
  const out = new Float64Array(h * vw);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < vw; x++) {
      let s = 0;
      for (let k = 0; k < SSIM_WINDOW; k++) s += GAUSSIAN_1D[k] * src[row + x + k];
      out[y * vw + x] = s;
    }
  }
  return out;
}

/** 'Valid' vertical Gaussian filtering of a w×h plane: (h − 10) × w values. */
function filterColumns(src: Float64Array, w: number, h: number): Float64Array {
  const vh = h - 2 * SSIM_RADIUS;
  const out = new Float64Array(vh * w);
  for (let y = 0; y < vh; y++) {
    for (let k = 0; k < SSIM_WINDOW; k++) {
      const g = GAUSSIAN_1D[k];
      const row = (y + k) * w;
      const o = y * w;
      for (let x = 0; x < w; x++) out[o + x] += g * src[row + x];
    }
  }
  return out;
}

/**
 * One channel's five local moments over the valid window centres, each a (w − 10)·(h − 10) map:
 * μx, μy, E[x²], E[y²], E[xy].
 */
function localMoments(a: Uint8Array, b: Uint8Array, w: number, h: number, c: number): Float64Array[] {
  const n = w * h;
  const planes = Array.from({ length: 5 }, () => new Float64Array(n));
  const [px, py, pxx, pyy, pxy] = planes;
  for (let i = 0; i < n; i++) {
    const p = a[3 * i + c], q = b[3 * i + c];
    px[i] = p; py[i] = q; pxx[i] = p * p; pyy[i] = q * q; pxy[i] = p * q;
  }
  const vw = w - 2 * SSIM_RADIUS;
  return planes.map((plane) => filterColumns(filterRows(plane, w, h), vw, h));
}

/** Mean SSIM of two w×h interleaved RGB images (definition in the file comment); needs w, h ≥ 11. */
export function ssim(a: Uint8Array, b: Uint8Array, w: number, h: number): number {
  if (!Number.isInteger(w) || !Number.isInteger(h) || a.length !== w * h * 3 || b.length !== w * h * 3) {
    throw new InvalidArgumentError(`SSIM needs two ${w}×${h} RGB images (got ${a.length} and ${b.length} bytes)`);
  }
  if (w < SSIM_WINDOW || h < SSIM_WINDOW) {
    throw new InvalidArgumentError(`SSIM needs images of at least ${SSIM_WINDOW}×${SSIM_WINDOW}, got ${w}×${h}`);
  }
  let total = 0;
  for (let c = 0; c < 3; c++) {
    const [mx, my, exx, eyy, exy] = localMoments(a, b, w, h, c);
    let sum = 0;
    for (let i = 0; i < mx.length; i++) {
      const ux = mx[i], uy = my[i];
      const vx = exx[i] - ux * ux;
      const vy = eyy[i] - uy * uy;
      const vxy = exy[i] - ux * uy;
      sum += ((2 * ux * uy + SSIM_C1) * (2 * vxy + SSIM_C2)) /
        ((ux * ux + uy * uy + SSIM_C1) * (vx + vy + SSIM_C2));
    }
    total += sum / mx.length;
  }
  return total / 3;
}
