"""The plans' parameters validate in bluesky-queueserver: devices by name, enums, bounds.

In-process, with the validation re-manager runs at ``item_add``; tests/plans/test_re_manager.py
does the same through a real re-manager.
"""

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
        # refused at item_add: the annotations' bounds, enums and device names
        (("dkl_explore", ["microscope", "centroid"], {"budget": -3}), False),
        (("dkl_explore", ["microscope", "centroid"], {"patch_size": 999}), False),
        (("dkl_explore", ["microscope", "centroid"], {"policy": "nosuch"}), False),
        (("dkl_explore", ["microscope", "centroid"], {"model": "nosuch"}), False),
        (("dkl_explore", ["microscope", "nosuch_scalarizer"], {}), False),
        (("dkl_explore", ["nosuchdevice", "centroid"], {}), False),
        (("dkl_explore", ["microscope", "centroid"], {"calibration": "sometimes"}), False),
        (("raster_spectra", ["microscope", "centroid"], {"stride": 0}), False),
        (("direct_spectra", ["microscope", "centroid"], {"detector": "hough"}), False),
        (("random_spectra", ["microscope", "centroid"], {"seed": -1}), False),
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


def test_annotation_enums_are_the_registries():
    import autoscope.steering  # noqa: F401 (registers the "boosted" policy)
    from autoscope import models, policies, scalarizers
    from autoscope.plans._annotations import MODELS, POLICIES

    assert list(POLICIES) == policies.available() and list(MODELS) == models.available()
    params = plans.dkl_explore._custom_parameter_annotation_["parameters"]
    # other tests register their own scalarizers (all named *test*) after the plans were imported
    built_in = [n for n in scalarizers.available() if "test" not in n]
    assert params["scalarizer"]["enums"]["Scalarizers"] == built_in
    assert (params["budget"]["min"], params["patch_size"]["max"]) == (1, 256)
