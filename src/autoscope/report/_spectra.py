"""The spectra behind the numbers: best, typical and worst point, with the scalarizer drawn.

:func:`pick_points` chooses three measurements of a run by their scalar (highest, the one nearest
the median, lowest); :func:`spectra_figure` draws their spectra with what the scalarizer looked at:
the bands of a peak ratio or band integral (shaded), the Gaussian fit of a peak scalarizer, the
enclosed area of a hysteresis loop (filled), the 9-parameter fit of a BEPS loop, or, for a 4D-STEM
diffraction pattern, the detector centre and the centre-of-mass shift (arrow).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from autoscope.report._words import run_meta, value_label

__all__ = ["pick_points", "spectra_figure"]

#: band parameters drawn as shaded windows, per scalarizer: (low key, high key, label)
_BANDS = {
    "peak_ratio": (("low1", "high1", "band 1"), ("low2", "high2", "band 2")),
    "band_integral": (("low", "high", "band"),),
    "band_max": (("low", "high", "band"),),
    "centroid": (("low", "high", "window"),),
    "peak_position": (("low", "high", "fit window"),),
    "peak_width": (("low", "high", "fit window"),),
    "peak_height": (("low", "high", "fit window"),),
}
_PEAK_FIT = ("peak_position", "peak_width", "peak_height")
_COLOURS = ("tab:green", "tab:blue", "tab:red")
_ARROW = 5  # the centre-of-mass arrow of a diffraction pattern is drawn this many times longer


def pick_points(values: Any) -> list[tuple[str, int]]:
    """Choose the best, a typical (nearest the median) and the worst measurement by their scalar.

    Parameters
    ----------
    values : array_like, shape (n,)
        Scalar of each measurement (NaN: undefined, never picked).

    Returns
    -------
    list of (str, int)
        ``("best", i)``, ``("typical", j)``, ``("worst", k)`` with indices into the measurements;
        fewer entries when fewer distinct finite values exist; empty when none.

    Examples
    --------
    >>> pick_points([0.5, np.nan, 2.0, 1.0, 0.1])
    [('best', 2), ('typical', 0), ('worst', 4)]
    """
    v = np.asarray(values, dtype=float)
    ok = np.flatnonzero(np.isfinite(v))
    if ok.size == 0:
        return []
    best, worst = int(ok[np.argmax(v[ok])]), int(ok[np.argmin(v[ok])])
    typical = int(ok[np.argmin(np.abs(v[ok] - np.median(v[ok])))])
    out, seen = [], set()
    for label, i in (("best", best), ("typical", typical), ("worst", worst)):
        if i not in seen:
            out.append((label, i))
            seen.add(i)
    return out


def spectra_figure(trace: Any) -> Figure:
    """Draw the spectra at the best, a typical and the worst measured point with the scalarizer.

    Parameters
    ----------
    trace : ExperimentTrace
        Needs ``spectra`` (n, L) or (n, K, K), ``axis``, ``values``, ``rows``, ``cols`` and
        ``specs["scalarizer"]``.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per picked point (1-D spectra and loops), or one image per point (diffraction
        patterns); each title gives the pixel, its position in the units of the scan and the value.
    """
    meta = run_meta(trace)
    spec = dict((getattr(trace, "specs", None) or {}).get("scalarizer") or {})
    spectra = np.asarray(getattr(trace, "spectra", np.zeros((0, 0))), dtype=float)
    picks = pick_points(trace.values) if spectra.shape[0] else []
    fig = Figure(figsize=(4.2 * max(len(picks), 1) + 0.6, 4.3), layout="constrained")
    if not picks:
        ax = fig.add_subplot()
        ax.text(0.5, 0.5, "no defined value measured", ha="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    axs = fig.subplots(1, len(picks), squeeze=False)[0]
    axis = np.asarray(trace.axis, dtype=float)
    for ax, (label, i), colour in zip(axs, picks, _COLOURS, strict=False):
        if spectra.ndim == 3:
            _pattern(fig, ax, spectra[i], axis, meta)
        elif spec.get("name") in ("loop_area", "beps_fit", "loop_height") or _is_loop(axis):
            _loop(ax, spectra[i], axis, spec, meta, colour)
        else:
            _spectrum(ax, spectra[i], axis, spec, meta, colour)
        r, c = int(trace.rows[i]), int(trace.cols[i])
        px, u = meta["pixel_size"], meta["pixel_units"]
        where = f"({r}, {c}) px" if u == "px" else f"y {r * px:.2f}, x {c * px:.2f} {u}"
        ax.set_title(
            f"{label}: {_with_unit(value_label(spec, meta), float(trace.values[i]))}\n"
            f"measurement {i + 1}, {where}",
            fontsize=9,
        )
    fig.suptitle(
        f"Measured spectra and what the scalarizer reads ({spec.get('name')})", fontsize=10
    )
    return fig


def _with_unit(label: str, value: float) -> str:
    """``"CoM shift (mrad)"``, 4.25 → ``"CoM shift = 4.25 mrad"`` (no unit when dimensionless)."""
    quantity, _, unit = label.partition(" (")
    unit = unit.rstrip(")")
    return f"{quantity} = {value:.3g}" + (f" {unit}" if unit and unit != "dimensionless" else "")


def _is_loop(axis: np.ndarray) -> bool:
    d = np.diff(axis)
    return axis.ndim == 1 and bool(np.any(d > 0) and np.any(d < 0))


def _axis_label(meta: dict[str, Any]) -> str:
    u = meta["axis_units"]
    return f"{meta['axis_name']} ({u})" if u else meta["axis_name"]


def _spectrum(ax, y, axis, spec, meta, colour) -> None:
    ax.plot(axis, y, "-", color=colour, lw=1.2)
    params = dict(spec.get("params") or {})
    bands = _BANDS.get(spec.get("name"), ())
    for (lo_key, hi_key, text), shade in zip(bands, ("gold", "tab:cyan"), strict=False):
        if lo_key in params and hi_key in params:
            lo, hi = float(params[lo_key]), float(params[hi_key])
            ax.axvspan(lo, hi, color=shade, alpha=0.25, lw=0)
            inside = (axis >= lo) & (axis <= hi) & np.isfinite(y)
            if inside.any() and spec.get("name") in ("peak_ratio", "band_max"):
                j = np.flatnonzero(inside)[np.argmax(y[inside])]
                ax.plot([axis[j]], [y[j]], "v", color="black", ms=6)
            ax.text((lo + hi) / 2, 0.97, text, transform=ax.get_xaxis_transform(),
                    ha="center", va="top", fontsize=7)  # fmt: skip
    if spec.get("name") in _PEAK_FIT and {"low", "high"} <= params.keys():
        _peak_fit(ax, y, axis, params)
    _zoom(ax, y, axis, [(float(params[a]), float(params[b])) for a, b, _ in bands
                        if a in params and b in params])  # fmt: skip
    ax.set_xlabel(_axis_label(meta), fontsize=8)
    ax.set_ylabel(f"intensity ({meta['spectrum_units']})", fontsize=8)


def _zoom(ax, y, axis, windows) -> None:
    """Scale the intensity axis to the windows (a zero-loss peak would flatten everything else)."""
    if not windows:
        return
    lo = min(w[0] for w in windows)
    span = max(w[1] for w in windows) - lo
    near = (axis >= lo - 0.1 * span) & np.isfinite(y)
    if not near.any():
        return
    top = float(np.max(y[near]))
    if np.nanmax(y) > 1.5 * top > 0:
        ax.set_ylim(min(0.0, float(np.min(y[near]))), 1.25 * top)
        ax.text(0.98, 0.6, "clipped: the strong signal\nleft of the windows is off scale",
                transform=ax.transAxes, ha="right", fontsize=6, color="0.4")  # fmt: skip


def _peak_fit(ax, y, axis, params) -> None:
    from autoscope.scalarizers import fit_peak

    fit = fit_peak(y, axis, float(params["low"]), float(params["high"]),
                   params.get("model", "gaussian"))  # fmt: skip
    if fit.method == "fit" and np.isfinite(fit.width):
        ax.axvline(fit.position, color="black", ls=":", lw=1)
        half = fit.width / 2
        ax.annotate("", (fit.position - half, 0.5), (fit.position + half, 0.5),
                    xycoords=("data", "axes fraction"),
                    arrowprops={"arrowstyle": "<->", "lw": 0.8})  # fmt: skip


def _loop(ax, y, axis, spec, meta, colour) -> None:
    ok = np.isfinite(y) & np.isfinite(axis)
    params = dict(spec.get("params") or {})
    window = int(params.get("despike", 9))
    if spec.get("name") in ("loop_area", "loop_height", "beps_fit") and window > 1 and ok.all():
        from autoscope.scalarizers import hampel  # what the scalarizer reads: the despiked loop

        closed = abs(float(axis[0] - axis[-1])) <= 1.5 * float(np.max(np.abs(np.diff(axis))))
        clean = hampel(y, window, float(params.get("spike_threshold", 4.0)), cyclic=closed)
        if not np.allclose(clean, y):
            ax.plot(axis, y, "-", color="0.6", lw=0.6, label="raw (before despiking)")
        y = clean
    ax.plot(axis[ok], y[ok], "-", color=colour, lw=1.2)
    if spec.get("name") == "loop_area":
        ax.fill(axis[ok], y[ok], color=colour, alpha=0.2, lw=0, label="enclosed area")
        ax.legend(fontsize=7, loc="lower right")
    if spec.get("name") == "beps_fit":
        from autoscope.scalarizers import beps_loop, fit_loop

        fit = fit_loop(y, axis)
        if fit.success:
            ax.plot(axis, beps_loop(axis, fit.coefficients), "--", color="black", lw=1,
                    label=f"9-parameter fit, R² {fit.r2:.2f}")  # fmt: skip
            ax.legend(fontsize=7, loc="lower right")
    ax.set_xlabel(_axis_label(meta), fontsize=8)
    ax.set_ylabel(f"response ({meta['spectrum_units']})", fontsize=8)


def _pattern(fig, ax, img, axis, meta) -> None:
    u = meta["axis_units"]
    a = axis if axis.ndim == 1 and axis.size == img.shape[0] else np.arange(img.shape[0])
    ext = (a[0], a[-1], a[-1], a[0])
    im = ax.imshow(img, cmap="inferno", extent=ext, origin="upper")
    fig.colorbar(im, ax=ax, shrink=0.8, label=f"intensity ({meta['spectrum_units']})")
    total = img.sum()
    if total > 0:
        cx, cy = (img.sum(axis=0) @ a) / total, (img.sum(axis=1) @ a) / total
        c0 = (a[0] + a[-1]) / 2
        ax.plot([c0], [c0], "+", color="cyan", ms=10, label="detector centre")
        tip = (c0 + _ARROW * (cx - c0), c0 + _ARROW * (cy - c0))  # a shift of a few mrad: magnified
        ax.annotate("", tip, (c0, c0), arrowprops={"arrowstyle": "->", "color": "cyan", "lw": 1.5})
        ax.plot([], [], "-", color="cyan", label=f"shift, drawn ×{_ARROW}")
        ax.plot([cx], [cy], "o", color="cyan", ms=3, label="centre of mass")
        ax.legend(fontsize=6, loc="lower right")
    ax.set_xlabel(f"{meta['axis_name']} x ({u})", fontsize=8)
    ax.set_ylabel(f"{meta['axis_name']} y ({u})", fontsize=8)
