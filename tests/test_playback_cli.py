"""`rbm-studio ports` and `rbm-studio play` against a real JACK server; Ctrl-C leaves no note on."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from support.play_child import start_play

from rbm_studio.cli import main
from rbm_studio.music.midi import write_midi
from rbm_studio.music.song import Note, Song, TempoChange
from rbm_studio.playback.jack_server import JackListener

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def is_note_on(m):
    return m[0] & 0xF0 == 0x90 and m[2] > 0


def sounding(messages):
    on = set()
    for _, m in messages:
        if is_note_on(m):
            on.add((m[0] & 0x0F, m[1]))
        elif m[0] & 0xF0 in (0x80, 0x90):
            on.discard((m[0] & 0x0F, m[1]))
    return on


@pytest.fixture
def midi_file(tmp_path):
    path = tmp_path / "tune.mid"
    notes = [Note(60 + i, i * 0.5, i * 0.5 + 0.45, 90) for i in range(6)]
    write_midi(Song(notes=notes, tempos=[TempoChange(0.0, 240.0)], title="tune"), path)
    return path


@pytest.mark.jack
def test_ports_json_lists_the_jack_port(jack_server, capsys):
    with JackListener(client_name="rbm-cli-ports") as listener:
        assert main(["ports", "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
        [jack] = [a for a in data["apis"] if a["api"] == "jack"]
        assert jack["available"] and jack["virtual"]
        assert listener.port_name in jack["ports"]


@pytest.mark.jack
def test_play_command_plays_every_note(jack_server, midi_file, capsys):
    with JackListener(client_name="rbm-cli-play") as listener:
        code = main(["play", str(midi_file), "--api", "jack", "--port", listener.port_name])
        assert code == 0
        listener.settle()
        ons = [m[1] for _, m in listener.messages() if is_note_on(m)]
        assert ons == [60, 61, 62, 63, 64, 65]
        assert not sounding(listener.messages())
    err = capsys.readouterr().err
    assert "rbm-cli-play:in" in err and "playing tune" in err


@pytest.mark.jack
def test_ctrl_c_stops_cleanly_with_all_notes_off(jack_server, tmp_path):
    path = tmp_path / "long.mid"
    write_midi(Song(notes=[Note(p, 0.0, 40.0) for p in (48, 60, 64)]), path)
    with JackListener(client_name="rbm-cli-sigint") as listener:
        proc = start_play(path, listener.port_name, ctrl_c=True)  # Ctrl-C as from a terminal
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not any(
                is_note_on(m) for _, m in listener.messages()
            ):
                time.sleep(0.02)
            assert sum(is_note_on(m) for _, m in listener.messages()) >= 1, proc.stderr
            listener.wait_for(4)
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=15)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 130, err
        listener.settle()
        messages = listener.messages()
        assert sum(is_note_on(m) for _, m in messages) == 3
        assert not sounding(messages)
        assert (0xB0, 123, 0) in [m for _, m in messages]
        assert (0xB0, 120, 0) in [m for _, m in messages]


def test_play_without_output_explains_options(midi_file, monkeypatch, capsys):
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "rbm-studio-no-such-server")
    assert main(["play", str(midi_file), "--api", "jack"]) == 1
    err = capsys.readouterr().err
    assert "no JACK server running" in err and "virtual port" in err


def test_play_rejects_a_file_that_is_not_midi(tmp_path, capsys):
    bad = tmp_path / "bad.mid"
    bad.write_text("hello")
    assert main(["play", str(bad)]) == 2
    assert "cannot play" in capsys.readouterr().err


@pytest.mark.jack
def test_interpreter_exit_while_playing_silences_the_synth(jack_server):
    """A program that exits mid-song without closing its player still releases every note."""
    script = (
        "import sys, time\n"
        "from rbm_studio.music.song import Note, Song\n"
        "from rbm_studio.playback.player import MidiPlayer\n"
        "p = MidiPlayer()\n"
        "assert p.open('jack', sys.argv[1]), p.status.message\n"
        "p.load(Song(notes=[Note(50, 0, 30), Note(57, 0, 30, channel=2)]))\n"
        "p.play()\n"
        "time.sleep(0.5)\n"
        "sys.exit(0)\n"
    )
    with JackListener(client_name="rbm-cli-atexit") as listener:
        proc = subprocess.run(
            [sys.executable, "-c", script, listener.port_name],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert proc.returncode == 0, proc.stderr
        listener.settle()
        messages = listener.messages()
        assert sum(is_note_on(m) for _, m in messages) == 2
        assert not sounding(messages)
        for ch in (0, 2):
            assert (0xB0 | ch, 123, 0) in [m for _, m in messages]
