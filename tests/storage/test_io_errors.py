"""Every catalog I/O or connection failure ends in one line on stderr, exit code 1, no traceback.

The table of the issue, row by row, through ``autoscope.cli.main`` (and ``open_catalog``):
missing key, wrong key, nothing listening, unknown host, an unwritable path, a file instead of
a folder, a path under a file; ``replay`` never creates a catalog; Ctrl-C ends with the summary.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autoscope.cli import main
from autoscope.errors import StorageError
from autoscope.storage import open_catalog

DEMO = ["demo", "--shape", "16", "--patch-size", "4", "--budget", "4", "--n-seed", "2",
        "--no-report", "--no-progress"]  # fmt: skip


def _one_line_error(argv, capsys, match: str) -> str:
    rc = main(argv)
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert rc == 1, (rc, captured.out, err)
    assert "Traceback" not in captured.err and "Traceback" not in captured.out
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"autoscope {argv[0]}: error: ") and match in err, err
    return err


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the block ends: nothing listens


@pytest.fixture
def unwritable(tmp_path):
    """A catalog path whose parent this process cannot write (``/sys`` when running as root)."""
    if os.geteuid() == 0:
        return Path("/sys/autoscope-catalog")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    return locked / "catalog"


def test_nothing_listening(capsys):
    uri = f"http://127.0.0.1:{_closed_port()}"
    _one_line_error([*DEMO, "--tiled-uri", uri, "--api-key", "k" * 16], capsys,
                    "(connection refused)")  # fmt: skip
    t0 = time.monotonic()
    with pytest.raises(StorageError, match="no Tiled server at"):
        open_catalog(uri, api_key="k" * 16)
    assert time.monotonic() - t0 < 10  # one probe, not tiled's ~25 s of retries


def test_unknown_host(capsys):
    argv = [*DEMO, "--tiled-uri", "http://nosuchhost.invalid:8000", "--api-key", "k" * 16]
    _one_line_error(argv, capsys, "cannot reach the Tiled server at http://nosuchhost")


def test_catalog_is_a_file(tmp_path, capsys):
    f = tmp_path / "notes.txt"
    f.write_text("x")
    _one_line_error([*DEMO, "--catalog", str(f)], capsys, "is a file, not a directory")
    _one_line_error([*DEMO, "--catalog", str(f / "cat")], capsys, "lies under the file")


def test_catalog_not_writable(unwritable, capsys):
    _one_line_error([*DEMO, "--catalog", str(unwritable)], capsys, "cannot write the catalog")
    assert not unwritable.exists()


def test_replay_never_creates_a_catalog(tmp_path, capsys):
    missing = tmp_path / "mistyped"
    _one_line_error(["replay", "-1", "--catalog", str(missing)], capsys, "no catalog at")
    assert not missing.exists()
    with pytest.raises(StorageError, match="no catalog at"):
        open_catalog(missing, create=False)


@pytest.mark.server
@pytest.mark.parametrize("tiled_server", ["sqlite"], indirect=True)
def test_missing_and_wrong_key(tiled_server, capsys, monkeypatch):
    uri, _ = tiled_server
    monkeypatch.delenv("TILED_API_KEY", raising=False)
    _one_line_error([*DEMO, "--tiled-uri", uri], capsys, "needs an API key")
    _one_line_error([*DEMO, "--tiled-uri", uri, "--api-key", "wrongkeywrongkey0"], capsys,
                    "refused the API key (401)")  # fmt: skip
    _one_line_error(["replay", "-1", "--tiled-uri", uri, "--api-key", "wrongkeywrongkey0"],
                    capsys, "refused the API key (401)")  # fmt: skip


@pytest.mark.slow
def test_ctrl_c_ends_with_the_summary_and_no_traceback(tmp_path):
    catalog, err_path = tmp_path / "cat", tmp_path / "stderr.txt"
    command = [str(Path(sys.executable).with_name("autoscope")), "demo", "--shape", "24",
               "--patch-size", "6", "--budget", "200", "--n-seed", "4", "--no-report",
               "--catalog", str(catalog)]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    with open(err_path, "wb") as err_file:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err_file, env=env)
    try:
        deadline = time.monotonic() + 180
        # the progress bar (stderr) shows measurements: the run is under way
        while not re.search(r" [3-9]/200", err_path.read_text()):
            assert proc.poll() is None and time.monotonic() < deadline, err_path.read_text()
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    out, err = out.decode(), err_path.read_text()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "RequestAbort" not in err, err
    assert "autoscope demo: interrupted (Ctrl-C): the run was aborted and stored" in err
    assert "measured" in out and "catalog" in out  # the summary of the stored, aborted run


def test_serve_with_an_unreachable_database(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TILED_API_KEY", "k" * 16)
    database = f"postgresql://autoscope:hunter2@127.0.0.1:{_closed_port()}/runs"
    err = _one_line_error(["serve", "--catalog", str(tmp_path), "--database", database], capsys,
                          "cannot reach the PostgreSQL database 127.0.0.1:")  # fmt: skip
    assert "hunter2" not in err + capsys.readouterr().out


@pytest.mark.server
def test_serve_with_a_database_that_does_not_exist(postgres, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TILED_API_KEY", "k" * 16)
    base = postgres("autoscope_exists").rsplit("/", 1)[0]
    _one_line_error(["serve", "--catalog", str(tmp_path), "--database", f"{base}/nosuchdb"],
                    capsys, 'database "nosuchdb" does not exist')  # fmt: skip


def test_report_folder_that_cannot_be_created_exits_2_before_the_run(tmp_path, capsys):
    f = tmp_path / "notes.txt"
    f.write_text("x")
    with pytest.raises(SystemExit) as info:
        argv = [a for a in DEMO if a != "--no-report"]
        main([*argv, "--catalog", str(tmp_path / "cat"), "--report", str(f / "report")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--report" in err and "cannot create it" in err and "Traceback" not in err
    assert not (tmp_path / "cat").exists()  # nothing was run or stored


def test_any_other_os_error_is_one_line(monkeypatch, capsys):
    from autoscope import cli

    def broken(args, parser):
        raise PermissionError(13, "Permission denied", "/data/somewhere")

    monkeypatch.setitem(cli.COMMANDS, "replay", (cli.COMMANDS["replay"][0],
                        cli.COMMANDS["replay"][1], broken))  # fmt: skip
    _one_line_error(["replay", "-1"], capsys, "Permission denied (/data/somewhere)")
