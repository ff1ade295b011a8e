"""Shared fixtures: a RunEngine that owns and closes its event loop; Tiled catalogs.

Every test journals into ``tmp_path / "journal"`` (``$AUTOSCOPE_JOURNAL``).
``catalog`` is an embedded Tiled catalog in the test's ``tmp_path``;
``tiled_server`` (session-scoped, tests marked ``server``) is a real
``tiled serve config`` process on a free loopback port with an API key.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _journal_dir(tmp_path, monkeypatch):
    """Every test journals into its own ``tmp_path / "journal"``, never the user's."""
    monkeypatch.setenv("AUTOSCOPE_JOURNAL", str(tmp_path / "journal"))
    return tmp_path / "journal"


@pytest.fixture
def RE(request):
    """A fresh RunEngine with its own event loop, stopped and closed after the test."""
    from bluesky import RunEngine
    from bluesky.utils import TransitionError

    loop = asyncio.new_event_loop()
    engine = RunEngine({}, loop=loop, call_returns_result=False)

    def clean_event_loop():
        if engine.state not in ("idle", "panicked"):
            try:
                engine.halt()
            except TransitionError:
                pass
        loop.call_soon_threadsafe(loop.stop)
        engine._th.join()
        loop.close()

    request.addfinalizer(clean_event_loop)
    return engine


@pytest.fixture(scope="session")
def _catalog_template(tmp_path_factory):
    """An initialised, empty ``catalog.db`` (initialising costs a subprocess, ~1-5 s)."""
    from autoscope.storage import close_catalog, open_catalog

    directory = tmp_path_factory.mktemp("catalog-template")
    close_catalog(open_catalog(directory))
    return directory / "catalog.db"


@pytest.fixture
def catalog(tmp_path, _catalog_template):
    """An embedded Tiled catalog of Bluesky runs in ``tmp_path / "catalog"``, closed afterwards."""
    from autoscope.storage import close_catalog, open_catalog

    directory = tmp_path / "catalog"
    directory.mkdir()
    shutil.copyfile(_catalog_template, directory / "catalog.db")
    client = open_catalog(directory)
    yield client
    close_catalog(client)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def tiled_server(tmp_path_factory):
    """A real ``tiled serve config`` server on loopback; yields ``(uri, api_key)``.

    The config (written by :func:`autoscope.storage.server_config`) has a
    single-user API key, the ``CatalogOfBlueskyRuns`` spec, the json-seq exporter,
    and a SQLite catalog + data directory + SQL tabular storage in a tmp dir.
    """
    import httpx

    from autoscope.storage import server_config

    directory = tmp_path_factory.mktemp("tiled-server")
    api_key = "autoscopetestkey0123456789"
    port = _free_port()
    config = server_config(directory, api_key, port=port)
    tiled = Path(sys.executable).with_name("tiled")
    command = [str(tiled), "serve", "config", str(config)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TILED_")}
    log_path = directory / "server.log"
    uri = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 90.0
        while True:
            if proc.poll() is not None:
                pytest.fail(f"tiled server exited ({proc.returncode}):\n{log_path.read_text()}")
            try:
                with httpx.Client(trust_env=False, timeout=2.0) as http:
                    if http.get(f"{uri}/api/v1/").status_code == 200:
                        break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"tiled server did not start in 90 s:\n{log_path.read_text()}")
            time.sleep(0.25)
        yield uri, api_key
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
