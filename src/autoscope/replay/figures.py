"""Figures of the replay analyses: :class:`matplotlib.figure.Figure` objects, no pyplot state.

Each function takes a result of :mod:`autoscope.replay` and returns a new Figure
(safe headless and in threads); save it with ``fig.savefig(path)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import numpy as np
from matplotlib.figure import Figure

from autoscope.replay._common import candidate_map, pca_embed

if TYPE_CHECKING:
    from autoscope.trace import ExperimentTrace

__all__ = [
    "best_channel_figure",
    "compare_figure",
    "counterfactual_figure",
    "feature_space_figure",
    "retrace_figure",
]


def _gray(image: Any) -> np.ndarray:
    img = np.asarray(image, dtype=float)
    return img[..., 0] if img.ndim == 3 else img


def _grid_image(ax: Any, candidates: np.ndarray, values: Any, title: str, cmap: str = "viridis",
                scale: tuple[float, str] = (1.0, "px")):  # fmt: skip
    grid = candidate_map(candidates, values)
    cand = np.asarray(candidates)
    (r0, c0), (r1, c1) = cand.min(axis=0), cand.max(axis=0)
    px, u = scale
    ext = ((c0 - 0.5) * px, (c1 + 0.5) * px, (r1 + 0.5) * px, (r0 - 0.5) * px)
    im = ax.imshow(grid, origin="upper", cmap=cmap, extent=ext)
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(f"x ({u})")
    ax.set_ylabel(f"y ({u})")
    return im


def _meta(trace: Any) -> dict[str, Any]:
    from autoscope.report import run_meta

    return run_meta(trace)


def counterfactual_figure(result: Any, trace: ExperimentTrace | None = None) -> Figure:
    """Actual vs counterfactual choices, rank of the actual point, values, last mean map.

    Parameters
    ----------
    result : CounterfactualResult
    trace : ExperimentTrace, optional
        For the structural image under the paths (default ``result.image``).

    Returns
    -------
    matplotlib.figure.Figure
        2 x 2 panels.
    """
    from autoscope.report import value_label

    fig = Figure(figsize=(10, 8.5), layout="constrained")
    axs = fig.subplots(2, 2)
    image = getattr(trace, "image", None) if trace is not None else getattr(result, "image", None)
    meta = _meta(trace)
    px, u = meta["pixel_size"], meta["pixel_units"]
    cand = np.asarray(result.candidates)
    ax = axs[0, 0]
    if image is not None:
        h, w = np.asarray(image).shape[:2]
        ext = (-0.5 * px, (w - 0.5) * px, (h - 0.5) * px, -0.5 * px)
        ax.imshow(_gray(image), cmap="gray", origin="upper", extent=ext)
    ax.set_xlabel(f"x ({u})")
    ax.set_ylabel(f"y ({u})")
    act = (cand[result.actual_ids] if result.n_decisions else np.empty((0, 2))) * px
    cf = result.chosen_pixels()
    ok = cf[:, 0] >= 0
    cf = np.where(ok[:, None], cf * px, cf)
    ax.plot(act[:, 1], act[:, 0], "-o", color="orange", ms=3, lw=0.8, label="actual path")
    for (ra, ca), (rc, cc), good in zip(act, cf, ok, strict=True):
        if good and (ra, ca) != (rc, cc):
            ax.plot([ca, cc], [ra, rc], ":", color="cyan", lw=0.6)
    ax.scatter(cf[ok, 1], cf[ok, 0], marker="x", s=22, c="cyan", label="counterfactual choice")
    ax.set_title(f"paths (agreement {result.agreement:.0%})", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    ax = axs[0, 1]
    t = np.arange(result.n_decisions)
    rank = np.where(result.actual_rank >= 0, result.actual_rank, np.nan)
    ax.semilogy(t, rank + 1, "o-", ms=3, color="tab:purple")
    ax.set_xlabel("decision")
    ax.set_ylabel("rank of the run's choice (1 = same choice)")
    ax.set_title("actual point under the counterfactual policy (1 = agrees)", fontsize=9)
    ax = axs[1, 0]
    steps = np.arange(len(result.values))
    ax.plot(
        steps,
        _unit(result.original_values),
        "o-",
        ms=3,
        label=f"run: {_name(result.run_scalarizer)}",
    )
    ax.plot(
        steps, _unit(result.values), "s-", ms=3, label=f"counterfactual: {_name(result.scalarizer)}"
    )
    ax.set_xlabel("measurement")
    ax.set_ylabel("value (min-max scaled)")
    ax.set_title("scalars along the actual path", fontsize=9)
    ax.legend(fontsize=7)
    ax = axs[1, 1]
    mean = result.final_mean if result.final_mean is not None else None
    if mean is not None:
        im = _grid_image(ax, cand, mean, "counterfactual mean after the path", scale=(px, u))
        label = value_label(result.scalarizer, meta)
        fig.colorbar(im, ax=ax, shrink=0.8, label=f"predicted {label}")
    else:
        ax.set_axis_off()
    return fig


def _unit(v: Any) -> np.ndarray:
    a = np.asarray(v, dtype=float)
    if not np.isfinite(a).any():
        return a
    lo, hi = np.nanmin(a), np.nanmax(a)
    return (a - lo) / (hi - lo) if hi > lo else a - lo


def _name(spec: Any) -> str:
    if not isinstance(spec, dict):
        return "own scalarizer"
    params = ",".join(f"{k}={v}" for k, v in (spec.get("params") or {}).items())
    return f"{spec.get('name')}({params})"


def retrace_figure(result: Any) -> Figure:
    """Surprise per step, then-vs-final predictions, acquisition terms, map change.

    Returns
    -------
    matplotlib.figure.Figure
        2 x 2 panels.
    """
    fig = Figure(figsize=(10, 8), layout="constrained")
    axs = fig.subplots(2, 2)
    s = result.steps
    ax = axs[0, 0]
    ax.bar(s, np.nan_to_num(result.surprise), color="tab:red")
    ax.set_xlabel("measurement step")
    ax.set_ylabel("surprise |y - mean then| / std then (σ)")
    ax.set_title("surprise", fontsize=9)
    ax = axs[0, 1]
    ax.plot(s, result.values, "ko", ms=4, label="measured")
    ax.errorbar(s, result.mean_then, yerr=result.std_then, fmt="o", ms=3, capsize=2,
                label="model then")  # fmt: skip
    ax.errorbar(s + 0.2, result.mean_final, yerr=result.std_final, fmt="s", ms=3, capsize=2,
                label="fully trained model")  # fmt: skip
    ax.set_xlabel("measurement step")
    ax.set_ylabel("measured scalar (run's units)")
    ax.set_title("what the model knew then vs at the end", fontsize=9)
    ax.legend(fontsize=7)
    ax = axs[1, 0]
    ax.bar(s, result.exploitation, color="tab:blue", label="exploitation")
    ax.bar(s, result.exploration, bottom=np.where(result.exploitation > 0, result.exploitation, 0),
           color="tab:orange", label="exploration")  # fmt: skip
    ax.set_xlabel("measurement step")
    ax.set_ylabel("acquisition value")
    ax.set_title(f"acquisition terms ({result.policy.get('name', '?')})", fontsize=9)
    ax.legend(fontsize=7)
    ax = axs[1, 1]
    if result.map_change is not None and np.isfinite(result.map_change).any():
        ax.bar(s, np.nan_to_num(result.map_change), color="tab:green")
        ax.set_xlabel("measurement step")
        ax.set_ylabel("RMS change of the mean map")
        ax.set_title("how much each measurement changed the map", fontsize=9)
    else:
        im = _grid_image(ax, result.candidates, result.final_mean, "fully trained model: mean")
        fig.colorbar(im, ax=ax, shrink=0.8, label="predicted scalar (run's units)")
    return fig


def feature_space_figure(result: Any) -> Figure:
    """Draw the trajectory over the global embedding (and over the run's DKL embedding).

    Returns
    -------
    matplotlib.figure.Figure
        One panel per embedding; all candidates grey, measured points coloured by
        their scalar, the path as a line (seeds as squares).
    """
    dkl = result.dkl_embedding is not None and result.dkl_embedding.shape[1] >= 1
    fig = Figure(figsize=(10 if dkl else 5.5, 4.8), layout="constrained")
    axs = np.atleast_1d(cast(Any, fig.subplots(1, 2 if dkl else 1)))
    _trajectory(fig, axs[0], result.embedding, result, f"{result.method.upper()} of all patches")
    if dkl:
        emb, title = result.dkl_embedding, "the run's DKL embedding (end of run)"
        if emb.shape[1] > 2:  # a 4-D embedding (spatial_dkl): its first two principal axes
            emb, title = pca_embed(emb, 2)[0], f"the run's {emb.shape[1]}-D DKL embedding, PCA"
        emb = emb if emb.shape[1] >= 2 else np.column_stack([emb[:, 0], result.dkl_mean])
        _trajectory(fig, axs[1], emb, result, title)
    return fig


def _trajectory(fig: Figure, ax: Any, emb: np.ndarray, result: Any, title: str) -> None:
    ax.scatter(emb[:, 0], emb[:, 1], s=3, c="0.8", label="all patches")
    traj = emb[result.measured_ids]
    ax.plot(traj[:, 0], traj[:, 1], "-", color="0.3", lw=0.6)
    seed = np.asarray([p == "seed" for p in result.phases], dtype=bool)
    if seed.size != len(traj):
        seed = np.zeros(len(traj), dtype=bool)
    v = np.asarray(result.values, dtype=float)
    lim = (np.nanmin(v), np.nanmax(v)) if np.isfinite(v).any() else (0.0, 1.0)
    kw = {"cmap": "plasma", "vmin": lim[0], "vmax": lim[1], "edgecolors": "k", "linewidths": 0.3}
    sc = ax.scatter(traj[~seed, 0], traj[~seed, 1], c=v[~seed], s=20, label="model choices", **kw)
    ax.scatter(traj[seed, 0], traj[seed, 1], c=v[seed], s=24, marker="s", label="seeds", **kw)
    fig.colorbar(sc, ax=ax, shrink=0.8, label="measured scalar")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="best")


def best_channel_figure(rows: list[dict[str, Any]]) -> Figure:
    """Held-out error of every channel subset (best at the top), log ML annotated.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = Figure(figsize=(6, 0.45 * max(len(rows), 2) + 1.2), layout="constrained")
    ax = fig.add_subplot()
    labels = [" + ".join(r["channels"]) for r in rows]
    err = [r["kfold_nrmse"] for r in rows]
    y = np.arange(len(rows))[::-1]
    ax.barh(y, err, color=["tab:green"] + ["tab:gray"] * (len(rows) - 1))
    ax.set_yticks(y, labels, fontsize=8)
    for yi, r in zip(y, rows, strict=True):
        ax.text(r["kfold_nrmse"], yi, f"  log ML/pt {r['log_ml']:.2f}", va="center", fontsize=7)
    ax.set_xlabel("held-out RMSE / std (k-fold along the path)")
    ax.set_title("which channel predicts the measured scalar", fontsize=9)
    return fig


def compare_figure(result: Any) -> Figure:
    """Best-so-far curves, paths on the first run's image, feature-space coverage.

    Returns
    -------
    matplotlib.figure.Figure
        1 x 3 panels.
    """
    fig = Figure(figsize=(14, 4.6), layout="constrained")
    axs = fig.subplots(1, 3)
    for label, b in zip(result.labels, result.best_so_far, strict=True):
        axs[0].plot(np.arange(1, len(b) + 1), b, label=label)
    axs[0].set_xlabel("measurements")
    axs[0].set_ylabel("best so far")
    axs[0].legend(fontsize=7)
    axs[1].imshow(_gray(result.image), cmap="gray", origin="upper")
    for label, p in zip(result.labels, result.paths, strict=True):
        axs[1].plot(p[:, 1], p[:, 0], "-o", ms=2, lw=0.7, label=label)
    axs[1].set_title("paths", fontsize=9)
    for label, c in zip(result.labels, result.coverage_curves, strict=True):
        axs[2].plot(np.arange(1, len(c) + 1), c, label=label)
    axs[2].set_xlabel("measurements")
    axs[2].set_ylabel(f"feature-space coverage ({result.bins}x{result.bins} PCA cells)")
    axs[2].legend(fontsize=7)
    return fig
