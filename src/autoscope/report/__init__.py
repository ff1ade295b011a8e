"""The report of one autonomous experiment: figures and an ``index.html`` made from a stored trace.

Everything here reads an :class:`~autoscope.trace.ExperimentTrace` (or any object with the same
attributes: ``uid``, ``image``, ``candidates``, ``measured_ids``, ``rows``, ``cols``, ``values``,
``phases``, ``decisions``, ``maps``, ``specs``, ``stop``) and, for simulated samples, the sample's
ground truth (``trace.sample()``). Figures are :class:`matplotlib.figure.Figure` objects built
without pyplot, so the package is safe headless and in threads. The random-sampling baseline of
the best-so-far panel is exact (see :func:`random_baseline`).

Examples
--------
>>> from autoscope import report, trace  # doctest: +SKIP
>>> tr = trace.load(uid, catalog)  # doctest: +SKIP
>>> report.make_report(tr, "autoscope-report/run1")  # doctest: +SKIP
PosixPath('autoscope-report/run1/index.html')
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.colors import LogNorm

from autoscope.report._figures import (
    FIGURES,
    acquisition_rank,
    best_so_far_figure,
    last_map,
    map_figure,
    structure_figure,
)
from autoscope.report._page import BENCHMARK, CAPTIONS, render
from autoscope.report._spectra import pick_points, spectra_figure
from autoscope.report._summary import (
    candidate_grid,
    format_summary,
    random_baseline,
    random_median_steps,
    summarize,
    top_region,
    truth_values,
)
from autoscope.report._words import (
    axis_summary,
    describe_policy,
    describe_scalarizer,
    run_meta,
    value_label,
)

if TYPE_CHECKING:
    from autoscope.protocols import Sample
    from autoscope.trace import ExperimentTrace

__all__ = [
    "BENCHMARK",
    "CAPTIONS",
    "FIGURES",
    "acquisition_rank",
    "axis_summary",
    "best_so_far_figure",
    "candidate_grid",
    "describe_policy",
    "describe_scalarizer",
    "format_summary",
    "make_report",
    "map_figure",
    "pick_points",
    "random_baseline",
    "random_median_steps",
    "run_meta",
    "spectra_figure",
    "structure_figure",
    "summarize",
    "top_region",
    "truth_values",
    "value_label",
]


def make_report(
    trace: ExperimentTrace,
    out_dir: Any,
    sample: Sample | None = None,
    *,
    top_fraction: float = 0.01,
) -> Path:
    """Write the PNG panels, ``summary.json`` and ``index.html`` of a run.

    Parameters
    ----------
    trace : ExperimentTrace
        The stored run (``autoscope.trace.load``).
    out_dir : str or path
        Directory to write into (created).
    sample : sample, optional
        Ground truth; by default ``trace.sample()`` when the trace has it (simulated samples).
    top_fraction : float
        Size of the true top region as a fraction of the candidates.

    Returns
    -------
    pathlib.Path
        The path of ``index.html``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if sample is None and hasattr(trace, "sample"):
        sample = trace.sample()
    summary = summarize(trace, sample, top_fraction)
    tv = truth_values(trace, sample) if sample is not None else None
    top = None if tv is None else candidate_grid(trace, top_region(tv, top_fraction)) == 1
    meta = run_meta(trace)
    spec = (trace.specs or {}).get("scalarizer")
    vlabel = value_label(spec, meta)
    panels = {"structure": structure_figure(trace), "spectra": spectra_figure(trace)}
    for stem, key, cmap, label in (
        ("mean", "mean", "viridis", f"predicted {vlabel}"),
        ("uncertainty", "std", "magma", f"standard deviation of the {vlabel}"),
    ):
        arr, i = last_map(trace, key)
        panels[stem] = map_figure(trace, arr, _map_title(trace, stem, i), cmap=cmap,
                                  label=label, top=top)  # fmt: skip
    truth_map = np.asarray(sample.truth(spec)) if sample is not None else None
    panels["truth"] = map_figure(trace, truth_map, FIGURES["truth"], label=f"true {vlabel}",
                                 top=top)  # fmt: skip
    arr, i = last_map(trace, "acquisition")
    rank = None if arr is None else acquisition_rank(arr)
    norm = None if rank is None else LogNorm(1, max(2.0, float(np.nanmax(rank))))
    panels["acquisition"] = map_figure(
        trace, rank, _map_title(trace, "acquisition", i), cmap="cividis_r",
        label="rank of the acquisition value (1 = next choice)", top=top, norm=norm,
    )  # fmt: skip
    panels["best_so_far"] = best_so_far_figure(trace, tv, top_fraction)
    if getattr(trace, "interventions", None) or getattr(trace, "votes", None):
        from autoscope.steering.figures import boars_figure, interventions_figure

        if trace.interventions:
            panels["interventions"] = interventions_figure(trace)
        if getattr(trace, "votes", None):
            panels["boars"] = boars_figure(trace)
    files = {}
    for stem, fig in panels.items():
        files[stem] = f"{stem}.png"
        fig.savefig(out / files[stem], dpi=90)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    index = out / "index.html"
    index.write_text(render(summary, trace, files), encoding="utf-8")
    return index


def _map_title(trace: Any, stem: str, i: int | None) -> str:
    """Panel title saying which model the map is from, by the measurements it had seen."""
    if i is None:
        return FIGURES[stem]
    decisions = getattr(trace, "decisions", None) or []
    seen = decisions[i].get("step") if i < len(decisions) else None
    if seen is None:
        return f"{FIGURES[stem]}\n(decision {i})"
    last = i == len(decisions) - 1
    return f"{FIGURES[stem]}\nmodel trained on {seen} measurements" + (" (final)" if last else "")
