#!/usr/bin/env bash
# Reproduce the frame-level RBM quality figures on the polyphonic benchmark (README "Model quality"):
# train on the train split, then report the mean TEST log-likelihood per frame (log Z by AIS).
#
#   tools/quality_rbm.sh            # JSB Chorales and Nottingham
#   tools/quality_rbm.sh jsb        # only one of them
#
# Models and logs go to $OUT (default /tmp/rbm-quality); nothing is written into the repository.
# Wall times depend on the machine and its load: on a 2-core box shared with other jobs the JSB
# training took ~8 minutes, Nottingham ~12.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=${DATA:-../shared/data/polyphonic}
OUT=${OUT:-/tmp/rbm-quality}
BETAS=${BETAS:-100000}  # AIS inverse temperatures for the final figure (~2 min for H=150)
CHAINS=${CHAINS:-200}
RBM=${RBM:-.venv/bin/rbm-studio}
mkdir -p "$OUT"

run() {  # name, data file, training options...
    local name=$1 mat=$2
    shift 2
    echo "== $name: training ($*)" >&2
    local t0=$SECONDS
    "$RBM" train --benchmark "$mat" --frame-level --holdout 0 --seed 0 "$@" \
        --out "$OUT/$name.rbm" --json >"$OUT/$name.train.json"
    echo "== $name: trained in $((SECONDS - t0)) s wall; evaluating on the test split" >&2
    "$RBM" evaluate "$OUT/$name.rbm" --benchmark "$mat" --split test \
        --betas "$BETAS" --chains "$CHAINS" --seed 0 --json | tee "$OUT/$name.test.json"
}

which=${1:-all}
if [[ $which == all || $which == jsb ]]; then
    # 13,807 training frames: 300 epochs of 138 mini-batches.
    run jsb "$DATA/JSB_Chorales.mat" --hidden 150 --cd-k 15 --lr 0.05 --lr-decay 0.01 \
        --weight-decay 0.0001 --momentum 0.9 --batch 100 --epochs 300
fi
if [[ $which == all || $which == nottingham ]]; then
    # 176,561 training frames: 13× more mini-batches per epoch, so fewer epochs, faster decay.
    run nottingham "$DATA/Nottingham.mat" --hidden 150 --cd-k 15 --lr 0.05 --lr-decay 0.12 \
        --weight-decay 0.0001 --momentum 0.9 --batch 100 --epochs 25
fi
