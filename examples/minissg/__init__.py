"""minissg: a small static site generator that lets incrbuild make every incremental decision.

``build_site("examples/minissg/site", "public")`` builds the sample site;
``python -m examples.minissg build SITE OUT`` is the command line; see
``examples/README.md``.
"""

from __future__ import annotations

from examples.minissg.builder import Builder, BuildReport, build, build_site

__all__ = ["BuildReport", "Builder", "build", "build_site"]
