"""Resume a ``dkl_explore`` run that ended early: a new run that finishes its budget.

:func:`dkl_resume` rebuilds the run's recommender from its stored image and
configuration, brings an :class:`~autoscope.recommender.ExplorationSession` to where the
run left off (:meth:`~autoscope.recommender.ExplorationSession.catch_up`: every stored
measurement replayed through the same loop, so the recommender's state — data, model
warm start, decision counter — is the run's), then continues on the instrument in a new
run linked to the old one (``start["autoscope"]["resumed_from"]``). The original
budget holds (points measured before count) and no candidate is measured twice.
"""

# No ``from __future__ import annotations`` here: bluesky-queueserver validates plan parameters
# from the evaluated annotations (string annotations fail its pydantic models).
from typing import Any

import numpy as np

from autoscope.errors import InputDataError
from autoscope.plans._annotations import annotate
from autoscope.plans.loop import dkl_loop
from autoscope.plans.setup import is_plan, prepare
from autoscope.recommender.session import DEFAULT_MAX_FAILURES

__all__ = ["dkl_resume"]

#: start-document keys of the old run carried over as they were
_CARRIED = ("policy", "model", "recommender", "n_seed", "seed_ids", "stop", "map_every")


def _stored_recommender(image: np.ndarray) -> Any:
    """Return a factory that builds the recommender on the *stored* image, not the new one."""

    def make(_new_image: np.ndarray, config: dict[str, Any]) -> Any:
        from autoscope import plans

        return plans._make_recommender(image, config)

    return make


@is_plan
@annotate
def dkl_resume(
    microscope: Any,
    previous: Any,
    *,
    catalog: Any = None,
    max_failures: int | None = DEFAULT_MAX_FAILURES,
    md: dict | None = None,
):
    """Finish the budget of a ``dkl_explore`` run that ended early, in a new linked run.

    Parameters
    ----------
    microscope : device
        The instrument (the same sample and geometry as the old run's).
    previous : ExperimentTrace or str
        The old run (:func:`autoscope.trace.load`), or its uid (read from ``catalog``).
    catalog : Tiled client or str, optional
        Where to read ``previous`` when it is a uid (default catalog when omitted).
    max_failures : int or None
        As in :func:`autoscope.plans.dkl_explore`.
    md : dict, optional
        Extra start-document metadata.

    Returns
    -------
    str
        The new run's uid.

    Raises
    ------
    ValueError
        When the plan is built: not a ``dkl_explore`` run, a steered run, a run that
        already spent its budget, or an instrument whose geometry differs.
    """
    trace = previous
    if isinstance(previous, str):
        from autoscope import trace as trace_mod

        trace = trace_mod.load(previous, catalog)
    specs = dict(getattr(trace, "specs", None) or {})
    if specs.get("plan") not in ("dkl_explore", "dkl_resume") or "recommender" not in specs:
        raise InputDataError(
            f"only a dkl_explore run can be resumed; {getattr(trace, 'uid', previous)!r} is "
            f"plan {specs.get('plan')!r}"
        )
    if specs.get("plan") == "dkl_resume":
        raise InputDataError("resume the original run: a resumed run is resumed from its source")
    if getattr(trace, "interventions", None):
        raise InputDataError(
            "a steered run cannot be resumed yet (its interventions are not re-applied)"
        )
    if specs.get("overlap") or int(specs.get("batch_size") or 1) > 1:
        raise InputDataError(
            "an overlapped or batched run cannot be resumed yet (catch_up replays decisions "
            "one by one, with every earlier value known)"
        )
    ids = [int(i) for i in trace.measured_ids]
    values = [float(v) for v in np.asarray(trace.values, dtype=float)]
    budget = int(specs["budget"])
    if len(ids) >= budget:
        raise InputDataError(
            f"run {trace.uid} measured {len(ids)} of its budget {budget}: nothing to resume"
        )
    s = prepare(
        microscope, specs["scalarizer"], budget, specs["patch_size"], specs["stride"],
        specs["seed"], md, "dkl_resume",
    )  # fmt: skip
    if not np.array_equal(s.candidates, np.asarray(trace.candidates)):
        raise InputDataError(
            f"the instrument's candidate grid {s.candidates.shape} differs from the run's "
            f"{np.asarray(trace.candidates).shape}"
        )
    for key in _CARRIED:
        s.ns[key] = specs.get(key)
    s.ns.update(max_failures=max_failures, resumed_from=str(trace.uid))
    s.ns["history"] = {"measured_ids": ids, "values": values}
    s.plan_args.update(previous=str(trace.uid), max_failures=max_failures)
    config = dict(specs["recommender"])
    return dkl_loop(
        s,
        config,
        [int(i) for i in specs.get("seed_ids") or []],
        int(specs.get("map_every", 1) or 0),
        s.metadata(),
        _stored_recommender(np.asarray(trace.image, dtype=float)),
        max_failures=max_failures,
        history=(ids, values),
    )
