"""`rbm-studio import PATH...`: import MIDI files headless and say what loaded and what was skipped.

Useful to check a folder before training on it, and to warm the import cache.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .common import CommandError, add_json, add_workers

NAME = "import"
HELP = "import a folder of MIDI files; list loaded and skipped files with reasons"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="+", metavar="PATH", help="MIDI folder (searched recursively) or file"
    )
    add_json(parser)
    parser.add_argument(
        "--keep-drums", action="store_true", help="keep channel 10 (drums) instead of ignoring it"
    )
    parser.add_argument(
        "--drop-out-of-range",
        action="store_true",
        help="drop notes outside the pitch range instead of folding them in by octaves",
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="parse every file again; do not use the cache"
    )
    add_workers(parser)
    parser.add_argument(
        "--corpus",
        nargs="?",
        const="",
        metavar="OUT.rbmc",
        help="write a packed corpus file to train on without holding the songs in memory "
        "(no value: in the cache folder); `train --corpus` reads it",
    )


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02}:{s:02}" if h else f"{m}:{s:02}"


def _run_corpus(args: argparse.Namespace, encoding, progress) -> int:
    """Stream the files into a packed corpus (one song in memory per worker at a time)."""
    import hashlib

    from ..data.corpus import SUFFIX, CorpusError, import_corpus
    from ..platform.paths import cache_dir

    out = Path(args.corpus) if args.corpus else None
    if out is None:
        names = "\0".join(str(Path(p).resolve()) for p in args.paths) + repr(encoding)
        digest = hashlib.blake2b(names.encode(), digest_size=8).hexdigest()
        out = cache_dir() / "corpora" / f"{Path(args.paths[0]).name or 'corpus'}-{digest}{SUFFIX}"
    try:
        report = import_corpus(
            [Path(p) for p in args.paths],
            out,
            encoding,
            keep_drums=args.keep_drums,
            progress=progress,
            workers=args.workers,
        )
    except (CorpusError, OSError) as exc:
        raise CommandError(str(exc)) from None
    if args.json:
        out_json = {
            "corpus": str(report.path),
            "loaded": report.songs,
            "rows": report.rows,
            "bytes": report.bytes,
            "seconds": round(report.elapsed, 3),
            "skipped": [{"path": p, "reason": r} for p, r in report.skipped],
        }
        json.dump(out_json, sys.stdout)
        sys.stdout.write("\n")
        return 0
    print(
        f"corpus  {report.path}\nsongs   {report.songs} of {report.files} files "
        f"({report.rows:,} steps, {report.notes:,} notes, {report.bytes / 2**20:.1f} MiB)\n"
        f"time    {report.elapsed:.2f} s"
    )
    for path, reason in report.skipped:
        print(f"  skipped {path}  {reason}")
    return 0


class _Progress:
    """The import's progress callback: a bar made at the first call, when the total is known."""

    def __init__(self) -> None:
        self.bar = None

    def __call__(self, done: int, total: int, path: Path) -> None:
        from .progress import ProgressBar

        if self.bar is None:
            self.bar = ProgressBar(total, "importing")
        self.bar.update(done, path.name)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run(args: argparse.Namespace) -> int:
    from ..data.dataset import import_folder
    from ..music.encoding import Encoding
    from .common import check_workers

    check_workers(args.workers)
    encoding = Encoding(out_of_range="drop" if args.drop_out_of_range else "fold")
    progress = _Progress()
    try:
        if args.corpus is not None:
            return _run_corpus(args, encoding, progress)
        report = import_folder(
            [Path(p) for p in args.paths],
            encoding,
            keep_drums=args.keep_drums,
            progress=progress,
            use_cache=not args.no_cache,
            workers=args.workers,
        )
    finally:
        progress.close()
    if args.json:
        json.dump(_report_json(report), sys.stdout)
        sys.stdout.write("\n")
    else:
        _print_report(report, encoding)
    return 0 if report.loaded else 1


def _report_json(report) -> dict:
    return {
        "loaded": len(report.loaded),
        "skipped": [{"path": str(r.path), "reason": r.reason} for r in report.skipped],
        "songs": [{"path": str(r.path), "steps": r.steps, "notes": r.notes} for r in report.loaded],
    }


def _summary_rows(report, encoding) -> list[tuple[str, str]]:
    """The summary table's (label, value) rows; folded and dropped notes only when there are any."""
    loaded = report.loaded
    folded = sum(r.folded for r in loaded)
    dropped = sum(r.dropped for r in loaded)
    span = f"MIDI {encoding.low}..{encoding.high}"
    rows = [
        ("files", f"{len(report.results)}"),
        ("loaded", f"{len(loaded)}"),
        ("skipped", f"{len(report.skipped)}"),
        ("notes", f"{report.total_notes:,}"),
        ("steps", f"{report.total_steps:,} ({encoding.steps_per_beat} per beat)"),
        ("music", _duration(sum(r.seconds for r in loaded))),
        ("from cache", f"{report.cache_hits}"),
        ("time", f"{report.elapsed:.2f} s"),
    ]
    if folded:
        rows.append(("folded", f"{folded:,} notes moved by octaves into {span}"))
    if dropped:
        rows.append(("dropped", f"{dropped:,} notes outside {span}"))
    return rows


def _print_report(report, encoding) -> None:
    rows = _summary_rows(report, encoding)
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    skipped = report.skipped
    if skipped:
        print("\nskipped files:")
        name_width = min(max(len(str(r.path)) for r in skipped), 60)
        for r in skipped:
            print(f"  {str(r.path):<{name_width}}  {r.reason}")
    if not report.loaded:
        print("\nno song could be loaded", file=sys.stderr)
