"""The Steering device: soft signals a plan reads at each step, and functions that fill them.

``steer = Steering(name="steer")`` is an Ophyd device; pass it to
``dkl_explore(..., steering=steer)`` (by name, ``"steer"``, through the
queueserver). Its methods queue validated intervention records on the
``pending`` signal (a JSON list) under a lock, so they may be called while the
run is paused (``RE.request_pause()`` → change → ``RE.resume()``), from another
thread while it runs, or through the queueserver's ``function_execute``
(:func:`queueserver_functions`). At every step boundary the plan reads
``pending`` and ``applied`` (messages, so the reads are in the run's log),
applies the records with ``seq > applied`` (:mod:`autoscope.steering.session`), emits one
``interventions`` event each (and ``votes`` events for BOARS), and writes
``applied``, ``step`` and ``last`` back.

Examples
--------
>>> from autoscope.steering import Steering
>>> steer = Steering(name="steer")
>>> steer.policy("ucb", beta=4.0)["params"]["spec"]["name"]
'ucb'
>>> steer.exclude(rows=(0, 10), cols=(0, 64))["params"]["region"]
{'rows': [0, 10], 'cols': [0, 64]}
>>> [r["kind"] for r in steer.pending_records()]
['policy', 'exclude']
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from ophyd import Component as Cpt
from ophyd import Device, Signal

from autoscope.errors import InputDataError
from autoscope.steering.boars import BOARS
from autoscope.steering.records import make_intervention
from autoscope.steering.regions import normalize_region

__all__ = ["InterventionInfo", "Steering", "VoteInfo", "queueserver_functions"]


def _region(region: Mapping | None, keys: dict[str, Any]) -> dict[str, Any]:
    return normalize_region(region, **keys)


class Steering(Device):
    """Soft signals through which a person steers a running ``dkl_explore``.

    Signals: ``pending`` (JSON list of queued records), ``applied`` (highest
    ``seq`` a plan has applied), ``step`` (the plan's current boundary, -1 before
    a run), ``last`` (JSON of the last applied record), ``operator`` (default
    ``who``, config).

    Every method validates its arguments at once (``InputDataError``), queues one
    record and returns it. ``who`` defaults to the ``operator`` signal.
    """

    pending = Cpt(Signal, value="[]", kind="omitted")
    applied = Cpt(Signal, value=0, kind="omitted")
    step = Cpt(Signal, value=-1, kind="omitted")
    last = Cpt(Signal, value="{}", kind="omitted")
    operator = Cpt(Signal, value="operator", kind="config")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._lock = threading.RLock()
        self._seq = 0
        self.boars_session: BOARS | None = None
        self.log: list[dict[str, Any]] = []
        self.last.subscribe(self._on_last, run=False)

    # -- queue ----------------------------------------------------------------------------
    def _on_last(self, value: Any = None, **_: Any) -> None:
        try:
            rec = json.loads(value)
        except (TypeError, json.JSONDecodeError):
            return
        if rec:
            self.log.append(rec)

    def submit(
        self, kind: str, params: Mapping[str, Any] | None = None, *, who: str | None = None
    ) -> dict[str, Any]:
        """Validate and queue one intervention; return its record (see :mod:`.interventions`)."""
        with self._lock:
            done = int(self.applied.get())
            self._seq = max(self._seq, done) + 1
            rec = make_intervention(
                kind, params, who=who or str(self.operator.get()), seq=self._seq
            )
            queue = [r for r in json.loads(self.pending.get()) if int(r["seq"]) > done]
            queue.append(rec)
            self.pending.put(json.dumps(queue))
        return rec

    def pending_records(self) -> list[dict[str, Any]]:
        """Queued records a plan has not applied yet, in order."""
        with self._lock:
            done = int(self.applied.get())
            return [r for r in json.loads(self.pending.get()) if int(r["seq"]) > done]

    def clear(self) -> list[dict[str, Any]]:
        """Drop every queued record not applied yet; return them."""
        with self._lock:
            dropped = self.pending_records()
            self.pending.put("[]")
        return dropped

    def history(self) -> list[dict[str, Any]]:
        """Return the records the plan applied (with ``step``, ``old``, ``new``), in order."""
        return list(self.log)

    # -- the plain functions --------------------------------------------------------------
    def policy(
        self, name: str | dict, *, steps: int | None = None, who: str | None = None, **params: Any
    ) -> dict[str, Any]:
        """Switch the acquisition policy (``steps``: for that many decisions, then back)."""
        return self.submit("policy", {"spec": name, "steps": steps, **params}, who=who)

    def explore(self, steps: int, *, who: str | None = None) -> dict[str, Any]:
        """Pure exploration (max variance) for ``steps`` decisions, then the policy before."""
        return self.policy("maxvar", steps=steps, who=who)

    def scalarizer(
        self, spec: str | dict, *, who: str | None = None, **params: Any
    ) -> dict[str, Any]:
        """Switch the scalarizer: every stored spectrum is re-scalarized, the model retrained."""
        if params:
            if not isinstance(spec, str):
                raise InputDataError("scalarizer: keyword params need a scalarizer name")
            spec = {"name": spec, "params": params}
        return self.submit("scalarizer", {"spec": spec}, who=who)

    def exclude(self, region: dict | None = None, *, who: str | None = None, **keys: Any) -> dict:
        """Never suggest these candidates.

        Region keys: ``rows``, ``cols``, ``pixels``, ``mask``, ``ids``,
        ``center``/``radius``, ``like``/``patches`` with ``threshold``/``top``
        (:mod:`autoscope.steering.regions`).
        """
        return self.submit("exclude", {"region": _region(region, keys)}, who=who)

    def include(self, region: dict | None = None, *, who: str | None = None, **keys: Any) -> dict:
        """Allow excluded candidates again (same region keys as :meth:`exclude`)."""
        return self.submit("include", {"region": _region(region, keys)}, who=who)

    def boost(
        self,
        region: dict | None = None,
        *,
        weight: float = 1.0,
        clear: bool = False,
        who: str | None = None,
        **keys: Any,
    ) -> dict:
        """Mark candidates as interesting: their acquisition gets ``+weight`` (normalised units)."""
        params = {"region": _region(region, keys), "weight": weight, "clear": clear}
        return self.submit("boost", params, who=who)

    def prior(self, points: Sequence[Any], *, who: str | None = None) -> dict[str, Any]:
        """Add known values: ``[(row, col, value), ...]`` or ``[{"_id"|"row","col", "value"}]``."""
        pts = [
            dict(p)
            if isinstance(p, Mapping)
            else {"row": int(p[0]), "col": int(p[1]), "value": float(p[2])}
            for p in points
        ]
        return self.submit("prior", {"points": pts}, who=who)

    def force(self, points: Sequence[Any], *, who: str | None = None) -> dict[str, Any]:
        """Measure these next, in order: ``[(row, col), ...]`` pixels or candidate ids."""
        pts = [
            int(p) if isinstance(p, int | np.integer) else [int(p[0]), int(p[1])] for p in points
        ]
        return self.submit("force", {"points": pts}, who=who)

    def budget(
        self, delta: int | None = None, *, total: int | None = None, who: str | None = None
    ) -> dict[str, Any]:
        """Extend (``+20``) or cut (``-10``) the budget, or set its ``total``."""
        params = {"delta": delta} if total is None else {"total": total}
        if (delta is None) == (total is None):
            raise InputDataError("budget: give delta (e.g. +20) or total=, not both")
        return self.submit("budget", params, who=who)

    def stop(self, reason: str = "", *, who: str | None = None, success: bool | None = None) -> Any:
        """Stop gracefully at the next step boundary (the run closes as successful).

        Called with ``success=`` (as the RunEngine and Ophyd do when a run ends) it is
        Ophyd's ``Device.stop`` and queues nothing.
        """
        if success is not None:
            return super().stop(success=success)
        return self.submit("stop", {"reason": reason}, who=who)

    def costs(
        self,
        travel: float | None = None,
        dwell: float | None = None,
        *,
        dwell_map: Any = None,
        who: str | None = None,
    ) -> dict[str, Any]:
        """Set the travel (per px) and dwell (per s) cost weights, or a dwell map (s)."""
        params = {"travel": travel, "dwell": dwell, "dwell_map": dwell_map}
        return self.submit("costs", {k: v for k, v in params.items() if v is not None}, who=who)

    def boars(self, voter: Callable[..., Any] | None, **params: Any) -> BOARS | None:
        """Attach a BOARS voter (``every``, ``tau``, ``min_weight``, ``metric``, ``normalize``).

        ``None`` detaches it. Takes effect at the next step boundary; in-process only
        (a voter is a Python object, not a JSON parameter).
        """
        self.boars_session = None if voter is None else BOARS(voter, **params)
        return self.boars_session


class InterventionInfo(Device):
    """Soft signals of one applied intervention (stream ``interventions``; device ``intervention``).

    ``seq``, ``step`` (the boundary: index of the next measurement), ``who``,
    ``action`` (the intervention kind), ``what`` (params, JSON), ``old`` and
    ``new`` (JSON), ``requested``
    (request time, s since the epoch; the event time is when it was applied).
    """

    seq = Cpt(Signal, value=0, kind="hinted")
    step = Cpt(Signal, value=0, kind="hinted")
    who = Cpt(Signal, value="", kind="normal")
    action = Cpt(Signal, value="", kind="normal")
    what = Cpt(Signal, value="{}", kind="normal")
    old = Cpt(Signal, value="null", kind="normal")
    new = Cpt(Signal, value="null", kind="normal")
    requested = Cpt(Signal, value=0.0, kind="normal")

    def publish(self, record: Mapping[str, Any]) -> None:
        """Set every signal from an applied record."""
        self.seq.put(int(record.get("seq") or 0))
        self.step.put(int(record.get("step") or 0))
        self.who.put(str(record.get("who") or ""))
        self.action.put(str(record.get("kind") or ""))
        self.what.put(json.dumps(record.get("params") or {}))
        self.old.put(json.dumps(record.get("old")))
        self.new.put(json.dumps(record.get("new")))
        self.requested.put(float(record.get("time") or 0.0))


class VoteInfo(Device):
    """Soft signals of one BOARS vote (stream ``votes``; device ``vote``).

    ``step`` (measurement index of the voted spectrum), ``candidate_id``, ``row``,
    ``col``, ``value`` (0, 1, 2; -1 no vote), ``human_weight`` (λ), ``weight`` (ω),
    ``who``, ``target`` (the target after the vote, spectrum shape, NaN before
    the first good vote).
    """

    step = Cpt(Signal, value=0, kind="hinted")
    candidate_id = Cpt(Signal, value=-1, kind="normal")
    row = Cpt(Signal, value=-1, kind="normal")
    col = Cpt(Signal, value=-1, kind="normal")
    value = Cpt(Signal, value=-1, kind="hinted")
    human_weight = Cpt(Signal, value=0.0, kind="normal")
    weight = Cpt(Signal, value=0.0, kind="normal")
    who = Cpt(Signal, value="", kind="normal")
    target = Cpt(Signal, value=np.zeros(1), kind="normal")

    def publish(self, vote: Mapping[str, Any], shape: tuple[int, ...]) -> None:
        """Set every signal from a vote record; ``shape`` is the spectrum shape."""
        for name in ("step", "candidate_id", "row", "col"):
            getattr(self, name).put(int(vote[name]))
        self.value.put(int(vote["vote"]))
        self.human_weight.put(float(vote["human_weight"]))
        self.weight.put(float(vote["weight"]))
        self.who.put(str(vote.get("who") or ""))
        t = vote.get("target")
        self.target.put(np.full(shape, np.nan) if t is None else np.asarray(t, dtype=float))


def queueserver_functions(
    device: Steering, prefix: str = "steer_"
) -> dict[str, Callable[..., Any]]:
    """Module-level functions for the queueserver's ``function_execute``, bound to ``device``.

    In a startup file: ``steer = Steering(name="steer")`` then
    ``globals().update(queueserver_functions(steer))`` defines ``steer_policy``,
    ``steer_explore``, ``steer_scalarizer``, ``steer_exclude``, ``steer_include``,
    ``steer_boost``, ``steer_prior``, ``steer_force``, ``steer_budget``,
    ``steer_stop``, ``steer_costs``, ``steer_pending`` and ``steer_history``; allow
    them in ``user_group_permissions.yaml`` (``allowed_functions: [":^steer_"]``).
    Each takes JSON arguments and returns JSON (the queued record).
    """
    names = (
        "policy",
        "explore",
        "scalarizer",
        "exclude",
        "include",
        "boost",
        "prior",
        "force",
        "budget",
        "stop",
        "costs",
    )
    out: dict[str, Callable[..., Any]] = {}
    for name in names:
        method = getattr(device, name)

        def func(*args: Any, _m: Callable[..., Any] = method, **kwargs: Any) -> Any:
            return _m(*args, **kwargs)

        func.__name__ = func.__qualname__ = prefix + name
        func.__doc__ = method.__doc__
        out[prefix + name] = func
    out[prefix + "pending"] = lambda: device.pending_records()
    out[prefix + "history"] = lambda: device.history()
    return out
