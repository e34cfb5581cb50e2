"""`rbm-studio ports`: whether the built-in synth finds an audio device, which MIDI APIs work on
this machine and which output ports they offer.

The first thing to run when playback is silent: it says why an API is unavailable (no ALSA
sequencer, no JACK server) instead of leaving the person guessing.
"""

from __future__ import annotations

import argparse
import json
import sys

from .common import add_json

NAME = "ports"
HELP = "the built-in synth's audio device, MIDI APIs and their output ports (for `rbm-studio play`)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    from ..playback.audio import BUILTIN_LABEL, backends_from_env, probe_audio
    from ..playback.player import NO_OUTPUT_DETAILS
    from ..playback.ports import (
        has_any_output,
        is_through_port,
        list_outputs,
        no_midi_api_reason,
        statuses_to_json,
    )
    from ..playback.synth import bundled_soundfont

    audio_ok, audio = probe_audio(backends_from_env())
    statuses = list_outputs()
    if args.json:
        builtin = {"available": audio_ok, "soundfont": str(bundled_soundfont())}
        builtin |= {"backend": audio} if audio_ok else {"reason": audio}
        json.dump({"builtin": builtin, "apis": statuses_to_json(statuses)}, sys.stdout)
        sys.stdout.write("\n")
        return 0
    if audio_ok:
        print(f"{BUILTIN_LABEL}: {bundled_soundfont().name} on the default audio device ({audio})")
    else:
        print(f"{BUILTIN_LABEL}: unavailable — {audio}")
    for st in statuses:
        if not st.available:
            print(f"{st.display_name} ({st.api}): unavailable — {st.reason}")
            continue
        virtual = "; can create a virtual port" if st.supports_virtual else ""
        print(f"{st.display_name} ({st.api}): {len(st.ports)} output port(s){virtual}")
        for i, name in enumerate(st.ports):
            note = " (passes MIDI on, does not sound)" if is_through_port(name) else ""
            print(f"  {i}: {name}{note}")
    if not statuses:
        print(no_midi_api_reason())
    if not audio_ok and not has_any_output(statuses):
        print()
        print(NO_OUTPUT_DETAILS)
    return 0
