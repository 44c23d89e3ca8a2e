"""Scale-out: the same ParallelPolicy driving a dask.distributed cluster of worker processes."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator

import pytest

from incrbuild import ParallelError, ParallelPolicy

from .helpers import fail_on_multiples, square

distributed = pytest.importorskip(
    "distributed", reason="the 'dask' extra is not installed (pip install 'incrbuild[dask]')"
)


def worker_pid(_: object) -> int:
    return os.getpid()


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    cluster = distributed.LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address=None,
    )
    with cluster, distributed.Client(cluster) as connected:
        yield connected


class TestDaskExecutor:
    def test_map_runs_on_cluster_workers_in_order(self, client) -> None:  # type: ignore[no-untyped-def]
        """A policy given the cluster's executor returns results in input order."""
        with ParallelPolicy(executor=client.get_executor()) as policy:
            assert policy.map(square, range(200)) == [v * v for v in range(200)]
            pids = set(policy.map(worker_pid, range(40)))
        assert os.getpid() not in pids
        assert 1 <= len(pids) <= 2

    def test_errors_name_the_item(self, client) -> None:  # type: ignore[no-untyped-def]
        """An item raising on a remote worker is reported like a local one."""
        fn = functools.partial(fail_on_multiples, 7)
        with (
            ParallelPolicy(executor=client.get_executor()) as policy,
            pytest.raises(ParallelError) as caught,
        ):
            policy.map(fn, range(1, 50))
        assert caught.value.index == 6
        assert isinstance(caught.value.__cause__, ValueError)

    def test_lambdas_travel_with_cloudpickle(self, client) -> None:  # type: ignore[no-untyped-def]
        """dask pickles functions with cloudpickle, so closures work there too."""
        offset = 3
        with ParallelPolicy(executor=client.get_executor()) as policy:
            assert policy.map(lambda v: v + offset, [1, 2, 3]) == [4, 5, 6]
