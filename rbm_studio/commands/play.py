"""`rbm-studio play FILE.mid`: play a MIDI file headless, with a progress line.

Without `--api`, `--port` or `--virtual` it plays through the built-in synth on the default audio
device, and when no audio device opens, to the first MIDI port that may be a synth (never a
"Through" port). Ctrl-C stops cleanly: the player sends note-offs and All Notes Off before the program exits.
"""

from __future__ import annotations

import argparse
import sys
import time

from . import options
from .common import BAD_REQUEST, CommandError, fail

NAME = "play"
HELP = "play a MIDI file through the built-in synth or a MIDI output port (see `rbm-studio ports`)"
RELEASE_TAIL_S = 1.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE.mid", help="MIDI file to play")
    parser.add_argument("--api", help="MIDI API: alsa, jack, coremidi or winmm (default: any)")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--port", help="output port: index or (part of) its name")
    target.add_argument(
        "--synth",
        action="store_true",
        help="only the built-in synth (default: it first, then a MIDI port that may be a synth)",
    )
    target.add_argument(
        "--virtual",
        action="store_true",
        help='open a virtual output port "RBM Studio" and play to whatever connects to it',
    )
    parser.add_argument("--soundfont", help="the built-in synth's SoundFont (default: bundled)")
    parser.add_argument(
        "--audio-backend",
        help="the built-in synth's audio backend: wasapi, coreaudio, pulseaudio, alsa, jack, "
        "null, ... (default: the system's default device)",
    )
    parser.add_argument(
        "--tempo", type=options.tempo, help="play at this many BPM instead of the file's"
    )
    parser.add_argument(
        "--program", type=options.program, default=0, help="GM program 0-127 (0 = piano)"
    )
    parser.add_argument(
        "--delay",
        type=options.float_range(0.0, 3600.0),
        default=None,
        help="seconds to wait before playing (default 3 with --virtual, so a synth can connect)",
    )


def _open(player, args: argparse.Namespace) -> str | None:
    """Open the requested output; return None on success, else the reason."""
    from ..playback.ports import (
        PortError,
        compiled_apis,
        list_outputs,
        resolve_port,
        sounding_ports,
    )

    reasons = []
    if args.synth or not (args.api or args.port is not None or args.virtual):
        if player.open_synth():
            return None
        if args.synth:
            return player.status.message
        reasons.append(player.status.message)
    apis = [args.api.lower()] if args.api else compiled_apis()
    if args.virtual:
        for st in list_outputs(apis):
            if st.supports_virtual and player.open(st.api, virtual=True):
                return None
        return player.status.message if args.api else "no MIDI API here can make a virtual port"
    statuses = list_outputs(apis)
    for st in statuses:
        if not st.ports:
            reasons.append(f"{st.display_name}: {st.reason}")
            continue
        if args.port is None:
            may_sound = sounding_ports(st)
            if not may_sound:
                reasons.append(f"{st.display_name}: only ports that do not sound ({st.ports[0]})")
                continue
            if player.open(st.api, st.ports.index(may_sound[0])):
                return None
            reasons.append(player.status.message)
            continue
        if args.port is not None:
            try:
                resolve_port(st.ports, args.port)
            except PortError as exc:
                reasons.append(f"{st.display_name}: {exc}")
                continue
        if player.open(st.api, args.port):
            return None
        reasons.append(player.status.message)
    return "; ".join(reasons) or "no MIDI output ports"


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02}"


def _song_and_backend(args: argparse.Namespace):
    """The song to play and the audio backend asked for (or None), once the request is known to
    be playable; `CommandError` otherwise."""
    from ..music.midi import MidiImportError, read_midi
    from ..playback.audio import BACKENDS
    from ..playback.ports import PortError, api_constant

    try:
        song = read_midi(args.file)
    except MidiImportError as exc:
        raise CommandError(f"cannot play {args.file}: {exc}", BAD_REQUEST, label=None) from None
    if not song.notes:
        raise CommandError(f"{args.file} has no notes to play", BAD_REQUEST, label=None)
    if args.api:
        try:
            api_constant(args.api)
        except PortError as exc:
            raise CommandError(str(exc), BAD_REQUEST, label=None) from None
    backend = args.audio_backend.lower() if args.audio_backend else None
    if backend is not None and backend not in BACKENDS:
        raise CommandError(
            f"unknown audio backend {backend!r}; choose from {', '.join(BACKENDS)}",
            BAD_REQUEST,
            label=None,
        )
    synth_first = args.synth or not (args.api or args.port is not None or args.virtual)
    if args.soundfont is not None and synth_first:
        from ..playback.synth import probe_soundfont

        # A SoundFont asked for by name is checked (whole structure, a test note) before
        # anything plays; one that fails is refused in one line rather than replaced.
        reason = probe_soundfont(args.soundfont)
        if reason is not None:
            raise CommandError(f"cannot play: {reason}", BAD_REQUEST, label=None)
    return song, backend


def run(args: argparse.Namespace) -> int:
    from ..playback.audio import backends_from_env
    from ..playback.player import NO_OUTPUT_DETAILS, MidiPlayer

    song, backend = _song_and_backend(args)
    player = MidiPlayer(
        soundfont=args.soundfont, audio_backends=[backend] if backend else backends_from_env()
    )
    try:
        try:
            player.set_program(args.program)
            if args.tempo is not None:
                player.set_tempo(args.tempo)
        except ValueError as exc:
            return fail(exc, BAD_REQUEST, label=None)
        reason = _open(player, args)
        if reason is not None:
            fail(f"nothing to play through: {reason}", label=None)
            print(NO_OUTPUT_DETAILS, file=sys.stderr)
            return 1
        print(player.status.message, file=sys.stderr)
        player.load(song)
        delay = args.delay if args.delay is not None else (3.0 if args.virtual else 0.0)
        if delay > 0:
            time.sleep(delay)
        _play_with_progress(player, song, song.title or args.file)
        if not player.status.ready:
            # The output went away mid-song (a synth quit, the JACK server stopped).
            return fail(f"playback stopped: {player.status.message}", label=None)
        # Let the last notes' release ring before closing sends All Sound Off.
        time.sleep(RELEASE_TAIL_S)
        return 0
    except KeyboardInterrupt:
        player.stop()
        print("stopped", file=sys.stderr)
        return 130
    finally:
        player.close()


def _play_with_progress(player, song, title: str) -> None:
    """Play the loaded song to its end (or until the output goes), drawing bars and time."""
    from ..playback.scheduling import build_schedule
    from .progress import ProgressBar

    schedule = build_schedule(song)
    bar_len = schedule.beats_per_bar
    bars = max(int(-(-schedule.end_beat // bar_len)), 1)
    factor = player.tempo_bpm / schedule.tempo_map.first_bpm
    total = schedule.tempo_map.seconds_at(schedule.end_beat) / factor
    with ProgressBar(bars, f"playing {title}") as bar:
        player.play()
        while not player.wait(timeout=0.1):
            beat = player.position
            elapsed = schedule.tempo_map.seconds_at(beat) / factor
            bar.update(min(int(beat // bar_len) + 1, bars), f"{_clock(elapsed)} / {_clock(total)}")
        if player.status.ready:
            bar.update(bars, f"{_clock(total)} / {_clock(total)}")
