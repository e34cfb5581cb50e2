"""What the training panel says while a run goes on, without Qt: the ETA and the progress bar
follow the time limit when it comes before the last epoch, the compiling line says what happens,
and the held-out verdict only turns when the score moves by more than its noise."""

from __future__ import annotations

import random

import pytest

from rbm_studio.models.base import TrainingProgress
from rbm_studio.studio.training import held_out_verdict
from rbm_studio.studio.training_progress import (
    COMPILING_LINE,
    MEMORISING,
    TrainingProgressState,
    capped_eta,
    progress_fraction,
    score_noise,
)


def scored(epoch: int, score: float, best: int | None = None) -> TrainingProgress:
    return TrainingProgress(
        "training", epoch, 2000, epoch_end=True, recon_error=0.1, held_out=score, best_epoch=best
    )


def verdicts(scores: list[float]) -> list[str]:
    """The verdict shown after each score, fed one epoch at a time as the panel would."""
    state = TrainingProgressState()
    state.start(cap_seconds=300.0)
    best, best_score, shown = None, None, []
    for epoch, score in enumerate(scores, start=1):
        if best_score is None or score > best_score:
            best, best_score = epoch, score
        shown.append(state.add([scored(epoch, score, best)], "training").verdict)
    return shown


def turns(shown: list[str]) -> int:
    kinds = [text.startswith(MEMORISING) for text in shown if text]
    return sum(a != b for a, b in zip(kinds, kinds[1:], strict=False))


def plain_turns(scores: list[float]) -> int:
    """How often the verdict without hysteresis would have turned."""
    pairs = [(float(i), s) for i, s in enumerate(scores, start=1)]
    shown = [held_out_verdict(pairs[: i + 1], None) for i in range(len(pairs))]
    return turns(shown)


def test_the_eta_and_the_bar_follow_the_time_limit():
    # the first hour's numbers: 2,000 planned epochs, a 5-minute limit, the trainer's ETA at 15 min
    p = TrainingProgress("training", 40, 2000, elapsed=60.0, eta=900.0)
    assert capped_eta(p, 300.0) == 240.0
    assert progress_fraction(p, 300.0) == pytest.approx(0.2)
    assert capped_eta(p, None) == 900.0 and progress_fraction(p) == pytest.approx(0.02)
    # epochs ending first: the epoch count leads, and the ETA is the trainer's
    early = TrainingProgress("training", 180, 200, elapsed=60.0, eta=7.0)
    assert capped_eta(early, 300.0) == 7.0 and progress_fraction(early, 300.0) == 0.9
    late = TrainingProgress("training", 40, 2000, elapsed=320.0, eta=900.0)
    assert capped_eta(late, 300.0) == 0.0 and progress_fraction(late, 300.0) == 1.0
    state = TrainingProgressState()
    state.start(cap_seconds=300.0)
    view = state.add([p], "training")
    assert view.eta == "ETA 4 min 00 s" and view.fraction == pytest.approx(0.2)
    view = state.add([TrainingProgress("compiling", 0, 2000)], "compiling")
    assert view.phase == COMPILING_LINE and "first start takes longest" in view.phase
    assert view.eta == "ETA ≤ 5 min 00 s"  # no estimate yet: at most the time limit
    state.start(cap_seconds=None)
    assert state.add([TrainingProgress("compiling", 0, 2000)], "compiling").eta == "ETA —"


@pytest.mark.parametrize("seed", range(6))
def test_the_verdict_holds_while_the_score_moves_within_its_noise(seed):
    """A plateau of pure jitter: the plain rule flips again and again, the shown verdict at most
    twice, and every score stays within a few noise widths."""
    rng = random.Random(seed)
    rise = [-3.0 + 0.1 * i for i in range(10)]
    plateau = [-2.0 + rng.gauss(0.0, 0.02) for _ in range(150)]
    scores = rise + plateau
    shown = verdicts(scores)
    assert turns(shown) <= 2, shown
    noise = score_noise(plateau)
    assert noise is not None and 0.02 < noise < 0.2
    if seed == 0:
        assert plain_turns(scores) > 2  # the rule without hysteresis flip-flops here


def test_the_verdict_turns_when_the_score_moves_clearly():
    rng = random.Random(7)
    rise = [-3.0 + 0.1 * i + rng.gauss(0, 0.01) for i in range(20)]
    fall = [rise[-1] - 0.05 * i + rng.gauss(0, 0.01) for i in range(1, 15)]
    shown = verdicts(rise + fall)
    assert shown[19].startswith("Still learning") and shown[-1].startswith(MEMORISING)
    again = [fall[-1] + 0.1 * i for i in range(1, 15)]
    shown = verdicts(rise + fall + again)
    assert shown[-1].startswith("Still learning") and turns(shown) == 2
    assert score_noise([1.0, 2.0]) is None  # too few scores to tell
