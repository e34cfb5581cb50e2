"""Crafted `.rbmc` corpora, written by the tests: what an attacker, a broken disk or a killed
import hands `train --corpus`. Each is a mutation of a real corpus of the bundled sample songs
(`base`, from `import_corpus`): wrong magic or version, truncations, bit flips, size lies in the
trailer, and every index field made huge, negative, NaN, the wrong type or inconsistent with the
packed rows. `corpus(folder, base)` writes them all and returns name → path.

`WORKS` are the mutations that are still valid corpora (odd but legal facts, flipped bits in the
packed notes): they must open, and (but `OPEN_ONLY`) train to a model that loads. `FORMER_BAD_MODELS` are the ones that
used to train and save a model that `generate` then refused or crashed on.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from pathlib import Path

TRAILER = struct.Struct("<QQ8s")
ROWS_AT = 64


def split(base: bytes) -> tuple[bytes, dict, bytes]:
    """(header + packed rows, index, end marker) of a well-formed corpus."""
    at, length, end = TRAILER.unpack(base[-TRAILER.size :])
    return base[:at], json.loads(base[at : at + length]), end


def join(rows: bytes, index: bytes, end: bytes = b"RBMCEND1") -> bytes:
    return rows + index + TRAILER.pack(len(rows), len(index), end)


def with_index(change: Callable[[dict], object]) -> Callable[[bytes], bytes]:
    """The corpus with its index changed in place by `change` (a consistent trailer)."""

    def make(base: bytes) -> bytes:
        rows, meta, end = split(base)
        result = change(meta)
        meta = meta if result is None else result
        return join(rows, json.dumps(meta).encode(), end)

    return make


def with_index_text(text: bytes | Callable[[bytes], bytes]) -> Callable[[bytes], bytes]:
    """The corpus with its index bytes replaced (a consistent trailer)."""

    def make(base: bytes) -> bytes:
        rows, meta, end = split(base)
        raw = json.dumps(meta).encode()
        return join(rows, text(raw) if callable(text) else text, end)

    return make


def _set(key: str, value: object, song: int | None = None) -> Callable[[bytes], bytes]:
    """Field `key` set to `value`: for one song (`song`), or for every song (`song=-1`
    for a per-song list), or the whole field (`song=None`)."""

    def change(meta: dict) -> None:
        if song is None:
            meta[key] = value
        elif song == -1:
            meta[key] = [value for _ in meta[key]]
        else:
            meta[key][song] = value

    return with_index(change)


def _drop(key: str) -> Callable[[bytes], bytes]:
    def change(meta: dict) -> None:
        del meta[key]

    return with_index(change)


def _encoding(**fields: object) -> Callable[[bytes], bytes]:
    return with_index(lambda meta: meta["encoding"].update(fields))


def _shift_offset(song: int, by: int) -> Callable[[bytes], bytes]:
    def change(meta: dict) -> None:
        meta["offsets"][song] += by

    return with_index(change)


def _swap_offsets(meta: dict) -> None:
    meta["offsets"][1], meta["offsets"][2] = meta["offsets"][2], meta["offsets"][1]


def _lengthen(meta: dict) -> None:
    """Song 1 a step longer and every later song a row later: the last ends past the data."""
    meta["steps"][0] += 1
    meta["offsets"][1:] = [o + 1 for o in meta["offsets"][1:]]


def _huge_song(meta: dict) -> None:
    """The last song 10⁹ steps long (what once asked for 2 GB), rows to match."""
    meta["steps"][-1] = 10**9
    meta["rows"] = meta["offsets"][-1] + 10**9


def _flip(position: float, bit: int, *, region: str) -> Callable[[bytes], bytes]:
    """One bit flipped at a relative `position` of the packed rows or of the index."""

    def make(base: bytes) -> bytes:
        rows, meta, end = split(base)
        index = json.dumps(meta).encode()
        if region == "rows":
            data = bytearray(rows)
            i = ROWS_AT + int(position * (len(rows) - ROWS_AT - 1))
        else:
            data = bytearray(index)
            i = int(position * (len(index) - 1))
        data[i] ^= 1 << bit
        return join(bytes(data), index, end) if region == "rows" else join(rows, bytes(data), end)

    return make


def _flip_after(marker: bytes, skip: int, bit: int) -> Callable[[bytes], bytes]:
    """One bit flipped in the index text `skip` bytes after `marker` (a field's name)."""

    def make(base: bytes) -> bytes:
        rows, meta, end = split(base)
        data = bytearray(json.dumps(meta).encode())
        data[data.index(marker) + len(marker) + skip] ^= 1 << bit
        return join(rows, bytes(data), end)

    return make


def _trailer(at: int | None = None, length: int | None = None, end: bytes | None = None):
    def make(base: bytes) -> bytes:
        a, n, e = TRAILER.unpack(base[-TRAILER.size :])
        trailer = TRAILER.pack(a if at is None else at(a), n if length is None else length(n), e)
        return base[: -TRAILER.size] + (trailer if end is None else trailer[:-8] + end)

    return make


def _rows_cut(count: int) -> Callable[[bytes], bytes]:
    """`count` packed rows removed (negative: rows of zeros added), the trailer made
    consistent: the index now lies about the data it indexes."""

    def make(base: bytes) -> bytes:
        rows, meta, end = split(base)
        row_bytes = meta["row_bytes"]
        cut = rows[: -count * row_bytes] if count > 0 else rows + b"\0" * (-count * row_bytes)
        return join(cut, json.dumps(meta).encode(), end)

    return make


def _oversized_index(base: bytes) -> bytes:
    """A trailer that declares a 40 MiB index, and a file that really is that long."""
    rows, meta, end = split(base)
    index = json.dumps(meta).encode().ljust(40 * 2**20, b" ")
    return join(rows, index, end)


MUTATIONS: dict[str, Callable[[bytes], bytes]] = {
    # whole file, header and trailer
    "empty": lambda b: b"",
    "text": lambda b: b"not a corpus at all, just text\n" * 4,
    "magic-wrong": lambda b: b"XXXXXXXX" + b[8:],
    "magic-other-version": lambda b: b"RBMCORP2" + b[8:],
    "header-padding-garbage": lambda b: b[:8] + b"\x01" + b[9:],
    "only-header": lambda b: b[:ROWS_AT],
    "truncated-in-header": lambda b: b[:40],
    "truncated-half": lambda b: b[: len(b) // 2],
    "truncated-last-byte": lambda b: b[:-1],
    "truncated-in-index": lambda b: b[:-100] + b[-TRAILER.size :],
    "end-marker-wrong": _trailer(end=b"RBMCEND2"),
    "trailer-at-zero": _trailer(at=lambda a: 0),
    "trailer-at-huge": _trailer(at=lambda a: 2**63),
    "trailer-at-inside-rows": _trailer(at=lambda a: a - 20, length=lambda n: n + 20),
    "trailer-length-huge": _trailer(length=lambda n: 2**64 - 1),
    "trailer-length-short": _trailer(length=lambda n: n - 10),
    "index-over-size-limit": _oversized_index,
    "rows-missing-one": _rows_cut(1),
    "rows-missing-many": _rows_cut(500),
    "rows-one-extra": _rows_cut(-1),
    # the index as a whole
    "index-not-json": with_index_text(b"{not json"),
    "index-not-utf8": with_index_text(lambda raw: raw.replace(b'"offsets"', b'"offs\xff\xfes"')),
    "index-a-list": with_index_text(b"[1, 2, 3]"),
    "index-null": with_index_text(b"null"),
    "index-deep-nesting": with_index_text(b"[" * 100_000 + b"]" * 100_000),
    "index-int-4000-digits": with_index(lambda m: m.update(rows=int("9" * 4000))),
    "index-int-5000-digits": with_index_text(
        lambda raw: raw.replace(b'"rows": ', b'"rows": ' + b"9" * 5000 + b', "x": ')
    ),
    "format-2": _set("format", 2),
    "format-string": _set("format", "1"),
    "format-zero": _set("format", 0),
    "format-true": _set("format", True),
    "format-missing": _drop("format"),
    # the rows and their layout
    "rows-lie-plus-one": with_index(lambda m: m.update(rows=m["rows"] + 1)),
    "rows-zero": _set("rows", 0),
    "rows-negative": _set("rows", -9084),
    "rows-huge": _set("rows", 2**70),
    "rows-string": _set("rows", "9084"),
    "row-bytes-19": _set("row_bytes", 19),
    "row-bytes-zero": _set("row_bytes", 0),
    "row-bytes-float": _set("row_bytes", 20.0),
    # offsets: past the end, negative, wrapped, decreasing, the wrong type
    "offset-first-negative": _set("offsets", -1, 0),
    "offset-middle-plus-one": _shift_offset(5, 1),
    "offset-middle-minus-one": _shift_offset(5, -1),
    "offset-last-past-end": _shift_offset(-1, 10_000),
    "offset-past-end-huge": _set("offsets", 2**63 + 5, 3),
    "offsets-decreasing": with_index(_swap_offsets),
    "offsets-strings": with_index(lambda m: m.update(offsets=[str(o) for o in m["offsets"]])),
    "offsets-floats": with_index(lambda m: m.update(offsets=[float(o) for o in m["offsets"]])),
    "offsets-short": with_index(lambda m: m.update(offsets=m["offsets"][:-1])),
    "offsets-empty": _set("offsets", []),
    "offsets-a-dict": _set("offsets", {"0": 0}),
    # lengths
    "steps-zero": _set("steps", 0, 2),
    "steps-negative": _set("steps", -4, 2),
    "steps-billion": with_index(_huge_song),
    "steps-over-import-limit": _set("steps", 100_001, 0),
    "steps-true": _set("steps", True, 0),
    "steps-one-longer": with_index(_lengthen),
    "everything-empty": with_index(
        lambda m: m.update({k: [] for k in ("offsets", "steps", "bpm", "sig", "titles")})
    ),
    # tempo
    "bpm-nan": _set("bpm", float("nan"), -1),
    "bpm-zero": _set("bpm", 0.0, -1),
    "bpm-negative": _set("bpm", -120.0, -1),
    "bpm-1e308": _set("bpm", 1e308, -1),
    "bpm-infinite": _set("bpm", float("inf"), -1),
    "bpm-string": _set("bpm", "fast", 0),
    "bpm-null": _set("bpm", None, 0),
    "bpm-true": _set("bpm", True, 0),
    "bpm-one-millibeat": _set("bpm", 0.001, 0),
    # metre
    "metre-0-0": _set("sig", [0, 0], -1),
    "metre-4-3": _set("sig", [4, 3], -1),
    "metre-4-0": _set("sig", [4, 0], 0),
    "metre-0-4": _set("sig", [0, 4], 0),
    "metre-256-4": _set("sig", [256, 4], 0),
    "metre-4-128": _set("sig", [4, 128], 0),
    "metre-one-number": _set("sig", [4], 0),
    "metre-string": _set("sig", "4/4", 0),
    "metre-floats": _set("sig", [4.0, 4], 0),
    "metre-true": _set("sig", [True, 4], 0),
    # encoding and pitch span
    "encoding-grid-zero": _encoding(steps_per_beat=0),
    "encoding-grid-97": _encoding(steps_per_beat=97),
    "encoding-grid-string": _encoding(steps_per_beat="4"),
    "encoding-grid-fraction": _encoding(steps_per_beat=4.5),
    "encoding-low-above-high": _encoding(low=101, high=24),
    "encoding-high-200": _encoding(high=200),
    "encoding-span-8-fold": _encoding(low=24, high=31),
    "encoding-policy-bogus": _encoding(out_of_range="bogus"),
    "encoding-missing": _drop("encoding"),
    "encoding-a-list": _set("encoding", [4, 24, 101]),
    "encoding-wider-same-rows": _encoding(low=0, high=127),
    # the other song facts
    "titles-a-number": _set("titles", 123, 0),
    "paths-null": _set("paths", None, 0),
    "notes-negative": _set("notes", -1, 0),
    "notes-string": _set("notes", "many", 0),
    "keep-drums-string": _set("keep_drums", "yes"),
    "skipped-a-string": _set("skipped", "none"),
    "skipped-bad-pairs": _set("skipped", [["a.mid"]]),
    # bit flips in the index, each in a different field (found by name, so the fields' places in
    # the index text may move without the flips drifting into free-text fields)
    "bitflip-index-format": _flip_after(b'"format": ', 0, 1),
    "bitflip-index-row-bytes": _flip_after(b'"row_bytes": ', 0, 0),
    "bitflip-index-rows": _flip_after(b'"rows": ', 0, 0),
    "bitflip-index-offsets": _flip_after(b'"offsets": [', 8, 0),
    "bitflip-index-steps": _flip_after(b'"steps": [', 0, 2),
    "bitflip-index-title": _flip_after(b'"titles": ["', 2, 0),
    # still valid: odd but legal facts, and flipped bits in the packed notes
    "ok-encoding-narrower-same-rows": _encoding(low=25, high=101),
    "ok-encoding-drop": _encoding(out_of_range="drop"),
    "ok-bpm-slowest": _set("bpm", 1.0, -1),
    "ok-bpm-fastest": _set("bpm", 60_000_000.0, -1),
    "ok-metre-255-64": _set("sig", [255, 64], -1),
    "ok-metre-7-8": _set("sig", [7, 8], -1),
    "ok-title-megabyte": _set("titles", "Ω\n\x00" * 350_000, 0),
    "ok-bitflip-rows-10": _flip(0.10, 0, region="rows"),
    "ok-bitflip-rows-50": _flip(0.50, 5, region="rows"),
    "ok-bitflip-rows-90": _flip(0.90, 7, region="rows"),
}

WORKS = {name for name in MUTATIONS if name.startswith("ok-")}
# valid, but models of other shapes than the rest: compiling them would double the test's time
OPEN_ONLY = {"ok-encoding-narrower-same-rows"}
FORMER_BAD_MODELS = (
    *("bpm-nan", "bpm-zero", "bpm-negative", "bpm-1e308", "bpm-infinite"),
    *("metre-0-0", "metre-4-3"),
)


def corpus(folder: Path, base: bytes) -> dict[str, Path]:
    """Write every mutation of `base` into `folder` as NAME.rbmc."""
    out = {}
    for name, make in MUTATIONS.items():
        path = folder / f"{name}.rbmc"
        path.write_bytes(make(base))
        out[name] = path
    return out
