"""The benchmark report's reference sections: atomai's ``dklGPR`` and the atomai-like model."""

from __future__ import annotations

from typing import Any

from autoscope.bench._markdown import cell as _f
from autoscope.bench._markdown import md_table as _md_table
from autoscope.bench.reference import ATOMAI_SETTINGS

__all__ = ["reference_sections"]


def reference_sections(summary: dict[str, Any]) -> list[str]:
    """Return the markdown of every timed reference row in ``summary``."""
    out: list[str] = []
    for ref in summary["reference"]:
        if ref["method"] == "atomai":
            out += _atomai_reference(summary, ref)
        elif ref["method"] == "atomai_like":
            out += _atomai_like_reference(summary, ref)
    return out


def _ours_at(summary: dict[str, Any], task: str, method: str, n: str) -> dict[str, Any] | None:
    row = next((r for r in summary["rows"] if r["task"] == task and r["method"] == method), None)
    return ((row or {}).get("latency_by_n") or {}).get(n)


def _atomai_reference(summary: dict[str, Any], ref: dict[str, Any]) -> list[str]:
    task = ref["task"]
    out = [
        f"## Reference: atomai 0.8.1 `dklGPR` itself, on `{task}` (timed only)",
        "",
        "atomai's own model (imported beside the CPU torch through "
        "`autoscope.bench._atomai_shim`), rebuilt and trained 200 epochs at every decision as "
        "in published loops, EI on its posterior over every candidate; one decision timed at "
        "each training-set size N (seed 0; the seed permutation's first N points measured). "
        "Its discovery runs: `benchmarks/atomai_reference.py` (benchmarks/ATOMAI.md).",
        "",
    ]
    rows = []
    for p in ref["probe"]:
        n = str(p["n"])
        ours = _ours_at(summary, task, "committee_ei", n)
        if ours is None:
            o_text, ratio = "—", "—"
        else:
            o_text = f"{ours['wall']:.3f} / {ours['cpu']:.3f} (N = {ours['n']})"
            ratio = f"{p['cpu'] / ours['cpu']:.0f}×" if ours["cpu"] else "—"
        rows.append([n, f"{p['wall']:.2f} / {p['cpu']:.2f}", o_text, ratio])
    head = [
        "N measured",
        "atomai s (wall / CPU)",
        "autoscope default (committee, EI) s (wall / CPU), median over N ± 5, all seeds",
        "CPU ratio",
    ]
    return out + _md_table(head, rows) + [""]


def _atomai_like_reference(summary: dict[str, Any], ref: dict[str, Any]) -> list[str]:
    probe = ref["probe"]
    task = ref["task"]
    measured = ATOMAI_SETTINGS["measured_with_atomai_0.8.1"]
    out = [
        "## Reference: an atomai `dklGPR`-like model (timed only)",
        "",
        "For installs without atomai: its settings — "
        f"{ATOMAI_SETTINGS['feature_extractor']}; {ATOMAI_SETTINGS['kernel']}; "
        f"{ATOMAI_SETTINGS['training']}; {ATOMAI_SETTINGS['epochs_per_step']} epochs per step; "
        "rebuilt every step; float64 — rebuilt from gpytorch and one decision "
        f"(build + train + predict all + EI) timed on `{task}` (seed 0). The atomai column is "
        "measured earlier with atomai itself (1,024 candidates).",
        "",
    ]
    rows = []
    for p in probe:
        n = str(p["n"])
        o = _ours_at(summary, task, "dkl_ei", n)
        rows.append(
            [
                n,
                f"{p['wall']:.2f} / {p['cpu']:.2f}",
                _f(measured["cpu_s_per_step"].get(n), "{:.1f}"),
                "—" if o is None else f"{o['wall']:.3f} / {o['cpu']:.3f} (N = {o['n']})",
            ]
        )
    head = [
        "N measured",
        "atomai-like s (wall / CPU)",
        "atomai 0.8.1 CPU s (earlier)",
        "autoscope DKL EI s (wall / CPU), median over N ± 5, all seeds",
    ]
    return out + _md_table(head, rows) + [""]
