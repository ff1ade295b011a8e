"""Live views of a running exploration: a matplotlib figure and a text progress bar.

Both are Bluesky callbacks (subscribe them with ``RE.subscribe(...)``) that follow the three
streams of :func:`autoscope.plans.dkl_explore`: ``structure`` (the image and the candidate
pixels), ``primary`` (one event per measured spectrum, with its row, column and scalar value) and
``decisions`` (one event per model decision, with timings and, at the plan's cadence, the
predicted mean / std / acquisition over the candidates). Fields are found by name, with or
without a device prefix (``value`` matches ``point_value``, ``mean_map`` matches
``decision_mean_map``; see ``FIELDS``).

Examples
--------
In IPython (``%matplotlib qt`` or ``widget``)::

    from autoscope.live import LiveExploration
    RE.subscribe(LiveExploration())
    RE(dkl_explore(microscope, "peak_ratio", budget=80))
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import numpy as np
from bluesky.callbacks.core import CallbackBase
from bluesky.callbacks.mpl_plotting import QtAwareCallback
from event_model import Event, EventDescriptor, RunStart, RunStop

__all__ = ["FIELDS", "ExplorationProgress", "LiveExploration", "find_field"]

#: accepted field names per role, most specific first
FIELDS: dict[str, tuple[str, ...]] = {
    "image": ("structure_image", "image"),
    "candidates": ("candidates",),
    "row": ("row",),
    "col": ("col",),
    "value": ("value",),
    "step": ("step",),
    "mean": ("mean_map",),
    "std": ("std_map",),
    "acquisition": ("acquisition_map",),
    "t_total": ("t_total",),
}


def find_field(data: dict[str, Any], role: str) -> Any:
    """Return the value of the first field of ``data`` that plays ``role``, else ``None``.

    A field ``k`` matches a name ``n`` of ``FIELDS[role]`` when ``k == n`` or ``k`` ends with
    ``"_" + n``; exact matches win, then names in the order listed.
    """
    names = FIELDS[role]
    for n in names:
        if n in data:
            return data[n]
    for n in names:
        for k, v in data.items():
            if k.endswith("_" + n):
                return v
    return None


class _Streams:
    """Route event documents to ``on_<stream>(data)`` methods by their descriptor's stream name."""

    streams = ("structure", "primary", "decisions")

    def _reset_streams(self) -> None:
        self._desc: dict[str, str] = {}

    def start(self, doc: RunStart) -> RunStart:
        self._reset_streams()
        self.on_start(doc)
        return doc

    def descriptor(self, doc: EventDescriptor) -> EventDescriptor:
        self._desc[doc["uid"]] = doc.get("name", "primary")
        return doc

    def event(self, doc: Event) -> Event:
        stream = self._desc.get(doc["descriptor"])
        if stream in self.streams:
            getattr(self, f"on_{stream}")(doc["data"])
        return doc

    def on_start(self, doc: Mapping[str, Any]) -> None:
        """Handle a start document."""

    def on_structure(self, data: dict) -> None:
        """Handle a ``structure`` event."""

    def on_primary(self, data: dict) -> None:
        """Handle a ``primary`` event."""

    def on_decisions(self, data: dict) -> None:
        """Handle a ``decisions`` event."""


class ExplorationProgress(_Streams, CallbackBase):
    """A tqdm progress bar: measurements done, best value so far, latency of the last decision.

    Parameters
    ----------
    total : int, optional
        Number of measurements expected; by default the ``budget`` in the start document's
        ``autoscope`` metadata.
    file : file-like, optional
        Where the bar is written (default ``sys.stderr``).
    disable : bool
        Draw nothing (the counters are still kept).

    Attributes
    ----------
    n : int
        Measurements seen in the current run.
    best : float
        Best scalar value measured so far (NaN before the first).
    latency : float
        Wall time of the last decision, s (NaN before the first).
    """

    def __init__(self, total: int | None = None, *, file: Any = None, disable: bool = False):
        super().__init__()
        self.total, self.file, self.disable = total, file, disable
        self.bar: Any = None
        self._reset_streams()
        self.n, self.best, self.latency = 0, float("nan"), float("nan")

    def on_start(self, doc: Mapping[str, Any]) -> None:
        """Open a new bar."""
        from tqdm import tqdm

        total = self.total or (doc.get("autoscope") or {}).get("budget")
        self.n, self.best, self.latency = 0, float("nan"), float("nan")
        self.bar = tqdm(
            total=total,
            desc="exploring",
            unit="spectrum",
            file=self.file or sys.stderr,
            disable=self.disable,
            dynamic_ncols=True,
        )

    def _show(self) -> None:
        if self.bar is not None:
            lat = f"{self.latency:.3f}s" if np.isfinite(self.latency) else "-"
            self.bar.set_postfix(best=f"{self.best:.4g}", latency=lat)

    def on_primary(self, data: dict) -> None:
        """Count a measurement and update the best value."""
        value = find_field(data, "value")
        if value is not None and np.isfinite(value):
            self.best = float(value) if not np.isfinite(self.best) else max(self.best, float(value))
        self.n += 1
        if self.bar is not None:
            self.bar.update(1)
        self._show()

    def on_decisions(self, data: dict) -> None:
        """Show the latency of the decision."""
        t = find_field(data, "t_total")
        if t is not None and np.isfinite(t):  # the final record has no decision time
            self.latency = float(t)
            self._show()

    def stop(self, doc: RunStop) -> RunStop:
        """Close the bar."""
        if self.bar is not None:
            self.bar.close()
        return doc


class LiveExploration(_Streams, QtAwareCallback):
    """A matplotlib figure that follows an exploration as its events arrive.

    Four panels: the structural image (first channel) with the measured path and points, the best
    value so far, and the model's predicted mean and standard deviation over the candidates. The
    candidate pixels come from the ``structure`` stream; each ``primary`` event extends the path,
    each ``decisions`` event carrying maps replaces the mean/std images; then
    ``fig.canvas.draw_idle()``. With a Qt backend the drawing is moved to the main thread
    (bluesky's ``QtAwareCallback``); with Agg it is safe headless.

    Parameters
    ----------
    shape : (int, int), optional
        Grid shape ``(H, W)``; by default taken from the structural image. Needed only to show
        maps of a run without a ``structure`` stream (maps of ``H * W`` values, row-major).
    fig : matplotlib.figure.Figure, optional
        Figure to draw into; by default a new pyplot figure (so that IPython shows it).
    cmap : str
        Colormap of the mean map (the std map uses ``"magma"``).
    use_teleporter : bool, optional
        Passed to ``QtAwareCallback``; default: true for Qt backends.

    Attributes
    ----------
    fig : Figure
    ax_image, ax_best, ax_mean, ax_std : Axes
    image_artist, mean_artist, std_artist : AxesImage
    path_line, best_line : Line2D
    points : PathCollection
    """

    def __init__(
        self,
        shape: tuple[int, int] | None = None,
        *,
        fig: Any = None,
        cmap: str = "viridis",
        use_teleporter: bool | None = None,
    ):
        super().__init__(use_teleporter=use_teleporter)
        self.shape = tuple(int(s) for s in shape) if shape is not None else None
        self.cmap = cmap
        self.fig = fig
        self.candidates: np.ndarray | None = None
        self._reset_streams()
        self._clear()
        if fig is not None:
            self._build()

    # -- state and artists --------------------------------------------------------------------
    def _clear(self) -> None:
        self.rows: list[int] = []
        self.cols: list[int] = []
        self.values: list[float] = []
        self.n_decisions = 0

    def _build(self) -> None:
        if self.fig is None:
            import matplotlib.pyplot as plt

            self.fig = plt.figure(figsize=(10, 8))
        self.fig.clear()
        axes = self.fig.subplots(2, 2)
        (self.ax_image, self.ax_best), (self.ax_mean, self.ax_std) = axes
        blank = np.full(self.shape or (1, 1), np.nan)
        self.image_artist = self.ax_image.imshow(blank, cmap="gray")
        (self.path_line,) = self.ax_image.plot([], [], "-", color="orange", lw=0.8)
        self.points = self.ax_image.scatter([], [], s=14, c="red", edgecolors="black")
        (self.best_line,) = self.ax_best.plot([], [], "-", color="tab:red")
        self.mean_artist = self.ax_mean.imshow(blank, cmap=self.cmap)
        self.std_artist = self.ax_std.imshow(blank, cmap="magma")
        self.ax_image.set_title("structure and path")
        self.ax_best.set(title="best so far", xlabel="measurements", ylabel="value")
        self.ax_mean.set_title("predicted mean")
        self.ax_std.set_title("predicted std")

    def _draw(self) -> None:
        self.fig.canvas.draw_idle()

    def _grid(self, values: Any) -> np.ndarray | None:
        vals = np.asarray(values, dtype=float).ravel()
        if (
            self.candidates is not None
            and self.shape is not None
            and vals.size == self.candidates.shape[0]
        ):
            grid = np.full(self.shape, np.nan)
            grid[self.candidates[:, 0], self.candidates[:, 1]] = vals
            return grid
        if self.shape is not None and vals.size == self.shape[0] * self.shape[1]:
            return vals.reshape(self.shape)
        return None

    @staticmethod
    def _show_map(artist: Any, grid: np.ndarray) -> None:
        artist.set_data(grid)
        finite = grid[np.isfinite(grid)]
        if finite.size:
            lo, hi = float(finite.min()), float(finite.max())
            artist.set_clim(lo, hi if hi > lo else lo + 1e-12)
        h, w = grid.shape
        artist.set_extent((-0.5, w - 0.5, h - 0.5, -0.5))

    # -- document handlers --------------------------------------------------------------------
    def on_start(self, doc: Mapping[str, Any]) -> None:
        """Clear the state and (re)build the panels."""
        self._clear()
        self.candidates = None
        self._build()
        self.fig.suptitle(f"run {doc.get('uid', '')[:8]}")
        self._draw()

    def on_structure(self, data: dict) -> None:
        """Show the structural image and learn the candidate pixels."""
        image = find_field(data, "image")
        cand = find_field(data, "candidates")
        if cand is not None:
            self.candidates = np.asarray(cand, dtype=int).reshape(-1, 2)
        if image is not None:
            img = np.asarray(image, dtype=float)
            img = img[..., 0] if img.ndim == 3 else img
            self.shape = self.shape or img.shape[:2]
            self._show_map(self.image_artist, img)
            h, w = img.shape
            for ax in (self.ax_image, self.ax_mean, self.ax_std):
                ax.set_xlim(-0.5, w - 0.5)
                ax.set_ylim(h - 0.5, -0.5)
        self._draw()

    def on_primary(self, data: dict) -> None:
        """Extend the path and the best-so-far curve."""
        row, col, value = (find_field(data, k) for k in ("row", "col", "value"))
        if row is None or col is None:
            return
        self.rows.append(int(row))
        self.cols.append(int(col))
        self.values.append(float(value) if value is not None else np.nan)
        cols, rows = np.asarray(self.cols), np.asarray(self.rows)
        self.path_line.set_data(cols, rows)
        self.points.set_offsets(np.column_stack([cols, rows]))
        best = np.fmax.accumulate(np.asarray(self.values))
        self.best_line.set_data(np.arange(1, best.size + 1), best)
        self.ax_best.relim()
        self.ax_best.autoscale_view()
        self._draw()

    def on_decisions(self, data: dict) -> None:
        """Show the predicted mean and std maps, when the event carries them."""
        self.n_decisions += 1
        step = find_field(data, "step")
        for role, artist, ax in (
            ("mean", self.mean_artist, self.ax_mean),
            ("std", self.std_artist, self.ax_std),
        ):
            values = find_field(data, role)
            if values is None or np.ndim(values) == 0:
                continue
            grid = self._grid(values)
            if grid is None or not np.isfinite(grid).any():
                continue
            self._show_map(artist, grid)
            ax.set_title(f"predicted {role} (step {step})")
        self._draw()
