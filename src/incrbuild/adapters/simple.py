"""Plain in-memory pages, sections and sites: the reference implementation of the protocols.

Use these to test a host integration without touching the file system, the
way httpx's ``MockTransport`` stands in for a network.  :func:`assemble_site`
turns a flat list of pages into the directory-shaped section tree that Hugo
and Bengal use.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, final

import attrs

from incrbuild.protocols import TocItem

__all__ = ["SimplePage", "SimpleSection", "SimpleSite", "assemble_site"]

#: The file name that makes a page its directory's section index.
INDEX_NAME = "_index.md"


@final
@attrs.define(eq=False)
class SimplePage:
    """A page held in memory; compared and hashed by identity, like a host's page object."""

    source_path: Path
    metadata: dict[str, Any] = attrs.field(factory=dict)
    toc_items: list[TocItem] = attrs.field(factory=list)


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
@attrs.define(eq=False)
class SimpleSite:
    """A site held in memory: ``sections`` are the top-level ones."""

    root_path: Path
    pages: list[SimplePage] = attrs.field(factory=list)
    sections: list[SimpleSection] = attrs.field(factory=list)


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
        if directory == root or root not in directory.parents:
            return None
        found = sections.get(directory)
        if found is None:
            found = SimpleSection(path=directory)
            sections[directory] = found
            parent = section_for(directory.parent)
            if parent is not None:
                found.parent = parent
                parent.subsections.append(found)
        return found

    for directory in sorted(Path(d) for d in section_dirs):
        section_for(directory)
    for page in page_list:
        section = section_for(page.source_path.parent)
        if section is None:
            continue
        if page.source_path.name == INDEX_NAME:
            section.index_page = page
        else:
            section.pages.append(page)
    for section in sections.values():
        section.pages.sort(key=lambda p: p.source_path)
        section.subsections.sort(key=lambda s: s.path or Path())
    top_level = sorted(
        (s for s in sections.values() if s.parent is None), key=lambda s: s.path or Path()
    )
    return SimpleSite(root_path=root, pages=page_list, sections=top_level)
