"""Song form: which bars of a song repeat which, learned from songs and planned for new ones.

A song's bars get labels: `same@k` (the notes of the bar k before), `vary@k` (its pitch classes
with other notes: the chords kept, the tune varied), `new` or `rest` (silent). The training
songs' labels, cut into phrases of `PHRASE` bars, are what a model keeps of their form
(`learn_form`): how often each phrase pattern occurred at each place in a song (first, second,
third phrase, later ones; a later phrase may repeat the one before it). A new song's plan strings sampled
phrase patterns together (`sample_plan`) — the form of songs like the training songs, with no
training song's notes.

Also the form a person asks for (`parse_form`): like the songs, a seamless loop of N bars, or
free (through-composed). numpy only: the models, the commands and the window share it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .encoding import StateMatrix
from .stats import bar_steps

PHRASE = 8  # bars per phrase pattern; a label looks back at most this far
MAX_PLANS = 400  # phrase patterns a model keeps per place (the most frequent)
PHRASE_PLACES = 4  # first, second and third phrases, then every later one
MAX_LOOP_BARS = 64
# at most this many songs are read for their form (evenly spread over a large corpus)
MAX_FORM_SONGS = 400
FORMS = ("like-songs", "loop", "free")
FORM_CHOICES = (
    ("like-songs", "Like the songs", "Bars repeat and vary the way they do in your songs."),
    ("loop", "Loop", "A seamless loop of a few bars, repeated: ready to drop into a DAW."),
    ("free", "Free", "Through-composed: every bar new, nothing planned."),
)
_LABEL = re.compile(r"^(new|rest|(same|vary)@([1-9]|[1-5][0-9]|6[0-4]))$")


@dataclass(frozen=True)
class Form:
    """A form request: `style` one of `FORMS`; `bars` the loop's length (0 otherwise)."""

    style: str = "like-songs"
    bars: int = 0

    def __str__(self) -> str:
        return f"loop:{self.bars}" if self.style == "loop" else self.style

    def describe(self) -> str:
        """What the songs will be, in a musician's words."""
        if self.style == "loop":
            return f"a seamless {self.bars}-bar loop, repeated"
        if self.style == "free":
            return "through-composed (no planned repeats)"
        return "bars repeating and varying the way the training songs' bars do"


def parse_form(text: str | Form | None) -> Form:
    """`like-songs`, `loop:N` or `free` (None: like-songs) as a `Form`; a clear error else."""
    if isinstance(text, Form):
        return text
    value = "like-songs" if text is None else str(text).strip().lower()
    if value in ("like-songs", "free"):
        return Form(value)
    match = re.fullmatch(r"loop:(\d{1,3})", value)
    if match and 1 <= int(match.group(1)) <= MAX_LOOP_BARS:
        return Form("loop", int(match.group(1)))
    raise ValueError(
        f"form {text!r} is not one of like-songs, loop:N (N = 1..{MAX_LOOP_BARS} bars) or free"
    )


def label_lag(label: str) -> int:
    """How many bars back a `same@k` / `vary@k` label looks (0 for `new` and `rest`)."""
    return int(label.split("@")[1]) if "@" in label else 0


def bar_labels(matrix: StateMatrix) -> list[str]:
    """Each whole bar's label (see the module doc): the nearest earlier bar (within `PHRASE`)
    with the same notes, else with the same pitch classes, else new."""
    bar = bar_steps(matrix)
    count = matrix.steps // bar
    pcs = bar_pitch_classes(matrix)
    flat = (matrix.data[: count * bar] > 0).reshape(count, -1)
    labels = []
    for i in range(count):
        if not pcs[i].any():
            labels.append("rest")
            continue
        lags = range(1, min(i, PHRASE) + 1)
        same = next((k for k in lags if np.array_equal(flat[i], flat[i - k])), 0)
        vary = next((k for k in lags if np.array_equal(pcs[i], pcs[i - k])), 0)
        labels.append(f"same@{same}" if same else f"vary@{vary}" if vary else "new")
    return labels


def bar_pitch_classes(matrix: StateMatrix) -> np.ndarray:
    """[whole bars, 12] bool: the pitch classes (C = 0) sounding in each whole bar."""
    bar = bar_steps(matrix)
    span = matrix.encoding.span
    count = matrix.steps // bar
    sounding = (matrix.data[: count * bar, :span] > 0).reshape(count, bar, span)
    pitch_class = (matrix.encoding.low + np.arange(span)) % 12
    pcs = np.zeros((count, 12), bool)
    for pc in range(12):
        pcs[:, pc] = sounding[:, :, pitch_class == pc].any(axis=(1, 2))
    return pcs


def learn_form(songs: Sequence[StateMatrix] | Iterable[StateMatrix]) -> dict:
    """What a model keeps of its training songs' form: `{"phrase": PHRASE, "phrases": [plans of
    songs' first phrases, of their second, third, and of every later one]}`, each a list of
    `[labels, count]`, most frequent first (at most `MAX_PLANS`). Phrases are told apart by
    place because songs are: a second phrase often repeats the first (A A), a third brings
    something new (B). A song shorter than a phrase gives its whole (shorter) pattern."""
    counts: list[Counter] = [Counter() for _ in range(PHRASE_PLACES)]
    for song in songs:
        labels = bar_labels(song)
        for place, start in enumerate(range(0, max(len(labels), 1), PHRASE)):
            chunk = tuple(labels[start : start + PHRASE])
            if not chunk or (start and len(chunk) < PHRASE):
                continue
            counts[min(place, PHRASE_PLACES - 1)][chunk] += 1
    return {
        "phrase": PHRASE,
        "phrases": [[[list(p), n] for p, n in c.most_common(MAX_PLANS)] for c in counts],
    }


def form_problem(value: object) -> str | None:
    """Why a stored form (a model file's `dataset["form"]`) is not one `learn_form` writes (one
    line), or None."""
    if not isinstance(value, dict):
        return "must be an object"
    if value.get("phrase") != PHRASE:
        return f"phrase must be {PHRASE}"
    places = value.get("phrases")
    if not isinstance(places, list) or len(places) != PHRASE_PLACES:
        return f"phrases must be a list of {PHRASE_PLACES} lists of phrase patterns"
    for place, plans in enumerate(places, start=1):
        if not isinstance(plans, list) or len(plans) > MAX_PLANS:
            return f"phrase place {place} must be a list of at most {MAX_PLANS} patterns"
        for plan in plans:
            if not (isinstance(plan, list) and len(plan) == 2 and isinstance(plan[0], list)):
                return f"phrase place {place} holds a pattern that is not [labels, count]"
            labels, count = plan
            if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 10**9:
                return f"phrase place {place} holds a count that is not a whole number from 1"
            if not 1 <= len(labels) <= PHRASE or not all(
                isinstance(x, str) and _LABEL.match(x) and label_lag(x) <= PHRASE for x in labels
            ):
                return f"phrase place {place} holds a label not like new, rest, same@2 or vary@4"
    return None


def has_form(stored: object) -> bool:
    """Whether a model's stored form can plan songs (it learned at least one phrase)."""
    return form_problem(stored) is None and any(stored["phrases"])


def sample_plan(stored: dict, bars: int, rng: np.random.Generator) -> list[str]:
    """A plan of `bars` labels: phrase patterns drawn with their frequency among the training
    songs' phrases at the same place (the nearest earlier place that has any), each label kept
    only where the bar it looks back at exists."""
    plan: list[str] = []
    places = stored["phrases"]
    while len(plan) < bars:
        place = min(len(plan) // PHRASE, PHRASE_PLACES - 1)
        pool = next((places[p] for p in range(place, -1, -1) if places[p]), None)
        pool = pool or next(p for p in places if p)
        counts = np.array([n for _, n in pool], np.float64)
        labels = pool[int(rng.choice(len(pool), p=counts / counts.sum()))][0]
        for label in labels:
            plan.append(label if label_lag(label) <= len(plan) else "new")
    return plan[:bars]


def loop_plan(bars: int) -> list[str]:
    """A loop's plan: a bar of lead-in, `bars` new bars, then the loop's first bar again (the
    context its last bar is sampled against, so the loop closes seamlessly). Only the `bars`
    bars after the lead-in are the loop."""
    return ["new"] * (bars + 1) + [f"same@{bars}"]
