"""What the ``autoscope`` command line leaves on stderr: its own lines, not tiled's start-up log."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autoscope.cli import main


def _tiled_app_logger_passes(level: int) -> bool:
    logger = logging.getLogger("tiled.server.app")
    record = logger.makeRecord(logger.name, level, __file__, 0, "a message", (), None)
    return bool(logger.filter(record))


@pytest.mark.slow  # a process that imports the stack and opens an embedded catalog: ~5-10 s
def test_embedded_catalog_leaves_only_our_error_line_on_stderr(tmp_path):
    from autoscope.storage import close_catalog, open_catalog

    catalog = tmp_path / "catalog"
    close_catalog(open_catalog(catalog))  # an empty embedded catalog
    exe = Path(sys.executable).with_name("autoscope")
    env = dict(os.environ, AUTOSCOPE_JOURNAL=str(tmp_path / "journal"), OMP_NUM_THREADS="1")
    proc = subprocess.run([str(exe), "resume", "0123abcd", "--catalog", str(catalog)],
                          capture_output=True, text=True, env=env, timeout=240)  # fmt: skip
    assert proc.returncode == 1
    # the command opened the embedded catalog (it looked the uid up there) and said only that
    assert proc.stderr.splitlines() == [
        "autoscope resume: error: no run with uid '0123abcd' in the catalog"
    ], proc.stderr
    assert "Tiled version" not in proc.stderr + proc.stdout


def test_cli_quiets_tiled_info_but_not_its_warnings(tmp_path, capsys):
    assert main(["recover", "--journal", str(tmp_path / "none")]) == 0
    assert "nothing to recover" in capsys.readouterr().out
    assert not _tiled_app_logger_passes(logging.INFO)  # "Tiled version ..." is INFO
    assert _tiled_app_logger_passes(logging.WARNING)
    assert _tiled_app_logger_passes(logging.ERROR)
