"""Where the decision event sits among a point's messages, overlapped and not.

Overlapped (``overlap=True``): each decision is recorded while its point's spectrum is
acquired — after the spectrometer's trigger, before the point's primary event — with no
checkpoint inside the acquisition. The default path keeps its order: decision event,
checkpoint, then the move, trigger and primary event.
"""

from __future__ import annotations

import pytest

from autoscope import plans

CENTROID = {"name": "centroid", "params": {"low": 0.0, "high": 10.0}}


def _mic(dwell):
    from autoscope.devices.sim import SimMicroscope
    from autoscope.testing import TinySample

    return SimMicroscope(TinySample(shape=(16, 16), seed=0), seed=0, dwell=dwell)


def _token(msg) -> str | None:
    """One letter per message that matters: Move, Trigger, Decision, Primary, Checkpoint."""
    name = getattr(msg.obj, "name", "") or ""
    if msg.command == "set" and "probe" in name:
        return "M"
    if msg.command == "trigger" and "spectrometer" in name:
        return "T"
    if msg.command == "create":
        return {"decisions": "D", "primary": "P"}.get(msg.kwargs.get("name"))
    return "C" if msg.command == "checkpoint" else None


def _messages(RE, fake_recommender, **kw) -> str:
    log: list[str] = []
    RE.msg_hook = lambda msg: log.append(_token(msg) or "")
    RE(plans.dkl_explore(_mic(0.01), CENTROID, budget=9, n_seed=3, patch_size=6, seed=2,
                         map_every=0, **kw))  # fmt: skip
    return "".join(log)


@pytest.mark.parametrize("batch_size", [1, 3])
def test_overlapped_decisions_are_recorded_while_their_point_is_acquired(
    RE, fake_recommender, batch_size
):
    seq = _messages(RE, fake_recommender, overlap=True, batch_size=batch_size)
    assert seq.count("P") == 9 and seq.count("D") == 6 + 1  # 6 decisions, the final record
    compact = seq.replace("MM", "M")  # both axes of one move
    # after the seeds: every batch's decisions sit between its first point's trigger and its
    # primary event, nothing rewinds into the acquisition, one checkpoint per point
    batch = "T" + "D" * batch_size + "PC" + "MTPC" * (batch_size - 1)
    body = compact[compact.index("P", compact.index("P", compact.index("P") + 1) + 1) + 2 :]
    assert body == ("M" + batch) * (6 // batch_size) + "D"


def test_the_default_path_records_each_decision_before_its_move(RE, fake_recommender):
    seq = _messages(RE, fake_recommender)
    compact = seq.replace("MM", "M")
    body = compact[compact.index("P", compact.index("P", compact.index("P") + 1) + 1) + 2 :]
    # decision event, its checkpoint, the move, trigger, primary event, checkpoint
    assert body == "DCMTPC" * 6 + "D"
