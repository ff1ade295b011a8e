"""Draw the concepts diagram of the documentation.

``python docs/_scripts/concepts_diagram.py [OUT]`` writes ``docs/_static/concepts.svg`` (or OUT):
the loop of an autonomous experiment (structural image → patches → model → policy → spectrum →
scalarizer → model) and the streams every run leaves in Tiled. The SVG is deterministic (no date,
fixed ids), so regenerating it changes nothing unless this script changes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "_static" / "concepts.svg"

#: (key, x, y, title, detail, colour) of every box, in axes units (0–100 × 0–60)
BOXES = [
    ("image", 11, 50, "structural image", "HAADF, PFM: cheap,\neverywhere", "#dbe9f6"),
    ("patches", 37, 50, "patches", "one per candidate pixel\n(autoscope.features)", "#dbe9f6"),
    ("model", 63, 50, "model", "DKL / committee → mean, σ\n(autoscope.models)", "#fde2c8"),
    ("policy", 89, 50, "policy", "EI, UCB, max-variance …\n(autoscope.policies)", "#fde2c8"),
    ("spectrum", 89, 27, "spectrum", "EELS, loop, diffraction:\ncostly, at one pixel", "#dbe9f6"),
    (
        "scalarizer",
        63,
        27,
        "scalarizer",
        "spectrum → one number\n(autoscope.scalarizers)",
        "#e3f1dc",
    ),
    (
        "tiled",
        24,
        8,
        "Tiled catalog",
        "streams: structure, primary,\ndecisions (maps), steering",
        "#ececec",
    ),
    ("after", 63, 8, "afterwards", "trace.load → replay, retrace,\nreport, compare", "#ececec"),
]
#: arrows (from, to, label)
ARROWS = [
    ("image", "patches", ""),
    ("patches", "model", "features"),
    ("model", "policy", "posterior"),
    ("policy", "spectrum", "next pixel"),
    ("spectrum", "scalarizer", ""),
    ("scalarizer", "model", "ingest value"),
    ("tiled", "after", ""),
]
W, H = 18.0, 10.0


def draw() -> plt.Figure:
    """Return the diagram as a matplotlib figure."""
    fig, ax = plt.subplots(figsize=(11, 6))
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 60)
    ax.set_axis_off()
    centres = {}
    for key, x, y, title, detail, colour in BOXES:
        centres[key] = (x, y)
        ax.add_patch(
            FancyBboxPatch(
                (x - W / 2, y - H / 2),
                W,
                H,
                boxstyle="round,pad=0.4,rounding_size=1.5",
                fc=colour,
                ec="#555555",
                lw=1.0,
                gid=f"box-{key}",
            )
        )
        ax.text(x, y + 2.2, title, ha="center", va="center", fontsize=11, weight="bold")
        ax.text(x, y - 1.8, detail, ha="center", va="center", fontsize=7.5, linespacing=1.2)
    for a, b, label in ARROWS:
        (xa, ya), (xb, yb) = centres[a], centres[b]
        if ya == yb:
            sx = W / 2 + 0.6
            start, end = (
                (xa + sx, ya) if xb > xa else (xa - sx, ya),
                ((xb - sx, yb) if xb > xa else (xb + sx, yb)),
            )
        else:
            sy = H / 2 + 0.6
            start, end = (xa, ya - sy), (xb, yb + sy) if yb < ya else (xb, yb - sy)
        if (a, b) == ("scalarizer", "model"):
            start, end = (xa, ya + H / 2 + 0.6), (xb, yb - H / 2 - 0.6)
        ax.add_patch(
            FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, lw=1.3, color="#333")
        )
        if label:
            mx, my = (start[0] + end[0]) / 2, (start[1] + end[1]) / 2
            ax.text(
                mx + (1.0 if start[0] == end[0] else 0),
                my + (1.3 if start[1] == end[1] else 0),
                label,
                ha="left" if start[0] == end[0] else "center",
                va="bottom",
                fontsize=8,
                style="italic",
                color="#333",
            )
    ax.text(
        30,
        33,
        "after every spectrum:\nretrain, predict every\ncandidate, pick the next pixel",
        ha="center",
        fontsize=9,
        color="#8a4b00",
    )
    ax.annotate(
        "every document",
        xy=(17, 8 + H / 2 + 0.6),
        xytext=(17, 40),
        ha="center",
        fontsize=8,
        style="italic",
        arrowprops={"arrowstyle": "-|>", "lw": 1.0, "ls": "--", "color": "#777"},
    )
    return fig


def main(out: Path = OUT) -> Path:
    """Write the SVG (deterministic: no date, fixed hash salt, text kept as text)."""
    with plt.rc_context({"svg.hashsalt": "autoscope-concepts", "svg.fonttype": "none"}):
        fig = draw()
        fig.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return out


if __name__ == "__main__":
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT))
