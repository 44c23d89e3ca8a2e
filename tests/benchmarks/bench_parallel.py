"""ParallelPolicy: the RFC's threshold table, measured, and parallel stats on a slow file system.

Run ``python tests/benchmarks/bench_parallel.py`` for the tables in docs/parallel.md,
or ``nox -s bench`` for the pytest-benchmark points.

- I/O-bound work: writing a tag page (8 KB of HTML) and fsync-ing it, per item.
- CPU-bound work: scoring one page's related posts (tag-set Jaccard against 3,000
  pages), per item, in pure Python.
- Latency-bound stats: the change detector on 2,000 files with 200 us injected
  into every ``stat`` (what an NFS round trip costs), sequential vs thread pools.
"""

from __future__ import annotations

import os
import platform
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from benchsites import best_of

from incrbuild import Backend, KindPolicy, ParallelPolicy, calibrate
from incrbuild._state import State
from incrbuild.lowlevel import ChangeDetector

COUNTS = [5, 10, 15, 20, 30, 50]
_RNG = random.Random(3)
_TAG_SETS = [frozenset(_RNG.sample(range(200), 4)) for _ in range(3000)]
_OUT = Path(tempfile.gettempdir()) / "incrbuild-bench-tagpages"
_PAGE = (
    "<html><body>" + "<li><a href='/p/'>A page title</a></li>" * 200 + "</body></html>"
).encode()


def write_tag_page(tag: int) -> int:
    """I/O-bound: write and fsync one tag page."""
    path = _OUT / f"tag-{tag}.html"
    with open(path, "wb") as handle:
        handle.write(_PAGE)
        handle.flush()
        os.fsync(handle.fileno())
    return len(_PAGE)


def score_related(page: int) -> int:
    """CPU-bound: the 5 most related pages by tag-set Jaccard similarity."""
    mine = _TAG_SETS[page % len(_TAG_SETS)]
    scores = [
        (len(mine & other) / len(mine | other), index) for index, other in enumerate(_TAG_SETS)
    ]
    scores.sort(reverse=True)
    return scores[1][1]


POLICIES = {
    "sequential": KindPolicy(Backend.SEQUENTIAL),
    "threads x4": KindPolicy(Backend.THREADS, threshold=0, workers=4),
    "threads x16": KindPolicy(Backend.THREADS, threshold=0, workers=16),
    "processes x2": KindPolicy(Backend.PROCESSES, threshold=0, workers=2),
}


def rfc_table(repeats: int = 7) -> str:
    """The RFC's table (5...50 items), sequential vs each backend, as Markdown."""
    _OUT.mkdir(parents=True, exist_ok=True)
    lines = []
    with ParallelPolicy(POLICIES) as policy:
        for name in POLICIES:  # start every pool before timing: a policy reuses them
            policy.map(score_related, range(4), kind=name)
        for label, fn in (
            ("I/O: tag page write+fsync", write_tag_page),
            ("CPU: related posts", score_related),
        ):
            lines.append(f"\n**{label}** (best of {repeats}; ratio = sequential / backend)\n")
            lines.append("| items | " + " | ".join(POLICIES) + " |")
            lines.append("|---:|" + "---:|" * len(POLICIES))
            for count in COUNTS:
                items = list(range(count))
                times = {
                    name: best_of(lambda n=name, f=fn, i=items: policy.map(f, i, kind=n), repeats)
                    for name in POLICIES
                }
                base = times["sequential"]
                cells = [f"{times['sequential'] * 1e3:.1f} ms"] + [
                    f"{times[name] * 1e3:.1f} ms ({base / times[name]:.2f}x)"
                    for name in list(POLICIES)[1:]
                ]
                lines.append(f"| {count} | " + " | ".join(cells) + " |")
    shutil.rmtree(_OUT, ignore_errors=True)
    return "\n".join(lines)


def calibration_table(repeats: int = 5) -> str:
    """What :func:`incrbuild.calibrate` derives for each workload and backend, as Markdown."""
    _OUT.mkdir(parents=True, exist_ok=True)
    rows = [
        "| work | backend | per item | call overhead | speed-up on 50 | break-even |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for label, fn in (("I/O write+fsync", write_tag_page), ("CPU related posts", score_related)):
        measured = calibrate(fn, list(range(50)), workers=2, repeats=repeats)
        for backend, result in measured.items():
            even = "never" if result.break_even is None else str(result.break_even)
            rows.append(
                f"| {label} | {backend.value} | {result.per_item_s * 1e3:.2f} ms"
                f" | {result.overhead_s * 1e3:.2f} ms | {result.speedup:.2f}x | {even} |"
            )
    shutil.rmtree(_OUT, ignore_errors=True)
    return "\n".join(rows)


def slow_stat(latency_s: float) -> Callable[[str], os.stat_result]:
    def stat(path: str) -> os.stat_result:
        time.sleep(latency_s)
        return os.stat(path)

    return stat


def make_stat_tree(files: int) -> tuple[Path, State]:
    """A settled tree of *files* pages in 20 directories, and the state of its first scan."""
    root = Path(tempfile.mkdtemp(prefix="incrbuild-nfs-"))
    for index in range(files):
        directory = root / f"s{index % 20}"
        directory.mkdir(exist_ok=True)
        (directory / f"p{index}.md").write_text(f"page {index}")
    time.sleep(2.1)  # past the racy window, so a no-op scan trusts every stat
    first = ChangeDetector(root).detect(State())
    state = State(
        root=str(root),
        snapshot_ns=time.time_ns(),
        commit_id="x",
        files=first.files,
        dirs=first.dirs,
    )
    return root, state


def nfs_table(files: int = 2000, latency_us: int = 200, repeats: int = 3) -> str:
    """Detector no-op with injected per-stat latency: sequential vs thread pools."""
    root, state = make_stat_tree(files)
    try:
        stat = slow_stat(latency_us / 1e6)
        rows = ["| workers | no-op detection | speed-up |", "|---:|---:|---:|"]
        base = best_of(lambda: ChangeDetector(root, stat=stat).detect(state), repeats)
        rows.append(f"| sequential | {base * 1e3:.0f} ms | 1.0x |")
        for workers in (4, 8, 16, 32, 64):
            kinds = {"io": KindPolicy(Backend.THREADS, threshold=0, workers=workers)}
            with ParallelPolicy(kinds) as policy:
                detector = ChangeDetector(
                    root, stat=stat, stat_executor=policy.executor_for("io"), stat_chunk_size=16
                )
                elapsed = best_of(lambda detector=detector: detector.detect(state), repeats)
            rows.append(f"| {workers} threads | {elapsed * 1e3:.0f} ms | {base / elapsed:.1f}x |")
        return "\n".join(rows)
    finally:
        shutil.rmtree(root, ignore_errors=True)


# -- pytest-benchmark points (nox -s bench) ------------------------------------------------


@pytest.fixture(scope="module")
def policy() -> Iterator[ParallelPolicy]:
    _OUT.mkdir(parents=True, exist_ok=True)
    with ParallelPolicy(POLICIES) as made:
        for name in POLICIES:
            made.map(score_related, range(4), kind=name)
        yield made
    shutil.rmtree(_OUT, ignore_errors=True)


@pytest.mark.parametrize("count", [5, 20, 50])
@pytest.mark.parametrize("backend", list(POLICIES))
@pytest.mark.parametrize("work", ["io", "cpu"])
def test_threshold_points(
    benchmark, policy: ParallelPolicy, work: str, backend: str, count: int
) -> None:  # type: ignore[no-untyped-def]
    """One cell of the RFC's table."""
    benchmark.group = f"parallel {work}: {count} items"
    fn = write_tag_page if work == "io" else score_related
    benchmark(policy.map, fn, list(range(count)), kind=backend)


@pytest.fixture(scope="module")
def stat_tree() -> Iterator[tuple[Path, State]]:
    root, state = make_stat_tree(500)
    yield root, state
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("workers", [0, 16])
def test_slow_stat_scan(benchmark, stat_tree: tuple[Path, State], workers: int) -> None:  # type: ignore[no-untyped-def]
    """No-op detection of 500 files at 200 us per stat: sequential (0) vs a thread pool."""
    benchmark.group = "detector on a slow file system"
    root, state = stat_tree
    stat = slow_stat(200e-6)
    if not workers:
        benchmark(ChangeDetector(root, stat=stat).detect, state)
        return
    kinds = {"io": KindPolicy(Backend.THREADS, threshold=0, workers=workers)}
    with ParallelPolicy(kinds) as policy:
        detector = ChangeDetector(
            root, stat=stat, stat_executor=policy.executor_for("io"), stat_chunk_size=16
        )
        benchmark(detector.detect, state)


if __name__ == "__main__":
    print(f"Python {sys.version.split()[0]} on {platform.platform()}, {os.cpu_count()} CPUs")
    print(rfc_table())
    print("\n**calibrate() on 50 items, 2 workers**\n")
    print(calibration_table())
    print("\n**Detector no-op, 2,000 files, 200 us per stat**\n")
    print(nfs_table())
