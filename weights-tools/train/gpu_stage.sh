#!/usr/bin/env bash
# The GPU run of the shipped weights: three train_gpu.py runs side by side on one GPU (three
# settings in one call; each gets about a third of the GPU), each for BUDGET seconds, writing their
# EMA snapshots and one shared log into OUTDIR. pick_snapshot.py then validates the snapshots on the
# CPU and picks one (it picked g4c; docs/MODEL.md, "GPU run", gives the single command that re-makes it).
#
#   bash weights-tools/train/gpu_stage.sh OUTDIR [BUDGET_S] [DEVICE]      (after gpu_pack.py)
#
# EXTRA (environment) is appended to every run's arguments: smoke tests on the CPU shrink the runs
# with it (EXTRA="--batch 1 --crop 64 --warmup 20 --calib-from 5"); the recipe leaves it empty.
set -uo pipefail
OUT=${1:?usage: gpu_stage.sh OUTDIR [BUDGET_S] [DEVICE]}
BUDGET=${2:-420}
DEVICE=${3:-cuda}
cd "$(dirname "$0")/../.."
mkdir -p "$OUT"
LOG="$OUT/log.txt"
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
{ date -u; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1; nproc; } >>"$LOG"

run() {  # NAME ARGS...: one run, its lines prefixed with its name in the shared log
  local name=$1; shift
  $PY weights-tools/train/train_gpu.py --name "$name" --device "$DEVICE" --out-dir "$OUT" \
    --budget-s "$BUDGET" --hard-stop-s "$((BUDGET + 60))" "$@" ${EXTRA:-} 2>&1 | sed -u "s/^/[$name] /" >>"$LOG"
}
# Fine-tunes of the shipped stage-3 weights at two LRs, and a from-scratch run of the same layout.
run g4a --init weights/default.safetensors --lr 1e-4 --batch 8 --crop 384 &
run g4b --init weights/default.safetensors --lr 3e-4 --batch 8 --crop 384 &
run g4c --revive-mask --lr 1e-3 --lr-min 1e-5 --warmup 100 --batch 8 --crop 256 &
wait
date -u >>"$LOG"
tail -n 30 "$LOG"
