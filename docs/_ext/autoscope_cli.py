"""Sphinx directive ``autoscope-cli``: the ``--help`` of every ``autoscope`` command, at build time.

The text comes from :func:`autoscope.cli.build_parser`, so the reference page cannot drift from
the command line. Usage in a MyST page::

    ```{autoscope-cli}
    ```
"""

from __future__ import annotations

import argparse

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse keeps subparsers only here
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


class AutoscopeCLI(SphinxDirective):
    """Render ``autoscope --help`` and ``autoscope <command> --help``, one block each."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        """Return the help texts as literal blocks under rubrics."""
        from autoscope.cli import build_parser

        parser = build_parser()
        parser.prog = "autoscope"
        out: list[nodes.Node] = [nodes.literal_block(text=parser.format_help())]
        for name, sub in sorted(_subcommands(parser).items()):
            sub.prog = f"autoscope {name}"
            out.append(nodes.rubric(text=f"autoscope {name}", ids=[f"autoscope-{name}"]))
            out.append(nodes.literal_block(text=sub.format_help(), language="text"))
        return out


def setup(app: Sphinx) -> dict[str, object]:
    """Register the directive."""
    app.add_directive("autoscope-cli", AutoscopeCLI)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
