"""Packaging and desktop integration: JAX cache set-up, start-up marks, icons, the .desktop entry
and its installer, the frozen entry point, the spec's exclusions, and (opt-in) the real bundle."""

from __future__ import annotations

import ast
import configparser
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rbm_studio.platform import startup_marks

ROOT = Path(__file__).resolve().parent.parent
ICONS = ROOT / "rbm_studio" / "resources" / "icons"


def load_tool(name: str):
    """Import tools/<name>.py (tools/ is a folder of scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"tools_{name}", ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_python(code: str, env_extra: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_")}
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


# --- JAX compile cache -------------------------------------------------------------------------

JIT_AND_REPORT = """
import jax, jax.numpy as jnp
jax.jit(lambda x: jnp.tanh(x) @ x.T)(jnp.ones((8, 8))).block_until_ready()
print(jax.config.jax_compilation_cache_dir)
"""


def test_configure_jax_before_import_puts_compiled_code_in_user_cache(tmp_path):
    result = run_python(
        "from rbm_studio.platform.jax_setup import configure_jax\nconfigure_jax()\n"
        + JIT_AND_REPORT,
        # 0 s: cache even this tiny computation, so the test sees an entry appear.
        {"RBM_STUDIO_CACHE_DIR": str(tmp_path), "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"},
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / "jax")
    assert any((tmp_path / "jax").iterdir())


@pytest.mark.slow
def test_configure_jax_after_import_updates_config_and_keeps_user_choice(tmp_path):
    mine = tmp_path / "my-jax-cache"
    code = (
        "import jax\nfrom rbm_studio.platform.jax_setup import configure_jax, MIN_COMPILE_SECONDS\n"
        "configure_jax()\n"
        "assert jax.config.jax_persistent_cache_min_compile_time_secs == MIN_COMPILE_SECONDS\n"
        + JIT_AND_REPORT
    )
    result = run_python(code, {"RBM_STUDIO_CACHE_DIR": str(tmp_path / "c")}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / "c" / "jax")
    # A cache folder the user chose through JAX's own variable wins over ours.
    result = run_python(
        "from rbm_studio.platform.jax_setup import configure_jax\nconfigure_jax()\n"
        + JIT_AND_REPORT,
        {"RBM_STUDIO_CACHE_DIR": str(tmp_path / "c"), "JAX_COMPILATION_CACHE_DIR": str(mine)},
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(mine)


def test_cli_sets_up_the_jax_cache_before_running_a_command(tmp_path):
    code = (
        "import os\nfrom rbm_studio import cli\n"
        "assert 'JAX_COMPILATION_CACHE_DIR' not in os.environ\n"
        "cli.main(['import', 'no-such-song.mid'])\n"
        "print(os.environ['JAX_COMPILATION_CACHE_DIR'])\n"
    )
    result = run_python(code, {"RBM_STUDIO_CACHE_DIR": str(tmp_path)}, tmp_path)
    assert result.stdout.strip().splitlines()[-1] == str(tmp_path / "jax"), result.stderr


# --- start-up marks ------------------------------------------------------------------------------


def test_startup_marks_are_written_only_when_asked(tmp_path, monkeypatch):
    log = tmp_path / "marks.log"
    monkeypatch.delenv(startup_marks.ENV_VAR, raising=False)
    startup_marks.mark("window_shown")
    assert not log.exists()
    monkeypatch.setenv(startup_marks.ENV_VAR, str(log))
    startup_marks.mark("window_shown")
    startup_marks.mark("self_test_done")
    marks = startup_marks.read_marks(log)
    assert list(marks) == ["window_shown", "self_test_done"]
    assert marks["window_shown"] <= marks["self_test_done"]


def test_startup_mark_to_an_unwritable_place_warns_and_goes_on(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(startup_marks.ENV_VAR, str(tmp_path / "missing-folder" / "marks.log"))
    startup_marks.mark("window_shown")
    assert "cannot write start-up mark" in capsys.readouterr().err


# --- icons ---------------------------------------------------------------------------------------


def image_sizes(qapp, path: Path) -> list[int]:
    from PySide6.QtGui import QImageReader

    reader = QImageReader(str(path))
    sizes = []
    for index in range(reader.imageCount()):
        if index:  # single-image formats refuse a jump even to image 0
            assert reader.jumpToImage(index)
        image = reader.read()
        assert not image.isNull(), f"{path} image {index}: {reader.errorString()}"
        assert image.width() == image.height()
        sizes.append(image.width())
    return sizes


def test_committed_icons_hold_every_size(qapp):
    make_icons = load_tool("make_icons")
    assert image_sizes(qapp, ICONS / "rbm-studio.png") == [make_icons.PNG_SIZE]
    assert image_sizes(qapp, ICONS / "rbm-studio.ico") == list(make_icons.ICO_SIZES)
    assert image_sizes(qapp, ICONS / "rbm-studio.icns") == [s for _, s in make_icons.ICNS_TYPES]


def test_make_icons_draws_a_non_blank_icon(qapp, tmp_path):
    from PySide6.QtGui import QImage

    make_icons = load_tool("make_icons")
    written = make_icons.make_icons(tmp_path)
    assert sorted(p.name for p in written) == [
        "rbm-studio.icns",
        "rbm-studio.ico",
        "rbm-studio.png",
    ]
    assert image_sizes(qapp, tmp_path / "rbm-studio.ico") == list(make_icons.ICO_SIZES)
    image = QImage(str(tmp_path / "rbm-studio.png"))
    corner, centre = image.pixelColor(0, 0), image.pixelColor(256, 256)
    assert corner.alpha() == 0  # rounded tile: transparent corners
    assert centre.alpha() == 255
    colours = {image.pixel(x, y) for x in range(0, 512, 8) for y in range(0, 512, 8)}
    assert len(colours) > 50  # gradient, notes, wires and units — not a flat square


# --- desktop entry and installer -----------------------------------------------------------------


def parse_desktop(text: str) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read_string(text)
    return dict(parser["Desktop Entry"])


def test_desktop_entry_template_is_complete():
    entry = parse_desktop(
        (ROOT / "rbm_studio" / "resources" / "rbm-studio.desktop").read_text(encoding="utf-8")
    )
    assert entry["Type"] == "Application"
    assert entry["Name"] == "RBM Studio"
    assert entry["Exec"] == "rbm-studio"
    assert entry["Terminal"] == "false"
    assert "AudioVideo" in entry["Categories"].split(";")
    assert (ICONS / f"{entry['Icon']}.png").is_file()
    # The app announces the same name to Wayland (setDesktopFileName) and X11 (WM_CLASS).
    app_source = (ROOT / "rbm_studio" / "ui" / "window_factory.py").read_text(encoding="utf-8")
    assert 'setDesktopFileName("rbm-studio")' in app_source
    assert f'APPLICATION = "{entry["StartupWMClass"]}"' in app_source


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/opt/rbm-studio/rbm-studio", "/opt/rbm-studio/rbm-studio"),
        ("/home/me/My Apps/rbm-studio", '"/home/me/My Apps/rbm-studio"'),
        ("/tmp/a$b/rbm-studio", '"/tmp/a\\\\$b/rbm-studio"'),
    ],
)
def test_exec_paths_are_quoted_per_the_desktop_entry_spec(path, expected):
    assert load_tool("install_desktop").quote_exec_arg(path) == expected


def test_install_desktop_writes_menu_entry_and_icon_then_uninstalls(tmp_path, monkeypatch, capsys):
    installer = load_tool("install_desktop")
    exe = tmp_path / "opt dir" / "rbm-studio"
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    home = tmp_path / "share"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))

    assert installer.main(["--exec", str(exe)]) == 0
    desktop = home / "applications" / "rbm-studio.desktop"
    entry = parse_desktop(desktop.read_text(encoding="utf-8"))
    assert entry["Exec"] == f'"{exe}"'
    assert entry["TryExec"] == str(exe)
    assert entry["Icon"] == "rbm-studio"
    icon = home / "icons" / "hicolor" / "512x512" / "apps" / "rbm-studio.png"
    assert icon.read_bytes() == (ICONS / "rbm-studio.png").read_bytes()
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(
            ["desktop-file-validate", str(desktop)], capture_output=True, text=True
        )
        assert check.returncode == 0, check.stdout + check.stderr

    assert installer.main(["--uninstall"]) == 0
    assert not desktop.exists() and not icon.exists()


def test_install_desktop_without_an_executable_says_what_to_do(tmp_path, monkeypatch, capsys):
    installer = load_tool("install_desktop")
    monkeypatch.setattr(installer, "CANDIDATES", (tmp_path / "nothing",))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    assert installer.main([]) == 1
    assert "make package" in capsys.readouterr().err
    assert not (tmp_path / "share" / "applications").exists()


# --- frozen entry point --------------------------------------------------------------------------


def test_entry_point_without_console_appends_output_to_a_log(tmp_path):
    """A windowed Windows app has no stdout/stderr: output must land in the log folder, not
    crash, and a second launch must keep the first one's output."""
    code = (
        "import runpy, sys\n"
        "sys.stdout = None\nsys.stderr = None\n"
        "sys.argv = ['rbm-studio', '--version']\n"
        f"runpy.run_path({str(ROOT / 'tools' / 'pyinstaller_entry.py')!r}, run_name='__main__')\n"
    )
    for _launch in range(2):
        result = run_python(code, {"RBM_STUDIO_LOG_DIR": str(tmp_path / "logs")}, tmp_path)
        assert result.returncode == 0, result.stderr
    lines = (tmp_path / "logs" / "console.log").read_text(encoding="utf-8").splitlines()
    assert [line.startswith("--- pid ") for line in lines] == [True, False, True, False]
    assert lines[1].startswith("rbm-studio ") and lines[3] == lines[1]


# --- the spec ------------------------------------------------------------------------------------


def spec_list(name: str) -> list[str]:
    """A top-level list literal assigned in rbm_studio.spec (e.g. `excludes`)."""
    tree = ast.parse((ROOT / "rbm_studio.spec").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} not found in rbm_studio.spec")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


# Speed benchmarks time us against these peers; they are dev extras, not part of the app (the
# hand-tuned numpy CD-1 peer uses scipy.special's in-place sigmoid, as its users would).
DEV_ONLY_PEERS = {"rbm_studio/benchmarks": ("sklearn", "pretty_midi", "scipy.special")}


def test_spec_excludes_nothing_the_app_imports():
    excludes = spec_list("excludes")
    assert "sklearn" in excludes and "PySide6.QtQml" in excludes
    offending = []
    for path in sorted((ROOT / "rbm_studio").rglob("*.py")):
        folder = path.parent.relative_to(ROOT).as_posix()
        allowed = DEV_ONLY_PEERS.get(folder, ())
        for module in imported_modules(path):
            for excluded in excludes:
                if excluded in allowed:
                    continue
                if module == excluded or module.startswith(excluded + "."):
                    offending.append(f"{path.relative_to(ROOT)} imports {module} ({excluded})")
    assert not offending, "rbm_studio.spec excludes modules the app uses:\n" + "\n".join(offending)


def test_package_test_refuses_a_missing_bundle(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "package_test.py"), str(tmp_path / "no-bundle")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "make package" in result.stderr


@pytest.mark.package
@pytest.mark.skipif(
    os.environ.get("RBM_STUDIO_PACKAGE_TEST") != "1",
    reason="builds the PyInstaller bundle (minutes); set RBM_STUDIO_PACKAGE_TEST=1 (CI uses make package)",
)
def test_frozen_bundle_builds_and_passes_its_smoke_test(tmp_path):
    build = subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN"]
        + ["--distpath", str(tmp_path / "dist"), "--workpath", str(tmp_path / "build")]
        + [str(ROOT / "rbm_studio.spec")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert build.returncode == 0, build.stderr[-5000:]
    check = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "package_test.py"),
            str(tmp_path / "dist" / "rbm-studio"),
        ],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert check.returncode == 0, check.stdout + check.stderr
