"""Live training plots (pyqtgraph): error curves, receptive-field heatmap, activation histogram,
and the board that shows the four of them: a 2×2 grid when each has room to be read, else one
tab each (a small screen gets whole plots one at a time rather than four unreadable strips).

Colours come from the widget palette so the plots read well in light and dark themes. Titles
and axes say what a musician sees in them; the machine-learning terms stay in the tooltips.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QGridLayout, QStackedLayout, QTabWidget, QWidget

from ..studio.training_progress import StableAxes

# Antialiased curves cost several times more to paint; the plots redraw while training runs.
pg.setConfigOptions(antialias=False)


def theme_colours(widget: QWidget) -> tuple[QColor, QColor]:
    """(background, foreground) for a plot inside `widget`."""
    pal = widget.palette()
    return pal.color(QPalette.ColorRole.Base), pal.color(QPalette.ColorRole.Text)


def style_plot(
    widget: pg.GraphicsView, plot: pg.PlotItem, title: str, left: str, bottom: str
) -> None:
    background, foreground = theme_colours(widget)
    widget.setBackground(background)
    plot.setTitle(title, color=foreground.name(), size="9pt")
    for name, label in (("left", left), ("bottom", bottom)):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(foreground))
        axis.setTextPen(pg.mkPen(foreground))
        if label:
            axis.setLabel(label, color=foreground.name())
        axis.enableAutoSIPrefix(False)  # no label re-layout each time the range changes
    plot.showGrid(x=False, y=True, alpha=0.15)
    plot.setDownsampling(auto=True, mode="peak")  # long runs: thousands of points stay fast
    plot.setClipToView(True)


class StableRange:
    """Applies `StableAxes` (ranges that change rarely) to `view`, a `PlotItem` or a
    `ViewBox`; with `track_x=False` only y is managed (a second view whose x is linked to the
    first)."""

    def __init__(self, view: pg.PlotItem | pg.ViewBox, *, track_x: bool = True) -> None:
        self.plot = view
        self.track_x = track_x
        self.axes = StableAxes()
        view.disableAutoRange()
        self.reset()

    def reset(self) -> None:
        self.axes.reset()
        if self.track_x:
            self.plot.setXRange(0.0, self.axes.x_max, padding=0)

    def update(self, xs: list[float], ys: list[float]) -> None:
        finite = [y for y in ys if y == y and abs(y) != float("inf")]
        if not xs or not finite:
            return
        self.update_x(xs)
        self.update_y(finite)

    def update_x(self, xs: list[float]) -> None:
        if not self.track_x:
            return
        x_max = self.axes.grow_x(xs)
        if x_max is not None:
            self.plot.setXRange(0.0, x_max, padding=0)

    def update_y(self, ys: list[float]) -> None:
        y_range = self.axes.fit_y(ys)
        if y_range is not None:
            self.plot.setYRange(*y_range, padding=0)


def tile_mosaic(fields: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Arrange receptive fields [H, window, pitches] as one image (row-major, low pitch at row 0)
    of tiles `window` wide and `pitches` tall, separated by NaN gaps. Returns (image, cols, rows)."""
    h, window, pitches = fields.shape
    cols = max(1, min(h, math.ceil(math.sqrt(h * pitches / max(window, 1)))))
    rows = math.ceil(h / cols)
    image = np.full((rows * (pitches + 1) - 1, cols * (window + 1) - 1), np.nan, dtype=np.float32)
    for i in range(h):
        r, c = divmod(i, cols)
        y0 = (rows - 1 - r) * (pitches + 1)  # first unit in the top-left tile
        x0 = c * (window + 1)
        image[y0 : y0 + pitches, x0 : x0 + window] = fields[i].T  # [pitches, window]
    return image, cols, rows


class ErrorPlot(pg.PlotWidget):
    """Reconstruction error per chunk (thin line) and per epoch (dots)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setToolTip(
            "Reconstruction error while training: thin line per chunk, dots per epoch. "
            "Lower is better."
        )
        plot = self.getPlotItem()
        style_plot(self, plot, "Learning the songs", "error", "epoch")
        accent = self.palette().color(QPalette.ColorRole.Highlight)
        self.chunk_curve = plot.plot(
            [], [], pen=pg.mkPen(accent.lighter(130), width=1), name="per chunk"
        )
        self.epoch_curve = plot.plot(
            [],
            [],
            pen=pg.mkPen(accent, width=2),
            symbol="o",
            symbolSize=5,
            symbolBrush=accent,
            symbolPen=None,
            name="per epoch",
        )
        self.clear_data()

    def clear_data(self) -> None:
        if not hasattr(self, "ranges"):
            self.ranges = StableRange(self.getPlotItem())
        self.ranges.reset()
        self.chunk_x: list[float] = []
        self.chunk_y: list[float] = []
        self.epoch_x: list[float] = []
        self.epoch_y: list[float] = []
        self.chunk_curve.setData([], [])
        self.epoch_curve.setData([], [])

    def add_points(
        self, chunks: list[tuple[float, float]], epochs: list[tuple[float, float]]
    ) -> None:
        """Append (x, error) points; one redraw per call however many points arrive."""
        if chunks:
            self.chunk_x.extend(x for x, _ in chunks)
            self.chunk_y.extend(y for _, y in chunks)
            self.chunk_curve.setData(self.chunk_x, self.chunk_y)
        if epochs:
            self.epoch_x.extend(x for x, _ in epochs)
            self.epoch_y.extend(y for _, y in epochs)
            # Dots only while they can be told apart.
            self.epoch_curve.setSymbol("o" if len(self.epoch_x) <= 300 else None)
            self.epoch_curve.setData(self.epoch_x, self.epoch_y)
        if chunks or epochs:
            self.ranges.update(
                [x for x, _ in chunks] + [x for x, _ in epochs],
                self.chunk_y + self.epoch_y,
            )


class GapPlot(pg.PlotWidget):
    """How the model does on the held-out songs, per epoch.

    Left axis (orange): the free-energy gap between held-out and training windows; a steady rise
    means the model memorises the training songs. Right axis (blue, shown once a kind reports
    it): the held-out songs' mean log-likelihood per frame (higher is better), with a dashed
    vertical line at the best epoch so far — the epoch that training with patience keeps.
    """

    TITLE = "Unseen songs"  # one title before and during training: the plot is the same
    GAP_LABEL = "memorising"
    SCORE_LABEL = "score, higher is better"
    SCORE_AXIS_WIDTH = 66  # room for "-10.05" and the axis label beside it, never clipped

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setToolTip(
            "Free-energy gap between held-out and training windows per epoch. "
            "A steady rise means the model starts memorising (over-fitting)."
        )
        plot = self.getPlotItem()
        style_plot(self, plot, self.TITLE, self.GAP_LABEL, "epoch")
        colour = QColor.fromHsvF(0.08, 0.85, 0.9)
        self.gap_colour = colour
        self.curve = plot.plot(
            [],
            [],
            pen=pg.mkPen(colour, width=2),
            symbol="s",
            symbolSize=4,
            symbolBrush=colour,
            symbolPen=None,
        )
        self._build_held_out_view(plot)
        self._build_best_line()
        plot.getViewBox().sigResized.connect(self._sync_views)
        self.clear_data()

    def _build_held_out_view(self, plot: pg.PlotItem) -> None:
        """The held-out log-likelihood: its own view (own y scale) sharing the epoch axis."""
        held = QColor.fromHsvF(0.58, 0.8, 0.85)
        self.held_colour = held
        self.held_view = pg.ViewBox()
        self.held_view.setMouseEnabled(x=False, y=False)
        self.held_view.setMenuEnabled(False)
        plot.scene().addItem(self.held_view)
        right = plot.getAxis("right")
        right.linkToView(self.held_view)
        right.setPen(pg.mkPen(held))
        right.setTextPen(pg.mkPen(held))
        right.enableAutoSIPrefix(False)
        right.setWidth(self.SCORE_AXIS_WIDTH)
        self.held_view.setXLink(plot.getViewBox())
        self.held_curve = pg.PlotDataItem(
            [],
            [],
            pen=pg.mkPen(held, width=2),
            symbol="o",
            symbolSize=5,
            symbolBrush=held,
            symbolPen=None,
        )
        self.held_view.addItem(self.held_curve)

    def _build_best_line(self) -> None:
        """The dashed line at the best epoch, in the held-out curve's own (x-linked) view, drawn
        over its markers."""
        background, foreground = theme_colours(self)
        backdrop = QColor(background)
        backdrop.setAlpha(220)  # the label stays readable over curve markers
        self.best_line = pg.InfiniteLine(
            angle=90,
            movable=False,
            pen=pg.mkPen(foreground, width=1, style=Qt.PenStyle.DashLine),
            label="best {value:.0f}",
            labelOpts={
                "position": 0.92,
                "color": foreground.name(),
                "fill": backdrop,
                "anchors": [(1, 0), (1, 0)],
            },
        )
        self.best_line.setZValue(10)
        self.held_view.addItem(self.best_line, ignoreBounds=True)

    def _sync_views(self) -> None:
        main = self.getPlotItem().getViewBox()
        self.held_view.setGeometry(main.sceneBoundingRect())
        self.held_view.linkedViewChanged(main, self.held_view.XAxis)

    def clear_data(self) -> None:
        if not hasattr(self, "ranges"):
            self.ranges = StableRange(self.getPlotItem())
            self.held_ranges = StableRange(self.held_view, track_x=False)
        self.ranges.reset()
        self.held_ranges.reset()
        self.xs: list[float] = []
        self.ys: list[float] = []
        self.held_xs: list[float] = []
        self.held_ys: list[float] = []
        self.best_epoch: int | None = None
        self.curve.setData([], [])
        self.held_curve.setData([], [])
        self.best_line.hide()
        self._show_score_axis(False)

    def _show_score_axis(self, shown: bool) -> None:
        plot = self.getPlotItem()
        if shown == plot.getAxis("right").isVisible():
            return
        _, foreground = theme_colours(self)
        if shown:
            plot.showAxis("right")
            plot.getAxis("right").setLabel(self.SCORE_LABEL, color=self.held_colour.name())
            plot.getAxis("left").setLabel(self.GAP_LABEL, color=self.gap_colour.name())
            self.setToolTip(
                "Songs the model never trains on, per epoch. Blue, right axis: how well the "
                "model predicts them (held-out log-likelihood per frame) — higher is better; the "
                "dashed line marks the best epoch so far. Orange, left axis: how much better it "
                "knows the training songs than these (the free-energy gap) — a steady rise means "
                "it memorises the training songs."
            )
        else:
            plot.hideAxis("right")
            plot.getAxis("left").setLabel(self.GAP_LABEL, color=foreground.name())
            self.setToolTip(
                "Free-energy gap between held-out and training windows per epoch. "
                "A steady rise means the model starts memorising (over-fitting)."
            )
        self._sync_views()

    def add_points(self, points: list[tuple[float, float]]) -> None:
        if not points:
            return
        self.xs.extend(x for x, _ in points)
        self.ys.extend(y for _, y in points)
        self.curve.setSymbol("s" if len(self.xs) <= 300 else None)
        self.curve.setData(self.xs, self.ys)
        self.ranges.update([x for x, _ in points], self.ys)

    def add_held_out(self, points: list[tuple[float, float]]) -> None:
        """Append (epoch, held-out log-likelihood per frame) points (right axis)."""
        if not points:
            return
        self._show_score_axis(True)
        self.held_xs.extend(x for x, _ in points)
        self.held_ys.extend(y for _, y in points)
        self.held_curve.setData(self.held_xs, self.held_ys)
        self.ranges.update_x([x for x, _ in points])
        self.held_ranges.update_y(self.held_ys)

    def set_best_epoch(self, epoch: int | None) -> None:
        """Mark the best held-out epoch with a dashed vertical line (None: no mark)."""
        self.best_epoch = epoch
        if epoch is None:
            self.best_line.hide()
            return
        self.best_line.setValue(float(epoch))
        self.ranges.update_x([float(epoch)])
        self.best_line.show()


class WeightHeatmap(pg.GraphicsLayoutWidget):
    """Each hidden unit's receptive field as a window-steps × pitches tile (time → right, pitch ↑),
    with a symmetric diverging colour bar."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setToolTip(
            "The patterns the model has learned to listen for, one tile each (a hidden unit and "
            "its weights): time runs to the right, pitch upwards; red notes make the pattern "
            "light up, blue notes hold it back."
        )
        background, foreground = theme_colours(self)
        self.setBackground(background)
        self.plot = self.addPlot()
        self.plot.setTitle("Patterns it learned", color=foreground.name(), size="9pt")
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setMenuEnabled(False)
        self.plot.getViewBox().setAspectLocked(False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        cmap = pg.colormap.get("CET-D1A")
        self.colour_bar = pg.ColorBarItem(
            values=(-0.01, 0.01), colorMap=cmap, interactive=False, width=12
        )
        self.colour_bar.setImageItem(self.image, insert_in=self.plot)
        self.colour_bar.axis.setTextPen(pg.mkPen(foreground))
        self.colour_bar.axis.setPen(pg.mkPen(foreground))
        # new levels every update while training: no SI-prefix relabelling on the GUI thread
        self.colour_bar.axis.enableAutoSIPrefix(False)
        self.updates = 0
        self.shape: tuple[int, int, int] | None = None
        self.band: slice | None = None  # pitch columns shown (songs rarely use all of them)

    def set_fields(self, fields: np.ndarray, band: slice | None = None) -> None:
        """Show `fields` [H, window, pitches]; `band` limits the pitch columns to those the songs
        use (the others keep near-zero weights and only waste space)."""
        fields = np.asarray(fields, dtype=np.float32)
        if fields.ndim != 3 or fields.size == 0:
            return
        self.shape = fields.shape
        band = band if band is not None else slice(0, fields.shape[2])
        image, _cols, _rows = tile_mosaic(fields[:, :, band])
        limit = float(np.nanmax(np.abs(image))) or 1e-6
        self.image.setImage(image, autoLevels=False)
        self.colour_bar.setLevels((-limit, limit))
        if band != self.band:
            self.band = band
            self.plot.getViewBox().autoRange(padding=0.01)
        self.updates += 1

    def clear_data(self) -> None:
        self.image.clear()
        self.shape = None
        self.band: slice | None = None


class ActivationHistogram(pg.PlotWidget):
    """How often hidden units switch on: units stuck at 0 or 1 are wasted capacity."""

    BINS = 20

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setToolTip(
            "How often each learned pattern is heard in your songs (a histogram of the hidden "
            "units' mean activation). Patterns heard never (near 0) or always (near 1) tell no "
            "songs apart: room the model wastes."
        )
        plot = self.getPlotItem()
        style_plot(self, plot, "Patterns in use", "patterns", "how often heard")
        colour = QColor.fromHsvF(0.36, 0.6, 0.75)
        self.curve = plot.plot(
            [0.0, 1.0], [0.0], stepMode="center", fillLevel=0, brush=colour, pen=pg.mkPen(colour)
        )
        plot.setXRange(0, 1, padding=0.02)
        plot.setYRange(0, 10, padding=0.05)
        self.updates = 0

    def set_activations(self, activations: np.ndarray) -> None:
        counts, edges = np.histogram(np.asarray(activations, float), bins=self.BINS, range=(0, 1))
        self.curve.setData(edges, counts)
        self.getPlotItem().setYRange(0, max(int(counts.max()), 1) * 1.1, padding=0)
        self.updates += 1

    def clear_data(self) -> None:
        self.curve.setData([0.0, 1.0], [0.0])


def show_title(widget: QWidget, shown: bool) -> None:
    """Show or hide the title of a plot widget (its text is kept for showing it again)."""
    item = widget.getPlotItem() if hasattr(widget, "getPlotItem") else getattr(widget, "plot", None)
    if item is None:
        return
    label = item.titleLabel
    if shown:
        item.setTitle(label.text)
    else:
        item.setTitle(None)


class PlotBoard(QWidget):
    """The training plots as a 2×2 grid when the board has room for each to be read, else one
    tab each. The plots keep their data when they move between the two."""

    GRID_MIN = QSize(440, 340)  # below this a grid's plots are strips: tabs instead

    def __init__(self, plots: list[tuple[str, QWidget]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plots = plots
        self.grid = QWidget()
        self.grid_layout = QGridLayout(self.grid)
        self.grid_layout.setContentsMargins(0, 0, 0, 0)
        self.grid_layout.setSpacing(2)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.stack = QStackedLayout(self)
        self.stack.addWidget(self.grid)
        self.stack.addWidget(self.tabs)
        self.mode = ""
        self.arrange("tabs")

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return self.tabs.minimumSizeHint()

    def arrange(self, mode: str) -> None:
        """Show the plots as a "grid" or as "tabs"."""
        if mode == self.mode:
            return
        self.mode = mode
        if mode == "grid":
            current = self.tabs.currentIndex()
            self.tabs.clear()
            for i, (_name, plot) in enumerate(self.plots):
                self.grid_layout.addWidget(plot, i // 2, i % 2)
                plot.show()
            self.stack.setCurrentWidget(self.grid)
            self._current = current
        else:
            for name, plot in self.plots:
                self.grid_layout.removeWidget(plot)
                index = self.tabs.addTab(plot, name)
                self.tabs.setTabToolTip(index, plot.toolTip())
            self.tabs.setCurrentIndex(max(getattr(self, "_current", 0), 0))
            self.stack.setCurrentWidget(self.tabs)
        for _name, plot in self.plots:  # a tab names its plot: the room goes to the plot
            show_title(plot, mode == "grid")

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        size = event.size()
        roomy = size.width() >= self.GRID_MIN.width() and size.height() >= self.GRID_MIN.height()
        self.arrange("grid" if roomy else "tabs")
