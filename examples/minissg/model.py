"""The site as minissg sees it: effective front matter, URLs, listings, tags and neighbours.

Everything here is computed from the site model incrbuild's files adapter
loaded (page paths and their raw front matter), so building it reads no page
source: the builder reads only the sources of the pages it renders.

Conventions (Hugo-like):

- ``content/_index.md`` is the home page; ``dir/_index.md`` is the section
  page of ``dir``; any other ``.md`` file is a regular page.
- A page's *effective* front matter is its own front matter over the
  ``cascade`` tables of the ``_index.md`` pages of the sections enclosing it,
  nearest first (the home page's cascade reaches every page but itself).  A
  section page's own cascade reaches its descendants, not itself.  So a page
  that names no ``tags`` gets those of the nearest cascade that sets them
  (incrbuild's taxonomy follows the same rule).
- URLs follow source paths: ``docs/intro.md`` is ``/docs/intro/``,
  ``docs/_index.md`` is ``/docs/``; tag pages live under ``/tags/``, so no
  section or root-level page may be called ``tags``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from incrbuild import IndexRegistry, PageLike, SectionLike, navigation_order_key, tags_from_metadata

__all__ = ["INDEX_NAME", "TAGS_DIR", "Entry", "SiteModel", "output_for_url", "slugify"]

#: The file name of a section's (or, at the root, the home page's) source.
INDEX_NAME = "_index.md"
#: The URL segment under which tag pages live.
TAGS_DIR = "tags"

_SLUG_JUNK = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    """Return *text* as a URL segment: lower case ASCII letters and digits joined by ``-``."""
    slug = _SLUG_JUNK.sub("-", text.lower()).strip("-")
    return slug or "-"


def output_for_url(url: str) -> str:
    """Return the output file that serves *url*: ``/a/b/`` is ``a/b/index.html``."""
    stripped = url.strip("/")
    return f"{stripped}/index.html" if stripped else "index.html"


@attrs.frozen
class Entry:
    """One line of a listing: what a section, tag or prev/next link shows of a page."""

    title: str
    url: str
    date: str = ""


class SiteModel:
    """Read-only views of one generation of the site, computed lazily and cached.

    *registry* is the engine's shared :class:`~incrbuild.IndexRegistry` of the
    site it loaded; the model never touches the file system.
    """

    def __init__(self, registry: IndexRegistry) -> None:
        self.registry = registry
        self.root = registry.site.root_path
        self._effective: dict[Path, dict[str, Any]] = {}
        self._root_pages: list[PageLike] | None = None
        self._terms: dict[str, list[PageLike]] | None = None

    # -- pages ----------------------------------------------------------------------

    def page(self, path: Path) -> PageLike | None:
        """Return the page whose source is *path*, or ``None``."""
        return self.registry.page_for(path)

    def is_index(self, path: Path) -> bool:
        """Tell whether *path* is a section page or the home page."""
        return path.name == INDEX_NAME

    def effective(self, path: Path) -> Mapping[str, Any]:
        """Return the page's own front matter over the cascades that reach it."""
        found = self._effective.get(path)
        if found is not None:
            return found
        page = self.page(path)
        if page is None:
            return {}
        merged: dict[str, Any] = {}
        for directory in self._enclosing_dirs(path):
            index = self.page(directory / INDEX_NAME)
            cascade = index.metadata.get("cascade") if index is not None else None
            if isinstance(cascade, Mapping):
                for key, value in cascade.items():
                    merged.setdefault(str(key), value)
        merged.update(page.metadata)
        self._effective[path] = merged
        return merged

    def _enclosing_dirs(self, path: Path) -> list[Path]:
        """The directories whose ``_index.md`` cascade reaches *path*, nearest first."""
        start = path.parent.parent if self.is_index(path) else path.parent
        if self.is_index(path) and path.parent == self.root:
            return []
        dirs: list[Path] = []
        current = start
        while True:
            dirs.append(current)
            if current == self.root or self.root not in current.parents:
                break
            current = current.parent
        return dirs

    def title_of(self, path: Path) -> str:
        """Return the page's effective title, or a name derived from its path."""
        title = self.effective(path).get("title")
        if title is not None:
            return str(title)
        if self.is_index(path):
            return self.section_name(path.parent)
        return path.stem

    def section_name(self, directory: Path) -> str:
        """Return the name shown for a section without a title: its directory name."""
        return "Home" if directory == self.root else directory.name

    def date_of(self, path: Path) -> str:
        """Return the page's effective date as text (empty when it has none)."""
        date = self.effective(path).get("date")
        return "" if date is None else str(date)

    def tags_of(self, path: Path) -> list[str]:
        """Return the page's effective tags, sorted."""
        return sorted(tags_from_metadata(self.effective(path)))

    def order_key(self, path: Path) -> tuple[Any, ...]:
        """The listing and prev/next order: incrbuild's default navigation key."""
        return navigation_order_key(self.effective(path), path)

    def entry(self, path: Path) -> Entry:
        """Return how listings show the page at *path*."""
        return Entry(self.title_of(path), self.url_of(path), self.date_of(path))

    # -- URLs ------------------------------------------------------------------------

    def url_of(self, path: Path) -> str:
        """Return the URL of the page whose source is *path*."""
        relative = path.relative_to(self.root)
        if self.is_index(path):
            return self.section_url(path.parent)
        return "/" + relative.with_suffix("").as_posix() + "/"

    def section_url(self, directory: Path) -> str:
        """Return the URL of the listing of *directory* (``/`` for the content root)."""
        if directory == self.root:
            return "/"
        return "/" + directory.relative_to(self.root).as_posix() + "/"

    @staticmethod
    def term_url(tag: str) -> str:
        """Return the URL of the page listing the pages tagged *tag*."""
        return f"/{TAGS_DIR}/{slugify(tag)}/"

    # -- sections ----------------------------------------------------------------------

    def section(self, directory: Path) -> SectionLike | None:
        """Return the section whose directory is *directory* (``None`` for the root)."""
        return self.registry.section_by_path(directory)

    def section_exists(self, directory: Path) -> bool:
        """Tell whether *directory* has a listing: the root always, a directory with pages."""
        return directory == self.root or self.section(directory) is not None

    def has_index(self, directory: Path) -> bool:
        """Tell whether *directory*'s listing is rendered from an ``_index.md`` page."""
        return self.page(directory / INDEX_NAME) is not None

    def section_dirs(self) -> list[Path]:
        """Every directory with a listing: the root and every section, sorted."""
        dirs = [s.path for s in self.registry.sections if s.path is not None]
        return [self.root, *sorted(dirs)]

    def member_paths(self, directory: Path) -> list[Path]:
        """The regular pages directly in *directory*, in listing order."""
        if directory == self.root:
            pages: Sequence[PageLike] = self._root_level_pages()
        else:
            section = self.section(directory)
            pages = section.pages if section is not None else ()
        paths = [p.source_path for p in pages if not self.is_index(p.source_path)]
        return sorted(paths, key=self.order_key)

    def _root_level_pages(self) -> list[PageLike]:
        if self._root_pages is None:
            registry = self.registry
            self._root_pages = [p for p in registry.site.pages if registry.is_root_level(p)]
        return self._root_pages

    def subsection_dirs(self, directory: Path) -> list[Path]:
        """The sections directly below *directory*, in listing order (by their index pages)."""
        if directory == self.root:
            children: Sequence[SectionLike] = self.registry.site.sections
        else:
            section = self.section(directory)
            children = section.subsections if section is not None else ()
        dirs = [child.path for child in children if child.path is not None]
        return sorted(dirs, key=lambda d: self.order_key(d / INDEX_NAME))

    def section_entry(self, directory: Path) -> Entry:
        """Return how a listing shows the section *directory*."""
        index = directory / INDEX_NAME
        if self.page(index) is not None:
            return self.entry(index)
        return Entry(self.section_name(directory), self.section_url(directory))

    def neighbours(self, path: Path) -> tuple[Entry | None, Entry | None]:
        """Return the entries of the previous and next pages of *path* in its listing."""
        members = self.member_paths(path.parent)
        if path not in members:
            return None, None
        at = members.index(path)
        before = self.entry(members[at - 1]) if at > 0 else None
        after = self.entry(members[at + 1]) if at + 1 < len(members) else None
        return before, after

    def crumb_sources(self, path: Path) -> list[Path]:
        """The ``_index.md`` paths (existing or not) of the sections above *path*, root first."""
        directory = path.parent.parent if self.is_index(path) else path.parent
        if self.is_index(path) and path.parent == self.root:
            return []
        crumbs = [directory / INDEX_NAME]
        while directory != self.root and self.root in directory.parents:
            directory = directory.parent
            crumbs.append(directory / INDEX_NAME)
        return crumbs[::-1]

    # -- tags --------------------------------------------------------------------------

    def terms(self) -> dict[str, list[PageLike]]:
        """Every tag of a page's effective front matter, with its pages in listing order."""
        if self._terms is None:
            found: dict[str, list[PageLike]] = {}
            for page in self.registry.site.pages:
                for tag in self.tags_of(page.source_path):
                    found.setdefault(tag, []).append(page)
            for pages in found.values():
                pages.sort(key=lambda p: self.order_key(p.source_path))
            self._terms = found
        return self._terms

    # -- links ----------------------------------------------------------------------------

    def resolve_link(self, source: Path, href: str) -> tuple[Path, str] | None:
        """Resolve a Markdown link to a page source: ``(target path, #fragment)`` or ``None``.

        Only relative links to ``.md`` files are page links; ``/x.md`` is
        relative to the content root, anything else to the linking page's
        directory.  The target need not exist.
        """
        if "://" in href or href.startswith(("#", "mailto:")):
            return None
        target, hash_mark, fragment = href.partition("#")
        if not target.endswith(".md"):
            return None
        base = "" if target.startswith("/") else source.parent.relative_to(self.root).as_posix()
        joined = posixpath.normpath(posixpath.join(base, target.lstrip("/")))
        if joined.startswith("../") or joined == "..":
            return None
        return self.root / joined, hash_mark + fragment
