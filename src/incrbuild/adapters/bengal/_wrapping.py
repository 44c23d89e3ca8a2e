"""Wrapping: a Bengal ``Site`` presented as incrbuild's protocols, without importing Bengal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, final

from incrbuild.protocols import PageLike, SectionLike, is_generated

__all__ = ["BengalSite", "discovery_order_key", "is_virtual"]


def is_virtual(page: PageLike) -> bool:
    """Tell whether *page* has no source file of its own (generated, autodoc or virtual)."""
    return bool(getattr(page, "virtual", False)) or is_generated(page)


@final
class BengalSite:
    """A Bengal ``Site`` presented as a :class:`~incrbuild.SiteLike`, without copying it.

    ``root_path`` is the content directory (Bengal's own ``root_path`` is the
    project directory).  ``pages``, ``sections`` and ``page_by_source_path``
    are Bengal's own objects, whether its version keeps them in lists or
    tuples; the :class:`~incrbuild.IndexRegistry` borrows the latter rather
    than building a second page index.
    """

    def __init__(self, site: Any, *, content_dir: Path | str | None = None) -> None:
        self.bengal = site
        if content_dir is None:
            content_dir = getattr(site, "content_dir", None) or Path(site.root_path) / "content"
        self._root = Path(content_dir)

    def __repr__(self) -> str:
        return f"BengalSite({self._root})"

    @property
    def root_path(self) -> Path:
        """The content directory every page source and section lives under."""
        return self._root

    @property
    def project_root(self) -> Path:
        """Bengal's project directory (where its configuration lives)."""
        return Path(self.bengal.root_path)

    @property
    def pages(self) -> Sequence[PageLike]:
        """Bengal's page sequence, generated pages included once Bengal made them."""
        pages: Sequence[PageLike] = self.bengal.pages
        return pages

    @property
    def sections(self) -> Sequence[SectionLike]:
        """Bengal's top-level sections."""
        sections: Sequence[SectionLike] = self.bengal.sections
        return sections

    @property
    def page_by_source_path(self) -> Mapping[Path, PageLike]:
        """Bengal's shared ``{source_path: page}`` index (built by Bengal, kept by Bengal)."""
        index = getattr(self.bengal, "page_by_source_path", None)
        if isinstance(index, Mapping):
            return index
        # Older or stand-in sites without the index: one pass, as Bengal itself would do.
        return {page.source_path: page for page in self.pages}


def discovery_order_key(path: Path, content_dir: Path) -> tuple[tuple[int, str], ...]:
    """Sort key of *path* in the order Bengal discovers pages (``site.pages`` of a cold build).

    Bengal lists each directory in name order; at the top level files and
    directories interleave by name, below it a directory's subdirectories come
    before its own files.  Paths outside *content_dir* (generated pages) sort last.
    """
    try:
        parts = path.relative_to(content_dir).parts
    except ValueError:
        return ((2, path.as_posix()),)
    if len(parts) == 1:
        return ((0, parts[0]),)
    middle = tuple((0, part) for part in parts[1:-1])
    return ((0, parts[0]), *middle, (1, parts[-1]))
