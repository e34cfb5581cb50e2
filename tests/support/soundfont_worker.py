"""Run in a child process by tests/test_hostile_soundfonts.py: every crafted SoundFont in a
folder through one surface, in this one process, printing `START name` before each font and one
JSON line after it. A font that kills the process leaves its START line last, so the test can
name it.

`python soundfont_worker.py render|play|window FONT_DIR SONG.mid OUT_DIR [STEP]`
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

from cli_capture import run_cli


def fonts(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


def emit(record: dict) -> None:
    print(json.dumps(record), flush=True)


def render(folder: Path, song: Path, out_dir: Path, *_extra: str) -> None:
    for font in fonts(folder):
        print(f"START {font.name}", flush=True)
        out = out_dir / f"{font.name}.wav"
        argv = ["render", str(song), "--soundfont", str(font), "--out", str(out)]
        rc, err = run_cli(argv)
        emit({"font": font.name, "rc": rc, "err": err, "wrote": out.exists()})


def play(folder: Path, song: Path, _out_dir: Path, *_extra: str) -> None:
    """`rbm-studio play --synth` checks a named SoundFont before anything plays (the refusals);
    the fonts it accepts are then played by the same MidiPlayer on the Null audio device, without
    the command's one-second release tail per font."""
    from rbm_studio.music.midi import read_midi
    from rbm_studio.playback.player import MidiPlayer
    from rbm_studio.playback.synth import probe_soundfont

    tune = read_midi(song)
    for font in fonts(folder):
        print(f"START {font.name}", flush=True)
        reason = probe_soundfont(font)
        if reason is not None:
            argv = ["play", str(song), "--synth", "--soundfont", str(font)]
            rc, err = run_cli([*argv, "--audio-backend", "null"])
            emit({"font": font.name, "rc": rc, "err": err, "played": False})
            continue
        player = MidiPlayer(soundfont=font, audio_backends=["null"])
        try:
            opened = player.open_synth()
            player.load(tune)
            player.play()
            finished = player.wait(timeout=20)
            message = player.status.message
        finally:
            player.close()
        emit(
            {
                "font": font.name,
                "rc": 0 if opened and finished else 1,
                "err": message,
                "played": bool(opened and finished),
            }
        )


def window(folder: Path, _song: Path, out_dir: Path, step: str = "1") -> None:
    """The transport's SoundFont choice (`set_soundfont`, what the chooser calls) on every font,
    then start-up with each font remembered, as a settings file from an older version or a font
    changed on disk since would leave it (every `step`-th font: each start opens the synth)."""
    from PySide6.QtWidgets import QApplication

    from rbm_studio.playback.synth import bundled_soundfont
    from rbm_studio.ui.settings import AppSettings
    from rbm_studio.ui.transport import SOUNDFONT_KEY, TransportBar

    app = QApplication.instance() or QApplication([])
    settings = AppSettings(out_dir / "settings.ini")
    transport = TransportBar(settings, apis=[])

    def wait(job) -> None:
        while job is not None and not job.is_done:
            app.processEvents()

    def settle(bar: TransportBar) -> None:
        """Let the transport's own background jobs (list outputs, open the synth) finish, so
        closing it never destroys a running thread."""
        for job in (bar.refresh_job, bar.open_job, bar.soundfont_job):
            wait(job)
        while bar.busy:
            app.processEvents()
            for job in (bar.refresh_job, bar.open_job):
                wait(job)

    results: list[tuple[bool, str]] = []
    transport.soundfontChecked.connect(lambda used, message: results.append((used, message)))
    try:
        for font in fonts(folder):
            print(f"START choose {font.name}", flush=True)
            results.clear()
            try:
                wait(transport.set_soundfont(font))
                app.processEvents()
                used, message = results[-1] if results else (None, "no answer")
                remembered = str(settings.qsettings.value(SOUNDFONT_KEY, "") or "")
                record = {
                    "font": font.name,
                    "used": used,
                    "err": message,
                    "remembered": remembered == str(font),
                    "player_font": str(transport.player.soundfont),
                }
            except BaseException:  # noqa: BLE001 - what the test is looking for
                record = {"font": font.name, "used": None, "err": traceback.format_exc()}
            emit({"surface": "choose", **record})
            if record.get("used"):  # back to the bundled font for the next one
                transport.set_soundfont(None)
                settle(transport)
    finally:
        settle(transport)
        transport.shutdown()
    bundled = str(bundled_soundfont())
    for font in fonts(folder)[:: int(step)]:
        print(f"START startup {font.name}", flush=True)
        settings.qsettings.setValue(SOUNDFONT_KEY, str(font))
        try:
            again = TransportBar(settings, apis=[])
            settle(again)
            record = {
                "font": font.name,
                "notice": again.soundfont_notice,
                "remembered": str(settings.qsettings.value(SOUNDFONT_KEY, "") or ""),
                "uses": str(again.soundfont()),
                "bundled": bundled,
            }
            again.shutdown()
            again.deleteLater()
        except BaseException:  # noqa: BLE001 - what the test is looking for
            record = {"font": font.name, "notice": None, "err": traceback.format_exc()}
        emit({"surface": "startup", **record})
        app.processEvents()


if __name__ == "__main__":
    surface, folder, song, out_dir, *extra = sys.argv[1:]
    {"render": render, "play": play, "window": window}[surface](
        Path(folder), Path(song), Path(out_dir), *extra
    )
