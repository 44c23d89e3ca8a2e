"""Generated sites for the benchmarks: one tree per size, settled, with a committed engine.

Every benchmark module and the report generator build their sites here, so the
"before" (RFC baseline), the references (``os.stat`` loop, ``git status``) and
incrbuild all measure the same tree in the same run.
"""

from __future__ import annotations

import itertools
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from incrbuild import DetectionMode, Engine, Plan
from incrbuild.adapters.files import open_engine
from incrbuild.testing import SyntheticSite, generate_site

#: Seconds to wait after writing a tree: a file whose mtime or ctime is within the
#: racy window (2 s) of a snapshot is re-hashed on every scan, and ctime cannot be
#: backdated, so a benchmark must wait for the tree to settle like a user would.
SETTLE_S = 2.1


def best_of(run: Callable[[], object], repeats: int) -> float:
    """The fastest of *repeats* runs, in seconds: the least disturbed by other load."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def median_of(run: Callable[[], object], repeats: int) -> float:
    """The median of *repeats* runs, in seconds."""
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


class BenchSite:
    """A generated, settled content tree of *pages* pages, with edits that each return paths."""

    def __init__(self, pages: int, *, seed: int = 7, git: bool = False) -> None:
        self.pages = pages
        self.workdir = Path(tempfile.mkdtemp(prefix=f"incrbuild-bench-{pages}-"))
        self.content = self.workdir / "content"
        self.synthetic: SyntheticSite = generate_site(self.content, pages=pages, seed=seed)
        self.counter = itertools.count()
        self.git = git
        if git:
            self._git_init()
        time.sleep(SETTLE_S)
        if git:
            self.git_status()  # refresh git's index stat cache after settling

    # -- references -------------------------------------------------------------

    def all_files(self) -> list[str]:
        """Every file under the tree (what a bare stat loop visits), as strings."""
        found = []
        for directory, dirs, files in os.walk(self.content):
            dirs[:] = [name for name in dirs if not name.startswith(".")]
            found.extend(os.path.join(directory, name) for name in files)
        return found

    def files_by_directory(self) -> list[tuple[str, list[str]]]:
        """Every file grouped by its directory: for a stat loop relative to directory fds."""
        grouped: dict[str, list[str]] = {}
        for name in self.all_files():
            directory, _, base = name.rpartition("/")
            grouped.setdefault(directory, []).append(base)
        return list(grouped.items())

    def _git_init(self) -> None:
        env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.com"}
        env |= {"GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.com"}
        for command in (
            ["git", "init", "-q"],
            ["git", "add", "-A"],
            ["git", "commit", "-q", "-m", "site"],
        ):
            subprocess.run(command, cwd=self.content, check=True, env=env, capture_output=True)

    def git_status(self) -> str:
        """``git status --porcelain`` of the tree (C, parallel lstat with an index)."""
        done = subprocess.run(
            ["git", "status", "--porcelain"],
            cwd=self.content,
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout

    # -- incrbuild ----------------------------------------------------------------

    def open_engine(
        self, mode: DetectionMode = DetectionMode.STAT, *, name: str = "state", **options: object
    ) -> Engine:
        """An engine over the tree with its first full plan committed."""
        engine = open_engine(self.content, state_dir=self.workdir / name, mode=mode, **options)
        engine.commit(engine.plan())
        return engine

    # -- edits --------------------------------------------------------------------

    def _existing_page(self, number: int) -> Path:
        """The generated page at *number* (modulo), or the next one an earlier delete left."""
        pages = self.synthetic.pages
        for offset in range(len(pages)):
            page = pages[(number + offset) % len(pages)]
            if page.exists():
                return page
        raise LookupError("every generated page was deleted")

    def edit_body(self) -> list[Path]:
        """Append a line to one page's body."""
        n = next(self.counter)
        page = self._existing_page(n * 7919)
        page.write_text(page.read_text(encoding="utf-8") + f"\nbody {n}\n", encoding="utf-8")
        return [page]

    def edit_cascade(self) -> list[Path]:
        """Change the cascade of one section's ``_index.md``."""
        n = next(self.counter)
        index = self.synthetic.index_pages[n % len(self.synthetic.index_pages)]
        text = index.read_text(encoding="utf-8")
        index.write_text(text.replace("banner: ", f"banner: c{n}-", 1), encoding="utf-8")
        return [index]

    def edit_tags(self) -> list[Path]:
        """Add a new tag to one page."""
        n = next(self.counter)
        page = self._existing_page(n * 104729)
        text = page.read_text(encoding="utf-8")
        page.write_text(text.replace("tags: [", f"tags: [bench-{n}, ", 1), encoding="utf-8")
        return [page]

    def add_and_delete(self) -> list[Path]:
        """Add a page to one section and delete another page from it."""
        n = next(self.counter)
        section = self.synthetic.sections[n % len(self.synthetic.sections)]
        new = section / f"added-{n}.md"
        new.write_text(f"---\ntitle: Added {n}\ntags: [tag-0001]\n---\nnew\n", encoding="utf-8")
        victims = sorted(section.glob("page-*.md"))
        victim = victims[n % len(victims)]
        victim.unlink()
        return [new, victim]

    def close(self) -> None:
        """Delete the tree."""
        shutil.rmtree(self.workdir, ignore_errors=True)


EDITS: dict[str, Callable[[BenchSite], list[Path]]] = {
    "body": BenchSite.edit_body,
    "cascade": BenchSite.edit_cascade,
    "tags": BenchSite.edit_tags,
    "add+delete": BenchSite.add_and_delete,
}


def stat_relative(groups: list[tuple[str, list[str]]]) -> int:
    """Stat every file relative to an open fd of its directory: the floor with short paths."""
    count = 0
    for directory, names in groups:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for name in names:
                os.stat(name, dir_fd=fd, follow_symlinks=False)
                count += 1
        finally:
            os.close(fd)
    return count


def plan_and_commit(engine: Engine, *, paths: list[Path] | None = None) -> tuple[Plan, float]:
    """Plan (from *paths* if given, else a full scan), commit, and return the plan's time."""
    started = time.perf_counter()
    plan = engine.plan() if paths is None else engine.plan_paths(paths)
    elapsed = time.perf_counter() - started
    engine.commit(plan)
    return plan, elapsed
