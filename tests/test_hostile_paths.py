"""Special files, odd folders and failed writes, as an attacker or an unlucky user meets them:
FIFOs and symlink loops in a song folder and in the cache, deep and unreadable folders, device
nodes and FIFOs at `--out`, a full disk (a small tmpfs when we may mount one, else a read-only
folder), a corrupt `.mat`, and joint limits and non-finite options on the command line."""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from support.crafted_models import _raw_zip

from rbm_studio import cli
from rbm_studio.data import import_cache
from rbm_studio.data.benchmark_data import BenchmarkDataError, load_benchmark
from rbm_studio.data.dataset import import_folder
from rbm_studio.models.config import TrainingConfig
from rbm_studio.models.document import Model
from rbm_studio.models.model_file import load_model, save_model
from rbm_studio.music.encoding import Encoding
from rbm_studio.music.midi import read_midi, write_midi
from rbm_studio.platform import files
from rbm_studio.resources import sample_midi_dir

ROOT = Path(__file__).resolve().parent.parent
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
SAMPLES = sorted(sample_midi_dir().glob("*.mid"))


def tiny_model() -> Model:
    rng = np.random.default_rng(0)
    params = {
        "W": rng.normal(size=(72, 5)).astype(np.float32),
        "vbias": np.zeros(72, np.float32),
        "hbias": np.zeros(5, np.float32),
    }
    return Model("rbm", params, TrainingConfig(hidden=5, window=3), Encoding(low=60, high=71))


def song_folder(folder: Path, n: int = 2) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for src in SAMPLES[:n]:
        (folder / src.name).write_bytes(src.read_bytes())
    return folder


@contextlib.contextmanager
def full_disk(tmp_path: Path):
    """A folder that takes no more writes: a 64 KiB tmpfs, filled, when we may mount one;
    else a read-only folder (root writes there anyway, so root without mount skips)."""
    where = tmp_path / "full"
    where.mkdir()
    mounted = False
    if IS_ROOT:
        proc = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)],
            capture_output=True,
            text=True,
        )
        mounted = proc.returncode == 0
        if not mounted:
            pytest.skip(f"running as root and cannot mount a tmpfs: {proc.stderr.strip()}")
        with contextlib.suppress(OSError), open(where / "filler", "wb") as fh:
            while True:
                fh.write(b"\0" * 4096)
                fh.flush()
    else:
        where.chmod(0o555)
    try:
        yield where
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(where)], check=False)
        else:
            where.chmod(0o755)


# ---------------------------------------------------------------------------------------------
# Reading: folders and the cache


@pytest.mark.timeout(120)
def test_fifo_symlink_loop_and_deep_folder_in_an_import_each_get_a_reason(tmp_path):
    folder = song_folder(tmp_path / "songs")
    os.mkfifo(folder / "x.mid")
    (folder / "loop.mid").symlink_to("loop.mid")
    (folder / "a.mid").symlink_to("b.mid")
    (folder / "b.mid").symlink_to("a.mid")
    (folder / "sub").mkdir()
    (folder / "sub" / "up").symlink_to("..")  # a folder loop: not followed
    deep = folder
    for _ in range(1200):  # os.makedirs itself recurses that deep
        deep = deep / "d"
        deep.mkdir()
    (deep / "deep.mid").write_bytes(SAMPLES[0].read_bytes())
    try:
        report = import_folder(folder, use_cache=False, workers=1)
    finally:
        (deep / "deep.mid").rename(folder / "deep.mid")
        while deep != folder:  # shutil.rmtree (pytest's clean-up) recurses that deep too
            deep.rmdir()
            deep = deep.parent
    reasons = {r.path.name: r.reason for r in report.skipped}
    assert reasons["x.mid"] == "not a regular file"
    assert reasons["loop.mid"] == "symbolic link loop"
    assert reasons["a.mid"] == reasons["b.mid"] == "symbolic link loop"
    assert sorted(r.path.name for r in report.loaded) == sorted(
        [s.name for s in SAMPLES[:2]] + ["deep.mid"]
    )
    assert any(len(r.path.parts) > 1200 for r in report.loaded)
    # named explicitly, a FIFO is refused without blocking too
    explicit = import_folder([folder / "x.mid"], use_cache=False, workers=1)
    assert explicit.skipped[0].reason == "not a regular file"


@pytest.mark.skipif(IS_ROOT, reason="root reads every folder; CI covers this as a normal user")
def test_unreadable_subfolder_is_reported_not_silently_skipped(tmp_path):
    folder = song_folder(tmp_path / "songs")
    locked = folder / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        report = import_folder(folder, use_cache=False, workers=1)
    finally:
        locked.chmod(0o755)
    assert [r.path for r in report.skipped] == [locked]
    assert "cannot read folder" in report.skipped[0].reason


@pytest.mark.timeout(120)
def test_fifo_symlink_loop_and_huge_claims_in_the_cache_are_misses(tmp_path):
    folder = song_folder(tmp_path / "songs", 1)
    enc = Encoding()
    first = import_folder(folder, workers=1)
    assert len(first.loaded) == 1
    key = import_cache.content_key(SAMPLES[0].read_bytes(), enc, False)
    entry = import_cache._entry_path(key)
    for folder_entry in import_cache.cache_root().joinpath("folders").glob("*.npz"):
        folder_entry.unlink()
        os.mkfifo(folder_entry)  # the manifest is a FIFO
    entry.unlink()
    os.mkfifo(entry)  # the song entry is a FIFO
    again = import_folder(folder, workers=1)
    assert len(again.loaded) == 1 and not again.loaded[0].cached
    assert stat.S_ISFIFO(os.stat(entry).st_mode)  # a FIFO is never replaced by the cache
    entry.unlink()
    entry.symlink_to(entry.name)
    assert len(import_folder(folder, workers=1).loaded) == 1
    # an entry claiming 10^12 steps is not trusted (it would ask for terabytes)
    entry.unlink()
    import_cache.store_song(key, np.zeros((1, 4), np.int32), {"steps": 10**12})
    events, meta = import_cache.load_song(key)
    meta.update(
        encoding=enc.to_dict(), keep_drums=False, notes=1, folded=0, dropped=0, bpm=120.0,
        time_signature=[4, 4], seconds=1.0, bars=1.0, title="x",
    )  # fmt: skip
    import_cache.store_song(key, events, meta)
    result = import_folder(folder, workers=1)
    assert len(result.loaded) == 1 and result.loaded[0].steps < 10**6


def test_a_mat_zlib_bomb_is_refused_in_bounded_memory(tmp_path):
    """A MAT v5 file of under a megabyte whose compressed variable expands to 1 GB."""
    import struct

    path = tmp_path / "bomb.mat"
    header = b"MATLAB 5.0 MAT-file".ljust(116) + b"\0" * 8 + struct.pack("<H", 0x0100) + b"IM"
    c = zlib.compressobj()
    zeros = bytes(2**22)
    first = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)  # with the zlib header
    block = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)  # stands alone: copies are valid
    body = first + b"".join([block] * 255) + c.flush()
    with open(path, "wb") as fh:
        fh.write(header + struct.pack("<II", 15, len(body)) + body)
    assert path.stat().st_size < 2**20
    code = (
        "import sys\n"
        "from rbm_studio.data.benchmark_data import load_benchmark, BenchmarkDataError\n"
        "try:\n    load_benchmark(sys.argv[1])\nexcept BenchmarkDataError as e:\n    print(e)\n"
        # VmHWM, not ru_maxrss: Linux carries the forking process's peak over into the child's
        # ru_maxrss at exec, so a big pytest process made this small child look big
        "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120
    )
    message, peak_kib = proc.stdout.strip().splitlines()
    assert "expand beyond" in message, proc.stderr
    assert int(peak_kib) < 500 * 1024
    os.mkfifo(tmp_path / "fifo.mat")
    with pytest.raises(BenchmarkDataError, match="not a regular file"):
        load_benchmark(tmp_path / "fifo.mat")
    _raw_zip(tmp_path / "zip.mat", [])
    with pytest.raises(BenchmarkDataError):
        load_benchmark(tmp_path / "zip.mat")


# ---------------------------------------------------------------------------------------------
# Writing


def test_saves_never_replace_devices_fifos_or_folders(tmp_path):
    model = tiny_model()
    fifo = tmp_path / "fifo.rbm"
    os.mkfifo(fifo)
    targets = [fifo, tmp_path]
    if IS_ROOT:
        node = tmp_path / "null.rbm"
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        targets.append(node)
    for target in targets:
        kind = stat.S_IFMT(os.stat(target).st_mode)
        with pytest.raises(files.WriteError) as info:
            save_model(model, target)
        assert "\n" not in str(info.value)
        assert stat.S_IFMT(os.stat(target).st_mode) == kind  # left as it was
        with pytest.raises(files.WriteError):
            write_midi(read_midi(SAMPLES[0]), target)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_saves_keep_mode_follow_symlinks_fsync_and_clean_orphans(tmp_path):
    model = tiny_model()
    path = tmp_path / "m.rbm"
    save_model(model, path)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask  # not mkstemp's 0600
    path.chmod(0o640)
    save_model(model, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    link = tmp_path / "link.rbm"
    link.symlink_to(path.name)
    save_model(model, link)
    assert link.is_symlink() and load_model(link).n_hidden == 5
    (tmp_path / "dangling.rbm").symlink_to("nowhere/x.rbm")
    with pytest.raises(files.WriteError, match="symbolic link"):
        save_model(model, tmp_path / "dangling.rbm")
    # a temp file left by a process killed mid-save is removed by the next save
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)  # fmt: skip
    orphan = tmp_path / f".m.rbm{files.TEMP_MARK}{int(dead.stdout)}-abc{files.TEMP_SUFFIX}"
    orphan.write_bytes(b"half a model")
    mine = tmp_path / f".m.rbm{files.TEMP_MARK}{os.getpid()}-live{files.TEMP_SUFFIX}"
    mine.write_bytes(b"being written")
    save_model(model, path)
    assert not orphan.exists() and mine.exists()


def run_cli(argv: list[str], capsys) -> tuple[int, str]:
    rc = cli.main(argv)
    return rc, capsys.readouterr().err


@pytest.mark.slow
def test_cli_out_checks_and_a_full_disk_keep_the_work(tmp_path, capsys):
    fifo = tmp_path / "fifo.rbm"
    os.mkfifo(fifo)
    base = ["train", "--sample", "--epochs", "1", "--hidden", "4", "--window", "4"]
    for out in (str(fifo), str(tmp_path), ""):
        rc, err = run_cli([*base, "--out", out], capsys)
        assert rc == 2 and err.count("\n") == 1 and err.startswith("error:"), err
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    with full_disk(tmp_path) as full:
        rc, err = run_cli([*base, "--out", str(full / "m.rbm")], capsys)
        assert rc == 1, err
        line = next(x for x in err.splitlines() if x.startswith("error:"))
        kept = Path(line.split("kept it at ")[1].split(" instead")[0])
        assert load_model(kept).n_hidden == 4  # the trained model is not lost
        kept.unlink()
        model = tmp_path / "model.rbm"
        save_model(tiny_model(), model)
        rc, err = run_cli(["generate", str(model), "--out", str(full), "--songs", "2", "--steps", "8"], capsys)  # fmt: skip
        assert rc == 1 and "Traceback" not in err
        assert all(x.startswith("error: cannot write") for x in err.splitlines()), err
    rc, err = run_cli(["generate", str(model), "--out", str(tmp_path), "--prefix", "../x"], capsys)
    assert rc == 2 and "--prefix" in err
    assert not (tmp_path.parent / "x-01.mid").exists()


def test_joint_limits_and_non_finite_options_are_refused_up_front(tmp_path, capsys):
    model = tmp_path / "model.rbm"
    save_model(tiny_model(), model)
    rc, err = run_cli(["generate", str(model), "--out", str(tmp_path), "--songs", "1000", "--steps", "100000"], capsys)  # fmt: skip
    assert rc == 1 and "one request makes at most" in err and err.count("\n") == 1
    with pytest.raises(SystemExit) as refused:  # argparse's one-line refusal (commands/options)
        run_cli(["generate", str(model), "--out", str(tmp_path), "--temperature", "nan"], capsys)
    assert refused.value.code == 2 and "--temperature" in capsys.readouterr().err
    rc, err = run_cli(["train", "--sample", "--out", str(tmp_path / "m.rbm"), "--weight-decay", "nan"], capsys)  # fmt: skip
    assert rc == 2 and "Weight decay must be a finite number" in err
    assert not (tmp_path / "m.rbm").exists()
    rc, err = run_cli(["evaluate", str(model), "--folder", str(SAMPLES[0]), "--betas", "1000000000"], capsys)  # fmt: skip
    assert rc == 2 and "at most --betas" in err and err.count("\n") == 1


def test_training_that_would_not_fit_in_memory_is_refused_before_it_starts(tmp_path, capsys):
    rc, err = run_cli(["train", "--sample", "--out", str(tmp_path / "m.rbm"), "--hidden", "100000", "--window", "4096", "--stride", "1"], capsys)  # fmt: skip
    assert rc == 1 and "GB of memory" in err and "Traceback" not in err
    assert not (tmp_path / "m.rbm").exists()


@pytest.mark.slow
def test_divergence_stops_training_and_keeps_the_last_finite_weights(tmp_path, capsys):
    out = tmp_path / "m.rbm"
    rc, err = run_cli(["train", "--sample", "--out", str(out), "--epochs", "200", "--hidden", "8", "--window", "4", "--lr", "10", "--weight-decay", "10"], capsys)  # fmt: skip
    assert rc == 1 and "diverged" in err, err
    model = load_model(out)  # finite, or it would not load
    assert all(np.isfinite(v).all() for v in model.params.values())
    assert model.epochs_trained < 200
