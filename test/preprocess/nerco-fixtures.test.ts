/**
 * The three NeRCo fixture cases (made by the original PyTorch code): decoding + §3 pre-processing
 * must reproduce `input.npy` bit for bit, and §8 post-processing of `fake_B.npy` must reproduce
 * `out.png`. resize-50x62 is a 62×50 image, so it exercises the bicubic path (→ 64×48).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readNpy } from '../helpers/npy.js';
import { sharedPath } from '../helpers/shared-path.js';
import { decodeImageFile, decodePNG } from '../../src/node/image-io.js';
import { prepareInput } from '../../src/nerco/preprocess.js';
import { fakeBToRGB8 } from '../../src/nerco/postprocess.js';

const CASES = ['dark-40x56', 'dark-48x64', 'resize-50x62'];
const fixture = (name: string, file: string): string => sharedPath('fixtures', 'nerco-random', name, file);

describe.each(CASES)('fixture %s', (name) => {
  const meta = JSON.parse(readFileSync(fixture(name, 'meta.json'), 'utf8')) as {
    source_size_wh: [number, number]; network_size_hw: [number, number];
  };

  it('decode + prepareInput(resize) equals input.npy bit for bit', async () => {
    const img = await decodeImageFile(fixture(name, 'input.png'));
    expect([img.width, img.height]).toEqual(meta.source_size_wh);
    const prepared = prepareInput(img.data, img.width, img.height, 'resize');
    const [h, w] = meta.network_size_hw;
    expect([prepared.netH, prepared.netW]).toEqual([h, w]);
    expect(prepared.crop).toEqual({ w, h });
    const ref = readNpy(fixture(name, 'input.npy'));
    expect(ref.shape).toEqual([1, 3, h, w]);
    expect(prepared.chw.length).toBe(ref.data.length);
    // Compare the bit patterns, so that −0/+0 or NaN payloads could not hide a difference.
    const got = new Uint32Array(prepared.chw.buffer, prepared.chw.byteOffset, prepared.chw.length);
    const want = new Uint32Array(ref.data.buffer, ref.data.byteOffset, ref.data.length);
    let differing = 0;
    for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) differing++;
    expect(differing).toBe(0);
  });

  it('fakeBToRGB8(fake_B.npy, truncate) equals out.png exactly', () => {
    // out.png was written from this very fake_B tensor by tensor2im (f32 arithmetic, truncation),
    // so the same f32 data must give the same bytes: no tolerance.
    const fakeB = readNpy(fixture(name, 'fake_B.npy'));
    const [, , h, w] = fakeB.shape;
    const out = decodePNG(readFileSync(fixture(name, 'out.png')), 'out.png');
    expect([out.width, out.height]).toEqual([w, h]);
    const rgb = fakeBToRGB8(fakeB.data, w, h, 'truncate');
    let differing = 0;
    for (let i = 0; i < rgb.length; i++) if (rgb[i] !== out.data[i]) differing++;
    expect(differing).toBe(0);
  });
});
