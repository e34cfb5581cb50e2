"""A corpus of crafted `.rbm` files, written by the tests: what an attacker or a broken disk hands
the app. Every file is built by hand from a tiny valid RBM (window 3, MIDI 60..71, V=72, H=5);
`corpus(folder)` writes them all and returns name → path. `MARKER` is the file a pickled payload
would create if anything ever unpickled it.
"""

from __future__ import annotations

import copy
import io
import json
import os
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

MARKER = "PWNED"  # created next to the corpus by the pickled payload, if it ever runs

V, H, WINDOW = 72, 5, 3


def base_meta() -> dict:
    return {
        "format": "rbm-studio-model",
        "format_version": 1,
        "kind": "rbm",
        "encoding": {"steps_per_beat": 4, "low": 60, "high": 71, "out_of_range": "fold"},
        "window": WINDOW,
        "n_visible": V,
        "n_hidden": H,
        "config": {"model": "rbm", "hidden": H, "window": WINDOW, "stride": 1, "epochs": 3},
        "history": [{"epoch": 1, "recon_error": 0.1, "free_energy_gap": None, "elapsed": 0.5}],
        "dataset": {"songs": 1, "time_signature": "4/4", "bpm": 120.0},
        "created": "2024-01-01T00:00:00+00:00",
        "params": ["W", "hbias", "vbias"],
    }


def base_params() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "W": (0.01 * rng.normal(size=(V, H))).astype(np.float32),
        "vbias": np.full(V, -2.0, np.float32),
        "hbias": np.zeros(H, np.float32),
    }


def npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def npy_header(descr: str, shape: tuple, data: bytes = b"") -> bytes:
    """A `.npy` whose header says anything, followed by whatever bytes we like."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": descr, "fortran_order": False, "shape": shape}
    )
    return buf.getvalue() + data


class _Payload:
    """Unpickling this creates MARKER: proof that something ran code from the file."""

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def __reduce__(self):
        return (open, (os.path.join(self.folder, MARKER), "w"))


def pickled_npy(folder: Path) -> bytes:
    import pickle

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "|O", "fortran_order": False, "shape": (H,)}
    )
    pickle.dump(np.array([_Payload(str(folder))] * H, dtype=object), buf, protocol=3)
    return buf.getvalue()


def zip_bytes(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def model_bytes(meta: dict | None = None, params: dict[str, bytes] | None = None) -> bytes:
    meta = base_meta() if meta is None else meta
    members = {"metadata.json": json.dumps(meta).encode()}
    arrays = params if params is not None else {k: npy(v) for k, v in base_params().items()}
    members.update({f"params/{k}.npy": v for k, v in arrays.items()})
    return zip_bytes(members)


def with_meta(change: Callable[[dict], object]) -> bytes:
    meta = copy.deepcopy(base_meta())
    change(meta)
    return model_bytes(meta)


def with_array(name: str, data: bytes) -> bytes:
    arrays = {k: npy(v) for k, v in base_params().items()}
    arrays[name] = data
    return model_bytes(params=arrays)


def _raw_zip(path: Path, members: list[tuple[str, bytes | list[bytes], int, int]]) -> None:
    """Write a zip by hand from already-deflated members: (name, deflate chunks, crc32, size)."""
    import struct

    central = b""
    with open(path, "wb") as fh:
        for name, chunks, crc, size in members:
            chunks = [chunks] if isinstance(chunks, bytes) else chunks
            packed = sum(len(c) for c in chunks)
            offset = fh.tell()
            raw = name.encode()
            fields = struct.pack("<HHHHHIIIHH", 20, 0, 8, 0, 0x21, crc, packed, size, len(raw), 0)
            fh.write(b"PK\x03\x04" + fields + raw)
            for chunk in chunks:
                fh.write(chunk)
            central += (
                b"PK\x01\x02"
                + struct.pack("<H", 20)
                + fields
                + struct.pack("<HHHII", 0, 0, 0, 0, offset)
                + raw
            )
        start = fh.tell()
        fh.write(central)
        fh.write(
            struct.pack(
                "<4sHHHHIIH", b"PK\x05\x06", 0, 0, *[len(members)] * 2, len(central), start, 0
            )
        )


def _deflated(data: bytes) -> tuple[bytes, int, int]:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(), zlib.crc32(data), len(data)


def _bomb(path: Path, window: int, hidden: int) -> None:
    """A consistent model (every field agrees) whose W, `window` × 24 × `hidden` float32 zeros,
    deflates to almost nothing: one deflated block of zeros repeated (each block is flushed on
    its own, so copies of it make a valid stream)."""
    meta = base_meta()
    visible = window * V // WINDOW
    meta.update(window=window, n_visible=visible, n_hidden=hidden)
    meta["config"].update(window=window, hidden=hidden)
    header = npy_header("<f4", (visible, hidden))
    zeros = bytes(2**22)
    left = visible * hidden * 4
    count, rest = divmod(left, len(zeros))

    def block(data: bytes) -> bytes:
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        return c.compress(data) + c.flush(zlib.Z_FULL_FLUSH)

    chunks = [block(header)] + [block(zeros)] * count + [block(bytes(rest))]
    chunks.append(zlib.compressobj(6, zlib.DEFLATED, -15).flush())  # the final, empty block
    crc = zlib.crc32(header)
    for _ in range(count):
        crc = zlib.crc32(zeros, crc)
    crc = zlib.crc32(bytes(rest), crc)
    _raw_zip(
        path,
        [
            ("metadata.json", *_deflated(json.dumps(meta).encode())),
            ("params/vbias.npy", *_deflated(npy(np.zeros(visible, np.float32)))),
            ("params/hbias.npy", *_deflated(npy(np.zeros(hidden, np.float32)))),
            ("params/W.npy", chunks, crc, len(header) + left),
        ],
    )


def _metadata_bomb(path: Path, *, lie: bool = False) -> None:
    """metadata.json of 64 MiB of spaces in a small file; `lie`: its zip entry claims 100 bytes."""
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    head, spaces, tail = b'{"format": "rbm-studio-model", "pad": "', b" " * 2**22, b'"}'
    block = c.compress(spaces) + c.flush(zlib.Z_FULL_FLUSH)
    chunks = [c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)] + [block] * 16
    chunks.append(c.compress(tail) + c.flush())
    crc = zlib.crc32(head)
    for _ in range(16):
        crc = zlib.crc32(spaces, crc)
    crc = zlib.crc32(tail, crc)
    size = 100 if lie else len(head) + 16 * len(spaces) + len(tail)
    _raw_zip(path, [("metadata.json", chunks, crc, size)])


def _many_members(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("metadata.json", json.dumps(base_meta()))
        for i in range(3000):
            zf.writestr(f"params/x{i}.npy", b"")


# Metadata edits: (name, change). Each breaks one field in one way.
def _set(*keys_value):
    *keys, value = keys_value

    def change(meta: dict) -> None:
        target = meta
        for k in keys[:-1]:
            target = target[k]
        target[keys[-1]] = value

    return change


def _drop(*keys):
    def change(meta: dict) -> None:
        target = meta
        for k in keys[:-1]:
            target = target[k]
        target.pop(keys[-1])

    return change


BAD_METADATA: dict[str, Callable[[dict], object]] = {
    "meta-format-missing": _drop("format"),
    "meta-format-wrong": _set("format", "zip"),
    "meta-version-string": _set("format_version", "1"),
    "meta-version-future": _set("format_version", 99),
    "meta-kind-int": _set("kind", 7),
    "meta-kind-unknown": _set("kind", "gan"),
    "meta-kind-missing": _drop("kind"),
    "meta-encoding-string": _set("encoding", "default"),
    "meta-encoding-low-str": _set("encoding", "low", "60"),
    "meta-encoding-low-neg": _set("encoding", "low", -5),
    "meta-encoding-high-big": _set("encoding", "high", 10**30),
    "meta-encoding-spb-zero": _set("encoding", "steps_per_beat", 0),
    "meta-encoding-oor": _set("encoding", "out_of_range", "wrap"),
    "meta-encoding-missing": _drop("encoding"),
    "meta-window-zero-config-zero": lambda m: (m.update(window=0), m["config"].update(window=0)),
    "meta-window-null-config-null": lambda m: (
        m.update(window=None),
        m["config"].update(window=None),
    ),
    "meta-window-str": _set("window", "3"),
    "meta-window-float": _set("window", 3.5),
    "meta-window-huge": _set("window", 10**9),
    "meta-window-4": _set("window", 4),
    "meta-nvisible-wrong": _set("n_visible", 73),
    "meta-nhidden-str": _set("n_hidden", "5"),
    "meta-config-list": _set("config", [1, 2]),
    "meta-config-string": _set("config", "hidden=5"),
    "meta-config-hidden-str": _set("config", "hidden", "many"),
    "meta-config-hidden-zero": _set("config", "hidden", 0),
    "meta-config-lr-nan": _set("config", "learning_rate", float("nan")),
    "meta-config-wd-inf": _set("config", "weight_decay", float("inf")),
    "meta-config-stride-list": _set("config", "stride", [1]),
    "meta-config-extra-list": _set("config", "extra", [1]),
    "meta-config-extra-nested": _set("config", "extra", {"k": {"a": 1}}),
    "meta-config-bool-str": _set("config", "pcd", "yes"),
    "meta-history-dict": _set("history", {"epoch": 1}),
    "meta-history-records-str": _set("history", ["epoch 1"]),
    "meta-history-epoch-str": _set("history", [{"epoch": "one", "recon_error": 0.1}]),
    "meta-history-epoch-missing": _set("history", [{"recon_error": 0.1}]),
    "meta-history-error-str": _set("history", [{"epoch": 1, "recon_error": "low"}]),
    "meta-history-error-list": _set("history", [{"epoch": 1, "recon_error": [1]}]),
    "meta-dataset-list": _set("dataset", [1]),
    "meta-dataset-metre-zero": _set("dataset", "time_signature", "0/0"),
    "meta-dataset-metre-odd": _set("dataset", "time_signature", "3/5"),
    "meta-dataset-metre-int": _set("dataset", "time_signature", 34),
    "meta-dataset-data-encoding": _set("dataset", "data_encoding", {"low": 3}),
    "meta-dataset-bpm-str": _set("dataset", "bpm", "fast"),
    "meta-created-int": _set("created", 5),
    "meta-params-missing": _drop("params"),
    "meta-params-string": _set("params", "W"),
    "meta-params-empty": _set("params", []),
    "meta-params-traversal": _set("params", ["W", "hbias", "vbias", "../../../etc/passwd"]),
    "meta-params-absolute": _set("params", ["/etc/passwd"]),
    "meta-params-duplicate": _set("params", ["W", "W", "hbias", "vbias"]),
    "meta-params-int": _set("params", [1, 2]),
    "meta-params-missing-array": _set("params", ["W", "hbias", "vbias", "extra"]),
}

# Files that are fine, if unusual: they must load and work.
WORKS = {
    "ok-plain",
    "ok-int-weights",
    "ok-float16",
    "ok-big-endian-f8",
    "ok-window-null-uses-config",
    "ok-fortran-order",
    "ok-unknown-meta-keys",
    "zip-stored-not-deflated",
    "zip-traversal-member",  # the stray members are never read, let alone extracted
}


def corpus(folder: Path) -> dict[str, Path]:
    """Write every crafted file into `folder`; returns name → path."""
    folder.mkdir(parents=True, exist_ok=True)
    data: dict[str, bytes] = {}
    p = base_params()
    data["ok-plain"] = model_bytes()
    data["ok-int-weights"] = with_array("W", npy(np.round(p["W"] * 100).astype(np.int32)))
    data["ok-float16"] = with_array("W", npy(p["W"].astype(np.float16)))
    data["ok-big-endian-f8"] = with_array("W", npy(p["W"].astype(">f8")))
    data["ok-fortran-order"] = with_array("W", npy(np.asfortranarray(p["W"])))
    data["ok-window-null-uses-config"] = with_meta(_set("window", None))
    data["ok-unknown-meta-keys"] = with_meta(lambda m: m.update(future={"x": [1, 2]}))
    for name, change in BAD_METADATA.items():
        data[name] = with_meta(change)
    # arrays
    data["array-pickled"] = with_array("hbias", pickled_npy(folder))
    data["array-structured"] = with_array("hbias", npy(np.zeros(H, [("a", "<f4"), ("b", "<i4")])))
    data["array-unicode"] = with_array("hbias", npy(np.array(["x"] * H)))
    data["array-bytes"] = with_array("hbias", npy(np.array([b"x"] * H)))
    data["array-complex"] = with_array("hbias", npy(np.zeros(H, np.complex64)))
    data["array-datetime"] = with_array("hbias", npy(np.zeros(H, "datetime64[s]")))
    data["array-nan"] = with_array("W", npy(np.full((V, H), np.nan, np.float32)))
    data["array-inf"] = with_array("vbias", npy(np.full(V, np.inf, np.float32)))
    data["array-one-nan"] = with_array(
        "W", npy(np.where(np.arange(V * H).reshape(V, H) == 7, np.nan, p["W"]).astype(np.float32))
    )
    data["array-wrong-shape"] = with_array("W", npy(np.zeros((V + 1, H), np.float32)))
    data["array-3d"] = with_array("W", npy(np.zeros((V, H, 1), np.float32)))
    data["array-scalar"] = with_array("hbias", npy(np.float32(1.0)))
    data["array-empty"] = with_array("W", npy(np.zeros((0, H), np.float32)))
    data["array-huge-shape"] = with_array("W", npy_header("<f4", (10**6, 10**6)))
    data["array-huge-shape-overflow"] = with_array("W", npy_header("<f8", (2**62, 2**62)))
    data["array-truncated-data"] = with_array("W", npy_header("<f4", (V, H), b"\0" * 40))
    data["array-extra-data"] = with_array("hbias", npy(p["hbias"]) + b"\0" * 4096)
    data["array-bad-header"] = with_array(
        "W", b"\x93NUMPY\x01\x00\x20\x00{'descr': os.system}   \n"
    )
    data["array-header-huge"] = with_array("W", b"\x93NUMPY\x02\x00\xff\xff\xff\x7f" + b" " * 64)
    data["array-not-npy"] = with_array("W", b"PK\x03\x04 not an array")
    # metadata
    data["metadata-not-json"] = zip_bytes({"metadata.json": b"{not json"})
    data["metadata-not-utf8"] = zip_bytes({"metadata.json": b"\xff\xfe\x00{"})
    data["metadata-deep"] = zip_bytes({"metadata.json": b"[" * 200_000 + b"]" * 200_000})
    data["metadata-list"] = zip_bytes({"metadata.json": b"[1, 2]"})
    data["metadata-nan-literal"] = model_bytes(params=None).replace(b"0.1", b"NaN", 1)
    data["metadata-missing"] = zip_bytes({"params/W.npy": npy(p["W"])})
    # the zip itself
    data["zip-traversal-member"] = zip_bytes(
        {
            "metadata.json": json.dumps(
                {**base_meta(), "params": ["W", "hbias", "vbias"]}
            ).encode(),
            "../../evil.npy": npy(p["W"]),
            "/abs/evil.npy": npy(p["W"]),
            **{f"params/{k}.npy": npy(v) for k, v in p.items()},
        }
    )
    data["zip-stored-not-deflated"] = zip_bytes(
        {"metadata.json": json.dumps(base_meta()).encode()}
        | {f"params/{k}.npy": npy(v) for k, v in p.items()},
        zipfile.ZIP_STORED,
    )
    good = model_bytes()
    data["zip-truncated"] = good[: len(good) // 2]
    data["zip-flipped-bytes"] = good[:200] + bytes(b ^ 0xFF for b in good[200:400]) + good[400:]
    data["not-a-zip"] = b"MThd\x00\x00\x00\x06" + b"\x00" * 64
    data["empty-file"] = b""
    out = {}
    for name, blob in data.items():
        path = folder / f"{name}.rbm"
        path.write_bytes(blob)
        out[name] = path
    for name, build in (
        ("bomb-weights-864mb", lambda p: _bomb(p, 3000, 3000)),  # a file of under 1 MB
        ("bomb-weights-29mb", lambda p: _bomb(p, WINDOW, 100_000)),
        ("bomb-metadata", _metadata_bomb),
        ("bomb-metadata-lying-size", lambda p: _metadata_bomb(p, lie=True)),
        ("zip-many-members", _many_members),
    ):
        path = folder / f"{name}.rbm"
        build(path)
        out[name] = path
    return out
