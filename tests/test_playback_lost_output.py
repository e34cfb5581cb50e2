"""A MIDI output that goes away mid-song (its port, or the whole JACK server) stops playback with a
message, in the player and in `rbm-studio play`, instead of running on silently to "100 %"."""

from __future__ import annotations

import os
import threading

import pytest
from support.play_child import start_play

from rbm_studio.music.midi import write_midi
from rbm_studio.music.song import Note, Song, TempoChange
from rbm_studio.playback.jack_server import (
    JackListener,
    JackServer,
    JackUnavailable,
    clear_stale_registry,
)
from rbm_studio.playback.player import MidiPlayer

pytestmark = pytest.mark.jack


def long_song() -> Song:
    """Twenty seconds of eighth notes: far longer than any test waits."""
    notes = [Note(60 + i % 12, i * 0.5, i * 0.5 + 0.4, 90) for i in range(80)]
    return Song(notes=notes, tempos=[TempoChange(0.0, 120.0)], title="long")


def test_player_stops_when_its_port_vanishes(jack_server):
    statuses = []
    stopped = threading.Event()
    player = MidiPlayer(
        client_name="rbm-lost-port",
        on_status=statuses.append,
        on_state=lambda s: stopped.set() if s == "stopped" else None,
    )
    try:
        listener = JackListener(client_name="rbm-lost-port-synth")
        try:
            assert player.open("jack", listener.port_name), player.status.message
            player.load(long_song())
            assert player.play()
            assert listener.wait_for(4)
        finally:
            listener.close()  # the synth quits mid-song
        assert stopped.wait(timeout=5), "the player did not notice its port going away"
        assert player.wait(timeout=1) and player.state == "stopped"
        assert not player.status.ready
        assert "rbm-lost-port-synth:in" in player.status.message
        assert statuses[-1] == player.status and "\n" not in player.status.message
        assert 0.0 < player.position < 40.0  # stopped where it was, not at the end
        assert not player.play()  # no output any more: nothing plays until one is chosen
    finally:
        player.close()


def test_play_command_exits_non_zero_when_jack_dies(tmp_path):
    song = tmp_path / "long.mid"
    write_midi(long_song(), song)
    # killed below while the session's server runs, so its registry slot cannot be cleared: a
    # fixed name lets the next run's server reclaim it (unique names filled the registry and the
    # test skipped on every run after a few)
    server = JackServer(name=f"rbm-killed-{os.getuid()}")
    try:
        server.start()
    except JackUnavailable as exc:
        pytest.skip(str(exc))
    try:
        with JackListener(client_name="rbm-lost-server-synth") as listener:
            proc = start_play(song, listener.port_name)
            try:
                assert listener.wait_for(4, timeout=30), "play never sent a note"
                assert server.process is not None
                server.process.kill()  # JACK dies mid-song
                server.process.wait(timeout=5)
                _, err = proc.communicate(timeout=15)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    finally:
        server.stop()
        clear_stale_registry()  # the killed server's registry entry is not left to later tests
    assert proc.returncode == 1, err
    assert "Traceback" not in err and "Cannot read socket" not in err, err
    last = err.strip().splitlines()[-1]
    assert last == "playback stopped: MIDI output lost: the JACK server stopped.", err
    assert "100%" not in err, err  # the bar stays where the song stopped
