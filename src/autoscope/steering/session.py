"""The steering session: what a steered plan does at each step boundary (pure Python).

:class:`SteeringSession` sits between the plan and the recommender. The plan tells
it each measurement (:meth:`~SteeringSession.measured`), scalarizes with its
current scalarizer (:meth:`~SteeringSession.scalarize`), and at every step
boundary (after the last value was ingested, before ``suggest``) calls
:meth:`~SteeringSession.boundary` with the records pending on the
:class:`~autoscope.steering.Steering` device. In this order it then

1. switches a temporary policy back when its ``steps`` ran out (``who="schedule"``);
2. offers the new spectra to BOARS, if attached; a changed target becomes a
   ``scalarizer`` intervention (``who="boars"``): similarity to the new target,
   every stored spectrum re-scalarized;
3. applies the operator's pending records in ``seq`` order (a record that does not
   fit is kept, marked ``{"rejected": why}``, and the run goes on).

It returns the applied records (the ``interventions`` stream) and the votes (the
``votes`` stream). Records it makes itself get negative ``seq`` numbers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from autoscope.errors import InputDataError
from autoscope.protocols import CandidateRecommender
from autoscope.steering.interventions import RunState, apply_intervention
from autoscope.steering.records import decode_record, make_intervention

__all__ = ["SteeringSession"]

logger = logging.getLogger(__name__)


class SteeringSession:
    """Plan-side steering state of one run.

    Parameters
    ----------
    rec : recommender
        The run's recommender (changed in place).
    budget : int
        The run's budget (spectra, seeds included).
    scalarizer : dict
        The run's scalarizer spec.
    axis : ndarray, shape (L,)
        Spectral axis.
    boars : BOARS, optional
        Votes on every new spectrum (see :mod:`autoscope.steering.boars`).

    Attributes
    ----------
    state : RunState
    applied : list of dict
        Every record applied (or rejected), in order.
    votes : list of dict
        Every vote asked, in order.
    last_seq : int
        Highest operator ``seq`` handled.
    """

    def __init__(
        self,
        rec: CandidateRecommender,
        *,
        budget: int | None,
        scalarizer: Mapping[str, Any],
        axis: np.ndarray,
        boars: Any = None,
    ):
        self.rec = rec
        self.state = RunState(
            budget=budget, scalarizer=dict(scalarizer), axis=np.asarray(axis, dtype=float)
        )
        self.boars = boars
        self.applied: list[dict[str, Any]] = []
        self.votes: list[dict[str, Any]] = []
        self.last_seq = 0
        self._own_seq = 0
        self._where: list[tuple[int, int, int]] = []
        self._offered = 0
        self._forced_by: dict[int, str] = {}

    # -- what the plan tells the session ---------------------------------------------------
    def measured(self, candidate_id: int, spectrum: Any, *, row: int = -1, col: int = -1) -> None:
        """Record one measurement (after the plan ingested its value, if finite)."""
        self.state.measured.append(int(candidate_id))
        self.state.spectra.append(np.asarray(spectrum, dtype=float))
        self._where.append((int(candidate_id), int(row), int(col)))

    def scalarize(self, spectrum: np.ndarray) -> float:
        """Return the value of a spectrum under the scalarizer in force (NaN when undefined)."""
        return self.state.scalarize(spectrum)

    # -- what the plan asks ---------------------------------------------------------------
    @property
    def budget(self) -> int | None:
        """The budget in force."""
        return self.state.budget

    @property
    def stop(self) -> str | None:
        """Why the operator stopped the run (``None``: go on)."""
        return self.state.stop

    def next_forced(self) -> tuple[int, str] | None:
        """Pop the next forced candidate not measured yet: ``(id, who)``, or ``None``."""
        done = set(self.state.measured)
        while self.state.forced:
            cid = self.state.forced.pop(0)
            if cid not in done:
                return cid, self._forced_by.get(cid, "operator")
        return None

    # -- the boundary ---------------------------------------------------------------------
    def _own(self, kind: str, params: Mapping[str, Any], who: str) -> dict[str, Any]:
        self._own_seq -= 1
        return make_intervention(kind, params, who=who, seq=self._own_seq)

    def _apply(self, record: Mapping[str, Any], step: int) -> dict[str, Any]:
        try:
            out = apply_intervention(self.rec, record, self.state, step=step)
        except InputDataError as exc:
            logger.warning("step %d: intervention %s rejected: %s", step, record.get("kind"), exc)
            out = {k: record.get(k) for k in ("seq", "kind", "who", "time", "params")}
            out.update(step=int(step), old=None, new={"rejected": str(exc)})
        if out.get("kind") == "force" and "rejected" not in (out.get("new") or {}):
            for cid in out["new"] if isinstance(out["new"], list) else []:
                self._forced_by.setdefault(int(cid), str(out.get("who", "operator")))
        self.applied.append(out)
        return out

    def _votes(self, boars: Any, step: int) -> tuple[list[dict[str, Any]], bool]:
        votes, changed = [], False
        axis = self.state.axis
        for k in range(self._offered, len(self.state.spectra)):
            cid, row, col = self._where[k]
            try:
                v = boars.offer(
                    self.state.spectra[k], axis, step=k, candidate_id=cid, row=row, col=col
                )
            except InputDataError as exc:
                logger.warning("step %d: vote on measurement %d skipped: %s", step, k, exc)
                continue
            if v is not None:
                votes.append(v)
                changed |= bool(v["changed"])
        self._offered = len(self.state.spectra)
        self.votes.extend(votes)
        return votes, changed

    def boundary(
        self, step: int, pending: Iterable[Mapping[str, Any]] = (), boars: Any = None
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Apply what is due at the boundary before measurement ``step``.

        Parameters
        ----------
        step : int
            Index of the measurement the next decision chooses.
        pending : iterable of dict
            Records from the device; those with ``seq <= last_seq`` are ignored.
        boars : BOARS, optional
            Overrides :attr:`boars` (the device's current one).

        Returns
        -------
        applied : list of dict
            Records applied now (with ``step``, ``old``, ``new``), in order.
        votes : list of dict
            Votes asked now.
        """
        applied: list[dict[str, Any]] = []
        rev = self.state.revert
        if rev is not None and step >= rev["at"]:
            applied.append(
                self._apply(
                    self._own("policy", {"spec": rev["spec"], "revert": True}, "schedule"), step
                )
            )
        votes: list[dict[str, Any]] = []
        boars = boars if boars is not None else self.boars
        if boars is not None:
            votes, changed = self._votes(boars, step)
            spec = boars.scalarizer_spec() if changed else None
            if spec is not None:
                applied.append(
                    self._apply(self._own("scalarizer", {"spec": spec}, boars.who), step)
                )
        records = []
        for raw in pending:
            r = decode_record(raw)
            if int(r.get("seq", 0)) > self.last_seq:
                records.append(r)
        for r in sorted(records, key=lambda r: int(r["seq"])):
            applied.append(self._apply(r, step))
            self.last_seq = max(self.last_seq, int(r["seq"]))
        return applied, votes
