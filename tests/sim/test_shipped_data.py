"""The real PbTiO3 files ship in the package, with their licence, and are found without setup."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import autoscope
from autoscope.sim.replay import BEPS_FILE, PFM_FILE, ReplaySample, data_path, shipped_data_dir

SHA256 = {
    BEPS_FILE: "6aebbfd6639c4fc3670228899ef7af7965a41decacedfb8db0c6ecd46d095055",
    PFM_FILE: "cff848489951628f223146aa035da55a4169c4e96098b54370afff78be828afc",
}


def test_shipped_copy_is_inside_the_package_with_its_licence():
    folder = shipped_data_dir()
    assert folder == Path(autoscope.__file__).parent / "sim" / "data"
    licence = (folder / "LICENSE").read_text()
    assert licence.startswith("MIT License") and "DTMicroscope" in licence
    readme = (folder / "README.md").read_text()
    assert "pycroscopy/DTMicroscope" in readme and "17245ba6df42" in readme
    for name, digest in SHA256.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
        assert digest in readme


def test_found_without_any_setting(monkeypatch):
    monkeypatch.delenv("AUTOSCOPE_DATA", raising=False)
    for name in SHA256:
        assert data_path(name) == shipped_data_dir() / name


def test_autoscope_data_overrides_the_shipped_copy_where_it_has_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOSCOPE_DATA", str(tmp_path))
    assert data_path(BEPS_FILE) == shipped_data_dir() / BEPS_FILE
    (tmp_path / BEPS_FILE).write_bytes(b"")
    assert data_path(BEPS_FILE) == tmp_path / BEPS_FILE
    with pytest.raises(FileNotFoundError, match="no_such_file.h5.*AUTOSCOPE_DATA"):
        data_path("no_such_file.h5")


def test_stored_source_names_no_machine_path(monkeypatch):
    monkeypatch.delenv("AUTOSCOPE_DATA", raising=False)
    s = ReplaySample.from_beps(despike_threshold=10.0)
    assert s.source["path"] == "autoscope/sim/data/BEPS_PTO_50x50.h5"
    assert s.source["n_despiked"] == 5716  # as in the committed benchmark records
    p = ReplaySample.from_pfm()
    assert p.source == {"loader": "from_pfm", "path": "autoscope/sim/data/PTO_Funakubo0001.h5"}


def test_committed_benchmark_records_name_no_path_outside_the_repository():
    root = Path(__file__).resolve().parents[2] / "benchmarks"
    for f in root.rglob("*.json"):
        text = f.read_text()
        assert "/shared/" not in text and "/work/" not in text, f
