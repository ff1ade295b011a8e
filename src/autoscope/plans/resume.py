"""Resume a ``dkl_explore`` run that ended early: a new run that finishes its budget.

:func:`dkl_resume` rebuilds the run's recommender from its stored image and
configuration, brings an :class:`~autoscope.recommender.ExplorationSession` to where the
run left off (:meth:`~autoscope.recommender.ExplorationSession.catch_up`: every stored
measurement replayed through the same loop, so the recommender's state — data, model
warm start, decision counter — is the run's), then continues on the instrument in a new
run linked to the old one (``start["autoscope"]["resumed_from"]``). The original
budget holds (points measured before count) and no candidate is measured twice.
:func:`resumed_by` finds the runs that resumed a run; :func:`dkl_resume` refuses a
run that was already resumed in the catalog it is given, and a run whose journal
(:mod:`autoscope.storage.journal`) was not recovered yet or is still being written.
"""

# No ``from __future__ import annotations`` here: bluesky-queueserver validates plan parameters
# from the evaluated annotations (string annotations fail its pydantic models).
from os import PathLike
from typing import Any

import bluesky.preprocessors as bpp
import numpy as np

from autoscope.errors import InputDataError
from autoscope.plans._annotations import annotate
from autoscope.plans.loop import dkl_loop
from autoscope.plans.remote import decision_server, remote_sessions
from autoscope.plans.setup import is_plan, prepare
from autoscope.recommender.session import DEFAULT_MAX_FAILURES

__all__ = ["check_recovered", "dkl_resume", "resumed_by"]

#: start-document keys of the old run carried over as they were
_CARRIED = ("policy", "model", "recommender", "n_seed", "seed_ids", "stop", "map_every")


def resumed_by(catalog: Any, uid: str) -> list[str]:
    """Return the uids of the runs in ``catalog`` that resumed run ``uid``, oldest first.

    Parameters
    ----------
    catalog : tiled client
        A catalog of Bluesky runs (:func:`autoscope.storage.open_catalog`).
    uid : str
        The full start uid of the resumed (original) run.

    Returns
    -------
    list of str
        Start uids of the runs whose start document has
        ``autoscope.resumed_from == uid`` (empty: never resumed).
    """
    from tiled.queries import Key

    found = catalog.search(Key("start.autoscope.resumed_from") == str(uid))
    runs = [(float(run.metadata["start"].get("time", 0.0)), str(key)) for key, run in found.items()]
    return [key for _, key in sorted(runs)]


def check_recovered(uid: str) -> None:
    """Refuse a run whose journal was never recovered, or that a process still writes.

    The catalog may then lack its last points: resuming would measure them again.
    Looks in the default journal directory (``$AUTOSCOPE_JOURNAL``, ...) for a
    file of the run (``uid`` may be a prefix) not yet moved to ``delivered/``.

    Parameters
    ----------
    uid : str
        The run's start uid, or a prefix of it.

    Raises
    ------
    InputDataError
        The run's journal is unfinished (run ``autoscope recover``) or locked.
    """
    import glob

    from autoscope.storage.journal import default_journal_dir, unfinished

    directory = default_journal_dir()
    found = sorted(directory.glob(f"{glob.escape(uid)}*.msgpack")) if uid.strip() else []
    if not found:
        return
    if found[0] in unfinished(directory):
        raise InputDataError(
            f"run {uid} has a journal that was never recovered ({found[0]}): run "
            "`autoscope recover` first, or points it measured would be measured again"
        )
    raise InputDataError(
        f"run {uid} is still being written by a running process (its journal {found[0]} "
        "is locked): resume a run only after its process ended"
    )


def _load_and_check(previous: Any, catalog: Any) -> Any:
    """Return the trace of ``previous``; refuse a run that ``catalog`` shows resumed already."""
    from autoscope import storage
    from autoscope import trace as trace_mod

    if isinstance(previous, str):
        check_recovered(previous)  # before reading: the catalog may not hold the run yet
    client, owned = catalog, False
    if isinstance(catalog, str | PathLike) or (catalog is None and isinstance(previous, str)):
        # a reader: never create a catalog; closed once the run is read and checked
        client, owned = storage.open_catalog(catalog, create=False), True
    try:
        trace = trace_mod.load(previous, client) if isinstance(previous, str) else previous
        check_recovered(str(trace.uid))
        if client is not None:
            done = resumed_by(client, str(trace.uid))
            if done:
                raise InputDataError(
                    f"run {trace.uid} was already resumed as {done[0]}: a second resume would "
                    f"measure its remaining budget twice (finish or inspect {done[0]} instead)"
                )
        return trace
    finally:
        if owned:
            storage.close_catalog(client)


def _stored_recommender(image: np.ndarray, build: Any = None) -> Any:
    """Return a factory that builds the recommender on the *stored* image, not the new one.

    ``build(image, config)`` builds it (default: the local one, ``plans._make_recommender``).
    """

    def make(_new_image: np.ndarray, config: dict[str, Any]) -> Any:
        from autoscope import plans

        return (build or plans._make_recommender)(image, config)

    return make


@is_plan
@annotate
def dkl_resume(
    microscope: Any,
    previous: Any,
    *,
    catalog: Any = None,
    max_failures: int | None = DEFAULT_MAX_FAILURES,
    recommender: Any = None,
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
        Where ``previous`` is stored: read from there when it is a uid (the default
        embedded catalog when omitted), and searched for a run that resumed it
        already (refused). With an ``ExperimentTrace`` and no catalog, nothing is
        searched.
    max_failures : int or None
        As in :func:`autoscope.plans.dkl_explore`.
    recommender : RemoteRecommender or str, optional
        As in :func:`autoscope.plans.dkl_explore`: the model on a decision server
        (it need not be where the old run's model was).
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
        already spent its budget, a run that ``catalog`` shows resumed already, a
        run whose journal is not recovered yet (``autoscope recover``) or still
        being written, or an instrument whose geometry differs.
    """
    trace = _load_and_check(previous, catalog)
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
    remote = decision_server(recommender)  # reachable and of this protocol, or refused now
    build, close = None, None
    if remote is not None:
        s.plan_args.update(recommender=remote.address)
        s.ns.update(decision_server={"address": remote.address, **remote.server})
        build, close = remote_sessions(remote)
    run = dkl_loop(
        s,
        config,
        [int(i) for i in specs.get("seed_ids") or []],
        int(specs.get("map_every", 1) or 0),
        s.metadata(),
        _stored_recommender(np.asarray(trace.image, dtype=float), build),
        max_failures=max_failures,
        history=(ids, values),
    )
    return run if close is None else bpp.finalize_wrapper(run, close)
