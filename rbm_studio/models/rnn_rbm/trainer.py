"""The RNN-RBM behind the same front as the RBM's `Trainer`: iterate it for `TrainingProgress`
(at least 5 per second), `pause()` / `resume()` / `cancel()` from any thread (they act between
optimisation steps), `snapshot()` / `weights()` / `hidden_activations()` from any thread (numpy
copies, no JAX).

Progress: the frame-level RBM pre-training shows as epoch 0 with its own batch counter; the
recurrent training's epochs are the ones counted (and recorded in the history). The free-energy gap
is mean F(held-out songs' frames) − mean F(training frames), per frame, at each epoch end.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from ...music.encoding import Encoding, StateMatrix
from ...music.windows import transpose_rows
from ...platform.devices import mesh_devices
from ..base import TrainingProgress
from ..config import TrainingConfig
from ..document import Model
from ..sharding import to_host
from ..trainer_base import REPORT_INTERVAL_S, TrainerControls
from .sampler import context_width, model_sequences, song_context
from .spec import SPEC as KIND
from .spec import own

# the held-out score is a cheap reverse AIS (RAISE): its bias is downwards, so a model too sharp
# for the schedule reads worse, never better, and early stopping cannot chase the estimator
# (its bias against forward AIS and more β: README, "Long, coherent songs")
HELD_OUT_CHAINS = 8
HELD_OUT_BETAS = 300
HELD_OUT_SHARE = 0.2  # of the training time spent on the held-out score
METRIC_SONGS = 64  # songs used for the free-energy gap and the activation histogram


class RnnRbmTrainer(TrainerControls):
    """Trains a kind "rnn-rbm" `Model` on whole songs (see module doc)."""

    KIND = KIND
    # the held-out score is a conservative likelihood, so its best epoch is the one to keep
    KEEP_BEST_WHEN_DONE = True

    def __init__(
        self,
        config: TrainingConfig,
        matrices: Sequence[StateMatrix],
        encoding: Encoding,
        *,
        model: Model | None = None,
    ) -> None:
        # every knob of the kind in the config, so the saved model records how it was trained
        config = config.with_values(**asdict(own(config)))
        self.take_inputs(config, matrices, encoding)
        usable = [m for m in matrices if m.steps >= 2]
        songs = model_sequences(config.frame_level, usable, onset_sustain=own(config).onset_sustain)
        if not songs:
            raise ValueError("no song has at least 2 steps, so there is nothing to learn from")
        rng = np.random.default_rng(config.seed)
        hold_idx, train_idx = self.split_held_out(len(songs), rng)
        n_hold = len(hold_idx)
        self._holdout = [songs[i] for i in hold_idx[:METRIC_SONGS]]
        train = [songs[i] for i in train_idx]
        planes = 1 if config.frame_level else 2
        shifts = [s for k in range(1, config.transpose + 1) for s in (k, -k)]
        train = train + [transpose_rows(s, sh, planes) for sh in shifts for s in train]
        # bar positions go after the notes (never transposed); frame-level data has no bars
        self.n_context = 0
        if own(config).meter and not config.frame_level:
            contexts = [song_context(m) for m in usable]
            held = [contexts[i] for i in hold_idx[:METRIC_SONGS]]
            trained = [contexts[i] for i in train_idx] * (1 + len(shifts))
            self._holdout = [
                np.concatenate(p, axis=1) for p in zip(self._holdout, held, strict=True)
            ]
            train = [np.concatenate(p, axis=1) for p in zip(train, trained, strict=True)]
            self.n_context = int(trained[0].shape[1])
        self._train = train
        self._train_sample = [train[i] for i in rng.permutation(len(train))[:METRIC_SONGS]]
        self.n_visible = int(train[0].shape[1]) - self.n_context
        self.n_hidden = int(config.hidden)
        # a data set smaller than one batch trains in batches of what there is; pre-training
        # epochs count passes over the songs, a pass over all their transposed copies counting
        # as that many: pre-trained 2N+1 times as long, the RBM's weights come out several
        # times larger, its conditionals too sharp for the held-out AIS to measure
        copies = 1 + len(shifts)
        passes = own(config).pretrain_epochs
        self._recipe = config.with_values(
            batch_size=min(config.batch_size, len(train)),
            pretrain_epochs=-(-passes // copies) if passes else 0,
        )
        self._initial = self.continue_from(model)
        self._eval_every = self._held_out_every()
        self._check_continued(config)
        self.dataset_summary = self._summarise(matrices, len(train), n_hold)
        n_seq = len(self._cut_count())
        self.batches_per_epoch = max(1, -(-n_seq // self._recipe.batch_size))

        self.init_controls(dict(self._initial or {}))

    def _check_continued(self, config: TrainingConfig) -> None:
        """Raise ValueError when the continued model (if any) and `config` disagree on what the
        network reads: bar positions or previous-step links."""
        if self._initial is not None and context_width(self._initial) != self.n_context:
            raise ValueError(
                "the model and these settings disagree on reading bar positions (the meter option)"
            )
        if self._initial is not None and ("Wpv" in self._initial) != own(config).previous_step:
            raise ValueError(
                "the model and these settings disagree on the previous-step links "
                "(the previous-step option)"
            )

    def _cut_count(self) -> list:
        from .training import cut_subsequences

        return cut_subsequences(
            self._train, own(self._recipe).sequence_length, np.random.default_rng(0)
        )

    # ----- numpy views (any thread) -----
    def hidden_activations(self) -> np.ndarray:
        """Mean p(h=1 | v, past) of each RBM hidden unit over the frames of a few training songs."""
        params = self.params_copy()
        if "W" not in params:
            return np.zeros(self.n_hidden, np.float32)
        acts = []
        V = self.n_visible
        for song in self._train_sample[:16]:
            u = params["u0"]
            previous = np.zeros(V, np.float32)
            for row in song[:256]:
                v, c = row[:V], row[V:]
                bh = params["hbias"] + u @ params["Wuh"]
                if "Wch" in params:
                    bh = bh + c @ params["Wch"]
                if "Wph" in params:
                    bh = bh + previous @ params["Wph"]
                acts.append(0.5 + 0.5 * np.tanh(0.5 * (bh + v @ params["W"])))  # sigmoid
                u = _np_rnn_step(params, u, v)
                previous = v
        return np.mean(acts, axis=0)

    # ----- the training loop -----
    def __iter__(self) -> Iterator[TrainingProgress]:
        self.start_once()
        from . import training as rnn_rbm_training

        run = _Run(
            done_epochs=self.epoch_offset, total_epochs=self.epoch_offset + self.config.epochs
        )
        bpe = self.batches_per_epoch
        yield run.progress("compiling", bpe)
        steps = rnn_rbm_training.train_rnn_rbm(
            self._recipe,
            self._train,
            params=self._initial,
            pretrain=self._initial is None,
            n_context=self.n_context,
        )
        total_steps = self.config.epochs * bpe
        t_step = run.last_report = time.perf_counter()
        finished = True
        for report in steps:
            self._time_step(run, time.perf_counter() - t_step)
            run.last_recon = report.recon_error
            params = to_host(dict(report.params))
            record, stop = self._count_step(run, report, params)
            self.publish(params, [] if record is None else [record])
            eta = (
                run.active / run.steps_done * (total_steps - run.steps_done)
                if run.steps_done
                else None
            )
            if record is not None:
                yield run.progress(
                    "training",
                    bpe,
                    batch=bpe,
                    recon_error=record["recon_error"],
                    free_energy_gap=record["free_energy_gap"],
                    epoch_end=True,
                    elapsed=run.active,
                    eta=eta,
                    held_out=record["held_out"],
                    best_epoch=self.best_epoch,
                )
                run.last_report = time.perf_counter()
                if stop:
                    break
            elif time.perf_counter() - run.last_report >= REPORT_INTERVAL_S:
                yield run.progress("training", bpe, batch=_shown_batch(report, bpe), eta=eta)
                run.last_report = time.perf_counter()
            while self.paused and not self.cancelled:
                yield from self.wait_paused(run.progress("paused", bpe), REPORT_INTERVAL_S)
            if self.cancelled:
                finished = False
                break
            if self.time_up(run.active):
                break
            t_step = time.perf_counter()
        steps.close()
        self.finished = finished
        yield run.progress("done" if finished else "cancelled", bpe, eta=0.0 if finished else None)

    def _time_step(self, run: _Run, seconds: float) -> None:
        """Count a step's time as training time; the first one is the compile."""
        run.active += seconds
        if self.compile_seconds is None:
            self.compile_seconds = seconds
        elif self.chunk_seconds is None:
            self.chunk_seconds = seconds

    def _count_step(
        self, run: _Run, report, params: dict[str, np.ndarray]
    ) -> tuple[dict | None, bool]:
        """Add a training step to the running means; at an epoch end, measure the held-out
        scores and return the epoch's record, and whether patience says stop."""
        if report.phase != "train":
            return None, False
        run.steps_done += 1
        run.recon_sum += report.recon_error
        run.recon_n += 1
        if not report.epoch_end:
            return None, False
        run.done_epochs = self.epoch_offset + report.epoch
        # the held-out measures take time of their own: it counts towards the minutes
        # budget, and they run every few epochs (`_held_out_every`)
        measured = time.perf_counter()
        gap = None
        if run.done_epochs % self._eval_every == 0:
            gap = run.last_gap = self._free_energy_gap(params)
        held = self._held_out_score(run.done_epochs, params)
        run.active += time.perf_counter() - measured
        stop = self.track_best(run.done_epochs, held, params)
        record = {
            "epoch": run.done_epochs,
            "recon_error": run.recon_sum / max(run.recon_n, 1),
            "free_energy_gap": gap,
            "held_out": held,
            "elapsed": round(run.active, 4),
        }
        run.recon_sum = run.recon_n = 0.0
        return record, stop

    # ----- helpers -----
    def _held_out_score(self, epoch: int, params: dict) -> float | None:
        """Mean log-likelihood per frame of the held-out songs by a cheap reverse AIS, every few
        epochs (None in between; see `_held_out_every`). Forward AIS with few β flatters a sharp
        model without bound (a run's curve passed 0 and early stopping followed it); RAISE
        reads low instead, so the epoch it picks is one whose score is at least that good."""
        if not self._holdout or epoch % self._eval_every:
            return None
        from .evaluator import evaluate_frames

        return evaluate_frames(
            params,
            self._holdout,
            n_chains=HELD_OUT_CHAINS,
            n_betas=HELD_OUT_BETAS,
            seed=0,
            reverse=True,
        ).log_likelihood

    def _held_out_every(self) -> int:
        """Epochs between held-out scores so that they cost about `HELD_OUT_SHARE` of the
        training, and at least ten of them come in a run: AIS does two half Gibbs steps per β and chain on every held-out frame, an
        epoch about 2(k + 2) on every training frame. A count, not a clock: the same settings
        score (and so stop at) the same epochs on any machine."""
        held = sum(len(s) for s in self._holdout)
        trained = sum(len(s) for s in self._train)
        score = held * HELD_OUT_CHAINS * HELD_OUT_BETAS * 2
        epoch = max(trained * 2 * (self.config.cd_k + 2), 1)
        every = math.ceil(score / (HELD_OUT_SHARE * epoch))
        # at least ten scores a run: tiny folders train fast, so the curve may cost more there
        return max(1, min(every, self.config.epochs // 10))

    def _free_energy_gap(self, params: dict) -> float | None:
        if not self._holdout:
            return None
        from .evaluator import mean_free_energy

        return mean_free_energy(params, self._holdout) - mean_free_energy(
            params, self._train_sample
        )

    def _summarise(self, matrices, n_train: int, n_hold: int) -> dict:
        return {
            **self.summary_common(matrices),
            "devices": len(mesh_devices(self.config.device)),
            "train_songs": int(n_train),
            "holdout_songs": int(n_hold),
        }


def _np_rnn_step(params: dict, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """numpy twin of `rnn_rbm.rnn_step` (keeps the GUI-thread histogram free of JAX)."""

    def sig(x):
        return 0.5 + 0.5 * np.tanh(0.5 * x)  # the logistic sigmoid, without overflow

    if "Wvz" in params:
        z = sig(v @ params["Wvz"] + u @ params["Wuz"] + params["bz"])
        r = sig(v @ params["Wvr"] + u @ params["Wur"] + params["br"])
        c = np.tanh(v @ params["Wvu"] + (r * u) @ params["Wuu"] + params["bu"])
        return (1.0 - z) * u + z * c
    return np.tanh(v @ params["Wvu"] + u @ params["Wuu"] + params["bu"])


@dataclass
class _Run:
    """What one `__iter__` keeps between steps."""

    done_epochs: int
    total_epochs: int
    active: float = 0.0  # training seconds (paused time excluded)
    last_report: float = field(default_factory=time.perf_counter)
    recon_sum: float = 0.0
    recon_n: float = 0.0
    last_recon: float = float("nan")
    last_gap: float | None = None
    steps_done: int = 0

    def progress(self, phase: str, bpe: int, **kw) -> TrainingProgress:
        """A report; the latest error, gap and training time unless `kw` says otherwise."""
        values = {
            "recon_error": self.last_recon,
            "free_energy_gap": self.last_gap,
            "elapsed": self.active,
            **kw,
        }
        if phase == "compiling":
            values = kw
        return TrainingProgress(
            phase=phase,
            epoch=self.done_epochs,
            epochs=self.total_epochs,
            batches_per_epoch=bpe,
            **values,
        )


def _shown_batch(report, bpe: int) -> int:
    """The batch counter of a report: pre-training fills epoch 0, shown as its share of it."""
    if report.phase != "pretrain":
        return report.batch
    return int(
        bpe
        * (report.epoch * report.batches_per_epoch + report.batch)
        / (report.epochs * report.batches_per_epoch)
    )
