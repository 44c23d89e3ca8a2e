"""The soundness oracle: full Bengal builds before and after an edit, and what they disagree on.

Bengal keeps process-wide caches, so every build runs in a fresh interpreter
(:mod:`tests.bengal.worker`), which reports the build's decision, its phase
timings and, for each output file, the page that wrote it.
"""

from __future__ import annotations

import filecmp
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from incrbuild.adapters.bengal import BengalPlan

REPO = Path(__file__).resolve().parents[2]

#: What the worker says about one output file: the page that wrote it.
OutputInfo = Mapping[str, Any]


def build(root: Path, mode: str, sources: Iterable[Path] = ()) -> dict[str, Any]:
    """Build the project at *root* with Bengal (``full`` from scratch, or ``incremental``)."""
    if mode == "full":
        shutil.rmtree(root / "public", ignore_errors=True)
        shutil.rmtree(root / ".bengal", ignore_errors=True)
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "build.json"
        completed = subprocess.run(
            [sys.executable, "-m", "tests.bengal.worker", str(root), mode, str(out)]
            + [str(s) for s in sources],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"Bengal build failed:\n{completed.stderr[-4000:]}")
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


#: Bengal's ``time_ago`` wording depends on the clock, not on the content (a post dated today
#: reads "19 hours ago", then "20 hours ago"), and so does the page's content-hash meta tag,
#: a digest of the rendered page: both are masked before comparing.
_CLOCK = re.compile(
    r"\b\d+ (?:second|minute|hour|day|week|month|year)s? ago\b|\bjust now\b|\btoday\b"
    r"|\byesterday\b|<meta name=\"bengal:content-hash\" content=\"[0-9a-f]*\">"
)


def _same_html(first: Path, second: Path) -> bool:
    if filecmp.cmp(first, second, shallow=False):
        return True
    masked = [_CLOCK.sub("<clock>", p.read_text(encoding="utf-8")) for p in (first, second)]
    return masked[0] == masked[1]


def changed_html(before: Path, after: Path) -> set[str]:
    """The HTML files (relative paths) that differ, appeared or vanished between two trees.

    Relative times ("5 hours ago") are masked: they change with the clock alone.
    """
    found: set[str] = set()
    for base, other in ((before, after), (after, before)):
        for directory, _, files in os.walk(base):
            for name in files:
                if not name.endswith(".html"):
                    continue
                relative = Path(directory, name).relative_to(base)
                twin = other / relative
                if not twin.is_file() or not _same_html(base / relative, twin):
                    found.add(relative.as_posix())
    return found


def uncovered(
    plan: BengalPlan, changed: Iterable[str], outputs: Mapping[str, OutputInfo]
) -> list[str]:
    """The changed outputs *plan* does not account for, each with what wrote it.

    A source page's output is covered when the page is planned (or removed);
    a tag page when its tag is a planned or removed term (or the tag index
    changed); a generated section page when its section is planned; the
    all-tags page by ``tag_index``; files no page wrote (search, graph, 404)
    by ``site_wide``.  *outputs* maps output paths of both builds to their writers.
    """
    inner = plan.plan
    terms = inner.terms | inner.removed_terms
    missed = []
    for output in sorted(changed):
        info = outputs.get(output)
        if info is None:
            if not plan.site_wide:
                missed.append(f"{output} (site-wide output)")
            continue
        if not info["generated"]:
            if Path(info["source"]) not in inner.pages | inner.removed_pages:
                missed.append(f"{output} (page {info['source']})")
            continue
        kind = info["type"]
        if kind == "tag" and info["tag"] in terms:
            continue
        if kind == "tag-index" and plan.tag_index:
            continue
        section = info["section"]
        if section is not None and Path(section) in inner.sections:
            continue
        missed.append(f"{output} (generated {kind})")
    return missed
