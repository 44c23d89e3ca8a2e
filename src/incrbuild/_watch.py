"""Watch mode: plan from file-watcher events in time proportional to them, without trusting silence.

Watchers lie by omission: watchfiles and watchdog drop inotify's overflow event,
and files created in a new directory before its watch exists are never
reported.  So a :class:`WatchSession` plans from events only while it has no
reason to doubt them, and falls back to a full scan at start-up, after any
watcher error, restart or overflow, for a suspiciously large batch, and when the
last full scan is older than ``rescan_interval``.  A new directory is scanned
whole by the event-driven detection itself.
"""

from __future__ import annotations

import collections
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Final, Protocol, final

import attrs

from incrbuild._engine import Engine
from incrbuild._plan import Plan

__all__ = [
    "ChangeBatch",
    "ChangeSource",
    "FakeChangeSource",
    "WatchSession",
    "WatchStats",
    "WatchfilesSource",
]

_STOP: Final = object()


def _is_within(path: str, directory: str) -> bool:
    """Tell whether *path* is *directory* or below it (both absolute, same spelling)."""
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


@final
@attrs.frozen
class ChangeBatch:
    """One settled batch from a watcher: the paths it reported, or why it lost track.

    An empty batch with no ``rescan`` is an idle tick (nothing happened).
    """

    paths: frozenset[Path] = frozenset()
    rescan: str | None = None


class ChangeSource(Protocol):
    """Where watch events come from: a blocking iterator of batches, and a way to stop it."""

    def batches(self) -> Iterator[ChangeBatch]:
        """Yield batches as files settle; return when the source is closed."""
        ...

    def close(self) -> None:
        """Stop the source; :meth:`batches` returns soon after."""
        ...


@final
class FakeChangeSource:
    """An in-memory change source: tests push batches, overflows and errors by hand."""

    def __init__(self) -> None:
        self._queue: queue.Queue[object] = queue.Queue()

    def push(self, *paths: Path | str) -> None:
        """Deliver one batch reporting *paths*."""
        self._queue.put(ChangeBatch(frozenset(Path(p) for p in paths)))

    def overflow(self, reason: str = "event queue overflow") -> None:
        """Deliver the signal a watcher gives when it lost events (or restarted)."""
        self._queue.put(ChangeBatch(rescan=reason))

    def fail(self, error: BaseException) -> None:
        """Make the watcher raise *error* (the session must rescan, not stop)."""
        self._queue.put(error)

    def idle(self) -> None:
        """Deliver an idle tick: a batch in which nothing happened."""
        self._queue.put(ChangeBatch())

    def close(self) -> None:
        """End :meth:`batches` after what was pushed so far."""
        self._queue.put(_STOP)

    def batches(self) -> Iterator[ChangeBatch]:
        """Yield what was pushed, in order; an error becomes a rescan batch."""
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if isinstance(item, BaseException):
                yield ChangeBatch(rescan=f"watcher error: {item!r}")
                continue
            assert isinstance(item, ChangeBatch)
            yield item


@final
class WatchfilesSource:
    """A change source on watchfiles (``pip install incrbuild[watch]``); restarts after errors.

    Paths at or below an *ignore* directory (the engine's state directory) are
    never reported, so a commit cannot wake the watcher.  Ctrl-C propagates as
    ``KeyboardInterrupt`` out of :meth:`batches`: it stops the watch.
    """

    def __init__(
        self,
        paths: Iterable[Path | str],
        *,
        debounce_ms: int = 50,
        step_ms: int = 50,
        idle_tick_ms: int = 1000,
        restart_delay: float = 0.5,
        ignore: Iterable[Path | str] = (),
    ) -> None:
        self.paths = tuple(Path(p) for p in paths)
        self.ignore = tuple(Path(p) for p in ignore)
        self.debounce_ms = debounce_ms
        self.step_ms = step_ms
        self.idle_tick_ms = idle_tick_ms
        self.restart_delay = restart_delay
        self._stop = threading.Event()

    def close(self) -> None:
        """Ask the watcher to stop; :meth:`batches` returns within one step."""
        self._stop.set()

    def batches(self) -> Iterator[ChangeBatch]:
        """Yield settled batches from watchfiles; an error yields a rescan batch, then restarts."""
        try:
            import watchfiles
        except ImportError as error:
            raise ImportError(
                "watch mode needs watchfiles: pip install 'incrbuild[watch]'"
            ) from error
        ignored = tuple(os.fspath(p) for p in self.ignore)

        def wanted(_change: object, path: str) -> bool:
            # Replaces watchfiles' default filter, which drops events the detector
            # tracks (``node_modules``, ``__pycache__``, ``*.swp``): only our own files go.
            return not any(_is_within(path, directory) for directory in ignored)

        started = "watcher started"
        while not self._stop.is_set():
            try:
                for changes in watchfiles.watch(
                    *self.paths,
                    watch_filter=wanted,
                    debounce=self.debounce_ms,
                    step=self.step_ms,
                    stop_event=self._stop,
                    rust_timeout=self.idle_tick_ms,
                    yield_on_timeout=True,
                    raise_interrupt=True,
                    ignore_permission_denied=True,
                ):
                    if started:
                        # The first answer proves the watch is live; what changed before it
                        # (after the caller's start-up scan) was never reported: rescan.
                        yield ChangeBatch(rescan=started)
                        started = ""
                        continue
                    yield ChangeBatch(frozenset(Path(path) for _, path in changes))
            except Exception as error:  # the watcher died: nothing it said since is trusted
                yield ChangeBatch(rescan=f"watcher error: {error!r}")
                started = "watcher restarted"
                self._stop.wait(self.restart_delay)
                continue
            started = "watcher restarted"


@final
@attrs.define
class WatchStats:
    """What a watch session did: plans by kind, and why it rescanned."""

    batches: int = 0
    """Batches received from the source (idle ticks included)."""
    event_plans: int = 0
    """Plans made from event paths alone (O(events))."""
    full_plans: int = 0
    """Plans made by a full scan."""
    rescans: collections.Counter[str] = attrs.field(factory=collections.Counter)
    """Full scans by reason ("start-up", "overflow", "large batch", ...)."""


@final
class WatchSession:
    """Turns a :class:`ChangeSource` into plans, rescanning whenever the events are in doubt.

    Iterate :meth:`plans`; build each plan and call ``engine.commit(plan)``.
    Events that arrive while the host builds wait in the source and roll into
    the next plan; a plan that is not committed is re-checked by the next one.
    """

    def __init__(
        self,
        engine: Engine,
        source: ChangeSource,
        *,
        max_batch: int = 1000,
        rescan_interval: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.source = source
        self.max_batch = max_batch
        self.rescan_interval = rescan_interval
        self.stats = WatchStats()
        self._clock = clock
        self._last_full = -float("inf")
        # The engine's own files (state, lock, temporaries) are never events: a commit
        # must not plan again (with a state directory inside the watched tree, it did).
        state_dir = Path(engine.state_dir)
        self._own_dirs = tuple({os.fspath(state_dir.absolute()), os.fspath(state_dir.resolve())})

    def plans(self) -> Iterator[Plan]:
        """Yield a full plan at start-up, then one plan per batch that changed something."""
        yield self._full("start-up")
        for batch in self.source.batches():
            self.stats.batches += 1
            batch = self._without_own_files(batch)
            reason = self._doubt(batch)
            if reason is not None:
                yield self._full(reason)
            elif batch.paths:
                plan = self.engine.plan_paths(batch.paths)
                if plan.partial:
                    self.stats.event_plans += 1
                else:
                    self._count_full(plan.stats.fallback or "event plan made by a full scan")
                yield plan

    def close(self) -> None:
        """Stop the source."""
        self.source.close()

    def _is_own(self, path: Path) -> bool:
        where = os.fspath(path.absolute())
        return any(_is_within(where, own) for own in self._own_dirs)

    def _without_own_files(self, batch: ChangeBatch) -> ChangeBatch:
        if not any(map(self._is_own, batch.paths)):
            return batch
        return attrs.evolve(batch, paths=frozenset(p for p in batch.paths if not self._is_own(p)))

    def _doubt(self, batch: ChangeBatch) -> str | None:
        if batch.rescan is not None:
            return batch.rescan
        if len(batch.paths) > self.max_batch:
            return f"large batch ({len(batch.paths)} paths)"
        if self._clock() - self._last_full > self.rescan_interval:
            return "periodic verification"
        return None

    def _full(self, reason: str) -> Plan:
        self._count_full(reason)
        return self.engine.plan()

    def _count_full(self, reason: str) -> None:
        self.stats.full_plans += 1
        self.stats.rescans[reason] += 1
        self._last_full = self._clock()
