#!/usr/bin/env python3
"""One-off helper: convert the fixture checkpoints (*.pth) to one .npy file per tensor.

The TypeScript CPU reference (test/reference/nerco.ts) is checked end to end against the fixture
intermediates; until the project's own .pth reader exists, this script (Debian's torch, run with
/usr/bin/python3) makes the weights readable by test/helpers/npy.ts. The output folder is
git-ignored; nothing committed depends on it.

Usage: /usr/bin/python3 test/reference/export_weights_npy.py [weights_dir] [out_dir]
Layout written: <out_dir>/<net>/<key>.npy with <net> in {ga, pre, h}, plus <out_dir>/<net>/keys.txt
(the keys in file order).
"""
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_WEIGHTS = os.path.join(REPO, '..', 'shared', 'fixtures', 'nerco-random', 'weights')
DEFAULT_OUT = os.path.join(REPO, 'test', '.artifacts', 'weights-npy')
FILES = {'ga': 'latest_net_G_A.pth', 'pre': 'latest_net_Pre.pth', 'h': 'latest_net_H.pth'}


def main() -> None:
    weights_dir = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_WEIGHTS
    out_dir = sys.argv[2] if len(sys.argv) > 2 else DEFAULT_OUT
    for net, file_name in FILES.items():
        state = torch.load(os.path.join(weights_dir, file_name), map_location='cpu')
        net_dir = os.path.join(out_dir, net)
        os.makedirs(net_dir, exist_ok=True)
        keys = []
        for key, tensor in state.items():
            array = tensor.detach().to(torch.float32).contiguous().numpy()
            np.save(os.path.join(net_dir, key + '.npy'), array.astype('<f4'))
            keys.append(key)
        with open(os.path.join(net_dir, 'keys.txt'), 'w') as f:
            f.write('\n'.join(keys) + '\n')
        print(f'{net}: {len(keys)} tensors -> {net_dir}')


if __name__ == '__main__':
    main()
