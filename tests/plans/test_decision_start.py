"""An overlapped decision starts once the spectrometer is triggered, not during the move."""

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


def test_the_decision_starts_after_the_trigger_was_processed():
    seen: list[str] = []
    started_at: list[int] = []
    plan = _after_trigger(measure_like(), lambda: started_at.append(len(seen)))
    commands, value = drive(_recording(plan, seen))
    assert value == 0.5 and commands == ["set", "wait", "trigger", "wait", "create", "save"]
    # started when the message after the trigger came out: the trigger's reply was back
    assert started_at == [3]


def test_without_a_trigger_the_decision_starts_at_the_end():
    seen: list[str] = []
    started_at: list[int] = []
    plan = _after_trigger(measure_like(trigger=False), lambda: started_at.append(len(seen)))
    commands, _ = drive(_recording(plan, seen))
    assert commands == ["set", "wait", "create", "save"] and started_at == [4]


def _recording(plan, seen):
    reply = None
    try:
        while True:
            msg = plan.send(reply)
            seen.append(msg.command)
            reply = yield msg
    except StopIteration as stop:
        return stop.value
