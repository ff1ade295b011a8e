"""The documentation site's sources: complete, self-contained, and its generated parts reproducible.

The build itself (``make docs``: Sphinx ``-W`` for HTML, then the doctest builder that runs every
``{testcode}`` block) runs in CI after pytest; these checks are the fast ones.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(
    p for p in DOCS.rglob("*.md") if "_build" not in p.parts and "generated" not in p.parts
)


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _toctree_entries(page: Path) -> list[str]:
    text = page.read_text()
    entries = []
    for block in re.findall(r"```\{toctree\}\n(.*?)```", text, flags=re.S):
        entries += [ln.strip() for ln in block.splitlines() if ln.strip() and ":" not in ln]
    return entries


def test_every_page_is_in_a_toctree():
    listed = {DOCS / "index.md"}
    for page in PAGES:
        for entry in _toctree_entries(page):
            if "*" in entry:
                listed |= set((page.parent).glob(entry + ".md"))
            else:
                listed.add((page.parent / entry).with_suffix(".md").resolve())
    missing = [str(p.relative_to(DOCS)) for p in PAGES if p.resolve() not in listed]
    assert missing == [], f"pages in no toctree (add them to a section page): {missing}"


def test_the_four_sections_are_the_index():
    assert _toctree_entries(DOCS / "index.md") == [
        "tutorials",
        "how-to",
        "explanations",
        "reference",
    ]


@pytest.mark.parametrize("path", [ROOT / "README.md", *PAGES], ids=lambda p: p.name)
def test_no_pointer_outside_the_repository(path):
    text = path.read_text()
    for needle in ("DESIGN.md", "STYLE.md", "DESIGN §", "STYLE §", "../shared", "/work/"):
        assert needle not in text, f"{path.name} points at {needle!r}, which users do not have"


def test_snippets_run_in_the_build():
    runnable = [p.name for p in PAGES if "```{testcode}" in p.read_text()]
    assert {"installation.md", "quickstart.md", "demo.md"} <= set(runnable)
    demo = (DOCS / "demo.md").read_text()
    assert 'dkl_explore(microscope, "peak_ratio"' not in demo  # peak_ratio needs its windows


def test_concepts_diagram_is_reproducible(tmp_path):
    diagram = _load(DOCS / "_scripts" / "concepts_diagram.py", "concepts_diagram")
    out = diagram.main(tmp_path / "concepts.svg")
    svg = out.read_text()
    assert out.read_bytes() == (DOCS / "_static" / "concepts.svg").read_bytes(), (
        "docs/_static/concepts.svg is stale: run python docs/_scripts/concepts_diagram.py"
    )
    for _key, _x, _y, title, _detail, _colour in diagram.BOXES:
        assert title in svg
    assert "_static/concepts.svg" in (DOCS / "concepts.md").read_text()


def test_repo_links_rewrites_only_mapped_files():
    repo_links = _load(DOCS / "_ext" / "repo_links.py", "repo_links")

    class App:
        srcdir = str(DOCS)

        class config:  # noqa: N801 (Sphinx's attribute name)
            repo_pages = {"benchmarks/RESULTS.md": "benchmark-results"}

    text = "see [results](../benchmarks/RESULTS.md#targets), [x](model.md), [y](https://a.b/c.md)"
    out = repo_links._rewrite(text, DOCS, "decisions/0001", App)
    assert out == (
        "see [results](../benchmark-results.md#targets), [x](model.md), [y](https://a.b/c.md)"
    )
    included = "[s](seeds30/COMMITTEE.md) [r](RESULTS.md)"
    assert repo_links._rewrite(included, ROOT / "benchmarks", "benchmark-results", App) == (
        "[s](seeds30/COMMITTEE.md) [r](benchmark-results.md)"
    )


def test_docs_extra_is_declared_and_pinned():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    docs = {re.split(r"[<>=\[]", r)[0] for r in project["optional-dependencies"]["docs"]}
    assert docs == {"sphinx", "pydata-sphinx-theme", "myst-parser", "numpydoc"}
    pins = (ROOT / "constraints.txt").read_text()
    for name in docs:
        assert re.search(rf"^{name}==\d", pins, flags=re.M | re.I), name
    makefile = (ROOT / "Makefile").read_text()
    assert "sphinx-build -W" in makefile and "-b doctest" in makefile


def _python_blocks():
    for path in [ROOT / "README.md", *PAGES]:
        text = path.read_text()
        for m in re.finditer(r"^```(python|\{testcode\})\n(.*?)^```", text, flags=re.S | re.M):
            line = text[: m.start()].count("\n") + 1
            yield pytest.param(m.group(2), id=f"{path.relative_to(ROOT)}:{line}")


@pytest.mark.parametrize("code", list(_python_blocks()))
def test_python_blocks_compile_and_import_what_exists(code):
    """Every Python block parses, and every autoscope name it imports exists.

    Blocks that need a running experiment or a server are shown, not run; this catches their
    syntax errors and renamed APIs. ``{testcode}`` blocks also run in full in ``make docs``.
    """
    tree = ast.parse(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("autoscope"):
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name) or importlib.util.find_spec(
                    f"{node.module}.{alias.name}"
                ), f"{node.module} has no {alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("autoscope"):
                    importlib.import_module(alias.name)


def test_readme_links_to_files_that_exist():
    text = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [t for t in targets if "://" not in t]
    assert "docs/index.md" in local
    missing = [t for t in local if not (ROOT / t).exists()]
    assert missing == [], f"README links to missing files: {missing}"
