"""`rbm-studio`: with no subcommand it opens the window; subcommands run headless.

Each subcommand lives in `rbm_studio.commands.<name>` and exposes `NAME`, `HELP`,
`add_arguments(parser)` and `run(args) -> int`. Those modules import heavy libraries (JAX, Qt)
inside `run`, so `rbm-studio --help` stays fast. Their shared options, device choice, model loading
and error line live in `rbm_studio.commands.common`; a `CommandError` raised anywhere below `run`
ends here as one `error: ...` line and its exit code.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from . import __version__
from .platform.jax_setup import configure_jax
from .platform.logs import start_logging

# Order is the order shown in --help.
COMMAND_MODULES = [
    "import_songs",
    "train",
    "generate",
    "regenerate",
    "harmonise",
    "evaluate",
    "bench",
    "ports",
    "play",
    "render",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rbm-studio",
        description="Learn music from your MIDI songs with a Restricted Boltzmann Machine. "
        "With no subcommand, opens the RBM Studio window.",
    )
    parser.add_argument("--version", action="version", version=f"rbm-studio {__version__}")
    parser.add_argument("--folder", help="open this MIDI folder in the window")
    parser.add_argument("--model", help="open this .rbm model in the window")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="build the window offscreen, import, train a tiny epoch, generate, then exit",
    )
    parser.add_argument("--screenshot", help="with --self-test: save a screenshot PNG here")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"rbm_studio.commands.{name}")
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    start_logging(__version__)
    configure_jax()  # before anything imports or runs JAX: compile cache in the user cache dir
    if args.command is None:
        from .ui.app import run_app

        return run_app(args)
    from .commands.common import CommandError, fail

    try:
        return int(args._run(args) or 0)
    except CommandError as exc:
        logging.getLogger(__name__).warning("%s: %s", args.command, exc)
        return fail(exc, exc.code, label=exc.label)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
