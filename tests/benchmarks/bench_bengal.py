"""Builds through incrbuild beside Bengal's full and incremental builds, on real Bengal projects.

Run under Python 3.14 with Bengal installed (``nox -s bengal`` makes such an
environment in ``.nox/bengal-py314``)::

    python tests/benchmarks/bench_bengal.py                       # 3 templates + 1,000 pages
    python tests/benchmarks/bench_bengal.py --templates blog --pages 0
    python tests/benchmarks/bench_bengal.py --templates "" --pages 1000 --edits body,title
    python tests/benchmarks/bench_bengal.py --workdir /somewhere/kept   # not under /tmp

Each project is made by ``bengal new site`` (templates blog, docs, portfolio)
plus generated pages (``tests/bengal/sitegen.py``); the last one has
``--pages`` generated pages.  Per edit kind (one after another on the same
project): Bengal's own incremental build of the edit (from the pre-edit
output and cache, restored after it), then our plan and
``BengalProject.build`` (timed together: decision plus Bengal's render of
the plan), then a clean full build of the same sources in a fresh directory
(another interpreter).  Both incremental outputs are compared file by file
with the full build (``tests/bengal/oracle.py``).  Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.bengal import scenario, sitegen  # noqa: E402

#: Edits that need the blog template's own posts (none: the generated pages carry authors).
_BLOG_ONLY: frozenset[str] = frozenset()

HEADER = (
    "| edit | stale | misses | HTML changed | rendered | precision | Bengal inc. stale "
    "| ours (plan + build) | Bengal inc. | full | full / ours |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def row(name: str, outcome: scenario.Outcome) -> str:
    """One Markdown row."""
    check = outcome.check
    bengal_stale = "-" if outcome.bengal_stale is None else str(len(outcome.bengal_stale))
    bengal_s = "-" if outcome.bengal_build_s is None else f"{outcome.bengal_build_s:.1f} s"
    ours = outcome.our_build_s
    return (
        f"| {name} | {len(check.stale)} | {len(check.missed)} | {len(check.changed)} "
        f"| {len(check.rendered)} | {check.precision:.2f} | {bengal_stale} "
        f"| {ours:.1f} s | {bengal_s} | {outcome.full_build_s:.1f} s "
        f"| {outcome.full_build_s / ours:.1f}x |"
    )


def measure(template: str, pages: int, edits: list[str], workdir: Path) -> None:
    """Measure *edits* on a *template* project with *pages* generated pages."""
    workdir.mkdir(parents=True, exist_ok=True)
    root = sitegen.new_project(workdir, template=template)
    sections = max(3, pages // 80)
    sitegen.add_content(root, pages=pages, sections=sections, tags=max(6, pages // 40))
    chosen = [e for e in edits if template == "blog" or e not in _BLOG_ONLY]
    print(f"\n### `bengal new site --template {template}` + {pages} generated pages\n")
    print(HEADER, flush=True)

    def show(name: str, outcome: scenario.Outcome) -> None:
        print(row(name, outcome), flush=True)
        for label, files in (("stale", outcome.check.stale), ("missed", outcome.check.missed)):
            if files:
                print(f"<!-- {name} {label}: {sorted(files)[:10]} -->", flush=True)

    started = time.perf_counter()
    scenario.run(
        root, workdir / "scratch", chosen, sitegen.apply_edit, on_outcome=show, measure=True
    )
    print(f"\n({time.perf_counter() - started:.0f} s for this project)", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--templates", default="blog,docs,portfolio")
    parser.add_argument("--small-pages", type=int, default=30)
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--edits", default=",".join(sitegen.EDITS))
    parser.add_argument("--big-edits", default=",".join(sitegen.BENCH_EDITS))
    parser.add_argument(
        "--workdir",
        type=Path,
        help="where the projects and builds go (default: a temporary directory, removed after);"
        " long runs want one that no clean-up of /tmp removes mid-run",
    )
    args = parser.parse_args()
    import bengal

    print(
        f"Python {platform.python_version()}, Bengal {bengal.__version__}, "
        f"{os.cpu_count()} CPUs ({platform.machine()}), shared with other work"
    )
    edits = [e for e in args.edits.split(",") if e]
    with tempfile.TemporaryDirectory(prefix="bench-bengal-") as temporary:
        scratch = Path(temporary) if args.workdir is None else args.workdir
        for template in [t for t in args.templates.split(",") if t]:
            measure(template, args.small_pages, edits, scratch / template)
        if args.pages:
            big = [e for e in args.big_edits.split(",") if e]
            measure("blog", args.pages, big, scratch / "big")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
