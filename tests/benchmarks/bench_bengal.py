"""incrbuild's decision beside Bengal's own incremental filter, on a generated Bengal project.

Run under Python 3.14 with Bengal installed (``nox -s bengal`` makes such an
environment in ``.nox/bengal-py314``)::

    python tests/benchmarks/bench_bengal.py                 # 1,000 pages
    python tests/benchmarks/bench_bengal.py --verify        # also full builds: misses
    python tests/benchmarks/bench_bengal.py --pages 300 --repeat 9

It creates a project with ``bengal new site`` plus generated pages, builds it
once, then applies each kind of edit.  Per edit it times our decision
(``engine.plan()`` plus the Bengal rules, after Bengal's own discovery, which
both sides need and which is reported apart), runs Bengal's incremental build
with ``explain`` to read its decision and its "Config/filter" phase, and with
``--verify`` a full build, to count the changed pages our plan misses and
the stale pages Bengal's incremental build left.  It prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.bengal import oracle, sitegen  # noqa: E402


def run(pages: int, *, repeat: int, verify: bool, workdir: Path) -> list[dict[str, Any]]:
    """Measure every edit kind on a *pages*-page project under *workdir*; return one row each."""
    from incrbuild.adapters.bengal import BengalProject, load_site

    root = sitegen.new_project(workdir)
    sitegen.add_content(root, pages=pages, sections=max(3, pages // 80), tags=max(6, pages // 40))
    started = time.perf_counter()
    first = oracle.build(root, "full")
    print(f"cold full build: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    if verify:
        shutil.copytree(root / "public", workdir / "truth")
    outputs = first["outputs"]
    project = BengalProject(root, state_dir=workdir / "state")
    project.engine.commit(project.plan().plan)
    rows = []
    for name in sitegen.EDITS:
        time.sleep(1.1)  # a fresh second, so neither side's change detection is racy
        sitegen.apply_edit(name, root / "content")
        began = time.perf_counter()
        project.site = load_site(root)
        discovery_ms = (time.perf_counter() - began) * 1000
        project.engine.set_site(project.site)
        plans = [project.plan(rediscover=False) for _ in range(repeat)]
        plan = plans[-1]
        ours_ms = statistics.median(p.decision_ns for p in plans) / 1e6
        bengal = oracle.build(root, "incremental")
        row: dict[str, Any] = {
            "edit": name,
            "ours_ms": ours_ms,
            "discovery_ms": discovery_ms,
            "bengal_ms": bengal["filter_ms"],
            "our_pages": len(plan.pages),
            "bengal_pages": len(bengal["decision"] or ()),
            "bengal_build_s": sum(bengal["phases_ms"].values()) / 1000,
        }
        if verify:
            shutil.copytree(root / "public", workdir / "incremental", dirs_exist_ok=True)
            after = oracle.build(root, "full")
            changed = oracle.changed_html(workdir / "truth", root / "public")
            writers = {**outputs, **after["outputs"]}
            row["changed"] = len(changed)
            missed = oracle.uncovered(plan, changed, writers)
            row["misses"] = len(missed)
            for output in missed:
                print(f"{name}: missed {output}", file=sys.stderr)
            row["bengal_stale"] = len(oracle.changed_html(workdir / "incremental", root / "public"))
            shutil.rmtree(workdir / "incremental")
            shutil.rmtree(workdir / "truth")
            shutil.copytree(root / "public", workdir / "truth")
            outputs = after["outputs"]
        project.engine.commit(plan.plan)
        rows.append(row)
        print(f"{name}: done", file=sys.stderr)
    return rows


def table(rows: list[dict[str, Any]], pages: int) -> str:
    """The rows as a Markdown table, with the machine they were measured on."""
    verify = "misses" in rows[0]
    head = "| edit | ours (ms) | Bengal filter (ms) | speed-up | our pages | Bengal pages |"
    rule = "|---|---:|---:|---:|---:|---:|"
    if verify:
        head += " HTML changed | our misses | Bengal stale |"
        rule += "---:|---:|---:|"
    lines = [head, rule]
    for row in rows:
        bengal_ms = row["bengal_ms"]
        speedup = f"{bengal_ms / row['ours_ms']:.0f}x" if bengal_ms else "n/a"
        line = (
            f"| {row['edit']} | {row['ours_ms']:.2f} | {bengal_ms if bengal_ms else 'n/a'} "
            f"| {speedup} | {row['our_pages']} | {row['bengal_pages']} |"
        )
        if verify:
            line += f" {row['changed']} | {row['misses']} | {row['bengal_stale']} |"
        lines.append(line)
    discovery = statistics.median(row["discovery_ms"] for row in rows)
    lines.append("")
    lines.append(
        f"{pages} generated pages plus the blog template's; Bengal's discovery (both sides "
        f"need it, not in either column): median {discovery:.0f} ms.  "
        f"Python {platform.python_version()}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs, shared with other work."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5, help="our plans per edit (median)")
    parser.add_argument("--verify", action="store_true", help="full builds: misses, staleness")
    parser.add_argument("--workdir", type=Path, help="keep the project here")
    args = parser.parse_args(argv)
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        rows = run(args.pages, repeat=args.repeat, verify=args.verify, workdir=args.workdir)
    else:
        with tempfile.TemporaryDirectory(prefix="bench-bengal-") as scratch:
            rows = run(args.pages, repeat=args.repeat, verify=args.verify, workdir=Path(scratch))
    print(table(rows, args.pages))
    return 0


def test_bengal_benchmark_smoke(tmp_path: Path) -> None:
    """The benchmark runs end to end on a small project (needs Bengal, Python 3.14)."""
    import pytest

    pytest.importorskip("bengal")
    rows = run(40, repeat=1, verify=True, workdir=tmp_path)
    assert [row["edit"] for row in rows] == list(sitegen.EDITS)
    assert all(row["misses"] == 0 for row in rows)
    assert "| edit |" in table(rows, 40)


if __name__ == "__main__":
    raise SystemExit(main())
