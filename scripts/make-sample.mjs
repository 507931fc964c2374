// Renders the bundled sample: a procedural street scene, then darkens it like an underexposed
// camera capture (linear-light exposure ×0.06, sRGB-like tone curve, Poisson–Gaussian noise,
// 8-bit quantisation). The project made this image itself, so it may ship with the package.
import { writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';

const W = 384, H = 256;
let seed = 20261125;
const rand = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());

const img = new Float64Array(W * H * 3); // linear light, 0..1
const put = (x, y, rgb) => { const i = (y * W + x) * 3; img[i] = rgb[0]; img[i + 1] = rgb[1]; img[i + 2] = rgb[2]; };
const toLin = (c) => (c / 255) ** 2.2;
const rect = (x0, y0, x1, y1, rgb, shade = 0) => {
  for (let y = Math.max(0, y0); y < Math.min(H, y1); y++) for (let x = Math.max(0, x0); x < Math.min(W, x1); x++) {
    const s = 1 - shade * (x - x0) / Math.max(1, x1 - x0);
    put(x, y, rgb.map((c) => toLin(c) * s));
  }
};
const disc = (cx, cy, r, rgb) => {
  for (let y = cy - r; y <= cy + r; y++) for (let x = cx - r; x <= cx + r; x++) {
    if (x < 0 || y < 0 || x >= W || y >= H) continue;
    const d = Math.hypot(x - cx, y - cy) / r;
    if (d <= 1) put(x, y, rgb.map((c) => toLin(c) * (1 - 0.35 * d * d)));
  }
};
for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
  const t = y / H;
  put(x, y, [toLin(90 + 100 * t), toLin(140 + 80 * t), toLin(220 - 40 * t)]); // sky
}
rect(0, 190, W, H, [120, 118, 110]);                       // street
for (let x = 0; x < W; x += 48) rect(x + 10, 220, x + 34, 226, [235, 230, 200]); // lane marks
const houses = [[8, 90, 110, 190, [196, 120, 90]], [118, 60, 210, 190, [220, 200, 150]], [218, 110, 300, 190, [110, 150, 190]], [306, 80, 380, 190, [170, 90, 120]]];
for (const [x0, y0, x1, y1, c] of houses) {
  rect(x0, y0, x1, y1, c, 0.25);
  rect(x0 - 4, y0 - 10, x1 + 4, y0, [80, 60, 60]); // roof
  for (let wy = y0 + 12; wy < y1 - 30; wy += 28) for (let wx = x0 + 10; wx < x1 - 18; wx += 26) rect(wx, wy, wx + 14, wy + 16, [250, 230, 160]);
  rect(Math.floor((x0 + x1) / 2) - 8, y1 - 30, Math.floor((x0 + x1) / 2) + 8, y1, [90, 60, 40]); // door
}
disc(40, 40, 18, [250, 250, 235]);                          // moon
for (const [cx, cy] of [[112, 170], [214, 165], [302, 172]]) { rect(cx - 3, cy, cx + 3, 190, [90, 60, 30]); disc(cx, cy - 8, 14, [60, 150, 70]); }

const png = new PNG({ width: W, height: H });
for (let i = 0, p = 0; i < img.length; i += 3, p += 4) {
  for (let c = 0; c < 3; c++) {
    const photons = img[i + c] * 0.06 * 900;                  // exposure, then shot noise
    const noisy = (photons + Math.sqrt(Math.max(photons, 0)) * gauss()) / 900 + 0.002 * gauss();
    const v = Math.max(0, noisy) ** (1 / 2.2);                // tone curve
    png.data[p + c] = Math.max(0, Math.min(255, Math.round(v * 255)));
  }
  png.data[p + 3] = 255;
}
writeFileSync(new URL('../samples/dark-street.png', import.meta.url), PNG.sync.write(png, { colorType: 2 }));
