"""`rbm-studio train`: train an RBM on a MIDI folder, the bundled samples or a benchmark corpus.

Ctrl-C (or SIGTERM) stops training between chunks and still saves the model trained so far; a
second Ctrl-C aborts without saving.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
from pathlib import Path

from . import options
from .common import BAD_REQUEST, CommandError, add_json, fail

NAME = "train"
HELP = "train a model (RBM or RNN-RBM) on MIDI songs and save it as a .rbm model file"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..models import registry

    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("path", nargs="?", help="folder of MIDI files (or one MIDI file)")
    src.add_argument("--sample", action="store_true", help="train on the bundled sample songs")
    src.add_argument(
        "--benchmark", metavar="FILE.mat", help="train on a polyphonic benchmark's train split"
    )
    src.add_argument(
        "--corpus",
        metavar="FILE.rbmc",
        help="train on a packed corpus (`import DIR --corpus`), read as it trains",
    )
    parser.add_argument("--out", required=True, metavar="MODEL.rbm", help="where to save the model")
    parser.add_argument("--continue-from", metavar="MODEL.rbm", help="keep training this model")
    kinds = "; ".join(f"{k.name}: {k.description}" for k in registry.KINDS.values())
    parser.add_argument(
        "--model",
        dest="model_kind",
        choices=tuple(registry.KINDS),
        default=registry.DEFAULT_KIND,
        help=f"the kind of model (default {registry.DEFAULT_KIND}). {kinds}",
    )
    for setting in registry.all_settings():
        _add_setting(parser, setting, registry)
    parser.add_argument(
        "--holdout", type=float, default=None, help="held-out share of the data (0.1)"
    )
    parser.add_argument(
        "--frame-level",
        action="store_true",
        help="one 88-key frame per visible layer (always, with --benchmark)",
    )
    add_json(parser, help="print a JSON summary on stdout")
    _add_distributed(parser)


def _add_distributed(parser: argparse.ArgumentParser) -> None:
    dist = parser.add_argument_group(
        "several machines",
        "one process per machine (or GPU); each reads its own slice of every mini-batch. "
        "With --distributed only process 0 saves, unless --out contains {process}.",
    )
    dist.add_argument(
        "--distributed",
        action="store_true",
        help="join the other processes through jax.distributed before training",
    )
    dist.add_argument(
        "--coordinator", metavar="HOST:PORT", help="process 0's address ($JAX_COORDINATOR_ADDRESS)"
    )
    dist.add_argument(
        "--num-processes",
        type=options.positive_int,
        metavar="N",
        help="processes in all ($JAX_NUM_PROCESSES)",
    )
    dist.add_argument(
        "--process-id",
        type=options.int_range(0),
        metavar="I",
        help="this process, 0..N-1 ($JAX_PROCESS_ID)",
    )
    dist.add_argument(
        "--join-timeout",
        type=options.float_range(1.0, 24 * 3600.0),
        default=None,
        metavar="SECONDS",
        help="give up when the other processes have not all joined by then (default 120)",
    )


def _add_setting(parser: argparse.ArgumentParser, setting, registry) -> None:
    """One CLI option per knob; its default is None so each kind's own default applies."""
    owners = [
        f"{k.name} {k.defaults[setting.name]}"
        for k in registry.KINDS.values()
        if setting.name in k.defaults
    ]
    default = f" (default: {', '.join(owners)})" if owners else ""
    dest = setting.name
    if setting.type == "bool":
        parser.add_argument(
            setting.cli_flag,
            dest=dest,
            action=argparse.BooleanOptionalAction,
            default=None,
            help=setting.tooltip + default,
        )
        return
    metavar = setting.cli_flag[2:].upper().replace("-", "_")
    kwargs: dict = {"dest": dest, "default": None, "metavar": metavar}
    kwargs["help"] = setting.tooltip + default
    if setting.type == "choice":
        kwargs["choices"] = tuple(value for value, _label in setting.choices)
    else:
        kwargs["type"] = int if setting.type == "int" else float
    parser.add_argument(setting.cli_flag, **kwargs)


def _config(args):
    """The kind's defaults with every option given on the command line on top."""
    from ..models import registry

    overrides = {
        s.name: getattr(args, s.name)
        for s in registry.all_settings()
        if getattr(args, s.name, None) is not None
    }
    if args.holdout is not None:
        overrides["holdout_fraction"] = args.holdout
    if args.frame_level or args.benchmark:
        # benchmark pieces are 88-key frames without onsets: models of them read frames only,
        # and their log-likelihood per frame is the one the literature reports
        overrides["frame_level"] = True
    if "momentum_end" in overrides and "momentum_start" not in overrides:
        # a lower final momentum also lowers the starting one (start never above the end)
        overrides["momentum_start"] = min(0.5, overrides["momentum_end"])
    if overrides.get("sparsity_target") is None:
        overrides.pop("sparsity_cost", None)
    return registry.default_config(args.model_kind, **overrides)


def _amount(summary: dict) -> str:
    if "train_windows" in summary:
        return f"{summary['train_windows']} windows"
    return f"{summary['train_songs']} songs"


def _load_songs(args):
    """(matrices, encoding, description) from the chosen source."""
    if args.benchmark:
        from ..data.benchmark_data import load_benchmark

        corpus = load_benchmark(args.benchmark)
        return corpus.train, corpus.train[0].encoding, f"benchmark {corpus.name} (train split)"
    if args.corpus:
        from ..data.corpus import Corpus

        packed = Corpus(args.corpus)
        return packed, packed.encoding, f"corpus {args.corpus} ({len(packed)} songs)"
    from ..resources import sample_midi_dir
    from .common import import_songs_or_exit
    from .progress import ProgressBar

    path = sample_midi_dir() if args.sample else Path(args.path)
    with ProgressBar(0, "import") as bar:
        progress = lambda done, total, p: _bar_update(bar, done, total)  # noqa: E731
        report = import_songs_or_exit(path, progress=progress)
    return report.matrices, report.encoding, f"{len(report.loaded)} songs from {path}"


def _bar_update(bar, done: int, total: int) -> None:
    bar.total = total
    bar.update(done)


def run(args: argparse.Namespace) -> int:
    from ..models import registry
    from .saving import OutputBusy, check_out, hold_out

    config = _config(args)
    try:  # before songs load: the registry's one line, as the window and the benchmarks say it
        registry.check_request(config)
    except registry.SettingsError as exc:
        return fail(exc, BAD_REQUEST)
    if not str(args.out).strip():
        return fail("--out needs a file name", BAD_REQUEST)
    process = _join_cluster(args) if args.distributed else 0
    if process and "{process}" not in args.out:
        args.out = None  # only process 0 saves the (identical) model
    out = Path(args.out.replace("{process}", str(process))) if args.out else None
    problem = check_out(out) if out is not None else None
    if problem:
        return fail(problem, BAD_REQUEST)
    with contextlib.ExitStack() as stack:
        if out is not None:
            try:  # one run per --out: a second is refused before it trains
                stack.enter_context(hold_out(out))
            except OutputBusy as exc:
                return fail(exc, BAD_REQUEST)
        return _train(args, config, out, process)


def _join_cluster(args: argparse.Namespace) -> int:
    """Join the other processes of a `--distributed` run; this process's id."""
    from ..platform import devices

    try:
        spec = devices.cluster_spec(args.coordinator, args.num_processes, args.process_id)
    except devices.DeviceError as exc:
        raise CommandError(str(exc), BAD_REQUEST) from None
    timeout = args.join_timeout or devices.JOIN_TIMEOUT_S
    try:
        devices.initialize_distributed(spec, timeout)
    except devices.DeviceError as exc:
        raise CommandError(f"--distributed: {exc}") from None
    return spec.process_id


def _make_run(args: argparse.Namespace, config):
    """The training run (the window's `TrainingRun`, without autosave or plots) on the chosen
    songs, continuing `--continue-from`, its trainer made; and the songs' description."""
    from ..studio.training import TrainingRun
    from .common import load_model_or_exit

    previous = load_model_or_exit(args.continue_from)
    try:
        matrices, encoding, source = _load_songs(args)
    except Exception as exc:  # OSError, ValueError, BenchmarkDataError: a clear line
        raise CommandError(str(exc)) from None
    run = TrainingRun(config, matrices, encoding, model=previous, plots=False)
    try:
        run.prepare()
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    return run, source


@contextlib.contextmanager
def _stop_on_signals(run):
    """Ctrl-C or SIGTERM stops the run between chunks; a second Ctrl-C interrupts."""

    def stop(signum, frame):
        run.cancel()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    old_int = signal.signal(signal.SIGINT, stop)
    old_term = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)


def _run_epochs(run, epochs: int):
    """Train to the end (or a stop), drawing the run's batched progress; (the model, the last
    progress report)."""
    from .progress import ProgressBar

    seen: dict = {"last": None, "held": ""}  # the held-out score shows until the next one
    offset = run.trainer.epoch_offset
    with _stop_on_signals(run), ProgressBar(epochs, "train") as bar:

        def draw(update) -> None:
            for p in update.progresses:
                seen["last"] = p
                if p.phase == "compiling":
                    bar.update(0, "compiling…")
                    continue
                gap = "" if p.free_energy_gap is None else f" gap {p.free_energy_gap:.2f}"
                if p.held_out is not None:
                    seen["held"] = f" held-out {p.held_out:.3f}/frame (best: epoch {p.best_epoch})"
                bar.update(p.epoch - offset, f"recon {p.recon_error:.4f}{gap}{seen['held']}")

        model = run.train(draw, background=False)
        draw(run.final_update())
    return model, seen["last"]


def _save(model, out: Path) -> tuple[Path, str | None]:
    """Save `model` at `out` or, when that write fails, somewhere named: (where, error or None)."""
    from ..models.model_file import ModelFileError, save_model
    from .saving import write_or_keep

    try:
        written, error = write_or_keep(out, lambda p: save_model(model, p))
    except ModelFileError as exc:  # it would not load again: refused before writing
        raise CommandError(f"cannot save the model: {exc}") from None
    if error and written is None:
        raise CommandError(f"cannot save the model: {error}")
    if error:
        fail(f"cannot save the model: {error}")
    return (written or out), error


def _train(args: argparse.Namespace, config, out: Path | None, process: int) -> int:
    run, source = _make_run(args, config)
    trainer = run.trainer
    print(
        f"training {config.model} on {source}: {_amount(trainer.dataset_summary)}, "
        f"V={trainer.n_visible} H={trainer.n_hidden}",
        file=sys.stderr,
    )
    turned_off = trainer.dataset_summary.get("turned_off") or []
    if turned_off:
        print(
            "note: off for these windows, where they mean nothing: "
            + ", ".join(f"--{name.replace('_', '-')}" for name in turned_off),
            file=sys.stderr,
        )
    model, last = _run_epochs(run, config.epochs)
    error = None
    if out is not None:
        out, error = _save(model, out)
    cancelled = last is not None and last.phase == "cancelled"
    last_epoch = last.epoch if last is not None else model.epochs_trained
    verb = _verdict(trainer, config, cancelled, model.epochs_trained < last_epoch, last_epoch)
    if trainer.stop_reason == "diverged":
        error = error or "diverged"
    if out is None:
        verb, out = f"process {process} done (process 0 saves)", "-"
    done_epochs = model.epochs_trained - trainer.epoch_offset
    print(f"{verb}: {out} ({done_epochs} epochs)", file=sys.stderr)
    if args.json:
        summary = _summary_json(trainer, model, out, cancelled)
        print(json.dumps(summary | {"turned_off": turned_off}))
    if error:
        return 1
    return 130 if cancelled else 0


def _verdict(trainer, config, cancelled: bool, went_back: bool, last_epoch: int) -> str:
    """How the run ended, in the words of the final line (`went_back`: the model kept is an
    epoch before the last one trained)."""
    if trainer.stop_reason == "diverged":
        return (
            "error: training diverged (the weights became NaN or infinite; try a lower --lr); "
            "saved the last finite weights"
        )
    if trainer.stop_reason == "patience":
        return (
            f"no better held-out score for {config.patience} epochs; saved its best epoch "
            f"{trainer.best_epoch} (held-out {trainer.best_score:.3f} per frame)"
        )
    if not cancelled and went_back and trainer.best_epoch is not None:
        return (
            f"saved its best epoch {trainer.best_epoch} of {last_epoch} "
            f"(held-out {trainer.best_score:.3f} per frame)"
        )
    return "interrupted; saved the model trained so far" if cancelled else "saved"


def _summary_json(trainer, model, out, cancelled: bool) -> dict:
    final = model.history[-1] if model.history else {}
    return {
        "model": str(out),
        "epochs": model.epochs_trained,
        "cancelled": cancelled,
        "recon_error": final.get("recon_error"),
        "free_energy_gap": final.get("free_energy_gap"),
        "model_kind": model.kind,
        "train_windows": trainer.dataset_summary.get("train_windows"),
        "train_songs": trainer.dataset_summary.get("train_songs"),
        "n_visible": model.n_visible,
        "n_hidden": model.n_hidden,
        "compile_s": trainer.compile_seconds,
    }
