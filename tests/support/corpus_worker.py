"""Run in a child process by tests/test_hostile_corpora.py: every crafted corpus opened the way
`train --corpus` opens it (and, when it opens, every song and the summary read), and the
plan's chosen ones through `rbm-studio train --corpus` then `load_model` and `rbm-studio
generate`, all in this one process, printing one JSON line per corpus and step.

`python corpus_worker.py PLAN.json` where the plan is {"open": [path, ...], "cli": {name: path},
"cli_when_it_opens": bool (every corpus that opens goes through the command line too, but those
named in "open_only"), "out": folder, "train": [extra train options]}.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path

from cli_capture import run_cli

_last = time.monotonic()


def emit(name: str, step: str, rc: int | str, text: str) -> None:
    global _last
    now = time.monotonic()
    row = {"name": name, "step": step, "rc": rc, "text": text, "seconds": round(now - _last, 2)}
    _last = now
    print(json.dumps(row), flush=True)


def open_corpus(path: Path) -> tuple[int | str, str]:
    from rbm_studio.data.corpus import Corpus, CorpusError

    try:
        corpus = Corpus(path)
        songs = [corpus[i] for i in range(len(corpus))]
        corpus.summary()
        if sum(s.steps for s in songs) != corpus.n_rows:
            return "traceback", "the songs do not cover the rows"
    except CorpusError as exc:
        return 1, str(exc)
    except BaseException:  # noqa: BLE001
        return "traceback", traceback.format_exc()
    return 0, ""


def main() -> None:
    plan = json.loads(Path(sys.argv[1]).read_text())
    cli = dict(plan["cli"])
    for path in map(Path, plan["open"]):
        rc, text = open_corpus(path)
        emit(path.stem, "open", rc, text)
        if rc == 0 and plan.get("cli_when_it_opens") and path.stem not in plan["open_only"]:
            cli.setdefault(path.stem, str(path))
    from rbm_studio.models.model_file import ModelFileError, load_model

    out = Path(plan["out"])
    for name, path in cli.items():
        model = out / f"{name}.rbm"
        rc, text = run_cli(["train", "--corpus", path, "--out", str(model), *plan["train"]])
        emit(name, "train", rc, text)
        if not model.exists():
            continue
        try:
            load_model(model)
            emit(name, "load", 0, "")
        except ModelFileError as exc:
            emit(name, "load", 1, str(exc))
        except BaseException:  # noqa: BLE001
            emit(name, "load", "traceback", traceback.format_exc())
        argv = ["generate", str(model), "--out", str(out / name), "--songs", "1", "--steps", "8"]
        emit(name, "generate", *run_cli(argv))


if __name__ == "__main__":
    main()
