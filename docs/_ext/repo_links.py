"""Sphinx extension: Markdown links to repository files that the site shows as pages.

The benchmark reports live in ``benchmarks/`` (written by ``autoscope bench``) and link to each
other with paths that are right on GitHub and in an editor. The site shows them through wrapper
pages that ``{include}`` them; this extension rewrites, in every page and every included file, a
Markdown link whose target is one of those repository files into a link to its wrapper page. Any
other link is left alone, so a broken link still fails the ``-W`` build.

Configuration (``conf.py``)::

    repo_pages = {"benchmarks/RESULTS.md": "benchmark-results"}   # repository path -> docname
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from sphinx.application import Sphinx

_LINK = re.compile(r"(\]\()([^)\s#]+)(#[^)\s]*)?(\))")


def _rewrite(text: str, file_dir: Path, docname: str, app: Sphinx) -> str:
    root = Path(app.srcdir).parent
    pages: dict[str, str] = app.config.repo_pages
    doc_dir = posixpath.dirname(docname)

    def repl(m: re.Match[str]) -> str:
        target = m.group(2)
        if "://" in target:
            return m.group(0)
        try:
            rel = (file_dir / target).resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            return m.group(0)
        page = pages.get(rel)
        if page is None:
            return m.group(0)
        link = posixpath.relpath(page, doc_dir or ".") + ".md"
        return f"{m.group(1)}{link}{m.group(3) or ''}{m.group(4)}"

    return _LINK.sub(repl, text)


def _source_read(app: Sphinx, docname: str, source: list[str]) -> None:
    path = Path(app.env.doc2path(docname))
    source[0] = _rewrite(source[0], path.parent, docname, app)


def _include_read(
    app: Sphinx, relative_path: Path, parent_docname: str, content: list[str]
) -> None:
    included = Path(app.srcdir) / relative_path
    content[0] = _rewrite(content[0], included.parent, parent_docname, app)


def setup(app: Sphinx) -> dict[str, object]:
    """Register the ``repo_pages`` setting and the two rewriting hooks."""
    app.add_config_value("repo_pages", {}, "env", dict)
    app.connect("source-read", _source_read)
    app.connect("include-read", _include_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


__all__ = ["setup"]
