"""The `.rbm` model file: a zip of `.npy` arrays plus `metadata.json`.

No pickle anywhere (arrays load with `allow_pickle=False`), so opening a model someone sent you
cannot run code. Writes go to a temp file in the same folder and `os.replace` it into place, so a
crash mid-save never leaves a half-written model over a good one. Anything that is not a model we
can read raises `ModelFileError` with a one-line reason.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from ..music.encoding import Encoding
from . import registry
from .config import TrainingConfig
from .document import Model

FORMAT_NAME = "rbm-studio-model"
FORMAT_VERSION = 1
METADATA = "metadata.json"
PARAMS_DIR = "params/"
MAX_METADATA_BYTES = 64 * 2**20


class ModelFileError(Exception):
    """The file is not a model this version can read; the message says why in one line."""


def save_model(model: Model, path: str | Path) -> None:
    """Write `model` to `path` atomically."""
    path = Path(path)
    meta = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "kind": model.kind,
        "encoding": model.encoding.to_dict(),
        "window": model.window,
        "n_visible": model.n_visible,
        "n_hidden": model.n_hidden,
        "config": model.config.to_dict(),
        "history": model.history,
        "dataset": model.dataset,
        "created": model.created,
        "params": sorted(model.params),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(METADATA, json.dumps(meta, indent=1, default=_json_default))
            for name, array in model.params.items():
                buf = io.BytesIO()
                np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
                zf.writestr(f"{PARAMS_DIR}{name}.npy", buf.getvalue())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in model metadata")


def load_model(path: str | Path) -> Model:
    """Read a `.rbm` file; raises `ModelFileError` for anything that is not a readable model."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path.name}: no such model file")
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if METADATA not in names:
                raise ModelFileError(f"{path.name} is a zip file but not an RBM Studio model")
            info = zf.getinfo(METADATA)
            if info.file_size > MAX_METADATA_BYTES:
                raise ModelFileError(f"{path.name}: model metadata is implausibly large")
            try:
                meta = json.loads(zf.read(METADATA).decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise ModelFileError(f"{path.name}: model metadata is unreadable ({exc})") from None
            _check_header(meta, path)
            params: dict[str, np.ndarray] = {}
            for name in meta["params"]:
                member = f"{PARAMS_DIR}{name}.npy"
                if member not in names:
                    raise ModelFileError(f"{path.name}: array {name!r} is missing")
                try:
                    params[name] = np.load(io.BytesIO(zf.read(member)), allow_pickle=False)
                except ValueError as exc:
                    raise ModelFileError(
                        f"{path.name}: array {name!r} is unreadable ({exc})"
                    ) from None
    except ModelFileError:
        raise
    except zipfile.BadZipFile:
        raise ModelFileError(
            f"{path.name} is not an RBM Studio model (not a zip file, or truncated)"
        ) from None
    except (zipfile.LargeZipFile, EOFError, OSError, KeyError, NotImplementedError) as exc:
        raise ModelFileError(f"{path.name} is damaged or truncated ({exc})") from None
    except Exception as exc:  # zlib.error and friends from a corrupt member
        raise ModelFileError(f"{path.name} is damaged ({type(exc).__name__}: {exc})") from None
    return _build_model(meta, params, path)


def _check_header(meta, path: Path) -> None:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{path.name} is a zip file but not an RBM Studio model")
    version = meta.get("format_version")
    if not isinstance(version, int):
        raise ModelFileError(f"{path.name}: model format version is missing")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path.name} was saved by a newer RBM Studio (model format {version}; this version "
            f"reads up to {FORMAT_VERSION}); please update RBM Studio"
        )
    if not isinstance(meta.get("params"), list):
        raise ModelFileError(f"{path.name}: model metadata lists no arrays")


def _build_model(meta: dict, params: dict[str, np.ndarray], path: Path) -> Model:
    try:
        model = Model(
            kind=str(meta["kind"]),
            params=params,
            config=TrainingConfig.from_dict(meta.get("config", {})),
            encoding=Encoding.from_dict(meta["encoding"]),
            history=list(meta.get("history", [])),
            dataset=dict(meta.get("dataset", {})),
            created=str(meta.get("created", "")),
            window=int(meta.get("window") or 0),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path.name}: model metadata is incomplete ({exc})") from None
    try:
        kind = registry.kind(model.kind)
    except registry.UnknownKindError as exc:
        raise ModelFileError(f"{path.name}: {exc}") from None
    problems = kind.check_params(model.params, model.window)
    if problems:
        raise ModelFileError(f"{path.name}: {problems[0]}")
    model.params = {k: v.astype(np.float32, copy=False) for k, v in model.params.items()}
    return model
