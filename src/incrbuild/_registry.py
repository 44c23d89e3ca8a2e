"""The single shared index a build uses: pages by path, sections by page, tags, headings.

Every index is built lazily, once per registry *generation*, under a lock so
that two threads asking at once build it once.  The host starts a new
generation with :meth:`IndexRegistry.invalidate` after adding or removing
pages.  The heading index reads parsed TOCs, so it is built on first use
(after parsing) and re-indexed page by page when the host re-parses a page.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, final

import attrs

from incrbuild._metadata import DEFAULT_TAXONOMIES
from incrbuild._paths import require_absolute
from incrbuild.protocols import PageLike, SectionLike, SiteLike, is_generated, toc_items_of

__all__ = [
    "DEFAULT_TAXONOMIES",
    "IndexRegistry",
    "RegistryStats",
    "tags_from_metadata",
    "term_name",
]


@final
@attrs.define
class RegistryStats:
    """Counts of the work an :class:`IndexRegistry` did, so tests and benchmarks can prove it."""

    page_index_builds: int = 0
    """How many times the ``{source_path: page}`` index was built by a full pass."""
    page_index_borrowed: int = 0
    """How many times the host's own page index was used instead of building one."""
    section_index_builds: int = 0
    """How many times the section maps (page to section, index page to section) were built."""
    tag_index_builds: int = 0
    """How many times the tag index was built."""
    heading_index_builds: int = 0
    """How many times the heading index was built from every page's TOC."""
    heading_pages_reindexed: int = 0
    """How many single pages were re-indexed after the host re-parsed them."""
    generations: int = 0
    """How many times the registry was invalidated."""


_TAGS = "tags"
_INDEX_NAME = "_index.md"


def _cascade_of(metadata: Mapping[str, Any]) -> Mapping[str, Any]:
    cascade = metadata.get("cascade")
    return cascade if isinstance(cascade, Mapping) else {}


def tags_from_metadata(metadata: Mapping[str, Any] | Any, taxonomy: str = _TAGS) -> frozenset[str]:
    """Return the terms front matter names under *taxonomy*: a string or a sequence of them."""
    raw = metadata.get(taxonomy)
    if raw is None:
        return frozenset()
    if isinstance(raw, str) or not (type(raw) is list or isinstance(raw, Iterable)):
        raw = [raw]  # a list is checked first: the ABC test costs more than the rest
    found = set()
    for term in raw:
        text = (term if type(term) is str else str(term)).strip()
        if text:
            found.add(text)
    return frozenset(found)


def term_name(taxonomy: str, term: str) -> str:
    """A term as plans name it: a tag as is, another taxonomy's as ``"<taxonomy>/<term>"``.

    The second form is also the term page's path (``categories/go``), as in Hugo.
    """
    return term if taxonomy == _TAGS else f"{taxonomy}/{term}"


@attrs.frozen
class _Sections:
    """The section maps of one generation."""

    all_sections: tuple[SectionLike, ...]
    section_of_path: dict[Path, SectionLike]
    section_by_index_path: dict[Path, SectionLike]
    section_by_dir: dict[Path, SectionLike]


@attrs.frozen
class _Tags:
    """The tag maps of one generation."""

    pages_by_tag: dict[str, tuple[PageLike, ...]]
    tags_by_path: dict[Path, tuple[str, ...]]  # tuples: a frozenset per page costs 4x more
    # Index pages whose cascade sets tags: editing one re-tags its whole subtree.
    cascade_sources: set[Path] = attrs.field(factory=set)


@attrs.define
class _Headings:
    """The heading maps: per page its entries, and the inverted map by lowercase title."""

    entries_by_path: dict[Path, tuple[tuple[str, str], ...]] = attrs.field(factory=dict)
    by_title: dict[str, list[tuple[PageLike, str]]] = attrs.field(factory=dict)
    by_anchor: dict[str, list[PageLike]] = attrs.field(factory=dict)
    stale_paths: set[Path] = attrs.field(factory=set)


@final
class IndexRegistry:
    """The shared indexes of one site: every lookup a build needs, each built once.

    Lookups are O(1) after the first, which pays one O(P) (or O(S+P)) pass.
    """

    def __init__(self, site: SiteLike, *, taxonomies: Iterable[str] = DEFAULT_TAXONOMIES) -> None:
        self._site = site
        #: Front-matter keys whose values are taxonomy terms (``tags``, ``categories``, ...).
        self.taxonomies = tuple(dict.fromkeys(taxonomies))
        self._lock = threading.RLock()
        self.stats = RegistryStats()
        self._generation = 0
        self._page_by_path: Mapping[Path, PageLike] | None = None
        self._own_page_index: dict[Path, PageLike] | None = None  # None when borrowed
        self._sections: _Sections | None = None
        self._tags: _Tags | None = None
        # Every term, when asked for before the tag maps exist: a full plan names every
        # term and needs no page list of any (see ``tags``).
        self._terms: frozenset[str] | None = None
        self._headings: _Headings | None = None
        self._subtree_pages: dict[int, tuple[PageLike, ...]] = {}

    @property
    def site(self) -> SiteLike:
        """The site this registry indexes."""
        return self._site

    @property
    def generation(self) -> int:
        """The number of invalidations so far; caches belong to one generation."""
        return self._generation

    def invalidate(self) -> None:
        """Drop every index; call after the host adds, removes or moves pages or sections."""
        with self._lock:
            self._generation += 1
            self.stats.generations += 1
            self._page_by_path = None
            self._own_page_index = None
            self._sections = None
            self._tags = None
            self._terms = None
            self._headings = None
            self._subtree_pages = {}

    # -- pages by path (RFC item 1) -------------------------------------------------

    @property
    def page_by_path(self) -> Mapping[Path, PageLike]:
        """Every page keyed by ``source_path``: built in one pass per generation."""
        index = self._page_by_path
        if index is None:
            with self._lock:
                index = self._page_by_path
                if index is None:
                    index = self._build_page_index()
                    self._page_by_path = index
        return index

    def _build_page_index(self) -> Mapping[Path, PageLike]:
        borrowed = getattr(self._site, "page_by_source_path", None)
        if isinstance(borrowed, Mapping):
            # The host keeps its own shared index (Bengal does); a second copy is waste.
            self.stats.page_index_borrowed += 1
            return borrowed
        self.stats.page_index_builds += 1
        index = {page.source_path: page for page in self._site.pages}
        # Changes are reported by absolute path: a relative one would never match.  A host
        # spells all its paths one way, so the first page stands for all (O(1), not O(P)).
        first = next(iter(index), None)
        if first is not None:
            require_absolute(first, "the page source_path")
        self._own_page_index = index
        return index

    def page_for(self, source_path: Path) -> PageLike | None:
        """Return the page whose source is *source_path*, or ``None``."""
        return self.page_by_path.get(source_path)

    # -- sections (RFC item 4) ----------------------------------------------------

    def _section_maps(self) -> _Sections:
        maps = self._sections
        if maps is None:
            with self._lock:
                maps = self._sections
                if maps is None:
                    maps = self._build_section_maps()
                    self._sections = maps
        return maps

    def _build_section_maps(self) -> _Sections:
        self.stats.section_index_builds += 1
        seen: dict[int, SectionLike] = {}
        section_of_path: dict[Path, SectionLike] = {}
        by_index: dict[Path, SectionLike] = {}
        stack = list(reversed(self._site.sections))
        while stack:
            section = stack.pop()
            if id(section) in seen:
                continue
            seen[id(section)] = section
            for page in section.pages:
                section_of_path[page.source_path] = section
            index_page = section.index_page
            if index_page is not None:
                section_of_path[index_page.source_path] = section
                by_index[index_page.source_path] = section
            stack.extend(reversed(section.subsections))
        by_dir = {s.path: s for s in seen.values() if s.path is not None}
        return _Sections(tuple(seen.values()), section_of_path, by_index, by_dir)

    @property
    def sections(self) -> tuple[SectionLike, ...]:
        """Every section, top-level and nested, each once, parents before children."""
        return self._section_maps().all_sections

    def section_of(self, page: PageLike) -> SectionLike | None:
        """Return the section *page* belongs to (an index page: its own section), in O(1)."""
        return self._section_maps().section_of_path.get(page.source_path)

    def section_for_index(self, index_page: PageLike) -> SectionLike | None:
        """Return the section whose index page is *index_page*, in O(1); ``None`` if none."""
        return self._section_maps().section_by_index_path.get(index_page.source_path)

    def section_by_path(self, directory: Path) -> SectionLike | None:
        """Return the section whose directory is *directory*, in O(1); ``None`` if none."""
        return self._section_maps().section_by_dir.get(directory)

    def is_root_level(self, page: PageLike) -> bool:
        """Tell whether *page* belongs to no section (its cascade reaches the whole site)."""
        return page.source_path not in self._section_maps().section_of_path

    def regular_pages_under(self, section: SectionLike) -> tuple[PageLike, ...]:
        """Every non-generated page below *section*, recursively, except its own index page.

        Index pages of subsections are included: a cascade reaches them too.
        The result is cached per section for the generation.
        """
        cached = self._subtree_pages.get(id(section))
        if cached is not None:
            return cached
        with self._lock:
            return self._subtree(section)

    def _subtree(self, section: SectionLike) -> tuple[PageLike, ...]:
        cached = self._subtree_pages.get(id(section))
        if cached is not None:
            return cached
        own_index = section.index_page
        own_index_path = None if own_index is None else own_index.source_path
        found: list[PageLike] = [
            page
            for page in section.pages
            if page.source_path != own_index_path and not is_generated(page)
        ]
        for child in section.subsections:
            child_index = child.index_page
            if child_index is not None and not is_generated(child_index):
                found.append(child_index)
            found.extend(self._subtree(child))
        result = tuple(found)
        self._subtree_pages[id(section)] = result
        return result

    def regular_pages(self) -> Iterator[PageLike]:
        """Every non-generated page of the site (what a root-level cascade reaches)."""
        return (page for page in self._site.pages if not is_generated(page))

    # -- tags -------------------------------------------------------------------

    def _tag_maps(self) -> _Tags:
        maps = self._tags
        if maps is None:
            with self._lock:
                maps = self._tags
                if maps is None:
                    maps = self._build_tag_maps()
                    self._tags = maps
        return maps

    def _build_tag_maps(self) -> _Tags:
        self.stats.tag_index_builds += 1
        members: dict[str, list[PageLike]] = {}
        tags_by_path: dict[Path, tuple[str, ...]] = {}
        sources: set[Path] = set()
        taxonomies = self.taxonomies
        # Pages are visited in path order (one sort, nearly free on a site listed in that
        # order), so each term's members come out in path order with no sort per term.
        pages = sorted((p for p in self._site.pages if not is_generated(p)), key=_path_order)
        for page in pages:
            metadata = page.metadata
            cascade = metadata.get("cascade")
            if (
                cascade is not None
                and isinstance(cascade, Mapping)
                and any(t in cascade for t in taxonomies)
            ):
                sources.add(page.source_path)
            tags = self._terms_of_page(page, metadata, None)
            if not tags:
                continue
            tags_by_path[page.source_path] = tuple(sorted(tags))
            for tag in tags:
                found = members.get(tag)
                if found is None:
                    members[tag] = [page]
                else:
                    found.append(page)
        by_tag = {tag: tuple(found) for tag, found in members.items()}
        return _Tags(by_tag, tags_by_path, sources)

    def _names_a_taxonomy(self, metadata: Mapping[str, Any]) -> bool:
        return any(taxonomy in metadata for taxonomy in self.taxonomies)

    def terms_from(self, metadata: Mapping[str, Any]) -> frozenset[str]:
        """The terms *metadata* (front matter or a cascade) names itself, in every taxonomy."""
        found: frozenset[str] | None = None
        for taxonomy in self.taxonomies:
            if taxonomy in metadata:
                terms = tags_from_metadata(metadata, taxonomy)
                if taxonomy != _TAGS:  # tags are named as they are (see term_name)
                    terms = frozenset(term_name(taxonomy, t) for t in terms)
                found = terms if found is None else found | terms
        return _NO_TERMS if found is None else found

    def _effective_tags(self, page: PageLike, section: SectionLike | None = None) -> frozenset[str]:
        if is_generated(page):
            return _NO_TERMS
        return self._terms_of_page(page, page.metadata, section)

    def _terms_of_page(
        self, page: PageLike, metadata: Mapping[str, Any], section: SectionLike | None
    ) -> frozenset[str]:
        """A page's own terms, and the nearest cascade's for taxonomies it does not name."""
        own = self.terms_from(metadata)
        for taxonomy in self.taxonomies:
            if taxonomy not in metadata:
                break
        else:
            return own  # the front matter names every taxonomy: nothing is inherited
        inherited = [t for t in self.taxonomies if t not in metadata]
        if section is None:
            section = self.section_of(page)
        return own | self._cascaded_from(section, page.source_path, inherited)

    def terms_of_metadata(self, source_path: Path, metadata: Mapping[str, Any]) -> frozenset[str]:
        """The terms of a page at *source_path* with front matter *metadata*.

        Each taxonomy the front matter names gives its own terms; each it does
        not name is inherited from the nearest cascade that names it.
        """
        inherited = [t for t in self.taxonomies if t not in metadata]
        own = self.terms_from(metadata)
        return own | self.cascaded_tags(source_path, inherited) if inherited else own

    def cascaded_tags(
        self, source_path: Path, taxonomies: Iterable[str] = DEFAULT_TAXONOMIES
    ) -> frozenset[str]:
        """The terms a page at *source_path* inherits in *taxonomies*: the nearest cascade's.

        Hosts that merge cascades into ``metadata`` (Bengal) give every inheriting
        page its ``tags`` key, so this changes nothing for them; for hosts that do
        not (the ``files`` adapter), it makes taxonomy follow cascades all the same.
        The path need not be a current page (the planner asks about removed ones).
        """
        page = self.page_for(source_path)
        section = self.section_of(page) if page is not None else None
        if section is None:
            directory = source_path.parent
            root = Path(self._site.root_path)
            while section is None and directory != root and root in directory.parents:
                section = self.section_by_path(directory)
                directory = directory.parent
        return self._cascaded_from(section, source_path, taxonomies)

    def _cascaded_from(
        self, section: SectionLike | None, source_path: Path, taxonomies: Iterable[str]
    ) -> frozenset[str]:
        pending = set(taxonomies)
        found: set[str] = set()

        def take(cascade: Mapping[str, Any]) -> None:
            for taxonomy in [t for t in pending if t in cascade]:
                pending.discard(taxonomy)
                found.update(term_name(taxonomy, t) for t in tags_from_metadata(cascade, taxonomy))

        index = section.index_page if section is not None else None
        if section is not None and index is not None and index.source_path == source_path:
            section = section.parent  # a section's own cascade reaches below it, not itself
        while section is not None and pending:
            index = section.index_page
            if index is not None:
                take(_cascade_of(index.metadata))
            section = section.parent
        root_index = self.page_for(Path(self._site.root_path) / _INDEX_NAME)
        if pending and root_index is not None and root_index.source_path != source_path:
            take(_cascade_of(root_index.metadata))
        return frozenset(found)

    def _cascade_changed(self, page: PageLike) -> bool:
        """Whether re-indexing *page* may re-tag other pages (its cascade sets or set tags)."""
        maps = self._tags
        if maps is None:
            return False
        if page.source_path in maps.cascade_sources:
            return True
        return not is_generated(page) and self._names_a_taxonomy(_cascade_of(page.metadata))

    def page_added(self, page: PageLike, section: SectionLike | None) -> None:
        """Index *page*, which the host added to *section* (``None``: root level), in O(depth).

        Call :meth:`section_added` first for sections created to hold it.
        """
        with self._lock:
            self._terms = None  # collected again when asked for
            if self._own_page_index is not None:  # a borrowed host index is the host's to keep
                self._own_page_index[page.source_path] = page
            maps = self._sections
            if maps is not None and section is not None:
                maps.section_of_path[page.source_path] = section
                if section.index_page is page:
                    maps.section_by_index_path[page.source_path] = section
            self._forget_subtrees(section)
            if self._cascade_changed(page):
                self._tags = None  # rebuilt lazily: a cascade of tags reaches a whole subtree
            else:
                self._retag(page, self._effective_tags(page, section))
            if self._headings is not None:
                self._headings.stale_paths.add(page.source_path)

    def page_removed(self, page: PageLike, section: SectionLike | None) -> None:
        """Forget *page*, which the host removed from *section*, in O(depth).

        Call :meth:`section_removed` afterwards for sections pruned with it.
        """
        with self._lock:
            self._terms = None  # collected again when asked for
            if self._own_page_index is not None:
                self._own_page_index.pop(page.source_path, None)
            maps = self._sections
            if maps is not None:
                maps.section_of_path.pop(page.source_path, None)
                maps.section_by_index_path.pop(page.source_path, None)
            self._forget_subtrees(section)
            if self._cascade_changed(page):
                self._tags = None
            else:
                self._retag(page, ())
            if self._headings is not None:
                self._headings.stale_paths.add(page.source_path)

    def section_added(self, section: SectionLike) -> None:
        """Index a section the host created (its pages are added with :meth:`page_added`)."""
        with self._lock:
            self._terms = None  # collected again when asked for
            maps = self._sections
            if maps is not None:
                self._sections = attrs.evolve(maps, all_sections=(*maps.all_sections, section))
                if section.path is not None:
                    maps.section_by_dir[section.path] = section
            self._forget_subtrees(section.parent)

    def section_removed(self, section: SectionLike) -> None:
        """Forget a section the host removed."""
        with self._lock:
            self._terms = None  # collected again when asked for
            maps = self._sections
            if maps is not None:
                kept = tuple(s for s in maps.all_sections if s is not section)
                self._sections = attrs.evolve(maps, all_sections=kept)
                if section.path is not None and maps.section_by_dir.get(section.path) is section:
                    del maps.section_by_dir[section.path]
            self._subtree_pages.pop(id(section), None)
            self._forget_subtrees(section.parent)

    def _forget_subtrees(self, section: SectionLike | None) -> None:
        """Drop the cached subtree lists of *section* and its ancestors."""
        while section is not None:
            self._subtree_pages.pop(id(section), None)
            section = section.parent

    def _retag(self, page: PageLike, new_tags: Iterable[str]) -> None:
        maps = self._tags
        if maps is None:
            return
        path = page.source_path
        old = frozenset(maps.tags_by_path.pop(path, ()))
        new = frozenset(new_tags)
        if new:
            maps.tags_by_path[path] = tuple(sorted(new))
        for tag in old - new:
            kept = tuple(p for p in maps.pages_by_tag.get(tag, ()) if p.source_path != path)
            if kept:
                maps.pages_by_tag[tag] = kept
            else:
                maps.pages_by_tag.pop(tag, None)
        for tag in new - old:
            maps.pages_by_tag[tag] = _by_path((*maps.pages_by_tag.get(tag, ()), page))

    def refresh_pages(self, pages: Iterable[PageLike]) -> None:
        """Re-read the metadata of *pages* whose front matter changed in place.

        The tag index is updated in proportion to *pages* and their headings are
        marked stale; the page and section indexes are untouched, so use
        :meth:`invalidate` instead when pages were added, removed or moved.
        """
        with self._lock:
            self._terms = None  # collected again when asked for
            for page in pages:
                if self._headings is not None:
                    self._headings.stale_paths.add(page.source_path)
                if self._cascade_changed(page):
                    self._tags = None
                elif self._tags is not None:
                    self._retag(page, self._effective_tags(page))

    def pages_with_tag(self, tag: str) -> tuple[PageLike, ...]:
        """Return the non-generated pages tagged *tag*, ordered by source path."""
        return self._tag_maps().pages_by_tag.get(tag, ())

    def tags_of(self, page: PageLike) -> frozenset[str]:
        """Return *page*'s tags as indexed this generation."""
        return frozenset(self._tag_maps().tags_by_path.get(page.source_path, ()))

    @property
    def tags(self) -> frozenset[str]:
        """Every tag used by at least one page.

        Collected without the tag maps if they are not built yet: a full rebuild
        names every term and asks for no page list, so a cold plan never builds them.
        """
        maps = self._tags
        if maps is not None:
            return frozenset(maps.pages_by_tag)
        terms = self._terms
        if terms is None:
            with self._lock:
                maps = self._tags
                if maps is not None:
                    return frozenset(maps.pages_by_tag)
                terms = self._terms
                if terms is None:
                    terms = self._terms = self._collect_terms()
        return terms

    def _collect_terms(self) -> frozenset[str]:
        """Every page's terms, as the tag maps would index them."""
        found: set[str] = set()
        for page in self._site.pages:
            if not is_generated(page):
                found.update(self._terms_of_page(page, page.metadata, None))
        return frozenset(found)

    # -- headings (RFC item 5) -----------------------------------------------------

    def page_parsed(self, page: PageLike) -> None:
        """Tell the registry *page* was (re)parsed: its headings are re-read on next use."""
        with self._lock:
            if self._headings is not None:
                self._headings.stale_paths.add(page.source_path)

    def _heading_maps(self) -> _Headings:
        with self._lock:
            maps = self._headings
            if maps is None:
                maps = _Headings()
                self.stats.heading_index_builds += 1
                for page in self._site.pages:
                    self._index_headings(maps, page)
                self._headings = maps
            elif maps.stale_paths:
                for path in sorted(maps.stale_paths):
                    self._unindex_headings(maps, path)
                    reparsed = self.page_by_path.get(path)
                    if reparsed is not None:
                        self.stats.heading_pages_reindexed += 1
                        self._index_headings(maps, reparsed)
                maps.stale_paths.clear()
            return maps

    @staticmethod
    def _index_headings(maps: _Headings, page: PageLike) -> None:
        entries: list[tuple[str, str]] = []
        for item in toc_items_of(page):
            title = str(item.get("title", "")).strip().lower()
            anchor = str(item.get("id", "")).strip()
            if not (title and anchor):
                continue
            entries.append((title, anchor))
            maps.by_title.setdefault(title, []).append((page, anchor))
            maps.by_anchor.setdefault(anchor, []).append(page)
        if entries:
            maps.entries_by_path[page.source_path] = tuple(entries)

    @staticmethod
    def _unindex_headings(maps: _Headings, path: Path) -> None:
        for title, anchor in maps.entries_by_path.pop(path, ()):
            kept = [(p, a) for p, a in maps.by_title.get(title, ()) if p.source_path != path]
            _store_or_drop(maps.by_title, title, kept)
            kept_pages = [p for p in maps.by_anchor.get(anchor, ()) if p.source_path != path]
            _store_or_drop(maps.by_anchor, anchor, kept_pages)

    def pages_with_heading(self, title: str) -> tuple[tuple[PageLike, str], ...]:
        """Return ``(page, anchor)`` for every parsed heading titled *title* (case-insensitive)."""
        return tuple(self._heading_maps().by_title.get(title.strip().lower(), ()))

    def pages_with_anchor(self, anchor: str) -> tuple[PageLike, ...]:
        """Return every parsed page that has a heading with anchor *anchor*."""
        return tuple(self._heading_maps().by_anchor.get(anchor, ()))

    def headings_of(self, page: PageLike) -> tuple[tuple[str, str], ...]:
        """Return *page*'s indexed ``(lowercase title, anchor)`` pairs."""
        return self._heading_maps().entries_by_path.get(page.source_path, ())


def _by_path(pages: Iterable[PageLike]) -> tuple[PageLike, ...]:
    return tuple(sorted(pages, key=_path_order))


def _path_order(page: PageLike) -> tuple[str, ...]:
    """``Path`` order as a tuple compared in C: pathlib orders by parts (case folded on Windows)."""
    parts = page.source_path.parts
    return tuple(part.lower() for part in parts) if _FOLDS_CASE else parts


_FOLDS_CASE: Final = os.name == "nt"
_NO_TERMS: Final[frozenset[str]] = frozenset()


def _store_or_drop(mapping: dict[str, Any], key: str, values: Sequence[Any]) -> None:
    if values:
        mapping[key] = list(values)
    else:
        mapping.pop(key, None)
