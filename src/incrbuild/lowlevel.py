"""The low-level tier: the change detector and the state store the engine is built on.

Most hosts need only :mod:`incrbuild`; these are for tools that detect
changes without planning (benchmarks, diagnostics) or inspect what a commit
stored.  They are public and documented, but their shape follows the storage
format and may change with it.  An :class:`~incrbuild.Engine` keeps its own
detector and store private; :func:`detector_of`, :func:`store_of` and
:func:`state_of` hand them to such tools without widening the engine's facade.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from incrbuild._detect import ChangeDetector, Detection, content_digest
from incrbuild._state import DirRecord, FileRecord, State, StateStore

if TYPE_CHECKING:
    from incrbuild._engine import Engine

__all__ = [
    "ChangeDetector",
    "Detection",
    "DirRecord",
    "FileRecord",
    "State",
    "StateStore",
    "content_digest",
    "detector_of",
    "state_of",
    "store_of",
]


def detector_of(engine: Engine) -> ChangeDetector:
    """The change detector *engine* plans with (its content root, exclusions and mode)."""
    return engine._detector


def store_of(engine: Engine) -> StateStore:
    """The state store *engine* commits to."""
    return engine._store


def state_of(engine: Engine) -> State:
    """The last state *engine* committed, as it holds it (re-read if the store changed on disk).

    The engine's own object: changing it changes what the engine plans against.
    """
    return engine._load_state()
