"""The `.rbm` model file: a zip of `.npy` arrays plus `metadata.json`.

A model file is untrusted input (someone may send you one). No pickle anywhere (arrays load with
`allow_pickle=False`), so opening it cannot run code; nothing is read whole on trust: the
metadata is capped and checked against one schema (`_SCHEMA` below: each field's type and range,
the training settings by `registry.check_config`), and every array's `.npy` header is read first
and checked against the model's kind, a global size cap and its zip entry before its data is
read. Anything that is not a model we can read raises `ModelFileError` with a one-line reason;
that includes non-finite weights. Writes are atomic (`platform.files.atomic_write`), and a model
is saved only after its bytes pass these same checks, so a model file that saves always loads.
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..music.encoding import Encoding, encoding_problem
from ..music.song import metre_problem, tempo_problem
from ..platform import files
from . import registry
from .config import TrainingConfig
from .document import Model

FORMAT_NAME = "rbm-studio-model"
FORMAT_VERSION = 1
METADATA = "metadata.json"
PARAMS_DIR = "params/"
# Limits for an untrusted file. The history of a long run is about 100 bytes an epoch.
MAX_METADATA_BYTES = 16 * 2**20
MAX_PARAM_BYTES = 2**30  # all arrays together, as declared by their headers
MAX_ARRAYS = 64
MAX_MEMBERS = 1024
MAX_NPY_HEADER = 10_000
# Trained weights barely compress; arrays this large that compress this well are a zip bomb.
BOMB_MIN_BYTES = 16 * 2**20
BOMB_RATIO = 50
MAX_WINDOW = 4096
_PARAM_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")


class ModelFileError(Exception):
    """The file is not a model this version can read; the message says why in one line."""


def save_model(model: Model, path: str | Path) -> Path:
    """Write `model` to `path` atomically and return the file written. The file is built in
    memory and read back by `load_model`'s own checks first, so a model that saves always loads:
    one that would not (metadata outside the schema, say) raises `ModelFileError` and nothing is
    written. A failed write raises `files.WriteError` (one line)."""
    data = model_bytes(model)
    name = Path(path).name
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            meta, params = _read(zf, name)
        _build_model(meta, params, name)
    except ModelFileError as exc:
        raise ModelFileError(f"not saved: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:  # a check that should have said why
        raise ModelFileError(f"not saved: {name} would not load ({exc})") from None
    return files.atomic_write_bytes(path, data)


def model_bytes(model: Model) -> bytes:
    """The `.rbm` file's bytes for `model` (unchecked: `save_model` checks them)."""
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
    text = json.dumps(meta, indent=1, default=_json_default)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(METADATA, text)
        for name, array in model.params.items():
            npy = io.BytesIO()
            np.save(npy, np.ascontiguousarray(array), allow_pickle=False)
            zf.writestr(f"{PARAMS_DIR}{name}.npy", npy.getvalue())
    return buf.getvalue()


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in model metadata")


# ---------------------------------------------------------------------------------------------
# Reading


def load_model(path: str | Path) -> Model:
    """Read a `.rbm` file; raises `ModelFileError` for anything that is not a readable model."""
    path = Path(path)
    try:
        fh = files.open_regular(path)
    except FileNotFoundError:
        raise ModelFileError(f"{path.name}: no such model file") from None
    except IsADirectoryError:
        raise ModelFileError(f"{path.name}: is a folder, not a model file") from None
    except OSError as exc:
        raise ModelFileError(f"{path.name}: cannot open ({files.reason(exc)})") from None
    try:
        with fh, zipfile.ZipFile(fh) as zf:
            meta, params = _read(zf, path.name)
    except ModelFileError:
        raise
    except zipfile.BadZipFile:
        raise ModelFileError(
            f"{path.name} is not an RBM Studio model (not a zip file, or truncated)"
        ) from None
    except (zipfile.LargeZipFile, EOFError, OSError, KeyError, NotImplementedError) as exc:
        raise ModelFileError(f"{path.name} is damaged or truncated ({exc})") from None
    except MemoryError:
        raise ModelFileError(f"{path.name}: not enough memory to open this model") from None
    except Exception as exc:  # zlib.error and friends from a corrupt member
        raise ModelFileError(f"{path.name} is damaged ({type(exc).__name__}: {exc})") from None
    return _build_model(meta, params, path.name)


def _read(zf: zipfile.ZipFile, name: str) -> tuple[dict, dict[str, np.ndarray]]:
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ModelFileError(f"{name}: not an RBM Studio model ({len(infos)} entries)")
    by_name = {i.filename: i for i in infos}
    if METADATA not in by_name:
        raise ModelFileError(f"{name} is a zip file but not an RBM Studio model")
    if by_name[METADATA].file_size > MAX_METADATA_BYTES:
        raise ModelFileError(f"{name}: model metadata is implausibly large")
    with zf.open(METADATA) as fh:
        raw = fh.read(MAX_METADATA_BYTES + 1)
    if len(raw) > MAX_METADATA_BYTES:
        raise ModelFileError(f"{name}: model metadata is implausibly large")
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelFileError(f"{name}: model metadata is unreadable ({reason})") from None
    problem = check_metadata(meta)
    if problem:
        raise ModelFileError(f"{name}: {problem}")
    headers = _array_headers(zf, by_name, meta, name)
    _check_declared(meta, headers, name)
    params = {}
    for key, (info, _shape, _dtype) in headers.items():
        with zf.open(info) as fh:
            array = np.lib.format.read_array(fh, allow_pickle=False, max_header_size=MAX_NPY_HEADER)
        if array.dtype.kind in "fc" and not np.isfinite(array).all():
            raise ModelFileError(f"{name}: array {key!r} holds NaN or infinite values")
        params[key] = array.astype(np.float32, copy=False)
    return meta, params


def _array_headers(
    zf: zipfile.ZipFile, by_name: dict[str, zipfile.ZipInfo], meta: dict, name: str
) -> dict[str, tuple[zipfile.ZipInfo, tuple[int, ...], np.dtype]]:
    """Each listed array's zip entry, shape and dtype, from its `.npy` header only."""
    out = {}
    total = 0
    for key in meta["params"]:
        member = f"{PARAMS_DIR}{key}.npy"
        info = by_name.get(member)
        if info is None:
            raise ModelFileError(f"{name}: array {key!r} is missing")
        with zf.open(info) as fh:
            try:
                version = np.lib.format.read_magic(fh)
                if version == (1, 0):
                    header = np.lib.format.read_array_header_1_0(fh, MAX_NPY_HEADER)
                elif version in ((2, 0), (3, 0)):
                    header = np.lib.format.read_array_header_2_0(fh, MAX_NPY_HEADER)
                else:
                    raise ValueError(f"unknown .npy version {version}")
            except (ValueError, SyntaxError, TypeError) as exc:
                reason = str(exc).splitlines()[0] if str(exc) else "bad header"
                raise ModelFileError(f"{name}: array {key!r} is unreadable ({reason})") from None
            offset = fh.tell()
        shape, _fortran, dtype = header
        if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
            raise ModelFileError(f"{name}: array {key!r} is not numeric ({dtype})")
        if dtype.kind not in "fiub" or dtype.itemsize > 8:
            raise ModelFileError(f"{name}: array {key!r} has type {dtype}, not numbers")
        if any(d < 1 for d in shape):
            raise ModelFileError(f"{name}: array {key!r} is empty (shape {shape})")
        nbytes = math.prod(shape) * dtype.itemsize
        total += nbytes
        if total > MAX_PARAM_BYTES:
            raise ModelFileError(
                f"{name}: arrays declare more than {MAX_PARAM_BYTES // 2**20} MiB; not opened"
            )
        if info.file_size != offset + nbytes:
            raise ModelFileError(f"{name}: array {key!r} does not match its zip entry size")
        out[key] = (info, tuple(int(d) for d in shape), dtype)
    declared = sum(i.file_size for i, _s, _d in out.values())
    packed = sum(i.compress_size for i, _s, _d in out.values())
    if declared > BOMB_MIN_BYTES and declared > BOMB_RATIO * max(packed, 1):
        raise ModelFileError(
            f"{name}: arrays expand {declared // max(packed, 1)}× (a zip bomb?); not opened"
        )
    return out


def _window(meta: dict) -> int:
    """The stored window, else the settings' (files that predate the field)."""
    if meta.get("window"):
        return int(meta["window"])
    return TrainingConfig.from_dict(meta.get("config", {})).effective_window


def _check_declared(meta: dict, headers: dict, name: str) -> None:
    """The arrays' shapes against the kind and the metadata, before any data is read."""
    stubs = {
        k: np.broadcast_to(np.zeros((), dtype), shape) for k, (_i, shape, dtype) in headers.items()
    }
    try:
        kind = registry.kind(meta["kind"])
    except registry.UnknownKindError as exc:
        raise ModelFileError(f"{name}: {exc}") from None
    window = _window(meta)
    problems = kind.check_params(stubs, window)
    if problems:
        raise ModelFileError(f"{name}: {problems[0]}")
    if "W" not in stubs and (meta.get("n_visible") is None or meta.get("n_hidden") is None):
        raise ModelFileError(f"{name}: a model without 'W' must give n_visible and n_hidden")
    if "W" in stubs:
        shape = stubs["W"].shape
        if len(shape) != 2:
            raise ModelFileError(f"{name}: array 'W' is not a matrix")
        for key, size in (("n_visible", shape[0]), ("n_hidden", shape[1])):
            if meta.get(key) is not None and meta[key] != size:
                raise ModelFileError(f"{name}: {key} is {meta[key]} but 'W' has {size}")
        enc = Encoding.from_dict(meta["encoding"])
        if shape[0] % window or shape[0] // window not in (enc.span, enc.width):
            raise ModelFileError(
                f"{name}: {shape[0]} visible units do not fit window {window} of "
                f"{enc.low}..{enc.high}"
            )


def _build_model(meta: dict, params: dict[str, np.ndarray], name: str) -> Model:
    try:
        return Model(
            kind=meta["kind"],
            params=params,
            config=TrainingConfig.from_dict(meta.get("config", {})),
            encoding=Encoding.from_dict(meta["encoding"]),
            history=[dict(h) for h in meta.get("history", [])],
            dataset=dict(meta.get("dataset", {})),
            created=meta.get("created", ""),
            window=_window(meta),
            units=None if "W" in params else (meta["n_visible"], meta["n_hidden"]),
        )
    except (KeyError, TypeError, ValueError) as exc:  # the schema should have caught it
        raise ModelFileError(f"{name}: model metadata is incomplete ({exc})") from None


# ---------------------------------------------------------------------------------------------
# The metadata schema: one place that says what each field may hold


def _int(lo: int, hi: int) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        if isinstance(v, bool) or not isinstance(v, int):
            return f"must be a whole number, not {_show(v)}"
        return None if lo <= v <= hi else f"must be between {lo} and {hi}, not {v}"

    return check


def _number(v: Any, *, finite: bool = True) -> str | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return f"must be a number, not {_show(v)}"
    if finite and not math.isfinite(v):
        return f"must be finite, not {v}"
    return None


def _typed(*types: type) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        ok = isinstance(v, types) and not (isinstance(v, bool) and bool not in types)
        return None if ok else f"must be {'/'.join(t.__name__ for t in types)}, not {_show(v)}"

    return check


def _show(v: Any) -> str:
    text = json.dumps(v) if isinstance(v, (str, int, float, bool, type(None))) else type(v).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def _check_format(meta: dict) -> str | None:
    if meta.get("format") != FORMAT_NAME:
        return "a zip file but not an RBM Studio model"
    version = meta.get("format_version")
    if version is None:
        return "model format version is missing"
    if isinstance(version, bool) or not isinstance(version, int):
        shown = repr(version) if len(repr(version)) <= 40 else type(version).__name__
        return f"model format version must be a whole number, not {shown}"
    if version > FORMAT_VERSION:
        return (
            f"saved by a newer RBM Studio (model format {version}; this version reads up to "
            f"{FORMAT_VERSION}); please update RBM Studio"
        )
    return None


def _check_encoding(v: Any) -> str | None:
    return encoding_problem(v)


def _check_params_list(v: Any) -> str | None:
    if not isinstance(v, list) or not v:
        return "must list the model's arrays"
    if len(v) > MAX_ARRAYS:
        return f"lists {len(v)} arrays (at most {MAX_ARRAYS})"
    if len(set(map(str, v))) != len(v):
        return "lists an array twice"
    for item in v:
        if not isinstance(item, str) or not _PARAM_NAME.fullmatch(item):
            return f"has a bad array name {_show(item)}"
    return None


_SCALAR = (str, int, float, bool, type(None))
_HISTORY_NUMBERS = ("recon_error", "free_energy_gap", "held_out", "elapsed")


def _check_history(v: Any) -> str | None:
    if not isinstance(v, list):
        return f"must be a list, not {_show(v)}"
    for i, record in enumerate(v):
        if not isinstance(record, dict):
            return f"record {i} must be an object"
        problem = _int(0, 10**9)(record.get("epoch"))
        if problem:
            return f"record {i}: epoch {problem}"
        for key, value in record.items():
            if not isinstance(value, _SCALAR):
                return f"record {i}: {key} must be a plain value"
            if key in _HISTORY_NUMBERS and value is not None and _number(value, finite=False):
                return f"record {i}: {key} {_number(value, finite=False)}"
    return None


def _check_dataset(v: Any) -> str | None:
    if not isinstance(v, dict):
        return f"must be an object, not {_show(v)}"
    sig = v.get("time_signature")
    if sig is not None:
        parts = sig.split("/") if isinstance(sig, str) else []
        if (
            len(parts) != 2
            or not all(p.isascii() and p.isdigit() and len(p) <= 4 for p in parts)
            or metre_problem(*(int(p) for p in parts))
        ):
            return f"time_signature {_show(sig)} is not a metre like 3/4"
    if "data_encoding" in v:
        problem = _check_encoding(v["data_encoding"])
        if problem:
            return f"data_encoding {problem}"
    if "bpm" in v and tempo_problem(v["bpm"]):
        return f"bpm: {tempo_problem(v['bpm'])}"
    shifts = v.get("key_shifts")
    if shifts is not None and (
        not isinstance(shifts, list)
        or len(shifts) > 100_000
        or not all(
            isinstance(x, int) and not isinstance(x, bool) and -11 <= x <= 11 for x in shifts
        )
    ):
        return "key_shifts must be a list of semitone shifts between -11 and 11"
    if "form" in v:
        from ..music.form import form_problem

        problem = form_problem(v["form"])
        if problem:
            return f"form {problem}"
    if "dynamics" in v:
        from ..music.dynamics import dynamics_problem

        problem = dynamics_problem(v["dynamics"])
        if problem:
            return f"dynamics {problem}"
    return None


_CONFIG_TYPES: dict[str, Callable[[Any], str | None]] = {
    "int": _typed(int),
    "float": lambda v: _number(v),
    "bool": _typed(bool),
    "str": _typed(str),
    "dict": _typed(dict),
}


def _check_config(v: Any) -> str | None:
    """Each known setting has its field's type (unknown keys are a newer version's: ignored),
    the kind's own knobs are plain values, and the values pass the kind's own checks."""
    if not isinstance(v, dict):
        return f"must be an object, not {_show(v)}"
    from dataclasses import fields

    for f in fields(TrainingConfig):
        if f.name not in v:
            continue
        value = v[f.name]
        kinds = [k.strip() for k in str(f.type).split("|")]
        if "None" in kinds and value is None:
            continue
        problems = [_CONFIG_TYPES[k](value) for k in kinds if k in _CONFIG_TYPES]
        if problems and all(problems):
            return f"{f.name} {problems[0]}"
    extra = v.get("extra", {})
    for key, value in extra.items():
        if not isinstance(value, _SCALAR) or (
            isinstance(value, float) and not math.isfinite(value)
        ):
            return f"{key} must be a plain finite value"
    config = TrainingConfig.from_dict(v)
    if config.model not in registry.KINDS:
        return None  # settings of a kind this version lacks; the kind check says so
    problems = registry.check_config(config)
    return problems[0].rstrip(".") if problems else None


_SCHEMA: dict[str, tuple[bool, Callable[[Any], str | None]]] = {
    # field: (required, check)
    "kind": (True, _typed(str)),
    "encoding": (True, _check_encoding),
    "params": (True, _check_params_list),
    "window": (False, lambda v: None if v in (None, 0) else _int(1, MAX_WINDOW)(v)),
    "n_visible": (False, lambda v: None if v is None else _int(1, 2**31)(v)),
    "n_hidden": (False, lambda v: None if v is None else _int(1, 2**31)(v)),
    "config": (False, _check_config),
    "history": (False, _check_history),
    "dataset": (False, _check_dataset),
    "created": (False, _typed(str)),
}


def check_metadata(meta: Any) -> str | None:
    """The first problem with a model file's metadata (one line), or None when it is usable."""
    if not isinstance(meta, dict):
        return "a zip file but not an RBM Studio model"
    problem = _check_format(meta)
    if problem:
        return problem
    for key, (required, check) in _SCHEMA.items():
        if key not in meta:
            if required:
                return f"model metadata has no {key!r}"
            continue
        problem = check(meta[key])
        if problem:
            return f"model metadata: {key} {problem}"
    try:
        window = _window(meta)
    except (TypeError, ValueError) as exc:
        return f"model metadata: window unusable ({exc})"
    if not 1 <= window <= MAX_WINDOW:
        return f"model metadata: window {window} is not between 1 and {MAX_WINDOW}"
    return None
