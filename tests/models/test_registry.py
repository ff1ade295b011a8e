"""Tests of the model registry: names, specs, errors."""

from __future__ import annotations

import json

import pytest

from autoscope import models
from autoscope.models import GPSurrogate
from autoscope.models._registry import MODELS

NAMES = [
    "committee",
    "dkl",
    "ensemble",
    "gp_coords",
    "pca_gp",
    "spatial_dkl",
    "static_dkl",
    "vae_gp",
]


def test_available_names():
    assert models.available() == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_spec_roundtrip_is_json(name):
    m = models.get(name, seed=3)
    spec = json.loads(json.dumps(m.spec))
    assert spec["name"] == name and spec["params"]["seed"] == 3
    again = models.from_spec(spec)
    assert type(again) is type(m) and again.spec == m.spec


def test_from_spec_forms():
    assert isinstance(models.from_spec("dkl"), models.DKL)
    m = models.from_spec({"name": "dkl", "params": {"embedding_dim": 4}})
    assert m.params["embedding_dim"] == 4
    assert models.from_spec(m) is m


@pytest.mark.parametrize(
    "spec, match",
    [
        ("gp", "unknown model 'gp'; available: committee, dkl"),
        ({"name": "dkl", "params": {"depth": 3}}, "model 'dkl': bad parameters"),
        ({"name": "dkl", "parameters": {}}, "a model spec is"),
        ({"name": "dkl", "params": [1]}, "'params' must be a dict"),
        ({"name": "pca_gp", "params": {"n_components": 0}}, "n_components must be between"),
        (3, "a model is a name"),
    ],
)
def test_bad_specs_raise_value_error(spec, match):
    with pytest.raises(ValueError, match=match):
        models.from_spec(spec)


def test_register_a_user_model():
    class Mine(GPSurrogate):
        name = "mine_test"

    assert models.register("mine_test", Mine) is Mine
    try:
        assert isinstance(models.get("mine_test"), Mine)
        assert models.get("mine_test").spec["name"] == "mine_test"
        with pytest.raises(ValueError, match="already registered"):
            models.register("mine_test", Mine)
    finally:
        MODELS.unregister("mine_test")
    assert "mine_test" not in models.available()
    with pytest.raises(ValueError, match="GPSurrogate subclass"):
        models.register("bad", object)


def test_register_never_renames_the_class():
    class Other(GPSurrogate):
        name = "other"

    # its specs would say "other": registering it as "alias" is refused, not patched
    with pytest.raises(ValueError, match="declares name 'other'.*set `name = 'alias'`"):
        models.register("alias", Other)
    assert Other.name == "other"
    assert "alias" not in models.available()
