"""The model document without a window (`studio.document`): its state through open, save and
restore, real model files written and read back, and the autosave an interrupted run left."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from support.crafted_models import model_bytes

from rbm_studio.models.model_file import ModelFileError
from rbm_studio.studio.document import (
    LAST_MODEL_FILE,
    Autosaves,
    Document,
    export_start,
    keep_for_next_launch,
    open_model,
    save_model,
)


@pytest.fixture
def model_file(tmp_path) -> Path:
    """A real, valid `.rbm` (a tiny RBM written byte by byte)."""
    path = tmp_path / "tiny.rbm"
    path.write_bytes(model_bytes())
    return path


def test_the_document_follows_open_save_and_replace(model_file, tmp_path):
    doc = Document()
    assert doc.title() == "" and doc.folder() is None and not doc.modified
    model = open_model(model_file)
    doc.opened(model, model_file, modified=False)
    assert doc.model is model and doc.path == model_file and not doc.modified
    assert doc.title() == "tiny.rbm" and doc.folder() == tmp_path

    restored = open_model(model_file)
    doc.opened(restored, model_file, modified=True)  # a restored autosave is not that file's
    assert doc.path is None and doc.modified and doc.title() == "unsaved model"

    target = tmp_path / "saved.rbm"
    assert doc.saved(restored, save_model(restored, target))
    assert doc.path == target and not doc.modified and doc.title() == "saved.rbm"

    # a model replaced while the old one was being saved keeps the new one's state
    doc.set_model(model, path=None, modified=True)
    assert not doc.saved(restored, target)
    assert doc.path is None and doc.modified and doc.model is model


def test_a_saved_model_reads_back_the_same_and_the_autosave_goes(model_file, tmp_path):
    model = open_model(model_file)
    autosave = tmp_path / "autosave-1.rbm"
    autosave.write_bytes(model_file.read_bytes())
    path = save_model(model, tmp_path / "out.rbm", autosave)
    assert not autosave.exists(), "saved for real: nothing to restore"
    back = open_model(path)
    assert back.kind == model.kind and back.epochs_trained == model.epochs_trained
    for name, value in model.params.items():
        assert np.array_equal(back.params[name], value)


def test_a_failed_save_keeps_the_autosave_and_the_old_file(model_file, tmp_path):
    model = open_model(model_file)
    autosave = tmp_path / "autosave-1.rbm"
    autosave.write_bytes(b"autosaved")
    taken = tmp_path / "taken"
    taken.mkdir()  # a folder where the file should go
    with pytest.raises(OSError):
        save_model(model, taken, autosave)
    assert autosave.read_bytes() == b"autosaved" and taken.is_dir()


def test_a_file_that_is_not_a_model_is_refused_in_one_line(tmp_path):
    bad = tmp_path / "bad.rbm"
    bad.write_bytes(b"PK\x03\x04 not a zip at all")
    with pytest.raises(ModelFileError) as caught:
        open_model(bad)
    assert "\n" not in str(caught.value)
    assert bad.read_bytes() == b"PK\x03\x04 not a zip at all"  # never deleted


def _orphans(*paths: Path):
    return lambda: [p for p in paths if p.is_file()]


def test_this_runs_autosave_comes_first_then_the_newest_orphan(tmp_path):
    own, old, older = (tmp_path / n for n in ("autosave-1.rbm", "autosave-2.rbm", "autosave.rbm"))
    autosaves = Autosaves(own, orphans=_orphans(old, older))
    assert autosaves.restorable() is None and autosaves.claim() is None
    older.write_bytes(b"older")
    old.write_bytes(b"old")
    assert autosaves.restorable() == old
    own.write_bytes(b"own")
    assert autosaves.restorable() == own
    # a place chosen for this run (tests, a second window) never picks up another run's
    own.unlink()
    assert Autosaves(own, fixed=True, orphans=_orphans(old)).restorable() is None


def test_restoring_another_runs_autosave_makes_it_this_runs(tmp_path):
    own, orphan = tmp_path / "autosave-1.rbm", tmp_path / "autosave-2.rbm"
    orphan.write_bytes(b"from a run that is gone")
    claimed = Autosaves(own, orphans=_orphans(orphan)).claim()
    assert claimed == own and own.read_bytes() == b"from a run that is gone"
    assert not orphan.exists()


def test_an_autosave_that_cannot_be_moved_is_restored_where_it_is(tmp_path):
    own = tmp_path / "missing-folder" / "autosave-1.rbm"
    orphan = tmp_path / "autosave-2.rbm"
    orphan.write_bytes(b"kept")
    assert Autosaves(own, orphans=_orphans(orphan)).claim() == orphan
    assert orphan.read_bytes() == b"kept"


def test_discarding_deletes_only_the_autosave_a_restore_would_open(tmp_path):
    own, orphan, other = (tmp_path / f"autosave-{i}.rbm" for i in (1, 2, 3))
    orphan.write_bytes(b"a")
    other.write_bytes(b"b")
    os.utime(other, (0, 0))
    autosaves = Autosaves(own, orphans=_orphans(orphan, other))
    assert autosaves.discard() == orphan
    assert not orphan.exists() and other.read_bytes() == b"b"
    assert Autosaves(own, fixed=True).discard() is None


def test_the_next_launch_finds_the_model_saved_or_unsaved(model_file, tmp_path):
    doc = Document()
    assert keep_for_next_launch(doc, tmp_path / "data") is None
    model = open_model(model_file)
    doc.opened(model, model_file, modified=False)
    assert keep_for_next_launch(doc, tmp_path / "data") == (model_file, False)
    # A trained (unsaved) model is copied to the data folder; its autosave goes, as on a save.
    autosave = tmp_path / "autosave.rbm"
    autosave.write_bytes(model_file.read_bytes())
    (tmp_path / "data").mkdir()
    doc.set_model(model, path=None, modified=True)
    kept, unsaved = keep_for_next_launch(doc, tmp_path / "data", autosave)
    assert kept == tmp_path / "data" / LAST_MODEL_FILE and unsaved and not autosave.exists()
    back = open_model(kept)
    assert np.array_equal(back.params["W"], model.params["W"])


def test_the_export_folder_is_never_the_songs_folder(tmp_path):
    songs, default, elsewhere = tmp_path / "songs", tmp_path / "Generated", tmp_path / "out"
    for folder in (songs / "take 1", default, elsewhere):
        folder.mkdir(parents=True)
    assert export_start(None, [songs], default) == default
    assert export_start(str(elsewhere), [songs], default) == elsewhere  # remembered
    assert export_start(str(songs), [songs], default) == default
    assert export_start(str(songs / "take 1"), [songs], default) == default
    assert export_start(str(tmp_path / "gone"), [songs], default) == default
    one_file = songs / "take 1" / "a.mid"
    assert export_start(str(songs / "take 1"), [one_file], default) == default
