"""Remake the report screenshots kept in ``docs/_static/`` (headless Chromium).

Runs the demo experiment (``autoscope demo`` defaults: STEM-EELS, 64 x 64, budget 80) into a
temporary catalog, writes its report and a counterfactual replay report (the same run replayed
with the bulk-plasmon maximum as scalarizer), and photographs both pages with
``chromium --headless --screenshot``. Needs Chromium (Debian: ``apt-get install chromium``).

Run:  python docs/screenshots.py      (about 3 minutes on 2 CPU cores)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "_static"
#: screenshot name → (page, anchor to scroll to, window width x height in CSS pixels)
SHOTS = {
    "report-demo.png": ("demo/index.html", "", (1280, 1500)),
    "report-demo-panels.png": ("demo/index.html", "panels", (1280, 2300)),
    "report-replay.png": ("replay/index.html", "", (1200, 1900)),
}
BULK_MAX = {"name": "band_max", "params": {"low": 12.0, "high": 26.0}}


def chromium() -> str:
    """Return the Chromium executable, or exit saying how to install it."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("no Chromium found: apt-get install chromium")


def screenshot(browser: str, page: Path, anchor: str, out: Path, size: tuple[int, int]) -> None:
    """Photograph a local HTML page at a window size (from the top, or from an anchor)."""
    url = page.as_uri() + (f"#{anchor}" if anchor else "")
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--window-size={size[0]},{size[1]}", f"--screenshot={out}", url],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip


def finish(path: Path) -> None:
    """Drop the blank band above the content (left by scrolling to an anchor)."""
    import numpy as np
    from PIL import Image

    img = Image.open(path).convert("RGB")
    rows = np.flatnonzero((np.asarray(img) < 250).any(axis=(1, 2)))
    top = max(int(rows[0]) - 12, 0) if rows.size else 0
    img.crop((0, top, img.width, img.height)).save(path, optimize=True)


def main() -> None:
    """Run the demo and its replay, then photograph both reports into docs/_static."""
    from autoscope import storage, trace
    from autoscope.cli import demo
    from autoscope.replay.cli import replay_report

    browser = chromium()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        summary = demo(catalog=str(work / "catalog"), report=work / "demo", progress=False)
        client = storage.open_catalog(work / "catalog")
        try:
            tr = trace.load(summary["uid"], catalog=client)
        finally:
            storage.close_catalog(client)
        replay_report(tr, work / "replay", scalarizer=BULK_MAX, progress=True)
        STATIC.mkdir(parents=True, exist_ok=True)
        for name, (page, anchor, size) in SHOTS.items():
            screenshot(browser, work / page, anchor, STATIC / name, size)
            finish(STATIC / name)
            print(f"wrote {STATIC / name}")


if __name__ == "__main__":
    main()
