"""Intervention records: the JSON a person's change travels as, validated when it is made.

A record is ``{"seq", "kind", "params", "who", "time"}``; :func:`make_intervention`
checks the parameters of each kind (so a typo fails in the operator's hands, not
inside the run) and :func:`decode_record` reads one back from any of its stored
forms. What each kind does is in :mod:`autoscope.steering.interventions`.

==============  ================================================================
kind            params
==============  ================================================================
``policy``      ``spec`` (policy name or spec; extra keys are its params),
                ``steps`` (int or None: then switch back), ``revert`` (bool)
``scalarizer``  ``spec`` (scalarizer name or spec)
``exclude``     ``region`` (:mod:`autoscope.steering.regions`)
``include``     ``region``
``boost``       ``region``, ``weight`` (>= 0, default 1), ``clear`` (bool)
``prior``       ``points``: ``[{"_id" | "row", "col", "value"}, ...]``
``costs``       ``travel``, ``dwell`` (weights >= 0), ``dwell_map`` (s)
``budget``      ``delta`` (int) or ``total`` (int >= 0)
``stop``        ``reason`` (str)
``force``       ``points``: candidate ids or ``[row, col]`` pixels, in order
==============  ================================================================

Examples
--------
>>> from autoscope.steering.records import make_intervention
>>> r = make_intervention("policy", {"spec": "ucb", "beta": 4.0}, who="ana", seq=1)
>>> r["kind"], r["params"]["spec"], r["who"]
('policy', {'name': 'ucb', 'params': {'beta': 4.0, 'maximize': True}}, 'ana')
>>> make_intervention("force", {"points": [[3, 4], 17]})["params"]["points"]
[[3, 4], 17]
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from autoscope import policies, scalarizers
from autoscope._validate import jsonable
from autoscope.errors import InputDataError
from autoscope.steering.regions import normalize_region

__all__ = ["KINDS", "check_params", "decode_record", "jsonable", "make_intervention"]

_ALLOWED = {
    "policy": {"spec", "steps", "revert"},
    "scalarizer": {"spec"},
    "exclude": {"region"},
    "include": {"region"},
    "boost": {"region", "weight", "clear"},
    "prior": {"points"},
    "costs": {"travel", "dwell", "dwell_map"},
    "budget": {"delta", "total"},
    "stop": {"reason"},
    "force": {"points"},
}
#: the intervention kinds
KINDS = tuple(_ALLOWED)


def _number(kind: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise InputDataError(f"{kind}: {name} must be a number >= 0, got {value!r}")
    return float(value)


def _is_int(v: Any) -> bool:
    return isinstance(v, int | np.integer) and not isinstance(v, bool)


def _policy(p: dict[str, Any]) -> dict[str, Any]:
    extra = {k: p.pop(k) for k in list(p) if k not in _ALLOWED["policy"]}
    spec = p.get("spec")
    if extra:
        if not isinstance(spec, str):
            raise InputDataError(f"policy: extra params {sorted(extra)} need a policy name")
        spec = {"name": spec, "params": extra}
    p["spec"] = dict(policies.from_spec(spec).spec)
    steps = p.get("steps")
    if steps is not None and (not _is_int(steps) or steps < 1):
        raise InputDataError(f"policy: steps must be an int >= 1 or None, got {steps!r}")
    p["steps"], p["revert"] = steps, bool(p.get("revert", False))
    return p


def _prior(p: dict[str, Any]) -> dict[str, Any]:
    pts = p.get("points")
    if not isinstance(pts, list | tuple) or not pts:
        raise InputDataError(f"prior: points must be a non-empty list, got {pts!r:.80}")
    out = []
    for q in pts:
        where_ok = isinstance(q, Mapping) and ("_id" in q or {"row", "col"} <= set(q))
        if not where_ok or "value" not in q or set(q) - {"_id", "row", "col", "value"}:
            raise InputDataError(
                f"prior: each point is {{'_id' | 'row','col', 'value'}}, got {q!r}"
            )
        v = q["value"]
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise InputDataError(f"prior: value must be a finite number, got {v!r}")
        if not all(_is_int(q[k]) for k in q if k != "value"):
            raise InputDataError(f"prior: '_id', 'row', 'col' must be ints, got {q!r}")
        out.append({k: (float(v) if k == "value" else int(q[k])) for k in q})
    p["points"] = out
    return p


def _force(p: dict[str, Any]) -> dict[str, Any]:
    pts = p.get("points")
    if not isinstance(pts, list | tuple) or not pts:
        raise InputDataError(f"force: points must be a non-empty list, got {pts!r:.80}")
    out: list[Any] = []
    for q in pts:
        if _is_int(q) and q >= 0:
            out.append(int(q))
        elif np.shape(q) == (2,) and all(_is_int(v) for v in q):
            out.append([int(q[0]), int(q[1])])
        else:
            raise InputDataError(f"force: each point is a candidate id or [row, col], got {q!r}")
    p["points"] = out
    return p


def _costs(p: dict[str, Any]) -> dict[str, Any]:
    if not p:
        raise InputDataError("costs: give travel, dwell and/or dwell_map")
    for name in ("travel", "dwell"):
        if p.get(name) is not None:
            p[name] = _number("costs", name, p[name])
    if p.get("dwell_map") is not None:
        dm = np.asarray(p["dwell_map"], dtype=float)
        if not np.isfinite(dm).all() or (dm < 0).any():
            raise InputDataError("costs: dwell_map must be finite and >= 0 (s)")
        p["dwell_map"] = dm.tolist()
    return p


def _budget(p: dict[str, Any]) -> dict[str, Any]:
    if len(p) != 1:
        raise InputDataError(f"budget: give exactly one of delta or total, got {sorted(p)}")
    ((name, v),) = p.items()
    if not _is_int(v) or (name == "total" and v < 0):
        low = " >= 0" if name == "total" else ""
        raise InputDataError(f"budget: {name} must be an int{low}, got {v!r}")
    return {name: int(v)}


def check_params(kind: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and normalise the parameters of one kind (see the module docstring).

    Raises
    ------
    InputDataError
        Unknown kind or parameter, or a bad value.
    """
    if kind not in _ALLOWED:
        raise InputDataError(f"unknown intervention kind {kind!r}; use one of {list(KINDS)}")
    if not isinstance(params, Mapping):
        raise InputDataError(f"{kind}: params must be a dict, got {type(params).__name__}")
    p = dict(params)
    if kind == "policy":  # extra keys are the policy's own params: policy("ucb", beta=4)
        return _policy(p)
    unknown = set(p) - _ALLOWED[kind]
    if unknown:
        use = sorted(_ALLOWED[kind])
        raise InputDataError(f"{kind}: unknown parameter(s) {sorted(unknown)}; use {use}")
    if kind == "scalarizer":
        p["spec"] = dict(scalarizers.from_spec(p.get("spec")).spec)
    elif kind in ("exclude", "include", "boost"):
        if not isinstance(p.get("region"), Mapping):
            raise InputDataError(f"{kind}: needs a region dict, got {p.get('region')!r:.80}")
        p["region"] = normalize_region(p["region"])
        if kind == "boost":
            p["weight"] = _number(kind, "weight", p.get("weight", 1.0))
            p["clear"] = bool(p.get("clear", False))
    elif kind == "stop":
        p["reason"] = str(p.get("reason") or "")
    else:
        p = {"prior": _prior, "costs": _costs, "budget": _budget, "force": _force}[kind](p)
    return p


def make_intervention(
    kind: str,
    params: Mapping[str, Any] | None = None,
    *,
    who: str = "operator",
    seq: int = 0,
    when: float | None = None,
) -> dict[str, Any]:
    """Validate an intervention and return its JSON record.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    params : dict
        The kind's parameters (see the module docstring).
    who : str
        Who asked (operator name, ``"boars"``, ``"schedule"``).
    seq : int
        Sequence number (the :class:`~autoscope.steering.Steering` device numbers them).
    when : float, optional
        Request time, s since the epoch (default: now).

    Returns
    -------
    dict
        ``{"seq", "kind", "params", "who", "time"}``.

    Raises
    ------
    InputDataError
        Unknown kind, bad parameters, unknown policy or scalarizer.
    """
    p = jsonable(check_params(kind, {} if params is None else params))
    json.dumps(p)
    t = float(time.time() if when is None else when)
    return {"seq": int(seq), "kind": kind, "params": p, "who": str(who), "time": t}


def decode_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """Return a record with decoded JSON fields, from the plan's form or a stored event.

    Accepts ``kind`` or ``action``, ``params`` or ``what`` (dict or JSON string),
    ``old``/``new`` (JSON strings decoded), and keys with an ``intervention_``
    prefix (raw stream columns).

    Raises
    ------
    InputDataError
        Not an intervention (no known kind).
    """
    pre = "intervention_"
    r = {(k[len(pre) :] if k.startswith(pre) else k): v for k, v in dict(record).items()}
    for key in ("params", "what", "old", "new"):
        if isinstance(r.get(key), str):
            try:
                r[key] = json.loads(r[key])
            except json.JSONDecodeError:
                pass
    if "kind" not in r and "action" in r:
        r["kind"] = r["action"]
    if "params" not in r and "what" in r:
        r["params"] = r["what"]
    if r.get("kind") not in KINDS:
        raise InputDataError(f"not an intervention record (kind {r.get('kind')!r})")
    return r
