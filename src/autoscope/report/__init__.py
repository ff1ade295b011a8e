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

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from autoscope.report._figures import (
    FIGURES,
    best_so_far_figure,
    last_map,
    map_figure,
    structure_figure,
)
from autoscope.report._summary import (
    candidate_grid,
    format_summary,
    random_baseline,
    summarize,
    summary_rows,
    top_region,
    truth_values,
)

if TYPE_CHECKING:
    from autoscope.protocols import Sample
    from autoscope.trace import ExperimentTrace

__all__ = [
    "FIGURES",
    "best_so_far_figure",
    "candidate_grid",
    "format_summary",
    "make_report",
    "map_figure",
    "random_baseline",
    "structure_figure",
    "summarize",
    "top_region",
    "truth_values",
]


def _html(summary: dict[str, Any], trace: ExperimentTrace, files: dict[str, str]) -> str:
    esc = html.escape
    rows = "\n".join(
        f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in summary_rows(summary)
    )
    figs = "\n".join(
        f'<figure><img src="{esc(f)}" alt="{esc(FIGURES[stem])}">'
        f"<figcaption>{esc(FIGURES[stem])}</figcaption></figure>"
        for stem, f in files.items()
    )
    specs = esc(json.dumps(trace.specs, indent=2, sort_keys=True, default=str))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>autoscope run {esc(str(trace.uid))}</title>
<style>body{{font-family:sans-serif;margin:1.5em;max-width:1400px}}
table{{border-collapse:collapse}}th,td{{border:1px solid #ccc;padding:3px 8px;text-align:left}}
.grid{{display:flex;flex-wrap:wrap;gap:1em}}figure{{margin:0}}img{{max-width:520px}}
pre{{background:#f6f6f6;padding:1em;overflow:auto;max-height:30em}}</style></head>
<body><h1>autoscope run <code>{esc(str(trace.uid))}</code></h1>
<h2>Summary</h2><table>
{rows}
</table>
<h2>Panels</h2><div class="grid">
{figs}
</div>
<p>Maps show the last stored decision; white dots are the measured pixels; the red outline is the
true top region. The random baseline is the exact distribution of the best of k draws without
replacement from the true candidate values.</p>
<h2>Run specification (start document, <code>autoscope</code> key)</h2><pre>{specs}</pre>
</body></html>
"""


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
    panels = {"structure": structure_figure(trace)}
    for stem, key, cmap in (("mean", "mean", "viridis"), ("uncertainty", "std", "magma")):
        arr, i = last_map(trace, key)
        title = FIGURES[stem] + (f" (decision {i})" if i is not None else "")
        panels[stem] = map_figure(trace, arr, title, cmap=cmap, top=top)
    truth_map = np.asarray(sample.truth(trace.specs["scalarizer"])) if sample is not None else None
    panels["truth"] = map_figure(trace, truth_map, FIGURES["truth"], top=top)
    arr, i = last_map(trace, "acquisition")
    title = FIGURES["acquisition"] + (f" (decision {i})" if i is not None else "")
    panels["acquisition"] = map_figure(trace, arr, title, cmap="cividis", top=top)
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
    index.write_text(_html(summary, trace, files), encoding="utf-8")
    return index
