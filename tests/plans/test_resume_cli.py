"""``autoscope resume UID --catalog DIR``: a crashed simulated run finished from the CLI."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from autoscope import plans, trace
from autoscope.cli import main
from autoscope.cli_resume import instrument_from_record
from autoscope.errors import InputDataError
from autoscope.storage import close_catalog, make_writer, open_catalog

FAST = {"name": "dkl", "params": {"n_iter": 15, "warm_iter": 4}}


def _crash_at(n):
    seen, primary = [0], set()

    def callback(name, doc):
        if name == "descriptor" and doc["name"] == "primary":
            primary.add(doc["uid"])
        if name == "event" and doc["descriptor"] in primary:
            seen[0] += 1
            if seen[0] == n:
                raise RuntimeError("simulated crash")

    return callback


def test_resume_cli_rebuilds_the_sim_instrument_and_finishes(tmp_path, _catalog_template, capsys):
    from bluesky import RunEngine

    from autoscope.devices.sim import SimSPM
    from autoscope.sim import make_sample

    directory = tmp_path / "catalog"
    directory.mkdir()
    shutil.copyfile(_catalog_template, directory / "catalog.db")
    client = open_catalog(directory)
    loop = asyncio.new_event_loop()
    engine = RunEngine({}, loop=loop, call_returns_result=False)
    try:
        engine.subscribe(make_writer(client))
        engine.subscribe(_crash_at(6))
        mic = SimSPM(sample=make_sample("spm", shape=(24, 24), seed=0), seed=1)
        plan = plans.dkl_explore(mic, mic.sample.default_scalarizer, budget=10, n_seed=3,
                                 patch_size=8, seed=0, model=FAST)  # fmt: skip
        with pytest.raises(RuntimeError, match="simulated crash"):
            engine(plan)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        engine._th.join()
        loop.close()
    old_uid = trace.load(-1, client).uid
    close_catalog(client)

    assert main(["resume", old_uid, "--catalog", str(directory)]) == 0
    out = capsys.readouterr().out
    assert f"resumed {old_uid}" in out and "of 10; success (budget)" in out
    client = open_catalog(directory)
    try:
        old, new = trace.load(old_uid, client), trace.load(-1, client)
        ids = old.measured_ids + new.measured_ids
        assert new.specs["resumed_from"] == old_uid and len(ids) == 10 == len(set(ids))
        assert new.specs["instrument"]["sample"] == old.specs["instrument"]["sample"]
        assert plans.resumed_by(client, old_uid) == [new.uid]
        assert plans.resumed_by(client, new.uid) == []
        # a second resume is refused when the plan is built, by uid or by trace, before any move
        mic = instrument_from_record(old.specs["instrument"])
        for previous in (old_uid, old):
            with pytest.raises(InputDataError, match=f"already resumed as {new.uid}"):
                plans.dkl_resume(mic, previous, catalog=client)
        n_runs = len(client)
    finally:
        close_catalog(client)
    with pytest.raises(InputDataError, match=f"already resumed as {new.uid}"):
        plans.dkl_resume(mic, old_uid, catalog=str(directory))  # a directory: opened, not created
    assert main(["resume", old_uid, "--catalog", str(directory)]) == 1
    assert f"autoscope resume: error: run {old_uid} was already resumed as {new.uid}" in (
        capsys.readouterr().err
    )
    client = open_catalog(directory, create=False)
    try:
        assert len(client) == n_runs == 2  # nothing written by the refusals
    finally:
        close_catalog(client)


def test_a_real_instrument_is_not_rebuilt_from_its_record():
    with pytest.raises(InputDataError, match="not a simulated one"):
        instrument_from_record({"class": "EpicsMicroscope", "name": "mic"})


def test_resume_refuses_a_run_not_recovered_or_still_running(tmp_path, capsys):
    from autoscope.devices.sim import SimMicroscope
    from autoscope.storage.journal import try_lock
    from autoscope.testing import TinySample

    journal, missing = tmp_path / "journal", tmp_path / "no-catalog"  # $AUTOSCOPE_JOURNAL
    journal.mkdir()
    path = journal / "abcd-1234.msgpack"
    path.write_bytes(b"")
    mic = SimMicroscope(TinySample(seed=0), seed=1)
    with pytest.raises(InputDataError, match="never recovered .* run `autoscope recover` first"):
        plans.dkl_resume(mic, "abcd-1234", catalog=missing)
    with open(path, "ab") as f:  # a live run holds its journal's lock
        assert try_lock(f)
        assert main(["resume", "abcd", "--catalog", str(missing)]) == 1
    err = capsys.readouterr().err
    assert "run abcd is still being written by a running process" in err
    assert not missing.exists()
