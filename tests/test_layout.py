"""The source layout: short modules, and public import paths that survive moving code."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import autoscope

MAX_LINES = 400
SRC = Path(autoscope.__file__).parent


def test_every_module_is_at_most_400_lines():
    sizes = {
        str(path.relative_to(SRC.parent)): len(path.read_text(encoding="utf-8").splitlines())
        for path in sorted(SRC.rglob("*.py"))
    }
    assert len(sizes) > 100  # the whole package was read, not an empty folder
    too_long = {name: n for name, n in sizes.items() if n > MAX_LINES}
    assert not too_long, f"split these along a seam (one concept per module): {too_long}"


@pytest.mark.parametrize(
    ("public", "private"),
    [
        ("autoscope.models.GPSurrogate", "autoscope.models._base.GPSurrogate"),
        (
            "autoscope.sim.spm.landau_khalatnikov_loops",
            "autoscope.sim._loops.landau_khalatnikov_loops",
        ),
        ("autoscope.sim.spm.triangle_bias", "autoscope.sim._loops.triangle_bias"),
        ("autoscope.sim.replay.ReplaySample", "autoscope.sim.recorded.RecordedSample"),
        ("autoscope.plan_stubs.PointInfo", "autoscope._soft_devices.PointInfo"),
        ("autoscope.plan_stubs.Geometry", "autoscope._soft_devices.Geometry"),
        ("autoscope.plan_stubs.Decision", "autoscope._soft_devices.Decision"),
        ("autoscope.plan_stubs.DecisionWithMaps", "autoscope._soft_devices.DecisionWithMaps"),
        ("autoscope.trace.read_stream", "autoscope._stored_run.read_stream"),
        ("autoscope.cli.demo", "autoscope._demo.demo"),
        ("autoscope.cli.build_instrument", "autoscope._demo.build_instrument"),
        ("autoscope.models.register", "autoscope.models._registry.MODELS.register"),
        ("autoscope.policies.from_spec", "autoscope.policies._registry.POLICIES.from_spec"),
    ],
)
def test_public_paths_name_the_moved_objects(public, private):
    def resolve(dotted: str):
        module, _, rest = dotted.partition(".")
        obj = importlib.import_module(module)
        for part in rest.split("."):
            try:
                obj = getattr(obj, part)
            except AttributeError:
                obj = importlib.import_module(f"{obj.__name__}.{part}")
        return obj

    assert resolve(public) == resolve(private)
    module, _, name = public.rpartition(".")
    assert name in importlib.import_module(module).__all__
