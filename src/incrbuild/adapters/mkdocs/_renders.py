"""What converting a page's Markdown produced, kept so the page can be rendered again
without converting it.

A page the nav change (a title edit, a ``nav:`` edit) or a template-visible setting
reaches must be rendered again, but its own Markdown, snippets and link targets did
not change: its HTML, TOC and metadata are those of the last conversion.  Each
converted page's result is stored in its own file (``<state_dir>/pages/``), written
before the engine commits, so an entry is never older than the commit that
trusts it; restoring one costs one read.  A page whose metadata does not survive
the round trip through msgpack unchanged (dates, custom YAML tags) is not stored,
and is simply converted when needed.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, final

import msgspec

__all__ = ["ConvertedPage", "RenderCache", "own_title"]


class ConvertedPage(msgspec.Struct, frozen=True):
    """One page's conversion: what templates and ``search`` read of it."""

    source: str
    """The source URI it belongs to (guards against a hash collision)."""
    title: str | None
    content: str
    toc: list[Any]
    meta: bytes
    """msgpack of the page's metadata, stored only if it decodes to an equal value."""
    anchors: list[str]
    inputs: list[str]
    """What the conversion read (snippets, link targets): the page's dependencies
    still, when it is rendered from here."""


@final
class RenderCache:
    """Per-page files under *directory*."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._encoder = msgspec.msgpack.Encoder()
        self._decoder = msgspec.msgpack.Decoder(ConvertedPage)

    def _path(self, src_uri: str) -> Path:
        name = hashlib.blake2b(src_uri.encode("utf-8", "surrogateescape"), digest_size=12)
        return self.directory / f"{name.hexdigest()}.msgpack"

    def store(self, page: Any, inputs: Iterable[Path], content: str | None = None) -> None:
        """Keep *page*'s conversion (*content*: its HTML as converted, if a renderer's
        event changed ``page.content`` since) and what it read, or forget the old one if
        this one cannot be kept."""
        path = self._path(page.file.src_uri)
        entry = _entry(page, inputs, content)
        if entry is None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(self._encoder.encode(entry))
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise

    def restore(self, page: Any) -> tuple[Path, ...] | None:
        """Give *page* its stored conversion and return what that conversion read;
        ``None`` if there is none to trust."""
        try:
            entry = self._decoder.decode(self._path(page.file.src_uri).read_bytes())
        except (OSError, msgspec.DecodeError, msgspec.ValidationError):
            return None
        if entry.source != page.file.src_uri:
            return None
        from mkdocs.structure.toc import TableOfContents

        page.content = entry.content
        page.toc = TableOfContents([_anchor(item) for item in entry.toc])
        page.meta = msgspec.msgpack.decode(entry.meta)
        page.present_anchor_ids = set(entry.anchors)
        if "title" not in vars(page):
            page.title = entry.title
        return tuple(Path(p) for p in entry.inputs)


def _entry(page: Any, inputs: Iterable[Path], content: str | None) -> ConvertedPage | None:
    content = page.content if content is None else content
    if content is None:
        return None
    try:
        meta = msgspec.msgpack.encode(page.meta)
        if msgspec.msgpack.decode(meta) != page.meta:
            return None
    except (TypeError, ValueError, msgspec.EncodeError):
        return None
    title = own_title(page)
    if title is None:
        return None
    return ConvertedPage(
        source=page.file.src_uri,
        title=title,
        content=content,
        toc=[_plain_anchor(item) for item in page.toc],
        meta=meta,
        anchors=sorted(page.present_anchor_ids or ()),
        inputs=sorted(os.fspath(p) for p in inputs),
    )


def own_title(page: Any) -> str | None:
    """The title *page* has of itself (metadata, first heading, file name), not a ``nav:``
    title set on it: what a nav without a title for it will show."""
    descriptor = inspect.getattr_static(type(page), "title", None)
    compute = getattr(descriptor, "func", None)
    if compute is None:
        return None
    title = compute(page)
    return title if isinstance(title, str) else None


def _plain_anchor(item: Any) -> list[Any]:
    return [
        item.title,
        item.id,
        item.level,
        bool(getattr(item, "active", False)),
        [_plain_anchor(child) for child in item.children],
    ]


def _anchor(data: list[Any]) -> Any:
    from mkdocs.structure.toc import AnchorLink

    title, anchor_id, level, active, children = data
    item = AnchorLink(title, anchor_id, level)
    if active:
        item.active = True  # type: ignore[attr-defined]  # as get_toc marks the first
    item.children = [_anchor(child) for child in children]
    return item
