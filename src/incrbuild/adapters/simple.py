"""Plain in-memory pages, sections and sites: the reference implementation of the protocols.

Use these to test a host integration without touching the file system, the
way httpx's ``MockTransport`` stands in for a network.  :func:`assemble_site`
turns a flat list of pages into the directory-shaped section tree that Hugo
and Bengal use.
"""

from __future__ import annotations

import bisect
import operator
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, final

import attrs

from incrbuild.protocols import TocItem

__all__ = ["SimplePage", "SimpleSection", "SimpleSite", "SiteEdit", "assemble_site"]

#: The file name that makes a page its directory's section index.
INDEX_NAME = "_index.md"


@final
@attrs.define(eq=False)
class SimplePage:
    """A page held in memory; compared and hashed by identity, like a host's page object."""

    source_path: Path
    metadata: dict[str, Any] = attrs.field(factory=dict)
    toc_items: Sequence[TocItem] = attrs.field(factory=list)


@final
@attrs.define(eq=False)
class SimpleSection:
    """A section held in memory; ``pages`` excludes the index page."""

    path: Path | None
    pages: list[SimplePage] = attrs.field(factory=list)
    subsections: list[SimpleSection] = attrs.field(factory=list)
    index_page: SimplePage | None = None
    parent: SimpleSection | None = attrs.field(default=None, repr=False)


@final
@attrs.frozen
class SiteEdit:
    """What :meth:`SimpleSite.add_page` or :meth:`SimpleSite.remove_page` changed.

    ``section`` is the page's section (``None`` at the root level);
    ``sections_added`` / ``sections_removed`` are sections created for the page
    or pruned because they were left empty, outermost first.
    """

    page: SimplePage
    section: SimpleSection | None
    sections_added: tuple[SimpleSection, ...] = ()
    sections_removed: tuple[SimpleSection, ...] = ()


@final
@attrs.define(eq=False)
class SimpleSite:
    """A site held in memory: ``sections`` are the top-level ones.

    :meth:`add_page` and :meth:`remove_page` change it in place, in time
    proportional to the directory depth, keeping exactly the shape
    :func:`assemble_site` would give (sorted, no empty sections).
    """

    root_path: Path
    pages: list[SimplePage] = attrs.field(factory=list)
    sections: list[SimpleSection] = attrs.field(factory=list)

    def add_page(self, page: SimplePage) -> SiteEdit:
        """Insert *page* in path order, creating sections for its directory as needed."""
        bisect.insort(self.pages, page, key=_page_path)
        directory = page.source_path.parent
        if not self._in_a_section(directory):
            return SiteEdit(page, None)
        created: list[SimpleSection] = []
        parent: SimpleSection | None = None
        siblings = self.sections
        current = self.root_path
        for part in directory.relative_to(self.root_path).parts:
            current = current / part
            found = _find_section(siblings, current)
            if found is None:
                found = SimpleSection(path=current, parent=parent)
                bisect.insort(siblings, found, key=_section_path)
                created.append(found)
            parent = found
            siblings = found.subsections
        assert parent is not None
        if page.source_path.name == INDEX_NAME:
            parent.index_page = page
        else:
            bisect.insort(parent.pages, page, key=_page_path)
        return SiteEdit(page, parent, sections_added=tuple(created))

    def remove_page(self, source_path: Path) -> SiteEdit | None:
        """Remove the page at *source_path*, pruning sections left empty; ``None`` if absent."""
        at = bisect.bisect_left(self.pages, source_path, key=_page_path)
        if at == len(self.pages) or self.pages[at].source_path != source_path:
            return None
        page = self.pages.pop(at)
        directory = source_path.parent
        if not self._in_a_section(directory):
            return SiteEdit(page, None)
        section = self._section_at(directory)
        if section is None:
            return SiteEdit(page, None)
        if section.index_page is page:
            section.index_page = None
        else:
            section.pages.remove(page)
        pruned: list[SimpleSection] = []
        current: SimpleSection | None = section
        while (
            current is not None
            and not current.pages
            and current.index_page is None
            and not current.subsections
        ):
            parent = current.parent
            (self.sections if parent is None else parent.subsections).remove(current)
            pruned.append(current)
            current = parent
        return SiteEdit(page, section, sections_removed=tuple(reversed(pruned)))

    def _in_a_section(self, directory: Path) -> bool:
        return directory != self.root_path and self.root_path in directory.parents

    def _section_at(self, directory: Path) -> SimpleSection | None:
        siblings = self.sections
        found: SimpleSection | None = None
        current = self.root_path
        for part in directory.relative_to(self.root_path).parts:
            current = current / part
            found = _find_section(siblings, current)
            if found is None:
                return None
            siblings = found.subsections
        return found


def _page_path(page: SimplePage) -> Path:
    return page.source_path


def _section_path(section: SimpleSection) -> Path:
    return section.path or Path()


def _find_section(siblings: list[SimpleSection], path: Path) -> SimpleSection | None:
    at = bisect.bisect_left(siblings, path, key=_section_path)
    if at < len(siblings) and siblings[at].path == path:
        return siblings[at]
    return None


def assemble_site(
    root_path: Path,
    pages: Iterable[SimplePage],
    *,
    section_dirs: Iterable[Path] = (),
) -> SimpleSite:
    """Build a site whose sections mirror the directories below *root_path*.

    Every directory holding a page (or named in *section_dirs*) becomes a
    section, and so does each directory between it and *root_path*.  A page
    named ``_index.md`` becomes its directory's index page; the one directly
    under *root_path* stays a root-level page, as do other files there.
    Pages outside *root_path* are kept as root-level pages.
    """
    root = Path(root_path)
    page_list = list(pages)
    sections: dict[Path, SimpleSection] = {}

    def section_for(directory: Path) -> SimpleSection | None:
        found = sections.get(directory)  # first: the ancestry test below costs a Path per level
        if found is None:
            if directory == root or root not in directory.parents:
                return None
            found = SimpleSection(path=directory)
            sections[directory] = found
            parent = section_for(directory.parent)
            if parent is not None:
                found.parent = parent
                parent.subsections.append(found)
        return found

    for directory in sorted(Path(d) for d in section_dirs):
        section_for(directory)
    # Pages are grouped by their path's text: a Path per page (``.parent``) and its hash
    # cost more than the rest of the loop.  Each section's pages are sorted by the name
    # taken from that text, compared in C (``_name_order`` per page costs a Path's name).
    by_directory: dict[str, SimpleSection | None] = {}
    named: dict[SimpleSection, list[tuple[str, SimplePage]]] = {}  # sections hash by identity
    for page in page_list:
        folder, _, name = os.fspath(page.source_path).rpartition(os.sep)
        try:
            section = by_directory[folder]
        except KeyError:
            section = by_directory[folder] = section_for(page.source_path.parent)
        if section is None:
            continue
        if name == INDEX_NAME:
            section.index_page = page
        elif section in named:
            named[section].append((os.path.normcase(name), page))
        else:
            named[section] = [(os.path.normcase(name), page)]
    for section, members in named.items():
        members.sort(key=operator.itemgetter(0))
        section.pages.extend(page for _, page in members)
    for section in sections.values():
        section.subsections.sort(key=_name_order)
    top_level = sorted((s for s in sections.values() if s.parent is None), key=_name_order)
    return SimpleSite(root_path=root, pages=page_list, sections=top_level)


def _name_order(item: SimplePage | SimpleSection) -> str:
    """Order among siblings (one parent directory): ``Path`` order, compared by name alone."""
    path = item.source_path if isinstance(item, SimplePage) else item.path or Path()
    return os.path.normcase(path.name)  # pathlib folds case where the OS does
