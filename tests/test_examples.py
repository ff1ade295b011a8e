"""Every example in ``examples/`` runs as a user runs it: a subprocess, a fresh folder, a catalog.

Each example runs with ``python examples/<name>.py OUT`` in a temporary working directory, its
catalog in ``$AUTOSCOPE_CATALOG`` (and the journal under ``$XDG_DATA_HOME``) inside it, so that
nothing touches the user's files. The assertions check what the example says it shows.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

#: example → regular expressions its standard output must match
EXPECT = {
    "stem_eels_peak_ratio": [
        r"true top 1% found after\s+: (\d+ measurements|not found)",
        r"report: .*index\.html",
    ],  # fmt: skip
    "spm_loop_area": [
        r"DKL \+ EI : best true loop area measured \d+\.\d a\.u\. × V",
        r"random\s+: best true loop area",
    ],  # fmt: skip
    "fourd_center_of_mass": [
        r"30 diffraction patterns of shape \(32, 32\) recorded",
        r"largest CoM shift measured: \d+\.\d\d mrad",
    ],  # fmt: skip
    "pbtio3_beps": [r"recorded grid \(50, 50\), 64 bias steps", r"sample\s+: replay"],
    "counterfactual_replay": [
        r"replay with the run's own specs reproduces it: True",
        r"agreement \d+%, first divergence at decision",
    ],  # fmt: skip
    "boars_voting": [
        r"\d+ votes: \d+ good, \d+ neutral, \d+ bad",
        r"the target changed [1-9]\d* times",
    ],  # fmt: skip
    "human_steering": [r"paused at step 11", r"points in the excluded rows after the change: 0"],
    "process_trajectories": [
        r"1560 candidate schedules",
        r"best found after 30 films: Q = 0\.9",
        r"r = 0\.[5-9]",
    ],  # fmt: skip
}

#: examples that write the autoscope report (HTML) into OUT
REPORTS = {"stem_eels_peak_ratio", "spm_loop_area", "fourd_center_of_mass", "pbtio3_beps",
           "boars_voting"}  # fmt: skip


def test_every_example_is_covered_and_uses_the_public_api():
    names = {p.stem for p in EXAMPLES.glob("*.py")}
    assert names == set(EXPECT), "every example needs a smoke test (and vice versa)"
    for path in EXAMPLES.glob("*.py"):
        tree = ast.parse(path.read_text())
        assert ast.get_docstring(tree), f"{path.name} has no docstring"
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module != "__future__":
                assert node.module.split(".")[0] != "tests", f"{path.name} imports tests"
                assert not any(part.startswith("_") for part in node.module.split(".")), (
                    f"{path.name} imports a private module {node.module}"
                )
                assert node.module != "autoscope.testing", f"{path.name} imports test fakes"
                assert not any(a.name.startswith("_") for a in node.names), path.name
            if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
                assert node.attr.startswith("__"), f"{path.name} uses private .{node.attr}"


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECT))
def test_example_runs(name, tmp_path):
    out = tmp_path / "out"
    env = dict(os.environ, AUTOSCOPE_CATALOG=str(tmp_path / "catalog"),
               XDG_DATA_HOME=str(tmp_path / "xdg"), MPLBACKEND="Agg",
               OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")  # fmt: skip
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py"), str(out)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=280,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    for pattern in EXPECT[name]:
        assert re.search(pattern, proc.stdout), f"{pattern!r} not in:\n{proc.stdout[-3000:]}"
    if name in REPORTS:
        html = (out / "index.html").read_text()
        for stem in ("structure", "spectra", "mean", "uncertainty", "acquisition"):
            assert f'src="{stem}.png"' in html and (out / f"{stem}.png").stat().st_size > 5000
    if name == "boars_voting":
        assert 'src="boars.png"' in (out / "index.html").read_text()
    if name == "counterfactual_replay":
        assert {p.name for p in out.glob("*.png")} >= {"counterfactual.png", "retrace.png"}
