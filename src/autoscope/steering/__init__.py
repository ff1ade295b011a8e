"""Human in the loop: steer a running experiment, and BOARS voting on spectra.

In a running :func:`autoscope.plans.dkl_explore` a person can, at any step
boundary and without restarting the run or losing the model: change the policy
(type and parameters, or pure exploration for N steps), change the scalarizer
(every stored spectrum re-scalarized, the model retrained), inject knowledge
(exclude, include or boost regions; add prior points), change costs, extend or
cut the budget, stop gracefully, or force the next points. Every intervention
goes to the run's ``interventions`` stream and is re-applied by replays.

Pure logic (no ophyd, no bluesky; usable next to a bare recommender):
:mod:`.records` (validated JSON records), :mod:`.interventions`
(:func:`apply_intervention`), :mod:`.regions`,
:mod:`.layers` (policy layers, the ``boosted`` policy), :mod:`.session` (what a
plan does at a boundary), :mod:`.history` (replaying stored interventions),
:mod:`.boars` and :mod:`.voters`. Instrument side: :class:`Steering` (an Ophyd
device of soft signals, :mod:`.controls`) and the plan stub :func:`steering_step`
(:mod:`.stubs`), imported lazily so that the pure modules never pull in ophyd.
"""

from __future__ import annotations

from typing import Any

from autoscope.steering.boars import BOARS, VOTES
from autoscope.steering.history import InterventionReplay, interventions_of, votes_of
from autoscope.steering.interventions import RunState, apply_intervention, replace_values
from autoscope.steering.layers import Boosted, compose_policy, policy_layers
from autoscope.steering.records import KINDS, decode_record, make_intervention
from autoscope.steering.regions import normalize_region, resolve_region
from autoscope.steering.session import SteeringSession
from autoscope.steering.voters import (
    CallableVoter,
    SimulatedExpert,
    TerminalVoter,
    loop_symmetry,
    sparkline,
)

__all__ = [
    "BOARS",
    "KINDS",
    "VOTES",
    "Boosted",
    "CallableVoter",
    "InterventionInfo",
    "InterventionReplay",
    "RunState",
    "SimulatedExpert",
    "Steering",
    "SteeringSession",
    "SteeringStreams",
    "TerminalVoter",
    "VoteInfo",
    "apply_intervention",
    "boars_figure",
    "compose_policy",
    "decode_record",
    "interventions_figure",
    "interventions_of",
    "loop_symmetry",
    "make_intervention",
    "normalize_region",
    "policy_layers",
    "queueserver_functions",
    "replace_values",
    "resolve_region",
    "sparkline",
    "steering_step",
    "votes_of",
]

_LAZY = {
    "Steering": "autoscope.steering.controls",
    "InterventionInfo": "autoscope.steering.controls",
    "VoteInfo": "autoscope.steering.controls",
    "queueserver_functions": "autoscope.steering.controls",
    "SteeringStreams": "autoscope.steering.stubs",
    "steering_step": "autoscope.steering.stubs",
    "boars_figure": "autoscope.steering.figures",
    "interventions_figure": "autoscope.steering.figures",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'autoscope.steering' has no attribute {name!r}")
