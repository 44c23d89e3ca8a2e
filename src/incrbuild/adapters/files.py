"""Read a content tree in the Hugo/Bengal layout into :mod:`incrbuild.adapters.simple` objects.

Directories are sections, ``_index.md`` is a section's index page, and each
page may open with YAML (``---``) or TOML (``+++``) front matter.  Hidden
files and directories (a leading ``.``) are skipped.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, final

import attrs

from incrbuild._detect import ChangeSet, DetectionMode, default_ignore
from incrbuild._engine import Engine
from incrbuild._errors import SourceError
from incrbuild._loading import LoadResult
from incrbuild._paths import absolute

if TYPE_CHECKING:
    # The site model is imported when a site is built: a no-op plan builds none.
    from incrbuild.adapters.simple import SimplePage, SimpleSite, SiteEdit

__all__ = [
    "PAGE_SUFFIXES",
    "ChangedPageBytes",
    "FilesLoader",
    "is_page_source",
    "load_site",
    "open_engine",
    "read_page",
    "walk_content",
]

#: File suffixes read as pages; other files are assets (still tracked for changes).
PAGE_SUFFIXES = frozenset({".md", ".markdown"})
_PAGE_SUFFIX_TUPLE: Final = tuple(sorted(PAGE_SUFFIXES))


def is_page_source(path: Path) -> bool:
    """Tell whether *path* names a page source by its suffix."""
    return path.suffix.lower() in PAGE_SUFFIXES


def _is_page_text(text: str) -> bool:
    """:func:`is_page_source` of the path whose text is *text*, with no ``Path`` property.

    The suffix is taken as ``Path.suffix`` takes it: from the last dot of the last
    name, unless that name starts or ends with it.
    """
    name = text[text.rfind(os.sep) + 1 :]
    dot = name.rfind(".")
    return 0 < dot < len(name) - 1 and name[dot:].lower() in PAGE_SUFFIXES


def walk_content(root: Path) -> tuple[list[Path], list[Path]]:
    """List ``(page files, directories)`` below *root*, sorted, skipping ignored entries.

    Symbolic links to files are followed; links to directories are not (so a
    link loop cannot trap the walk).
    """
    pages: list[Path] = []
    directories: list[Path] = []
    stack = [str(absolute(root))]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as entries:
                listed = sorted(entries, key=lambda e: e.name)
        except OSError as error:
            raise SourceError(Path(current), f"cannot list directory: {error.strerror}") from None
        for entry in listed:
            if default_ignore(entry.name):
                continue
            if entry.is_dir(follow_symlinks=False):
                directories.append(Path(entry.path))
                stack.append(entry.path)
            elif is_page_source(Path(entry.name)) and _is_file_or_unknown(entry):
                pages.append(Path(entry.path))
    pages.sort(key=_PATH_ORDER)
    directories.sort(key=_PATH_ORDER)
    return pages, directories


def _is_file_or_unknown(entry: os.DirEntry[str]) -> bool:
    """A file, or a link whose target cannot be stat'ed for another reason than being gone.

    A link loop (ELOOP) or an unreadable target is kept as a page, so that reading
    it reports a clear :class:`SourceError` for that file, as the detector does.
    """
    try:
        return entry.is_file()
    except OSError:
        return True


def _path_text_order(path: Path) -> str:
    """``Path`` order as one string: each separator made NUL, below any character of a name.

    Comparing these strings compares the parts in turn, as ``Path`` does (where POSIX
    names hold no NUL), but in one C comparison: sorting 100,000 paths listed in no
    particular order by their parts' tuples cost a cold build several percent.
    """
    return str(path).replace("/", "\0")


#: Sorts paths as ``Path`` orders them (on Windows, by ``Path`` itself: it folds case).
_PATH_ORDER: Final = None if os.name == "nt" else _path_text_order


def read_page(path: Path, *, raw: bytes | None = None) -> tuple[dict[str, Any], str]:
    """Read one page source: ``(metadata, body)``; a clear :class:`SourceError` if it cannot.

    *raw*, if given, is the file's bytes, already read (by the change detector).
    """
    # Imported here: YAML and TOML parsers cost a no-op plan, which reads no page, 20 ms.
    from incrbuild._frontmatter import parse_front_matter

    return _parse_page(path, raw, parse_front_matter)


#: A front matter parser: ``(text, path) -> (metadata, body)``.
_Parser = Callable[[str, Path], tuple[dict[str, Any], str]]


def _parse_page(path: Path, raw: bytes | None, parse: _Parser) -> tuple[dict[str, Any], str]:
    """:func:`read_page` with the front matter parser given (see ``FilesLoader``)."""
    if raw is None:
        try:
            raw = path.read_bytes()
        except OSError as error:
            raise SourceError(path, f"cannot read: {error.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SourceError(path, f"not UTF-8 text (byte {error.start})") from None
    return parse(text.replace("\r\n", "\n"), path)


def load_site(
    content_dir: Path | str,
    *,
    known_metadata: Mapping[Path, Mapping[str, Any]] | None = None,
    page_files: Iterable[Path] | None = None,
    read: Callable[[Path], Mapping[str, Any]] | None = None,
) -> SimpleSite:
    """Load the content tree under *content_dir* as a :class:`SimpleSite`.

    Sections are the directories that hold pages (and the directories between
    them and the root).  Pass *page_files* to skip the walk and
    *known_metadata* to reuse front matter read before (pages not in it are
    read from disk): this is how a warm build reads only what changed.
    *read* replaces the default reader, e.g. to count reads.
    """
    root = absolute(content_dir)  # paths in the site are absolute, whatever the cwd later
    if not root.is_dir():
        raise SourceError(root, "content directory does not exist")
    if page_files is None:
        page_files, _ = walk_content(root)
    else:
        page_files = map(absolute, page_files)
    reader = read if read is not None else _read_metadata
    known = known_metadata or {}

    def metadata_of(path: Path) -> dict[str, Any]:
        metadata = known.get(path)
        return dict(reader(path) if metadata is None else metadata)

    return _assemble(root, page_files, metadata_of)


def _assemble(
    root: Path, page_files: Iterable[Path], metadata_of: Callable[[Path], dict[str, Any]]
) -> SimpleSite:
    """The site of *page_files* (absolute), in path order, each with ``metadata_of(path)``.

    The dictionary *metadata_of* returns becomes the page's own.
    """
    from incrbuild.adapters.simple import SimplePage, assemble_site

    pages = [SimplePage(path, metadata_of(path)) for path in sorted(page_files, key=_PATH_ORDER)]
    return assemble_site(root, pages)


def _read_metadata(path: Path) -> Mapping[str, Any]:
    return read_page(path)[0]


def _not_kept(path: Path) -> bytes | None:
    """No bytes kept for *path*: the loader reads the file."""
    return None


@final
class ChangedPageBytes:
    """Bytes of changed page sources the change detector read, until the loader parses them.

    A cold build thus reads each page once: the detector hashes its bytes and hands
    them here (only added and modified files, so a no-op keeps nothing), and the
    loader takes them instead of opening the file again.  Whatever the loader did
    not take is dropped after each of its calls.
    """

    __slots__ = ("_data",)

    def __init__(self) -> None:
        self._data: dict[str, bytes] = {}

    def keep(self, where: str, data: bytes) -> None:
        """Keep *data*, the bytes of the file at *where*, if it is a page source."""
        if where.lower().endswith(_PAGE_SUFFIX_TUPLE):
            self._data[where] = data

    def take(self, path: Path) -> bytes | None:
        """The kept bytes of *path*, forgotten as they are handed out (``None``: not kept)."""
        return self._data.pop(os.fspath(path), None)

    def clear(self) -> None:
        """Drop everything kept."""
        self._data.clear()


@attrs.define
class FilesLoader:
    """A :class:`~incrbuild.SiteLoader` for a content tree: re-reads only changed pages.

    :meth:`load` is the hook the engine calls; calling the loader returns just the site.

    After its first call it patches the site it returned last time in place:
    modified pages get fresh metadata (``last_refreshed``), added and removed
    pages are inserted and taken out (``last_edits``, ``last_removed``), all in
    proportion to the change.  The first call assembles the site from stored
    metadata and fresh reads.
    ``last_reads`` and ``total_reads`` count page sources read.  Pages that
    cannot be read or parsed are kept (with their last known metadata) and
    listed in ``last_errors``; the engine reports and rebuilds them.
    """

    content_dir: Path = attrs.field(converter=absolute)
    last_reads: int = 0
    total_reads: int = 0
    last_refreshed: tuple[SimplePage, ...] | None = None
    last_edits: tuple[SiteEdit, ...] = ()
    last_removed: tuple[SiteEdit, ...] = ()
    last_errors: dict[Path, str] = attrs.field(factory=dict)
    _site: SimpleSite | None = attrs.field(default=None, alias="_site", repr=False)
    _by_path: dict[Path, SimplePage] = attrs.field(factory=dict, alias="_by_path", repr=False)
    contents: ChangedPageBytes | None = attrs.field(default=None, repr=False)
    """Page bytes the detector already read (see :class:`ChangedPageBytes`), if wired."""

    def load(
        self, changes: ChangeSet, known_metadata: Mapping[Path, Mapping[str, Any]]
    ) -> LoadResult:
        """The :class:`~incrbuild.SiteLoader` hook: the site and what this call did to it."""
        site = self(changes, known_metadata)
        return LoadResult(
            site,
            pages_read=self.last_reads,
            errors=dict(self.last_errors),
            refreshed=self.last_refreshed,
            added=self.last_edits,
            removed=self.last_removed,
        )

    def __call__(
        self, changes: ChangeSet, known_metadata: Mapping[Path, Mapping[str, Any]]
    ) -> SimpleSite:
        """Return the current site, reading added and modified pages and reusing the rest."""
        errors = {path for path, _ in changes.errors}
        stale = changes.added | changes.modified | errors
        reads = 0
        self.last_errors = {}
        take = self.contents.take if self.contents is not None else _not_kept
        parse: _Parser | None = None

        def read(path: Path) -> dict[str, Any]:
            # A bad page must not stop the build: it keeps its last known front matter
            # (or none), and the error goes back to the engine, which rebuilds it.
            nonlocal reads, parse
            reads += 1
            if parse is None:  # imported once per call, and only if a page is read
                from incrbuild._frontmatter import parse_front_matter

                parse = parse_front_matter
            try:
                return _parse_page(path, take(path), parse)[0]
            except SourceError as error:
                self.last_errors[path] = str(error)
                return dict(known_metadata.get(path, {})) if path in known_metadata else {}

        try:
            by_path = self._by_path
            site = self._site
            self.last_edits = self.last_removed = ()
            if site is not None:
                # Patch the site we returned last time: O(changes), whatever the site's size.
                removed = []
                for path in sorted(p for p in changes.removed if p in by_path):
                    del by_path[path]
                    edit = site.remove_page(path)
                    if edit is not None:
                        removed.append(edit)
                from incrbuild.adapters.simple import SimplePage

                refreshed, added = [], []
                for path in sorted(stale):
                    page = by_path.get(path)
                    if page is not None:
                        page.metadata = read(path)
                        refreshed.append(page)
                    elif is_page_source(path):
                        page = SimplePage(path, read(path))
                        by_path[path] = page
                        added.append(site.add_page(page))
                self.last_refreshed = tuple(refreshed)
                self.last_removed = tuple(removed)
                self.last_edits = tuple(added)
                return site
            paths = {p for p in known_metadata if p not in changes.removed}
            paths.update(p for p in stale if _is_page_text(os.fspath(p)))

            def metadata_of(path: Path) -> dict[str, Any]:
                if path in stale or path not in known_metadata:
                    return read(path)
                return dict(known_metadata[path])

            root = self.content_dir
            if not root.is_dir():
                raise SourceError(root, "content directory does not exist")
            site = _assemble(root, map(absolute, paths), metadata_of)
            self._site = site
            self._by_path = {page.source_path: page for page in site.pages}
            self.last_refreshed = None
            return site
        finally:
            self.last_reads = reads
            self.total_reads += reads
            if self.contents is not None:
                self.contents.clear()  # bytes of files this call did not read: not kept


def open_engine(
    content_dir: Path | str,
    *,
    state_dir: Path | str | None = None,
    mode: DetectionMode = DetectionMode.STAT,
    taxonomies: Iterable[str] | None = None,
    **options: Any,
) -> Engine:
    """Return an :class:`~incrbuild.Engine` over a content tree that reads only changed pages.

    *taxonomies* are the front-matter keys whose terms have pages; by default
    those the site's configuration file declares (``hugo.toml``, ``config.yaml``,
    ``bengal.toml``... beside *content_dir*), else ``tags``.
    """
    root = absolute(content_dir)
    if taxonomies is None:
        from incrbuild.adapters._site_config import taxonomies_of_site

        taxonomies = taxonomies_of_site(root)
    contents = ChangedPageBytes()
    return Engine(
        loader=FilesLoader(root, contents=contents),
        content_dir=root,
        state_dir=state_dir,
        mode=mode,
        changed_contents=contents.keep,
        taxonomies=taxonomies,
        **options,
    )
