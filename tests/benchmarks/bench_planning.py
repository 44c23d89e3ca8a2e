"""Planning: the propagation phase after detection, per kind of edit, at 1K and 10K pages.

Detection of a full plan is O(files) stats (see the detection benchmarks); what
this measures is everything after it (site model refresh, cascade, taxonomy,
sections, dependents), which must cost in proportion to what the edit affects,
not to the site.  Each round edits, plans from the edit's watcher event (so the
stat scan does not drown the figure), records the planning phase time and the
number of pages planned, and commits.  Figures land in ``extra_info``.
"""

from __future__ import annotations

import itertools
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from incrbuild import Engine, Plan, generate_site
from incrbuild.adapters.files import open_engine

SIZES = [1_000, 10_000] + ([100_000] if os.environ.get("INCRBUILD_BENCH_LONG") else [])


class PlannedSite:
    def __init__(self, pages: int) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix=f"incrbuild-plan-{pages}-"))
        generated = generate_site(self.workdir / "content", pages=pages, seed=11)
        self.site = generated
        time.sleep(2.1)
        self.engine: Engine = open_engine(
            generated.root, state_dir=self.workdir / "state", navigation=True
        )
        self.engine.commit(self.engine.plan())
        self.counter = itertools.count()

    def edit_body(self) -> list[Path]:
        n = next(self.counter)
        page = self.site.pages[(n * 7919) % len(self.site.pages)]
        page.write_text(page.read_text(encoding="utf-8") + f"\nbody {n}\n", encoding="utf-8")
        return [page]

    def edit_cascade(self) -> list[Path]:
        n = next(self.counter)
        index = self.site.index_pages[n % len(self.site.index_pages)]
        text = index.read_text(encoding="utf-8")
        index.write_text(text.replace("banner: ", f"banner: c{n}-", 1), encoding="utf-8")
        return [index]

    def edit_tags(self) -> list[Path]:
        n = next(self.counter)
        page = self.site.pages[(n * 104729) % len(self.site.pages)]
        text = page.read_text(encoding="utf-8")
        page.write_text(text.replace("tags: [", f"tags: [bench-{n}, ", 1), encoding="utf-8")
        return [page]

    def add_and_delete(self) -> list[Path]:
        n = next(self.counter)
        section = self.site.sections[n % len(self.site.sections)]
        new = section / f"added-{n}.md"
        new.write_text(f"---\ntitle: Added {n}\ntags: [tag-0001]\n---\nnew\n", encoding="utf-8")
        victims = sorted(section.glob("page-*.md"))
        victim = victims[n % len(victims)]
        victim.unlink()
        return [new, victim]

    def close(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


@pytest.fixture(scope="module", params=SIZES, ids=lambda n: f"{n}-pages")
def planned(request: pytest.FixtureRequest) -> Iterator[PlannedSite]:
    site = PlannedSite(request.param)
    yield site
    site.close()


EDITS: dict[str, Callable[[PlannedSite], list[Path]]] = {
    "body": PlannedSite.edit_body,
    "cascade": PlannedSite.edit_cascade,
    "tags": PlannedSite.edit_tags,
    "add+delete": PlannedSite.add_and_delete,
}


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
        return (EDITS[kind](planned),), {}

    def plan(paths: list[Path]) -> None:
        result = planned.engine.plan_paths(paths)
        phases.append(result.stats.planning_ns / 1e3)
        sizes.append(len(result.pages))
        pending.append(result)

    benchmark.pedantic(plan, setup=setup, rounds=20, warmup_rounds=1)
    while pending:
        planned.engine.commit(pending.pop())
    benchmark.extra_info["pages"] = len(planned.site.pages)
    benchmark.extra_info["planning_phase_us_median"] = round(statistics.median(phases), 1)
    benchmark.extra_info["pages_planned_median"] = statistics.median(sizes)
