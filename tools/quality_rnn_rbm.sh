#!/usr/bin/env bash
# Reproduce the RNN-RBM figures (issue 7): benchmark log-likelihoods and the RBM / RNN-RBM
# side-by-side on the bundled chorales. Run from the repository root; outputs go to $OUT (/tmp).
# Each training job runs on one core (taskset), so the two benchmark trainings can run side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
DATA=${DATA:-../shared/data/polyphonic}
OUT=${OUT:-/tmp/rnn_rbm_quality}
mkdir -p "$OUT"

# 1. JSB Chorales: the training pieces plus their transpositions by ±1..±6 semitones (13× the
#    data), a 1-epoch frame-level RBM pre-training, then ≤ 28 min of RNN-RBM training with early
#    stopping on 10 validation pieces (reverse AIS 8 chains × 1000 β every 2 epochs), then the test split
#    with 16 chains × 4000 β per frame, and a β-convergence check on the first 10 test pieces.
taskset -c 0 $PY tools/quality_rnn_rbm.py "$DATA/JSB_Chorales.mat" --out "$OUT/jsb.npz" \
    --transpose 6 --pretrain-epochs 1 --minutes 28 --eval-every 2 --valid-pieces 10 \
    --valid-betas 1000 --epochs 1000 --patience 6 --chains 16 --betas 4000 | tee "$OUT/jsb.log"
$PY tools/quality_rnn_rbm.py "$DATA/JSB_Chorales.mat" --out "$OUT/jsb.npz" --test-only \
    --test-pieces 10 --chains 8 --betas 16000 | tee "$OUT/jsb_16000.log"

# 2. Nottingham (13× the frames of JSB; no transpositions: continuing on them made the model
#    sharper and its test figure worse): a 1-epoch pre-training, ≤ 30 min of training with early
#    stopping on 10 validation pieces, then all 170 test pieces with 8 chains × 4000 β per frame
#    (two halves in parallel, one per core) and a β-convergence check on the first 10 test pieces.
taskset -c 1 $PY tools/quality_rnn_rbm.py "$DATA/Nottingham.mat" --out "$OUT/nottingham.npz" \
    --minutes 30 --eval-every 2 --valid-pieces 10 --epochs 1000 --patience 5 \
    --pretrain-epochs 1 --chains 8 --betas 4000 --test-pieces 10 | tee "$OUT/nottingham.log"
taskset -c 0 $PY tools/quality_rnn_rbm.py "$DATA/Nottingham.mat" --out "$OUT/nottingham.npz" \
    --test-only --test-from 0 --test-pieces 92 --chains 8 --betas 4000 > "$OUT/nottingham_a.log" &
taskset -c 1 $PY tools/quality_rnn_rbm.py "$DATA/Nottingham.mat" --out "$OUT/nottingham.npz" \
    --test-only --test-from 92 --chains 8 --betas 4000 > "$OUT/nottingham_b.log"
wait
cat "$OUT/nottingham_a.log" "$OUT/nottingham_b.log"
$PY tools/quality_rnn_rbm.py "$DATA/Nottingham.mat" --out "$OUT/nottingham.npz" --test-only \
    --test-pieces 10 --chains 8 --betas 16000 | tee "$OUT/nottingham_16000.log"

# 3. Side by side on the bundled chorales: the windowed RBM (continuation mode) and the RNN-RBM,
#    3 songs of 64 bars each as MIDI + piano-roll PNG, with statistics against the training songs.
.venv/bin/rbm-studio train --sample --epochs 200 --out "$OUT/rbm_sample.rbm"
.venv/bin/rbm-studio train --sample --model rnn-rbm --epochs 300 --out "$OUT/rnn_sample.rbm"
$PY tools/compare_models.py --rbm "$OUT/rbm_sample.rbm" --rnn "$OUT/rnn_sample.rbm" \
    --songs-dir resources/sample_midi --out "$OUT/compare" | tee "$OUT/compare.log"
