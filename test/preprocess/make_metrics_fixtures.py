#!/usr/bin/python3
"""One-off generator of reference PSNR/SSIM values for metrics.test.ts, from scikit-image.

Needs Debian's python3-skimage (apt-get install python3-skimage; 0.19.3 was used). Run from the
repository root:
    /usr/bin/python3 test/preprocess/make_metrics_fixtures.py
Writes test/preprocess/fixtures/metrics/: pairs of small deterministic RGB PNGs and
manifest.json with skimage's numbers for each pair:
  psnr = peak_signal_noise_ratio(a, b, data_range=255)
  ssim = structural_similarity(a, b, channel_axis=2, data_range=255, gaussian_weights=True,
                               sigma=1.5, use_sample_covariance=False)
"""
import json
import os

import numpy as np
import skimage
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures', 'metrics')
rng = np.random.default_rng(7)


def scene(w, h):
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([255 * x / (w - 1), 255 * y / (h - 1), 128 + 100 * np.sin(x / 4.0 + y / 6.0)], -1)
    img[(x // 6 + y // 6) % 3 == 0] *= 0.4
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def main():
    os.makedirs(OUT, exist_ok=True)
    pairs = []
    a = scene(48, 32)
    pairs.append(('noisy', a, np.clip(a + rng.normal(0, 10, a.shape), 0, 255).round().astype(np.uint8)))
    dark = (a * 0.3).round().astype(np.uint8)
    pairs.append(('dark', a, dark))
    c = scene(23, 17)
    pairs.append(('small-shifted', c, np.roll(c, 1, axis=1)))
    manifest = {'skimage': skimage.__version__, 'cases': []}
    for name, x, y in pairs:
        Image.fromarray(x, 'RGB').save(os.path.join(OUT, f'{name}.a.png'))
        Image.fromarray(y, 'RGB').save(os.path.join(OUT, f'{name}.b.png'))
        psnr = peak_signal_noise_ratio(x, y, data_range=255)
        ssim = structural_similarity(x, y, channel_axis=2, data_range=255, gaussian_weights=True,
                                     sigma=1.5, use_sample_covariance=False)
        manifest['cases'].append({'a': f'{name}.a.png', 'b': f'{name}.b.png',
                                  'width': x.shape[1], 'height': x.shape[0],
                                  'psnr': float(psnr), 'ssim': float(ssim)})
    with open(os.path.join(OUT, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
