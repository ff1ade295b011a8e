"""Sphinx directive ``autoscope-examples``: every ``examples/*.py`` script, described and shown.

Each script's module docstring gives the heading (its first line) and the description (the rest,
parsed as reStructuredText); the full source follows. A script added to ``examples/`` appears on the
page without editing it, and CI runs every script, so what the page shows runs. Usage::

    ```{autoscope-examples}
    ```
"""

from __future__ import annotations

import ast
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective


def examples_dir(srcdir: str | Path) -> Path:
    """Return the repository's ``examples`` folder, beside the documentation's source folder."""
    return Path(srcdir).resolve().parent / "examples"


def describe(path: Path) -> tuple[str, str]:
    """Return (first line, rest) of a script's module docstring; ("", "") when it has none."""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    first, _, rest = doc.partition("\n")
    return first.strip(), rest.strip()


class AutoscopeExamples(SphinxDirective):
    """Render every example script: a rubric, its description, the command, the source."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        """Return the nodes of every example, in file-name order."""
        out: list[nodes.Node] = []
        for path in sorted(examples_dir(self.env.srcdir).glob("*.py")):
            self.env.note_dependency(str(path))
            first, rest = describe(path)
            title = f"{path.name} — {first}" if first else path.name
            out.append(nodes.rubric(text=title, ids=[nodes.make_id(f"example-{path.stem}")]))
            if rest:
                body = nodes.container()
                self.state.nested_parse(StringList(rest.splitlines(), source=str(path)), 0, body)
                out.extend(body.children)
            source = path.read_text(encoding="utf-8")
            block = nodes.literal_block(source, source, language="python")
            out.append(block)
        return out


def setup(app: Sphinx) -> dict[str, object]:
    """Register the directive."""
    app.add_directive("autoscope-examples", AutoscopeExamples)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
