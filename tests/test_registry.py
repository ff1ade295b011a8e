"""The one registry pattern behind scalarizers, models and policies."""

from __future__ import annotations

import pytest

from autoscope import models, policies, scalarizers
from autoscope.errors import InputDataError
from autoscope.registry import Registry


def test_register_lookup_and_errors_name_the_problem():
    reg = Registry[int]("widget")
    assert reg.register("b", 2) == 2
    reg.register("a", 1)
    assert reg["a"] == 1 and "a" in reg and "c" not in reg and 3 not in reg
    assert reg.available() == ["a", "b"] and list(reg) == ["a", "b"] and len(reg) == 2
    with pytest.raises(InputDataError, match=r"unknown widget 'c'; available: a, b"):
        reg["c"]
    with pytest.raises(ValueError, match="unknown widget 5"):
        reg[5]  # type: ignore[index]
    with pytest.raises(ValueError, match="'a' is already registered"):
        reg.register("a", 10)
    assert reg["a"] == 1
    reg.register("a", 10, overwrite=True)
    assert reg["a"] == 10
    for bad in ("", None, 3):
        with pytest.raises(ValueError, match="widget name must be a non-empty string"):
            reg.register(bad, 0)  # type: ignore[arg-type]
    assert reg.unregister("a") == 10 and reg.available() == ["b"]
    with pytest.raises(ValueError, match="unknown widget 'a'"):
        reg.unregister("a")


def test_validate_hook_runs_before_storing():
    def positive(name: str, value: int) -> None:
        if value <= 0:
            raise InputDataError(f"widget {name!r} must be > 0, got {value}")

    reg = Registry[int]("widget", positive)
    with pytest.raises(ValueError, match="widget 'x' must be > 0, got -1"):
        reg.register("x", -1)
    assert "x" not in reg


@pytest.mark.parametrize(
    "module, what",
    [(scalarizers, "scalarizer"), (models, "model"), (policies, "policy")],
)
def test_every_kind_answers_an_unknown_name_the_same_way(module, what):
    with pytest.raises(ValueError, match=rf"^unknown {what} 'nope'; available: "):
        module.get("nope")
    assert module.available() == sorted(module.available()) and module.available()
