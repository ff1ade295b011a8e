"""The plans' parameters validate in bluesky-queueserver (simple annotations, devices by name)."""

from __future__ import annotations

import pytest

from autoscope import plans

po = pytest.importorskip("bluesky_queueserver.manager.profile_ops")
from bluesky_queueserver import validate_plan  # noqa: E402

NAMES = ["acquire_structure", "direct_spectra", "dkl_explore", "random_spectra", "raster_spectra"]


@pytest.fixture
def allowed(tiny_mic):
    # the representation re-manager builds from a startup namespace (private helpers of 0.0.25)
    devices = po._prepare_devices({"microscope": tiny_mic})
    return po._prepare_plans(
        {n: getattr(plans, n) for n in NAMES}, existing_devices=devices
    ), devices


@pytest.mark.parametrize(
    ("item", "ok"),
    [
        (("dkl_explore", ["microscope", "centroid"], {"budget": 10, "seed_points": [[3, 4]],
          "policy": {"name": "ucb", "params": {"beta": 2.0}}, "stop": {"budget": 5}}), True),
        (("dkl_explore", ["microscope", {"name": "centroid", "params": {}}], {"seed": None}), True),
        (("dkl_explore", ["microscope", "centroid"], {"budget": "ten"}), False),
        (("dkl_explore", ["microscope", 5], {}), False),
        (("raster_spectra", ["microscope", "centroid"], {"stride": None}), True),
        (("random_spectra", ["microscope", "centroid"], {"seed": 3}), True),
        (("direct_spectra", ["microscope", "centroid"], {"detector": "peaks"}), True),
        (("acquire_structure", ["microscope"], {"md": {"note": "overview"}}), True),
    ],
)  # fmt: skip
def test_queue_items_validate(allowed, item, ok):
    name, args, kwargs = item
    allowed_plans, allowed_devices = allowed
    result = validate_plan(
        {"name": name, "args": args, "kwargs": kwargs},
        allowed_plans=allowed_plans,
        allowed_devices=allowed_devices,
    )
    assert result[0] is ok, result[1]
