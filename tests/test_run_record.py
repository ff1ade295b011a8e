"""A user's ``md`` cannot overwrite the keys the run needs: an error when the plan is built."""

from __future__ import annotations

import pytest

from autoscope import plans
from autoscope._run_record import PROTECTED_MD_KEYS, check_user_md
from autoscope.devices.sim import SimMicroscope
from autoscope.errors import InputDataError
from autoscope.testing import TinySample

CENTROID = {"name": "centroid", "params": {"low": 0.0, "high": 10.0}}


@pytest.fixture
def mic():
    return SimMicroscope(TinySample(seed=0), seed=1)


@pytest.mark.parametrize("key", PROTECTED_MD_KEYS)
def test_protected_keys_are_refused_when_the_plan_is_built(mic, key):
    with pytest.raises(InputDataError, match=f"md may not set '{key}'"):
        plans.dkl_explore(mic, CENTROID, budget=4, n_seed=2, patch_size=8, md={key: 1})
    with pytest.raises(InputDataError, match=f"md may not set '{key}'"):
        plans.acquire_structure(mic, md={key: 1})


def test_user_metadata_reaches_the_start_document(RE, mic):
    docs = []
    RE.subscribe(lambda name, doc: docs.append((name, doc)))
    RE(plans.acquire_structure(mic, md={"operator": "ada", "sample_id": "S-17"}))
    start = docs[0][1]
    assert start["operator"] == "ada" and start["sample_id"] == "S-17"
    assert start["autoscope"] == {"plan": "acquire_structure"}  # the run's own record kept


def test_check_user_md_other_errors():
    assert check_user_md(None) == {}
    with pytest.raises(InputDataError, match="md must be a dict"):
        check_user_md(["a"])
    with pytest.raises(InputDataError, match="JSON-serialisable"):
        check_user_md({"x": object()})
