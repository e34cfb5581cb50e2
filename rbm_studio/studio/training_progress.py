"""What the training panel shows about a run, without Qt: the epoch, ETA and progress-bar lines,
the points the curves still have to draw, the held-out scores and the verdict.

A run ends at its planned epochs or its time limit, whichever comes first, so the ETA and the
progress bar follow whichever is nearer. The verdict only changes when the held-out score has
moved by more than its own noise (estimated from the recent scores): a cheap score jitters, and
a verdict that flips with every jitter tells the musician nothing.

The panel feeds it each batch of `TrainingProgress` reports and draws what it answers; the plots
only draw the points they are handed. Points are held until the panel's next redraw: repainting
the curves is the GUI thread's main cost while training, so they are drawn in batches.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import median

from ..models.base import TrainingProgress
from .training import held_out_verdict, outcome_messages

Points = list[tuple[float, float]]
LOG_LENGTH = 5000  # reports kept for the window's questions ("which epoch now?")
COMPILING_LINE = (
    "Compiling the training step for this computer… The first start takes longest (on a busy "
    "machine a minute or more); later starts reuse it."
)
NOISE_SCORES = 20  # the recent held-out scores the noise is estimated from
NOISE_MIN_SCORES = 4  # fewer scores: the noise is unknown and the verdict holds
NOISE_SPREAD = 3.0  # a move within this many standard deviations of the jitter is noise
MEMORISING = "Memorising"


def format_seconds(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds < 0:
        return "—"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


@dataclass
class PlotPoints:
    """(x, y) points for the curves: reconstruction error per chunk and per epoch, the
    free-energy gap and the held-out score per epoch."""

    chunks: Points = field(default_factory=list)
    epochs: Points = field(default_factory=list)
    gaps: Points = field(default_factory=list)
    held: Points = field(default_factory=list)

    def extend(self, other: PlotPoints) -> None:
        self.chunks += other.chunks
        self.epochs += other.epochs
        self.gaps += other.gaps
        self.held += other.held

    def __bool__(self) -> bool:
        return bool(self.chunks or self.epochs or self.gaps or self.held)


def points_of(reports: Sequence[TrainingProgress]) -> PlotPoints:
    """The curve points in a batch of reports: a training report's error (per epoch at an
    epoch's end, else per chunk at its fractional epoch), its gap and held-out score."""
    out = PlotPoints()
    for r in reports:
        if r.phase == "training" and r.epoch_end and r.held_out is not None:
            out.held.append((float(r.epoch), float(r.held_out)))
        if r.phase != "training" or r.recon_error != r.recon_error:
            continue
        if r.epoch_end:
            out.epochs.append((float(r.epoch), float(r.recon_error)))
            if r.free_energy_gap is not None:
                out.gaps.append((float(r.epoch), float(r.free_energy_gap)))
        elif r.batches_per_epoch:
            x = r.epoch + r.batch / r.batches_per_epoch
            out.chunks.append((float(x), float(r.recon_error)))
    return out


def history_points(history: Sequence[dict]) -> PlotPoints:
    """The curve points of a model file's saved training history."""
    out = PlotPoints()
    for record in history:
        epoch = float(record.get("epoch", 0))
        for key, points in (
            ("recon_error", out.epochs),
            ("free_energy_gap", out.gaps),
            ("held_out", out.held),
        ):
            if record.get(key) is not None:
                points.append((epoch, float(record[key])))
    return out


def progress_fraction(p: TrainingProgress, cap_seconds: float | None = None) -> float | None:
    """How far `p` is towards the run's end, in [0, 1]: over the planned epochs, or over the
    time limit `cap_seconds` when that is further along (the run stops at whichever comes
    first); None when neither is known."""
    fraction = None
    if p.epochs:
        if p.epoch_end:
            fraction = p.epoch / p.epochs
        else:
            within = p.batch / p.batches_per_epoch if p.batches_per_epoch else 0
            fraction = (p.epoch + within) / p.epochs
    if cap_seconds and p.elapsed > 0:
        fraction = max(fraction or 0.0, p.elapsed / cap_seconds)
    return None if fraction is None else min(max(fraction, 0.0), 1.0)


def capped_eta(p: TrainingProgress, cap_seconds: float | None = None) -> float | None:
    """Seconds until the run ends: the trainer's estimate for the planned epochs, never more
    than what is left of the time limit `cap_seconds`."""
    eta = p.eta
    if cap_seconds and p.phase == "training":
        left = max(cap_seconds - p.elapsed, 0.0)
        eta = left if eta is None else min(eta, left)
    return eta


def eta_line(p: TrainingProgress, cap_seconds: float | None = None) -> str:
    """The ETA label: the time left, or while compiling (when no estimate exists yet) at most
    what the time limit leaves."""
    eta = capped_eta(p, cap_seconds)
    if eta is None and cap_seconds and p.phase == "compiling":
        return f"ETA ≤ {format_seconds(max(cap_seconds - p.elapsed, 0.0))}"
    return f"ETA {format_seconds(eta)}"


def score_noise(scores: Sequence[float]) -> float | None:
    """How far the held-out score moves by chance: `NOISE_SPREAD` standard deviations of its
    jitter over the last `NOISE_SCORES` scores; None with fewer than `NOISE_MIN_SCORES`.

    The jitter is read from the steps between successive scores, by their mean absolute
    deviation from the median step: a steady rise or fall is not taken for noise, and a run of
    equal steps (a smooth rise) does not make the noise zero."""
    recent = list(scores)[-NOISE_SCORES:]
    if len(recent) < NOISE_MIN_SCORES:
        return None
    steps = [b - a for a, b in zip(recent, recent[1:], strict=False)]
    centre = median(steps)
    spread = sum(abs(s - centre) for s in steps) / len(steps)
    sigma = 1.2533 * spread / 2**0.5  # normal: σ = 1.2533 × mean deviation; a step holds two
    return NOISE_SPREAD * sigma


class VerdictHold:
    """The verdict while training, with hysteresis. "Memorising" is said once the latest score
    is below the best by more than the noise (and the plain rule says so); "still learning" is
    said again only once a score beats the best of that moment by more than the noise."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.memorising: bool | None = None  # None: nothing said yet
        self.since: int | None = None  # the best epoch when "Memorising" was said
        self.mark: float | None = None  # ... and its score
        self.changes = 0  # how often the verdict has turned (the first one not counted)

    def verdict(self, scores: Sequence[tuple[float, float]], best_epoch: int | None) -> str:
        plain = held_out_verdict(scores, best_epoch)
        if not plain:
            return plain
        says_memorising = plain.startswith(MEMORISING)
        values = [y for _, y in scores]
        best = int(best_epoch if best_epoch is not None else max(scores, key=lambda s: s[1])[0])
        best_score = max((y for x, y in scores if int(x) == best), default=max(values))
        if self.memorising is None:
            self._turn(says_memorising, best, best_score, first=True)
        elif says_memorising != self.memorising:
            noise = score_noise(values)
            if noise is not None:
                moved = (
                    values[-1] < best_score - noise
                    if says_memorising
                    else values[-1] > (self.mark if self.mark is not None else best_score) + noise
                )
                if moved:
                    self._turn(says_memorising, best, best_score)
        if says_memorising == self.memorising:
            return plain
        if self.memorising:
            return f"{MEMORISING}: no clear gain on held-out songs since epoch {self.since}."
        return f"Still learning — best so far at epoch {best}."

    def _turn(self, memorising: bool, best: int, best_score: float, *, first: bool = False) -> None:
        self.memorising = memorising
        self.since, self.mark = best, best_score
        if not first:
            self.changes += 1


def phase_line(p: TrainingProgress, state: str) -> tuple[str, str | None]:
    """(the panel's state, its phase line or None to keep it) after report `p` in `state`.

    Pause and resume are the musician's: the state follows their clicks, never a report. A
    "paused" report still in flight after Resume (or a "training" one after Pause) describes a
    moment that has passed and must not undo the click. The first training report ends
    compiling."""
    if p.phase == "compiling":
        return state, COMPILING_LINE
    if p.phase == "paused":
        return state, "Paused." if state == "paused" else None
    if p.phase == "training":
        if state == "compiling":
            state = "training"
        if state == "training":
            return state, (
                f"Training… batch {p.batch}/{p.batches_per_epoch}, error {p.recon_error:.4f}"
            )
    return state, None


@dataclass
class ProgressView:
    """What to show after a batch of reports; None: leave it as it is."""

    state: str
    phase: str | None
    epoch: str
    eta: str
    fraction: float | None
    verdict: str | None


class TrainingProgressState:
    """One run's progress as the panel shows it: the reports so far, the held-out scores, the
    best epoch, why it stopped, and the curve points not drawn yet."""

    def __init__(self) -> None:
        self.log: deque[TrainingProgress] = deque(maxlen=LOG_LENGTH)
        self.held_scores: Points = []  # (epoch, held-out score) this run
        self.best_epoch: int | None = None  # of the best held-out score this run
        self.stop_reason: str | None = None  # the run's final word: "time", "patience"
        self.pending = PlotPoints()
        self.cap_seconds: float | None = None  # the run's time limit
        self.hold = VerdictHold()

    def start(self, cap_seconds: float | None = None) -> None:
        """A new run, with time limit `cap_seconds` (None: none): no reports, scores or
        verdict yet (the drawn curves are the panel's)."""
        self.log.clear()
        self.held_scores, self.best_epoch, self.stop_reason = [], None, None
        self.cap_seconds = cap_seconds
        self.hold.reset()

    def noise(self) -> float | None:
        """How far this run's held-out score moves by chance (None: not known yet)."""
        return score_noise([y for _, y in self.held_scores])

    def discard_pending(self) -> None:
        self.pending = PlotPoints()

    def take_pending(self) -> PlotPoints:
        """The points received since the last redraw (the panel draws them now)."""
        points, self.pending = self.pending, PlotPoints()
        return points

    def add(self, reports: Sequence[TrainingProgress], state: str) -> ProgressView | None:
        """Take a batch of reports (oldest first) while the panel is in `state`; what to show,
        from the newest report (None for an empty batch)."""
        self.log.extend(reports)
        if not reports:
            return None
        for r in reports:
            if r.best_epoch is not None:
                self.best_epoch = int(r.best_epoch)
        points = points_of(reports)
        self.pending.extend(points)
        verdict = None
        if points.held:
            self.held_scores.extend(points.held)
            verdict = self.hold.verdict(self.held_scores, self.best_epoch)
        p = reports[-1]
        state, phase = phase_line(p, state)
        return ProgressView(
            state=state,
            phase=phase,
            epoch=f"Epoch {int(p.epoch)} / {int(p.epochs)}",
            eta=eta_line(p, self.cap_seconds),
            fraction=progress_fraction(p, self.cap_seconds),
            verdict=verdict,
        )

    def end(self, stop_reason: str | None, best_epoch: int | None) -> None:
        """The run's final word on why it stopped and its best epoch."""
        self.stop_reason = stop_reason
        if best_epoch is not None:
            self.best_epoch = int(best_epoch)

    def cancelled(self) -> bool:
        return bool(self.log) and self.log[-1].phase == "cancelled"

    def outcome(self) -> str:
        return "cancelled" if self.cancelled() else (self.stop_reason or "done")

    def verdict(self) -> str:
        return held_out_verdict(self.held_scores, self.best_epoch, self.outcome())

    def finished_lines(self, epochs_trained: int) -> tuple[str, str]:
        """(phase line, status line) for a run that ended with a model of `epochs_trained`."""
        ran = int(self.log[-1].epoch) if self.log else epochs_trained
        return outcome_messages(self.outcome(), epochs_trained, ran)

    def load_history(self, history: Sequence[dict]) -> tuple[PlotPoints, str]:
        """An opened model's saved curve: its points and its verdict; the scores and best
        epoch become the model's."""
        self.discard_pending()
        points = history_points(history)
        held = points.held
        self.best_epoch = int(max(held, key=lambda s: s[1])[0]) if held else None
        self.held_scores, self.stop_reason = list(held), None
        self.hold.reset()
        return points, held_out_verdict(held, self.best_epoch, "loaded")


class StableAxes:
    """Axis ranges for a growing curve that change rarely: x grows in steps of 1.5×, y only
    widens to fit new data or narrows when the data fill less than a third of it. Every range
    change re-lays out a plot's axis ticks, the most expensive part of its redraw, so the plot
    applies a range only when this says it changed."""

    X_START = 10.0

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.x_max = self.X_START
        self.y_lo: float | None = None
        self.y_hi: float | None = None

    def grow_x(self, xs: Sequence[float]) -> float | None:
        """The new x maximum when `xs` reach past the current one, else None."""
        if not xs:
            return None
        x = max(xs)
        if x <= self.x_max:
            return None
        self.x_max = max(x * 1.5, self.X_START)
        return self.x_max

    def fit_y(self, ys: Sequence[float]) -> tuple[float, float] | None:
        """The new (low, high) when the finite `ys` leave the range or fill under a third of
        it, else None."""
        finite = [y for y in ys if y == y and abs(y) != float("inf")]
        if not finite:
            return None
        lo, hi = min(finite), max(finite)
        span = max(hi - lo, abs(hi) * 1e-3, 1e-9)
        if (
            self.y_lo is None
            or lo < self.y_lo
            or hi > self.y_hi
            or (hi - lo) < (self.y_hi - self.y_lo) / 3
        ):
            self.y_lo, self.y_hi = lo - 0.1 * span, hi + 0.1 * span
            return self.y_lo, self.y_hi
        return None
