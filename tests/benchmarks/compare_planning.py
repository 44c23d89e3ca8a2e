"""The planning phase at two commits, side by side, in one run (issue 13: "no slower than before").

Checks each commit out into a temporary git worktree and runs its own
``bench_planning.py`` there, alternating between the two commits *rounds* times
(so a load change on a shared machine hits both), with this interpreter and its
installed dependencies; the package comes from each worktree's ``src`` via
``PYTHONPATH``.  Prints a Markdown table of the planning phase
(``plan.stats.planning_ns``): per edit kind, the median over rounds of each run's
median.

Run: ``python tests/benchmarks/compare_planning.py BEFORE AFTER [ROUNDS]``.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _run(tree: Path, out: Path) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(tree / "src"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/benchmarks/bench_planning.py",
            "--benchmark-only",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "python_files=bench_*.py",
            "-o",
            "addopts=",
            f"--benchmark-json={out}",
        ],
        cwd=tree,
        env=env,
        check=True,
        capture_output=True,
    )
    return {
        bench["name"].partition("[")[2].rstrip("]"): bench["extra_info"]["planning_phase_us_median"]
        for bench in json.loads(out.read_text())["benchmarks"]
    }


def main(before: str, after: str, rounds: int = 5) -> None:
    with tempfile.TemporaryDirectory(prefix="incrbuild-compare-") as scratch:
        trees = {}
        for label, rev in (("before", before), ("after", after)):
            tree = Path(scratch) / label
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), rev],
                check=True,
                capture_output=True,
            )
            trees[label] = tree
        try:
            runs: dict[str, dict[str, list[float]]] = {"before": {}, "after": {}}
            for round_ in range(rounds):
                for label, tree in trees.items():
                    result = _run(tree, Path(scratch) / f"{label}-{round_}.json")
                    for name, micros in result.items():
                        runs[label].setdefault(name, []).append(micros)
        finally:
            for tree in trees.values():
                subprocess.run(
                    ["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)],
                    check=False,
                    capture_output=True,
                )
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.2f} at the end; {rounds} alternating rounds; "
        f"before = {before}, after = {after}"
    )
    print()
    print("| pages, edit | before | after | after / before |")
    print("|---|---:|---:|---:|")
    for name, samples in runs["before"].items():
        old = statistics.median(samples)
        new = statistics.median(runs["after"][name])
        print(f"| {name} | {old:.1f} µs | {new:.1f} µs | {new / old:.2f}x |")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], *(int(arg) for arg in sys.argv[3:4]))
