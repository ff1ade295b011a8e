"""``autoscope bench --perf --quick``-sized: the idle-per-point and discovery tables, end to end.

The idle runs are real ``dkl_explore`` runs (RunEngine, the default writer into an
embedded Tiled catalog, a ``SimSTEM`` with a real dwell); the discovery runs drive the
plan's own session in-process.
"""

from __future__ import annotations

import json
import math

from autoscope.bench.idle import DEFAULT_IDLE_MODES
from autoscope.bench.perf import PerfConfig, run_perf
from autoscope.bench.pipelined import DISCOVERY_MODES

DWELL = 0.03


def test_quick_perf_writes_idle_and_discovery_tables(tmp_path):
    config = PerfConfig.quick_config(
        grids=[28], modes=["fast"], dwells=[DWELL], idle_budget=9, budget=10
    )
    result = run_perf(config, tmp_path)
    on_disk = json.loads((tmp_path / "perf.json").read_text())
    assert set(on_disk) == {"rows", "runs", "idle", "discovery", "environment"}

    idle = {r["mode"]: r for r in result["idle"]}
    assert set(idle) == set(DEFAULT_IDLE_MODES)
    for r in idle.values():
        assert r["dwell_s"] == DWELL and r["seeds"] == 1
        assert r["gaps"] == 9 - 6 - 1  # model-chosen spectra after the first decision
        assert all(math.isfinite(r[k]) for k in ("idle_median_s", "idle_p95_s", "first_idle_s"))
        # the gap minus the dwell: never negative beyond clock jitter, never absurd
        assert -0.01 < r["idle_median_s"] <= r["idle_p95_s"] <= r["idle_max_s"] < 30
        assert r["decide_median_s"] > 0 and r["wall_median_s"] > 9 * DWELL
    # plain decides while the instrument waits: each gap holds a whole decision
    assert idle["plain"]["idle_median_s"] >= 0.5 * idle["plain"]["decide_median_s"]

    disc = {(r["task"], r["mode"]): r for r in result["discovery"]}
    assert set(disc) == {("stem", m) for m in DISCOVERY_MODES}
    for (_, mode), r in disc.items():
        s = r["steps"]
        assert s["runs"] == 1 and 0 <= s["found"] <= 1
        found = r["per_seed"][0]
        assert found is None or 1 <= found <= 10
        assert r["decide_median_s"] > 0
        # four points per decision: a quarter of the decisions of a q = 1 run (rounded up)
        assert r["decisions"] == (1 if mode == "batch4" else 10 - 6)

    table = (tmp_path / "PERF.md").read_text()
    assert "## Instrument idle per point" in table and "## Discovery of the overlapped" in table
    for mode in DEFAULT_IDLE_MODES:
        assert f"| {DWELL:g} | {mode} |" in table
    for mode in DISCOVERY_MODES:
        assert f"| stem | {mode} |" in table
    assert "load average" in table
