"""Paths at the public boundary: what a host hands in is made absolute, once, on arrival.

incrbuild keys everything it stores and compares by path, so one file must have
one spelling.  The rule (documented in :mod:`incrbuild.protocols`):

- A path the host *passes as an argument* (a content or state directory,
  global inputs, the files a render read, watcher events, failed pages) may be
  relative: it is taken relative to the working directory **at the time of
  that call**, as :func:`open` would, and made absolute at once.  A later
  ``chdir`` cannot change what it names.
- A path the host's *site model* carries (``SiteLike.root_path``,
  ``PageLike.source_path``) must already be absolute: incrbuild never mutates
  or re-spells host objects, and a relative one would name another file after
  a ``chdir``.  :func:`require_absolute` refuses it with a clear message.

Absolute means lexically absolute (:func:`os.path.abspath`): ``.`` and ``..``
are collapsed but symbolic links are *not* resolved, so a content directory
reached through a link keeps the name the host and the file watcher use.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

__all__ = ["absolute", "require_absolute"]

_POSIX_PATH: Final = type(Path()) if os.sep == "/" else None


def absolute(path: Path | str) -> Path:
    """Return *path* made absolute against the current working directory, links kept."""
    if type(path) is _POSIX_PATH:
        # The common case, on the path's text (its parts cost a tuple a path): pathlib
        # already dropped "." and doubled slashes, and a ".." part shows as "/..".
        text = str(path)
        if text.startswith("/") and "/.." not in text:
            return path
    if isinstance(path, Path) and path.is_absolute() and ".." not in path.parts:
        return path
    return Path(os.path.abspath(os.fspath(path)))


def require_absolute(path: Path, what: str) -> Path:
    """Return *path* if absolute; raise :class:`ValueError` naming *what* otherwise."""
    if not Path(path).is_absolute():
        raise ValueError(
            f"{what} {os.fspath(path)!r} is relative: incrbuild needs the site model's paths "
            "absolute (it cannot know which working directory they were relative to); "
            "load the site from an absolute directory, e.g. Path('content').absolute()"
        )
    return path
