"""Planning: the propagation phase after detection, per kind of edit, at 1K and 10K pages.

Detection of a full plan is O(files) stats (see the detection benchmarks); what
this measures is everything after it (site model refresh, cascade, taxonomy,
sections, dependents), which must cost in proportion to what the edit affects,
not to the site.  Each round edits, plans from the edit's watcher event (so the
stat scan does not drown the figure), records the planning phase time and the
number of pages planned, and commits.  Figures land in ``extra_info``.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Iterator
from pathlib import Path

import pytest
from benchsites import EDITS, BenchSite

from incrbuild import Engine, Plan

SIZES = [1_000, 10_000] + ([100_000] if os.environ.get("INCRBUILD_BENCH_LONG") else [])


class PlannedSite:
    """A generated site with a committed engine (navigation on) and uncommitted plans."""

    def __init__(self, pages: int) -> None:
        self.bench = BenchSite(pages, seed=11)
        self.engine: Engine = self.bench.open_engine(navigation=True)

    def close(self) -> None:
        self.bench.close()


@pytest.fixture(scope="module", params=SIZES, ids=lambda n: f"{n}-pages")
def planned(request: pytest.FixtureRequest) -> Iterator[PlannedSite]:
    site = PlannedSite(request.param)
    yield site
    site.close()


@pytest.mark.parametrize("kind", list(EDITS))
def test_planning_phase(benchmark, planned: PlannedSite, kind: str) -> None:  # type: ignore[no-untyped-def]
    """Time of one plan from the edit's events; extra_info has the planning phase alone."""
    benchmark.group = f"planning: {kind}"
    phases: list[float] = []
    sizes: list[int] = []
    pending: list[Plan] = []

    def setup() -> tuple[tuple[list[Path]], dict[str, object]]:
        while pending:  # commit (O(pages): it writes the state) outside the timed call
            planned.engine.commit(pending.pop())
        return (EDITS[kind](planned.bench),), {}

    def plan(paths: list[Path]) -> None:
        result = planned.engine.plan_paths(paths)
        phases.append(result.stats.planning_ns / 1e3)
        sizes.append(len(result.pages))
        pending.append(result)

    benchmark.pedantic(plan, setup=setup, rounds=20, warmup_rounds=1)
    while pending:
        planned.engine.commit(pending.pop())
    benchmark.extra_info["pages"] = planned.bench.pages
    benchmark.extra_info["planning_phase_us_median"] = round(statistics.median(phases), 1)
    benchmark.extra_info["pages_planned_median"] = statistics.median(sizes)
