"""The windowed RBM's spec: name, defaults, settings and checks, with no heavy imports (the window
and the trainers read it)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..base import Preset, Setting
from ..config import TrainingConfig

NAME = "rbm"


class RbmSpec:
    """What the app knows of this kind without importing JAX: names, defaults, settings and
    checks. Trainers read it too; `kind.py` adds training, sampling and evaluation."""

    name = NAME
    label = "RBM (windows)"
    description = (
        "Learns short windows of the grid (the tutorial's model); fast to train, songs are "
        "stitched from windows."
    )
    # one bar of 4/4 per window, a window starting every half bar (where the sampler's windows
    # start), most of each batch practising the sampler's step from where the sampler starts,
    # semitone links, songs learned in one key: the recipe `rbm-studio bench music` rates best
    # (the tutorial's stays its `tutorial` row)
    defaults: Mapping[str, object] = {
        "hidden": 200,
        "window": 16,
        "stride": 8,
        "learning_rate": 0.005,
        "batch_size": 100,
        "cd_k": 5,
        "continue_share": 0.8,
        "fresh_start": True,
        "semitone_links": True,
        "one_key": True,
        "weight_decay": 0.0001,
        "epochs": 2000,
        "patience": 200,
        "minutes": 5.0,
    }
    presets: tuple[Preset, ...] = (
        Preset(
            "songs",
            "Whole songs — minutes",
            "Learns a bar at a time until it stops getting better at songs it never saw (at "
            "most 5 minutes): the settings whose songs sound most like the real thing in our "
            "music benchmark.",
        ),
        Preset(
            "sketch",
            "Quick sketch — seconds",
            "A smaller model for half a minute: rough ideas fast.",
            {"hidden": 100, "epochs": 300, "patience": None, "minutes": 0.5},
        ),
        Preset(
            "tutorial",
            "The tutorial's recipe",
            "Windows of 15 steps, 50 hidden units, 200 epochs: the original tutorial, as a "
            "baseline to compare with.",
            {
                "window": 15,
                "stride": None,
                "hidden": 50,
                "cd_k": 1,
                "continue_share": 0.0,
                "fresh_start": False,
                "semitone_links": False,
                "one_key": False,
                "epochs": 200,
                "patience": None,
                "minutes": None,
            },
        ),
    )
    settings: tuple[Setting, ...] = (
        Setting(
            "window",
            "Window steps",
            "How much music the model sees at once, in sixteenth notes (16 = one bar of 4/4).",
            maximum=1e5,
        ),
        Setting(
            "stride",
            "Window stride",
            "Steps between window starts (empty: the window).",
            minimum=1,
            maximum=4096,
            form=False,
            optional=True,
        ),
        Setting(
            "pcd",
            "Persistent CD",
            "Let the model's daydreams carry on between learning steps (persistent contrastive "
            "divergence): can learn longer patterns, less stable.",
            type="bool",
        ),
        Setting(
            "one_key",
            "Learn in one key",
            "Move every song to C major or A minor before learning, so the model learns harmony "
            "instead of which key each song was in; new songs come out in the keys your songs "
            "use (or the key you choose).",
            type="bool",
        ),
        Setting(
            "continue_share",
            "Practice continuing",
            "Share of each batch where the model practises what new songs ask of it: the second "
            "half of a window given its first half (conditional contrastive divergence). 0 learns "
            "whole windows only.",
            type="float",
            maximum=1.0,
            decimals=2,
            step=0.1,
        ),
        Setting(
            "fresh_start",
            "Practise from scratch",
            "When practising continuing, start each attempt from random notes, as new songs do, "
            "instead of from the real music: the model learns to reach music from where its "
            "songs start, with as many voices as your songs have.",
            type="bool",
        ),
        Setting(
            "semitone_links",
            "Semitone links",
            "Let the model learn directly how often notes a semitone apart sound together, so it "
            "can keep voices apart without thinning out its chords.",
            type="bool",
        ),
        Setting(
            "momentum_start",
            "Momentum (start)",
            "How much each learning step keeps going the way the last one went, at the start.",
            type="float",
            maximum=10.0,
            decimals=3,
            step=0.05,
            flag="momentum-start",
        ),
        Setting(
            "momentum_end",
            "Momentum (end)",
            "The same after the first few passes.",
            type="float",
            maximum=10.0,
            decimals=3,
            step=0.05,
            flag="momentum",
        ),
        Setting(
            "momentum_switch_epoch",
            "Momentum switch epoch",
            "Epoch at which momentum changes from start to end.",
            form=False,
        ),
        Setting(
            "lr_decay",
            "Learning-rate decay",
            "lr / (1 + decay · epoch).",
            type="float",
            maximum=1e3,
            form=False,
        ),
        Setting(
            "sparsity_target",
            "Sparsity target",
            "Wanted mean activation of the hidden units.",
            type="float",
            maximum=1.0,
            form=False,
            optional=True,
        ),
        Setting(
            "sparsity_cost",
            "Sparsity cost",
            "Weight of the sparsity penalty.",
            type="float",
            maximum=1e3,
            form=False,
        ),
        Setting(
            "transpose",
            "Transpositions",
            "Also learn every song shifted by ±1..N semitones.",
            maximum=12,
            form=False,
        ),
    )
    # the chains practise short runs (cd_k) and are still settling a few times that long after;
    # run well past it, they clash and play one-step notes at about the training songs' rates
    # (README, "Songs worth keeping")
    gibbs_default = 100
    temperature_default = 1.0
    modes = ("continue", "windows")

    def check_settings(self, config: TrainingConfig) -> list[str]:
        problems: list[str] = []
        if not 1 <= config.window <= 4096:
            problems.append("Window must be between 1 and 4096 steps.")
        if config.stride is not None and not 1 <= config.stride <= 4096:
            problems.append("Stride must be between 1 and 4096 steps (or empty for the window).")
        for name in ("momentum_start", "momentum_end"):
            if not 0.0 <= getattr(config, name) < 1.0:
                problems.append(f"{name.replace('_', ' ').capitalize()} must be in [0, 1).")
        if config.momentum_switch_epoch < 0:
            problems.append("Momentum switch epoch must not be negative.")
        if config.sparsity_target is not None and not 0.0 < config.sparsity_target < 1.0:
            problems.append("Sparsity target must be between 0 and 1 (exclusive).")
        if config.sparsity_cost < 0.0:
            problems.append("Sparsity cost must not be negative.")
        if config.lr_decay < 0.0:
            problems.append("Learning-rate decay must not be negative.")
        share = config.value("continue_share") or 0.0
        if not isinstance(share, int | float) or not 0.0 <= share <= 1.0:
            problems.append("Practice continuing must be a share between 0 and 1.")
        return problems

    def check_params(self, params: Mapping[str, np.ndarray], window: int) -> list[str]:
        for name in ("W", "vbias", "hbias"):
            if name not in params:
                return [f"RBM array {name!r} is missing"]
        W = params["W"]
        if W.ndim != 2 or params["vbias"].shape != (W.shape[0],):
            return ["RBM arrays have inconsistent shapes"]
        if params["hbias"].shape != (W.shape[1],):
            return ["RBM arrays have inconsistent shapes"]
        if window < 1 or W.shape[0] % window:
            return [f"{W.shape[0]} visible units do not fit window {window}"]
        links = params.get("lateral")
        if links is not None and links.shape != (W.shape[0] // window,):
            return ["RBM semitone links do not fit one grid row of the window"]
        return []

    def window(self, config: TrainingConfig) -> int:
        return config.effective_window


def continuation_split(window: int) -> tuple[int, int]:
    """(rows kept, rows new) of each window when songs are continued: the sampler slides by the
    second, and conditional training clamps the first."""
    advance = max(1, window // 2)
    return window - advance, advance


def infill_problem(model) -> str | None:
    """Why `model` (a `Model` of this kind) cannot sample cells given the notes around them (one
    line), or None: a window of one grid step knows nothing of its neighbours."""
    if model.frame_level or model.window < 2:
        return "a model of one grid step at a time cannot sample notes given the notes around them"
    return None


SPEC = RbmSpec()
