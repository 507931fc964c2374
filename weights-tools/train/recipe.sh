#!/usr/bin/env bash
# The CPU recipe (88 min on 2 idle cores), end to end: stage 1 from scratch, stages 2 and 3
# fine-tune the previous stage's best checkpoint. It made the default weights until they were
# replaced by a run on a lent GPU (train_gpu.py; docs/MODEL.md, "GPU run"); it is the way to train
# without a GPU.
#
#   bash weights-tools/train/recipe.sh [STAGE1_NAME] [STAGE2_NAME] [STAGE3_NAME]   (default: default ft2 ft3)
#
# The schedules of stages 1 and 2 were shortened twice while the first run ran (2 shared cores),
# so each of them is three train.py calls: --stop-after ends a call at the iteration where the
# schedule was changed and --resume --reschedule continues with the new --iters. The batch of
# iteration i depends only on (seed, i) and the init is seeded, so these calls reproduce the
# first run; stage 3 is one plain call, and its best.pt holds the weights that export.py ships.
#
# Not resumable as a whole: an interrupted call is continued by re-running that call alone with
# --resume (see docs/MODEL.md, "Reproduce"). Run it on otherwise idle cores: anything else on the
# machine slows training several times over.
set -euo pipefail
S1=${1:-default}
S2=${2:-ft2}
S3=${3:-ft3}
cd "$(dirname "$0")"
export OMP_WAIT_POLICY=PASSIVE  # libgomp's spinning threads cost ~2x CPU when cores are shared
PY=/usr/bin/python3
for n in "$S1" "$S2" "$S3"; do
  if [ -e "runs/$n/last.pt" ]; then echo "recipe.sh: runs/$n already holds a run; choose other names" >&2; exit 1; fi
done
t0=$(date +%s)
stamp() { echo "recipe.sh: $1 at $(( $(date +%s) - t0 )) s" ; }

A="--name $S1 --crop 112 --ckpt-every 40"
$PY train.py $A --iters 1600 --val-every 320 --stop-after 400
$PY train.py $A --iters 1300 --val-every 325 --resume --reschedule --stop-after 840
$PY train.py $A --iters 1100 --val-every 325 --resume --reschedule
stamp "stage 1 done"

B="--name $S2 --init-from runs/$S1/best.pt --revive-mask --batch 3 --crop 144 --lr 4e-4 --warmup 50 --w-color 0.5 --val-every 600"
$PY train.py $B --iters 3600 --stop-after 320
$PY train.py $B --iters 3000 --resume --reschedule --stop-after 1080
$PY train.py $B --iters 2600 --resume --reschedule
stamp "stage 2 done"

# Stage 3: LOL pairs only, in 384-px crops (closer to the whole 600x400 images that are enhanced),
# with a low LR and netH's fc1 kept slow.
$PY train.py --name $S3 --init-from runs/$S2/best.pt --fc1-lr-scale 0.05 --p-real 1.0 --batch 1 --crop 384 \
  --lr 1e-4 --warmup 20 --w-color 0.5 --iters 240 --val-every 120
stamp "stage 3 done"
echo "recipe.sh: export with  /usr/bin/python3 weights-tools/train/export.py --name $S3"
