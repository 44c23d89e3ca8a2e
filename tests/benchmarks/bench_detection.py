"""Detection and planning per size and mode, beside the RFC baseline, git and the stat floor.

pytest-benchmark points for ``nox -s bench`` (docs/benchmarks.md is written by
``report.py`` from its own single-run measurements; these points are the same
work under pytest-benchmark's statistics).  Sizes 1K, 5K and 10K; 100K with
``INCRBUILD_BENCH_LONG=1``.  ``extra_info`` records system calls, page-index
builds, peak traced memory and the state store's size.
"""

from __future__ import annotations

import os
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from benchsites import EDITS, BenchSite
from rfc_baseline import all_sections, incremental_decision

from incrbuild import DetectionMode, Engine, Plan
from incrbuild.adapters.files import load_site
from incrbuild.lowlevel import detector_of, state_of

SIZES = [1_000, 5_000, 10_000] + ([100_000] if os.environ.get("INCRBUILD_BENCH_LONG") else [])
MODES = list(DetectionMode)


class SizedSite:
    """One generated tree with an engine per detection mode, committed and ready."""

    def __init__(self, pages: int) -> None:
        self.site = BenchSite(pages, git=True)
        self.files = self.site.all_files()
        self.engines: dict[DetectionMode, Engine] = {}
        self.pending: dict[DetectionMode, Plan] = {}

    def engine(self, mode: DetectionMode) -> Engine:
        if mode not in self.engines:
            self.engines[mode] = self.site.open_engine(mode, name=f"state-{mode.value}")
        return self.engines[mode]

    def commit_pending(self, mode: DetectionMode) -> None:
        plan = self.pending.pop(mode, None)
        if plan is not None:
            self.engines[mode].commit(plan)


@pytest.fixture(scope="module", params=SIZES, ids=lambda n: f"{n}-pages")
def sized(request: pytest.FixtureRequest) -> Iterator[SizedSite]:
    made = SizedSite(request.param)
    yield made
    made.site.close()


def peak_mb(run: Any) -> float:
    """Peak traced allocation of one call, in MiB (measured outside the timed rounds)."""
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


class TestReferences:
    def test_os_stat_floor(self, benchmark, sized: SizedSite) -> None:  # type: ignore[no-untyped-def]
        """A bare os.stat loop over every file: the floor for a stat scan in Python."""
        benchmark.group = f"no-op detection {sized.site.pages}"
        files = sized.files
        benchmark(lambda: [os.stat(name) for name in files])
        benchmark.extra_info["syscalls"] = len(files)

    def test_git_status(self, benchmark, sized: SizedSite) -> None:  # type: ignore[no-untyped-def]
        """``git status --porcelain`` on the same tree (a subprocess, C, parallel lstat)."""
        benchmark.group = f"no-op detection {sized.site.pages}"
        benchmark(sized.site.git_status)

    def test_rfc_baseline(self, benchmark, sized: SizedSite) -> None:  # type: ignore[no-untyped-def]
        """The RFC's O(S x P) exists()+stat() decision on an already discovered site."""
        benchmark.group = f"no-op detection {sized.site.pages}"
        model = load_site(sized.site.content)
        sections = all_sections(model)
        last_build = time.time()
        _, counters = incremental_decision(model, sections, last_build)
        benchmark.extra_info["syscalls"] = counters.exists_calls + counters.stat_calls
        benchmark(incremental_decision, model, sections, last_build)


class TestNoOp:
    @pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
    def test_detect(self, benchmark, sized: SizedSite, mode: DetectionMode) -> None:  # type: ignore[no-untyped-def]
        """No-op detection (the stat scan alone) in each mode."""
        benchmark.group = f"no-op detection {sized.site.pages}"
        engine = sized.engine(mode)
        sized.commit_pending(mode)
        state = state_of(engine)
        stats = detector_of(engine).detect(state).stats
        benchmark.extra_info["syscalls"] = stats.files_stat + stats.dirs_stat + stats.dirs_listed
        benchmark.extra_info["digests"] = stats.digests
        benchmark.extra_info["peak_mb"] = peak_mb(lambda: detector_of(engine).detect(state))
        store = engine.state_dir / "state.bin"
        benchmark.extra_info["store_bytes"] = store.stat().st_size
        benchmark(detector_of(engine).detect, state)

    @pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
    def test_plan(self, benchmark, sized: SizedSite, mode: DetectionMode) -> None:  # type: ignore[no-untyped-def]
        """A whole no-op ``engine.plan()``: detection, model refresh and planning."""
        benchmark.group = f"no-op plan {sized.site.pages}"
        engine = sized.engine(mode)
        sized.commit_pending(mode)
        before = engine.registry.stats.page_index_builds
        benchmark(engine.plan)
        benchmark.extra_info["page_index_builds"] = engine.registry.stats.page_index_builds - before


class TestEdits:
    @pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
    @pytest.mark.parametrize("kind", list(EDITS))
    def test_plan_after_edit(
        self, benchmark, sized: SizedSite, kind: str, mode: DetectionMode
    ) -> None:  # type: ignore[no-untyped-def]
        """One edit, then a full ``plan()``; the previous plan is committed outside the timing."""
        benchmark.group = f"edit {kind} {sized.site.pages}"
        engine = sized.engine(mode)
        planned: list[int] = []
        missed: list[int] = []
        edited: list[Path] = []

        def setup() -> tuple[tuple[()], dict[str, Any]]:
            sized.commit_pending(mode)
            edited[:] = EDITS[kind](sized.site)
            return (), {}

        def plan() -> None:
            result = engine.plan()
            sized.pending[mode] = result
            planned.append(len(result.pages))
            changed = result.changes.added | result.changes.modified | result.changes.removed
            missed.append(sum(1 for path in edited if path not in changed))

        benchmark.pedantic(plan, setup=setup, rounds=5)
        sized.commit_pending(mode)
        benchmark.extra_info["pages_planned"] = max(planned)
        benchmark.extra_info["missed_edits"] = sum(missed)
