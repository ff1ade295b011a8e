"""The replay report in words: every figure of a replay rounded, with its unit and what it means.

:func:`replay_rows` turns the ``summary.json`` of ``autoscope replay`` (the summaries of
:class:`~autoscope.replay.CounterfactualResult` and :class:`~autoscope.replay.RetraceResult`)
into ``(section, label, text)`` rows that the terminal and ``index.html`` print, instead of
raw keys such as ``median_actual_rank 2005.5`` or ``own_specs false``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["replay_rows"]


def _spec(spec: Any) -> str:
    if not isinstance(spec, dict):
        return str(spec)
    params = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in (spec.get("params") or {}).items())  # fmt: skip
    return f"{spec.get('name')}({params})"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _counterfactual(cf: dict[str, Any], px: float, units: str, n_cand: int) -> list:
    n = int(cf.get("n_decisions") or 0)
    rows = []
    if cf.get("own_specs"):
        what = (
            "the run's own scalarizer, policy and model: an exactness check, the replay must "
            "make every decision the run made"
        )
    else:
        what = (
            f"scalarizer {_spec(cf.get('scalarizer'))}, policy {_spec(cf.get('policy'))}, "
            f"model {_spec(cf.get('model'))}, along the path the run actually measured"
        )
    rows.append(("what was replayed", what))
    agree = cf.get("agreement")
    if agree is not None and n:
        k = int(round(float(agree) * n))
        rows.append(("agreement", f"{k} of {n} decisions ({float(agree):.0%}) would have chosen "
                                  "the point the run chose"))  # fmt: skip
    first = cf.get("first_divergence")
    rows.append((
        "first divergence",
        "none: every decision agreed" if first is None
        else f"decision {int(first)}: from there the counterfactual would have gone elsewhere",
    ))  # fmt: skip
    rank = cf.get("median_actual_rank")
    if rank is not None:
        r = int(np.floor(float(rank))) + 1
        rows.append((
            "rank of the run's choice",
            f"median {_ordinal(r)} of about {n_cand} candidates: how the counterfactual policy "
            "ranked the point the run measured (1st = it would have chosen the same; a large "
            "number = it would not have looked there)",
        ))  # fmt: skip
    dist = cf.get("mean_distance_px")
    if dist is not None and np.isfinite(float(dist)):
        d = float(dist)
        phys = f"{d * px:.2f} {units} ({d:.1f} px)" if units != "px" else f"{d:.1f} px"
        rows.append(
            (
                "distance between the choices",
                f"{phys} on average between the run's and the counterfactual choice",
            )
        )
    return rows


def _retrace(rt: dict[str, Any]) -> list:
    rows = []
    s = rt.get("median_surprise")
    if s is not None:
        rows.append((
            "median surprise",
            f"{float(s):.2f} σ: how far a measured value was from what the model predicted "
            "there just before, in units of its standard deviation then (above about 2: a "
            "real surprise)",
        ))  # fmt: skip
    for key, label, why in (
        ("most_surprising_steps", "most surprising measurements", "the model was most wrong"),
        ("most_changed_steps", "measurements that changed the map most",
         "the predicted map moved most after them"),
    ):  # fmt: skip
        steps = rt.get(key) or []
        if steps:
            text = ", ".join(str(int(x) + 1) for x in steps)
            rows.append((label, f"numbers {text} (counting from 1): where {why}"))
    share = rt.get("mean_exploration_share")
    if share is not None and np.isfinite(float(share)):
        e = float(share)
        rows.append((
            "exploration vs exploitation",
            f"{e:.0%} of the acquisition value came from uncertainty (exploring) and "
            f"{1 - e:.0%} from a high predicted value (exploiting), averaged over decisions",
        ))  # fmt: skip
    return rows


def replay_rows(
    summary: dict[str, Any], *, pixel_size: float = 1.0, pixel_units: str = "px",
    n_candidates: int | None = None,
) -> list[tuple[str, str, str]]:  # fmt: skip
    """Explain a replay summary in rounded figures with units.

    Parameters
    ----------
    summary : dict
        ``summary.json`` of :func:`autoscope.replay.cli.replay_report`: ``counterfactual`` and
        ``retrace`` (and optionally ``best_channel``).
    pixel_size, pixel_units : float, str
        The scan's pixel size, so distances read in physical units.
    n_candidates : int, optional
        Number of candidates (for the rank sentence).

    Returns
    -------
    list of (str, str, str)
        ``(section, label, text)``; sections ``"Counterfactual"``, ``"Retrace"``.

    Examples
    --------
    >>> s = {"counterfactual": {"own_specs": False, "n_decisions": 70, "agreement": 0.1,
    ...      "first_divergence": 0, "median_actual_rank": 2005.5,
    ...      "mean_distance_px": 24.12988345578803, "scalarizer": {"name": "band_max"},
    ...      "policy": {"name": "ei"}, "model": {"name": "committee"}},
    ...      "retrace": {"median_surprise": 1.234}}
    >>> for _, label, text in replay_rows(s, pixel_size=0.1, pixel_units="nm",
    ...                                    n_candidates=2401)[1:5]:
    ...     print(label, "|", text[:38])
    agreement | 7 of 70 decisions (10%) would have cho
    first divergence | decision 0: from there the counterfact
    rank of the run's choice | median 2006th of about 2401 candidates
    distance between the choices | 2.41 nm (24.1 px) on average between t
    """
    cf, rt = summary.get("counterfactual") or {}, summary.get("retrace") or {}
    n = n_candidates or 0
    out = [("Counterfactual", k, v) for k, v in _counterfactual(cf, pixel_size, pixel_units, n)]
    out += [("Retrace", k, v) for k, v in _retrace(rt)]
    return out
