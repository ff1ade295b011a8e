"""Storage: embedded catalog, server URI, writer batch size and server config."""

from __future__ import annotations

import shutil
from pathlib import Path

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
import numpy as np
import pytest
import yaml
from bluesky_tiled_plugins import TiledWriter

from autoscope.devices import DataSignal
from autoscope.devices.sim import SimMicroscope
from autoscope.errors import InputDataError, StorageError
from autoscope.storage import (
    DEFAULT_BATCH_SIZE,
    EXPORTER,
    SafeWriter,
    close_catalog,
    default_catalog_dir,
    make_writer,
    open_catalog,
    server_config,
)
from autoscope.testing import DocumentRecorder, TinySample, assert_stored_equal


def test_default_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("AUTOSCOPE_CATALOG", str(tmp_path / "cat"))
    assert default_catalog_dir() == tmp_path / "cat"
    monkeypatch.delenv("AUTOSCOPE_CATALOG")
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_catalog_dir() == tmp_path / ".local" / "share" / "autoscope" / "catalog"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_catalog_dir() == tmp_path / "xdg" / "autoscope" / "catalog"


def test_first_use_creates_the_catalog_layout(_catalog_template):
    # the session template was made by open_catalog() on an empty directory
    directory = _catalog_template.parent
    assert _catalog_template.is_file() and (directory / "data").is_dir()


def test_open_default_catalog_and_reopen(monkeypatch, tmp_path, _catalog_template, RE):
    directory = tmp_path / "default"
    directory.mkdir()
    shutil.copyfile(_catalog_template, directory / "catalog.db")
    monkeypatch.setenv("AUTOSCOPE_CATALOG", str(directory))
    client = open_catalog()
    try:
        mic = SimMicroscope(TinySample(seed=0), seed=0)
        RE.subscribe(make_writer(client))
        (uid,) = RE(bps_count(mic))
    finally:
        close_catalog(client)
    again = open_catalog(directory)  # same directory, as a path
    try:
        assert list(again) == [uid]
        assert again[uid].metadata["stop"]["exit_status"] == "success"
    finally:
        close_catalog(again)


def bps_count(mic):
    from bluesky.plans import count

    return count([mic.spectrometer], 2)


@pytest.mark.parametrize("bad", [123, "", "ftp://example.org/x", "sqlite:///tmp/x.db", 1.5])
def test_bad_argument_raises(bad):
    with pytest.raises(InputDataError, match="expected a directory or an http"):
        open_catalog(bad)


def test_a_file_is_not_a_catalog(tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(StorageError, match="is a file, not a directory"):
        open_catalog(f)


def test_make_writer(catalog, _journal_dir):
    w = make_writer(catalog)  # the safe writer: journal + background Tiled worker
    assert isinstance(w, SafeWriter) and w.batch_size == DEFAULT_BATCH_SIZE == 50
    assert w.max_array_size == 0  # every array as zarr (short ones break the SQL table)
    assert w.journal.directory == _journal_dir  # $AUTOSCOPE_JOURNAL
    assert make_writer(catalog, batch_size=3).batch_size == 3
    plain = make_writer(catalog, journal=False)  # opt out: TiledWriter on the RE thread
    assert isinstance(plain, TiledWriter) and plain._max_array_size == 0
    for bad in (0, -1, 2.0, True):
        with pytest.raises(InputDataError, match="batch_size"):
            make_writer(catalog, batch_size=bad)
    with pytest.raises(InputDataError, match="backup_directory is replaced by the journal"):
        make_writer(catalog, backup_directory="/tmp/x")
    with pytest.raises(InputDataError, match="unknown keyword"):
        make_writer(catalog, validate=True)
    with pytest.raises(InputDataError, match="fsync"):
        make_writer(catalog, fsync="sometimes")


def test_rows_are_visible_during_the_run(RE, catalog):
    mic = SimMicroscope(TinySample(seed=0), seed=0)
    recorder = DocumentRecorder()
    RE.subscribe(recorder)
    RE.subscribe(make_writer(catalog))
    seen = []
    key = "microscope_spectrometer_row"

    @bpp.run_decorator()
    def plan():
        for _ in range(DEFAULT_BATCH_SIZE + 5):
            yield from bps.trigger_and_read([mic.spectrometer])
        uid = recorder.documents[0][1]["uid"]
        n = 0
        for _ in range(100):  # the worker writes within its flush interval (1 s)
            try:
                n = len(catalog[uid]["primary"][key].read())
            except KeyError:  # no rows written yet
                pass
            except Exception as exc:  # the worker is writing: embedded SQLite is locked
                assert "database is locked" in str(exc), exc
            if n == DEFAULT_BATCH_SIZE + 5:
                break
            yield from bps.sleep(0.1)
        seen.append(n)  # before the stop document

    (uid,) = RE(plan())
    assert seen == [DEFAULT_BATCH_SIZE + 5]
    assert len(catalog[uid]["primary"][key].read()) == DEFAULT_BATCH_SIZE + 5
    assert_stored_equal(catalog[uid], recorder.documents)


def test_server_config_is_a_valid_tiled_config(tmp_path):
    from tiled.config import parse_configs

    path = server_config(tmp_path / "srv", "abc123abc123abc123", port=8765)
    raw = yaml.safe_load(path.read_text())
    assert raw["authentication"]["single_user_api_key"] == "abc123abc123abc123"
    assert path.stat().st_mode & 0o777 == 0o600  # it holds the key
    assert raw["media_types"]["BlueskyRun"]["application/json-seq"] == EXPORTER
    assert raw["catalog"]["specs"] == [{"name": "CatalogOfBlueskyRuns", "version": "3.0"}]
    assert raw["catalog"]["writable_storage"][1].startswith("sqlite:///")
    assert raw["uvicorn"] == {"host": "127.0.0.1", "port": 8765}
    assert Path(raw["catalog"]["writable_storage"][0]).is_dir()
    config = parse_configs(path)  # tiled's own validation
    assert "application/json-seq" in config.serialization_registry().media_types("BlueskyRun")
    assert (
        len(
            yaml.safe_load(server_config(tmp_path / "k").read_text())["authentication"][
                "single_user_api_key"
            ]
        )
        == 32
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"api_key": "a-b" * 8}, "letters and digits"),
        ({"api_key": ""}, "missing"),
        ({"api_key": "short1"}, "at least 16 characters, got 6"),
        ({"port": 0}, "port"),
        ({"database": "mysql://h/db"}, "postgresql://"),
        ({"database": "postgresql://user@host"}, "name a host and a database"),
    ],
)
def test_server_config_rejects_bad_values(tmp_path, kwargs, match):
    with pytest.raises(InputDataError, match=match):
        server_config(tmp_path, **{"api_key": "okokokokokokokok", **kwargs})


@pytest.mark.server
def test_server_uri_with_key_from_environment(tiled_server, monkeypatch, RE):
    uri, api_key = tiled_server
    monkeypatch.setenv("TILED_API_KEY", api_key)
    client = open_catalog(uri)
    try:
        mic = SimMicroscope(TinySample(seed=1), seed=1)
        recorder = DocumentRecorder()
        RE.subscribe(recorder)
        RE.subscribe(make_writer(client))
        (uid,) = RE(bps_count(mic))
        assert_stored_equal(client[uid], recorder.documents)
        assert [n for n, _ in client[uid].documents()][0] == "start"
    finally:
        close_catalog(client)
    with pytest.raises(StorageError, match="refused the API key"):
        open_catalog(uri, api_key="wrongkeywrongkey")


def test_writer_stores_every_event_of_a_dkl_like_run(RE, catalog):
    """A spectrum + six scalars, then three 64x64 maps + scalars, per step: all of it lands.

    What the writer costs per step is measured by ``benchmarks/writer_overhead.py``
    (docs/storage.md), not asserted here.
    """
    n_steps = 60
    rng = np.random.default_rng(0)
    spectrum = DataSignal(name="spectrum", value=np.zeros(128))
    scalars = [DataSignal(name=f"s{i}", value=0.0) for i in range(6)]
    maps = [DataSignal(name=f"map{i}", value=np.zeros((64, 64))) for i in range(3)]
    RE.subscribe(make_writer(catalog))
    last = {}

    @bpp.run_decorator()
    def plan():
        for k in range(n_steps):
            spectrum.put(rng.normal(size=128))
            scalars[0].put(float(k))
            yield from bps.trigger_and_read([spectrum, *scalars])
            for m in maps:
                m.put(rng.normal(size=(64, 64)))
            last["map2"] = maps[2].get().copy()
            yield from bps.trigger_and_read([*maps, *scalars], name="decisions")

    (uid,) = RE(plan())
    run = catalog[uid]
    primary = run["primary"].read()
    assert primary["spectrum"].shape == (n_steps, 128)
    np.testing.assert_array_equal(primary["s0"], np.arange(n_steps, dtype=float))
    decisions = run["decisions"]
    np.testing.assert_array_equal(decisions["map2"].read()[-1], last["map2"])
    assert decisions["map0"].shape == (n_steps, 64, 64)
