"""ParallelPolicy: every backend gives exactly what a sequential run gives, errors included."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incrbuild import (
    Backend,
    IncrbuildError,
    KindPolicy,
    ParallelError,
    ParallelPolicy,
    WorkloadKind,
    calibrate,
)
from incrbuild._parallel import gil_enabled

from .helpers import fail_on_multiples, square


def sequential(fn, values):  # type: ignore[no-untyped-def]
    """What a plain sequential run returns, or the index and type of what it raises."""
    results = []
    for index, value in enumerate(values):
        try:
            results.append(fn(value))
        except Exception as error:
            return ("raised", index, type(error))
    return ("ok", results)


def outcome(policy: ParallelPolicy, fn, values, kind: str):  # type: ignore[no-untyped-def]
    try:
        return ("ok", policy.map(fn, values, kind=kind))
    except ParallelError as error:
        named = error
    assert named.item == values[named.index]  # the error names the very item
    return ("raised", named.index, type(named.__cause__))


BACKENDS = {
    "sequential": KindPolicy(Backend.SEQUENTIAL),
    "threads": KindPolicy(Backend.THREADS, threshold=0, workers=3),
    "processes": KindPolicy(Backend.PROCESSES, threshold=0, workers=2),
    "executor": KindPolicy(Backend.EXECUTOR, threshold=0, workers=3),
}


@pytest.fixture(scope="module")
def policy() -> Iterator[ParallelPolicy]:
    with (
        ThreadPoolExecutor(3) as given_executor,
        ParallelPolicy(BACKENDS, executor=given_executor) as made,
    ):
        yield made


VALUES = st.lists(st.integers(min_value=-1000, max_value=1000), max_size=60)


class TestParallelPolicyMap:
    @pytest.mark.parametrize("backend", list(BACKENDS))
    @settings(max_examples=40, deadline=None)
    @given(values=VALUES)
    def test_equals_sequential(self, policy: ParallelPolicy, backend: str, values) -> None:  # type: ignore[no-untyped-def]
        """Results come back complete and in input order, as ``list(map(...))`` gives them."""
        assert policy.map(square, values, kind=backend) == list(map(square, values))

    @pytest.mark.parametrize("backend", list(BACKENDS))
    @settings(max_examples=40, deadline=None)
    @given(values=VALUES, divisor=st.integers(min_value=2, max_value=40))
    def test_errors_name_the_same_item_as_sequential(  # type: ignore[no-untyped-def]
        self, policy: ParallelPolicy, backend: str, values, divisor: int
    ) -> None:
        """The first failing item in input order is the one reported, with its exception."""
        fn = functools.partial(fail_on_multiples, divisor)
        assert outcome(policy, fn, values, backend) == sequential(fn, values)

    @pytest.mark.parametrize("backend", list(BACKENDS))
    def test_empty_and_single(self, policy: ParallelPolicy, backend: str) -> None:
        """No items give no results; one item gives one."""
        assert policy.map(square, [], kind=backend) == []
        assert policy.map(square, [7], kind=backend) == [49]

    def test_unpicklable_function_with_processes_is_a_clear_error(
        self, policy: ParallelPolicy
    ) -> None:
        """A lambda cannot reach worker processes: the error says so and what to do."""
        with pytest.raises(TypeError, match="module-level function"):
            policy.map(lambda value: value, list(range(10)), kind="processes")

    def test_unpicklable_item_with_processes_names_the_item(self, policy: ParallelPolicy) -> None:
        """An item that cannot be pickled is named like an item that raised."""
        values = [1, 2, threading.Lock(), 4]
        with pytest.raises(ParallelError) as caught:
            policy.map(square, values, kind="processes")
        assert caught.value.index == 2

    def test_error_is_an_incrbuild_error_naming_the_item(self, policy: ParallelPolicy) -> None:
        """ParallelError says which item raised what."""
        fn = functools.partial(fail_on_multiples, 5)
        with pytest.raises(IncrbuildError, match=r"item 4 \(5\) raised ValueError"):
            policy.map(fn, [1, 2, 3, 4, 5, 6], kind="threads")

    def test_pools_are_reused_across_calls(self, policy: ParallelPolicy) -> None:
        """Two calls run on the same pool: no start-up cost per call."""
        first = policy.executor_for("threads")
        policy.map(square, range(20), kind="threads")
        assert policy.executor_for("threads") is first

    def test_kinds_with_different_worker_counts_get_their_own_pools(self) -> None:
        """An I/O kind asking for 16 threads is not capped by a CPU kind's 2-thread pool."""
        kinds = {
            "cpu": KindPolicy(Backend.THREADS, threshold=0, workers=2),
            "io": KindPolicy(Backend.THREADS, threshold=0, workers=16),
            "io2": KindPolicy(Backend.THREADS, threshold=0, workers=16),
        }
        with ParallelPolicy(kinds) as policy:
            cpu_pool, io_pool = policy.executor_for("cpu"), policy.executor_for("io")
            assert cpu_pool is not io_pool
            assert policy.executor_for("io2") is io_pool
            barrier = threading.Barrier(16, timeout=10)
            # 16 items that each wait for all 16 finish only on a pool of 16 threads.
            assert policy.map(lambda _: barrier.wait() >= 0, range(16), kind="io") == [True] * 16

    def test_below_threshold_runs_in_the_calling_thread(self) -> None:
        """Small batches run sequentially, in the caller's thread."""
        here = threading.get_ident()
        with ParallelPolicy({"tags": KindPolicy(Backend.THREADS, threshold=10)}) as policy:
            small = policy.map(lambda _: threading.get_ident(), range(9), kind="tags")
            assert set(small) == {here}

    def test_close_shuts_pools_down_and_refuses_more_work(self) -> None:
        """After ``close`` the pools are shut down; new parallel work is refused."""
        policy = ParallelPolicy({"io": KindPolicy(Backend.THREADS, threshold=0, workers=2)})
        policy.map(square, range(10), kind="io")
        policy.close()
        with pytest.raises(RuntimeError, match="closed"):
            policy.map(square, range(10), kind="io")

    def test_a_given_executor_is_not_shut_down(self) -> None:
        """The host's executor stays usable after the policy closes."""
        with ThreadPoolExecutor(2) as host_pool:
            with ParallelPolicy(executor=host_pool) as policy:
                assert policy.map(square, range(10)) == [v * v for v in range(10)]
            assert host_pool.submit(square, 3).result() == 9


class TestDefaults:
    def test_interpreter_aware(self) -> None:
        """I/O runs on threads; CPU runs on processes under a GIL, threads without one."""
        defaults = ParallelPolicy.defaults(4)
        assert defaults[WorkloadKind.IO.value].backend is Backend.THREADS
        expected = Backend.PROCESSES if gil_enabled() else Backend.THREADS
        assert defaults[WorkloadKind.CPU.value].backend is expected

    def test_one_cpu_stays_sequential(self) -> None:
        """With one usable CPU, CPU-bound work gains nothing from a pool."""
        assert ParallelPolicy.defaults(1)[WorkloadKind.CPU.value].backend is Backend.SEQUENTIAL

    def test_unknown_kinds_run_like_cpu_work(self) -> None:
        """A kind the policy does not know gets the CPU policy."""
        policy = ParallelPolicy(workers=4)
        assert policy.policy_for("related-posts") == policy.policy_for(WorkloadKind.CPU)

    def test_kind_policy_validates(self) -> None:
        """Negative thresholds and zero workers are rejected."""
        with pytest.raises(ValueError, match="threshold"):
            KindPolicy(Backend.THREADS, threshold=-1)
        with pytest.raises(ValueError, match="workers"):
            KindPolicy(Backend.THREADS, workers=0)


def slow_square(value: int) -> int:
    total = 0
    for step in range(20_000):
        total += step % 7
    return value * value + total * 0


class TestCalibrate:
    def test_reports_per_item_cost_and_break_even(self) -> None:
        """Calibration measures the per-item cost and derives a break-even (or none)."""
        found = calibrate(slow_square, list(range(16)), backends=[Backend.THREADS], repeats=2)
        result = found[Backend.THREADS]
        assert result.per_item_s > 0
        assert result.overhead_s >= 0
        assert result.break_even is None or result.break_even >= 2

    def test_needs_two_items(self) -> None:
        """A sample of one item cannot separate overhead from per-item cost."""
        with pytest.raises(ValueError, match="at least 2"):
            calibrate(square, [1])
