"""Generated songs as a DAW gets them (issue #25) and generation that follows the folder (#27):
one writer for the window's export, the library's copies and `rbm-studio generate` (melody,
chords and bass on named tracks and channels, the velocities the model learned), a continuation
that keeps its primer's tempo and time signature, the folder's typical tempo, "Like the songs"
drawing each song's key from the folder's keys, the form in a song's info and in Again, and the
A/B caption that says where B starts. A tiny model really trained on real MIDI files."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import mido
import pytest
from ui_songs import write_song

from rbm_studio import cli
from rbm_studio.models import registry
from rbm_studio.models.config import TrainingConfig
from rbm_studio.models.model_file import save_model
from rbm_studio.music.encoding import Encoding, encode
from rbm_studio.music.keys import key_pitch_classes, songs_keys
from rbm_studio.music.midi import read_midi
from rbm_studio.music.parts import PARTS, daw_midi_bytes
from rbm_studio.studio import generation as G
from rbm_studio.studio.generation import GenerationOptions
from rbm_studio.studio.library import SongLibrary

ENCODING = Encoding(steps_per_beat=2, low=36, high=84)
SHIFTS = (0, 0, 7, 2)  # C, C, G and D major: a folder in three keys


def tune(path: Path, seed: int, *, bpm: float, metre=(4, 4), shift: int = 0) -> Path:
    """A real MIDI song (`ui_songs.write_song`: melody over bass, varied velocities) moved by
    `shift` semitones, at `bpm` in `metre`."""
    write_song(path, seed=seed, bars=4)
    midi = mido.MidiFile(path)
    for track in midi.tracks:
        for i, msg in enumerate(track):
            if msg.type == "set_tempo":
                track[i] = msg.copy(tempo=mido.bpm2tempo(bpm))
            elif msg.type == "time_signature":
                track[i] = msg.copy(numerator=metre[0], denominator=metre[1])
            elif msg.type in ("note_on", "note_off"):
                track[i] = msg.copy(note=msg.note + shift)
    midi.save(path)
    return path


def train_on(paths: list[Path], encoding: Encoding = ENCODING):
    """An RBM trained for a few seconds on `paths` (it keeps their tempo, dynamics and form)."""
    config = TrainingConfig(
        hidden=16, window=4, batch_size=8, epochs=100, learning_rate=0.1, seed=0
    )
    songs = [encode(read_midi(p), encoding) for p in paths]
    trainer = registry.make_trainer(config, songs, encoding)
    for _progress in trainer:
        pass
    return trainer.snapshot()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("folder")
    paths = [tune(d / f"s{i}.mid", i, bpm=120, shift=s) for i, s in enumerate(SHIFTS)]
    waltz = tune(d.parent / "waltz.mid", 9, bpm=60, metre=(3, 4))
    return paths, waltz


@pytest.fixture(scope="module")
def model(folder):
    return train_on(folder[0])


def tracks_of(path: Path) -> list[tuple[str, set[int], set[int]]]:
    """(name, channels, velocities) of each track of a MIDI file that has notes."""
    out = []
    for track in mido.MidiFile(path).tracks:
        ons = [m for m in track if m.type == "note_on" and m.velocity > 0]
        if ons:
            name = next((m.name for m in track if m.type == "track_name"), "")
            out.append((name, {m.channel for m in ons}, {m.velocity for m in ons}))
    return out


def assert_daw_file(path: Path) -> None:
    """Named parts on channels of their own, with velocities that vary."""
    tracks = tracks_of(path)
    assert len(tracks) >= 2, tracks
    assert all(name in PARTS for name, _c, _v in tracks), tracks
    channels = [c for _n, c, _v in tracks]
    assert all(len(c) == 1 for c in channels) and len(set.union(*channels)) == len(tracks)
    assert len(set.union(*(v for _n, _c, v in tracks))) > 1, "velocities must vary"


def tempo_and_metre(path: Path) -> tuple[float, tuple[int, int]]:
    song = read_midi(path)
    sig = song.first_time_signature
    return round(song.first_bpm), (sig.numerator, sig.denominator)


def test_the_folders_keys_are_counted_and_drawn_with_the_seed(folder):
    keys = songs_keys([encode(read_midi(p), ENCODING) for p in folder[0]])
    assert keys.keys == (("C major", 2), ("D major", 1), ("G major", 1))
    assert keys.describe() == "C major (2 songs), D major (1 song), G major (1 song)"
    draws = [keys.draw(seed) for seed in range(200)]
    assert set(draws) == {"C major", "D major", "G major"}
    assert 0.35 < draws.count("C major") / len(draws) < 0.65  # half the songs are in C
    assert [keys.draw(seed) for seed in range(200)] == draws


def test_like_the_songs_gives_each_song_a_key_of_the_folder(model, folder):
    keys = songs_keys([encode(read_midi(p), ENCODING) for p in folder[0]])
    options = GenerationOptions(songs=6, bars=2, key="songs", temperature=1.6, gibbs_steps=20)
    plan = G.plan(model, options, seed=11, songs_key=keys)
    assert plan.keys is not None and len(set(plan.keys)) > 1, plan.keys
    made = G.run(plan)
    for generated, key in zip(made, plan.keys, strict=True):
        assert generated.settings["song_key"] == key
        assert {n.pitch % 12 for n in generated.song.notes} <= set(key_pitch_classes(key))
        assert f"in {key}, like the songs" in generated.describe()
    # Again (one song, its own seed) draws the same key
    again = G.plan(model, replace(options, songs=1), seed=made[3].seed, songs_key=keys)
    assert again.keys == (plan.keys[3],)


def test_a_continuation_keeps_its_primers_tempo_and_time_signature(model, folder, tmp_path):
    primer = encode(read_midi(folder[1]), model.data_encoding)
    options = GenerationOptions(songs=1, bars=2, start="continue", tempo=90, gibbs_steps=5)
    plan = G.plan(model, options, seed=3, primer=primer, primer_title="waltz")
    # two bars of 3/4 after the primer, not two of the model's 4/4
    assert plan.request.steps == 2 * 3 * ENCODING.steps_per_beat
    (song,) = G.run(plan)
    assert round(song.tempo) == 60 and song.matrix.time_signature == (3, 4)
    (path,) = G.export_songs([song], tmp_path)
    assert tempo_and_metre(path) == (60, (3, 4))
    # from silence: the panel's tempo when one is set, else the folder's typical tempo
    silence = replace(options, start="silence")
    assert G.run(G.plan(model, silence, seed=3))[0].tempo == 90
    assert G.run(G.plan(model, replace(silence, tempo=None), seed=3))[0].tempo == 120


def test_export_library_and_cli_write_the_same_daw_file(model, tmp_path):
    options = GenerationOptions(songs=2, bars=4, gibbs_steps=20, form="loop:2")
    made = G.run(G.plan(model, options, seed=4))
    for generated in made:
        assert len({n.velocity for n in generated.song.notes}) > 1, "learned dynamics"
    written = G.export_songs(made, tmp_path / "export")
    for path in written:
        assert_daw_file(path)
    library = SongLibrary(tmp_path / "library")
    for i, generated in enumerate(made):
        generated.name = f"generated {i + 1}"
    library.commit(made, made, 1)
    for generated in made:
        kept = library.song_path(generated.id).read_bytes()
        assert kept == daw_midi_bytes(
            generated.song, program=generated.program, text=generated.describe()
        )


def test_the_cli_writes_parts_and_keeps_a_primers_tempo(model, folder, tmp_path, capsys):
    path = save_model(model, tmp_path / "tiny.rbm")
    base = ["generate", str(path), "--songs", "1", "--bars", "4", "--seed", "2"]
    assert cli.main([*base, "--out", str(tmp_path / "new")]) == 0
    (song,) = sorted((tmp_path / "new").glob("*.mid"))
    assert_daw_file(song)
    assert tempo_and_metre(song)[0] == 120  # the songs' typical tempo
    assert cli.main([*base, "--out", str(tmp_path / "cont"), "--primer", str(folder[1])]) == 0
    (continued,) = sorted((tmp_path / "cont").glob("*.mid"))
    assert tempo_and_metre(continued) == (60, (3, 4))
    capsys.readouterr()


def test_a_song_says_its_form_and_again_keeps_it_and_the_songs_tempo(model):
    options = GenerationOptions(songs=1, bars=2, form="loop:2", tempo=None, gibbs_steps=5)
    (song,) = G.run(G.plan(model, options, seed=1))
    song.name = "generated 1"
    assert "2-bar loop" in song.describe() and "120 BPM" in song.describe()
    again = G.again_settings(song)
    assert again["form"] == "loop:2" and again["tempo"] is None
    assert GenerationOptions.from_settings({**options.settings(), "form": "free"}).form == "free"


def test_ab_says_where_b_starts(model):
    made = G.run(G.plan(model, GenerationOptions(songs=2, bars=4, gibbs_steps=5), seed=6))
    made[0].name, made[1].name = "A song", "B song"
    song, caption, b_start = G.compare(made[0], made[1], None, bars=2)
    assert caption == "A/B, bars 1–2: A song then B song (B from bar 3)"
    assert b_start == 8.0
    a_notes = [n.pitch for n in made[0].song.notes if n.start < b_start]
    assert [n.pitch for n in song.notes if n.start < b_start] == a_notes
