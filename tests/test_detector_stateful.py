"""The change detector against the truth: a real directory driven through random operations.

The model keeps the bytes of every file as of the last commit; after any
sequence of operations the detector's added/modified/removed must equal the
difference between that and what is on disk now: no miss, and no false
"modified" either (content digests make the answer exact).
"""

from __future__ import annotations

import collections
import os
import shutil
import tempfile
import time
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    precondition,
    rule,
)

from incrbuild import Engine, Plan
from incrbuild.adapters.files import FilesLoader

from .helpers import SECONDS, quantised_stat

#: What the machines exercised, summed over a run (read by the report, not asserted here).
EXERCISED: collections.Counter[str] = collections.Counter()
DIRS = ["", "a", "b", "a/deep"]
NAMES = ["x.txt", "y.txt", "z.bin", "ü ñ.txt", "page.md"]
CONTENTS = st.binary(min_size=0, max_size=12)


def truth(root: Path) -> dict[str, bytes]:
    """Every tracked file below *root* (hidden entries skipped, links to dirs not followed)."""
    found: dict[str, bytes] = {}
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if name.startswith("."):
                continue
            path = Path(directory) / name
            found[path.relative_to(root).as_posix()] = path.read_bytes()
    return found


class DetectorMachine(RuleBasedStateMachine):
    """Random file-system operations, with plan and commit in between, checked against truth."""

    files = Bundle("files")
    quantised = False
    racy_window_ns = 20_000_000

    def __init__(self) -> None:
        super().__init__()
        self.workdir = Path(tempfile.mkdtemp(prefix="incrbuild-machine-"))
        self.root = self.workdir / "content"
        self.root.mkdir()
        self.engine = Engine(
            loader=FilesLoader(self.root),
            content_dir=self.root,
            state_dir=self.workdir / "state",
            racy_window_ns=self.racy_window_ns,
        )
        if self.quantised:
            self.engine.detector.stat = quantised_stat
        self.committed: dict[str, bytes | None] = {}
        self.pending: tuple[Plan, dict[str, bytes]] | None = None
        self.plans = 0
        self.events: set[Path] = set()

    def _event(self, *paths: Path) -> None:
        """What a perfect file watcher would report for the operation just done."""
        self.events.update(paths)

    def teardown(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _path(self, rel: str) -> Path:
        return self.root / rel

    # -- operations ------------------------------------------------------------------

    @rule(target=files, directory=st.sampled_from(DIRS), name=st.sampled_from(NAMES), data=CONTENTS)
    def create(self, directory: str, name: str, data: bytes) -> str:
        """Create (or overwrite) a file, making its directory if needed."""
        rel = f"{directory}/{name}" if directory else name
        path = self._path(rel)
        if path.is_dir():
            shutil.rmtree(path)
        for parent in reversed(path.relative_to(self.root).parents[:-1]):
            full = self.root / parent
            if full.exists() and not full.is_dir():
                full.unlink()
        self._event(*(self.root / p for p in path.relative_to(self.root).parents), path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return rel

    @rule(rel=files, data=st.data())
    def rewrite_same_size(self, rel: str, data: st.DataObject) -> None:
        """Rewrite a file in place with different bytes of the same length (racy if same tick)."""
        path = self._path(rel)
        if not path.is_file():
            return
        old = path.read_bytes()
        new = data.draw(st.binary(min_size=len(old), max_size=len(old)))
        with open(path, "r+b") as handle:
            handle.write(new)
        self._event(path)

    @rule(rel=files, data=CONTENTS)
    def rewrite_in_place(self, rel: str, data: bytes) -> None:
        """Rewrite a file in place (size may change); the directory's mtime does not."""
        path = self._path(rel)
        if path.is_file():
            with open(path, "r+b") as handle:
                handle.truncate(0)
                handle.write(data)
            self._event(path)

    @rule(rel=files, shift=st.sampled_from([-3, 2]))
    def touch(self, rel: str, shift: int) -> None:
        """Touch a file to a different mtime, past or future, keeping its content (not a change)."""
        path = self._path(rel)
        if path.is_file():
            stamp = path.stat().st_mtime_ns + shift * SECONDS
            os.utime(path, ns=(stamp, stamp))
            self._event(path)

    @rule(rel=files, data=CONTENTS)
    def atomic_save(self, rel: str, data: bytes) -> None:
        """Save like an editor: write a hidden temp file, then rename it over the original."""
        path = self._path(rel)
        if path.is_file():
            temp = path.parent / f".{path.name}.swp"
            temp.write_bytes(data)
            os.replace(temp, path)
            self._event(temp, path)

    @rule(rel=consumes(files))
    def delete(self, rel: str) -> None:
        """Delete a file."""
        path = self._path(rel)
        if path.is_file():
            path.unlink()
            self._event(path)

    @rule(
        target=files,
        rel=consumes(files),
        directory=st.sampled_from(DIRS),
        name=st.sampled_from(NAMES),
    )
    def rename(self, rel: str, directory: str, name: str) -> str:
        """Rename a file within its section or across sections."""
        path = self._path(rel)
        new_rel = f"{directory}/{name}" if directory else name
        target = self._path(new_rel)
        if not path.is_file() or target.is_dir() or not self._can_hold(target):
            return rel
        self._event(path, target, *(self.root / p for p in target.relative_to(self.root).parents))
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        return new_rel

    @rule(target=files, name=st.sampled_from(["new1", "new2"]), data=CONTENTS)
    def new_section(self, name: str, data: bytes) -> str:
        """Create a new section directory holding one file."""
        directory = self._path(f"a/{name}")
        if not self._can_hold(directory / "f.txt") or (directory / "f.txt").is_dir():
            return "a/nothing"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "f.txt").write_bytes(data)
        self._event(directory, directory / "f.txt")
        return f"a/{name}/f.txt"

    @rule(directory=st.sampled_from(["a", "b", "a/deep", "a/new1"]))
    def remove_directory(self, directory: str) -> None:
        """Remove a whole directory tree."""
        path = self._path(directory)
        if path.is_dir():
            shutil.rmtree(path)
            self._event(path)

    @rule(rel=files, data=CONTENTS, years=st.integers(min_value=1, max_value=20))
    def copy_with_old_mtime(self, rel: str, data: bytes, years: int) -> None:
        """Overwrite a file and set its mtime into the past, as ``cp -p``/``tar x`` do."""
        path = self._path(rel)
        if path.is_file():
            stamp = time.time_ns() - years * 365 * 86400 * SECONDS
            path.write_bytes(data)
            os.utime(path, ns=(stamp, stamp))
            self._event(path)

    @rule(rel=consumes(files), data=CONTENTS)
    def replace_file_by_directory(self, rel: str, data: bytes) -> None:
        """Replace a file by a directory of the same name holding a file."""
        path = self._path(rel)
        if path.is_file():
            path.unlink()
            path.mkdir()
            (path / "inner.txt").write_bytes(data)
            self._event(path, path / "inner.txt")

    @rule(seconds=st.sampled_from([0.0, 0.025]))
    def time_passes(self, seconds: float) -> None:
        """Let time pass, so earlier writes leave the racy window."""
        if seconds and not self.quantised:
            time.sleep(seconds)

    def _can_hold(self, target: Path) -> bool:
        for parent in target.relative_to(self.root).parents:
            full = self.root / parent
            if full.exists() and not full.is_dir():
                return False
        return True

    # -- plan and commit -------------------------------------------------------------

    @rule()
    def plan(self) -> None:
        """Plan, and check the change set against the truth since the last commit."""
        current = truth(self.root)
        plan = self._make_plan()
        self.plans += 1
        rel = self._relative
        expected_added = current.keys() - self.committed.keys()
        expected_removed = self.committed.keys() - current.keys()
        # A file in errors at the last commit (content None) stays known: changed until clean.
        expected_modified = {
            k
            for k in current.keys() & self.committed.keys()
            if self.committed[k] is None or current[k] != self.committed[k]
        }
        assert all(p.suffix == ".md" for p, _ in plan.changes.errors)
        assert rel(plan.changes.added) == expected_added, "added"
        assert rel(plan.changes.removed) == expected_removed, "removed"
        assert rel(plan.changes.modified) == expected_modified, "modified"
        self.pending = (plan, current)
        detector = plan.stats.detector
        EXERCISED.update(
            plans=1,
            racy_checks=detector.racy_checks,
            early_cutoffs=detector.early_cutoffs,
            listings_reused=detector.dirs_stat - detector.dirs_listed,
            modified=len(expected_modified),
        )

    def _make_plan(self) -> Plan:
        self.events.clear()
        return self.engine.plan()

    @precondition(lambda self: self.pending is not None)
    @rule()
    def commit(self) -> None:
        """Commit the last plan: what it saw becomes the new baseline (later edits stay pending)."""
        assert self.pending is not None
        plan, seen = self.pending
        self.engine.commit(plan)
        # A file that could not be checked stays known with unknown content: it is reported
        # changed until it reads cleanly, and removed if it goes.
        errored = self._relative(frozenset(path for path, _ in plan.changes.errors))
        self.committed = {k: None if k in errored else v for k, v in seen.items()}
        self.pending = None

    @invariant()
    def only_commit_writes_state(self) -> None:
        """Planning never writes the state file; only commit does."""
        assert (self.workdir / "state").exists() == bool(
            (self.workdir / "state" / "state.bin").exists()
        )

    def _relative(self, paths: frozenset[Path]) -> set[str]:
        return {p.relative_to(self.root).as_posix() for p in paths}


class WatchedMachine(DetectorMachine):
    """The same, planning from a perfect watcher's events only (after a first full plan)."""

    def _make_plan(self) -> Plan:
        events, self.events = set(self.events), set()
        plan = self.engine.plan_paths(events)
        EXERCISED.update(partial_plans=int(plan.detection is not None and plan.detection.partial))
        return plan


class CoarseClockMachine(DetectorMachine):
    """The same, with whole-second timestamps: same-second rewrites keep the stat tuple."""

    quantised = True
    racy_window_ns = SECONDS + 50_000_000


steps = max(20, settings.default.stateful_step_count)
examples = settings.default.max_examples

TestDetectorAgainstTruth = DetectorMachine.TestCase
TestDetectorAgainstTruth.settings = settings(
    max_examples=examples, stateful_step_count=steps, deadline=None
)
TestWatchedDetectorAgainstTruth = WatchedMachine.TestCase
TestWatchedDetectorAgainstTruth.settings = settings(
    max_examples=examples, stateful_step_count=steps, deadline=None
)
TestDetectorWithCoarseTimestamps = CoarseClockMachine.TestCase
TestDetectorWithCoarseTimestamps.settings = settings(
    max_examples=examples, stateful_step_count=steps, deadline=None
)
