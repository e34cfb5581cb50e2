"""Songs with form: a tiny RBM really trained on songs that loop every four bars with accented
downbeats learns their form and accents; it generates songs like them, seamless loops and free
songs through the kind and the CLI, and writes MIDI a DAW can use (named part tracks, varied
velocities, a primer's tempo)."""

from __future__ import annotations

import json
import re
import zipfile

import mido
import numpy as np
import pytest

from rbm_studio.cli import main
from rbm_studio.models import registry
from rbm_studio.models.base import GenerateRequest, form_for
from rbm_studio.models.model_file import METADATA, check_metadata, load_model, save_model
from rbm_studio.music import features as F
from rbm_studio.music.dynamics import learn_dynamics, with_dynamics
from rbm_studio.music.encoding import Encoding, StateMatrix, canonicalize, encode
from rbm_studio.music.form import bar_labels, learn_form, parse_form, sample_plan
from rbm_studio.music.midi import read_midi, write_midi
from rbm_studio.music.parts import split_parts
from rbm_studio.music.song import Note, Song, TempoChange, TimeSignature

ENC = Encoding(steps_per_beat=4, low=36, high=84)
BAR = 16


def loop_song(seed: int, bars: int = 16) -> StateMatrix:
    """A 4-bar chord loop (a triad and its bass each half bar) with a tune on top, downbeats
    loud and the rest soft."""
    r = np.random.default_rng(seed)
    roots = r.choice([0, 2, 5, 7, 9], size=8)
    tune = r.choice([0, 2, 4, 5, 7, 9, 11], size=(4, 4))
    data = np.zeros((bars * BAR, ENC.width), np.uint8)
    vel = np.zeros((bars * BAR, ENC.span), np.uint8)

    def put(pitch: int, start: int, length: int) -> None:
        col = pitch - ENC.low
        data[start : start + length, col] = 1
        data[start, ENC.span + col] = 1
        vel[start, col] = 110 if start % BAR == 0 else 70

    for b in range(bars):
        for half in range(2):
            root = 60 + int(roots[(b % 4) * 2 + half])
            t = b * BAR + half * 8
            put(root - 24, t, 8)
            for third in (0, 4, 7):
                put(root + third - 12, t, 8)
        for beat in range(4):
            put(72 + int(tune[b % 4, beat]), b * BAR + 4 * beat, 4)
    return StateMatrix(canonicalize(data, ENC.span), ENC, bpm=96.0, velocities=vel)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    songs = [loop_song(i) for i in range(10)]
    config = registry.default_config(
        "rbm", hidden=48, epochs=60, patience=None, minutes=None, cd_k=2, seed=1
    )
    trainer = registry.make_trainer(config, songs, ENC)
    for _ in trainer:
        pass
    model = trainer.result()
    path = save_model(model, tmp_path_factory.mktemp("form") / "loops.rbm")
    return load_model(path), path


def test_form_and_accents_are_learned_from_the_songs_and_kept_in_the_model_file(trained):
    model, path = trained
    labels = bar_labels(loop_song(0))
    assert labels[:4] == ["new"] * 4 and set(labels[4:]) == {"same@4"}
    form = model.dataset["form"]
    assert form == learn_form([loop_song(i) for i in range(10)])
    assert any("same@4" in plan for plan, _ in form["phrases"][1])
    plan = sample_plan(form, 16, np.random.default_rng(0))
    assert len(plan) == 16 and plan.count("same@4") >= 8
    table = np.array(model.dataset["dynamics"]["velocity"])
    assert table[0].max() == 110 and table[1:].max() == 70  # downbeats loud, the rest soft
    # a model file whose form or dynamics is not what training writes is refused in one line
    with zipfile.ZipFile(path) as zf:
        meta = json.loads(zf.read(METADATA))
    assert check_metadata(meta) is None
    for bad in ({"form": {"phrase": 8, "phrases": [[[["same@99"], 1]], [], [], []]}},
                {"form": {"phrase": 8, "phrases": ["x", [], [], []]}},
                {"dynamics": {"velocity": [[200, 1, 1]] * 4}}):  # fmt: skip
        problem = check_metadata({**meta, "dataset": {**meta["dataset"], **bad}})
        assert problem and "\n" not in problem and ("form" in problem or "dynamics" in problem)


def test_like_songs_repeats_bars_as_the_songs_do_and_free_does_not_plan(trained):
    model, _ = trained
    kind = registry.kind("rbm")
    like = kind.generate(model, GenerateRequest(songs=4, steps=16 * BAR, seed=3))
    free = kind.generate(model, GenerateRequest(songs=4, steps=16 * BAR, seed=3, form="free"))
    assert all(m.steps == 16 * BAR for m in like + free)
    notes_4 = [F.form_features(m)["repeat_notes_4"] for m in like]
    assert np.mean(notes_4) > 0.3
    assert np.mean([F.bar_repeat(m) for m in like]) > 0.5
    # exact repeats of whole bars come from the plan, not from the model's free running
    same = [sum(lab.startswith("same") for lab in bar_labels(m)) for m in like]
    same_free = [sum(lab.startswith("same") for lab in bar_labels(m)) for m in free]
    assert np.mean(same) > np.mean(same_free)
    # the accents learned from the songs: generated velocities vary with the metre
    vel = like[0].velocities[like[0].velocities > 0]
    assert len(np.unique(vel)) >= 2
    # a kind that cannot plan a form says so and generates free songs
    request = GenerateRequest(form="like-songs")
    assert form_for(kind, model, request) == ("like-songs", None)
    form, note = form_for(registry.kind("rnn-rbm"), model, request)
    assert form == "free" and "cannot plan" in note
    windows = GenerateRequest(mode="windows", form="loop:2")
    assert form_for(kind, model, windows)[0] == "free"
    with pytest.raises(ValueError, match="loop:N"):
        parse_form("loop:0")


def seam_and_inner(songs: list[StateMatrix], bars: int) -> tuple[dict, dict]:
    seams = F.loop_seams(songs, bars)
    return seams["seam"], seams["inner"]


def test_cli_loop_gives_four_seamless_cycles_with_the_seed_in_the_file(trained, tmp_path, capsys):
    _, path = trained
    out = tmp_path / "loops"
    args = ["generate", str(path), "--out", str(out), "--songs", "4", "--json"]
    assert main([*args, "--form", "loop:4", "--bars", "16", "--seed", "7"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["seed"] == 7 and result["form"] == "loop:4"
    songs = []
    for entry in result["files"]:
        midi = mido.MidiFile(entry["path"])
        texts = [m for m in midi.tracks[0] if m.type == "text"]
        assert "seed 7" in texts[0].text and "loop:4" in texts[0].text
        names = [m.name for t in midi.tracks[1:] for m in t if m.type == "track_name"]
        assert len(names) >= 2 and set(names) <= {"melody", "chords", "bass"}
        song = encode(read_midi(entry["path"]), ENC)
        # the file ends with its last note: a loop that ends on a rest is that much shorter
        assert 15 * BAR < song.steps <= 16 * BAR
        data = np.zeros((16 * BAR, ENC.width), np.uint8)
        data[: song.steps] = song.data
        cycles = data.reshape(4, 4 * BAR, -1)
        assert all(np.array_equal(cycles[0, :, : ENC.span], c[:, : ENC.span]) for c in cycles)
        songs.append(StateMatrix(data, ENC))
    seam, inner = seam_and_inner(songs, 4)
    assert seam["clash"] <= inner["clash"] + 0.05
    assert 0.5 * inner["length"] <= seam["length"] <= 2 * inner["length"]
    # without --seed, each run draws its own and says which
    for _ in range(2):
        assert main(["generate", str(path), "--out", str(out), "--songs", "1", "--bars", "2"]) == 0
    err = capsys.readouterr().err
    seeds = re.findall(r"^wrote .*, seed (\d+),", err, flags=re.MULTILINE)
    assert len(seeds) == 2 and seeds[0] != seeds[1], err
    with pytest.raises(SystemExit):
        main(["generate", str(path), "--out", str(out), "--form", "rondo"])
    assert "is not one of like-songs, loop:N" in capsys.readouterr().err


def test_a_loop_comes_round_like_its_inner_bar_lines_over_several_seeds(trained):
    """The loop's last bar and its first are sampled again given each other across the seam:
    the rows repeat exactly, and at the seam notes hold and clash as at the inner bar lines."""
    model, _ = trained
    kind = registry.kind("rbm")
    for seed in (1, 2, 3):
        request = GenerateRequest(songs=4, steps=12 * BAR, seed=seed, form="loop:4")
        songs = kind.generate(model, request)
        for song in songs:
            cycles = song.data.reshape(3, 4 * BAR, -1)
            assert np.array_equal(cycles[1], cycles[2]), seed
            assert np.array_equal(cycles[0, 1:], cycles[1, 1:]), seed
        seam, inner = seam_and_inner(songs, 4)
        assert seam["clash"] <= inner["clash"] + 0.05, (seed, seam, inner)
        assert 0.6 * inner["length"] <= seam["length"] <= 1.6 * inner["length"], (seed, seam, inner)


def test_a_continuation_keeps_its_primers_tempo_and_metre(trained, tmp_path):
    _, path = trained
    primer = decode_loop(loop_song(11, bars=4), bpm=60.0)
    primer.time_signatures = [TimeSignature(0.0, 4, 4)]
    write_midi(primer, tmp_path / "primer.mid")
    out = tmp_path / "cont"
    args = ["generate", str(path), "--out", str(out), "--songs", "1", "--bars", "4"]
    assert main([*args, "--primer", str(tmp_path / "primer.mid"), "--seed", "2"]) == 0
    song = read_midi(next(out.glob("*.mid")))
    assert song.first_bpm == pytest.approx(60.0, abs=0.01)
    assert song.end_beat > primer.end_beat


def decode_loop(matrix: StateMatrix, bpm: float) -> Song:
    from rbm_studio.music.encoding import decode

    song = decode(matrix)
    song.tempos = [TempoChange(0.0, bpm)]
    return song


def test_parts_go_to_named_tracks_by_skyline_and_bass_with_continuity():
    notes = [
        Note(48, 0, 2), Note(60, 0, 2), Note(64, 0, 2), Note(72, 0, 1), Note(74, 1, 2),
        Note(50, 2, 3),  # alone, nearer the bass than the tune
        Note(76, 3, 4),  # alone, nearer the tune
    ]  # fmt: skip
    song = split_parts(Song(notes=notes, title="t"))
    part = {(n.pitch, n.start): song.track_names[n.track] for n in song.notes}
    assert part[(72, 0)] == part[(74, 1)] == part[(76, 3)] == "melody"
    assert part[(48, 0)] == part[(50, 2)] == "bass"
    assert part[(60, 0)] == part[(64, 0)] == "chords"
    assert len({n.channel for n in song.notes}) == 3
    # dynamics: nothing learned from songs without velocities; a table only where learned
    plain = StateMatrix(loop_song(0).data, ENC)
    assert learn_dynamics([plain]) is None
    assert with_dynamics(plain, None).velocities is None
