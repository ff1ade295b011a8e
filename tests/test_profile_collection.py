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
def test_queueserver_listing_is_current(tmp_path):
    """The checked-in existing_plans_and_devices.yaml is what the startup dir produces.

    Regenerate after changing a plan's signature, docstring or annotation, or a device:
    ``AUTOSCOPE_CATALOG=/tmp/cat qserver-list-plans-devices --startup-dir
    profile_collection/startup --file-dir profile_collection/startup``.
    """
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
    assert {"microscope", "microscope_async", "steer"} <= set(listing["existing_devices"])
    assert listing["existing_devices"]["microscope_async"]["classname"] == "SimAsyncMicroscope"
    dkl = {p["name"]: p for p in listing["existing_plans"]["dkl_explore"]["parameters"]}
    assert list(dkl)[:8] == [
        "microscope",
        "scalarizer",
        "policy",
        "budget",
        "n_seed",
        "patch_size",
        "seed",
        "model",
    ]
    # devices by name, bounded integers: what makes item_add refuse bad items
    assert "microscope" in dkl["microscope"]["annotation"]["devices"]["Instruments"]
    assert "microscope_async" in dkl["microscope"]["annotation"]["devices"]["Instruments"]
    assert (dkl["budget"]["min"], dkl["patch_size"]["max"]) == ("1", "256")
    checked_in = yaml.safe_load((STARTUP / "existing_plans_and_devices.yaml").read_text())
    assert checked_in == listing, "regenerate existing_plans_and_devices.yaml (see docstring)"
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
    # outside the queueserver: BestEffortCallback plots on, the live view subscribed
    assert ns["bec"]._plots_enabled
    assert callable(ns["steer_policy"]) and ns["steer"].name == "steer"
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
        assert ns["live"].n_decisions > 0  # the live view saw the decisions
        # the ophyd-async twin was connected by the profile on RE's loop: it runs as it is
        from bluesky.plans import count

        mic_async = ns["microscope_async"]
        assert mic_async.sample.kind == "spm" and mic_async.shape == (24, 24)
        (uid,) = RE(count([mic_async.spectrometer], num=2))
        spectra = catalog[uid]["primary"].read()["microscope_async_spectrometer_spectrum"]
        assert spectra.shape == (2, *mic_async.sample.spectrum_shape)
    finally:
        RE.halt() if RE.state != "idle" else None


def test_ipython_history_is_kept_outside_the_repository(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    config = type("Config", (), {})()
    config.HistoryManager = type("HM", (), {})()
    ns = runpy.run_path(str(STARTUP.parent / "ipython_config.py"), init_globals={
        "get_config": lambda: config})  # fmt: skip
    assert ns["c"] is config
    assert config.HistoryManager.hist_file == str(
        tmp_path / "state" / "autoscope" / "ipython_history.sqlite"
    )


def test_under_the_queueserver_no_plots_and_no_live_view(tmp_path, monkeypatch, _catalog_template):
    import shutil

    import bluesky_queueserver

    directory = tmp_path / "catalog"
    directory.mkdir()
    shutil.copyfile(_catalog_template, directory / "catalog.db")
    monkeypatch.setenv("AUTOSCOPE_CATALOG", str(directory))
    monkeypatch.delenv("AUTOSCOPE_TILED_URI", raising=False)
    monkeypatch.setattr(bluesky_queueserver, "is_re_worker_active", lambda: True)
    ns = runpy.run_path(str(STARTUP / "00-base.py"))
    try:
        assert not ns["bec"]._plots_enabled and "live" not in ns
        assert str(ns["catalog"].context.api_uri).startswith("http://local-tiled-app")
    finally:
        ns["catalog"].context.close()


def test_the_ophyd_async_instrument_connects_under_a_running_event_loop(
    tmp_path, monkeypatch, _catalog_template
):
    """As in Jupyter, whose kernel runs the cells inside its own asyncio loop."""
    import asyncio
    import shutil

    from bluesky.plans import count

    directory = tmp_path / "catalog"
    directory.mkdir()
    shutil.copyfile(_catalog_template, directory / "catalog.db")
    for key, value in _env(tmp_path).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AUTOSCOPE_SAMPLE", "stem")

    async def cell() -> tuple[dict, tuple]:
        ns: dict = {}
        for name in ("00-base.py", "10-devices.py"):
            ns = runpy.run_path(str(STARTUP / name), init_globals=ns)
        return ns, ns["RE"](count([ns["microscope_async"].spectrometer], num=2))

    ns, (uid,) = asyncio.run(cell())
    try:
        mic = ns["microscope_async"]
        assert mic.shape == (24, 24) and mic.sample.kind == "stem"
        run = ns["catalog"][uid]
        assert run.metadata["stop"]["exit_status"] == "success"
        spectra = run["primary"].read()["microscope_async_spectrometer_spectrum"]
        assert spectra.shape == (2, *mic.sample.spectrum_shape)
    finally:
        ns["catalog"].context.close()
