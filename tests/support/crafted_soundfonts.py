"""Crafted SoundFonts: mutations of the bundled `sf_GMbank.sf2` that each break one thing
TinySoundFont's loader trusts (the classes that crashed it: out-of-range instrument and sample
ids, decreasing or 0xFFFF bag indices, bit flips in `pdta`, SF3 sample starts past `smpl`, files
cut inside `shdr`), plus systematic ones (every index table, chunk sizes that lie, truncations at
many offsets, seeded bit flips) and fonts that load but sound nothing.

`variants(bundled_bytes)` returns {name: bytes}; names are stable, so a failure names its font.
"""

from __future__ import annotations

import random
import struct
from pathlib import Path

import numpy as np

# A real Vorbis stream (0.25 s of the bundled piano's D♭4, `oggenc -q 0`), for SF3 fonts.
PIANO_OGG = Path(__file__).with_name("piano_db4.ogg")
RECORD = {"phdr": 38, "pbag": 4, "pmod": 10, "pgen": 4, "inst": 22, "ibag": 4, "imod": 10}
RECORD |= {"igen": 4, "shdr": 46}
# (table, byte offset of the u16 field inside a record, label)
INDEX_FIELDS = [
    ("phdr", 24, "bag"),
    ("pbag", 0, "gen"),
    ("pbag", 2, "mod"),
    ("inst", 20, "bag"),
    ("ibag", 0, "gen"),
    ("ibag", 2, "mod"),
]


def chunk_map(data: bytes) -> dict[str, tuple[int, int]]:
    """{id: (header offset, size)} for the LIST chunks (by type) and their sub-chunks."""
    found: dict[str, tuple[int, int]] = {}
    pos = 12
    while pos + 8 <= len(data):
        size = struct.unpack_from("<I", data, pos + 4)[0]
        kind = data[pos + 8 : pos + 12].decode("latin-1")
        found[kind] = (pos, size)
        sub = pos + 12
        while sub < pos + 8 + size:
            sub_size = struct.unpack_from("<I", data, sub + 4)[0]
            found[data[sub : sub + 4].decode("latin-1")] = (sub, sub_size)
            sub += 8 + sub_size
        pos += 8 + size
    return found


class Font:
    """Helpers to address records of the bundled font."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.chunks = chunk_map(data)

    def count(self, table: str) -> int:
        return self.chunks[table][1] // RECORD[table]

    def offset(self, table: str, index: int, field: int = 0) -> int:
        return self.chunks[table][0] + 8 + index * RECORD[table] + field

    def u16(self, table: str, index: int, field: int) -> int:
        return struct.unpack_from("<H", self.data, self.offset(table, index, field))[0]

    def put(self, edits: list[tuple[int, str, int]]) -> bytes:
        out = bytearray(self.data)
        for offset, fmt, value in edits:
            struct.pack_into(fmt, out, offset, value)
        return bytes(out)

    def set16(self, table: str, index: int, field: int, value: int) -> bytes:
        return self.put([(self.offset(table, index, field), "<H", value)])

    def gen_index(self, table: str, oper: int, nth: int = 0) -> int:
        """The record index of the nth generator with operator `oper` in `table`."""
        start, size = self.chunks[table]
        opers = np.frombuffer(self.data, "<u2", count=size // 2, offset=start + 8)[0::2]
        return int(np.flatnonzero(opers == oper)[nth])


def _ogg_crc(page: bytes) -> int:
    crc = 0
    for byte in page:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) & 0xFFFFFFFF if crc & 0x80000000 else crc << 1
    return crc & 0xFFFFFFFF


def ogg_page(body: bytes, granule: int, *, first: bool = True) -> bytes:
    """One whole Ogg page (correct CRC) holding `body` as one packet: the framing is valid,
    the payload is not Vorbis, so the decoder (not the validator) has to refuse it."""
    segments = [255] * (len(body) // 255) + [len(body) % 255]
    header = b"OggS" + bytes([0, 2 if first else 0]) + struct.pack("<qIII", granule, 1, 0, 0)
    page = bytearray(header + bytes([len(segments)]) + bytes(segments) + body)
    struct.pack_into("<I", page, 22, _ogg_crc(bytes(page)))
    return bytes(page)


def _sf3(font: Font, smpl_body: bytes, starts_ends: list[tuple[int, int]]) -> bytes:
    """The font with `smpl` replaced by `smpl_body` and every sample header marked compressed
    with (start, end) from `starts_ends` (cycled), loops cleared, chunk sizes fixed up."""
    smpl_at, smpl_size = font.chunks["smpl"]
    sdta_at, sdta_size = font.chunks["sdta"]
    data = bytearray(font.data)
    delta = len(smpl_body) - smpl_size
    data[smpl_at + 8 : smpl_at + 8 + smpl_size] = smpl_body
    struct.pack_into("<I", data, smpl_at + 4, len(smpl_body))
    struct.pack_into("<I", data, sdta_at + 4, sdta_size + delta)
    struct.pack_into("<I", data, 4, struct.unpack_from("<I", data, 4)[0] + delta)
    shdr_at = font.chunks["shdr"][0] + delta + 8
    count = font.count("shdr")
    for i in range(count - 1):
        start, end = starts_ends[i % len(starts_ends)]
        struct.pack_into("<IIII", data, shdr_at + i * 46 + 20, start, end, 0, 0)
        struct.pack_into("<H", data, shdr_at + i * 46 + 44, 0x10 | 0x01)
    return bytes(data)


def variants(bundled: bytes) -> dict[str, bytes]:
    font = Font(bundled)
    out: dict[str, bytes] = {}
    n = {name: font.count(name) for name in RECORD}

    # The reported crash classes.
    sample_gen = font.gen_index("igen", 53, 3)
    for value in (0xFFFF, n["shdr"] - 1, n["shdr"]):
        out[f"igen-sample-id-{value}"] = font.set16("igen", sample_gen, 2, value)
    inst_gen = font.gen_index("pgen", 41, 2)
    for value in (0xFFFF, n["inst"] - 1, n["inst"]):
        out[f"pgen-instrument-{value}"] = font.set16("pgen", inst_gen, 2, value)

    # Every index table: 0xFFFF in the middle, decreasing, the terminal off by one, 0xFFFF.
    for table, field, label in INDEX_FIELDS:
        middle = n[table] // 2
        target = {"bag": "pbag" if table == "phdr" else "ibag"}.get(label)
        limit = n[target] if target else n["pgen" if table == "pbag" else "igen"]
        if label == "mod":
            limit = n["pmod" if table == "pbag" else "imod"]
        name = f"{table}-{label}"
        out[f"{name}-ffff-middle"] = font.set16(table, middle, field, 0xFFFF)
        before = font.u16(table, middle - 1, field)
        out[f"{name}-decreasing"] = font.set16(table, middle, field, max(before - 1, 0))
        if before == 0:  # an all-zero column (the modulator links): make one step back
            out[f"{name}-decreasing"] = font.put(
                [
                    (font.offset(table, middle - 1, field), "<H", 5),
                    (font.offset(table, middle, field), "<H", 0),
                ]
            )
        out[f"{name}-terminal-off-by-one"] = font.set16(table, n[table] - 1, field, limit)
        out[f"{name}-terminal-ffff"] = font.set16(table, n[table] - 1, field, 0xFFFF)
        out[f"{name}-first-ffff"] = font.set16(table, 0, field, 0xFFFF)

    # A second sample link in one zone (tsf would add the sample offsets twice).
    ibag = font.u16("ibag", 10, 0)
    out["igen-two-sample-ids"] = font.put(
        [
            (font.offset("igen", ibag), "<H", 53),
            (font.offset("igen", ibag, 2), "<H", 0),
        ]
    )

    # Sample headers past `smpl`.
    smpl_samples = font.chunks["smpl"][1] // 2
    for field, label in ((20, "start"), (24, "end"), (28, "startloop"), (32, "endloop")):
        out[f"shdr-{label}-past-smpl"] = font.put(
            [(font.offset("shdr", 5, field), "<I", smpl_samples + 1000)]
        )
    out["shdr-start-after-end"] = font.put([(font.offset("shdr", 5, 20), "<I", 0xFFFFFF00)])

    # SF3: compressed sample starts past `smpl`, inside it but not Ogg, a CRC-correct Ogg page
    # whose payload is not Vorbis, a bad CRC, and an Ogg stream claiming far too many samples.
    smpl_at, smpl_size = font.chunks["smpl"]
    for label, value in (("past", smpl_size + 4096), ("far-past", 0xFFFFFF00)):
        out[f"sf3-start-{label}-smpl"] = font.put(
            [
                (font.offset("shdr", 0, 20), "<I", value),
                (font.offset("shdr", 0, 24), "<I", min(value + 4096, 0xFFFFFFFF)),
                (font.offset("shdr", 0, 44), "<H", 0x11),
            ]
        )
    out["sf3-end-past-smpl"] = font.put(
        [
            (font.offset("shdr", 0, 24), "<I", smpl_size + 100),
            (font.offset("shdr", 0, 44), "<H", 0x11),
        ]
    )
    out["sf3-not-ogg"] = font.put([(font.offset("shdr", 0, 44), "<H", 0x11)])
    page = ogg_page(b"\x01vorbis" + bytes(200), granule=100)
    out["sf3-ogg-not-vorbis"] = _sf3(font, page + page, [(0, len(page))])
    bad_crc = bytearray(page)
    bad_crc[40] ^= 0xFF
    out["sf3-ogg-bad-crc"] = _sf3(font, bytes(bad_crc), [(0, len(page))])
    out["sf3-ogg-granule-lies"] = _sf3(
        font, ogg_page(b"\x01vorbis" + bytes(200), granule=10**9), [(0, len(page))]
    )
    out["sf3-ogg-page-cut"] = _sf3(font, page, [(0, len(page) - 10)])

    # Truncations: across the file, inside pdta, and many inside shdr.
    size = len(bundled)
    for fraction in (0.0001, 0.001, 0.01, 0.1, 0.3, 0.5, 0.9, 0.95, 0.99):
        cut = int(size * fraction)
        out[f"cut-at-{cut}"] = bundled[:cut]
    pdta_at = font.chunks["pdta"][0]
    for cut in range(pdta_at + 4, pdta_at + 4 + 12 * 2000, 2000):
        out[f"cut-in-pdta-{cut}"] = bundled[:cut]
    shdr_at, shdr_size = font.chunks["shdr"]
    for cut in np.linspace(shdr_at + 2, shdr_at + 8 + shdr_size - 1, 16).astype(int):
        out[f"cut-in-shdr-{cut}"] = bundled[:cut]
        # The same cut with the RIFF size made to agree: now shdr's own size lies.
        fixed = bytearray(bundled[:cut])
        struct.pack_into("<I", fixed, 4, cut - 8)
        out[f"cut-in-shdr-{cut}-riff-fixed"] = bytes(fixed)

    # Chunk sizes that lie.
    for name in ("phdr", "pbag", "pgen", "inst", "ibag", "igen", "shdr", "smpl"):
        at, real = font.chunks[name]
        for label, value in (("plus1", real + 1), ("minus1", real - 1), ("huge", 0xFFFFFFF0)):
            out[f"size-{name}-{label}"] = font.put([(at + 4, "<I", value)])
        out[f"size-{name}-zero"] = font.put([(at + 4, "<I", 0)])
    for name in ("pdta", "sdta", "INFO"):
        at, real = font.chunks[name]
        out[f"size-list-{name}-huge"] = font.put([(at + 4, "<I", 0xFFFFFFF0)])
        out[f"size-list-{name}-tiny"] = font.put([(at + 4, "<I", 2)])
    out["size-riff-huge"] = font.put([(4, "<I", 0xFFFFFFF0)])
    out["size-riff-tiny"] = font.put([(4, "<I", 2)])

    # Missing pieces.
    out["no-shdr"] = font.put([(font.chunks["shdr"][0], "<4s", b"shdX")])  # type: ignore[list-item]
    out["no-pdta"] = font.put([(font.chunks["pdta"][0] + 8, "<4s", b"pdtX")])  # type: ignore[list-item]
    out["no-smpl"] = font.put([(font.chunks["smpl"][0], "<4s", b"smpX")])  # type: ignore[list-item]
    out["not-riff"] = b"RIFX" + bundled[4:]
    out["empty"] = b""
    out["riff-only"] = b"RIFF"
    out["random-bytes"] = random.Random(7).randbytes(5000)

    # Fonts that load but sound nothing.
    silent = bytearray(bundled)
    silent[smpl_at + 8 : smpl_at + 8 + smpl_size] = bytes(smpl_size)
    out["silent-samples-all-zero"] = bytes(silent)
    banks = [(font.offset("phdr", i, 22), "<H", 1) for i in range(n["phdr"] - 1)]
    out["silent-no-bank-0"] = font.put(banks)
    keyranges = bytearray(bundled)
    igen_at, igen_size = font.chunks["igen"]
    gens = np.frombuffer(keyranges, "<u2", count=igen_size // 2, offset=igen_at + 8).copy()
    gens[1::2][gens[0::2] == 43] = 0  # every instrument zone answers key 0 only
    keyranges[igen_at + 8 : igen_at + 8 + igen_size] = gens.astype("<u2").tobytes()
    out["silent-keyranges-key-0-only"] = bytes(keyranges)
    only_terminal = bytearray(bundled)
    struct.pack_into("<4s", only_terminal, font.chunks["phdr"][0], b"phdX")
    out["no-phdr"] = bytes(only_terminal)

    # Preset names that are not UTF-8 (Latin-1, as older editors write them): a real font.
    latin1 = [(font.offset("phdr", i, 3), "<B", 0xE9) for i in range(n["phdr"] - 1)]
    out["plays-latin1-preset-names"] = font.put(latin1)

    out |= sf3_variants(font)

    # Built from scratch: a minimal font that plays, and region counts that would make tsf
    # allocate gigabytes (3000² zones) or overflow its int count (60000²).
    out["plays-minimal-font"] = region_bomb(1)
    out["regions-3000-squared"] = region_bomb(3000)
    out["regions-60000-squared"] = region_bomb(60000)
    many = Font(region_bomb(1))
    phdr_at, phdr_size = many.chunks["phdr"]
    empty = struct.pack("<20sHHHIII", b"empty".ljust(20, b"\0"), 1, 1, 0, 0, 0, 0)
    tables = many.data[: phdr_at + 8] + empty * 20_000 + many.data[phdr_at + 8 :]
    grown = bytearray(tables)
    struct.pack_into("<I", grown, phdr_at + 4, phdr_size + 38 * 20_000)
    pdta_at = many.chunks["pdta"][0]
    struct.pack_into("<I", grown, pdta_at + 4, many.chunks["pdta"][1] + 38 * 20_000)
    struct.pack_into("<I", grown, 4, len(grown) - 8)
    out["presets-20000"] = bytes(grown)

    # Seeded bit flips in pdta (some hit names or generator amounts and still play).
    pdta_start, pdta_size = font.chunks["pdta"]
    for seed in range(30):
        rng = random.Random(seed)
        flipped = bytearray(bundled)
        for _ in range(1 + seed % 8):
            pos = pdta_start + 12 + rng.randrange(pdta_size - 4)
            flipped[pos] ^= 1 << rng.randrange(8)
        out[f"bitflip-pdta-seed-{seed}"] = bytes(flipped)
    return out


def crc_reference(data: bytes) -> int:
    """The Ogg CRC, bit by bit (the validator's zlib-based one is checked against it)."""
    return _ogg_crc(data)


def sf3_variants(font: Font) -> dict[str, bytes]:
    """A real SF3 (every sample header pointing at one Vorbis stream) and its mutations: sample
    data past `smpl`, loops past the decoded sample, a stream cut short, bit flips (the page CRC
    catches them), and Vorbis packets corrupted with the CRC recomputed, which only the decoder
    itself can refuse."""
    ogg = PIANO_OGG.read_bytes()
    whole = [(0, len(ogg))]
    out = {"plays-sf3-vorbis": _sf3(font, ogg, whole)}
    sf3 = Font(out["plays-sf3-vorbis"])
    smpl_len = sf3.chunks["smpl"][1]
    out["sf3-vorbis-start-past-smpl"] = sf3.put(
        [
            (sf3.offset("shdr", 3, 20), "<I", smpl_len + 10),
            (sf3.offset("shdr", 3, 24), "<I", smpl_len + 99),
        ]
    )
    out["sf3-vorbis-end-past-smpl"] = sf3.put([(sf3.offset("shdr", 3, 24), "<I", smpl_len + 1)])
    out["sf3-vorbis-loop-past-sample"] = sf3.put(
        [(sf3.offset("shdr", 6, 28), "<I", 100), (sf3.offset("shdr", 6, 32), "<I", 20_000)]
    )
    out["sf3-vorbis-raw-sample-mixed-in"] = sf3.put([(sf3.offset("shdr", 4, 44), "<H", 1)])
    last = sf3.count("shdr") - 1
    out["sf3-vorbis-terminal-start-past"] = sf3.put([(sf3.offset("shdr", last, 20), "<I", 1 << 31)])
    out["sf3-vorbis-stream-cut"] = _sf3(font, ogg, [(0, len(ogg) - 300)])
    smpl_at = sf3.chunks["smpl"][0] + 8
    for seed in range(4):
        rng = random.Random(seed)
        flipped = bytearray(out["plays-sf3-vorbis"])
        flipped[smpl_at + rng.randrange(len(ogg))] ^= 1 << rng.randrange(8)
        out[f"sf3-vorbis-bitflip-seed-{seed}"] = bytes(flipped)
    # Corrupt the audio packets of the second page and recompute its CRC.
    page2 = 27 + ogg[26] + sum(ogg[27 : 27 + ogg[26]])
    segments = ogg[page2 + 26]
    body = page2 + 27 + segments
    for seed in range(4):
        rng = random.Random(100 + seed)
        page = bytearray(ogg)
        for _ in range(1 + seed * 3):
            page[body + 200 + rng.randrange(2000)] = rng.randrange(256)
        end = body + sum(ogg[page2 + 27 : body])
        struct.pack_into("<I", page, page2 + 22, 0)
        struct.pack_into("<I", page, page2 + 22, _ogg_crc(bytes(page[page2:end])))
        out[f"sf3-vorbis-packets-corrupt-crc-fixed-{seed}"] = _sf3(font, bytes(page), whole)
    return out


def build_font(tables: dict[str, bytes], smpl: bytes) -> bytes:
    """A SoundFont from raw hydra tables (each the packed records, terminal included)."""

    def chunk(name: bytes, body: bytes) -> bytes:
        return name + struct.pack("<I", len(body)) + body

    order = ("phdr", "pbag", "pmod", "pgen", "inst", "ibag", "imod", "igen", "shdr")
    pdta = b"pdta" + b"".join(chunk(n.encode(), tables[n]) for n in order)
    sdta = b"sdta" + chunk(b"smpl", smpl)
    info = b"INFO" + chunk(b"ifil", struct.pack("<HH", 2, 1))
    body = b"sfbk" + chunk(b"LIST", info) + chunk(b"LIST", sdta) + chunk(b"LIST", pdta)
    return chunk(b"RIFF", body)


def region_bomb(zones: int) -> bytes:
    """One preset with `zones` zones, each naming the one instrument, which has `zones` sample
    zones: zones² regions for tsf to allocate (the count is a C int), from a file of ~16·zones
    bytes."""
    name = b"bomb".ljust(20, b"\0")
    phdr = struct.pack("<20sHHHIII", name, 0, 0, 0, 0, 0, 0)
    phdr += struct.pack("<20sHHHIII", b"EOP".ljust(20, b"\0"), 0, 0, zones, 0, 0, 0)
    pbag = b"".join(struct.pack("<HH", i, 0) for i in range(zones + 1))
    pgen = struct.pack("<HH", 41, 0) * zones + struct.pack("<HH", 0, 0)
    inst = struct.pack("<20sH", name, 0) + struct.pack("<20sH", b"EOI".ljust(20, b"\0"), zones)
    ibag = b"".join(struct.pack("<HH", i, 0) for i in range(zones + 1))
    igen = struct.pack("<HH", 53, 0) * zones + struct.pack("<HH", 0, 0)
    sample = struct.pack("<20sIIIIIBbHH", name, 0, 1000, 10, 900, 44100, 60, 0, 0, 1)
    shdr = sample + struct.pack("<20sIIIIIBbHH", b"EOS".ljust(20, b"\0"), 0, 0, 0, 0, 0, 0, 0, 0, 0)
    smpl = (np.sin(np.arange(1046) * 0.1) * 20000).astype("<i2").tobytes()
    mod = bytes(10)
    return build_font(
        {
            "phdr": phdr,
            "pbag": pbag,
            "pmod": mod,
            "pgen": pgen,
            "inst": inst,
            "ibag": ibag,
            "imod": mod,
            "igen": igen,
            "shdr": shdr,
        },
        smpl,
    )
