"""The plan: what a host must rebuild, and why.

A :class:`Plan` is a value the host acts on: pages, tag terms, section
listings and named site-wide outputs to render, what to delete, and a
:class:`Reason` for each.  The engine keeps its own private handle on what it
detected, for :meth:`~incrbuild.Engine.commit`; nothing of it is public.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from pathlib import Path
from typing import Final, final

import attrs

from incrbuild._detect import ChangeSet, Detection, DetectorStats
from incrbuild._metadata import (
    LISTING_KEYS,
    NAVIGATION_KEYS,
    navigation_order_key,
    normalise_metadata,
    relative_display,
)
from incrbuild._state import State

__all__ = [
    "LISTING_KEYS",
    "NAVIGATION_KEYS",
    "Plan",
    "PlanStats",
    "Reason",
    "ReasonKind",
    "navigation_order_key",
    "normalise_metadata",
]


class ReasonKind(enum.Enum):
    """Why something is in a plan."""

    FULL = "full"
    """No usable stored state: everything is rebuilt."""
    ADDED = "added"
    """The page's source is new."""
    MODIFIED = "modified"
    """The page's source changed."""
    REMOVED = "removed"
    """The page's source is gone; its outputs are to be deleted."""
    CASCADE = "cascade"
    """An enclosing section index changed a cascaded value."""
    DEPENDENCY = "dependency"
    """A file the page read (template, data, partial) changed."""
    LINK = "link"
    """A page it links to was removed, added or retitled."""
    GLOBAL = "global"
    """A global input (such as the site configuration) changed."""
    TAXONOMY = "taxonomy"
    """A member of the tag was added, removed, retagged, retitled or redated."""
    SECTION = "section"
    """A member of the section was added, removed, retitled or reordered."""
    NAVIGATION = "navigation"
    """The page's previous or next neighbour changed."""
    FAILED = "failed"
    """The page's last build failed, or its source could not be checked."""
    SHOWS = "shows"
    """The target shows something of *source* (a card, a count, a menu entry), which changed."""


# One format per kind: (with a source, without one).  ``{source}`` is filled in as
# a whole, so a path containing " in " or any other words survives untouched.
_FORMATS: Final[Mapping[ReasonKind, tuple[str, str]]] = {
    ReasonKind.FULL: ("full build: {source}", "no usable state: full build"),
    ReasonKind.ADDED: ("source added: {source}", "source added"),
    ReasonKind.MODIFIED: ("source modified: {source}", "source modified"),
    ReasonKind.REMOVED: ("source removed: {source}", "source removed"),
    ReasonKind.CASCADE: ("cascade changed in {source}", "cascade changed"),
    ReasonKind.DEPENDENCY: ("depends on {source} which changed", "a dependency changed"),
    ReasonKind.LINK: (
        "links to {source} whose title or existence changed",
        "a linked page's title or existence changed",
    ),
    ReasonKind.GLOBAL: ("global input {source} changed", "a global input changed"),
    ReasonKind.TAXONOMY: (
        "tag membership or member listing changed in {source}",
        "tag membership or member listing changed",
    ),
    ReasonKind.SECTION: ("section listing changed in {source}", "section listing changed"),
    ReasonKind.NAVIGATION: (
        "prev/next neighbours changed in {source}",
        "prev/next neighbours changed",
    ),
    ReasonKind.FAILED: (
        "last build failed or source unreadable: {source}",
        "last build failed or source unreadable",
    ),
    ReasonKind.SHOWS: (
        "shows something of {source}, which changed",
        "shows something that changed",
    ),
}


@final
@attrs.frozen
class Reason:
    """One reason a page, term or output is in the plan.

    *source* is the file whose change caused it (``None``: the target's own
    source); *detail* says more (which keys, which part of the page).
    """

    kind: ReasonKind
    source: Path | None = None
    detail: str = ""

    def __str__(self) -> str:
        return self.describe()

    def describe(self, root: Path | None = None) -> str:
        """Return the reason as a sentence, with *source* shown relative to *root*."""
        with_source, without = _FORMATS[self.kind]
        if self.source is None:
            text = without
        else:
            text = with_source.replace("{source}", relative_display(self.source, root))
        return f"{text} ({self.detail})" if self.detail else text


@final
@attrs.define
class PlanStats:
    """Counts and timings of one plan, for reports and benchmarks."""

    detector: DetectorStats = attrs.field(factory=DetectorStats)
    """What the change detector did."""
    pages_read: int = 0
    """Page sources read to rebuild the site model (proportional discovery)."""
    planning_ns: int = 0
    """Time spent propagating changes (built-in and host rules), after detection."""
    total_ns: int = 0
    """Time of the whole ``plan()`` call."""
    site_pages: int = 0
    """Pages in the site (what a full rebuild renders)."""
    fallback: str = ""
    """Why a plan asked for from watcher events was made by a full scan ("" if it was not)."""


@final
@attrs.frozen
class PlanBasis:
    """What a plan was made from: the engine's private handle for committing it."""

    detection: Detection
    previous: State
    watched_paths: frozenset[Path] = frozenset()


@final
@attrs.frozen
class Plan:
    """What to rebuild: pages by source path, tag terms, section listings, named outputs.

    ``pages`` are sources to render; ``removed_pages`` are sources whose outputs
    go (``removed_outputs`` lists the outputs recorded for them); ``terms`` are
    tags whose term page to render and ``removed_terms`` tags left with no
    member; ``sections`` are section directories whose listing changed;
    ``outputs`` are named site-wide outputs a rule asked for (``"sitemap"``,
    ``"search-index"``...).  Every member has reasons: :meth:`why`.
    """

    changes: ChangeSet
    pages: frozenset[Path]
    removed_pages: frozenset[Path] = frozenset()
    removed_outputs: frozenset[str] = frozenset()
    terms: frozenset[str] = frozenset()
    removed_terms: frozenset[str] = frozenset()
    sections: frozenset[Path] = frozenset()
    outputs: frozenset[str] = frozenset()
    reasons: Mapping[Path, tuple[Reason, ...]] = attrs.field(factory=dict, repr=False)
    term_reasons: Mapping[str, tuple[Reason, ...]] = attrs.field(factory=dict, repr=False)
    output_reasons: Mapping[str, tuple[Reason, ...]] = attrs.field(factory=dict, repr=False)
    full: bool = False
    root: Path | None = None
    stats: PlanStats = attrs.field(factory=PlanStats, repr=False, eq=False)
    _basis: PlanBasis | None = attrs.field(default=None, repr=False, eq=False, alias="_basis")

    @property
    def partial(self) -> bool:
        """Whether the plan checked only the paths a watcher reported, not the whole tree."""
        return self._basis is not None and self._basis.detection.partial

    def why(self, target: Path | str) -> tuple[str, ...]:
        """Return the chain of reasons *target* (a page path, a tag or an output) is in the plan.

        Each reason is followed by the reasons of its source, when that source is
        itself in the plan, so a cascade shows as "cascade changed in
        docs/_index.md" then "docs/_index.md: source modified".
        """
        chain: list[str] = []
        seen: set[Path | str] = set()
        queue: list[Path | str] = [target]
        first = True
        while queue:
            current = queue.pop(0)
            if current in seen:
                continue
            seen.add(current)
            found = self._reasons_of(current)
            for reason in found:
                text = reason.describe(self.root)
                chain.append(text if first else f"{self._show(current)}: {text}")
                if reason.source is not None and reason.source != Path(current):
                    queue.append(reason.source)
            first = False
        return tuple(chain)

    def _reasons_of(self, target: Path | str) -> tuple[Reason, ...]:
        if isinstance(target, str):
            named = self.term_reasons.get(target, ()) + self.output_reasons.get(target, ())
            if named:
                return named
        return self.reasons.get(Path(target), ())

    def _show(self, target: Path | str) -> str:
        if isinstance(target, Path):
            return relative_display(target, self.root)
        return str(target)


def plan_basis(plan: Plan) -> PlanBasis | None:
    """The engine's handle on *plan* (``None`` if it was not made by an engine)."""
    return plan._basis
