"""What each page read while MkDocs built it: templates, snippets and link targets.

A page's output depends on more than its source: the theme templates its
render loaded (``extends``, ``include``, ``import``), the files
``pymdownx.snippets`` pasted into it, and which documentation files its relative
links found.  :class:`ReadRecorder` collects these for the page being built, as
*candidate* paths: every place a name was looked up until it was found, so a file
created where a lookup missed (an ``overrides/`` template shadowing the theme's,
a snippet in an earlier base path, a link target) changes the page too.

Markdown extensions have no event a plugin could see, and some read files of their
own (``markdown-include``, ``mdx_include``, home-grown ones).  So while a build runs,
:meth:`ReadRecorder.watching_opens` also records every file a page's conversion or
render opens for reading through ``open`` (including ``io.open`` and
``pathlib.Path.open``), found or not.
"""

from __future__ import annotations

import builtins
import io
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, final

__all__ = ["ReadRecorder", "opened_for_reading", "template_candidates"]

_WRITING: frozenset[str] = frozenset("wax+")


def opened_for_reading(file: object, mode: object) -> str | None:
    """The absolute path ``open(file, mode)`` reads, or ``None`` (a descriptor, a write)."""
    if not isinstance(mode, str) or _WRITING.intersection(mode):
        return None
    if isinstance(file, int) or not isinstance(file, str | bytes | os.PathLike):
        return None
    try:
        name = os.fsdecode(file)
    except (TypeError, ValueError):
        return None
    return os.path.abspath(name)


def template_candidates(name: str, search_path: Sequence[str]) -> tuple[Path, ...]:
    """The files a ``FileSystemLoader`` over *search_path* tries for *name*, up to the one found."""
    tried: list[Path] = []
    for directory in search_path:
        candidate = Path(directory, *name.split("/"))
        tried.append(candidate)
        if candidate.is_file():
            break
    return tuple(tried)


@final
class ReadRecorder:
    """Collects the inputs of the page MkDocs is building, by source URI."""

    def __init__(self, docs_dir: Path) -> None:
        self.docs_dir = docs_dir
        self.current: str | None = None
        self.reads: dict[str, set[Path]] = {}
        #: What each page's Markdown conversion read, by source URI.
        self.conversions: dict[str, set[Path]] = {}
        self._template_cache: dict[str, tuple[Path, ...]] = {}
        # Template names already recorded for the current page: the nav template is
        # loaded once per nav entry, so the check must be one set lookup.
        self._names: set[str] = set()

    def begin_conversion(self, src_uri: str) -> None:
        """Attribute what follows to the Markdown conversion of *src_uri*, afresh."""
        self.current = src_uri
        self._names = set()
        self.reads[src_uri] = set()

    def end_conversion(self) -> None:
        """The conversion is over: what it read is kept apart (see :attr:`conversions`)."""
        if self.current is not None:
            self.conversions[self.current] = set(self.reads[self.current])
        self.current = None

    def begin_render(self, src_uri: str) -> None:
        """Attribute what follows to the render of *src_uri*, after its conversion's reads
        (this build's, or those restored with a stored conversion)."""
        self.current = src_uri
        self._names = set()
        self.reads[src_uri] = set(self.conversions.get(src_uri, ()))

    def end(self) -> None:
        """Stop attributing reads to a page."""
        self.current = None

    def add(self, paths: Iterator[Path] | Sequence[Path]) -> None:
        """Attribute *paths* to the current page (ignored between pages)."""
        if self.current is not None:
            self.reads[self.current].update(paths)

    def add_template(self, name: str, search_path: Sequence[str]) -> None:
        """Record the candidates of template *name* for the current page."""
        if self.current is None or name in self._names:
            return
        self._names.add(name)
        found = self._template_cache.get(name)
        if found is None:
            found = self._template_cache[name] = template_candidates(name, search_path)
        self.reads[self.current].update(found)

    def add_link(self, target_uri: str) -> None:
        """Record that the current page looked up documentation file *target_uri*."""
        if self.current is not None and target_uri and not target_uri.startswith("../"):
            self.reads[self.current].add(self.docs_dir.joinpath(*target_uri.split("/")))

    # -- hooks into Jinja, MkDocs's Files and pymdownx.snippets ----------------------------

    def watch_environment(self, env: Any) -> None:
        """Record every template *env* loads while a page renders (instance-level wrappers)."""
        search_path = list(getattr(env.loader, "searchpath", ()) or ())
        get_template = env.get_template
        select_template = env.select_template

        def recorded_get_template(name: Any, *args: Any, **kwargs: Any) -> Any:
            if self.current is not None and name not in self._names and isinstance(name, str):
                self.add_template(name, search_path)
            return get_template(name, *args, **kwargs)

        def recorded_select_template(names: Any, *args: Any, **kwargs: Any) -> Any:
            for name in names if not isinstance(names, str) else (names,):
                if isinstance(name, str):
                    self.add_template(name, search_path)
            return select_template(names, *args, **kwargs)

        env.get_template = recorded_get_template
        env.select_template = recorded_select_template
        self.search_path = search_path

    def watch_files(self, files: Any) -> None:
        """Record the documentation paths looked up in *files* (relative link resolution)."""
        lookup: Callable[[str], Any] = files.get_file_from_path

        def recorded_lookup(path: str) -> Any:
            self.add_link(path)
            return lookup(path)

        files.get_file_from_path = recorded_lookup

    @contextmanager
    def watching_opens(self, *, ignore: Sequence[Path]) -> Iterator[None]:
        """Record the files opened for reading by this thread while a page is current.

        Opens that fail are recorded too: a file created where a read missed changes the
        page.  Paths below *ignore* (the site and state directories) are not inputs.
        Other threads (``mkdocs serve``'s HTTP server) are not the build's.
        """
        original = builtins.open
        builder = threading.get_ident()
        ignored = tuple(os.path.join(os.path.abspath(p), "") for p in ignore)
        recorder = self

        def recorded_open(file: Any, mode: Any = "r", *args: Any, **kwargs: Any) -> Any:
            if recorder.current is not None and threading.get_ident() == builder:
                path = opened_for_reading(file, mode)
                if path is not None and not path.startswith(ignored):
                    recorder.reads[recorder.current].add(Path(path))
            return original(file, mode, *args, **kwargs)

        builtins.open = io.open = recorded_open
        try:
            yield
        finally:
            builtins.open = io.open = original

    @contextmanager
    def watching_snippets(self) -> Iterator[None]:
        """Record the files ``pymdownx.snippets`` looks up, while the block runs."""
        try:
            from pymdownx.snippets import SnippetPreprocessor
        except ImportError:
            yield
            return
        original = SnippetPreprocessor.get_snippet_path
        recorder = self

        def recorded_get_snippet_path(processor: Any, path: str) -> Any:
            found = original(processor, path)
            tried: list[Path] = []
            for base, is_dir in processor.get_bases():
                candidate = Path(os.path.join(base, path)) if is_dir else Path(base)
                tried.append(candidate)
                if found is not None and os.path.abspath(found) == str(candidate):
                    break
            recorder.add(tried)
            return found

        SnippetPreprocessor.get_snippet_path = recorded_get_snippet_path
        try:
            yield
        finally:
            SnippetPreprocessor.get_snippet_path = original
