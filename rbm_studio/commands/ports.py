"""`rbm-studio ports`: which MIDI APIs work on this machine and which output ports they offer.

The first thing to run when playback is silent: it says why an API is unavailable (no ALSA
sequencer, no JACK server) instead of leaving the person guessing.
"""

from __future__ import annotations

import argparse
import json
import sys

NAME = "ports"
HELP = "list MIDI APIs and their output ports (for `rbm-studio play`)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def run(args: argparse.Namespace) -> int:
    from ..playback.player import NO_OUTPUT_HELP
    from ..playback.ports import has_any_output, list_outputs, statuses_to_json

    statuses = list_outputs()
    if args.json:
        json.dump({"apis": statuses_to_json(statuses)}, sys.stdout)
        sys.stdout.write("\n")
        return 0
    for st in statuses:
        if not st.available:
            print(f"{st.display_name} ({st.api}): unavailable — {st.reason}")
            continue
        virtual = "; can create a virtual port" if st.supports_virtual else ""
        print(f"{st.display_name} ({st.api}): {len(st.ports)} output port(s){virtual}")
        for i, name in enumerate(st.ports):
            print(f"  {i}: {name}")
    if not statuses:
        print("this python-rtmidi build has no MIDI API")
    if not has_any_output(statuses):
        print()
        print(NO_OUTPUT_HELP)
    return 0
