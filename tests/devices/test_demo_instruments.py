"""``autoscope demo --instrument ...`` and ``autoscope ioc``: the command-line paths."""

from __future__ import annotations

import pytest

from autoscope.cli import main


def test_sim_async_demo_runs_and_is_stored(tmp_path, capsys):
    from autoscope import trace
    from autoscope.storage import close_catalog, open_catalog

    catalog = tmp_path / "catalog"
    rc = main(["demo", "--instrument", "sim-async", "--shape", "24", "--budget", "5",
               "--n-seed", "3", "--patch-size", "8", "--no-report", "--no-progress",
               "--catalog", str(catalog)])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0 and "exit status                 : success" in out
    client = open_catalog(catalog)
    try:
        tr = trace.load(-1, client)
        assert tr.specs["instrument"]["class"] == "SimAsyncMicroscope"
        assert tr.n_measured == 5 and tr.image.shape == (24, 24)
    finally:
        close_catalog(client)


@pytest.mark.server
def test_epics_demo_without_an_ioc_says_so_without_a_traceback(ca_ports, tmp_path, capsys):
    rc = main(["demo", "--instrument", "epics", "--prefix", "NOBODY:", "--no-report",
               "--catalog", str(tmp_path / "c")])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 1
    assert "no IOC under prefix 'NOBODY:'" in err and "autoscope ioc --prefix" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--shape", "4"], "--shape must be >= 8"),
        (["--dwell", "-1"], "expected a finite number >= 0"),
        (["--port", "70000"], "--port must be in 1..65535"),
        (["--sample", "xyz"], "invalid choice"),
    ],
)
def test_ioc_refuses_bad_arguments(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["ioc", *argv])
    assert exc.value.code == 2 and message in capsys.readouterr().err
