"""The profile_collection startup directory works for IPython and for bluesky-queueserver."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

STARTUP = Path(__file__).resolve().parents[1] / "profile_collection" / "startup"
PLANS = {"acquire_structure", "direct_spectra", "dkl_explore", "random_spectra", "raster_spectra"}


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(AUTOSCOPE_CATALOG=str(tmp_path / "catalog"), AUTOSCOPE_SHAPE="24")
    env.pop("AUTOSCOPE_TILED_URI", None)
    return env


@pytest.mark.slow
def test_queueserver_lists_the_plans_and_the_microscope(tmp_path):
    # the tool re-manager uses to build existing_plans_and_devices.yaml from a startup dir
    exe = Path(sys.executable).with_name("qserver-list-plans-devices")
    subprocess.run(
        [str(exe), "--startup-dir", str(STARTUP), "--file-dir", str(tmp_path)],
        check=True,
        env=_env(tmp_path),
        capture_output=True,
        timeout=120,
    )
    listing = yaml.safe_load((tmp_path / "existing_plans_and_devices.yaml").read_text())
    assert PLANS <= set(listing["existing_plans"])
    assert "microscope" in listing["existing_devices"]
    params = [p["name"] for p in listing["existing_plans"]["dkl_explore"]["parameters"]]
    assert params[:8] == [
        "microscope",
        "scalarizer",
        "policy",
        "budget",
        "n_seed",
        "patch_size",
        "seed",
        "model",
    ]
    assert (STARTUP / "user_group_permissions.yaml").exists()


@pytest.mark.slow
def test_ipython_startup_runs_an_experiment(tmp_path, monkeypatch):
    for key, value in _env(tmp_path).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AUTOSCOPE_SAMPLE", "spm")
    ns: dict = {}
    for path in sorted(STARTUP.glob("*.py")):
        ns = runpy.run_path(str(path), init_globals=ns)
    RE, microscope, catalog = ns["RE"], ns["microscope"], ns["catalog"]
    try:
        (uid,) = RE(
            ns["dkl_explore"](
                microscope, "loop_area", budget=6, n_seed=3, patch_size=8, seed=0,
                model={"name": "dkl", "params": {"n_iter": 20, "warm_iter": 5}},
            )
        )  # fmt: skip
        run = catalog[uid]
        assert run.metadata["start"]["plan_name"] == "dkl_explore"
        assert run.metadata["stop"]["exit_status"] == "success"
        assert microscope.sample.kind == "spm"
    finally:
        RE.halt() if RE.state != "idle" else None
