"""Benchmark report: ``RESULTS.md`` (tables, targets pass/fail) and the plots of :mod:`.plots`.

Files written into the output directory: ``RESULTS.md``, ``results.json`` (config,
environment, summary; per-run records stay in ``runs/``), ``regret.png`` (median
regret curves per task), ``steps.png`` (steps to the top 1 % per seed) and
``latency.png`` (decision time against the number of measured points).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from autoscope.bench._markdown import cell as _f
from autoscope.bench._markdown import md_table as _md_table
from autoscope.bench._reference_report import reference_sections
from autoscope.bench.methods import METHODS
from autoscope.bench.plots import plot
from autoscope.bench.summary import COLUMNS, format_steps
from autoscope.bench.tasks import task_titles

__all__ = ["markdown", "write_report"]

_DEFINITIONS = """\
**What is measured.** Every run starts from the same `n_seed` random candidates for a given
seed (the first `n_seed` of one seeded permutation; the random baseline is that permutation
continued) and then measures one candidate per decision until `budget` measurements.
*Candidates* are the patch centres (a 64×64 grid with 16×16 patches has 49×49 = 2,401);
"% of candidates" is steps / N. The *top 1 %* is the ceil(0.01 N) candidates with the largest
noise-free value (ties included). *Steps to top 1 %*: measurements (seed points included) until
the first top-1 % candidate is measured; median over seeds with [min-max]; a run that never gets
there within the budget counts as infinite ("> budget"). Random and raster orders are full
permutations, so their steps are exact even past the budget; the exact random median is
min{t : 1 - C(N-K, t)/C(N, t) >= 1/2}. *Final regret*: (max f - best true value measured) /
(max f - min f) after `budget` measurements. *Map error*: RMSE of the final predicted mean
against the noise-free truth over all candidates / standard deviation of the truth (model-free
methods: nearest measured neighbour). *95 % coverage*: fraction of candidates whose truth lies
within ±1.96 posterior standard deviations (well calibrated ≈ 0.95; far lower = overconfident).
*Latency*: wall time of `ingest` (the last value) + `suggest(1)` (train, predict every candidate,
acquire), decisions with N <= 100 measured points, all seeds pooled; *CPU s*: process CPU time of
the same. *Peak RSS growth*: `ru_maxrss` of the worker process at the end of a job minus after
imports and task set-up (one fresh process per task × method, all seeds) — it includes torch's
CPU allocations, which `tracemalloc` does not see; it is a job-wide peak, an upper bound of any
single step's. *Fallbacks*: decisions taken by the recommender's fallback (fit failure)."""


def _steps_cell(row: dict[str, Any], budget: int) -> str:
    s = row["steps_summary"]
    if not math.isfinite(s["min"]):
        return f"> {budget} (none)"
    lo, hi = format_steps(s["min"], budget), format_steps(s["max"], budget)
    return f"{format_steps(s['median'], budget)} [{lo}–{hi}]"


def _table_row(row: dict[str, Any], budget: int) -> list[str]:
    s, n = row["steps_summary"], row["n_candidates"]
    lat = row["latency"]
    title = METHODS[row["method"]].title if row["method"] in METHODS else row["method"]
    rss = _f(row["rss_growth_mb"], "{:.0f}")
    if row["rss_growth_mb"] is not None and not row["rss_isolated"]:
        rss += " (shared process)"
    return [
        title,
        _steps_cell(row, budget),
        f"{row['found_in_budget']}/{s['runs']}",
        _f(100 * s["median"] / n if math.isfinite(s["median"]) else None, "{:.2f}%"),
        _f(row["final_regret"], "{:.3f}"),
        _f(row["map_error"]),
        _f(row["coverage95"]),
        "—" if lat is None else f"{lat['median']:.3f} / {lat['p95']:.3f}",
        _f(row["cpu_median"], "{:.3f}"),
        rss,
        str(row["fallbacks"]) if lat is not None else "—",
    ]


def _verdict(v: str, reduced: bool = False) -> str:
    if reduced and v in ("PASS", "FAIL"):  # settings not the targets': information, no verdict
        return "met here" if v == "PASS" else "not met here"
    return f"**{v}**" if v in ("PASS", "FAIL") else v


def markdown(result: dict[str, Any], summary: dict[str, Any], plots: dict[str, str]) -> str:
    """Render the benchmark as markdown.

    Parameters
    ----------
    result : dict
        :func:`~autoscope.bench.runner.run_benchmark` output (config, environment).
    summary : dict
        :func:`~autoscope.bench.summary.summarize` output.
    plots : dict
        Plot name → path relative to the markdown file.
    """
    cfg, env = result["config"], result["environment"]
    budget = cfg["budget"]
    titles = task_titles()
    codes = sorted({str(j.get("code") or "not recorded") for j in result["jobs"]})
    out = ["# autoscope benchmark", ""]
    quick = (
        " (**quick CI run**: reduced settings, not the targets' conditions)" if cfg["quick"] else ""
    )
    out += [
        f"Generated by `autoscope bench`{quick}: {len(cfg['seeds'])} seeds {cfg['seeds']}, "
        f"budget {budget} measurements ({cfg['n_seed']} random seed points), grid "
        f"{cfg['shape']}×{cfg['shape']}, patches {cfg['patch_size']}×{cfg['patch_size']} "
        f"(BEPS replay: 50×50, 8×8). Time in jobs (sum): "
        f"{result.get('job_seconds', result['seconds']) / 60:.1f} min.",
        "",
        f"Environment: Python {env.get('python')}, torch {env.get('torch')}, gpytorch "
        f"{env.get('gpytorch')}, {env.get('affinity') or env.get('cpu_count')} CPU cores "
        f"visible ({env.get('cpu', 'CPU not recorded')}, "
        f"{env.get('cpu_capability', 'vector unit not recorded')}), CUDA {env.get('cuda')}, "
        f"{env.get('platform')}, code fingerprint "
        f"{', '.join(codes)}; models use 1 torch thread; "
        "the cores were shared with other work while this ran, so wall times are upper bounds "
        "(CPU times are steadier).",
        "",
        "## Targets",
        "",
    ]
    trows = [
        [
            t["target"],
            t["task"],
            t["measured"],
            t["threshold"],
            _verdict(t["verdict"], bool(t["note"] or cfg["quick"])),
            t["margin"],
        ]
        + ([t["note"]] if any(x["note"] for x in summary["targets"]) else [])
        for t in summary["targets"]
    ]
    head = ["target", "task", "measured", "threshold", "result", "margin"]
    if any(t["note"] for t in summary["targets"]):
        head.append("note")
    out += _md_table(head, trows) if trows else ["(no target could be evaluated from this run)"]
    out += [""]
    for task in dict.fromkeys(r["task"] for r in summary["rows"]):
        rows = [r for r in summary["rows"] if r["task"] == task]
        n, k = rows[0]["n_candidates"], rows[0]["k_top"]
        exp = summary["random_expected"][task]
        out += [
            f"## {titles.get(task, task)} (`{task}`)",
            "",
            f"N = {n} candidates, top 1 % = {k} candidates; a random order needs "
            f"{exp['mean']:.1f} steps on average (median {exp['median']}, "
            f"{100 * exp['median'] / n:.1f}% of N).",
            "",
        ]
        out += _md_table(list(COLUMNS), [_table_row(r, budget) for r in rows])
        errs = [(r["method"], e) for r in rows for e in r["errors"]]
        if errs:
            out += ["", "Runs stopped by errors: " + "; ".join(f"{m}: {e}" for m, e in errs)]
        out += [""]
    if len(codes) > 1:
        out += [
            f"> **Warning:** the jobs of this report were made with {len(codes)} different "
            f"versions of the code (fingerprints {', '.join(codes)}); rerun with `--resume` to "
            "redo the stale ones.",
            "",
        ]
    if result.get("crashed"):
        out += ["## Jobs that crashed", ""]
        out += [f"- {c['task']} / {c['method']}: `{c['error']}`" for c in result["crashed"]]
        out += [""]
    out += _warm_vs_full(summary, budget)
    out += _unrelated(summary, budget)
    out += reference_sections(summary)
    if plots:
        out += ["## Plots", ""]
        out += [f"![{name}]({path})" for name, path in plots.items()]
        out += [""]
    out += ["## Definitions", "", _DEFINITIONS, ""]
    return "\n".join(out)


def _warm_vs_full(summary: dict[str, Any], budget: int) -> list[str]:
    pairs = []
    for warm in (r for r in summary["rows"] if r["method"] == "dkl_ei"):
        full = next(
            (
                r
                for r in summary["rows"]
                if r["task"] == warm["task"] and r["method"] == "dkl_ei_full"
            ),
            None,
        )
        if full is not None and warm["latency"] and full["latency"]:
            pairs.append((warm, full))
    if not pairs:
        return []
    out = [
        "## Warm start vs full retrain",
        "",
        "Active DKL with EI, warm-started (previous weights, `warm_iter` Adam steps, fresh "
        "weights every `reinit_every` fits) against a fresh model trained for `n_iter` steps at "
        "every decision (`reinit_every = 1`).",
        "",
    ]
    rows = []
    for w, f in pairs:
        rows.append(
            [
                w["task"],
                f"{_steps_cell(w, budget)} / {_steps_cell(f, budget)}",
                f"{_f(w['map_error'])} / {_f(f['map_error'])}",
                f"{w['latency']['median']:.3f} / {f['latency']['median']:.3f}",
                _f(f["latency"]["median"] / w["latency"]["median"], "{:.1f}×"),
            ]
        )
    head = [
        "task",
        "steps warm / full",
        "map error warm / full",
        "latency s warm / full",
        "speed-up",
    ]
    return out + _md_table(head, rows) + [""]


def _unrelated(summary: dict[str, Any], budget: int) -> list[str]:
    rows = {r["method"]: r for r in summary["rows"] if r["task"] == "unrelated"}
    if "dkl_ei" not in rows:
        return []
    d = rows["dkl_ei"]
    lines = [
        "## When structure does not determine the property",
        "",
        "`unrelated`: the STEM image is kept but the measured property is a smooth random field "
        "drawn independently of it. Whatever DKL finds here comes from the spatial smoothness "
        "its overlapping patches carry, not from structure; GP-on-coordinates is the fair model.",
        "",
        f"- active DKL (EI): {_steps_cell(d, budget)} steps to the top 1 %, map error "
        f"{_f(d['map_error'])}, 95 % coverage {_f(d['coverage95'])};",
    ]
    for m in (
        "spatial_dkl_ei",
        "spatial_dkl_ei_cal",
        "committee_ei",
        "gp_coords",
        "random",
        "raster",
    ):
        if m in rows:
            r = rows[m]
            lines.append(
                f"- {METHODS[m].title}: {_steps_cell(r, budget)} steps, "
                f"map error {_f(r['map_error'])}"
                + (f", 95 % coverage {_f(r['coverage95'])}" if _finite(r["coverage95"]) else "")
                + ";"
            )
    g = rows.get("gp_coords")
    for m, who in (
        ("dkl_ei", "DKL"),
        ("spatial_dkl_ei", "the spatial DKL"),
        ("spatial_dkl_ei_cal", "the calibrated spatial DKL"),
        ("committee_ei", "the committee"),
    ):
        r = rows.get(m)
        if r is None or g is None or not math.isfinite(r["map_error"]):
            continue
        honest = r["coverage95"] >= 0.8
        lines.append(
            f"- reading: {who}'s final map error is {r['map_error']:.2f} against "
            f"{g['map_error']:.2f} for GP-on-coordinates, and its 95 % interval covers "
            f"{100 * r['coverage95']:.0f} % of the truth ("
            + (
                "roughly calibrated: it does not claim knowledge it lacks)"
                if honest
                else "over-confident: its map claims knowledge it does not have here, so do not "
                "trust this map where structure may not determine the property)"
            )
            + ";"
        )
    ratio = {}
    for task in ("stem", "spm", "unrelated"):
        dk = next(
            (r for r in summary["rows"] if r["task"] == task and r["method"] == "dkl_ei"), None
        )
        exact = summary["random_expected"].get(task)
        if dk and exact:
            d, r = dk["steps_summary"]["median"], exact["median"]
            ratio[task] = f"{r / d:.1f}×" if math.isfinite(d) else f"< {r / budget:.1f}×"
    if ratio:
        lines.append(
            "- advantage of active DKL (EI) over random (exact random median / DKL median; "
            "'<' where DKL's median is past the budget): "
            + ", ".join(f"{t} {v}" for t, v in ratio.items())
            + "."
        )
    return lines + [""]


def write_report(
    result: dict[str, Any],
    summary: dict[str, Any],
    out: str | os.PathLike,
    *,
    plots: bool = True,
    markdown_path: str | os.PathLike | None = None,
) -> Path:
    """Write ``RESULTS.md``, ``results.json`` and the plots into ``out``; return the markdown path.

    Parameters
    ----------
    markdown_path : path-like, optional
        Also write the markdown there, with plot links relative to it.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = plot(summary, out, result["config"]["budget"]) if plots else {}
    md = out / "RESULTS.md"
    md.write_text(markdown(result, summary, files))
    meta = {k: v for k, v in result.items() if k != "jobs"}
    meta["summary"] = summary
    (out / "results.json").write_text(json.dumps(meta, indent=1, default=float))
    if markdown_path is not None:
        target = Path(markdown_path)
        rel = {k: os.path.relpath(out / v, target.parent) for k, v in files.items()}
        target.write_text(markdown(result, summary, rel))
    return md


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and math.isfinite(x)
