"""``incrbuild demo``: a guided walk through incremental decisions on a generated site."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import attrs

from incrbuild._engine import Engine
from incrbuild._plan import Plan
from incrbuild._synthetic import SyntheticSite, generate_site

__all__ = ["run_demo"]


@attrs.frozen
class _Row:
    step: str
    detected: str
    rebuild: int
    terms: int
    full_rebuild: int
    decision_ms: float
    example: str


def _progress(done: int, total: int) -> None:
    width = 30
    filled = int(width * done / total)
    sys.stderr.write(f"\r  generating  [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    # Same-length replacement keeps the size: only a racy-safe detector sees it.
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _scenarios(site: SyntheticSite) -> list[tuple[str, Callable[[], None]]]:
    page = site.pages[len(site.pages) // 2]
    tagged = site.pages[7]
    index = site.index_pages[0] if site.index_pages else site.pages[0]
    new_page = site.sections[-1] / "page-new.md"
    doomed = site.pages[-1]

    def no_op() -> None:
        pass

    def edit_body() -> None:
        _edit(page, "## ", "## Edited ")

    def edit_cascade() -> None:
        _edit(index, "banner: banner-", "banner: banner-x")

    def edit_tags() -> None:
        text = tagged.read_text(encoding="utf-8")
        head, _, rest = text.partition("tags: [")
        tagged.write_text(f"{head}tags: [demo-new-tag, {rest}", encoding="utf-8")

    def add_and_delete() -> None:
        new_page.write_text(
            "---\ntitle: A new page\ntags: [tag-0000]\n---\nHello.\n", encoding="utf-8"
        )
        doomed.unlink()

    root = site.root
    return [
        ("no-op", no_op),
        (f"edit body of {page.relative_to(root)}", edit_body),
        (f"edit cascade in {index.relative_to(root)}", edit_cascade),
        (f"add a tag to {tagged.relative_to(root)}", edit_tags),
        ("add one page, delete one", add_and_delete),
    ]


def _describe(plan: Plan) -> str:
    changes = plan.changes
    parts = []
    for label, items in (
        ("added", changes.added),
        ("modified", changes.modified),
        ("removed", changes.removed),
    ):
        if items:
            parts.append(f"{len(items)} {label}")
    return ", ".join(parts) or "nothing"


def _example(plan: Plan, root: Path) -> str:
    candidates = sorted(plan.pages - plan.changes.changed) or sorted(plan.pages)
    if not candidates:
        return "-"
    path = candidates[0]
    why = plan.why(path)
    return f"{path.relative_to(root)}: {why[0] if why else '?'}"


def _table(rows: list[_Row]) -> str:
    headers = ("step", "detected", "rebuild", "tag pages", "full build", "decision")
    cells = [
        (
            row.step,
            row.detected,
            str(row.rebuild),
            str(row.terms),
            str(row.full_rebuild),
            f"{row.decision_ms:.1f} ms",
        )
        for row in rows
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    rule = "-+-".join("-" * w for w in widths)
    lines = [" | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)), rule]
    for cell in cells:
        lines.append(
            " | ".join(
                (c.rjust(w) if i >= 2 else c.ljust(w))
                for i, (c, w) in enumerate(zip(cell, widths, strict=True))
            )
        )
    return "\n".join(lines)


def run_demo(*, pages: int = 3000, keep: Path | None = None, seed: int = 0) -> int:
    """Generate a site, build it, then plan five kinds of edit; print what was decided."""
    from incrbuild.adapters.files import open_engine

    workdir = Path(keep) if keep is not None else Path(tempfile.mkdtemp(prefix="incrbuild-demo-"))
    root = workdir / "content"
    if root.exists():
        shutil.rmtree(root)
    print(f"incrbuild demo: a {pages}-page sample site in {root}")
    started = time.perf_counter()
    # A progress bar is for a person at a terminal, never for a pipe or a log file.
    site = generate_site(
        root, pages=pages, seed=seed, progress=_progress if sys.stderr.isatty() else None
    )
    print(
        f"  {len(site.pages)} pages, {len(site.sections)} sections "
        f"({len(site.index_pages)} with a cascade), {len(site.tags)} tags "
        f"in {time.perf_counter() - started:.1f} s"
    )
    # Files written in the last two seconds are "racy": a same-size rewrite could keep their
    # stat, so the detector would hash them on every plan.  Let the fresh tree settle first.
    print("  waiting 2 s for the fresh files to leave the racy window")
    time.sleep(2.1)
    try:
        engine: Engine = open_engine(root, state_dir=workdir / "state", navigation=True)
        first = engine.plan()
        engine.commit(first)
        print(
            f"  full build: {len(first.pages)} pages planned in {first.stats.total_ns / 1e6:.0f} ms"
            f" ({first.stats.pages_read} sources read), state committed\n"
        )
        rows = []
        for name, action in _scenarios(site):
            action()
            plan = engine.plan()
            engine.commit(plan)
            rows.append(
                _Row(
                    step=name,
                    detected=_describe(plan),
                    rebuild=len(plan.pages),
                    terms=len(plan.terms) + len(plan.removed_terms),
                    full_rebuild=plan.stats.site_pages,
                    decision_ms=plan.stats.total_ns / 1e6,
                    example=_example(plan, root),
                )
            )
            print(f"- {name}: {_describe(plan)} -> rebuild {len(plan.pages)} page(s)")
            print(f"    e.g. {rows[-1].example}")
            print(
                f"    {plan.stats.detector.files_stat} stats, "
                f"{plan.stats.detector.dirs_listed} directory listings, "
                f"{plan.stats.pages_read} sources read"
            )
        print()
        print(_table(rows))
        print(
            "\nA full rebuild renders every page each time; incrbuild renders only what the"
            "\nchange reaches, and never skips a page whose inputs changed."
        )
    finally:
        if keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"\nThe site and its state are kept in {os.fspath(workdir)}")
    return 0
