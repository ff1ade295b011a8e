"""Overlap: the decision is recorded and the next one started once the spectrometer is triggered."""

from __future__ import annotations

from bluesky.utils import Msg

from autoscope.plans.pipeline import _after_trigger


def drive(plan):
    """Run a plan of plain messages without a RunEngine; return (commands seen, result)."""
    seen, reply = [], None
    try:
        while True:
            msg = plan.send(reply)
            seen.append(msg.command)
            reply = None
    except StopIteration as stop:
        return seen, stop.value


def measure_like(trigger: bool = True):
    yield Msg("set", "x", 1.0)
    yield Msg("wait", None)
    if trigger:
        yield Msg("trigger", "spectrometer")
        yield Msg("wait", None)
    yield Msg("create", None)
    yield Msg("save")
    return 0.5


def _plans(started_at: list[tuple[str, int]], seen: list[str], label: str):
    """A ``during``/``otherwise`` plan: one decision-like event, then note when it ran."""

    def plan():
        yield Msg("create", None, name="decisions")
        yield Msg("save")
        started_at.append((label, len(seen)))

    return plan


def test_the_decision_is_recorded_and_started_after_the_trigger_was_processed():
    seen: list[str] = []
    started_at: list[tuple[str, int]] = []
    plan = _after_trigger(
        measure_like(), _plans(started_at, seen, "during"), _plans(started_at, seen, "otherwise")
    )
    commands, value = drive(_recording(plan, seen))
    # the decision event sits between the trigger and the wait for the detector: recorded
    # while it acquires, before the point's own event
    assert value == 0.5
    assert commands == ["set", "wait", "trigger", "create", "save", "wait", "create", "save"]
    # the worker starts once the decision event is out, still before the detector's wait
    assert started_at == [("during", 5)]


def test_without_a_trigger_the_decision_is_recorded_and_started_at_the_end():
    seen: list[str] = []
    started_at: list[tuple[str, int]] = []
    plan = _after_trigger(
        measure_like(trigger=False),
        _plans(started_at, seen, "during"),
        _plans(started_at, seen, "otherwise"),
    )
    commands, _ = drive(_recording(plan, seen))
    assert commands == ["set", "wait", "create", "save", "create", "save"]
    assert started_at == [("otherwise", 6)]


def _recording(plan, seen):
    reply = None
    try:
        while True:
            msg = plan.send(reply)
            seen.append(msg.command)
            reply = yield msg
    except StopIteration as stop:
        return stop.value
