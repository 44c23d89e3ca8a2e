"""What following symbolic links costs the change detector (issue 12).

The detector keeps links in each listing and stats them on every scan; a link to
a directory is re-stat'ed (never followed) and a link to a file is tracked under
its own name.  Two costs follow, each measured here beside its reference on the
same tree in one run:

- *the check*: one ``DirEntry.is_symlink()`` per listed entry (no system call on
  Linux: ``readdir`` gives the type).  Reference: the same ``os.scandir`` walk
  without the check, and the detector's whole relisting scan;
- *the links*: a no-op plan of a tree holding links (to files, to directories,
  dangling), vs the same tree without them and vs a bare ``os.stat`` loop.

Run: ``python tests/benchmarks/bench_symlinks.py [PAGES ...]`` (default 10000).
Prints a Markdown table; the figures in ``docs/change-detection.md`` come from it.
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path

from benchsites import SETTLE_S, BenchSite, best_of

from incrbuild import Engine
from incrbuild.adapters.files import open_engine
from incrbuild.lowlevel import ChangeDetector, StateStore

REPEATS = 9
ALTERNATIONS = 31


def _walk(root: str, *, check: bool) -> int:
    """List every directory below *root* as the detector does, with or without the link check."""
    seen = 0
    stack = [root]
    while stack:
        where = stack.pop()
        with os.scandir(where) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                    continue
                if check and entry.is_symlink():
                    seen += 1
                seen += 1
    return seen


def _stat_all(paths: list[str]) -> None:
    for path in paths:
        os.stat(path)


def _add_links(content: Path, outside: Path, count: int) -> dict[str, int]:
    """Add *count* links of each kind below *content*; return how many of each."""
    sections = sorted(p for p in content.iterdir() if p.is_dir())
    pages = sorted(sections[0].glob("*.md"))
    outside.mkdir(parents=True, exist_ok=True)
    kinds = {"to a file inside": 0, "to a file outside": 0, "to a directory": 0, "dangling": 0}
    for n in range(count):
        home = sections[n % len(sections)]
        (home / f"link-in-{n}.md").symlink_to(pages[n % len(pages)])
        target = outside / f"shared-{n}.md"
        target.write_text(f"---\ntitle: Shared {n}\n---\nshared\n")
        (home / f"link-out-{n}.md").symlink_to(target)
        (home / f"link-dir-{n}").symlink_to(sections[(n + 1) % len(sections)])
        (home / f"link-gone-{n}.md").symlink_to(outside / f"missing-{n}.md")
        for kind in kinds:
            kinds[kind] += 1
    return kinds


def _settled_engine(site: BenchSite) -> Engine:
    """*site*'s engine with a first build committed and its racy records refreshed."""
    engine = open_engine(site.content, state_dir=site.workdir / "state")
    engine.commit(engine.plan())
    time.sleep(SETTLE_S)
    engine.plan()  # refreshes the records written within the racy window
    return engine


def measure(pages: int, links: int) -> dict[str, float]:
    """The check's cost on a relisting scan, and a no-op plan's cost with and without links.

    The no-op plans run on twin trees (same seed), one given links, each with its own engine;
    their timings alternate round by round and the medians are compared, so a load change on a
    shared machine hits both (the best of a few runs swung from 0.87x to 1.5x between runs
    of two link-free twins).
    """
    site = BenchSite(pages)
    twin = BenchSite(pages)
    try:
        root = os.fspath(site.content)
        files = [os.path.join(root, name) for name in site.all_files()]
        row: dict[str, float] = {"pages": pages, "links": links * 4}
        row["walk_plain_s"] = best_of(lambda: _walk(root, check=False), REPEATS)
        row["walk_checked_s"] = best_of(lambda: _walk(root, check=True), REPEATS)
        site.open_engine()  # the tree settled before this commit: nothing is racy
        stored = StateStore(site.workdir / "state").load()
        detector = ChangeDetector(site.content)
        row["relist_scan_s"] = best_of(lambda: detector.detect(stored, relist=True), REPEATS)
        row["stat_floor_s"] = best_of(lambda: _stat_all(files), REPEATS)
        _add_links(twin.content, twin.workdir / "outside", links)
        plain, linked = _settled_engine(site), _settled_engine(twin)
        plain_s, linked_s = [], []
        for _ in range(ALTERNATIONS):
            plain_s.append(best_of(plain.plan, 1))
            linked_s.append(best_of(linked.plan, 1))
        row["noop_plain_s"] = statistics.median(plain_s)
        row["noop_linked_s"] = statistics.median(linked_s)
        return row
    finally:
        for tree in (site, twin):
            tree.close()
            shutil.rmtree(tree.workdir, ignore_errors=True)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def main(argv: list[str]) -> None:
    sizes = [int(arg) for arg in argv] or [10_000]
    print(
        f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}; best of {REPEATS}, no-op plans: median of "
        f"{ALTERNATIONS} alternating runs"
    )
    print()
    print(
        "| pages | walk without check | walk with check | check / walk | relisting scan "
        "| check / scan | stat floor | no-op plan | links | no-op plan with links "
        "| with / without |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for pages in sizes:
        row = measure(pages, links=max(1, pages // 400))
        check = row["walk_checked_s"] - row["walk_plain_s"]
        print(
            f"| {pages:,} | {_ms(row['walk_plain_s'])} | {_ms(row['walk_checked_s'])} "
            f"| {check / row['walk_plain_s']:+.1%} | {_ms(row['relist_scan_s'])} "
            f"| {check / row['relist_scan_s']:+.1%} | {_ms(row['stat_floor_s'])} "
            f"| {_ms(row['noop_plain_s'])} | {int(row['links'])} | {_ms(row['noop_linked_s'])} "
            f"| {row['noop_linked_s'] / row['noop_plain_s']:.2f}x |",
            flush=True,
        )


if __name__ == "__main__":
    main(sys.argv[1:])
