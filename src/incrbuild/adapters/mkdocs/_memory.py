"""What the plugin remembers of the last MkDocs build beside the engine's state.

The engine keeps fingerprints, recorded dependencies and outputs.  MkDocs needs
more to skip a page safely: the title its nav entry shows, its search index
entries, the nav as every page shows it, the configuration each key had, and
the files the build wrote (to delete what a rename or a delete left behind).
Stored as msgpack in ``<state_dir>/mkdocs.msgpack``; anything unreadable or
written for another engine commit reads as "no memory", which means a full build.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any, Final

import msgspec

__all__ = ["MEMORY_FILE_NAME", "BuildMemory", "PageMemory", "load_memory", "save_memory"]

MEMORY_FILE_NAME: Final = "mkdocs.msgpack"
#: Bumped whenever the layout or the meaning of a field changes.
MEMORY_VERSION: Final = 3


class PageMemory(msgspec.Struct, frozen=True):
    """One page as the last build saw it."""

    title: str | None
    """Its own title (metadata, first heading or file name; not a ``nav:`` title):
    what its nav entry, prev/next links and search entries show without one."""
    search: list[dict[str, Any]] = []
    """The entries the search plugin made of it, in order."""
    shown: dict[str, Any] = {}
    """Its metadata other pages show (Material's nav: ``icon``, ``subtitle``, ``status``)."""


class BuildMemory(msgspec.Struct):
    """Everything the plugin needs of the last successful build."""

    version: int = MEMORY_VERSION
    engine_commit: str = ""
    """The engine commit this memory belongs to; another one means "forget it"."""
    mkdocs_version: str = ""
    config: dict[str, str] = {}
    """Digest of each configuration key's value."""
    nav: str = ""
    """Digest of the navigation as the theme shows it (titles, URLs, structure)."""
    pages: dict[str, PageMemory] = {}
    """By source URI (``src_uri``)."""
    outputs: list[str] = []
    """Site-relative paths the build wrote."""
    site_dir: str = ""
    """The site directory's resolved path at the end of the build."""
    site_identity: tuple[int, int] | None = None
    """Its ``(st_dev, st_ino)`` then: a directory put back from elsewhere (a copy, a
    backup, another checkout's) at the same path is another directory, and what it
    holds is not what this memory describes."""
    stamps: dict[str, tuple[int, int, int]] = {}
    """Per output (site-relative path): ``(st_ino, st_size, st_mtime_ns)`` after the
    build, so an output changed or replaced behind the plugin's back is written again."""


def load_memory(state_dir: Path) -> BuildMemory | None:
    """Return the stored memory, or ``None`` when there is none or it cannot be trusted."""
    try:
        raw = (state_dir / MEMORY_FILE_NAME).read_bytes()
    except OSError:
        return None
    try:
        memory = msgspec.msgpack.decode(raw, type=BuildMemory)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return memory if memory.version == MEMORY_VERSION else None


def save_memory(state_dir: Path, memory: BuildMemory) -> None:
    """Write *memory* atomically (a reader sees the old file or the new one)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    data = msgspec.msgpack.encode(memory)
    handle, temporary = tempfile.mkstemp(dir=state_dir, prefix=".mkdocs-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, state_dir / MEMORY_FILE_NAME)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
