"""Figures of a steered run: the interventions timeline, BOARS votes and the target's evolution.

Both take an :class:`~autoscope.trace.ExperimentTrace` (or anything with
``interventions`` / ``votes``, ``values`` and ``axis``) and return a
:class:`matplotlib.figure.Figure` built without pyplot, for the report.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from autoscope.protocols import Trace
from autoscope.steering.history import interventions_of, votes_of

__all__ = ["boars_figure", "interventions_figure"]

_COLORS = {
    "policy": "C0",
    "scalarizer": "C1",
    "exclude": "C3",
    "include": "C2",
    "boost": "C4",
    "prior": "C5",
    "costs": "C6",
    "budget": "C7",
    "stop": "k",
    "force": "C8",
}


def interventions_figure(trace: Trace) -> Figure:
    """Draw the measured values against the step, with one labelled line per intervention.

    Returns
    -------
    matplotlib.figure.Figure
        One axes: the scalar value of every measurement (points) and, at each
        intervention's step boundary, a vertical line coloured by kind and labelled
        ``kind (who)``; rejected ones dashed.
    """
    fig = Figure(figsize=(7.0, 3.6), layout="constrained")
    ax = fig.add_subplot()
    values = np.asarray(getattr(trace, "values", []), dtype=float)
    ax.plot(np.arange(values.size), values, ".", color="0.4", label="value")
    ymax = np.nanmax(values) if np.isfinite(values).any() else 1.0
    for r in interventions_of(trace):
        step = int(r.get("step") or 0)
        rejected = isinstance(r.get("new"), dict) and "rejected" in r["new"]
        ax.axvline(
            step - 0.5, color=_COLORS.get(r["kind"], "k"), ls="--" if rejected else "-", lw=1
        )
        ax.annotate(
            f"{r['kind']} ({r.get('who', '')})",
            (step - 0.5, ymax),
            rotation=90,
            fontsize=7,
            va="top",
            ha="right",
        )
    ax.set_xlabel("measurement step")
    ax.set_ylabel("value (scalarizer in force)")
    ax.set_title("Interventions")
    return fig


def boars_figure(trace: Trace) -> Figure:
    """Draw the BOARS votes and the target spectrum after each vote.

    Returns
    -------
    matplotlib.figure.Figure
        Left: every vote against the step (0 bad, 1 neutral, 2 good; size ∝ ω) and
        the human weight λ. Right: the target after each vote (lines from light to
        dark), against the spectral axis.
    """
    votes = votes_of(trace)
    fig = Figure(figsize=(9.0, 3.6), layout="constrained")
    ax_v, ax_t = fig.subplots(1, 2)
    if votes:
        steps = np.array([int(v["step"]) for v in votes])
        vals = np.array([int(v["vote"]) for v in votes])
        w = np.array([float(v.get("weight", 1.0)) for v in votes])
        ok = vals >= 0
        ax_v.scatter(
            steps[ok], vals[ok], s=10 + 40 * w[ok], c=vals[ok], cmap="RdYlGn", vmin=0, vmax=2
        )
        ax2 = ax_v.twinx()
        ax2.plot(steps, [float(v.get("human_weight", np.nan)) for v in votes], color="0.5")
        ax2.set_ylabel("human weight λ")
        ax2.set_ylim(0, 1.05)
        targets = [
            np.asarray(v["target"], dtype=float) for v in votes if v.get("target") is not None
        ]
        targets = [t for t in targets if t.ndim == 1 and np.isfinite(t).all()]
        axis = np.asarray(getattr(trace, "axis", []), dtype=float)
        for k, t in enumerate(targets):
            x = axis if axis.shape == t.shape else np.arange(t.size)
            ax_t.plot(x, t, color=str(0.85 - 0.85 * (k + 1) / len(targets)), lw=1)
    ax_v.set_yticks([0, 1, 2], ["bad", "neutral", "good"])
    ax_v.set_xlabel("measurement step")
    ax_v.set_title("Votes")
    ax_t.set_xlabel("spectral axis")
    ax_t.set_title("Target after each vote (light → dark)")
    return fig
