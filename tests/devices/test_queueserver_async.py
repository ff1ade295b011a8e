"""The ophyd-async instrument is a queueserver device; items naming it validate."""

from __future__ import annotations

import pytest

from autoscope import plans
from autoscope.devices.sim_async import SimAsyncMicroscope
from autoscope.testing import TinySample

po = pytest.importorskip("bluesky_queueserver.manager.profile_ops")
from bluesky_queueserver import validate_plan  # noqa: E402


def test_microscope_async_is_listed_and_dkl_explore_items_naming_it_validate():
    mic = SimAsyncMicroscope(TinySample(seed=0), name="microscope_async", seed=0)
    assert po.is_device(mic)
    devices = po._prepare_devices({"microscope_async": mic})
    desc = devices["microscope_async"]
    assert desc["classname"] == "SimAsyncMicroscope"
    assert {"probe", "structure", "spectrometer"} <= set(desc["components"])
    assert desc["components"]["probe"]["components"]["x"]["is_movable"]
    allowed_plans = po._prepare_plans({"dkl_explore": plans.dkl_explore}, existing_devices=devices)
    ok, msg = validate_plan(
        {"name": "dkl_explore", "args": ["microscope_async", "centroid"], "kwargs": {"budget": 5}},
        allowed_plans=allowed_plans,
        allowed_devices=devices,
    )
    assert ok, msg
    ok, _ = validate_plan(
        {
            "name": "dkl_explore",
            "args": ["microscope_async", "centroid"],
            "kwargs": {"budget": "x"},
        },
        allowed_plans=allowed_plans,
        allowed_devices=devices,
    )
    assert not ok
