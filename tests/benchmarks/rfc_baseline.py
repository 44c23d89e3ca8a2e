"""The RFC's "current" algorithms, re-implemented from its description: the "before".

../shared/reference/rfc-orchestration-big-o.md quotes Bengal's orchestration
code as it stood; this module re-implements what it describes, over any
:class:`~incrbuild.SiteLike`, so every benchmark figure has a "before" measured
on the same site in the same run.  It is deliberately not optimised beyond what
the RFC shows; it is not part of the package.

- three private ``{source_path: page}`` builds per incremental build
  (cascade tracker, rebuild filter, taxonomy rebuild);
- section change detection by ``exists()`` + ``stat()`` of every page of every
  section, compared against the last build time (O(S x P) system calls);
- the owning section of a cascade index page by a linear scan of the sections;
- the heading/anchor loop of the cross-reference index, run during discovery
  when every page's TOC is still empty.

Where the RFC's code is elided (``# ...``), the smallest faithful completion is
used and marked.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from incrbuild.protocols import PageLike, SectionLike, SiteLike, is_generated, toc_items_of


def all_sections(site: SiteLike) -> list[SectionLike]:
    """Every section, depth first (Bengal's ``site.sections`` holds them all)."""
    found: list[SectionLike] = []

    def walk(sections: Any) -> None:
        for section in sections:
            found.append(section)
            walk(section.subsections)

    walk(site.sections)
    return found


class Counters:
    """How much work the baseline did: page-index builds and file-system calls."""

    def __init__(self) -> None:
        self.page_index_builds = 0
        self.exists_calls = 0
        self.stat_calls = 0


class CascadeTracker:
    """``cascade_tracker.py``: a lazily built private page index; O(S) owner lookup."""

    def __init__(self, site: SiteLike, sections: list[SectionLike], counters: Counters) -> None:
        self.site = site
        self.sections = sections
        self.counters = counters
        self._page_by_path: dict[Path, PageLike] | None = None

    def _get_page_by_path(self, path: Path) -> PageLike | None:
        if self._page_by_path is None:
            self.counters.page_index_builds += 1
            self._page_by_path = {p.source_path: p for p in self.site.pages}
        return self._page_by_path.get(path)

    def _is_page_in_any_section(self, page: PageLike) -> bool:
        # Elided in the RFC; the smallest completion: is it some section's index page?
        return any(section.index_page is page for section in self.sections)

    def find_cascade_affected_pages(self, index_path: Path) -> set[Path]:
        """The RFC's ``_find_cascade_affected_pages``: O(S) scan for the owner."""
        index_page = self._get_page_by_path(index_path)
        affected: set[Path] = set()
        if index_page is None:
            return affected
        if not self._is_page_in_any_section(index_page):
            for page in self.site.pages:
                if not is_generated(page):
                    affected.add(page.source_path)
            return affected
        for section in self.sections:  # O(S) linear scan
            if section.index_page == index_page:
                for page in regular_pages_recursive(section):
                    if not is_generated(page):
                        affected.add(page.source_path)
                break
        return affected


def regular_pages_recursive(section: SectionLike) -> Iterator[PageLike]:
    """Every page below *section*, recursively (Bengal caches this; uncached here)."""
    yield from section.pages
    for child in section.subsections:
        yield from regular_pages_recursive(child)


class RebuildFilter:
    """``rebuild_filter.py``: its own page index and the O(S x P) section scan."""

    def __init__(self, site: SiteLike, sections: list[SectionLike], counters: Counters) -> None:
        self.site = site
        self.sections = sections
        self.counters = counters
        self._page_by_path: dict[Path, PageLike] | None = None

    def _get_page_by_path(self, path: Path) -> PageLike | None:
        if self._page_by_path is None:
            self.counters.page_index_builds += 1
            self._page_by_path = {p.source_path: p for p in self.site.pages}
        return self._page_by_path.get(path)

    def get_changed_sections(self, last_build_time: float) -> set[int]:
        """Sections (by position) holding a page newer than *last_build_time*."""
        changed: set[int] = set()
        counters = self.counters
        for position, section in enumerate(self.sections):  # O(S)
            section_mtime = 0.0
            has_pages = False
            for page in section.pages:  # O(P per section)
                if page.metadata.get("_generated"):
                    continue
                has_pages = True
                try:
                    counters.exists_calls += 1
                    if page.source_path.exists():
                        counters.stat_calls += 1
                        stat = page.source_path.stat()
                        section_mtime = max(section_mtime, stat.st_mtime)
                except OSError:
                    changed.add(position)
                    break
            if has_pages and section_mtime > last_build_time:
                changed.add(position)
        return changed

    def changed_pages(self, last_build_time: float) -> set[Path]:
        """Section-level filter, then each page of a changed section by mtime."""
        changed: set[Path] = set()
        for position in self.get_changed_sections(last_build_time):
            for page in self.sections[position].pages:
                self.counters.stat_calls += 1
                try:
                    if page.source_path.stat().st_mtime > last_build_time:
                        changed.add(page.source_path)
                except OSError:
                    changed.add(page.source_path)
        return changed


def taxonomy_page_map(site: SiteLike, counters: Counters) -> dict[Path, PageLike]:
    """``content.py``'s ``_rebuild_taxonomy_structure_from_cache``: the third page index."""
    eligible = [p for p in site.pages if not is_generated(p)]
    counters.page_index_builds += 1
    return {p.source_path: p for p in eligible}


def build_xref_index(site: SiteLike) -> dict[str, Any]:
    """``content.py``'s ``_build_xref_index`` at discovery: the heading loop finds nothing."""
    by_path: dict[str, PageLike] = {}
    by_heading: dict[str, list[tuple[PageLike, str]]] = {}
    for page in site.pages:
        by_path[str(page.source_path)] = page
        for item in toc_items_of(page):  # always empty before parsing
            heading = str(item.get("title", "")).lower()
            anchor = item.get("id")
            if heading and anchor:
                by_heading.setdefault(heading, []).append((page, str(anchor)))
    return {"by_path": by_path, "by_heading": by_heading}


def incremental_decision(
    site: SiteLike, sections: list[SectionLike], last_build_time: float
) -> tuple[set[Path], Counters]:
    """The RFC's incremental decision on an already discovered *site*: what changed, cascaded.

    Discovery (reading every page's front matter to build *site*) happens
    before this in the baseline and is not counted, which flatters it.
    """
    counters = Counters()
    build_xref_index(site)
    rebuild = RebuildFilter(site, sections, counters)
    tracker = CascadeTracker(site, sections, counters)
    changed = rebuild.changed_pages(last_build_time)
    affected = set(changed)
    for path in changed:
        page = rebuild._get_page_by_path(path)
        if page is not None and page.metadata.get("cascade"):
            affected |= tracker.find_cascade_affected_pages(path)
    # The cascade tracker and the taxonomy rebuild each look pages up by path.
    for path in changed:
        tracker._get_page_by_path(path)
    taxonomy_page_map(site, counters)
    return affected, counters
