"""The report page: ``index.html`` of one run, with the numbers explained in physical terms.

The page opens with the result in one sentence, then says what was measured (sample, spectral
axis, pixel size, the scalarizer and the policy in words beside their JSON), how the points were
chosen (random seed points, then one model decision after every spectrum), how the run compares
with random sampling (median and mean, both explained) and with the benchmark's median, the
summary table, the panels with a caption saying how to read each, and the run specification with
the spectral axis summarised.
"""

from __future__ import annotations

import html
import json
from typing import Any

import numpy as np

from autoscope.report._summary import summary_rows
from autoscope.report._words import (
    axis_summary,
    describe_policy,
    describe_scalarizer,
    run_meta,
    value_sentence,
)

__all__ = ["BENCHMARK", "CAPTIONS", "benchmark_sentence", "decisions_sentence", "render"]

#: what each panel shows and how to read it (the title is in the image itself)
CAPTIONS = {
    "structure": "The cheap structural image with every measured point: blue squares are the "
    "random seed points, the coloured dots the model's choices in order (the orange line the "
    "path), the star the best measured point; the dashed box holds the candidate patch centres.",
    "spectra": "The spectra behind the numbers: what the scalarizer read at the best, a typical "
    "(nearest the median) and the worst measured point; shaded: its windows, or the fit/area.",
    "mean": "What the model predicts everywhere after its last update; white dots: measured "
    "points; red outline: the true top region.",
    "uncertainty": "The model's standard deviation (same units as the mean): small near "
    "measured points and where the image looks like measured places.",
    "truth": "The answer (simulated samples only): the scalarizer on the noise-free spectrum "
    "at every pixel, with the true top region outlined.",
    "acquisition": "Where the policy would measure next: candidates ranked by the acquisition "
    "value (1 = the next choice), on a log scale so that the first hundred stand out.",
    "best_so_far": "Best value after each measurement. Red: this run's true value; black: what a "
    "random order reaches (exact expectation and 10-90% band); green: the true best and the "
    "threshold of the true top region.",
    "interventions": "The measured values with every operator intervention marked.",
    "boars": "The BOARS votes on spectra and how the target spectrum evolved.",
}

#: the benchmark's median steps to the true top 1 % with the default settings (committee, EI,
#: 64x64 grid, 16x16 patches, 10 seed points): benchmarks/RESULTS.md ("Robustness" section)
BENCHMARK: dict[str, Any] = {
    "settings": {
        "shape": [64, 64],
        "patch_size": 16,
        "n_seed": 10,
        "policy": "ei",
        "model": "committee",
    },  # fmt: skip
    "median_steps": {"stem": (16.5, 30), "spm": (21.0, 30), "fourd": (21.0, 5)},
    "random_median": 66,
}


#: why a run stopped (the final decision's ``reason``) in words
_STOP = {
    "budget": "the budget of measurements was spent",
    "all candidates measured": "every candidate was measured",
    "no recommendation": "the model could not recommend another point",
    "exhausted": "every candidate was measured",
}

#: sample kinds in words
_SAMPLES = {"stem": "STEM-EELS", "spm": "SPM hysteresis loops", "fourd": "4D-STEM"}


def decisions_sentence(trace: Any, summary: dict[str, Any]) -> str:
    """Explain the seed points, the decisions and why the last map carries its index."""
    n, n_seed = summary["n_measured"], summary["n_seed"]
    chosen = len(getattr(trace, "chosen_ids", []) or [])
    budget = (getattr(trace, "specs", None) or {}).get("budget")
    reason = ""
    decisions = getattr(trace, "decisions", None) or []
    if decisions and decisions[-1].get("reason"):
        why = str(decisions[-1]["reason"])
        reason = f" It stopped because {_STOP.get(why, why)}."
    b = f" of a budget of {budget}" if budget else ""
    return (
        f"{n} spectra were measured{b}. The first {n_seed} were random seed points: the model "
        f"needs a few examples before it can predict anything. After each later spectrum the "
        f"model was retrained and chose the next point ({chosen} decisions); a last update "
        f"after the final spectrum records the maps of the model that has seen all {n}, which "
        f"the map panels show.{reason}"
    )


def benchmark_sentence(summary: dict[str, Any], trace: Any) -> str:
    """Place this run against random sampling (median and mean) and the benchmark's median."""
    steps, rmed, rmean = (summary.get(k) for k in ("steps_to_top", "random_median_steps_to_top",
                                                   "random_steps_to_top"))  # fmt: skip
    if rmean is None:
        return "No ground truth for this sample: the run cannot be scored against random."
    top = f"true top {summary['top_fraction']:.0%} ({summary['n_top']} candidates)"
    this = (
        f"This run first measured a point of the {top} after {steps} measurements."
        if steps is not None
        else f"This run did not measure a point of the {top} in {summary['n_measured']}."
    )
    text = (
        f"{this} A random order needs a median of {rmed} and a mean of {rmean:.1f}: the mean "
        "is larger because a few random orders take very long; the median is the typical run, "
        "and the benchmark compares medians."
    )
    specs = dict(getattr(trace, "specs", None) or {})
    kind = summary.get("sample")
    ref = BENCHMARK["median_steps"].get(kind)
    if ref is None:
        return text
    med, seeds = ref
    s = BENCHMARK["settings"]
    same = (
        summary["grid"] == s["shape"]
        and specs.get("patch_size") == s["patch_size"]
        and summary["n_seed"] == s["n_seed"]
        and (specs.get("policy") or {}).get("name") == s["policy"]
        and (specs.get("model") or {}).get("name") == s["model"]
    )
    text += (
        f" The benchmark's median for {_SAMPLES.get(str(kind), kind)} with the default settings "
        "(committee model, EI, 64x64 grid, 16x16 patches, 10 seed points) is "
        f"{med:g} over {seeds} seeds"
    )
    if not same:
        return text + "; this run used other settings, so compare with care."
    if steps is None:
        return text + "; this run is among the slower ones."
    where = "faster than" if steps < med else ("as fast as" if steps == med else "slower than")
    return text + f": this single run was {where} the benchmark's typical run."


def _display_specs(specs: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    out = dict(specs)
    if isinstance(out.get("axis"), list | tuple | np.ndarray):
        out["axis"] = axis_summary(out["axis"], meta["axis_units"], meta["axis_name"])
    return out


def render(summary: dict[str, Any], trace: Any, files: dict[str, str]) -> str:
    """Return the HTML of the report page.

    Parameters
    ----------
    summary : dict
        :func:`autoscope.report.summarize` output.
    trace : ExperimentTrace
    files : dict
        Panel stem → PNG file name (relative to the page), in display order.
    """
    esc = html.escape
    meta = run_meta(trace)
    specs = dict(getattr(trace, "specs", None) or {})
    sc, pol = specs.get("scalarizer") or {}, specs.get("policy") or {}
    rows = "\n".join(
        f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in summary_rows(summary)
    )
    figs = "\n".join(
        f'<figure{" class=wide" if stem == "spectra" else ""}><img src="{esc(f)}" '
        f'alt="{esc(stem)}: {esc(CAPTIONS.get(stem, stem))}">'
        f"<figcaption>{esc(CAPTIONS.get(stem, ''))}</figcaption></figure>"
        for stem, f in files.items()
    )
    axis = getattr(trace, "axis", None)
    axis_text = (
        axis_summary(axis, meta["axis_units"], meta["axis_name"]) if axis is not None else "n/a"
    )
    px = "not stored (axes in pixels)" if meta["pixel_units"] == "px" else (
        f"{meta['pixel_size']:g} {meta['pixel_units']}")  # fmt: skip
    best = value_sentence(sc, summary.get("best_true_measured"), meta)
    what = [
        (
            "sample",
            f"{summary.get('sample') or 'recorded data'}, "
            f"{summary['grid'][0]}x{summary['grid'][1]} pixels of {px}",
        ),  # fmt: skip
        ("spectral axis", axis_text),
        ("scalarizer", describe_scalarizer(sc, meta)),
        ("", json.dumps(sc, sort_keys=True)),
        ("policy", describe_policy(pol)),
        ("", json.dumps(pol, sort_keys=True)),
        ("best true value measured", best),
    ]
    what_rows = "\n".join(
        f"<tr><th>{esc(k)}</th><td>{'<code>' + esc(v) + '</code>' if not k else esc(v)}</td></tr>"
        for k, v in what
    )
    shown = esc(json.dumps(_display_specs(specs, meta), indent=2, sort_keys=True, default=str))
    uid = esc(str(trace.uid))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>autoscope run {uid}</title>
<style>body{{font-family:sans-serif;margin:1.5em;max-width:1400px}}
table{{border-collapse:collapse}}th,td{{border:1px solid #ccc;padding:3px 8px;text-align:left}}
.grid{{display:flex;flex-wrap:wrap;gap:1.2em}}figure{{margin:0;max-width:560px}}
img{{max-width:560px}}figure.wide,figure.wide img{{max-width:100%}}
figcaption{{font-size:90%;color:#333}}p.lead{{font-size:110%}}
pre{{background:#f6f6f6;padding:1em;overflow:auto;max-height:30em}}</style></head>
<body><h1>autoscope run <code>{uid}</code></h1>
<p class="lead">{esc(benchmark_sentence(summary, trace))}</p>
<h2>What was measured</h2><table>
{what_rows}
</table>
<p>{esc(decisions_sentence(trace, summary))}</p>
<h2>Summary</h2><table>
{rows}
</table>
<h2 id="panels">Panels</h2><div class="grid">
{figs}
</div>
<h2>Run specification (start document, <code>autoscope</code> key)</h2>
<p>The spectral axis is summarised; the full axis is stored with the run.</p><pre>{shown}</pre>
</body></html>
"""
