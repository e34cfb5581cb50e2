"""Smoke-test the frozen build in dist/rbm-studio/ (`make package-test`): exit 0 only if it works.

Runs the bundle's own executable — from a scratch working directory, with a fresh user cache and
`QT_QPA_PLATFORM=offscreen` — the way a first-time user would:

1. `rbm-studio --version` and `--help` (every CLI subcommand module is importable when frozen);
2. `rbm-studio import <bundled sample songs> --json` (frozen multiprocessing workers);
3. `rbm-studio render <a bundled song> --out song.wav` through the built-in synth (bundled
   SoundFont, no fluidsynth): the WAV must have the song's length and not be silent;
4. `rbm-studio train --benchmark JSB_Chorales.mat` for one tiny epoch, when the reference data is
   present (scipy.io inside the bundle);
5. `rbm-studio --self-test --screenshot shot.png` (window, import, JAX training, generation);
6. plain `rbm-studio`, as a double-click starts it: the window must show and keep running.

Fails on a bundle of `MAX_BUNDLE_MB` or more, a non-zero exit, a "Traceback" in any output, a missing bundled resource, a missing or
blank screenshot, no JAX compile cache in the user cache folder, or any file the run wrote into
the bundle. Standard library only, so it runs with any Python.
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
import wave
from array import array
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BUNDLE = ROOT / "dist" / "rbm-studio"
DEFAULT_BENCHMARK = ROOT.parent / "shared" / "data" / "polyphonic" / "JSB_Chorales.mat"
RUN_TIMEOUT_S = 900
WINDOW_SETTLE_S = 5
MAX_BUNDLE_MB = 450
MIN_WAV_PEAK = 3000  # 16-bit: about -21 dBFS; the bundled piano peaks far above it
MIN_SCREENSHOT_BYTES = 20_000  # a blank 1400×900 PNG is a few KiB; the real window is >100 KiB


class PackageTestError(Exception):
    pass


def executable(bundle: Path) -> Path:
    name = "rbm-studio.exe" if sys.platform == "win32" else "rbm-studio"
    return bundle / name


def bundled_resources(bundle: Path) -> Path:
    """`rbm_studio/resources/` inside the bundle (PyInstaller ≥ 6 puts data under `_internal/`)."""
    for base in (bundle / "_internal", bundle):
        candidate = base / "rbm_studio" / "resources"
        if candidate.is_dir():
            return candidate
    raise PackageTestError(f"no rbm_studio/resources/ folder inside {bundle}")


def check_resources(bundle: Path) -> Path:
    resources = bundled_resources(bundle)
    songs = [
        p for p in (resources / "sample_midi").glob("*") if p.suffix.lower() in (".mid", ".midi")
    ]
    if not songs:
        raise PackageTestError(f"bundled sample songs missing: {resources / 'sample_midi'}")
    for icon in ("rbm-studio.png", "rbm-studio.ico", "rbm-studio.icns"):
        if not (resources / "icons" / icon).is_file():
            raise PackageTestError(f"bundled icon missing: {resources / 'icons' / icon}")
    print(f"  resources: {len(songs)} sample songs and icons in {resources}")
    return resources


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file in `folder` with size and mtime, to detect writes into the bundle."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file()
    }


def run(
    exe: Path, args: list[str], *, env: dict[str, str], cwd: Path, what: str, merge: bool = False
) -> str:
    """Run the frozen executable; return its stdout (`merge`: and stderr) or raise with both."""
    started = time.monotonic()
    try:
        proc = subprocess.run(
            [str(exe), *args],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=RUN_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as exc:
        raise PackageTestError(f"{what}: no exit after {RUN_TIMEOUT_S} s") from exc
    elapsed = time.monotonic() - started
    both = f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    if proc.returncode != 0:
        raise PackageTestError(f"{what}: exit code {proc.returncode}\n{both}")
    if "Traceback" in proc.stdout + proc.stderr:
        raise PackageTestError(f"{what}: a traceback in the output\n{both}")
    print(f"  {what}: ok in {elapsed:.1f} s")
    return proc.stdout + proc.stderr if merge else proc.stdout


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG header (raises if the file is not a PNG)."""
    head = path.read_bytes()[:24]
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise PackageTestError(f"{path} is not a PNG file")
    return struct.unpack(">II", head[16:24])


def bundle_megabytes(bundle: Path) -> float:
    """Like `du -s`: symbolic links (PyInstaller links Qt libraries) count once, as links."""
    files = (p for p in bundle.rglob("*") if p.is_file() and not p.is_symlink())
    return sum(p.stat().st_size for p in files) / 2**20


def check_wav(path: Path, min_seconds: float) -> None:
    """A 16-bit WAV at least `min_seconds` long whose loudest sample reaches `MIN_WAV_PEAK`."""
    if not path.is_file():
        raise PackageTestError(f"render wrote no WAV at {path}")
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise PackageTestError(f"{path.name}: {8 * wav.getsampwidth()}-bit, expected 16-bit")
        seconds = wav.getnframes() / wav.getframerate()
        samples = array("h", wav.readframes(wav.getnframes()))
    peak = max((abs(v) for v in samples), default=0)
    if seconds < min_seconds or peak < MIN_WAV_PEAK:
        raise PackageTestError(f"{path.name}: {seconds:.1f} s, peak {peak}: short or silent")
    print(f"  WAV from the built-in synth: {seconds:.1f} s, peak {peak / 32768:.2f} of full scale")


def check_screenshot(path: Path) -> None:
    if not path.is_file():
        raise PackageTestError(f"the self-test wrote no screenshot at {path}")
    width, height = png_size(path)
    size = path.stat().st_size
    if width < 400 or height < 300 or size < MIN_SCREENSHOT_BYTES:
        raise PackageTestError(f"screenshot looks blank or tiny: {width}×{height}, {size} bytes")
    print(f"  screenshot: {width}×{height}, {size // 1024} KiB")


def check_window_starts(exe: Path, *, env: dict[str, str], cwd: Path) -> None:
    """Launch the real window (no --self-test), wait until it is shown, let it load the sample
    songs for a few seconds, then close it: the path a double-click takes, transport included."""
    marks = cwd / "window-marks.log"
    log = cwd / "window-output.log"
    started = time.monotonic()
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            [str(exe)],
            env={**env, "RBM_STUDIO_STARTUP_LOG": str(marks)},
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            while "window_shown" not in (marks.read_text() if marks.exists() else ""):
                if proc.poll() is not None:
                    raise PackageTestError(
                        f"the window exited with code {proc.returncode} before showing:\n"
                        + log.read_text(errors="replace")
                    )
                if time.monotonic() - started > RUN_TIMEOUT_S:
                    raise PackageTestError("the window was not shown in time")
                time.sleep(0.1)
            shown = time.monotonic() - started
            time.sleep(WINDOW_SETTLE_S)
            if proc.poll() is not None:
                raise PackageTestError(
                    f"the window exited with code {proc.returncode} after showing:\n"
                    + log.read_text(errors="replace")
                )
        finally:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)
    output = log.read_text(errors="replace")
    if "Traceback" in output:
        raise PackageTestError(f"the window printed a traceback:\n{output}")
    print(
        f"  window (no --self-test): shown after {shown:.1f} s, still running {WINDOW_SETTLE_S} s later"
    )


def package_test(bundle: Path, *, benchmark: Path | None, keep: Path | None) -> None:
    exe = executable(bundle)
    if not exe.is_file():
        raise PackageTestError(f"{exe} not found: run `make package` first")
    print(f"testing {exe}")
    size = bundle_megabytes(bundle)
    if size >= MAX_BUNDLE_MB:
        raise PackageTestError(f"the bundle is {size:.0f} MB, the limit is {MAX_BUNDLE_MB} MB")
    print(f"  bundle size: {size:.0f} MB (limit {MAX_BUNDLE_MB} MB)")
    resources = check_resources(bundle)
    if not (resources / "soundfonts" / "sf_GMbank.sf2").is_file():
        raise PackageTestError("the built-in synth's SoundFont is missing from the bundle")
    before = snapshot(bundle)

    with tempfile.TemporaryDirectory(prefix="rbm-studio-package-test-") as scratch_name:
        scratch = Path(scratch_name)
        cache = scratch / "cache"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "RBM_STUDIO_"))}
        env.update(
            QT_QPA_PLATFORM="offscreen",
            RBM_STUDIO_CACHE_DIR=str(cache),
            RBM_STUDIO_DATA_DIR=str(scratch / "data"),
            RBM_STUDIO_CONFIG_DIR=str(scratch / "config"),
        )

        version = run(exe, ["--version"], env=env, cwd=scratch, what="--version")
        if not version.startswith("rbm-studio "):
            raise PackageTestError(f"--version printed {version!r}")
        run(exe, ["--help"], env=env, cwd=scratch, what="--help")

        output = run(
            exe,
            ["import", str(resources / "sample_midi"), "--json", "--no-cache", "--workers", "2"],
            env=env,
            cwd=scratch,
            what="import (2 worker processes)",
        )
        report = json.loads(output)
        loaded = report.get("loaded")
        count = len(loaded) if isinstance(loaded, list) else loaded
        if not count:
            raise PackageTestError(f"import loaded no songs: {output[:2000]}")

        song = sorted((resources / "sample_midi").glob("*.mid"))[0]
        output = run(
            exe,
            ["render", str(song), "--out", str(scratch / "song.wav")],
            env=env,
            cwd=scratch,
            what=f"render {song.name} (built-in synth)",
        )
        if "wrote" not in output:
            raise PackageTestError(f"render printed {output!r}")
        check_wav(scratch / "song.wav", min_seconds=10.0)

        if benchmark is not None:
            run(
                exe,
                ["train", "--benchmark", str(benchmark), "--epochs", "1", "--hidden", "8"]
                + ["--out", str(scratch / "bench.rbm")],
                env=env,
                cwd=scratch,
                what=f"train --benchmark {benchmark.name} (scipy.io)",
            )
            if not (scratch / "bench.rbm").is_file():
                raise PackageTestError("train --benchmark wrote no model file")

        shot = scratch / "self-test.png"
        output = run(
            exe,
            ["--self-test", "--screenshot", str(shot)],
            env=env,
            cwd=scratch,
            what="--self-test",
            merge=True,  # the summary goes to stdout, a failure report to stderr
        )
        summary = [line for line in output.splitlines() if line.startswith("self-test ok")]
        if not summary:
            raise PackageTestError(f"--self-test printed no summary line:\n{output}")
        print(f"  {summary[-1]}")
        check_screenshot(shot)
        if keep is not None:
            keep.parent.mkdir(parents=True, exist_ok=True)
            keep.write_bytes(shot.read_bytes())

        check_window_starts(exe, env=env, cwd=scratch)

        compiled = list((cache / "jax").glob("*")) if (cache / "jax").is_dir() else []
        if not compiled:
            raise PackageTestError(f"no JAX compile cache written to {cache / 'jax'}")
        print(f"  JAX compile cache: {len(compiled)} entries in the user cache folder")

    changed = sorted(set(snapshot(bundle).items()) ^ set(before.items()))
    if changed:
        names = sorted({name for name, _ in changed})
        raise PackageTestError(f"the run wrote into the bundle: {', '.join(names[:10])}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", nargs="?", type=Path, default=DEFAULT_BUNDLE)
    parser.add_argument(
        "--benchmark",
        type=Path,
        default=DEFAULT_BENCHMARK if DEFAULT_BENCHMARK.is_file() else None,
        help="a .mat benchmark to train one epoch on (default: JSB Chorales if present)",
    )
    parser.add_argument("--keep-screenshot", type=Path, help="copy the self-test screenshot here")
    args = parser.parse_args()
    started = time.monotonic()
    try:
        package_test(args.bundle.resolve(), benchmark=args.benchmark, keep=args.keep_screenshot)
    except PackageTestError as exc:
        print(f"package test FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"package test ok in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
