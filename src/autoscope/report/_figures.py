"""Report figures: :class:`matplotlib.figure.Figure` objects built without pyplot (headless)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure

from autoscope.report._summary import candidate_grid, random_baseline, top_region

if TYPE_CHECKING:
    from autoscope.trace import ExperimentTrace

__all__ = ["FIGURES", "best_so_far_figure", "last_map", "map_figure", "structure_figure"]

#: the report's panels: file stem → title
FIGURES = {
    "structure": "Structural image and measured path",
    "mean": "Predicted mean",
    "uncertainty": "Predicted standard deviation (uncertainty)",
    "truth": "True map (noise-free scalarizer)",
    "acquisition": "Acquisition function",
    "best_so_far": "Best so far vs random sampling",
    "interventions": "Measured values and the interventions of the operator",
    "boars": "BOARS votes and the evolving target spectrum",
}


def _first_channel(image: Any) -> np.ndarray:
    img = np.asarray(image, dtype=float)
    return img[..., 0] if img.ndim == 3 else img


def _overlay_points(ax: Any, trace: ExperimentTrace, **kw: Any) -> None:
    if len(trace.measured_ids):
        kw = {"s": 10, "c": "white", "edgecolors": "black", "linewidths": 0.5} | kw
        ax.scatter(np.asarray(trace.cols), np.asarray(trace.rows), **kw)


def structure_figure(trace: ExperimentTrace) -> Figure:
    """Draw the structural image (first channel) with the measured path, seeds and the best point.

    Returns
    -------
    matplotlib.figure.Figure
        One axes: image, the path as a line through the measured pixels in order, seed points
        (squares), model-chosen points coloured by step, the best measured point (star) and the
        box of candidate patch centres (dashed).
    """
    fig = Figure(figsize=(5.5, 4.8), layout="constrained")
    ax = fig.add_subplot()
    ax.imshow(_first_channel(trace.image), cmap="gray", origin="upper")
    cand = np.asarray(trace.candidates)
    if cand.size:
        (r0, c0), (r1, c1) = cand.min(axis=0), cand.max(axis=0)
        ax.plot(
            [c0, c1, c1, c0, c0],
            [r0, r0, r1, r1, r0],
            "--",
            color="cyan",
            lw=0.8,
            label="candidate centres",
        )
    rows, cols = np.asarray(trace.rows), np.asarray(trace.cols)
    if rows.size:
        seed = np.asarray([p == "seed" for p in trace.phases], dtype=bool)
        ax.plot(cols, rows, "-", color="orange", lw=0.8, alpha=0.8, label="path")
        ax.scatter(cols[seed], rows[seed], marker="s", s=18, c="tab:blue", label="seed")
        steps = np.arange(rows.size)
        sc = ax.scatter(
            cols[~seed],
            rows[~seed],
            s=18,
            c=steps[~seed],
            cmap="autumn",
            edgecolors="black",
            linewidths=0.3,
            label="model choice",
        )
        if (~seed).any():
            fig.colorbar(sc, ax=ax, label="step", shrink=0.8)
        vals = np.asarray(trace.values, dtype=float)
        if np.isfinite(vals).any():
            b = int(np.nanargmax(vals))
            ax.scatter(
                [cols[b]],
                [rows[b]],
                marker="*",
                s=160,
                c="lime",
                edgecolors="black",
                label="best measured",
                zorder=5,
            )
    ax.set(title=FIGURES["structure"], xlabel="column (px)", ylabel="row (px)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3, fontsize="x-small")
    return fig


def map_figure(
    trace: ExperimentTrace,
    values: Any,
    title: str,
    *,
    cmap: str = "viridis",
    label: str = "",
    top: Any = None,
) -> Figure:
    """One per-candidate quantity as a map with the measured points on top.

    Parameters
    ----------
    trace : ExperimentTrace
    values : array_like, shape (N,) or (H, W), or None
        Per-candidate values (scattered to the grid) or a full map; ``None`` draws an empty panel
        saying that nothing was stored.
    title, cmap, label : str
        Axes title, colormap and colorbar label.
    top : array_like of bool, shape (H, W), optional
        A region to outline (e.g. the true top 1%).
    """
    fig = Figure(figsize=(5.5, 4.8), layout="constrained")
    ax = fig.add_subplot()
    ax.set(title=title, xlabel="column (px)", ylabel="row (px)")
    if values is None:
        ax.text(
            0.5, 0.5, "not stored in this run", ha="center", va="center", transform=ax.transAxes
        )
        return fig
    vals = np.asarray(values, dtype=float)
    grid = vals if vals.ndim == 2 else candidate_grid(trace, vals)
    im = ax.imshow(grid, cmap=cmap, origin="upper")
    fig.colorbar(im, ax=ax, label=label, shrink=0.8)
    if top is not None and np.any(top):
        ax.contour(np.asarray(top, dtype=float), levels=[0.5], colors="red", linewidths=1.0)
    _overlay_points(ax, trace)
    return fig


def best_so_far_figure(
    trace: ExperimentTrace, truth: Any = None, top_fraction: float = 0.01
) -> Figure:
    """Best value after each measurement, against the exact random-sampling baseline.

    Parameters
    ----------
    trace : ExperimentTrace
    truth : array_like, shape (N,), optional
        True value of every candidate. When given, the curve of the true value at the measured
        points is drawn with the random baseline's expectation and 10-90% band, the true best and
        the top-region threshold.
    top_fraction : float
        Fraction of candidates that make the top region.
    """
    fig = Figure(figsize=(6.5, 4.2), layout="constrained")
    ax = fig.add_subplot()
    vals = np.asarray(trace.values, dtype=float)
    k = np.arange(1, vals.size + 1)
    ax.set(title=FIGURES["best_so_far"], xlabel="measurements", ylabel="best value so far")
    if vals.size:
        ax.plot(k, np.fmax.accumulate(vals), "-", color="gray", lw=1, label="measured (noisy)")
    n_seed = int(sum(p == "seed" for p in trace.phases))
    if n_seed:
        ax.axvline(n_seed + 0.5, color="gray", ls=":", lw=1, label="end of seeding")
    if truth is not None and vals.size:
        tv = np.asarray(truth, dtype=float)
        ids = np.asarray(trace.measured_ids, dtype=int)
        ax.plot(k, np.fmax.accumulate(tv[ids]), "-", color="tab:red", lw=2, label="this run (true)")
        base = random_baseline(tv, k[-1])
        ax.plot(base["k"], base["mean"], "--", color="black", label="random: expectation")
        ax.fill_between(
            base["k"], base["q0.1"], base["q0.9"], color="black", alpha=0.12, label="random: 10-90%"
        )
        ax.axhline(
            np.min(tv[top_region(tv, top_fraction)]),
            color="tab:green",
            ls="-.",
            lw=1,
            label=f"true top {top_fraction:.0%}",
        )
        ax.axhline(np.nanmax(tv), color="tab:green", lw=1, label="true best")
    ax.legend(fontsize="x-small", loc="lower right")
    return fig


def last_map(trace: ExperimentTrace, key: str) -> tuple[np.ndarray | None, int | None]:
    """Return the last stored (not all-NaN) row of ``trace.maps[key]`` and its decision index."""
    maps = getattr(trace, "maps", None) or {}
    arr = maps.get(key)
    if arr is None:
        return None, None
    arr = np.asarray(arr, dtype=float)
    stored = np.flatnonzero(np.isfinite(arr).any(axis=1)) if arr.ndim == 2 else np.empty(0, int)
    if len(stored) == 0:
        return None, None
    return arr[stored[-1]], int(stored[-1])
