"""Report figures: :class:`matplotlib.figure.Figure` objects built without pyplot (headless)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure

from autoscope.report._summary import candidate_grid, random_baseline, top_region
from autoscope.report._words import run_meta, value_label

if TYPE_CHECKING:
    from autoscope.trace import ExperimentTrace

__all__ = [
    "FIGURES",
    "acquisition_rank",
    "best_so_far_figure",
    "last_map",
    "map_figure",
    "structure_figure",
]

#: the report's panels: file stem → title
FIGURES = {
    "structure": "Structural image and measured path",
    "spectra": "Spectra at the best, a typical and the worst measured point",
    "mean": "Predicted mean",
    "uncertainty": "Predicted standard deviation (uncertainty)",
    "truth": "True map (noise-free scalarizer)",
    "acquisition": "Acquisition function, as a rank",
    "best_so_far": "Best so far vs random sampling",
    "interventions": "Measured values and the interventions of the operator",
    "boars": "BOARS votes and the evolving target spectrum",
}


def _scale(trace: Any) -> tuple[float, str]:
    meta = run_meta(trace)
    return meta["pixel_size"], meta["pixel_units"]


def _extent(trace: Any) -> tuple[float, float, float, float]:
    """Image extent (left, right, bottom, top) in physical units, pixel centres at ``i * px``."""
    h, w = np.asarray(trace.image).shape[:2]
    px, _ = _scale(trace)
    return (-0.5 * px, (w - 0.5) * px, (h - 0.5) * px, -0.5 * px)


def _label_axes(ax: Any, trace: Any) -> None:
    _, u = _scale(trace)
    ax.set(xlabel=f"x ({u})", ylabel=f"y ({u})")


def _first_channel(image: Any) -> np.ndarray:
    img = np.asarray(image, dtype=float)
    return img[..., 0] if img.ndim == 3 else img


def _overlay_points(ax: Any, trace: ExperimentTrace, **kw: Any) -> None:
    if len(trace.measured_ids):
        px, _ = _scale(trace)
        kw = {"s": 10, "c": "white", "edgecolors": "black", "linewidths": 0.5} | kw
        ax.scatter(np.asarray(trace.cols) * px, np.asarray(trace.rows) * px, **kw)


def structure_figure(trace: ExperimentTrace) -> Figure:
    """Draw the structural image (first channel) with the measured path, seeds and the best point.

    Returns
    -------
    matplotlib.figure.Figure
        One axes: image, the path as a line through the measured pixels in order, seed points
        (squares), model-chosen points coloured by step, the best measured point (star) and the
        box of candidate patch centres (dashed).
    """
    fig = Figure(figsize=(6.6, 5.4), layout="constrained")
    ax = fig.add_subplot()
    meta = run_meta(trace)
    px = meta["pixel_size"]
    im = ax.imshow(_first_channel(trace.image), cmap="gray", origin="upper", extent=_extent(trace))
    channel = (meta["image_units"].split(",")[0] or "a.u.").strip()
    fig.colorbar(im, ax=ax, shrink=0.8, pad=0.01, label=f"image intensity ({channel})")
    cand = np.asarray(trace.candidates) * px
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
    rows, cols = np.asarray(trace.rows) * px, np.asarray(trace.cols) * px
    if rows.size:
        seed = np.asarray([p == "seed" for p in trace.phases], dtype=bool)
        ax.plot(cols, rows, "-", color="orange", lw=0.8, alpha=0.8, label="path")
        ax.scatter(cols[seed], rows[seed], marker="s", s=18, c="tab:blue", label="seed")
        steps = np.arange(1, rows.size + 1)
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
            fig.colorbar(sc, ax=ax, label="measurement number (model choices)", shrink=0.8)
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
    ax.set_title(FIGURES["structure"])
    _label_axes(ax, trace)
    fig.legend(loc="outside lower center", ncol=5, fontsize="x-small")
    return fig


def map_figure(
    trace: Any,
    values: Any,
    title: str,
    *,
    cmap: str = "viridis",
    label: str = "",
    top: Any = None,
    norm: Any = None,
) -> Figure:
    """One per-candidate quantity as a map with the measured points on top.

    Parameters
    ----------
    trace : ExperimentTrace
    values : array_like, shape (N,) or (H, W), or None
        Per-candidate values (scattered to the grid) or a full map; ``None`` draws an empty panel
        saying that nothing was stored.
    title, cmap, label : str
        Axes title, colormap and colorbar label (quantity and unit).
    top : array_like of bool, shape (H, W), optional
        A region to outline (e.g. the true top 1%).
    norm : matplotlib.colors.Normalize, optional
        Colour scale (e.g. ``LogNorm`` for a rank).

    Returns
    -------
    matplotlib.figure.Figure
        Axes in the scan's physical units (``specs["pixel_size"]``; pixels if none stored).
    """
    fig = Figure(figsize=(5.5, 4.8), layout="constrained")
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=10)
    _label_axes(ax, trace)
    if values is None:
        ax.text(
            0.5, 0.5, "not stored in this run", ha="center", va="center", transform=ax.transAxes
        )
        return fig
    vals = np.asarray(values, dtype=float)
    grid = vals if vals.ndim == 2 else candidate_grid(trace, vals)
    im = ax.imshow(grid, cmap=cmap, origin="upper", extent=_extent(trace), norm=norm)
    fig.colorbar(im, ax=ax, label=label, shrink=0.8)
    if top is not None and np.any(top):
        px, _ = _scale(trace)
        t = np.asarray(top, dtype=float)
        yy, xx = np.mgrid[0 : t.shape[0], 0 : t.shape[1]] * px
        ax.contour(xx, yy, t, levels=[0.5], colors="red", linewidths=1.0)
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
    label = value_label((getattr(trace, "specs", None) or {}).get("scalarizer"), run_meta(trace))
    ax.set(title=FIGURES["best_so_far"], xlabel="measurements", ylabel=f"best so far: {label}")
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


def acquisition_rank(values: Any) -> np.ndarray:
    """Rank candidates by their acquisition value: 1 = the best (the next choice), NaN kept.

    The acquisition value of most policies spans many orders of magnitude (EI is almost zero
    away from the few promising spots), so its map on a linear scale is one colour; the rank on
    a log scale shows where the policy would go next, and then after that.

    Examples
    --------
    >>> acquisition_rank([0.1, np.nan, 3.0, 0.2]).tolist()
    [3.0, nan, 1.0, 2.0]
    """
    v = np.asarray(values, dtype=float)
    out = np.full(v.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(v))
    order = ok[np.argsort(-v[ok], kind="stable")]
    out[order] = np.arange(1, order.size + 1)
    return out


def last_map(trace: Any, key: str) -> tuple[np.ndarray | None, int | None]:
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
