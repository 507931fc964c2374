import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import {
  INPUT_LUT, fitImage, pillowBicubicResize, prepareInput, reflectPadRGB, toNetworkInput,
} from '../../src/nerco/preprocess.js';

/** A w×h RGB image whose R channel is the column, G the row, B a constant. */
function coordImage(w: number, h: number): Uint8Array {
  const rgb = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      rgb.set([x, y, 200], (y * w + x) * 3);
    }
  }
  return rgb;
}

function column(img: { width: number; data: Uint8Array }, y: number, channel: number): number[] {
  return Array.from({ length: img.width }, (_, x) => img.data[(y * img.width + x) * 3 + channel]);
}

describe('reflectPadRGB', () => {
  it('reflects without repeating the edge (PyTorch ReflectionPad, NERCO.md §7.1 example)', () => {
    const padded = reflectPadRGB(coordImage(5, 2), 5, 2, 3, 1);
    expect(padded.width).toBe(8);
    expect(padded.height).toBe(3);
    expect(column(padded, 0, 0)).toEqual([0, 1, 2, 3, 4, 3, 2, 1]);
    // Bottom row reflects row 0 (h = 2: row index 2 ↦ 0), on both axes at the corner.
    expect(column(padded, 2, 1)).toEqual(Array(8).fill(0));
    expect(column(padded, 1, 1)).toEqual(Array(8).fill(1));
  });

  it('keeps reflecting back and forth when the pad exceeds the size', () => {
    const padded = reflectPadRGB(coordImage(3, 1), 3, 1, 9, 0);
    // period 2(n−1) = 4: 0 1 2 1 0 1 2 1 0 1 2 1
    expect(column(padded, 0, 0)).toEqual([0, 1, 2, 1, 0, 1, 2, 1, 0, 1, 2, 1]);
  });

  it('repeats a single pixel (nothing to reflect)', () => {
    const padded = reflectPadRGB(new Uint8Array([9, 8, 7]), 1, 1, 3, 2);
    expect(padded.width * padded.height).toBe(12);
    for (let i = 0; i < 12; i++) expect(Array.from(padded.data.subarray(3 * i, 3 * i + 3))).toEqual([9, 8, 7]);
  });
});

describe('toNetworkInput', () => {
  it('is planar R, G, B through the LUT', () => {
    const rgb = new Uint8Array([0, 1, 2, 253, 254, 255]);
    const chw = toNetworkInput(rgb, 2, 1);
    expect(Array.from(chw)).toEqual([0, 253, 1, 254, 2, 255].map((u) => INPUT_LUT[u]));
  });
});

describe('prepareInput / fitImage', () => {
  it("'resize' leaves multiple-of-4 sizes untouched and crops to the network size", () => {
    const rgb = coordImage(12, 8);
    const p = prepareInput(rgb, 12, 8, 'resize');
    expect([p.netW, p.netH, p.crop]).toEqual([12, 8, { w: 12, h: 8 }]);
    expect(Array.from(p.chw)).toEqual(Array.from(toNetworkInput(rgb, 12, 8)));
  });

  it("'resize' resamples other sizes with Pillow bicubic and keeps the network size", () => {
    const rgb = coordImage(10, 7);
    const p = prepareInput(rgb, 10, 7, 'resize');
    expect([p.netW, p.netH, p.crop]).toEqual([8, 8, { w: 8, h: 8 }]);
    expect(Array.from(p.chw)).toEqual(Array.from(toNetworkInput(pillowBicubicResize(rgb, 10, 7, 8, 8), 8, 8)));
  });

  it("'pad' reflect-pads right/bottom and crops back to the original size", () => {
    const rgb = coordImage(13, 9);
    const fitted = fitImage({ width: 13, height: 9, data: rgb }, 'pad');
    expect([fitted.image.width, fitted.image.height, fitted.crop]).toEqual([16, 12, { w: 13, h: 9 }]);
    for (let y = 0; y < 9; y++) {
      expect(Array.from(fitted.image.data.subarray(y * 16 * 3, y * 16 * 3 + 13 * 3)))
        .toEqual(Array.from(rgb.subarray(y * 13 * 3, (y + 1) * 13 * 3)));
    }
    const p = prepareInput(rgb, 13, 9, 'pad');
    expect([p.netW, p.netH, p.crop]).toEqual([16, 12, { w: 13, h: 9 }]);
  });

  it("'pad' accepts tiny images that 'resize' rejects", () => {
    for (const [w, h] of [[1, 1], [2, 5], [5, 3]]) {
      const p = prepareInput(coordImage(w, h), w, h, 'pad');
      expect([p.netW, p.netH]).toEqual([8, 8]);
      expect(p.crop).toEqual({ w, h });
    }
  });

  it("'resize' rejects images that end up below 8×8 with a clear InvalidArgumentError", () => {
    for (const [w, h] of [[1, 40], [40, 2], [5, 40], [40, 4], [2, 2]]) {
      let error: unknown;
      try { prepareInput(coordImage(w, h), w, h, 'resize'); } catch (err) { error = err; }
      expect(error, `${w}×${h}`).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toMatch(new RegExp(`${w}×${h} px.*at least 8×8.*'pad'`));
    }
    // 6 and 7 round up to 8 and are accepted.
    expect(prepareInput(coordImage(6, 7), 6, 7, 'resize').netW).toBe(8);
  });

  it('rejects a buffer of the wrong length', () => {
    expect(() => prepareInput(new Uint8Array(10), 2, 2, 'pad')).toThrow(InvalidArgumentError);
  });
});
