"""The pictures in the README and the docs exist in the repository, the report screenshots too."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: screenshots of the two reports (made by ``python docs/screenshots.py``)
SCREENSHOTS = ("report-demo.png", "report-demo-panels.png", "report-replay.png")


def _pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _images(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    md = re.findall(r"!\[[^\]]*\]\(([^)\s]+)", text)
    tags = re.findall(r'<img[^>]*\ssrc="([^"]+)"', text)
    return [src for src in md + tags if not src.startswith(("http://", "https://", "data:"))]


def test_every_picture_a_page_shows_is_in_the_repository():
    missing = [
        f"{page.relative_to(ROOT)} → {src}"
        for page in _pages()
        for src in _images(page)
        if not (page.parent / src.split("#")[0]).is_file()
    ]
    assert not missing, missing


def test_the_report_screenshots_are_kept_and_shown():
    shown = {Path(src).name for page in _pages() for src in _images(page)}
    for name in SCREENSHOTS:
        png = ROOT / "docs" / "_static" / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert png.stat().st_size < 1_500_000, f"{name} is too large for the repository"
        assert name in shown, f"no page shows {name}"
    readme = _images(ROOT / "README.md")
    assert readme and Path(readme[0]).name == "report-demo.png"  # a run at the top of the README
