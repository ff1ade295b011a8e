"""Plan stubs of steering: read the Steering device at a step boundary, apply, record.

Used by :func:`autoscope.plans.dkl_explore` when given ``steering=``; see
:mod:`autoscope.steering.session` for what is applied, in which order.
"""

from __future__ import annotations

import json
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
from bluesky.utils import MsgGenerator

from autoscope.protocols import CandidateRecommender
from autoscope.steering.controls import InterventionInfo, VoteInfo
from autoscope.steering.session import SteeringSession

__all__ = ["PlanSteering", "SteeringStreams", "steering_step"]


class SteeringStreams:
    """The two soft devices a steered run publishes through (``intervention``, ``vote``)."""

    def __init__(self) -> None:
        self.intervention = InterventionInfo(name="intervention")
        self.vote = VoteInfo(name="vote")


def steering_step(
    steering: Any,
    session: SteeringSession,
    step: int,
    streams: SteeringStreams,
    spectrum_shape: tuple[int, ...],
) -> MsgGenerator:
    """Apply what the operator queued (and BOARS votes) at the boundary before measurement ``step``.

    Reads ``steering.pending`` and ``steering.applied``, lets ``session`` apply the
    new records, emits one ``votes`` event per vote and one ``interventions`` event
    per applied record, writes ``steering.applied``, ``steering.step`` and
    ``steering.last``; with RunEngine rewinding off, so that a pause never
    replays (and stores twice) these events.

    Parameters
    ----------
    steering : Steering
        The device (only its signals are read and set through messages; its
        attached BOARS voter is read directly).
    session : SteeringSession
    step : int
        Index of the measurement the next decision chooses.
    streams : SteeringStreams
    spectrum_shape : tuple of int
        Shape of one spectrum (the ``votes`` target field).

    Returns
    -------
    list of dict
        The records applied at this boundary.
    """

    def inner() -> MsgGenerator:
        raw = yield from bps.rd(steering.pending)
        done = yield from bps.rd(steering.applied)
        pending = json.loads(raw) if isinstance(raw, str) and raw else []
        if done is not None:
            session.last_seq = max(session.last_seq, int(done))
        applied, votes = session.boundary(step, pending, getattr(steering, "boars_session", None))
        for v in votes:
            streams.vote.publish(v, spectrum_shape)
            yield from bps.trigger_and_read([streams.vote], name="votes")
        for r in applied:
            streams.intervention.publish(r)
            yield from bps.trigger_and_read([streams.intervention], name="interventions")
            yield from bps.mv(steering.last, json.dumps(r))
        yield from bps.mv(steering.applied, int(session.last_seq), steering.step, int(step))
        return applied

    return (yield from bpp.rewindable_wrapper(inner(), False))


class PlanSteering:
    """What a steered plan holds: the device, the session and the stream devices.

    Parameters
    ----------
    steering : Steering
    rec : recommender
    budget : int
    scalarizer : dict
        The run's scalarizer spec.
    axis : ndarray, shape (L,)
    spectrum_shape : tuple of int

    Attributes
    ----------
    session : SteeringSession
    """

    def __init__(
        self,
        steering: Any,
        rec: CandidateRecommender,
        budget: int,
        scalarizer: dict,
        axis: Any,
        spectrum_shape: tuple[int, ...],
    ):
        self.steering = steering
        self.session = SteeringSession(rec, budget=budget, scalarizer=scalarizer, axis=axis)
        self.streams = SteeringStreams()
        self.spectrum_shape = tuple(spectrum_shape)

    def scalarize(self, spectrum: Any) -> float:
        """Return the value of a spectrum under the scalarizer in force."""
        return self.session.scalarize(spectrum)

    def measured(self, candidate_id: int, spectrum: Any, *, row: int = -1, col: int = -1) -> None:
        """Record one measurement (see :meth:`SteeringSession.measured`)."""
        self.session.measured(candidate_id, spectrum, row=row, col=col)

    def step(self, step: int) -> MsgGenerator:
        """Plan stub: the boundary before measurement ``step`` (:func:`steering_step`)."""
        return (
            yield from steering_step(
                self.steering, self.session, step, self.streams, self.spectrum_shape
            )
        )
