"""A real run in a subprocess, killed by SIGKILL at several points, then ``autoscope recover``.

After the kill and ``recover`` the catalog holds every spectrum whose event was
emitted (and exactly what the journal holds: nothing doubled, arrays equal), on
an embedded catalog and on a real ``tiled serve`` server. Then ``autoscope resume``
(the real command, in its own process) finishes the budget in a new linked run with
no candidate measured twice, and a second ``resume`` of the same run is refused.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from autoscope import trace
from autoscope.cli import main
from autoscope.storage import close_catalog, open_catalog
from autoscope.storage.journal import read_journal, unfinished

CHILD = Path(__file__).with_name("_crash_child.py")
SPECTRUM = "microscope_spectrometer_spectrum"


def run_and_kill(opts: dict, until: str, journal: Path, *, after: float = 0.0) -> list[str]:
    """Start the child, SIGKILL it ``after`` s once a line starting with ``until`` appears."""
    env = dict(os.environ, AUTOSCOPE_JOURNAL=str(journal), OMP_NUM_THREADS="1")
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), json.dumps(opts)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 240
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.append(line.strip())
            if line.startswith(until):
                time.sleep(after)
                break
            if time.monotonic() > deadline:
                break
        assert any(x.startswith(until) for x in lines), lines[-5:]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()  # type: ignore[union-attr]
    assert proc.returncode == -signal.SIGKILL
    return lines


def emitted(lines: list[str], stream: str) -> int:
    """How many events of ``stream`` the child reported as taken by the writer."""
    counts = [int(x.split()[2]) for x in lines if x.startswith(f"event {stream} ")]
    return max(counts, default=0)


def journal_spectra(path: Path) -> tuple[str, np.ndarray, bool]:
    """uid, spectra of the ``primary`` stream, and whether the journal has a stop document."""
    _, docs = read_journal(path)
    primary = {d["uid"] for n, d in docs if n == "descriptor" and d["name"] == "primary"}
    spectra = [d["data"][SPECTRUM] for n, d in docs if n == "event" and d["descriptor"] in primary]
    return docs[0][1]["uid"], np.asarray(spectra), any(n == "stop" for n, _ in docs)


def recover_twice(where: list[str], journal: Path, capsys) -> str:
    """``autoscope recover`` twice: the second call is a no-op that says so."""
    assert main(["recover", *where, "--journal", str(journal)]) == 0
    first = capsys.readouterr().out
    assert main(["recover", *where, "--journal", str(journal)]) == 0
    assert "nothing to recover" in capsys.readouterr().out
    assert unfinished(journal) == []
    return first


#: (name, kill when this line appears, seconds later, writer options)
KILLS = [
    # the image event is journaled; the worker flushes only every 30 s: Tiled has no event yet
    ("before-first-flush", "event structure", 0.0, {"flush_interval": 30.0}),
    ("mid-run", "event primary 9", 0.0, {"flush_interval": 0.5}),
    # everything waits for the stop document, then the writer writes it all: killed meanwhile
    ("final-write", "stop", 0.3, {"flush_interval": 30.0, "batch_size": 1000, "print_first": 1}),
]


def check_recovered(client, journal: Path, lines: list[str], printed_first: bool) -> None:
    (path,) = sorted((journal / "delivered").glob("*.msgpack"))
    uid, spectra, has_stop = journal_spectra(path)
    n = emitted(lines, "primary")
    # every spectrum whose event was emitted is stored (the last one printed before the
    # writer took it may be missing only when progress was printed first)
    assert len(spectra) >= n - int(printed_first)
    tr = trace.load(uid, catalog=client)
    assert tr.n_measured == len(spectra)  # exactly the journal: nothing doubled
    if len(spectra):
        np.testing.assert_array_equal(tr.spectra, spectra)
    assert tr.complete == has_stop
    assert tr.exit_status == ("success" if has_stop else "incomplete")
    assert len(set(tr.measured_ids)) == tr.n_measured
    print(f"\nkilled: {n} spectra emitted, {len(spectra)} in the journal, {tr.n_measured} in the "
          f"catalog after recover; stop document: {has_stop}")  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(("name", "until", "after", "writer"), KILLS, ids=[k[0] for k in KILLS])
def test_sigkill_then_recover_embedded(tmp_path, _catalog_template, capsys, name, until, after,
                                       writer):  # fmt: skip
    import shutil

    directory, journal = tmp_path / "cat", tmp_path / "journal"
    directory.mkdir()
    shutil.copyfile(_catalog_template, directory / "catalog.db")
    opts = {"catalog": str(directory), "budget": 14, **writer}
    lines = run_and_kill(opts, until, journal, after=after)
    assert len(unfinished(journal)) == 1  # the killed run, unlocked by the kernel
    out = recover_twice(["--catalog", str(directory)], journal, capsys)
    print("\nrecover:", out.strip())
    assert ("written" in out) or ("replaced" in out) or ("already stored" in out)
    client = open_catalog(directory)
    try:
        check_recovered(client, journal, lines, bool(writer.get("print_first")))
        assert len(client) == 1
    finally:
        close_catalog(client)


@pytest.mark.server
@pytest.mark.parametrize(("name", "until", "after", "writer"), KILLS, ids=[k[0] for k in KILLS])
def test_sigkill_then_recover_on_a_tiled_server(tiled_server, tmp_path, capsys, name, until,
                                                after, writer):  # fmt: skip
    uri, api_key = tiled_server
    journal = tmp_path / "journal"
    opts = {"catalog": uri, "api_key": api_key, "budget": 14, **writer}
    lines = run_and_kill(opts, until, journal, after=after)
    recover_twice(["--tiled-uri", uri, "--api-key", api_key], journal, capsys)
    client = open_catalog(uri, api_key=api_key)
    try:
        check_recovered(client, journal, lines, bool(writer.get("print_first")))
    finally:
        close_catalog(client)


#: (name, kill when this line appears, writer options) before ``resume``; budget RESUME_BUDGET
RESUME_KILLS = [
    ("nothing-measured", "event structure", {"flush_interval": 30.0}),
    ("in-the-seeds", "event primary 2", {"flush_interval": 0.5}),
    # the decision is stored, its point never measured: resume decides again
    ("decided-not-measured", "event decisions 5", {"flush_interval": 0.5}),
    ("mid-run", "event primary 10", {"flush_interval": 0.5}),
]
RESUME_IDS = [k[0] for k in RESUME_KILLS]
RESUME_BUDGET = 16


def resume_cli(uid: str, where: list[str], journal: Path) -> subprocess.CompletedProcess:
    """Run ``autoscope resume UID ...`` as its own process (the installed console script)."""
    exe = Path(sys.executable).with_name("autoscope")
    env = dict(os.environ, AUTOSCOPE_JOURNAL=str(journal), OMP_NUM_THREADS="1")
    return subprocess.run([str(exe), "resume", uid, *where], capture_output=True, text=True,
                          env=env, timeout=280)  # fmt: skip


def kill_recover_resume(opts: dict, until: str, where: list[str], journal: Path, capsys):
    """Kill a 32 x 32 run at ``until``, recover it, resume it; return (uid, lines, proc)."""
    lines = run_and_kill({**opts, "budget": RESUME_BUDGET, "shape": [32, 32]}, until, journal)
    (pending,) = unfinished(journal)
    assert main(["resume", pending.stem, *where]) == 1  # not before recover: it may lack points
    assert "never recovered" in capsys.readouterr().err
    recover_twice(where, journal, capsys)
    (path,) = sorted((journal / "delivered").glob("*.msgpack"))
    uid = journal_spectra(path)[0]
    return uid, lines, resume_cli(uid, where, journal)


def check_resumed(client, uid: str, lines: list[str], journal: Path, done) -> str:
    """The pair finishes the budget, links, repeats no candidate, keeps every emitted spectrum."""
    from autoscope.plans import resumed_by

    assert done.returncode == 0, done.stderr[-2000:]
    (new_uid,) = resumed_by(client, uid)
    assert f"resumed {uid}" in done.stdout and new_uid in done.stdout
    old, new = trace.load(uid, catalog=client), trace.load(new_uid, catalog=client)
    assert new.start["autoscope"]["resumed_from"] == uid and new.specs["budget"] == RESUME_BUDGET
    assert new.exit_status == "success" and new.stop["reason"] == "budget"
    ids = old.measured_ids + new.measured_ids
    assert len(ids) == RESUME_BUDGET == len(set(ids))  # the budget, no candidate twice
    # the old run still holds every spectrum emitted before the kill, exactly the journal's
    _, spectra, _ = journal_spectra(journal / "delivered" / f"{uid}.msgpack")
    assert old.n_measured == len(spectra) >= emitted(lines, "primary")
    if len(spectra):
        np.testing.assert_array_equal(old.spectra, spectra)
    assert not old.complete and unfinished(journal) == []
    print(f"\nkilled after {emitted(lines, 'primary')} spectra; resumed: {new.n_measured} more")
    return new_uid


def refused_twice(uid: str, new_uid: str, where: list[str], journal: Path) -> None:
    """A second ``resume`` of the same run fails with one line naming the first continuation."""
    again = resume_cli(uid, where, journal)
    assert again.returncode == 1
    # one line of ours (the CLI keeps tiled's INFO start-up line off stderr; warnings would pass)
    (line,) = [x for x in again.stderr.splitlines() if x.startswith("autoscope")]
    assert "Traceback" not in again.stderr
    assert f"run {uid} was already resumed as {new_uid}" in line, line


@pytest.mark.slow
@pytest.mark.parametrize(("name", "until", "writer"), RESUME_KILLS, ids=RESUME_IDS)
def test_sigkill_recover_then_resume_embedded(tmp_path, _catalog_template, capsys, name, until,
                                              writer):  # fmt: skip
    import shutil

    directory, journal = tmp_path / "cat", tmp_path / "journal"
    directory.mkdir()
    shutil.copyfile(_catalog_template, directory / "catalog.db")
    where = ["--catalog", str(directory)]
    opts = {"catalog": str(directory), **writer}
    uid, lines, done = kill_recover_resume(opts, until, where, journal, capsys)
    client = open_catalog(directory, create=False)
    try:
        new_uid = check_resumed(client, uid, lines, journal, done)
    finally:
        close_catalog(client)
    refused_twice(uid, new_uid, where, journal)
    client = open_catalog(directory, create=False)
    try:
        assert len(client) == 2  # the refusal wrote nothing
    finally:
        close_catalog(client)


@pytest.mark.server
@pytest.mark.parametrize(("name", "until", "writer"), RESUME_KILLS[2:], ids=RESUME_IDS[2:])
def test_sigkill_recover_then_resume_on_a_tiled_server(tiled_server, tmp_path, capsys, name,
                                                       until, writer):  # fmt: skip
    uri, api_key = tiled_server
    journal, where = tmp_path / "journal", ["--tiled-uri", uri, "--api-key", api_key]
    opts = {"catalog": uri, "api_key": api_key, **writer}
    uid, lines, done = kill_recover_resume(opts, until, where, journal, capsys)
    client = open_catalog(uri, api_key=api_key)
    try:
        new_uid = check_resumed(client, uid, lines, journal, done)
    finally:
        close_catalog(client)
    refused_twice(uid, new_uid, where, journal)


def test_recover_and_resume_never_create_a_catalog(tmp_path, capsys):
    missing, journal = tmp_path / "no-such-catalog", tmp_path / "journal"
    journal.mkdir()
    (journal / "0123.msgpack").write_bytes(b"")  # an unfinished journal: recover opens the catalog
    assert main(["recover", "--catalog", str(missing), "--journal", str(journal)]) == 1
    assert main(["resume", "4567", "--catalog", str(missing)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"autoscope {c}: error: no catalog at {missing} (no catalog.db there); check "
                   "the path" for c in ("recover", "resume")]  # fmt: skip
    assert not missing.exists() and unfinished(journal) != []


def test_recover_with_nothing_to_do_says_so(tmp_path, capsys):
    assert main(["recover", "--catalog", str(tmp_path / "cat"), "--journal", str(tmp_path)]) == 0
    assert "nothing to recover" in capsys.readouterr().out
    assert not (tmp_path / "cat").exists()  # nothing opened, nothing created
