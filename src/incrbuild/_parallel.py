"""ParallelPolicy: when to run work in parallel, on what, decided by measurement.

The RFC's thresholds (20 tags, 100 pages) were guesses.  A policy holds, per
kind of work, a threshold below which work runs sequentially, a worker count
and a backend: sequential, threads, processes, or any
:class:`concurrent.futures.Executor` the host passes in (a dask cluster's, for
instance).  :func:`calibrate` measures a pool's start-up and hand-off cost and
the per-item cost of a sample, and derives the break-even item count.
"""

from __future__ import annotations

import enum
import math
import os
import pickle
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, TypeVar, final

import attrs

from incrbuild._errors import IncrbuildError

__all__ = [
    "Backend",
    "Calibration",
    "KindPolicy",
    "ParallelError",
    "ParallelPolicy",
    "WorkloadKind",
    "calibrate",
    "gil_enabled",
]

T = TypeVar("T")
R = TypeVar("R")


class WorkloadKind(enum.Enum):
    """What limits a kind of work: waiting on I/O, or computing."""

    IO = "io"
    """Waits on the file system or network (writes, stats on NFS): threads always help."""
    CPU = "cpu"
    """Computes in Python: threads help only without a GIL."""


class Backend(enum.Enum):
    """Where :meth:`ParallelPolicy.map` runs items."""

    SEQUENTIAL = "sequential"
    """In the calling thread, one after another."""
    THREADS = "threads"
    """A reused thread pool."""
    PROCESSES = "processes"
    """A reused process pool (functions and items must pickle)."""
    EXECUTOR = "executor"
    """The executor the host passed in (for instance a dask cluster's)."""


class ParallelError(IncrbuildError):
    """An item raised; ``item`` and ``index`` name it, ``__cause__`` is the original exception."""

    def __init__(self, index: int, item: object, error: BaseException) -> None:
        self.index = index
        self.item = item
        super().__init__(f"item {index} ({item!r:.80}) raised {type(error).__name__}: {error}")


def gil_enabled() -> bool:
    """Tell whether this interpreter runs Python under a GIL (False on free-threaded builds)."""
    check = getattr(sys, "_is_gil_enabled", None)
    return True if check is None else bool(check())


@final
@attrs.frozen
class KindPolicy:
    """How one kind of work runs: sequentially below ``threshold`` items, else on ``backend``."""

    backend: Backend
    threshold: int = 1
    workers: int = 2

    def __attrs_post_init__(self) -> None:
        if self.threshold < 0 or self.workers < 1:
            raise ValueError("threshold must be >= 0 and workers >= 1")


@final
@attrs.frozen
class Calibration:
    """What :func:`calibrate` measured for one backend, and the break-even it implies."""

    backend: Backend
    per_item_s: float
    """Sequential time per item."""
    overhead_s: float
    """Fixed cost of one parallel call (hand-off and collection), beyond the items' own time."""
    speedup: float
    """Sequential time over parallel time for the whole sample."""
    break_even: int | None
    """Fewest items for which the backend beats sequential; ``None`` if it never does."""


class _ItemFailed(Exception):
    """Carries the index of the failing item out of a chunk (picklable)."""

    def __init__(self, index: int, error: BaseException) -> None:
        super().__init__(index, error)
        self.index = index
        self.error = error


def _run_chunk(fn: Callable[[Any], Any], start: int, items: Sequence[Any]) -> list[Any]:
    """Apply *fn* to a slice; on failure report which item (by absolute index) raised."""
    results = []
    for offset, item in enumerate(items):
        try:
            results.append(fn(item))
        except Exception as error:
            raise _ItemFailed(start + offset, error) from None
    return results


def default_workers() -> int:
    """The number of CPUs this process may use (at least 1)."""
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is not None:
        return max(1, len(affinity(0)))
    return max(1, os.cpu_count() or 1)


# Derived from tests/benchmarks/bench_parallel.py on a 2-core machine (docs/parallel.md).
# I/O: a thread pool beat sequential write+fsync from 5 items (1.5x), and stats
# at 200 us latency ran 10.6x faster on 16 threads than sequentially (7.2x on 8).
# CPU under a GIL: a pool call costs ~1.6 ms of hand-off, so processes pay off
# from n > overhead / (item_cost * (1 - 1/workers)); 8 items covers items of
# ~0.4 ms and up (related-posts scoring measured 1.5 ms/item, break-even 4).
# Free-threaded CPU threads: not measured here (no 3.14t build); the hand-off is
# a thread's, so the I/O figure is the guide.
_IO_THRESHOLD = 5
_IO_MIN_WORKERS = 16
_CPU_PROCESS_THRESHOLD = 8
_CPU_THREAD_THRESHOLD = 5


@final
class ParallelPolicy:
    """Runs work per kind: sequentially when small, else on a reused pool or your executor.

    Use it as a context manager, or call :meth:`close`, to shut the pools down.
    """

    def __init__(
        self,
        kinds: Mapping[str, KindPolicy]
        | Mapping[WorkloadKind, KindPolicy]
        | Mapping[str | WorkloadKind, KindPolicy]
        | None = None,
        *,
        executor: Executor | None = None,
        workers: int | None = None,
    ) -> None:
        self.workers = workers or default_workers()
        self._executor = executor
        self._kinds: dict[str, KindPolicy] = dict(self.defaults(self.workers, executor))
        for kind, policy in (kinds or {}).items():
            self._kinds[_kind_name(kind)] = policy
        self._pools: dict[tuple[Backend, int], Executor] = {}
        self._lock = threading.Lock()
        self._closed = False

    @staticmethod
    def defaults(workers: int, executor: Executor | None = None) -> dict[str, KindPolicy]:
        """The interpreter-aware defaults: I/O on threads; CPU on processes under a GIL."""
        if executor is not None:
            shared = KindPolicy(Backend.EXECUTOR, threshold=1, workers=workers)
            return {WorkloadKind.IO.value: shared, WorkloadKind.CPU.value: shared}
        io = KindPolicy(
            Backend.THREADS, threshold=_IO_THRESHOLD, workers=max(_IO_MIN_WORKERS, 4 * workers)
        )
        if workers < 2:
            cpu = KindPolicy(Backend.SEQUENTIAL, threshold=0, workers=1)
        elif gil_enabled():
            cpu = KindPolicy(Backend.PROCESSES, threshold=_CPU_PROCESS_THRESHOLD, workers=workers)
        else:
            cpu = KindPolicy(Backend.THREADS, threshold=_CPU_THREAD_THRESHOLD, workers=workers)
        return {WorkloadKind.IO.value: io, WorkloadKind.CPU.value: cpu}

    def policy_for(self, kind: str | WorkloadKind) -> KindPolicy:
        """The policy of *kind*; unknown kinds run like CPU-bound work."""
        return self._kinds.get(_kind_name(kind), self._kinds[WorkloadKind.CPU.value])

    def map(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        *,
        kind: str | WorkloadKind = WorkloadKind.CPU,
    ) -> list[R]:
        """Return ``[fn(item) for item in items]``, in input order, possibly in parallel.

        If items raise, the first of them in input order is raised as a
        :class:`ParallelError` naming it, and work not yet started is cancelled:
        the same error a sequential run would raise.  Later items may already
        have run.
        """
        values = list(items)
        policy = self.policy_for(kind)
        if policy.backend is Backend.SEQUENTIAL or len(values) < max(policy.threshold, 2):
            return _run_sequential(fn, values)
        pool = self._pool(policy)
        if policy.backend is Backend.PROCESSES:
            _check_picklable(fn, values)
        chunks = _chunk_bounds(len(values), policy.workers)
        futures: list[Future[list[R]]] = [
            pool.submit(_run_chunk, fn, start, values[start:end]) for start, end in chunks
        ]
        results: list[R] = []
        try:
            for future in futures:
                results.extend(future.result())
        except _ItemFailed as failed:
            for pending in futures:
                pending.cancel()
            raise ParallelError(failed.index, values[failed.index], failed.error) from failed.error
        except BaseException:
            for pending in futures:
                pending.cancel()
            raise
        return results

    def executor_for(self, kind: str | WorkloadKind = WorkloadKind.IO) -> Executor | None:
        """The pool *kind* runs on (``None`` if sequential): e.g. ``Engine(stat_executor=...)``."""
        policy = self.policy_for(kind)
        if policy.backend is Backend.SEQUENTIAL:
            return None
        return self._pool(policy)

    def _pool(self, policy: KindPolicy) -> Executor:
        if policy.backend is Backend.EXECUTOR:
            assert self._executor is not None
            return self._executor
        with self._lock:
            if self._closed:
                raise RuntimeError("this ParallelPolicy was closed")
            # Kinds sharing a backend and a worker count share a pool; a kind
            # asking for more workers (I/O) must not be capped by another's pool.
            key = (policy.backend, policy.workers)
            pool = self._pools.get(key)
            if pool is None:
                if policy.backend is Backend.THREADS:
                    pool = ThreadPoolExecutor(policy.workers, thread_name_prefix="incrbuild")
                else:
                    pool = ProcessPoolExecutor(policy.workers)
                self._pools[key] = pool
            return pool

    def close(self) -> None:
        """Shut down the pools this policy started (never the executor it was given)."""
        with self._lock:
            self._closed = True
            pools, self._pools = self._pools, {}
        for pool in pools.values():
            pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> ParallelPolicy:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _kind_name(kind: str | WorkloadKind) -> str:
    return kind.value if isinstance(kind, WorkloadKind) else kind


def _run_sequential(fn: Callable[[T], R], values: Sequence[T]) -> list[R]:
    results: list[R] = []
    for index, item in enumerate(values):
        try:
            results.append(fn(item))
        except Exception as error:
            raise ParallelError(index, item, error) from error
    return results


def _chunk_bounds(count: int, workers: int) -> list[tuple[int, int]]:
    """Split *count* items into about four chunks per worker (balance vs hand-off cost)."""
    size = max(1, math.ceil(count / (workers * 4)))
    return [(start, min(start + size, count)) for start in range(0, count, size)]


def _check_picklable(fn: Callable[..., Any], values: Sequence[Any]) -> None:
    try:
        pickle.dumps(fn)
    except Exception as error:
        raise TypeError(
            f"{fn!r} cannot be sent to worker processes ({error}); use a module-level "
            "function, or a threads backend for this kind"
        ) from error
    for index, item in enumerate(values):
        try:
            pickle.dumps(item)
        except Exception as error:
            raise ParallelError(index, item, error) from error


def _best_of(repeats: int, run: Callable[[], object]) -> float:
    """The fastest of *repeats* runs (the least disturbed by other load)."""
    best = math.inf
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def calibrate(
    fn: Callable[[T], Any],
    sample: Sequence[T],
    *,
    backends: Iterable[Backend] = (Backend.THREADS, Backend.PROCESSES),
    workers: int | None = None,
    repeats: int = 3,
) -> dict[Backend, Calibration]:
    """Measure *fn* on *sample* sequentially and on each backend; derive break-even counts.

    The model: sequential time is ``n * per_item``; parallel time is
    ``overhead + n * per_item / speedup_limit``, with the overhead and the
    speed-up fitted from the whole sample and a one-item run.  Pools are
    started before timing (a policy reuses them), so start-up is not counted.
    """
    count = len(sample)
    if count < 2:
        raise ValueError("calibrate needs a sample of at least 2 items")
    workers = workers or default_workers()
    sequential = _best_of(repeats, lambda: [fn(item) for item in sample])
    return {
        backend: _calibrate_backend(fn, sample, backend, workers, repeats, sequential)
        for backend in backends
    }


def _calibrate_backend(
    fn: Callable[[T], Any],
    sample: Sequence[T],
    backend: Backend,
    workers: int,
    repeats: int,
    sequential: float,
) -> Calibration:
    count = len(sample)
    per_item = sequential / count
    pair = [sample[0], sample[0]]
    policy = ParallelPolicy(
        {"calibration": KindPolicy(backend, threshold=0, workers=workers)}, workers=workers
    )
    with policy:
        policy.map(fn, sample[:2], kind="calibration")  # start the pool: not timed

        def run_pair() -> object:
            return policy.map(fn, pair, kind="calibration")

        def run_all() -> object:
            return policy.map(fn, sample, kind="calibration")

        one = _best_of(repeats, run_pair)
        whole = _best_of(repeats, run_all)
    overhead = max(0.0, one - 2 * per_item / min(2, workers))
    rate = max((whole - overhead) / count, 1e-12)
    break_even: int | None = None
    if rate < per_item:
        break_even = max(2, math.ceil(overhead / (per_item - rate)))
    return Calibration(
        backend=backend,
        per_item_s=per_item,
        overhead_s=overhead,
        speedup=sequential / whole if whole else math.inf,
        break_even=break_even,
    )
