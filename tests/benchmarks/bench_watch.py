"""Watch mode: planning one edit from a watcher's event, at 1K, 10K (and 100K) pages.

The goal is <= 1 ms for one edit on a 10,000-page site, flat from 1,000 to
100,000 pages; a full ``plan()`` of the same edit is measured beside it as the
reference.  100K runs only with INCRBUILD_BENCH_LONG=1 (generating it takes a
while).  Run with ``nox -s bench`` or
``pytest tests/benchmarks/bench_watch.py --benchmark-only --override-ini=addopts=``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from benchsites import BenchSite

from incrbuild import Engine, Plan

SIZES = [1_000, 10_000] + ([100_000] if os.environ.get("INCRBUILD_BENCH_LONG") else [])


class WatchedSite:
    """A generated site with a committed engine, edited one page at a time."""

    def __init__(self, pages: int) -> None:
        self.bench = BenchSite(pages)
        self.engine: Engine = self.bench.open_engine()
        self.pending: Plan | None = None

    def edit(self) -> Path:
        """Commit the previous plan, then edit one page's body (what a keystroke-save does)."""
        if self.pending is not None:
            self.engine.commit(self.pending)
            self.pending = None
        return self.bench.edit_body()[0]

    def close(self) -> None:
        self.bench.close()


@pytest.fixture(scope="module", params=SIZES, ids=lambda n: f"{n}-pages")
def watched(request: pytest.FixtureRequest) -> Iterator[WatchedSite]:
    site = WatchedSite(request.param)
    yield site
    site.close()


def test_one_edit_from_events(benchmark, watched: WatchedSite) -> None:  # type: ignore[no-untyped-def]
    """One edited page planned from its watcher event (O(events))."""
    benchmark.group = "watch: one edit"
    benchmark.extra_info["pages"] = watched.bench.pages

    def setup() -> tuple[tuple[list[Path]], dict[str, object]]:
        return ([watched.edit()],), {}

    def plan_from_events(paths: list[Path]) -> None:
        plan = watched.engine.plan_paths(paths)
        assert plan.partial
        assert set(paths) <= plan.pages
        watched.pending = plan

    benchmark.pedantic(plan_from_events, setup=setup, rounds=40, warmup_rounds=2)


def test_one_edit_by_full_scan(benchmark, watched: WatchedSite) -> None:  # type: ignore[no-untyped-def]
    """The same edit found by a full ``plan()`` (stat every file): the reference."""
    benchmark.group = "watch: one edit"
    benchmark.extra_info["pages"] = watched.bench.pages

    def setup() -> tuple[tuple[Path], dict[str, object]]:
        return (watched.edit(),), {}

    def full_plan(page: Path) -> None:
        plan = watched.engine.plan()
        assert page in plan.pages
        watched.pending = plan

    benchmark.pedantic(full_plan, setup=setup, rounds=8, warmup_rounds=1)
