"""The long-mode row of issue 16: one million pages of about 200 bytes.

Writes the tree (1,000 sections of 1,000 pages; a plain writer, since the
synthetic-site generator is too slow at this size), commits it cold through the
CLI, waits out the racy window, then times fresh-process no-op ``incrbuild
plan`` runs (wall time and peak RSS from ``/usr/bin/time``) and the store's load
in a process of its own.  Run ``python tests/benchmarks/million.py WORKDIR OUT.json``
(tens of minutes on a shared 2-core machine); ``report.py`` renders OUT.json when
``INCRBUILD_BENCH_1M_JSON`` names it.  With ``INCRBUILD_1M_COLD_JSON`` naming a JSON
of the cold commit's figures (``cold_commit_s``, ``cold_commit_rss_mb``, ``cold_status``)
and ``WORKDIR/state`` holding the state that commit wrote, the commit is not run again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from fastpaths import CLI_ENV

SECTIONS = 1_000
PER_SECTION = 999  # plus the section's _index.md


def write_tree(content: Path) -> float:
    """Write the million-page tree; return the seconds it took."""
    started = time.perf_counter()
    for s in range(SECTIONS):
        directory = content / f"section-{s:04d}"
        directory.mkdir(parents=True)
        (directory / "_index.md").write_text(f"---\ntitle: Section {s}\n---\n")
        for p in range(PER_SECTION):
            (directory / f"page-{p:04d}.md").write_text(
                f"---\ntitle: Page {s}-{p}\ndate: 2024-01-{p % 28 + 1:02d}\n"
                f"tags: [t{p % 50}, t{s % 70}]\n---\n"
                f"Body of page {p} in section {s}, a short paragraph of plain text.\n"
            )
    return time.perf_counter() - started


#: The floor of a fresh-process no-op: start Python, list every directory, stat
#: every file relative to its open directory (what ``git status`` does, in C and
#: with threads; here in one thread, as incrbuild does).
FLOOR_CODE = """
import os, sys
root = sys.argv[1]
stack = [root]
while stack:
    where = stack.pop()
    fd = os.open(where, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for entry in os.scandir(fd):
            if entry.is_dir(follow_symlinks=False):
                stack.append(os.path.join(where, entry.name))
            else:
                os.stat(entry.name, dir_fd=fd)
    finally:
        os.close(fd)
"""


def timed(command: list[str]) -> tuple[float, float, str, int]:
    """Wall seconds, peak RSS in MB, stdout's tail and exit status of *command*."""
    started = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *command], capture_output=True, text=True, env=CLI_ENV
    )
    wall = time.perf_counter() - started
    rss_mb = int(done.stderr.strip().splitlines()[-1]) / 1024
    return wall, rss_mb, done.stdout[-300:], done.returncode


def measure(workdir: Path) -> dict[str, Any]:
    """Every figure of the row (the tree is written once and reused)."""
    py = sys.executable
    content, state = workdir / "content", workdir / "state"
    found: dict[str, Any] = {"pages": SECTIONS * (PER_SECTION + 1)}
    if not content.exists():
        found["generate_s"] = write_tree(content)
    cli = [py, "-m", "incrbuild"]
    reuse = os.environ.get("INCRBUILD_1M_COLD_JSON")
    if reuse and (state / "state.bin").exists():
        # The cold commit ran apart (it takes 6-13 minutes here): its figures, recorded
        # by whoever ran it, come from this file, and the state it wrote is reused.
        found.update(json.loads(Path(reuse).read_text()))
    else:
        wall, rss, _, status = timed([*cli, "commit", str(content), "--state-dir", str(state)])
        found.update(cold_commit_s=wall, cold_commit_rss_mb=rss, cold_status=status)
    time.sleep(2.2)
    runs, floors = [], []
    for _ in range(3):  # alternating, so a busy minute of a shared machine hits both
        runs.append(timed([*cli, "plan", str(content), "--state-dir", str(state)]))
        floors.append(timed([py, "-c", FLOOR_CODE, str(content)])[0])
    found["noop_s"] = min(r[0] for r in runs)
    found["floor_s"] = min(floors)
    found["noop_rss_mb"] = max(r[1] for r in runs)
    found["noop_status"] = max(r[3] for r in runs)
    found["noop_output"] = runs[-1][2].strip().splitlines()[-1:]
    code = (
        "import time, resource\n"
        "from incrbuild._state import StateStore\n"
        f"store = StateStore({str(state)!r}); best = 9e9\n"
        "for _ in range(3):\n"
        "    t = time.perf_counter(); state = store.load()\n"
        "    best = min(best, time.perf_counter() - t)\n"
        "print(best, len(state.files), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
    )
    out = subprocess.run(
        [py, "-c", code], capture_output=True, text=True, check=True, env=CLI_ENV
    ).stdout
    best, records, rss_mb = out.split()
    found.update(store_load_s=float(best), store_records=int(records))
    found["store_load_rss_mb"] = float(rss_mb)
    found["store_bytes"] = (state / "state.bin").stat().st_size
    return found


if __name__ == "__main__":
    result = measure(Path(sys.argv[1]))
    Path(sys.argv[2]).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
