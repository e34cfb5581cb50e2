"""Add RBM Studio to the Linux applications menu (`make install-desktop`), or remove it again.

    python3 tools/install_desktop.py              # the built bundle if present, else the venv's
    python3 tools/install_desktop.py --exec PATH  # any rbm-studio executable
    python3 tools/install_desktop.py --uninstall

Writes `$XDG_DATA_HOME/applications/rbm-studio.desktop` (default `~/.local/share`) from
`rbm_studio/resources/rbm-studio.desktop` with `Exec`/`TryExec` set to the absolute path of the executable,
and the icon to `$XDG_DATA_HOME/icons/hicolor/512x512/apps/rbm-studio.png`, then refreshes the
menu and icon caches when the tools for that are installed. Standard library only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "rbm_studio" / "resources" / "rbm-studio.desktop"
ICON = ROOT / "rbm_studio" / "resources" / "icons" / "rbm-studio.png"
DESKTOP_NAME = "rbm-studio.desktop"
ICON_SIZE = "512x512"
CANDIDATES = (ROOT / "dist" / "rbm-studio" / "rbm-studio", ROOT / ".venv" / "bin" / "rbm-studio")
RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


class InstallError(Exception):
    pass


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def desktop_path(base: Path) -> Path:
    return base / "applications" / DESKTOP_NAME


def icon_path(base: Path) -> Path:
    return base / "icons" / "hicolor" / ICON_SIZE / "apps" / "rbm-studio.png"


def find_executable() -> Path:
    """The built bundle if there is one (it starts faster), else the venv's entry point."""
    for candidate in CANDIDATES:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise InstallError(
        "no rbm-studio executable found; build one with `make package` (or `make run` for the "
        "venv), or name one with --exec"
    )


def quote_exec_arg(arg: str) -> str:
    """Quote one Exec argument per the Desktop Entry spec, then escape it as a string value."""
    if any(ch in RESERVED for ch in arg):
        arg = '"' + "".join("\\" + ch if ch in '"`$\\' else ch for ch in arg) + '"'
    return arg.replace("\\", "\\\\")


def render_desktop_entry(template: str, executable: Path) -> str:
    """The template with Exec and TryExec pointing at `executable` (other lines untouched)."""
    exec_value = quote_exec_arg(str(executable))
    lines = []
    for line in template.splitlines():
        key = line.partition("=")[0].strip()
        if key == "Exec":
            line = f"Exec={exec_value}"
        elif key == "TryExec":
            line = f"TryExec={str(executable).replace(chr(92), chr(92) * 2)}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def refresh_caches(base: Path) -> None:
    """Tell the desktop about the change; optional tools, so failures are only reported."""
    commands = (
        ["update-desktop-database", "-q", str(base / "applications")],
        ["gtk-update-icon-cache", "-q", "-t", "-f", str(base / "icons" / "hicolor")],
    )
    for command in commands:
        if shutil.which(command[0]) is None:
            continue
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            print(f"note: {command[0]} failed: {result.stderr.strip()}", file=sys.stderr)


def install(executable: Path, base: Path) -> list[Path]:
    executable = executable.resolve()
    if not executable.is_file():
        raise InstallError(f"{executable} is not a file")
    entry = render_desktop_entry(TEMPLATE.read_text(encoding="utf-8"), executable)
    written = [desktop_path(base), icon_path(base)]
    write_atomic(written[0], entry.encode("utf-8"), mode=0o755)
    write_atomic(written[1], ICON.read_bytes())
    refresh_caches(base)
    return written


def uninstall(base: Path) -> list[Path]:
    removed = [p for p in (desktop_path(base), icon_path(base)) if p.is_file()]
    for path in removed:
        path.unlink()
    refresh_caches(base)
    return removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exec", dest="executable", type=Path, help="rbm-studio executable")
    parser.add_argument("--uninstall", action="store_true", help="remove the menu entry and icon")
    args = parser.parse_args(argv)
    if not sys.platform.startswith("linux"):
        print("install-desktop is for Linux desktops (freedesktop.org menus)", file=sys.stderr)
        return 2
    base = data_home()
    try:
        if args.uninstall:
            for path in uninstall(base):
                print(f"removed {path}")
            return 0
        executable = args.executable or find_executable()
        for path in install(executable, base):
            print(f"wrote {path}")
        print(f"RBM Studio is in your applications menu (runs {executable.resolve()})")
    except (InstallError, OSError) as exc:
        print(f"install-desktop: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
