"""Stored interventions and votes read back, and re-applied at the same steps in a replay.

A replay (``autoscope.replay.counterfactual``) rebuilds the run's recommender and
walks the stored path; a steered run changed that recommender at step
boundaries. :class:`InterventionReplay` re-applies the stored records at the same
boundaries: call :meth:`~InterventionReplay.apply_due` with the index of the next
measurement right before each decision (in the counterfactual loop: before
``suggest``, i.e. ``step = len(measured so far)``). It re-scalarizes from the
stored spectra, so a ``scalarizer`` change (an operator's or BOARS's) is
reproduced exactly; ``budget``, ``stop`` and ``force`` change no recommender
(the stored path already holds their effect).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from autoscope.protocols import CandidateRecommender, Trace
from autoscope.steering.interventions import RunState, apply_intervention
from autoscope.steering.records import KINDS, decode_record

__all__ = ["InterventionReplay", "interventions_of", "votes_of"]


def interventions_of(source: Any) -> list[dict[str, Any]]:
    """Return decoded intervention records in the order applied, repeats (same ``seq``) dropped.

    Parameters
    ----------
    source : ExperimentTrace or iterable of dict
        A trace (its ``interventions``) or records / raw stream rows.
    """
    rows = getattr(source, "interventions", source) or []
    out, seen = [], set()
    for row in rows:
        r = decode_record(row)
        key = int(r.get("seq", 0))
        if key in seen:  # a rewound (paused) run may repeat an event
            continue
        seen.add(key)
        out.append(r)
    return out


def votes_of(source: Any) -> list[dict[str, Any]]:
    """BOARS vote records of a trace (``votes``) or raw stream rows, ``vote_`` prefixes removed."""
    rows = getattr(source, "votes", source) or []
    out = []
    for row in rows:
        r = {(k[len("vote_") :] if k.startswith("vote_") else k): v for k, v in dict(row).items()}
        if "value" in r and "vote" not in r:
            r["vote"] = r["value"]
        out.append(r)
    return out


class InterventionReplay:
    """Re-apply a run's stored interventions to a rebuilt recommender, step by step.

    Parameters
    ----------
    trace : ExperimentTrace
        Needs ``interventions``, ``measured_ids``, ``spectra``, ``axis`` and
        ``specs["scalarizer"]``.
    skip : sequence of str
        Kinds not to re-apply (e.g. ``("scalarizer",)`` when a counterfactual
        scalarizer replaces the run's, ``("policy",)`` for a counterfactual policy).
    records : iterable of dict, optional
        Use these instead of ``trace.interventions``.
    """

    def __init__(
        self,
        trace: Trace,
        *,
        skip: Sequence[str] = (),
        records: Iterable[Mapping[str, Any]] | None = None,
    ):
        unknown = set(skip) - set(KINDS)
        if unknown:
            from autoscope.errors import InputDataError

            raise InputDataError(
                f"skip: unknown kind(s) {sorted(unknown)}; kinds are {list(KINDS)}"
            )
        self.records = interventions_of(trace if records is None else list(records))
        self.skip = tuple(skip)
        self._ids = [int(i) for i in trace.measured_ids]
        self._spectra = np.asarray(getattr(trace, "spectra", np.empty((0,))), dtype=float)
        self.state = RunState(
            budget=(getattr(trace, "specs", None) or {}).get("budget"),
            scalarizer=(getattr(trace, "specs", None) or {}).get("scalarizer"),
            axis=np.asarray(getattr(trace, "axis", np.empty(0)), dtype=float),
        )
        self._next = 0
        self.applied: list[dict[str, Any]] = []

    def __len__(self) -> int:
        return len(self.records)

    def steps(self) -> list[int]:
        """Return the boundary of each record, in order."""
        return [int(r.get("step") or 0) for r in self.records]

    def apply_due(self, rec: CandidateRecommender, step: int) -> list[dict[str, Any]]:
        """Apply, in order, every stored record with ``record["step"] <= step`` not applied yet.

        Parameters
        ----------
        rec : recommender
            The replayed recommender (changed in place).
        step : int
            Index of the measurement the next decision chooses.

        Returns
        -------
        list of dict
            The records applied now (rejected and skipped ones are passed over).
        """
        done = []
        n = min(int(step), len(self._ids), len(self._spectra))
        self.state.measured = self._ids[:n]
        self.state.spectra = list(self._spectra[:n])
        while (
            self._next < len(self.records)
            and int(self.records[self._next].get("step") or 0) <= step
        ):
            r = self.records[self._next]
            self._next += 1
            new = r.get("new")
            if r["kind"] in self.skip or (isinstance(new, Mapping) and "rejected" in new):
                continue
            out = apply_intervention(rec, r, self.state, step=int(r.get("step") or 0))
            done.append(out)
        self.applied.extend(done)
        return done
