"""Benchmark plots: regret curves, steps to the top 1 % per seed, decision time against N.

matplotlib (Agg backend) is imported only when :func:`plot` runs.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from autoscope.bench.methods import METHODS
from autoscope.bench.summary import TARGETS
from autoscope.bench.tasks import task_titles

__all__ = ["plot"]


def plot(summary: dict[str, Any], out: Path, budget: int) -> dict[str, str]:
    """Write ``regret.png``, ``steps.png`` and ``latency.png``; return name → file name."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

    titles = task_titles()
    tasks = list(dict.fromkeys(r["task"] for r in summary["rows"]))
    names = [*METHODS, *dict.fromkeys(r["method"] for r in summary["rows"])]
    palette = plt.get_cmap("tab10")
    color = {m: palette(i % 10) for i, m in enumerate(dict.fromkeys(names))}
    files = {}
    if tasks:
        cols = min(3, len(tasks))
        nrows = math.ceil(len(tasks) / cols)
        fig, axes = plt.subplots(nrows, cols, figsize=(5 * cols, 3.6 * nrows), squeeze=False)
        for ax, task in zip(axes.ravel(), tasks, strict=False):
            for r in (r for r in summary["rows"] if r["task"] == task):
                y = np.asarray(r["regret_median"])
                x = np.arange(1, y.size + 1)
                c = color[r["method"]]
                ax.plot(x, y, label=r["method"], lw=1.4, color=c)
                ax.fill_between(x, r["regret_q25"], r["regret_q75"], color=c, alpha=0.12)
            ax.set_title(titles.get(task, task), fontsize=9)
            ax.set_xlabel("measurements")
            ax.set_ylabel("normalised regret (median, IQR)")
            ax.set_ylim(0, None)
        for ax in axes.ravel()[len(tasks) :]:
            ax.axis("off")
        axes.ravel()[0].legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / "regret.png", dpi=110)
        plt.close(fig)
        files["regret"] = "regret.png"

        fig, axes = plt.subplots(1, len(tasks), figsize=(3.2 * len(tasks), 4), squeeze=False)
        for ax, task in zip(axes[0], tasks, strict=True):
            rows = [r for r in summary["rows"] if r["task"] == task]
            for i, r in enumerate(rows):
                s = np.array([np.nan if v is None else v for v in r["steps"]], dtype=float)
                cap = 2 * max(budget, np.nanmax(s) if np.isfinite(s).any() else budget)
                s = np.where(np.isfinite(s), s, cap)
                ax.scatter(s, np.full(s.size, i), s=12, alpha=0.7, color=color[r["method"]])
                ax.plot([r["steps_summary"]["median"]] * 2, [i - 0.3, i + 0.3], "k-", lw=2)
            exp = summary["random_expected"][task]
            ax.axvline(exp["median"], color="grey", ls=":", lw=1)
            ax.axvline(budget, color="red", ls="--", lw=0.8)
            ax.set_yticks(range(len(rows)), [r["method"] for r in rows], fontsize=7)
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(base=10))
            ax.xaxis.set_major_formatter(ScalarFormatter())
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_xlabel("steps to top 1 %")
            ax.set_title(task, fontsize=9)
        fig.suptitle(
            "steps to the top 1 % per seed (bar: median; red dashed: budget; grey dotted: "
            "exact random median; not found: plotted at 2x budget)",
            fontsize=8,
        )
        fig.tight_layout()
        fig.savefig(out / "steps.png", dpi=110)
        plt.close(fig)
        files["steps"] = "steps.png"

    lat = [r for r in summary["rows"] if r["method"] == "dkl_ei" and r["latency"]]
    if lat:
        fig, ax = plt.subplots(figsize=(6, 4))
        for r in lat:
            by = r["latency_by_n"] or {}
            xs = [int(k) for k in by]
            ax.plot(xs, [v["wall"] for v in by.values()], "o-", label=f"{r['task']} wall")
        ax.axhline(TARGETS["latency_s"], color="red", ls="--", lw=0.8, label="target")
        ax.set_xlabel("measured points N")
        ax.set_ylabel("decision time, s (median)")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / "latency.png", dpi=110)
        plt.close(fig)
        files["latency"] = "latency.png"
    return files
