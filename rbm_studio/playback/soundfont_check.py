"""Check a SoundFont's whole structure before TinySoundFont sees a byte of it.

TinySoundFont's loader (`tsf_load` in `tsf.h`) trusts the file: it follows bag, generator,
instrument and sample indices without bounds checks, walks `for (p = first; p != last; p++)` over
index ranges that a decreasing index turns into runs through the whole address space, reads
records past a short file into uninitialised memory, and for SF3 points into `smpl` at whatever
offset a sample header names. A crafted or truncated font therefore kills the process with
SIGSEGV, and the window, which reopens the remembered font at start-up, crashed at every launch.

Why a validator and not a test-load in a child process: the checks below are pure reads of a
buffer (numpy over the record tables), so they run in milliseconds at every launch, every Export
WAV and every `render`, on every platform, in the frozen app, with no process to spawn, no
interpreter to start (a second or more in the frozen app) and no timeout to tune. A child process
would also only say that *this* run of the loader survived, not why a font is bad; the validator
names the record and the index that is wrong. The one part it cannot prove safe is the Vorbis
decoder (stb_vorbis) behind SF3 samples: it checks every Ogg page of every compressed sample is
whole with a matching CRC and bounds the decoded size, so random corruption is refused, but a
deliberately crafted, CRC-correct Vorbis stream is still decoded by stb_vorbis.

Besides memory safety it bounds what a small file can make the loader allocate or compute: the
regions (preset zones × instrument zones), the decoded size of SF3 samples, and the number of
presets (tsf sorts them quadratically).

The walk mirrors `tsf_load` exactly (no RIFF pad bytes, the same chunk-id rule, the first `smpl`
of `sdta`), so what is checked is what the loader will read. Every rule is stated against the
loader's own indexing: a preset's bags run from its `presetBagNdx` to the next preset's, a bag's
generators from its `genNdx` to the next bag's, the terminal record closes every table.
"""

from __future__ import annotations

import errno
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..platform.files import NotRegularFileError, open_regular

# tsf_load_memory takes the size as a C int.
MAX_FILE_BYTES = 2**31 - 1
# Decoded SF3 samples (float32 each) the loader may allocate: a few bytes of Vorbis can stand
# for thousands of samples, so a small file could otherwise ask for all the memory there is.
MAX_DECODED_SAMPLES = 1 << 29
# tsf sorts presets by comparing each with every other: 128 banks of 128 programs is more than
# any real font has, and keeps that quadratic pass well under a second.
MAX_PRESETS = 128 * 128
# Regions (preset zone × instrument sample zone) the loader allocates, a few hundred bytes each:
# a small file can name one large instrument from thousands of preset zones. Large real fonts
# have tens of thousands.
MAX_REGIONS = 1 << 20
# The Vorbis I maximum block size is 8192, so one audio packet yields at most 4096 samples.
MAX_SAMPLES_PER_PACKET = 4096

GEN_INSTRUMENT = 41
GEN_SAMPLE_ID = 53
COMPRESSED = 0x30  # sampleType bits tsf takes as "Vorbis-compressed" (SF3)

RECORD_DTYPES: dict[str, np.dtype] = {
    "phdr": np.dtype(
        [
            ("name", "S20"),
            ("preset", "<u2"),
            ("bank", "<u2"),
            ("bag", "<u2"),
            ("library", "<u4"),
            ("genre", "<u4"),
            ("morphology", "<u4"),
        ]
    ),
    "pbag": np.dtype([("gen", "<u2"), ("mod", "<u2")]),
    "pmod": np.dtype("V10"),
    "pgen": np.dtype([("oper", "<u2"), ("amount", "<u2")]),
    "inst": np.dtype([("name", "S20"), ("bag", "<u2")]),
    "ibag": np.dtype([("gen", "<u2"), ("mod", "<u2")]),
    "imod": np.dtype("V10"),
    "igen": np.dtype([("oper", "<u2"), ("amount", "<u2")]),
    "shdr": np.dtype(
        [
            ("name", "S20"),
            ("start", "<u4"),
            ("end", "<u4"),
            ("startloop", "<u4"),
            ("endloop", "<u4"),
            ("rate", "<u4"),
            ("pitch", "u1"),
            ("correction", "i1"),
            ("link", "<u2"),
            ("type", "<u2"),
        ]
    ),
}
HYDRA = tuple(RECORD_DTYPES)


class SoundFontError(ValueError):
    """The SoundFont cannot be used; `str()` is a one-line reason (without the file's name)."""


class SoundFontMissing(SoundFontError):
    """There is no file at the path."""


@dataclass(frozen=True, slots=True)
class SoundFontSummary:
    """What the check learned: preset and sample counts, and whether samples are compressed."""

    presets: int
    samples: int
    compressed: bool


def read_soundfont(path: str | Path) -> bytes:
    """The file's bytes, read without blocking (a FIFO is refused, never waited on). Raises
    `SoundFontError` with a reason a person can act on: not found, a folder, not a regular file,
    unreadable, too large."""
    path = Path(path)
    try:
        with open_regular(path) as fh:
            size = _file_size(fh)
            if size > MAX_FILE_BYTES:
                raise SoundFontError(f"too large ({size} bytes; at most {MAX_FILE_BYTES})")
            return fh.read(MAX_FILE_BYTES + 1)
    except SoundFontError:
        raise
    except FileNotFoundError:
        raise SoundFontMissing("not found") from None
    except IsADirectoryError:
        raise SoundFontError("is a folder, not a file") from None
    except NotRegularFileError:
        raise SoundFontError("not a regular file (a FIFO, device or socket)") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SoundFontError("a symbolic link that loops") from None
        raise SoundFontError(f"cannot be read ({exc.strerror or exc})") from None


def _file_size(fh) -> int:
    return os.fstat(fh.fileno()).st_size


def check_soundfont(data: bytes) -> SoundFontSummary:
    """Raise `SoundFontError` unless TinySoundFont can load `data` without reading or writing
    outside what the file holds; see the module docstring for what is checked and why."""
    view = memoryview(data)
    chunks, smpl = _walk(view)
    tables = {name: _records(view, name, chunks) for name in HYDRA}
    _check_indices(tables)
    shdr = tables["shdr"]
    compressed = bool(np.any(shdr["type"] & COMPRESSED))
    if smpl is None:
        raise SoundFontError("no sample data (no 'smpl' chunk in 'sdta')")
    start, size = smpl
    if compressed:
        decoded = _check_sf3_samples(view[start : start + size], shdr)
    else:
        decoded = _check_sf2_samples(size, shdr)
    return SoundFontSummary(len(tables["phdr"]) - 1, decoded, compressed)


# ---------------------------------------------------------------------------------------------
# RIFF walk, as tsf_riffchunk_read does it


def _fourcc(view: memoryview, pos: int) -> bytes:
    return bytes(view[pos : pos + 4])


def _printable(raw: bytes) -> str:
    """Bytes from the file as text that stays on one line (ids and names can hold anything)."""
    return "".join(chr(b) if 32 <= b < 127 else "?" for b in raw)


def _valid_id(fourcc: bytes) -> bool:
    # tsf_riffchunk_read: `*chunk->id <= ' ' || *chunk->id >= 'z'` ends the walk.
    return ord(" ") < fourcc[0] < ord("z")


def _children(view: memoryview, start: int, size: int, parent: str):
    """(id, is_list, body_start, body_size) of each chunk in [start, start+size), tsf's way."""
    pos, remaining = start, size
    while remaining >= 8:
        fourcc = _fourcc(view, pos)
        label = _printable(fourcc)
        if not _valid_id(fourcc):
            raise SoundFontError(f"chunk at byte {pos} in '{parent}' has a bad id '{label}'")
        (chunk_size,) = struct.unpack_from("<I", view, pos + 4)
        if 8 + chunk_size > remaining:
            raise SoundFontError(
                f"chunk '{label}' at byte {pos} says {chunk_size} bytes but '{parent}' "
                f"has only {remaining - 8} left"
            )
        remaining -= 8 + chunk_size
        if fourcc == b"RIFF":
            raise SoundFontError(f"a RIFF chunk inside '{parent}' at byte {pos}")
        if fourcc == b"LIST":
            if chunk_size < 4:
                raise SoundFontError(f"LIST chunk at byte {pos} is too short ({chunk_size} bytes)")
            list_type = _fourcc(view, pos + 8)
            if not _valid_id(list_type):
                raise SoundFontError(
                    f"LIST chunk at byte {pos} has a bad type '{_printable(list_type)}'"
                )
            yield _printable(list_type), True, pos + 12, chunk_size - 4
        else:
            yield label, False, pos + 8, chunk_size
        pos += 8 + chunk_size


def _walk(view: memoryview) -> tuple[dict[str, tuple[int, int]], tuple[int, int] | None]:
    """The pdta sub-chunks tsf reads {name: (start, size)} and the `smpl` chunk it uses."""
    if len(view) < 12:
        raise SoundFontError(f"too short to be a SoundFont ({len(view)} bytes)")
    if _fourcc(view, 0) != b"RIFF" or _fourcc(view, 8) != b"sfbk":
        raise SoundFontError("not a SoundFont (no RIFF 'sfbk' header)")
    (riff_size,) = struct.unpack_from("<I", view, 4)
    if riff_size < 4:
        raise SoundFontError(f"RIFF header says {riff_size} bytes")
    if 8 + riff_size > len(view):
        raise SoundFontError(
            f"truncated: the RIFF header says {8 + riff_size} bytes, the file has {len(view)}"
        )
    hydra: dict[str, tuple[int, int]] = {}
    smpl: tuple[int, int] | None = None
    lists: set[str] = set()
    for list_type, is_list, start, size in _children(view, 12, riff_size - 4, "sfbk"):
        if not is_list:
            continue
        lists.add(list_type)
        if list_type == "pdta":
            for name, _sub, sub_start, sub_size in _children(view, start, size, "pdta"):
                if name not in RECORD_DTYPES:
                    continue
                if name in hydra:
                    raise SoundFontError(f"two '{name}' chunks")
                hydra[name] = (sub_start, sub_size)
        elif list_type == "sdta":
            for name, _sub, sub_start, sub_size in _children(view, start, size, "sdta"):
                if name == "smpo":
                    raise SoundFontError("an SFO 'smpo' sample chunk (only SF2/SF3 are read)")
                if name != "smpl" or sub_size < 2:
                    continue
                if smpl is not None:
                    raise SoundFontError("two 'smpl' chunks")
                smpl = (sub_start, sub_size)
    if "pdta" not in lists:
        raise SoundFontError("no preset data (no 'pdta' list)")
    return hydra, smpl


def _records(view: memoryview, name: str, chunks: dict[str, tuple[int, int]]) -> np.ndarray:
    if name not in chunks:
        raise SoundFontError(f"no '{name}' chunk in 'pdta'")
    start, size = chunks[name]
    dtype = RECORD_DTYPES[name]
    if size % dtype.itemsize:
        raise SoundFontError(
            f"'{name}' is {size} bytes, not a whole number of {dtype.itemsize}-byte records"
        )
    count = size // dtype.itemsize
    if name == "phdr" and count - 1 > MAX_PRESETS:
        raise SoundFontError(f"{count - 1} presets (at most {MAX_PRESETS} are loaded)")
    if count < (2 if name in ("phdr", "inst", "shdr") else 1):
        what = "no records" if count == 0 else "only its terminal record"
        raise SoundFontError(f"'{name}' has {what}")
    return np.frombuffer(view, dtype=dtype, count=count, offset=start)


# ---------------------------------------------------------------------------------------------
# The hydra's indices


def _check_range(values: np.ndarray, table: str, field: str, target: str, limit: int) -> None:
    """`values` (one per record of `table`, the terminal's included) never decrease and the
    terminal's is a record of `target` (`limit` records): the loader walks [v[i], v[i+1])."""
    steps = np.diff(values.astype(np.int64))
    if steps.size and steps.min() < 0:
        bad = int(np.argmax(steps < 0))
        raise SoundFontError(
            f"'{table}' record {bad + 1} has {field} {int(values[bad + 1])}, "
            f"below record {bad}'s {int(values[bad])}"
        )
    last = int(values[-1])
    if last >= limit:
        raise SoundFontError(
            f"'{table}' ends at {field} {last} but '{target}' has only {limit} records"
        )


def _check_ids(gens: np.ndarray, table: str, oper: int, target: str, count: int) -> None:
    """Every instrument (sample) a generator names is a real record, not the terminal one."""
    body = gens[:-1]
    ids = body["amount"][body["oper"] == oper]
    if ids.size and int(ids.max()) >= count - 1:
        what = "instrument" if oper == GEN_INSTRUMENT else "sample"
        raise SoundFontError(
            f"a '{table}' generator names {what} {int(ids.max())}, but '{target}' has "
            f"{count - 1} (and its terminal record)"
        )


def _check_one_per_zone(bags: np.ndarray, gens: np.ndarray, oper: int, table: str) -> None:
    """At most one Instrument (SampleID) generator per zone, as the spec says (it must be the
    zone's last): with a second one tsf adds the sample offsets twice."""
    per_zone = _zone_counts(bags, gens, oper)
    if per_zone.size and int(per_zone.max()) > 1:
        zone = int(np.argmax(per_zone > 1))
        raise SoundFontError(f"'{table}' zone {zone} has {int(per_zone[zone])} sample links")


def _check_indices(t: dict[str, np.ndarray]) -> None:
    _check_range(t["phdr"]["bag"], "phdr", "bag index", "pbag", len(t["pbag"]))
    _check_range(t["pbag"]["gen"], "pbag", "generator index", "pgen", len(t["pgen"]))
    _check_range(t["pbag"]["mod"], "pbag", "modulator index", "pmod", len(t["pmod"]))
    _check_range(t["inst"]["bag"], "inst", "bag index", "ibag", len(t["ibag"]))
    _check_range(t["ibag"]["gen"], "ibag", "generator index", "igen", len(t["igen"]))
    _check_range(t["ibag"]["mod"], "ibag", "modulator index", "imod", len(t["imod"]))
    _check_ids(t["pgen"], "pgen", GEN_INSTRUMENT, "inst", len(t["inst"]))
    _check_ids(t["igen"], "igen", GEN_SAMPLE_ID, "shdr", len(t["shdr"]))
    _check_one_per_zone(t["pbag"], t["pgen"], GEN_INSTRUMENT, "pbag")
    _check_one_per_zone(t["ibag"], t["igen"], GEN_SAMPLE_ID, "ibag")
    _check_region_count(t)


def _zone_counts(bags: np.ndarray, gens: np.ndarray, oper: int) -> np.ndarray:
    """How many generators with `oper` each zone (bag, the terminal's excluded) holds."""
    marks = np.concatenate([[0], np.cumsum(gens["oper"] == oper)])
    starts = bags["gen"].astype(np.int64)
    return marks[starts[1:]] - marks[starts[:-1]]


def _check_region_count(t: dict[str, np.ndarray]) -> None:
    """An upper bound on the regions tsf allocates (it filters by key range afterwards): every
    Instrument generator brings all of that instrument's sample zones."""
    per_ibag = _zone_counts(t["ibag"], t["igen"], GEN_SAMPLE_ID)
    cumulative = np.concatenate([[0], np.cumsum(per_ibag)])
    bags = t["inst"]["bag"].astype(np.int64)
    per_inst = cumulative[bags[1:]] - cumulative[bags[:-1]]
    body = t["pgen"][:-1]
    named = body["amount"][body["oper"] == GEN_INSTRUMENT].astype(np.int64)
    regions = int(per_inst[named].sum()) if named.size else 0
    if regions > MAX_REGIONS:
        raise SoundFontError(
            f"its presets name {regions} instrument zones (at most {MAX_REGIONS} are loaded)"
        )


# ---------------------------------------------------------------------------------------------
# Samples


def _check_sf2_samples(smpl_bytes: int, shdr: np.ndarray) -> int:
    """16-bit samples: every header's start, end and loop points lie inside `smpl`."""
    if smpl_bytes % 2:
        raise SoundFontError(f"'smpl' is {smpl_bytes} bytes, not whole 16-bit samples")
    count = smpl_bytes // 2
    body = shdr[:-1]
    for field in ("start", "end", "startloop", "endloop"):
        values = body[field]
        if values.size and int(values.max()) > count:
            index = int(np.argmax(values > count))
            raise SoundFontError(
                f"sample {index} ({_name(body[index])}) has {field} {int(values[index])}, "
                f"past the {count} samples in 'smpl'"
            )
    backwards = body["start"] > body["end"]
    if np.any(backwards):
        index = int(np.argmax(backwards))
        raise SoundFontError(f"sample {index} ({_name(body[index])}) ends before it starts")
    return count


def _check_sf3_samples(smpl: memoryview, shdr: np.ndarray) -> int:
    """SF3: each compressed sample is a whole Ogg stream inside `smpl`, and the loader's
    re-indexing (tsf_decode_sf3_samples) never points before or past its buffers."""
    decoded = 0
    bound = 0
    last = len(shdr) - 1
    for index, header in enumerate(shdr):
        start, end = int(header["start"]), int(header["end"])
        label = f"sample {index} ({_name(header)})"
        if int(header["type"]) & COMPRESSED:
            if index == last:
                raise SoundFontError("the terminal sample header is marked compressed")
            if not start + 4 <= end <= len(smpl):
                raise SoundFontError(
                    f"{label}: compressed data {start}..{end} is outside the "
                    f"{len(smpl)} bytes of 'smpl'"
                )
            length, most = _ogg_stream(smpl[start:end], label)
            if int(header["startloop"]) > length or int(header["endloop"]) > length:
                raise SoundFontError(f"{label}: loop points past its {length} samples")
            decoded += length
            bound += most
        elif index != last:
            raise SoundFontError(f"{label} is not compressed in a compressed (SF3) font")
        elif start > decoded:
            # tsf re-bases it by (decoded - start) as an unsigned offset: it would point
            # gigabytes before the buffer.
            raise SoundFontError(f"the terminal sample header starts at {start}, past the data")
    if bound > MAX_DECODED_SAMPLES:
        raise SoundFontError(
            f"compressed samples could decode to {bound} samples "
            f"(at most {MAX_DECODED_SAMPLES} are loaded)"
        )
    return decoded


def _name(header) -> str:
    return _printable(bytes(header["name"]).split(b"\0", 1)[0]) or "unnamed"


_BIT_REVERSED = np.array([int(f"{b:08b}"[::-1], 2) for b in range(256)], dtype=np.uint8)


def ogg_crc(page: bytes | memoryview) -> int:
    """The Ogg page checksum (CRC-32, polynomial 0x04C11DB7, MSB first, no init or final xor),
    computed by zlib's reflected CRC-32 over the bit-reversed bytes."""
    flipped = _BIT_REVERSED[np.frombuffer(page, dtype=np.uint8)].tobytes()
    raw = ~zlib.crc32(flipped, 0xFFFFFFFF) & 0xFFFFFFFF
    return int(f"{raw:032b}"[::-1], 2)


def _ogg_stream(data: memoryview, label: str) -> tuple[int, int]:
    """(samples the stream says it holds, most samples its packets could decode to) after
    checking every page is whole and its CRC matches."""
    pos, packets, granule, blocksize = 0, 0, -1, MAX_SAMPLES_PER_PACKET * 2
    while pos < len(data):
        if pos + 27 > len(data) or bytes(data[pos : pos + 4]) != b"OggS" or data[pos + 4] != 0:
            raise SoundFontError(f"{label}: compressed data is not a whole Ogg stream")
        segments = data[pos + 26]
        table = bytes(data[pos + 27 : pos + 27 + segments])
        end = pos + 27 + segments + sum(table)
        if len(table) < segments or end > len(data):
            raise SoundFontError(f"{label}: an Ogg page runs past the sample's data")
        page = bytearray(data[pos:end])
        (stored,) = struct.unpack_from("<I", page, 22)
        page[22:26] = b"\0\0\0\0"
        if ogg_crc(page) != stored:
            raise SoundFontError(f"{label}: an Ogg page's checksum does not match (corrupt)")
        if pos == 0 and segments and len(page) >= 27 + segments + 29 and page[27 + segments] == 1:
            # The identification header: its byte 28 holds log2 of the long block size.
            exponent = page[27 + segments + 28] >> 4
            if 6 <= exponent <= 13:
                blocksize = 1 << exponent
        packets += sum(1 for size in table if size < 255)
        (page_granule,) = struct.unpack_from("<q", page, 6)
        if page_granule >= 0:
            granule = page_granule
        pos = end
    most = packets * (blocksize // 2)
    if granule < 0 or granule > most:
        raise SoundFontError(f"{label}: the Ogg stream's length is missing or impossible")
    return granule, most
