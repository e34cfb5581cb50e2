"""`rbm-studio bench playback`: timing of MidiPlayer through a real JACK server against peers.

A private JACK server (dummy driver) carries the MIDI; a JACK input port timestamps every message
in the JACK cycle. A dense test song (sixteenth-note melody plus a chord every beat, `--seconds`
long at 120 BPM) is played by:
- ours: `MidiPlayer` (absolute deadlines, sleep then spin), its thread on SCHED_FIFO where the OS
  allows it (root, or an rtprio limit); ours-nort: the same at normal priority, as most desktops run;
- mido: `MidiFile.play()` — the usual way to play a MIDI file from Python — sending each message
  to the same kind of rtmidi JACK output;
- naive: `time.sleep(delta)` between events, the accumulating-drift approach.
Reported per player: drift of the last note-on against the score (relative to the first note-on),
and the mean / 99th-percentile / worst onset error. Target for ours: last-note drift under 5 ms.
JACK delivers MIDI once per period (128 frames at 48 kHz = 2.7 ms), so that is the floor.

The built-in synth is measured on its audio: the first five bundled chorales rendered through it
(E.Piano 1, whose samples start at once) and their onsets found by spectral flux
(`playback.onsets`; the detector needs onsets more than a few ms apart) against the score
— mean / p99 / worst error — and its render speed as seconds of audio per second of wall time on
a long song (× real time). Skip with `--no-synth`; `--synth-only` needs no JACK.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time

from ..commands.common import add_json

NAME = "playback"
HELP = "drift of the last note-on over a long song through JACK: ours vs mido.play vs naive sleep"

TARGET_MS = 5.0
BPM = 120.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=60.0, help="song length (default 60)")
    parser.add_argument(
        "--players",
        default="ours,ours-nort,mido,naive",
        help="comma-separated players to measure (default: ours,ours-nort,mido,naive)",
    )
    add_json(parser)
    synth = parser.add_mutually_exclusive_group()
    synth.add_argument("--no-synth", action="store_true", help="leave out the built-in synth rows")
    synth.add_argument(
        "--synth-only", action="store_true", help="only the built-in synth rows (no JACK needed)"
    )


SYNTH_PROGRAM = 4  # E.Piano 1


def measure_synth(seconds: float, songs: int = 5) -> dict:
    """Onset errors of the built-in synth's renders of the first `songs` bundled chorales, and
    its render speed on the test song at least `max(seconds, 120)` seconds long (best of three)."""
    import numpy as np

    from ..music.midi import read_midi
    from ..playback.onsets import onset_errors, score_onsets
    from ..playback.scheduling import build_schedule
    from ..playback.synth import SAMPLE_RATE, render_song_audio
    from ..resources import sample_midi_dir

    errors, onsets = [], []
    for path in sorted(sample_midi_dir().glob("*.mid"))[:songs]:
        song = read_midi(path)
        audio = render_song_audio(song, program=SYNTH_PROGRAM)
        score = score_onsets(build_schedule(song))
        onsets += score
        errors.append(onset_errors(audio, SAMPLE_RATE, score))
    abs_ms = np.sort(np.abs(np.concatenate(errors)) * 1000)
    long_song = test_song(max(seconds, 120.0))
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        rendered = render_song_audio(long_song, program=SYNTH_PROGRAM)
        best = min(best, time.perf_counter() - started)
    return {
        "onsets": len(onsets),
        "mean_abs_error_ms": round(float(abs_ms.mean()), 3),
        "p99_abs_error_ms": round(float(abs_ms[min(len(abs_ms) - 1, int(0.99 * len(abs_ms)))]), 3),
        "max_abs_error_ms": round(float(abs_ms[-1]), 3),
        "render_x_realtime": round(len(rendered) / SAMPLE_RATE / best, 1),
    }


def test_song(seconds: float):
    from ..music.song import Note, Song, TempoChange

    beats = int(seconds * BPM / 60.0)
    scale = [60, 62, 64, 65, 67, 69, 71, 72]
    notes = [
        Note(scale[(i * 3) % len(scale)], i * 0.25, i * 0.25 + 0.2, 90) for i in range(beats * 4)
    ]
    for beat in range(beats):
        root = 48 + (beat % 4) * 2
        notes += [Note(root + k, beat, beat + 0.9, 70, channel=1) for k in (0, 4, 7)]
    return Song(notes=notes, tempos=[TempoChange(0.0, BPM)], title="drift test")


def _play_ours(song, port_name: str, *, realtime: bool = True) -> None:
    from ..playback.player import MidiPlayer

    with MidiPlayer(client_name="bench-ours", realtime=realtime) as player:
        if not player.open("jack", port_name):
            raise RuntimeError(player.status.message)
        player.load(song)
        player.play()
        player.wait()


def _jack_output(port_name: str, client: str):
    import rtmidi

    out = rtmidi.MidiOut(rtapi=rtmidi.API_UNIX_JACK, name=client)
    out.open_port(out.get_ports().index(port_name))
    return out


def _play_mido(song, port_name: str) -> None:
    import mido

    from ..music.midi import song_to_midi_bytes

    midi = mido.MidiFile(file=io.BytesIO(song_to_midi_bytes(song)))
    out = _jack_output(port_name, "bench-mido")
    try:
        for message in midi.play():
            out.send_message(message.bytes())
    finally:
        out.close_port()
        out.delete()


def _play_naive(song, port_name: str) -> None:
    from ..playback.scheduling import build_schedule

    events = build_schedule(song).events
    out = _jack_output(port_name, "bench-naive")
    try:
        previous = 0.0
        for event in events:
            if event.seconds > previous:
                time.sleep(event.seconds - previous)
            previous = event.seconds
            out.send_message(list(event.message))
    finally:
        out.close_port()
        out.delete()


def _play_ours_normal_priority(song, port_name: str) -> None:
    _play_ours(song, port_name, realtime=False)


PLAYERS = {
    "ours": _play_ours,
    "ours-nort": _play_ours_normal_priority,
    "mido": _play_mido,
    "naive": _play_naive,
}


def measure(play, song, score: list[float], listener) -> dict:
    listener.clear()
    play(song, listener.port_name)
    listener.settle(quiet=0.3)
    onsets = [t for t, m in listener.messages() if m[0] & 0xF0 == 0x90 and m[2] > 0]
    if len(onsets) != len(score):
        return {"error": f"received {len(onsets)} note-ons, expected {len(score)}"}
    errors = [(onsets[i] - onsets[0]) - (score[i] - score[0]) for i in range(len(score))]
    abs_ms = sorted(abs(e) * 1000 for e in errors)
    return {
        "note_ons": len(score),
        "last_note_drift_ms": round(errors[-1] * 1000, 3),
        "mean_abs_error_ms": round(sum(abs_ms) / len(abs_ms), 3),
        "p99_abs_error_ms": round(abs_ms[min(len(abs_ms) - 1, int(0.99 * len(abs_ms)))], 3),
        "max_abs_error_ms": round(abs_ms[-1], 3),
    }


def run(args: argparse.Namespace) -> int:
    from ..playback.jack_server import JackListener, JackServer, JackUnavailable
    from ..playback.scheduling import build_schedule

    names = [n.strip() for n in args.players.split(",") if n.strip()]
    unknown = [n for n in names if n not in PLAYERS]
    if unknown:
        print(f"unknown player(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    song = test_song(args.seconds)
    schedule = build_schedule(song)
    score = [e.seconds for e in schedule.events if e.is_note_on]
    results: dict[str, dict] = {}
    period_ms, realtime = float("nan"), False
    if args.synth_only:
        names = []
    try:
        if names:
            with JackServer() as server, JackListener(client_name="bench-listener") as listener:
                for name in names:
                    print(f"playing {args.seconds:.0f} s with {name}…", file=sys.stderr)
                    results[name] = measure(PLAYERS[name], song, score, listener)
                period_ms = server.period_seconds * 1000
                realtime = server.realtime
    except JackUnavailable as exc:
        print(f"cannot measure: {exc}", file=sys.stderr)
        return 1
    synth = None
    if not args.no_synth:
        print("rendering with the built-in synth…", file=sys.stderr)
        synth = measure_synth(args.seconds)
    ours = results.get("ours", {})
    ok = "last_note_drift_ms" in ours and abs(ours["last_note_drift_ms"]) < TARGET_MS
    summary = {
        "song_seconds": args.seconds,
        "jack_period_ms": round(period_ms, 3) if results else None,
        "jack_realtime": realtime,
        "results": results,
        "target_ms": TARGET_MS,
        "ours_meets_target": ok,
        "builtin_synth": synth,
    }
    if args.json:
        json.dump(summary, sys.stdout)
        sys.stdout.write("\n")
    else:
        _print_summary(summary, len(score), period_ms)
    return 0


def _print_summary(summary: dict, note_ons: int, period_ms: float) -> None:
    results, synth = summary["results"], summary["builtin_synth"]
    if results:
        print(
            f"{summary['song_seconds']:.0f} s song, {note_ons} note-ons, through JACK "
            f"(period {period_ms:.2f} ms, jackd realtime={summary['jack_realtime']})"
        )
    print(f"{'player':8} {'last drift':>11} {'mean |err|':>11} {'p99 |err|':>10} {'max |err|':>10}")
    for name, r in results.items():
        if "error" in r:
            print(f"{name:9} {r['error']}")
            continue
        print(
            f"{name:9} {r['last_note_drift_ms']:>8.2f} ms {r['mean_abs_error_ms']:>8.2f} ms"
            f" {r['p99_abs_error_ms']:>7.2f} ms {r['max_abs_error_ms']:>7.2f} ms"
        )
    if synth is not None:
        print(
            f"{'synth':9} {'(render)':>11} {synth['mean_abs_error_ms']:>8.2f} ms"
            f" {synth['p99_abs_error_ms']:>7.2f} ms {synth['max_abs_error_ms']:>7.2f} ms"
            f"   onsets in the built-in synth's audio ({synth['onsets']}); renders"
            f" {synth['render_x_realtime']:.0f}× real time"
        )
    if "ours" in results:
        verdict = "meets" if summary["ours_meets_target"] else "MISSES"
        print(f"ours {verdict} the target: last-note drift under {TARGET_MS:.0f} ms")
