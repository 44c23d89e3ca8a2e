"""Stand-ins for testing a host integration: no disk watcher, no real site needed.

Like httpx's ``MockTransport``: :class:`FakeChangeSource` feeds a
:class:`~incrbuild.WatchSession` batches by hand, :class:`MemoryLoader` is a
:class:`~incrbuild.SiteLoader` over pages held in memory, :class:`RecordingRule`
is a :class:`~incrbuild.Rule` that remembers what it saw and plans what it is
told, and :func:`generate_site` writes a deterministic content tree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, final

import attrs

from incrbuild._detect import ChangeSet
from incrbuild._loading import LoadResult
from incrbuild._plan import Reason
from incrbuild._rules import PageChange, PlanBuilder, RuleContext
from incrbuild._synthetic import SyntheticSite, generate_site
from incrbuild._watch import FakeChangeSource
from incrbuild.adapters.simple import SimplePage, assemble_site

__all__ = [
    "FakeChangeSource",
    "MemoryLoader",
    "RecordingRule",
    "SyntheticSite",
    "generate_site",
]


@final
@attrs.define
class MemoryLoader:
    """A :class:`~incrbuild.SiteLoader` over front matter held in memory, by source path.

    Set ``metadata`` (and ``errors``) before each plan; every call assembles a
    new site from them and counts each page as read.  The files themselves
    must still exist under ``root``: the engine's detector scans the disk.
    """

    root: Path
    metadata: dict[Path, dict[str, Any]] = attrs.field(factory=dict)
    errors: dict[Path, str] = attrs.field(factory=dict)
    calls: list[ChangeSet] = attrs.field(factory=list)

    def load(
        self, changes: ChangeSet, known_metadata: Mapping[Path, Mapping[str, Any]]
    ) -> LoadResult:
        """Return a new site of the pages in ``metadata``."""
        self.calls.append(changes)
        pages = [SimplePage(path, dict(meta)) for path, meta in sorted(self.metadata.items())]
        return LoadResult(
            assemble_site(self.root, pages), pages_read=len(pages), errors=dict(self.errors)
        )


@final
@attrs.define
class RecordingRule:
    """A :class:`~incrbuild.Rule` that records each context and plans what *decide* says.

    *decide* gets each :class:`~incrbuild.PageChange` and returns the
    ``(output name, reason)`` pairs to plan for it (``None``: nothing).
    """

    decide: Callable[[PageChange], list[tuple[str, Reason]] | None] = lambda change: None
    contexts: list[RuleContext] = attrs.field(factory=list)

    def apply(self, context: RuleContext, out: PlanBuilder) -> None:
        """Record *context*; plan the outputs *decide* names for each page change."""
        self.contexts.append(context)
        for change in context.page_changes:
            for name, reason in self.decide(change) or ():
                out.output(name, reason)
