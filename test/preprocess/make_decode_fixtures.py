#!/usr/bin/python3
"""One-off generator of the image-decoding fixtures used by image-io.test.ts.

Run from the repository root with Debian's Python (Pillow 9.4 with libwebp and libjpeg-turbo):
    /usr/bin/python3 test/preprocess/make_decode_fixtures.py
Writes test/preprocess/fixtures/decode/: small images in many PNG colour types / bit depths (some
written by Pillow, the rest by the minimal PNG writer below, for layouts Pillow cannot save),
JPEG, WebP and PPM files, and for each one `<name>.rgb`: the raw bytes of Pillow's
`Image.open(file).convert('RGB')`, plus manifest.json. Pillow's mode after open is recorded too.
manifest.json also holds the SHA-256 of Pillow's RGB bytes for two of the shared lossless WebP
images (../shared/data/lol-train160), which are too large to commit.
"""
import hashlib
import json
import os
import struct
import zlib

import numpy as np
import PIL
from PIL import Image, features

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures', 'decode')
W, H = 13, 9
rng = np.random.default_rng(20240601)


def chunk(kind, data):
    body = kind + data
    return struct.pack('>I', len(data)) + body + struct.pack('>I', zlib.crc32(body) & 0xffffffff)


def pack_row(samples, depth):
    """One scanline of samples (already flattened over channels) at the given bit depth."""
    if depth == 16:
        return b''.join(struct.pack('>H', int(s)) for s in samples)
    if depth == 8:
        return bytes(int(s) for s in samples)
    out = bytearray()
    acc, nbits = 0, 0
    for s in samples:
        acc = (acc << depth) | int(s)
        nbits += depth
        if nbits == 8:
            out.append(acc)
            acc, nbits = 0, 0
    if nbits:
        out.append(acc << (8 - nbits))
    return bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def write_png(path, pixels, color_type, depth, interlace=False, extra=()):
    """pixels: uint array [h, w, channels] of raw samples. Filter type 0 on every scanline."""
    h, w = pixels.shape[:2]
    raw = bytearray()
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    for x0, y0, dx, dy in passes:
        sub = pixels[y0::dy, x0::dx]
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            continue
        for row in sub:
            raw += b'\x00' + pack_row(row.reshape(-1), depth)
    ihdr = struct.pack('>IIBBBBB', w, h, depth, color_type, 0, 0, 1 if interlace else 0)
    data = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr)
    for kind, payload in extra:
        data += chunk(kind, payload)
    data += chunk(b'IDAT', zlib.compress(bytes(raw), 9)) + chunk(b'IEND', b'')
    with open(path, 'wb') as f:
        f.write(data)


def smooth_rgb(w=W, h=H):
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([255 * x / (w - 1), 255 * y / (h - 1), 128 + 120 * np.sin(x / 2.0 + y / 3.0)], -1)
    img += rng.normal(0, 12, img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def main():
    os.makedirs(OUT, exist_ok=True)
    files = []

    def p(name):
        files.append(name)
        return os.path.join(OUT, name)

    rgb8 = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    gray8 = rng.integers(0, 256, (H, W), dtype=np.uint8)
    gray8[0, :4] = 17  # pixels equal to the tRNS gray below

    # --- written by Pillow
    Image.fromarray(rgb8, 'RGB').save(p('rgb8.png'))
    Image.fromarray(gray8, 'L').save(p('gray8.png'))
    Image.fromarray(gray8, 'L').save(p('gray8-trns.png'), transparency=17)
    rgb_t = rgb8.copy()
    rgb_t[1, :5] = (10, 20, 30)
    Image.fromarray(rgb_t, 'RGB').save(p('rgb8-trns.png'), transparency=(10, 20, 30))
    la = np.stack([gray8, rng.integers(0, 256, (H, W), dtype=np.uint8)], -1)
    la[2, :] = (200, 0)  # fully transparent but with a non-zero gray value
    Image.fromarray(la, 'LA').save(p('la8.png'))
    rgba = np.concatenate([rgb8, rng.integers(0, 256, (H, W, 1), dtype=np.uint8)], -1)
    rgba[3, :, 3] = 0  # transparent row: its RGB must survive (no compositing, no premultiply)
    Image.fromarray(rgba, 'RGBA').save(p('rgba8.png'))
    pal_idx = rng.integers(0, 40, (H, W), dtype=np.uint8)
    pal = Image.fromarray(pal_idx, 'P')
    pal.putpalette(list(rng.integers(0, 256, 40 * 3, dtype=np.uint8)))
    pal.save(p('palette8-trns.png'), transparency=bytes(range(0, 200, 5)))
    pal4 = Image.fromarray((pal_idx % 16).astype(np.uint8), 'P')
    pal4.putpalette(list(rng.integers(0, 256, 16 * 3, dtype=np.uint8)))
    pal4.save(p('palette4.png'), bits=4)
    Image.fromarray(gray8 > 127).save(p('gray1.png'))  # mode '1'

    # --- written by hand (layouts Pillow does not save)
    write_png(p('gray2.png'), rng.integers(0, 4, (H, W, 1)), 0, 2)
    write_png(p('gray4.png'), rng.integers(0, 16, (H, W, 1)), 0, 4)
    g16 = rng.integers(0, 65536, (H, W, 1))
    g16[0, :8, 0] = [0, 1, 100, 254, 255, 256, 1000, 65535]  # clamping, not scaling
    write_png(p('gray16.png'), g16, 0, 16)
    write_png(p('gray16-trns.png'), g16, 0, 16, extra=[(b'tRNS', struct.pack('>H', 100))])
    write_png(p('la16.png'), rng.integers(0, 65536, (H, W, 2)), 4, 16)
    write_png(p('rgb16.png'), rng.integers(0, 65536, (H, W, 3)), 2, 16)
    write_png(p('rgba16.png'), rng.integers(0, 65536, (H, W, 4)), 6, 16)
    write_png(p('rgb8-interlaced.png'), rgb8, 2, 8, interlace=True)
    write_png(p('gray4-interlaced.png'), rng.integers(0, 16, (H, W, 1)), 0, 4, interlace=True)
    write_png(p('palette2.png'), rng.integers(0, 4, (H, W, 1)), 3, 2,
              extra=[(b'PLTE', bytes(rng.integers(0, 256, 12, dtype=np.uint8)))])
    # gAMA and a (bogus) sRGB/iCCP-free gamma must not change stored values
    write_png(p('rgb8-gamma.png'), rgb8, 2, 8, extra=[(b'gAMA', struct.pack('>I', 100000))])

    # --- other formats
    photo = smooth_rgb(48, 32)
    Image.fromarray(photo, 'RGB').save(p('photo.jpg'), quality=90)
    Image.fromarray(photo, 'RGB').save(p('photo-progressive.jpg'), quality=85, progressive=True)
    Image.fromarray(photo[..., 1], 'L').save(p('photo-gray.jpg'), quality=90)
    Image.fromarray(photo, 'RGB').convert('CMYK').save(p('photo-cmyk.jpg'), quality=90)
    Image.fromarray(photo, 'RGB').save(p('photo-lossless.webp'), lossless=True)
    Image.fromarray(photo, 'RGB').save(p('photo-lossy.webp'), quality=80)
    Image.fromarray(rgba, 'RGBA').save(p('rgba-lossless.webp'), lossless=True, exact=True)
    Image.fromarray(rgb8, 'RGB').save(p('rgb8.ppm'))
    Image.fromarray(gray8, 'L').save(p('gray8.pgm'))

    manifest = {'pillow': PIL.__version__, 'libwebp': features.version('webp'),
                'libjpeg': features.version('jpg'), 'cases': []}
    for name in files:
        with Image.open(os.path.join(OUT, name)) as im:
            mode = im.mode
            entry = {'file': name, 'pillowMode': mode, 'width': im.width, 'height': im.height}
            if mode == 'CMYK':
                entry['expected'] = None  # our decoder rejects CMYK JPEGs
            else:
                expected = name.rsplit('.', 1)[0] + '.' + name.rsplit('.', 1)[1] + '.rgb'
                with open(os.path.join(OUT, expected), 'wb') as f:
                    f.write(np.asarray(im.convert('RGB'), dtype=np.uint8).tobytes())
                entry['expected'] = expected
        manifest['cases'].append(entry)
    shared = os.path.join(os.path.dirname(OUT), '..', '..', '..', '..', 'shared')
    manifest['shared'] = []
    for rel in ['data/lol-train160/low/10.webp', 'data/lol-train160/high/104.webp']:
        with Image.open(os.path.join(shared, rel)) as im:
            rgb = np.asarray(im.convert('RGB'), dtype=np.uint8).tobytes()
            manifest['shared'].append({'path': rel, 'width': im.width, 'height': im.height,
                                       'sha256': hashlib.sha256(rgb).hexdigest()})
    with open(os.path.join(OUT, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
