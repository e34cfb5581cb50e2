"""Crafted and damaged corpora (tests/support/crafted_corpora.py: mutations of a real corpus of
the bundled songs) opened as `train --corpus` opens them, a chosen set through the real
`train --corpus` and `generate`: each one trains to a model that loads, or is refused in one
line that names the file; never a traceback, a hang or a signal. And the writer: a device or a
FIFO at `import --corpus`'s target stays what it was, modes follow the umask, a killed import
takes its worker processes with it and the next run removes its temp file."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import crafted_corpora
from support.crafted_corpora import FORMER_BAD_MODELS, OPEN_ONLY, WORKS

from rbm_studio.data.corpus import Corpus, CorpusError, import_corpus
from rbm_studio.resources import sample_midi_dir

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--epochs", "1", "--hidden", "4", "--holdout", "0", "--window", "4", "--stride", "4"]
# refused ones that also go through the command line (the rest are opened only)
REFUSED_ON_THE_COMMAND_LINE = (
    "steps-billion",
    "offset-middle-plus-one",
    "offset-last-past-end",
    "trailer-length-huge",
    "index-deep-nesting",
    "special-fifo",
)


def _env(tmp: Path) -> dict[str, str]:
    return os.environ | {"PYTHONPATH": str(ROOT), "RBM_STUDIO_CACHE_DIR": str(tmp / "cache")}


def _cli(args: list[str], tmp: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rbm_studio", *args],
        env=_env(tmp),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> bytes:
    out = tmp_path_factory.mktemp("base") / "songs.rbmc"
    import_corpus([sample_midi_dir()], out, workers=1)
    return out.read_bytes()


@pytest.fixture(scope="module")
def crafted(tmp_path_factory, base) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("crafted")
    files = crafted_corpora.corpus(folder, base)
    special = {
        "special-folder": folder / "special-folder.rbmc",
        "special-missing": folder / "special-missing.rbmc",
        "special-symlink-loop": folder / "special-symlink-loop.rbmc",
        "special-device": folder / "special-device.rbmc",
    }
    special["special-folder"].mkdir()
    special["special-symlink-loop"].symlink_to(special["special-symlink-loop"].name)
    special["special-device"].symlink_to(os.devnull)
    if hasattr(os, "mkfifo"):
        special["special-fifo"] = folder / "special-fifo.rbmc"
        os.mkfifo(special["special-fifo"])
    return {**files, **special}


@pytest.mark.slow
def test_crafted_corpora_train_to_a_model_that_loads_or_are_refused_in_one_line(crafted, tmp_path):
    assert len(crafted) >= 50
    cli = {
        name: str(crafted[name])
        for name in (*FORMER_BAD_MODELS, *sorted(WORKS - OPEN_ONLY), *REFUSED_ON_THE_COMMAND_LINE)
        if name in crafted
    }
    plan = tmp_path / "plan.json"
    plan.write_text(
        json.dumps(
            {
                "open": [str(p) for p in crafted.values()],
                "cli": cli,
                "cli_when_it_opens": True,
                "open_only": sorted(OPEN_ONLY),
                "out": str(tmp_path),
                "train": TINY,
            }
        )
    )
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tests/support/corpus_worker.py"), str(plan)],
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(tmp_path),
    )
    assert proc.returncode == 0, f"rc {proc.returncode}: {proc.stderr[-3000:]}"
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    opened = {r["name"]: r for r in rows if r["step"] == "open"}
    assert set(opened) == set(crafted)
    for name, r in opened.items():
        assert r["rc"] != "traceback", f"{name}:\n{r['text']}"
        if name in WORKS:
            assert r["rc"] == 0, f"{name} should open: {r['text']}"
        elif r["rc"] == 1:
            text = r["text"]
            assert "\n" not in text and str(crafted[name]) in text, f"{name}: {text!r}"
    # every mutation but the valid ones and a bit flip in a title is refused
    accepted = {name for name, r in opened.items() if r["rc"] == 0}
    assert accepted - WORKS <= {"bitflip-index-title"}, accepted - WORKS

    steps = {(r["name"], r["step"]): r for r in rows if r["step"] != "open"}
    trained = {name for name, step in steps if step == "train"}
    assert trained >= set(cli) | accepted - OPEN_ONLY, (set(cli) | accepted) - trained
    for name in sorted(trained):
        train = steps[name, "train"]
        lines = train["text"].strip().splitlines()
        assert train["rc"] != "traceback", f"{name}:\n{train['text']}"
        if name in accepted:
            assert train["rc"] == 0, f"{name}: {train['text'][-2000:]}"
            load = steps.get((name, "load"))
            assert load is not None and load["rc"] == 0, f"{name}: saved but {load}"
            generate = steps[name, "generate"]
            assert generate["rc"] == 0, f"{name}: generate says {generate['text'][-2000:]}"
        else:
            assert train["rc"] == 1 and len(lines) == 1, f"{name}: {train['text']!r}"
            assert lines[0].startswith("error: ") and str(crafted[name]) in lines[0]
            assert (name, "load") not in steps, f"{name}: refused, yet a model was saved"
    for name in FORMER_BAD_MODELS:  # once saved models that generate refused or crashed on
        assert steps[name, "train"]["rc"] == 1


def test_the_reasons_name_the_problem(crafted):
    expect = {
        "bpm-nan": "tempo nan BPM",
        "bpm-1e308": "tempo 1e+308 BPM",
        "metre-4-3": "metre 4/3",
        "steps-billion": "rows, but the file holds 9,084",
        "offset-middle-plus-one": "song 6 starts at row 1329",
        "offset-first-negative": "song 1 starts at row -1",
        "truncated-half": "truncated or damaged",
        "format-string": 'corpus format "1" is not one this version reads (1)',
        "magic-other-version": "another format",
        "index-over-size-limit": "over the 32 MiB limit",
        "special-folder": "is a folder",
        "special-missing": "no such corpus file",
        "special-symlink-loop": "cannot read",
        "special-device": "not a regular file",
    }
    if "special-fifo" in crafted:
        expect["special-fifo"] = "not a regular file"
    for name, words in expect.items():
        with pytest.raises(CorpusError, match=re.escape(words)):
            Corpus(crafted[name])


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_train_from_a_fifo_fails_at_once_and_special_targets_stay_what_they_were(tmp_path):
    fifo = tmp_path / "songs.rbmc"
    os.mkfifo(fifo)
    run = _cli(["train", "--corpus", str(fifo), "--out", str(tmp_path / "m.rbm")], tmp_path, 60)
    assert run.returncode == 1 and run.stderr.strip() == (
        f"error: {fifo} is not a regular file (a FIFO or a device); not read"
    )
    # a device through a symlink first: were it replaced, only the link would go
    link = tmp_path / "device.rbmc"
    link.symlink_to(os.devnull)
    for target in (fifo, link, Path(os.devnull)):
        run = _cli(["import", str(sample_midi_dir()), "--corpus", str(target)], tmp_path)
        assert run.returncode == 1, run.stdout + run.stderr
        assert run.stderr.strip().splitlines()[-1] == (
            f"error: cannot write {target}: it is not a regular file (left as it is)"
        )
        assert stat.S_ISFIFO(fifo.lstat().st_mode) and link.is_symlink()
        assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "device.rbmc", "songs.rbmc"]


def test_a_corpus_follows_the_umask_and_keeps_the_mode_it_replaces(tmp_path):
    out = tmp_path / "c.rbmc"
    song = sample_midi_dir() / "chorale_001.mid"
    umask = os.umask(0o022)
    os.umask(umask)
    import_corpus([song], out, workers=1)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask
    out.chmod(0o640)
    import_corpus([song], out, workers=1)
    assert stat.S_IMODE(out.stat().st_mode) == 0o640


def test_the_workers_option_is_checked(tmp_path):
    from rbm_studio.data.dataset import max_workers

    for bad in ("0", "-3", "1000", str(max_workers() + 1)):
        run = _cli(["import", str(sample_midi_dir()), "--workers", bad], tmp_path)
        assert run.returncode == 2 and run.stderr.strip() == (
            f"error: --workers must be between 1 and {max_workers()} (4 per CPU: more only "
            f"wait for a CPU), not {bad}"
        )


# ---------------------------------------------------------------------------------------------
# kill -9 in the middle of an import


def _slow_midi(notes: int) -> bytes:
    """A valid file of `notes` notes all struck at once: seconds of parsing for a worker."""
    pair = b"\x00\x3c\x40\x00\x3c\x00"  # note on, note off (running status)
    events = b"\x00\x90\x3c\x40\x00\x3c\x00" + pair * (notes - 1) + b"\x00\xff\x2f\x00"
    header = b"MThd" + (6).to_bytes(4, "big") + b"\x00\x00\x00\x01\x00\x60"
    return header + b"MTrk" + len(events).to_bytes(4, "big") + events


def _children(pid: int) -> dict[int, str]:
    """Live child processes of `pid` and their command lines (Linux /proc)."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out[int(entry.name)] = cmdline
    return out


def _running(pid: int) -> bool:
    """Whether `pid` is a process that has not exited (a zombie waiting for its reaper has)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_killed_import_takes_its_workers_and_the_next_run_cleans_its_temp_file(tmp_path):
    songs = tmp_path / "songs"
    songs.mkdir()
    for i in range(4):  # first in path order, and enough work to outlast the workers' start
        (songs / f"a-slow-{i}.mid").write_bytes(_slow_midi(300_000))
    for path in sorted(sample_midi_dir().glob("*.mid"))[:5]:
        (songs / path.name).write_bytes(path.read_bytes())
    out = tmp_path / "out" / "songs.rbmc"
    argv = ["import", str(songs), "--corpus", str(out), "--workers", "2"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "rbm_studio", *argv],
        env=_env(tmp_path),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            children = _children(proc.pid)
            workers = [p for p, cmd in children.items() if "spawn_main" in cmd]
            temp = list(out.parent.glob(".songs.rbmc.*.tmp")) if out.parent.exists() else []
            if len(workers) == 2 and temp:
                break
            assert proc.poll() is None, "the import ended before it could be killed"
            assert time.monotonic() < deadline, f"no workers: {children}"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    deadline = time.monotonic() + 60
    while any(_running(p) for p in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [f"{p}: {cmd}" for p, cmd in children.items() if _running(p)]
    for p in children:  # leave nothing behind, whatever the verdict
        if _running(p):
            os.kill(p, signal.SIGKILL)
    assert not left, f"still running after their parent was killed: {left}"
    assert [p.name for p in temp] == [p.name for p in out.parent.iterdir()]
    for slow in songs.glob("a-slow-*.mid"):
        slow.unlink()
    run = _cli(["import", str(songs), "--corpus", str(out), "--workers", "1"], tmp_path)
    assert run.returncode == 0, run.stderr
    assert [p.name for p in out.parent.iterdir()] == [out.name]
    assert len(Corpus(out)) == 5
