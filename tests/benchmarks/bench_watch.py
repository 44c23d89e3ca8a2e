"""Watch mode: planning one edit from a watcher's event, at 1K, 10K (and 100K) pages.

The goal is <= 1 ms for one edit on a 10,000-page site, flat from 1,000 to
100,000 pages; a full ``plan()`` of the same edit is measured beside it as the
reference.  100K runs only with INCRBUILD_BENCH_LONG=1 (generating it takes a
while).  Run with ``nox -s bench`` or
``pytest tests/benchmarks/bench_watch.py --benchmark-only --override-ini=addopts=``.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from incrbuild import Engine, Plan, generate_site
from incrbuild.adapters.files import open_engine

SIZES = [1_000, 10_000] + ([100_000] if os.environ.get("INCRBUILD_BENCH_LONG") else [])


class WatchedSite:
    """A generated site with a committed engine, edited one page at a time."""

    def __init__(self, pages: int) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix=f"incrbuild-watch-{pages}-"))
        self.content = self.workdir / "content"
        generated = generate_site(self.content, pages=pages, seed=7)
        self.pages = generated.pages
        time.sleep(2.1)  # leave the racy window, or the first plans hash everything
        self.engine: Engine = open_engine(self.content, state_dir=self.workdir / "state")
        self.engine.commit(self.engine.plan())
        self.counter = itertools.count()
        self.pending: Plan | None = None

    def edit(self) -> Path:
        """Commit the previous plan, then edit one page's body (what a keystroke-save does)."""
        if self.pending is not None:
            self.engine.commit(self.pending)
            self.pending = None
        number = next(self.counter)
        page = self.pages[(number * 7919) % len(self.pages)]
        text = page.read_text(encoding="utf-8")
        page.write_text(text.replace("## ", f"## e{number} ", 1), encoding="utf-8")
        return page

    def close(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


@pytest.fixture(scope="module", params=SIZES, ids=lambda n: f"{n}-pages")
def watched(request: pytest.FixtureRequest) -> Iterator[WatchedSite]:
    site = WatchedSite(request.param)
    yield site
    site.close()


def test_one_edit_from_events(benchmark, watched: WatchedSite) -> None:  # type: ignore[no-untyped-def]
    """One edited page planned from its watcher event (O(events))."""
    benchmark.group = "watch: one edit"
    benchmark.extra_info["pages"] = len(watched.pages)

    def setup() -> tuple[tuple[list[Path]], dict[str, object]]:
        return ([watched.edit()],), {}

    def plan_from_events(paths: list[Path]) -> None:
        plan = watched.engine.plan_paths(paths)
        assert plan.detection is not None
        assert plan.detection.partial
        assert set(paths) <= plan.pages
        watched.pending = plan

    benchmark.pedantic(plan_from_events, setup=setup, rounds=40, warmup_rounds=2)


def test_one_edit_by_full_scan(benchmark, watched: WatchedSite) -> None:  # type: ignore[no-untyped-def]
    """The same edit found by a full ``plan()`` (stat every file): the reference."""
    benchmark.group = "watch: one edit"
    benchmark.extra_info["pages"] = len(watched.pages)

    def setup() -> tuple[tuple[Path], dict[str, object]]:
        return (watched.edit(),), {}

    def full_plan(page: Path) -> None:
        plan = watched.engine.plan()
        assert page in plan.pages
        watched.pending = plan

    benchmark.pedantic(full_plan, setup=setup, rounds=8, warmup_rounds=1)
