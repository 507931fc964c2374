#!/usr/bin/python3
"""One-off generator of the Pillow bicubic reference images used by bicubic.test.ts.

Run from the repository root with Debian's Python (Pillow 9.4, NumPy):
    /usr/bin/python3 test/preprocess/make_bicubic_fixtures.py
Writes test/preprocess/fixtures/bicubic/: for each case a source PNG, Pillow's
`img.resize((w, h), Image.BICUBIC)` of it as PNG, and manifest.json.
Sources mix a smooth gradient, hard 0/255 edges (which make the bicubic overshoot and exercise
the clamping) and a patch of uniform noise, so they stay small as PNGs.
"""
import json
import os

import numpy as np
import PIL
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures', 'bicubic')

# (source w, h) -> (target w, h). The first group is `__make_power_2` (NERCO.md §3.2, §11);
# the second exercises plain up/down scaling with widened support.
CASES = [
    ((6, 7), (8, 8)),
    ((30, 30), (32, 32)),
    ((50, 62), (48, 64)),
    ((62, 50), (64, 48)),
    ((101, 77), (100, 76)),
    ((48, 50), (48, 48)),
    ((50, 48), (48, 48)),
    ((58, 45), (56, 44)),
    ((101, 77), (23, 31)),
    ((9, 5), (40, 13)),
]


def make_source(w, h, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w, 3), np.float64)
    img[..., 0] = 255 * x / max(w - 1, 1)
    img[..., 1] = 255 * y / max(h - 1, 1)
    img[..., 2] = 128 + 100 * np.sin(x / 3.0 + y / 5.0)
    # hard-edged 0/255 checker in the left third
    checker = ((x // 2 + y // 3) % 2) * 255
    left = x < w // 3
    img[left] = checker[left][:, None]
    # noise patch in the bottom-right quarter
    patch = (x >= w // 2) & (y >= h // 2)
    img[patch] = rng.integers(0, 256, size=(int(patch.sum()), 3))
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def main():
    os.makedirs(OUT, exist_ok=True)
    manifest = {'pillow': PIL.__version__, 'cases': []}
    for i, ((w, h), (tw, th)) in enumerate(CASES):
        src = Image.fromarray(make_source(w, h, 1000 + i), 'RGB')
        dst = src.resize((tw, th), Image.BICUBIC)
        stem = f'{w}x{h}-to-{tw}x{th}'
        src.save(os.path.join(OUT, f'{stem}.src.png'))
        dst.save(os.path.join(OUT, f'{stem}.pillow.png'))
        manifest['cases'].append({'source': f'{stem}.src.png', 'expected': f'{stem}.pillow.png',
                                  'from': [w, h], 'to': [tw, th]})
    with open(os.path.join(OUT, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
