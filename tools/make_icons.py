"""Draw the RBM Studio icon with QPainter (offscreen) and write it as PNG, Windows .ico and macOS .icns.

    .venv/bin/python tools/make_icons.py            # writes rbm_studio/resources/icons/rbm-studio.{png,ico,icns}

One drawing function renders every size from vectors, so small sizes stay crisp instead of being
downscaled blurs. The motif is the model itself: a row of visible units (a piano-roll strip of
notes) wired to a row of hidden units. .ico and .icns are written by hand as containers of PNG
images (both formats allow that), so no Pillow is needed; Qt's own image readers load them back as a
check.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "rbm_studio" / "resources" / "icons"
NAME = "rbm-studio"

PNG_SIZE = 512
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# (OSType, pixel size): PNG-payload icon types understood by macOS 10.7+.
ICNS_TYPES = (
    (b"icp4", 16),
    (b"icp5", 32),
    (b"icp6", 64),
    (b"ic07", 128),
    (b"ic08", 256),
    (b"ic09", 512),
    (b"ic10", 1024),
    (b"ic11", 32),
    (b"ic12", 64),
    (b"ic13", 256),
    (b"ic14", 512),
)

# Which hidden unit each visible note connects to: a fixed, balanced bipartite pattern.
HIDDEN = 3
NOTES = (  # (column 0..5, row 0..3 from the top) of the notes in the piano-roll strip
    (0, 2),
    (1, 1),
    (2, 3),
    (3, 0),
    (4, 2),
    (5, 1),
)


def render_png(size: int) -> bytes:
    """The icon at `size`×`size` pixels as PNG bytes."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, Qt
    from PySide6.QtGui import QBrush, QColor, QImage, QLinearGradient, QPainter, QPen

    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = float(size)

    # Rounded-square tile with a dusk gradient, like other app icons of the platform.
    margin = s * 0.04
    tile = QRectF(margin, margin, s - 2 * margin, s - 2 * margin)
    gradient = QLinearGradient(tile.topLeft(), tile.bottomRight())
    gradient.setColorAt(0.0, QColor("#3b2a8c"))
    gradient.setColorAt(1.0, QColor("#0f7c8c"))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QBrush(gradient))
    p.drawRoundedRect(tile, s * 0.2, s * 0.2)

    left, right = s * 0.17, s * 0.83
    col_w = (right - left) / len(NOTES)
    roll_top, row_h = s * 0.16, s * 0.065
    hidden_y = s * 0.78
    unit_r = s * 0.075

    def note_rect(col: int, row: int) -> QRectF:
        return QRectF(
            left + col * col_w + col_w * 0.08, roll_top + row * row_h, col_w * 0.84, row_h * 0.8
        )

    def hidden_centre(j: int) -> QPointF:
        return QPointF(left + (right - left) * (j + 0.5) / HIDDEN, hidden_y)

    # Connections first, so notes and units sit on top of them.
    pen = QPen(QColor(255, 255, 255, 120))
    pen.setWidthF(max(1.0, s * 0.012))
    p.setPen(pen)
    for col, row in NOTES:
        rect = note_rect(col, row)
        for j in range(HIDDEN):
            if (col + j) % 2 == 0 or size >= 64:
                p.drawLine(QPointF(rect.center().x(), rect.bottom()), hidden_centre(j))

    # The piano-roll strip: notes as warm bars.
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor("#ffb84d"))
    for col, row in NOTES:
        rect = note_rect(col, row)
        p.drawRoundedRect(rect, rect.height() * 0.3, rect.height() * 0.3)

    # Hidden units: white discs with a teal core.
    for j in range(HIDDEN):
        c = hidden_centre(j)
        p.setBrush(QColor("#ffffff"))
        p.drawEllipse(c, unit_r, unit_r)
        p.setBrush(QColor("#0f7c8c"))
        p.drawEllipse(c, unit_r * 0.45, unit_r * 0.45)
    p.end()

    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise RuntimeError(f"Qt could not encode the {size}px icon as PNG")
    return bytes(data.data())


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """A Windows .ico holding one PNG per size (ICONDIR + ICONDIRENTRY table + images)."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries, images = b"", b""
    for size in sizes:
        png = pngs[size]
        dim = 0 if size >= 256 else size  # 0 means 256 in the 8-bit width/height fields
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(png), offset + len(images))
        images += png
    return header + entries + images


def icns_bytes(pngs: dict[int, bytes]) -> bytes:
    """A macOS .icns: big-endian 'icns' header, then (type, length, PNG) chunks."""
    body = b"".join(
        ostype + struct.pack(">I", 8 + len(pngs[size])) + pngs[size] for ostype, size in ICNS_TYPES
    )
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def make_icons(out_dir: Path) -> list[Path]:
    """Render every size once and write the three icon files; returns their paths."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    sizes = {PNG_SIZE, *ICO_SIZES, *(size for _, size in ICNS_TYPES)}
    pngs = {size: render_png(size) for size in sorted(sizes)}
    outputs = {
        out_dir / f"{NAME}.png": pngs[PNG_SIZE],
        out_dir / f"{NAME}.ico": ico_bytes({size: pngs[size] for size in ICO_SIZES}),
        out_dir / f"{NAME}.icns": icns_bytes(pngs),
    }
    for path, data in outputs.items():
        write_atomic(path, data)
    return list(outputs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    args = parser.parse_args()
    for path in make_icons(args.out):
        print(f"{path}  {path.stat().st_size // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
