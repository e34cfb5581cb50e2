"""RNN-RBM in the app: the Trainer front, .rbm files, generation on two-plane state matrices, the
CLI, and the music statistics used to compare it with the windowed RBM."""

from __future__ import annotations

import threading
import zipfile

import numpy as np
import pytest
from support.training import train_to_end

from rbm_studio.models import registry
from rbm_studio.models.base import GenerateRequest
from rbm_studio.models.config import TrainingConfig
from rbm_studio.models.model_file import ModelFileError, load_model, save_model
from rbm_studio.models.rnn_rbm.trainer import RnnRbmTrainer
from rbm_studio.music.encoding import Encoding, StateMatrix, canonicalize, decode
from rbm_studio.music.stats import histogram_distance, music_stats, pitch_class_histogram


def generate(model, **request):
    """Sample through the model's kind, as the CLI and the window do."""
    return registry.kind(model.kind).generate(model, GenerateRequest(**request))


ENC = Encoding(steps_per_beat=1, low=60, high=71)  # 12 pitches: 24 visible units per row
SPAN = ENC.span


def repeated_note_song(offset: int, steps: int = 32) -> StateMatrix:
    """A held bass note struck again every 2 steps (only the struck plane shows the repeats) under
    a melody stepping through a scale."""
    data = np.zeros((steps, 2 * SPAN), np.uint8)
    data[:, 0] = 1
    data[::2, SPAN + 0] = 1
    for t in range(steps):
        col = 4 + (t + offset) % 6
        data[t, col] = 1
        data[t, SPAN + col] = 1
    return StateMatrix(canonicalize(data, SPAN), ENC, title=f"song {offset}")


SONGS = [repeated_note_song(i) for i in range(8)]
CONFIG = TrainingConfig().with_values(
    model="rnn-rbm",
    hidden=10,
    recurrent_hidden=8,
    cd_k=5,
    learning_rate=0.02,
    batch_size=4,
    sequence_length=16,
    epochs=25,
    pretrain_epochs=2,
    holdout_fraction=0.25,
    seed=5,
)


@pytest.fixture(scope="module")
def trained():
    trainer = registry.make_trainer(CONFIG, SONGS, ENC)
    reports = list(trainer)
    return trainer, reports


def test_make_trainer_picks_the_rnn_rbm_trainer_and_reports_like_the_rbm(trained):
    trainer, reports = trained
    assert isinstance(trainer, RnnRbmTrainer)
    phases = [r.phase for r in reports]
    assert phases[0] == "compiling" and phases[-1] == "done"
    ends = [r for r in reports if r.epoch_end]
    assert [r.epoch for r in ends] == list(range(1, CONFIG.epochs + 1))
    assert all(np.isfinite(r.recon_error) for r in ends)
    # the held-out measures run on a cadence of epochs, together
    measured = [r for r in ends if r.epoch % trainer._eval_every == 0]
    assert measured and all(r.free_energy_gap is not None for r in measured)
    assert all(r.held_out is not None for r in measured)
    assert all(r.free_energy_gap is None for r in ends if r not in measured)
    model = trainer.snapshot()
    assert model.kind == "rnn-rbm" and model.window == 1
    assert len(model.history) == CONFIG.epochs
    assert model.receptive_fields().shape == (10, 1, SPAN)
    assert trainer.hidden_activations().shape == (10,)
    assert ends[-1].recon_error < ends[0].recon_error


def test_training_is_reproducible_through_the_front(trained):
    trainer, _ = trained
    again = train_to_end(registry.make_trainer(CONFIG, SONGS, ENC))
    for name, value in trainer.snapshot().params.items():
        np.testing.assert_array_equal(value, again.params[name], err_msg=name)


def test_cancel_from_another_thread_stops_and_keeps_the_model():
    cfg = TrainingConfig(**{**CONFIG.to_dict(), "epochs": 10_000})
    trainer = registry.make_trainer(cfg, SONGS, ENC)
    seen = []
    for p in trainer:
        seen.append(p.phase)
        if p.epoch >= 2 and not trainer.cancelled:
            threading.Thread(target=trainer.cancel).start()
    assert seen[-1] == "cancelled"
    assert not trainer.finished
    assert 2 <= trainer.snapshot().epochs_trained < 100


def test_transposition_augmentation_trains_on_shifted_copies_in_both_planes():
    """transpose=2 adds every song shifted by ±1 and ±2 semitones (the recipe of the JSB
    figure); both planes move together, so struck stays inside sounding."""
    cfg = TrainingConfig(**{**CONFIG.to_dict(), "transpose": 2, "epochs": 1})
    plain = registry.make_trainer(CONFIG, SONGS, ENC)
    trainer = registry.make_trainer(cfg, SONGS, ENC)
    n = plain.dataset_summary["train_songs"]
    assert trainer.dataset_summary["train_songs"] == 5 * n
    originals = trainer._train[:n]
    shifted = trainer._train[n : 2 * n]  # the +1 copies come first
    for song, up in zip(originals, shifted, strict=True):
        assert up[:, 1:SPAN].tolist() == song[:, : SPAN - 1].tolist()
        assert up[:, SPAN + 1 :].tolist() == song[:, SPAN:-1].tolist()
        assert np.all(up[:, SPAN:] <= up[:, :SPAN])


def test_continue_training_counts_on_from_the_saved_epochs(trained, tmp_path):
    trainer, _ = trained
    path = tmp_path / "m.rbm"
    save_model(trainer.snapshot(), path)
    cfg = TrainingConfig(**{**CONFIG.to_dict(), "epochs": 2})
    more = RnnRbmTrainer(cfg, SONGS, ENC, model=load_model(path))
    model = more.run()
    assert more.epoch_offset == CONFIG.epochs
    assert model.epochs_trained == CONFIG.epochs + 2
    with pytest.raises(ValueError, match="hidden"):
        RnnRbmTrainer(TrainingConfig(**{**CONFIG.to_dict(), "hidden": 11}), SONGS, ENC, model=model)


def test_model_file_round_trip_keeps_kind_settings_and_samples(trained, tmp_path):
    trainer, _ = trained
    model = trainer.snapshot()
    path = tmp_path / "rnn.rbm"
    save_model(model, path)
    loaded = load_model(path)
    assert loaded.kind == "rnn-rbm"
    assert (
        loaded.config.value("recurrent_hidden") == 8 and loaded.config.value("recurrence") == "rnn"
    )
    assert sorted(loaded.params) == sorted(model.params)
    for name, value in model.params.items():
        np.testing.assert_array_equal(loaded.params[name], value)
    a = generate(model, songs=2, steps=12, gibbs_steps=3, seed=4)
    b = generate(loaded, songs=2, steps=12, gibbs_steps=3, seed=4)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.data, y.data)


def test_model_file_with_a_missing_recurrent_array_is_refused(trained, tmp_path):
    trainer, _ = trained
    good = tmp_path / "good.rbm"
    save_model(trainer.snapshot(), good)
    bad = tmp_path / "bad.rbm"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(bad, "w") as zout:
        for item in zin.infolist():
            if item.filename != "params/Wuu.npy":
                zout.writestr(item, zin.read(item.filename))
    with pytest.raises(ModelFileError, match="Wuu"):
        load_model(bad)


def test_generation_shape_seed_and_canonical_form(trained):
    model = trained[0].snapshot()
    a = generate(model, songs=3, steps=40, gibbs_steps=10, seed=1)
    b = generate(model, songs=3, steps=40, gibbs_steps=10, seed=1)
    c = generate(model, songs=3, steps=40, gibbs_steps=10, seed=2)
    assert [m.steps for m in a] == [40, 40, 40]
    assert all(m.encoding == ENC for m in a)
    assert all(np.array_equal(x.data, y.data) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(x.data, y.data) for x, y in zip(a, c, strict=True))
    for m in a:
        np.testing.assert_array_equal(m.data, canonicalize(m.data, SPAN))


def test_primer_is_kept_verbatim_with_its_repeated_notes(trained):
    model = trained[0].snapshot()
    primer = SONGS[3]
    out = generate(model, songs=2, steps=16, gibbs_steps=10, seed=3, primer=primer)
    for m in out:
        assert m.steps == primer.steps + 16
        np.testing.assert_array_equal(m.data[: primer.steps], primer.data)
        held = [n for n in decode(m).notes if n.pitch == 60 and n.start < primer.steps]
        assert len(held) == primer.steps // 2  # re-struck every 2 steps, not one long note


def test_learned_repeated_strikes_survive_generation(trained):
    """The model learned the bass re-strike: sampled songs strike a still-sounding note again."""
    model = trained[0].snapshot()
    out = generate(model, songs=4, steps=32, gibbs_steps=20, seed=0)
    restrikes = sum(int((m.struck[1:, 0] & m.sounding[:-1, 0]).sum()) for m in out)
    assert restrikes >= 8


@pytest.mark.slow
def test_benchmark_style_frame_level_model_generates_88_key_frames():
    songs = [
        StateMatrix(canonicalize(np.pad(s.data[:, :SPAN], ((0, 0), (0, SPAN))), SPAN), ENC)
        for s in SONGS[:4]
    ]
    cfg = TrainingConfig.from_dict(
        {**CONFIG.to_dict(), "frame_level": True, "epochs": 1, "pretrain_epochs": 0}
    )
    model = train_to_end(registry.make_trainer(cfg, songs, ENC))
    assert model.n_visible == 88 and model.frame_level
    out = generate(model, songs=1, steps=20, gibbs_steps=5, seed=0)
    assert out[0].encoding.span == 88 and out[0].steps == 20


def test_music_stats_tell_a_repetitive_song_from_its_source():
    source = SONGS[:2]
    stuck = [
        StateMatrix(np.tile(SONGS[0].data[:4], (8, 1)), ENC, time_signature=(4, 4)),
    ]
    a, b = music_stats(source), music_stats(stuck)
    assert b.bar_repetition > 0.8 > a.bar_repetition
    assert a.mean_polyphony == pytest.approx(2.0)
    hist = pitch_class_histogram(source)
    assert hist.sum() == pytest.approx(1.0)
    assert histogram_distance(hist, hist) == 0.0
    silent = np.zeros(12)
    silent[1] = 1.0
    assert histogram_distance(hist, silent) == pytest.approx(1.0)


@pytest.mark.slow
def test_cli_train_generate_evaluate_rnn_rbm(tmp_path, capsys):
    from rbm_studio.cli import main
    from rbm_studio.music.midi import write_midi

    folder = tmp_path / "songs"
    folder.mkdir()
    for i, m in enumerate(SONGS[:4]):
        song = decode(StateMatrix(m.data, ENC))
        write_midi(song, folder / f"s{i}.mid")
    out = tmp_path / "cli.rbm"
    code = main(
        [
            "train",
            str(folder),
            "--model",
            "rnn-rbm",
            "--hidden",
            "10",
            "--recurrent",
            "8",
            "--epochs",
            "1",
            "--pretrain-epochs",
            "0",
            "--seq-len",
            "16",
            "--batch",
            "4",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    model = load_model(out)
    assert model.kind == "rnn-rbm" and model.config.value("recurrent_hidden") == 8
    assert main(["generate", str(out), "--out", str(tmp_path / "gen"), "--songs", "2"]) == 0
    assert len(list((tmp_path / "gen").glob("*.mid"))) == 2
    capsys.readouterr()
    args = ["evaluate", str(out), "--folder", str(folder)]
    rough = [*args, "--method", "ais", "--betas", "50", "--chains", "4"]
    assert main([*rough, "--tolerance", "100"]) == 0
    text = capsys.readouterr().out
    assert "log-likelihood per frame" in text and "frame accuracy" in text
    assert "reverse AIS (RAISE" in text
    assert main(args) == 0  # a model this small: every frame's log Z exactly
    assert "exact" in capsys.readouterr().out


def test_patience_stops_at_the_best_held_out_epoch_and_keeps_its_weights():
    cfg = TrainingConfig.from_dict({**CONFIG.to_dict(), "epochs": 400, "patience": 4})
    trainer = registry.make_trainer(cfg, SONGS, ENC)
    # scoring two held-out songs costs more than a tiny epoch: the trainer spaces the scores out
    assert trainer._eval_every > 10
    trainer._eval_every = 2  # score often, to see patience act within a short run
    reports = list(trainer)
    scored = [r for r in reports if r.held_out is not None]
    assert len(scored) > 3 and all(np.isfinite(r.held_out) for r in scored)
    # a log-likelihood of binary frames: the conservative estimator never reads above 0
    assert all(r.held_out < 0.0 for r in scored)
    assert all(r.epoch % 2 == 0 for r in scored)
    assert trainer.stop_reason == "patience" and reports[-1].phase == "done"
    last = reports[-1].epoch
    assert trainer.best_epoch is not None and last - trainer.best_epoch >= 4
    assert trainer.best_score == max(r.held_out for r in scored)
    kept = trainer.result()
    assert kept.epochs_trained == trainer.best_epoch < last
    assert trainer.snapshot().epochs_trained == last
    assert not all(
        np.array_equal(kept.params[k], trainer.snapshot().params[k]) for k in kept.params
    )
