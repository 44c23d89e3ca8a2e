"""The loader contract: how a host hands the engine its site after detection.

A :class:`SiteLoader` is called once per plan with what changed and the
front matter stored at the last commit, and answers with a
:class:`LoadResult`: the site, how many page sources it read, the pages it
could not read, and, when it patched the site it returned last time instead
of building a new one, what it edited.  The engine reads nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, final

import attrs

from incrbuild._detect import ChangeSet
from incrbuild.protocols import PageLike, SectionLike, SiteLike

__all__ = ["LoadResult", "PageEdit", "SiteLoader"]


class PageEdit(Protocol):
    """One page inserted into or taken out of a site in place, and the sections that came or went.

    ``section`` is the page's section (``None`` at the root level);
    ``sections_added`` / ``sections_removed`` are sections created for the page
    or pruned because it left them empty, outermost first.
    :class:`incrbuild.adapters.simple.SiteEdit` is one.
    """

    @property
    def page(self) -> PageLike:
        """The page added or removed."""
        ...

    @property
    def section(self) -> SectionLike | None:
        """The section the page is (or was) directly in."""
        ...

    @property
    def sections_added(self) -> tuple[SectionLike, ...]:
        """Sections created for the page, outermost first."""
        ...

    @property
    def sections_removed(self) -> tuple[SectionLike, ...]:
        """Sections pruned because the page left them empty, outermost first."""
        ...


@final
@attrs.frozen
class LoadResult:
    """What a :class:`SiteLoader` returns.

    With ``refreshed`` left ``None`` the site is taken as new (the engine
    indexes it afresh).  A loader that patched the site object it returned
    last time lists what it did instead, and the engine updates its indexes in
    proportion: ``refreshed`` pages got new front matter, ``added`` and
    ``removed`` pages were inserted and taken out.
    """

    site: SiteLike
    pages_read: int = 0
    """Page sources read for this result (for reports and benchmarks)."""
    errors: Mapping[Path, str] = attrs.field(factory=dict)
    """Pages that could not be read or parsed, with a message: reported and rebuilt."""
    refreshed: tuple[PageLike, ...] | None = None
    """Pages whose front matter was refreshed in place (``None``: a new site)."""
    added: tuple[PageEdit, ...] = ()
    """Pages inserted in place."""
    removed: tuple[PageEdit, ...] = ()
    """Pages taken out in place."""

    @property
    def in_place(self) -> bool:
        """Whether the site is the one returned last time, edited in place."""
        return self.refreshed is not None


class SiteLoader(Protocol):
    """Builds the site model after detection, re-reading only what changed (the hook spec)."""

    def load(
        self, changes: ChangeSet, known_metadata: Mapping[Path, Mapping[str, Any]]
    ) -> LoadResult:
        """Return the current site given *changes* and each known page's stored front matter.

        *known_metadata* maps the path of every page known at the last commit to
        its stored front matter (empty on a first build); a warm loader reuses it
        for pages not in *changes* instead of reading them.
        """
        ...
