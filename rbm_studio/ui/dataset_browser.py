"""Dataset browser: import MIDI folders/files in a worker and list every song, skipped ones too.

Skipped files stay in the list with a warning icon and their reason (tooltip and the "why?" line
under the list) — a folder with a few broken files never produces a modal error per file. Each
song shows its folder (relative to the imported one: versions of a tune in subfolders are told
apart), key and tempo; long names are elided in the middle, the full name is in the tooltip.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, Signal, Slot
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QStyle,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..data.dataset import DatasetReport, FileResult, import_folder
from ..music.encoding import DEFAULT_ENCODING, Encoding
from ..music.keys import best_key
from . import heap
from .workers import Job, run_function

SAMPLE_HINT = "Press Train to learn from these songs, or drop your own MIDI folder here."
MIDI_SUFFIXES = (".mid", ".midi")
RESULT_ROLE = Qt.ItemDataRole.UserRole


def local_paths(mime: QMimeData) -> list[Path]:
    """Local files and folders in a drag's data (web URLs and other data are ignored)."""
    if not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


def importable(paths: Sequence[Path]) -> bool:
    """True when a drop holds at least one folder or MIDI file worth importing."""
    return any(p.is_dir() or p.suffix.lower() in MIDI_SUFFIXES for p in paths)


class MidiDropTarget:
    """Mixin for a QWidget that imports dropped MIDI files and folders: it accepts a drag only
    when letting go would import something (so the cursor says so) and hands the dropped paths to
    `paths_dropped`. List it before the Qt base class."""

    def paths_dropped(self, paths: list[Path]) -> None:
        raise NotImplementedError(f"{type(self).__name__} must say what a drop imports")

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        self.dragMoveEvent(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802
        if importable(local_paths(event.mimeData())):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = local_paths(event.mimeData())
        if importable(paths):
            event.acceptProposedAction()
            self.paths_dropped(paths)
        else:
            event.ignore()


def describe_source(paths: Sequence[Path]) -> str:
    if len(paths) == 1:
        return paths[0].name or str(paths[0])
    return f"{len(paths)} items"


class SongList(MidiDropTarget, QTreeWidget):
    """The song table; accepts drops of folders and MIDI files."""

    pathsDropped = Signal(list)

    COLUMNS = ("Song", "Folder", "Key", "Tempo", "Bars", "Length", "Notes", "Status")
    FOLDER, KEY, TEMPO, BARS, LENGTH, NOTES, STATUS = range(1, 8)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setColumnCount(len(self.COLUMNS))
        self.setHeaderLabels(list(self.COLUMNS))
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.setSortingEnabled(True)
        self.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setAcceptDrops(True)
        self.setDropIndicatorShown(False)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly)
        header = self.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.setColumnWidth(0, 150)
        header.setSectionResizeMode(self.FOLDER, QHeaderView.ResizeMode.Interactive)
        self.setColumnWidth(self.FOLDER, 70)
        for col in range(self.KEY, self.STATUS):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.setTextElideMode(
            Qt.TextElideMode.ElideMiddle
        )  # "Long name … (take 2)" stays told apart
        self.setToolTip("Imported songs. Drop MIDI files or folders here to import them.")

    def paths_dropped(self, paths: list[Path]) -> None:
        self.pathsDropped.emit(paths)


class NumericItem(QTreeWidgetItem):
    """Sorts numeric columns by value, not by their text."""

    def __lt__(self, other: QTreeWidgetItem) -> bool:
        column = self.treeWidget().sortColumn() if self.treeWidget() else 0
        a = self.data(column, Qt.ItemDataRole.UserRole + 1)
        b = other.data(column, Qt.ItemDataRole.UserRole + 1)
        if a is not None and b is not None:
            return a < b
        return self.text(column).lower() < other.text(column).lower()


def format_length(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


class DatasetBrowser(MidiDropTarget, QWidget):
    """Import controls, the song list and a detail line for the selected song."""

    songSelected = Signal(object)  # FileResult of a loaded song
    importStarted = Signal(list)
    importProgress = Signal(int, int)  # files done, files in all
    importFinished = Signal(object)  # DatasetReport
    statusMessage = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.report: DatasetReport | None = None
        self.sources: list[Path] = []
        self.job: Job | None = None
        self.is_sample_set = False
        self.encoding: Encoding = DEFAULT_ENCODING  # grid and pitch range songs are read into
        self.keys: dict[Path, str] = {}  # each loaded song's best-fitting key

        self.hint = QLabel(SAMPLE_HINT)
        self.hint.setWordWrap(True)
        self.hint.setObjectName("datasetHint")
        self.hint.setToolTip("The bundled Bach chorales are loaded until you import your own songs")
        self.hint.hide()
        self.summary = QLabel("No songs yet: drop a MIDI folder here or use File → Open Folder.")
        self.summary.setWordWrap(True)
        self.summary.setToolTip("What is in the data set")

        self.list = SongList()
        self.list.pathsDropped.connect(self.import_paths)
        self.list.currentItemChanged.connect(self._on_current_changed)

        self.progress = QProgressBar()
        self.progress.setToolTip("Import progress")
        self.progress.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop importing; songs read so far are kept")
        self.cancel_button.clicked.connect(self.cancel_import)
        progress_row = QHBoxLayout()
        progress_row.setContentsMargins(0, 0, 0, 0)
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.cancel_button)
        self.progress_box = QWidget()
        self.progress_box.setLayout(progress_row)
        self.progress_box.hide()

        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.detail.setObjectName("songDetail")
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail.setToolTip(
            "Details of the selected song; for a skipped file, why it was skipped"
        )

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.hint)
        layout.addWidget(self.summary)
        layout.addWidget(self.progress_box)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.detail)
        self.setAcceptDrops(True)

    # -- drops on the panel around the list ---------------------------------------------------
    def paths_dropped(self, paths: list[Path]) -> None:
        self.import_paths(paths)

    # -- importing --------------------------------------------------------------------------
    def set_encoding(self, encoding: Encoding) -> bool:
        """Read songs into `encoding` from now on; re-imports the current songs when it changed
        (a model can only learn from, or continue, songs on its own grid). True if re-importing."""
        if encoding == self.encoding:
            return False
        self.encoding = encoding
        if self.sources:
            return self.import_paths(self.sources, sample_set=self.is_sample_set)
        return False

    def is_importing(self) -> bool:
        return self.job is not None and self.job.is_running()

    @Slot(list)
    def import_paths(self, paths: Sequence[Path], *, sample_set: bool = False) -> bool:
        """Import folders/files in a worker; the list is replaced when it finishes."""
        paths = [Path(p) for p in paths]
        if not paths:
            return False
        if self.is_importing():
            self.job.cancel()  # its results are ignored: only the newest import counts
        self.sources = paths
        self.is_sample_set = sample_set
        self.progress.setRange(0, 0)
        self.progress.setFormat(f"Importing {describe_source(paths)}…")
        self.progress_box.show()
        self.cancel_button.setEnabled(True)

        encoding = self.encoding

        def work(progress, cancel: threading.Event) -> DatasetReport:
            def report(done: int, total: int, path: Path) -> None:
                progress((done, total, str(path)))

            found = import_folder(paths, encoding, progress=report, cancel=cancel)
            return found, song_keys(found)

        job = run_function(work, "import", self)
        self.job = job
        job.progress.connect(lambda value: self._on_progress(value) if job is self.job else None)
        job.finished.connect(lambda found: self._on_finished(*found) if job is self.job else None)
        job.failed.connect(
            lambda message, details: self._on_failed(message, details) if job is self.job else None
        )
        job.done.connect(lambda: self._on_done() if job is self.job else None)
        self.importStarted.emit(paths)
        self.statusMessage.emit(f"Importing {describe_source(paths)}…")
        return True

    @Slot()
    def cancel_import(self) -> None:
        if self.is_importing():
            self.job.cancel()
            self.cancel_button.setEnabled(False)
            self.progress.setFormat("Cancelling…")

    @Slot(object)
    def _on_progress(self, value: tuple[int, int, str]) -> None:
        done, total, path = value
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{done:,} of {total:,}: {Path(path).name}")
        self.importProgress.emit(done, total)

    def _on_finished(self, report: DatasetReport, keys: dict[Path, str]) -> None:
        self.keys = keys
        self.set_report(report)
        self.importFinished.emit(report)
        verb = "Import cancelled" if report.cancelled else "Imported"
        self.statusMessage.emit(
            f"{verb}: {len(report.loaded)} songs loaded, {len(report.skipped)} skipped."
        )
        heap.settle()  # the new songs are the long-lived heap now

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        self.summary.setText(f"Import failed: {message}")
        self.summary.setToolTip(details[-2000:])
        self.statusMessage.emit(f"Import failed: {message}")

    @Slot()
    def _on_done(self) -> None:
        self.progress_box.hide()

    # -- list -------------------------------------------------------------------------------
    def set_report(self, report: DatasetReport) -> None:
        """Show every imported file: loaded songs first-class, skipped ones with their reason."""
        self.report = report
        self.list.setSortingEnabled(False)
        self.list.clear()
        warning = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        for result in report.results:
            item = result_item(result, warning, self._folder_of(result.path), self.keys)
            self.list.addTopLevelItem(item)
            if not result.ok:
                item.setFirstColumnSpanned(True)
        self.list.setSortingEnabled(True)
        source = describe_source(self.sources) if self.sources else "songs"
        self.summary.setText(report_summary(report, source))
        self.summary.setToolTip(", ".join(str(p) for p in self.sources))
        self.hint.setVisible(self.is_sample_set)
        self.detail.clear()

    def _folder_of(self, path: Path) -> str:
        """The song's folder relative to the imported folder that holds it ("" at its top; the
        imported folder's name first when several were imported)."""
        for source in self.sources:
            if source.is_dir():
                try:
                    relative = path.parent.relative_to(source)
                except ValueError:
                    continue
                folder = relative.as_posix() if relative.parts else ""
                if len(self.sources) > 1:
                    folder = "/".join(p for p in (source.name, folder) if p)
                return folder
        return path.parent.name

    def items(self) -> list[QTreeWidgetItem]:
        return [self.list.topLevelItem(i) for i in range(self.list.topLevelItemCount())]

    def result_of(self, item: QTreeWidgetItem | None) -> FileResult | None:
        return item.data(0, RESULT_ROLE) if item is not None else None

    def select_first_song(self) -> None:
        for item in self.items():
            result = self.result_of(item)
            if result is not None and result.ok:
                self.list.setCurrentItem(item)
                return

    def select_path(self, path: Path) -> bool:
        for item in self.items():
            result = self.result_of(item)
            if result is not None and result.path == path:
                self.list.setCurrentItem(item)
                return True
        return False

    def selected_result(self) -> FileResult | None:
        return self.result_of(self.list.currentItem())

    @Slot(QTreeWidgetItem, QTreeWidgetItem)
    def _on_current_changed(self, current: QTreeWidgetItem | None, _previous) -> None:
        result = self.result_of(current)
        if result is None:
            self.detail.clear()
            return
        if result.ok:
            self.detail.setText(
                f"{result.path.name}: {result.bars:.1f} bars, {format_length(result.seconds)}, "
                f"{result.notes} notes, {result.time_signature} at {result.bpm:.0f} BPM"
            )
            self.songSelected.emit(result)
        else:
            self.detail.setText(f"Why was {result.path.name} skipped? {result.reason}")


def song_keys(report: DatasetReport) -> dict[Path, str]:
    """Each loaded song's best-fitting key (run in the import's worker: it reads every note)."""
    keys = {}
    for result in report.loaded:
        found = best_key([result.matrix]) if result.matrix is not None else None
        if found is not None:
            keys[result.path] = found[0]
    return keys


def result_item(
    result: FileResult, warning: QIcon, folder: str = "", keys: dict[Path, str] | None = None
) -> NumericItem:
    """The song list's row for one imported file (a skipped one spans the row with its reason)."""
    item = NumericItem()
    name = result.title or result.path.stem
    item.setText(0, name if result.ok else result.path.name)
    item.setData(0, RESULT_ROLE, result)
    item.setData(0, Qt.ItemDataRole.UserRole + 1, (item.text(0).lower()))
    item.setText(SongList.FOLDER, folder)
    item.setToolTip(SongList.FOLDER, str(result.path.parent))
    key = (keys or {}).get(result.path, "")
    item.setToolTip(0, f"{name}\n{folder + '/' if folder else ''}{result.path.name}")
    if result.ok:
        _fill_loaded(item, result, key)
    else:
        for col in range(SongList.KEY, SongList.STATUS):
            item.setText(col, "—")
            item.setData(col, Qt.ItemDataRole.UserRole + 1, "" if col == SongList.KEY else -1.0)
        item.setIcon(0, warning)
        # The reason spans the whole row so it is readable without widening the dock.
        item.setText(0, f"{result.path.name}: skipped, {result.reason}")
        item.setText(SongList.STATUS, f"skipped: {result.reason}")
        for col in range(len(SongList.COLUMNS)):
            item.setToolTip(col, f"Skipped {result.path.name}: {result.reason}")
    return item


def _fill_loaded(item: NumericItem, result: FileResult, key: str) -> None:
    for col, text, order in (
        (SongList.KEY, key, key),
        (SongList.TEMPO, f"{result.bpm:.0f}", float(result.bpm)),
        (SongList.BARS, f"{result.bars:.1f}", float(result.bars)),
        (SongList.LENGTH, format_length(result.seconds), float(result.seconds)),
        (SongList.NOTES, str(result.notes), int(result.notes)),
    ):
        item.setText(col, text)
        item.setData(col, Qt.ItemDataRole.UserRole + 1, order)
    item.setToolTip(SongList.TEMPO, f"{result.bpm:.0f} BPM, {result.time_signature}")
    item.setText(SongList.STATUS, load_status(result))
    item.setToolTip(
        SongList.STATUS,
        f"{result.time_signature}, {result.bpm:.0f} BPM; "
        f"notes outside the pitch range: {result.folded} folded by octaves, "
        f"{result.dropped} dropped",
    )


def load_status(result: FileResult) -> str:
    """The status column: "ok", with how many notes were folded or dropped to fit the range."""
    notes = []
    if result.folded:
        notes.append(f"{result.folded} folded")
    if result.dropped:
        notes.append(f"{result.dropped} dropped")
    return "ok (" + ", ".join(notes) + ")" if notes else "ok"


def report_summary(report: DatasetReport, source: str) -> str:
    """The line over the song list: how many songs and bars came from `source`, how many were
    skipped, whether the import was cancelled."""
    loaded, skipped = len(report.loaded), len(report.skipped)
    total_bars = sum(r.bars for r in report.loaded)
    text = f"{source}: {loaded} songs, {total_bars:.0f} bars"
    if skipped:
        text += f"; {skipped} skipped (select one to see why)"
    if report.cancelled:
        text += " — import cancelled, partial list"
    if not report.results and not report.cancelled:
        text = f"No MIDI files (.mid, .midi) found in {source}."
    return text
