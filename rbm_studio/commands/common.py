"""What every headless command (and benchmark) shares: the common options, the device choice,
loading a model file, and the one way a command reports that it cannot go on.

Each option is defined once here so `--seed` means the same range, `--device` the same choices and
`--json` the same promise (one JSON object on stdout, everything else on stderr) in every command.
A command that cannot go on raises `CommandError` (or returns `fail(...)`): `rbm_studio.cli`
prints it as one `error: ...` line on stderr and exits with its code, never a traceback.

Heavy libraries (JAX, the model code) are imported inside the functions, so building the parser
for `rbm-studio --help` stays cheap.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..platform.devices import DEVICE_NAMES
from . import options

# Exit codes: 1 the work failed (a file would not load, a write failed); 2 the request itself is
# wrong (an option out of range, a device that is not there), as argparse uses for bad options.
FAILED = 1
BAD_REQUEST = 2

JSON_HELP = "print one JSON object on stdout"


class CommandError(Exception):
    """A command cannot go on: `str()` is the one-line reason, `code` the exit status, `label`
    what `fail` puts in front of it."""

    def __init__(self, message: str, code: int = FAILED, *, label: str | None = "error") -> None:
        super().__init__(message)
        self.code = code
        self.label = label


def fail(message: object, code: int = FAILED, *, label: str | None = "error") -> int:
    """Print `label: message` on stderr (one line) and return `code`, for `return fail(...)`.
    `label=None` prints the message alone: the playback commands' lines already say what failed
    ("cannot play ...", "playback stopped: ...")."""
    print(f"{label}: {message}" if label else str(message), file=sys.stderr)
    return code


def add_json(parser: argparse.ArgumentParser, help: str = JSON_HELP) -> None:
    parser.add_argument("--json", action="store_true", help=help)


def add_device(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--device",
        choices=DEVICE_NAMES,
        default="auto",
        help="where JAX runs: auto (a GPU when JAX finds one), cpu or gpu",
    )


def add_seed(
    parser: argparse.ArgumentParser, help: str = "random seed (0..2**32-1)", default: int | None = 0
) -> None:
    parser.add_argument("--seed", type=options.seed, default=default, help=help)


def add_workers(
    parser: argparse.ArgumentParser,
    help: str = "processes to use, 1 to 4 per CPU (default: all CPUs)",
) -> None:
    """`--workers N`; `check_workers` bounds it when the command runs (the bound is per CPU)."""
    parser.add_argument("--workers", type=int, default=None, help=help)


def check_workers(workers: int | None) -> int | None:
    """`workers` when it is None (automatic) or within 1..max_workers(); else `CommandError`."""
    from ..data.dataset import WORKERS_PER_CPU, max_workers

    if workers is not None and not 1 <= workers <= max_workers():
        raise CommandError(
            f"--workers must be between 1 and {max_workers()} ({WORKERS_PER_CPU} per CPU: "
            f"more only wait for a CPU), not {workers}",
            BAD_REQUEST,
        )
    return workers


def choose_device(choice: str):
    """Make `choice` (auto, cpu, gpu) JAX's default device; `CommandError` when it is not here."""
    from ..platform.devices import DeviceError, use

    try:
        return use(choice)
    except DeviceError as exc:
        raise CommandError(str(exc), BAD_REQUEST) from None


def load_model_or_exit(path: str | None):
    """The model in `path` (None for None); `CommandError` with the file's one-line reason when
    it does not load."""
    if path is None:
        return None
    from ..models.model_file import ModelFileError, load_model

    try:
        return load_model(path)
    except ModelFileError as exc:
        raise CommandError(str(exc), FAILED) from None


def import_songs_or_exit(path: str | Path, encoding=None, progress=None):
    """Import the MIDI folder (or file) at `path`: its import report, each skipped file named on
    stderr; `CommandError` when the path is missing or no song in it could be used."""
    from ..data.dataset import import_folder

    path = Path(path)
    if not path.exists():
        raise CommandError(f"{path} does not exist")
    kwargs = {} if encoding is None else {"encoding": encoding}
    report = import_folder(path, progress=progress, **kwargs)
    for r in report.skipped:
        print(f"skipped {r.path.name}: {r.reason}", file=sys.stderr)
    if not report.loaded:
        raise CommandError(f"no usable MIDI songs in {path}")
    return report


def songs_folder(path: str | Path) -> Path:
    """The `--out` folder for songs, made if need be; `CommandError` when it cannot be used."""
    from ..platform import files

    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(f"cannot use {out} for the songs: {files.reason(exc)}") from None
    return out


def write_song_files(out: Path, stem: str, songs: list, *, program: int, text: str):
    """Write each song as `stem-NN.mid` in `out` through the one DAW writer (named parts, their
    velocities), never over an existing file; a file that fails is said in one line (and kept
    elsewhere when it can be). Returns (path, song, written where asked) for each file kept,
    and whether any failed."""
    from ..music.midi import unique_path
    from ..music.parts import write_daw_midi
    from .saving import write_or_keep

    written, failed = [], False
    for i, song in enumerate(songs, start=1):
        path = unique_path(out, f"{stem}-{i:02d}")
        kept, error = write_or_keep(
            path, lambda p, s=song: write_daw_midi(s, p, program=program, text=text)
        )
        if error:
            failed = True
            fail(f"cannot write {path.name}: {error}")
        if kept is not None:
            written.append((kept, song, error is None))
    return written, failed
