"""The journal: exact round trip, a cut tail, locks, fsync policies, location; recover."""

from __future__ import annotations

import os

import numpy as np
import pytest

from autoscope import plans, trace
from autoscope.devices.sim import SimMicroscope
from autoscope.errors import InputDataError
from autoscope.storage import Journal, default_journal_dir
from autoscope.storage.delivery import stored_counts, write_run
from autoscope.storage.journal import read_journal, unfinished
from autoscope.storage.recover import recover
from autoscope.testing import TinySample

CENTROID = {"name": "centroid", "params": {"low": 0.0, "high": 10.0}}


def fake_run(uid="u1", n=3):
    """A minimal document stream: start, descriptor, n events with awkward values, stop."""
    docs = [("start", {"uid": uid, "time": 1.0, "scan_id": 1})]
    docs.append(("descriptor", {"uid": f"d-{uid}", "run_start": uid, "name": "primary",
                                "data_keys": {}, "time": 1.0}))  # fmt: skip
    for i in range(n):
        data = {"spectrum": np.array([1.5, np.nan, np.inf, -0.0]) * (i + 1),
                "counts": np.arange(6, dtype=np.int16).reshape(2, 3), "value": np.float32(0.1),
                "label": "é", "nested": {"a": [1, 2, {"b": None}]}}  # fmt: skip
        docs.append(("event", {"uid": f"e{i}", "descriptor": f"d-{uid}", "seq_num": i + 1,
                               "data": data, "timestamps": {}, "time": 2.0}))  # fmt: skip
    docs.append(("stop", {"uid": f"s-{uid}", "run_start": uid, "exit_status": "success"}))
    return docs


def test_round_trip_is_exact(tmp_path):
    journal = Journal(tmp_path, destination="/data/cat")
    for name, doc in fake_run():
        journal(name, doc)
    header, docs = read_journal(tmp_path / "u1.msgpack")
    assert header == {"version": 1, "destination": "/data/cat"}
    assert [n for n, _ in docs] == ["start", "descriptor", "event", "event", "event", "stop"]
    for (_, want), (_, got) in zip(fake_run()[2:5], docs[2:5], strict=True):
        s, c = got["data"]["spectrum"], got["data"]["counts"]
        assert s.dtype == np.float64 and np.array_equal(s, want["data"]["spectrum"], equal_nan=True)
        assert np.signbit(s[3]) == np.signbit(want["data"]["spectrum"][3])
        assert (
            c.dtype == np.int16
            and c.shape == (2, 3)
            and np.array_equal(c, np.arange(6).reshape(2, 3))
        )
        assert got["data"]["value"] == np.float32(0.1) and type(got["data"]["value"]) is np.float32
        assert got["data"]["label"] == "é" and got["data"]["nested"] == {"a": [1, 2, {"b": None}]}


def test_a_record_cut_by_a_crash_is_dropped(tmp_path):
    journal = Journal(tmp_path)
    for name, doc in fake_run()[:-1]:
        journal(name, doc)
    journal.close()
    path = tmp_path / "u1.msgpack"
    full = path.read_bytes()
    path.write_bytes(full[:-7])  # the last event half written
    _, docs = read_journal(path)
    assert [n for n, _ in docs] == ["start", "descriptor", "event", "event"]
    path.write_bytes(b"\xc1" * 20)  # never valid msgpack
    with pytest.raises(InputDataError, match="not an autoscope journal"):
        read_journal(path)


def test_a_run_being_written_is_locked_and_not_unfinished(tmp_path):
    journal = Journal(tmp_path, close_on_stop=False)
    for name, doc in fake_run():
        journal(name, doc)
    assert unfinished(tmp_path) == []  # locked: its process is alive
    delivered = journal.finish("u1", delivered=True)
    assert delivered == tmp_path / "delivered" / "u1.msgpack" and delivered.is_file()
    assert unfinished(tmp_path) == [] and journal.path("u1") == delivered
    other = Journal(tmp_path)
    for name, doc in fake_run("u2")[:3]:
        other(name, doc)
    other.close()  # the process "died": unlocked, not delivered
    assert unfinished(tmp_path) == [tmp_path / "u2.msgpack"]


@pytest.mark.parametrize(("policy", "expected"), [("document", 6), ("run", 2), ("interval", 2)])
def test_fsync_policies(tmp_path, monkeypatch, policy, expected):
    calls = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real(fd)))
    journal = Journal(tmp_path, fsync=policy, sync_interval=3600)
    for name, doc in fake_run():
        journal(name, doc)
    journal.close()
    assert len(calls) == expected  # start + stop always; every document with "document"
    with pytest.raises(InputDataError, match="fsync must be one of"):
        Journal(tmp_path, fsync="never")


def test_interval_policy_syncs_within_the_interval(tmp_path, monkeypatch):
    calls = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real(fd)))
    journal = Journal(tmp_path, sync_interval=0.0)
    for name, doc in fake_run()[:3]:
        journal(name, doc)
    journal.close()
    assert len(calls) == 1 + 3  # start, then every append once the (zero) interval passed


def test_default_location(monkeypatch, tmp_path):
    monkeypatch.setenv("AUTOSCOPE_JOURNAL", str(tmp_path / "j"))
    assert default_journal_dir() == tmp_path / "j"
    monkeypatch.delenv("AUTOSCOPE_JOURNAL")
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_journal_dir() == tmp_path / ".local" / "state" / "autoscope" / "journal"
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert default_journal_dir() == tmp_path / "xdg" / "autoscope" / "journal"


def test_recover_writes_replaces_and_is_idempotent(RE, catalog, tmp_path):
    """A run only in the journal is written; a partial copy is replaced; twice: no-op."""
    journal = Journal(tmp_path / "j")
    RE.subscribe(journal)  # no Tiled writer at all: as if Tiled never answered
    mic = SimMicroscope(TinySample(seed=0), seed=1)
    model = {"name": "dkl", "params": {"n_iter": 10, "warm_iter": 3}}
    (uid,) = RE(plans.dkl_explore(mic, CENTROID, budget=8, n_seed=3, patch_size=8, seed=1,
                                  model=model, map_every=2))  # fmt: skip
    _, docs = read_journal(tmp_path / "j" / f"{uid}.msgpack")
    write_run(catalog, docs[: len(docs) // 2])  # a partial copy, as an outage leaves it
    assert stored_counts(catalog, uid)[1] is False
    (done,) = recover(catalog, tmp_path / "j")
    assert done.action == "replaced" and done.complete and done.events["primary"] == 8
    assert recover(catalog, tmp_path / "j") == []
    tr = trace.load(uid, catalog=catalog)
    assert tr.complete and tr.n_measured == 8 and len(tr.decisions) == 6
    spectra = [d["data"]["microscope_spectrometer_spectrum"] for n, d in docs if n == "event"
               and "microscope_spectrometer_spectrum" in d["data"]]  # fmt: skip
    np.testing.assert_array_equal(tr.spectra, np.asarray(spectra))
    assert list(catalog) == [uid]


def test_a_run_without_a_stop_document_loads_and_replays(RE, catalog, tmp_path):
    from autoscope.replay import counterfactual

    journal = Journal(tmp_path / "j")
    RE.subscribe(journal)
    mic = SimMicroscope(TinySample(seed=0), seed=1)
    model = {"name": "dkl", "params": {"n_iter": 10, "warm_iter": 3}}
    (uid,) = RE(plans.dkl_explore(mic, CENTROID, budget=9, n_seed=3, patch_size=8, seed=4,
                                  model=model, map_every=0))  # fmt: skip
    _, docs = read_journal(tmp_path / "j" / f"{uid}.msgpack")
    cut = [i for i, (n, _) in enumerate(docs) if n == "event"][-4]  # as if killed there
    write_run(catalog, docs[:cut])
    tr = trace.load(uid, catalog=catalog)
    assert not tr.complete and tr.exit_status == "incomplete" and tr.stop is None
    assert 3 < tr.n_measured < 9 and tr.faults == [""] * tr.n_measured
    cf = counterfactual(tr)  # the run's own specs reproduce the decisions it has
    # a decision recorded just before the "kill", whose point was never measured, is not replayed
    assert len(tr.chosen_ids) - 1 <= len(cf.chosen_ids) <= len(tr.chosen_ids)
    assert cf.chosen_ids == tr.chosen_ids[: len(cf.chosen_ids)] and len(cf.chosen_ids) >= 2


def test_a_journal_cut_before_its_start_document_is_empty_not_failed(catalog, tmp_path):
    journal = Journal(tmp_path)
    journal("start", {"uid": "u9", "time": 1.0})
    journal.close()
    path = tmp_path / "u9.msgpack"
    header_only = path.read_bytes()[: -len(path.read_bytes()) // 2]  # the start record cut
    path.write_bytes(header_only)
    (done,) = recover(catalog, tmp_path)
    assert done.action == "empty" and done.journal.parent.name == "delivered"
    assert recover(catalog, tmp_path) == [] and list(catalog) == []


def test_a_failed_tiled_write_warns_and_the_run_is_rewritten_whole(RE, catalog, monkeypatch):
    """Writes that fail (here: the first two flushes) cost nothing but a warning: the run goes on,
    the worker rewrites it from the journal, and Tiled ends up with every event once."""
    from autoscope.storage import TiledOutageWarning, make_writer
    from autoscope.storage.delivery import TiledRun

    real, calls = TiledRun.flush, []

    def flaky(self):
        calls.append(1)
        if len(calls) <= 2:
            raise ConnectionError("simulated: Tiled refused the write")
        real(self)

    monkeypatch.setattr(TiledRun, "flush", flaky)
    writer = make_writer(catalog, flush_interval=0.05)
    writer.retry_interval = 0.1
    RE.subscribe(writer)
    mic = SimMicroscope(TinySample(seed=0), seed=1, dwell=0.05)
    model = {"name": "dkl", "params": {"n_iter": 10, "warm_iter": 3}}
    with pytest.warns(TiledOutageWarning, match="kept in the journal"):
        (uid,) = RE(plans.dkl_explore(mic, CENTROID, budget=10, n_seed=3, patch_size=8, seed=1,
                                      model=model, map_every=0))  # fmt: skip
    assert len(calls) >= 3 and writer.trouble() is None
    tr = trace.load(uid, catalog=catalog)
    assert tr.complete and tr.n_measured == 10 and len(set(tr.measured_ids)) == 10
    assert len(tr.decisions) == 8 and list(catalog) == [uid]
    assert writer.journal.path(uid).parent.name == "delivered"


def test_recover_reports_an_unreadable_journal_and_fails(catalog, tmp_path, capsys):
    from autoscope.cli import main

    (tmp_path / "j").mkdir()
    (tmp_path / "j" / "junk.msgpack").write_bytes(b"\xc1" * 10)
    argv = ["recover", "--catalog", str(tmp_path / "catalog"), "--journal", str(tmp_path / "j")]
    assert main(argv) == 1
    assert "junk: failed" in capsys.readouterr().out
    assert (tmp_path / "j" / "junk.msgpack").is_file()  # kept for a person to look at
