"""The low-level tier: the change detector and the state store the engine is built on.

Most hosts need only :mod:`incrbuild`; these are for tools that detect
changes without planning (benchmarks, diagnostics) or inspect what a commit
stored.  They are public and documented, but their shape follows the storage
format and may change with it.
"""

from __future__ import annotations

from incrbuild._detect import ChangeDetector, Detection, content_digest
from incrbuild._state import DirRecord, FileRecord, State, StateStore

__all__ = [
    "ChangeDetector",
    "Detection",
    "DirRecord",
    "FileRecord",
    "State",
    "StateStore",
    "content_digest",
]
