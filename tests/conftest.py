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


def _which(name: str) -> str | None:
    """A PostgreSQL program on $PATH or in Debian's versioned directory."""
    import glob

    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found if isinstance(found, str) or not found else found[-1]


def _wait_until(ready, proc, what: str, log_path: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            pytest.fail(f"{what} exited ({proc.returncode}):\n{log_path.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not start in {timeout:g} s:\n{log_path.read_text()}")
        time.sleep(0.25)


def _stop(proc: subprocess.Popen, signal_: int | None = None) -> None:
    if signal_ is None:
        proc.terminate()
    else:
        proc.send_signal(signal_)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL cluster (Debian's postgresql) on a free loopback port.

    Yields a function ``make_database(name) -> "postgresql://postgres@127.0.0.1:PORT/name"``
    that creates an empty database. ``initdb`` refuses to run as root: as root the
    cluster belongs to the ``postgres`` user (``runuser``). Install with ``.ci/services.sh``.
    """
    import tempfile

    initdb, pg_ctl = _which("initdb"), _which("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.fail("PostgreSQL (initdb, pg_ctl) not found: run .ci/services.sh")
    root = Path(tempfile.mkdtemp(prefix="autoscope-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, log_path = root / "data", root / "postgres.log"
    subprocess.run([*as_user, initdb, "-D", str(data), "--auth=trust", "-U", "postgres"],
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    port = _free_port()
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1"
    # pg_ctl -w waits until the server accepts connections; ``stop`` ends the postmaster itself
    subprocess.run([*as_user, pg_ctl, "start", "-w", "-t", "90", "-D", str(data), "-l",
                    str(log_path), "-o", options], check=True, capture_output=True,
                   timeout=120)  # fmt: skip

    def make_database(name: str) -> str:
        import asyncpg

        async def create():
            conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres")
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        asyncio.run(create())
        return f"postgresql://postgres@127.0.0.1:{port}/{name}"

    try:
        yield make_database
    finally:
        subprocess.run([*as_user, pg_ctl, "stop", "-D", str(data), "-m", "fast", "-w"],
                       capture_output=True, timeout=60)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


def start_autoscope_serve(directory: Path, api_key: str, database: str | None = None):
    """Start ``autoscope serve`` on a free loopback port; return ``(proc, uri, log_path)``.

    The key goes through ``$TILED_API_KEY`` (a key on the command line is visible in ``ps``).
    """
    import httpx

    port = _free_port()
    exe = Path(sys.executable).with_name("autoscope")
    command = [str(exe), "serve", "--catalog", str(directory), "--port", str(port)]
    if database is not None:
        command += ["--database", database]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TILED_")}
    env["TILED_API_KEY"] = api_key
    directory.mkdir(parents=True, exist_ok=True)
    log_path = directory / "server.log"
    uri = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)

    def ready() -> bool:
        try:
            with httpx.Client(trust_env=False, timeout=2.0) as http:
                return http.get(f"{uri}/api/v1/").status_code == 200
        except httpx.TransportError:
            return False

    try:
        _wait_until(ready, proc, "autoscope serve", log_path)
    except BaseException:
        _stop(proc)
        raise
    return proc, uri, log_path


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def tiled_server(request, tmp_path_factory):
    """A real Tiled server (``autoscope serve``) on loopback; yields ``(uri, api_key)``.

    Parametrized over the catalog database: SQLite files in the catalog directory,
    and PostgreSQL (the ``postgres`` fixture's cluster). The server has a single-user
    API key, the ``CatalogOfBlueskyRuns`` spec and the json-seq exporter
    (:func:`autoscope.storage.server_config`).
    """
    directory = tmp_path_factory.mktemp(f"tiled-{request.param}")
    database = None
    if request.param == "postgresql":
        database = request.getfixturevalue("postgres")(f"tiled_{os.getpid()}")
    api_key = "autoscopetestkey0123456789"
    proc, uri, _ = start_autoscope_serve(directory, api_key, database)
    try:
        yield uri, api_key
    finally:
        _stop(proc)


@pytest.fixture
def autoscope_serve():
    """``start(directory, api_key, database=None) -> (proc, uri, log_path)``; stopped afterwards."""
    procs: list[subprocess.Popen] = []

    def start(directory: Path, api_key: str, database: str | None = None):
        proc, uri, log_path = start_autoscope_serve(directory, api_key, database)
        procs.append(proc)
        return proc, uri, log_path

    yield start
    for proc in procs:
        _stop(proc)


def _start_decide_server(log_path: Path, *options: str) -> tuple[subprocess.Popen, str]:
    """Start ``autoscope decide-server`` on a free loopback port, one torch thread; wait for it."""
    address = f"tcp://127.0.0.1:{_free_port()}"
    exe = Path(sys.executable).with_name("autoscope")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(exe), "decide-server", "--bind", address, "--threads", "1", *options],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    try:
        _wait_until(lambda: "listening on" in log_path.read_text(), proc, "decide-server", log_path)
    except BaseException:
        _stop(proc)
        raise
    return proc, address


@pytest.fixture
def decide_server(tmp_path):
    """``start(*options) -> (proc, address)``: a decision server of this test's own.

    ``autoscope decide-server`` on a free loopback port with one torch thread (as the local
    runs it is compared with); every process started is stopped after the test.
    """
    started: list[subprocess.Popen] = []

    def start(*options: str) -> tuple[subprocess.Popen, str]:
        proc, address = _start_decide_server(
            tmp_path / f"decide-server-{len(started)}.log", *options
        )
        started.append(proc)
        return proc, address

    yield start
    for proc in started:
        if proc.poll() is None:
            _stop(proc)


@pytest.fixture(scope="session")
def shared_decide_server(tmp_path_factory):
    """The address of one ``autoscope decide-server`` shared by the tests that do not stop it."""
    proc, address = _start_decide_server(tmp_path_factory.mktemp("decide") / "server.log")
    yield address
    _stop(proc)
