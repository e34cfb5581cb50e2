#!/usr/bin/env bash
# Reproduce the RNN-RBM figures (issue 7): benchmark log-likelihoods and the RBM / RNN-RBM
# side-by-side on the bundled chorales. Run from the repository root; outputs go to $OUT (/tmp).
# Wall times depend heavily on how busy the machine is (the figures in the report were measured
# on 2 cores shared with other jobs).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
DATA=${DATA:-../shared/data/polyphonic}
OUT=${OUT:-/tmp/rnn_rbm_quality}
mkdir -p "$OUT"

# 1. JSB Chorales: train ≤ 50 min with early stopping on the validation set (cheap AIS every 5
#    epochs), then the test log-likelihood per frame with 32 AIS chains × 1000 β per frame.
$PY tools/quality_rnn_rbm.py "$DATA/JSB_Chorales.mat" --out "$OUT/jsb.npz" \
    --minutes 50 --eval-every 5 --epochs 1000 --patience 8 --chains 32 --betas 1000 \
    | tee "$OUT/jsb.log"

# 2. Nottingham (13× the frames): a short pre-training keeps the weights moderate so AIS stays
#    reliable; the test figure is on the first 40 test pieces to fit the time budget.
$PY tools/quality_rnn_rbm.py "$DATA/Nottingham.mat" --out "$OUT/nottingham.npz" \
    --minutes 30 --eval-every 2 --valid-pieces 10 --epochs 1000 --patience 5 \
    --pretrain-epochs 1 --chains 8 --betas 500 --test-pieces 40 | tee "$OUT/nottingham.log"

# 3. Side by side on the bundled chorales: the windowed RBM (continuation mode) and the RNN-RBM,
#    3 songs of 64 bars each as MIDI + piano-roll PNG, with statistics against the training songs.
.venv/bin/rbm-studio train --sample --epochs 200 --out "$OUT/rbm_sample.rbm"
.venv/bin/rbm-studio train --sample --model rnn-rbm --epochs 300 --out "$OUT/rnn_sample.rbm"
$PY tools/compare_models.py --rbm "$OUT/rbm_sample.rbm" --rnn "$OUT/rnn_sample.rbm" \
    --songs-dir resources/sample_midi --out "$OUT/compare" | tee "$OUT/compare.log"

# 4. AIS convergence check for the (sharper) Nottingham model: the same model on the first 10 test
#    pieces with 16000 β per frame (500 β slightly underestimates log Z there, i.e. flatters).
$PY tools/quality_rnn_rbm.py "$DATA/Nottingham.mat" --out "$OUT/nottingham.npz" --test-only \
    --test-pieces 10 --chains 8 --betas 16000 | tee "$OUT/nottingham_16000.log"
