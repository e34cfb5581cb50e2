"""Run in a child process by tests/test_hostile_files.py: every crafted model file through
`load_model`, `rbm-studio generate` and `rbm-studio evaluate` in this one process, printing one
JSON line per file and command, then the process's peak resident memory (VmHWM, KiB).

`python hostile_worker.py CORPUS_DIR SONG.mid OUT_DIR`
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

from cli_capture import run_cli


def main() -> None:
    corpus, song, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    from rbm_studio.models.model_file import ModelFileError, load_model

    for path in sorted(corpus.glob("*.rbm")):
        try:
            load_model(path)
            outcome: int | str = 0
            text = ""
        except ModelFileError as exc:
            outcome, text = 1, str(exc)
        except BaseException:  # noqa: BLE001
            outcome, text = "traceback", traceback.format_exc()
        print(json.dumps({"file": path.stem, "step": "load", "rc": outcome, "text": text}))
        rc, text = run_cli(
            ["generate", str(path), "--out", str(out / path.stem), "--songs", "1", "--steps", "8"]
        )
        print(json.dumps({"file": path.stem, "step": "generate", "rc": rc, "text": text}))
        rc, text = run_cli(
            ["evaluate", str(path), "--folder", song, "--betas", "3", "--chains", "2", "--json"]
        )
        print(json.dumps({"file": path.stem, "step": "evaluate", "rc": rc, "text": text}))
        sys.stdout.flush()
    status = Path("/proc/self/status").read_text()
    peak = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
    print(json.dumps({"peak_kib": peak}))


if __name__ == "__main__":
    main()
