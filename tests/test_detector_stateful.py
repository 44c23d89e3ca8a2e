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
import warnings
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from incrbuild import Engine, Plan, StateWarning
from incrbuild._state import StateStore
from incrbuild.adapters.files import FilesLoader
from incrbuild.lowlevel import detector_of

from .helpers import SECONDS, quantised_stat

#: What the machines exercised, summed over a run (read by the report, not asserted here).
EXERCISED: collections.Counter[str] = collections.Counter()
DIRS = ["", "a", "b", "a/deep"]
#: Odd but valid names: spaces, non-ASCII, a newline, a tab, a leading dash, a percent,
#: bytes that are not UTF-8.
NAMES = [
    "x.txt",
    "y.txt",
    "z.bin",
    "ü ñ.txt",
    "page.md",
    "new\nline.txt",
    "-\t%20.md",
    os.fsdecode(b"caf\xe9.md"),  # not UTF-8: kept as str with surrogateescape
]
CONTENTS = st.binary(min_size=0, max_size=12)
#: Where a link points: a tracked file or directory (relative to the root), a file or a
#: directory outside the tree, nothing (dangling), or itself (a loop).
LINK_TARGETS = [
    "x.txt",
    "a/x.txt",
    "a",
    "a/deep",
    "<outside>",
    "<outside-dir>",
    "<missing>",
    "<self>",
]


def truth(root: Path) -> dict[str, bytes | None]:
    """Every tracked file below *root*: its bytes, or ``None`` if it cannot be read.

    Hidden entries are skipped; links to files are followed (the target's bytes);
    links to directories are not followed; a dangling link is no file; a link
    loop is a file that cannot be read (an error, reported as changed).
    """
    found: dict[str, bytes | None] = {}
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = [
            d for d in dirnames if not d.startswith(".") and not (Path(directory) / d).is_symlink()
        ]
        for name in filenames:
            if name.startswith("."):
                continue
            path = Path(directory) / name
            try:
                found[path.relative_to(root).as_posix()] = path.read_bytes()
            except (FileNotFoundError, NotADirectoryError):
                continue  # a dangling link (its target, or a directory on the way, is gone)
            except OSError:
                found[path.relative_to(root).as_posix()] = None  # link loop
    return found


def committed_view(state_dir: Path) -> object:
    """What a fresh load of the store says was built.

    Stat stamps and directory listings are left out: they are a cache of the tree that a
    verified no-op scan may refresh in the store (git's racy refresh), not a record of
    what was built. A plan that commits still changes the commit id.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StateWarning)  # no store yet: the empty state
        state = StateStore(state_dir).load()
    return (
        state.commit_id,
        {key: (record.digest, record.front_matter) for key, record in state.files.items()},
        state.dependencies,
        state.outputs,
    )


class DetectorMachine(RuleBasedStateMachine):
    """Random file-system operations, with plan and commit in between, checked against truth."""

    files = Bundle("files")
    quantised = False
    racy_window_ns = 20_000_000

    relative = False
    outside_links = True

    def __init__(self) -> None:
        super().__init__()
        self.original_cwd = os.getcwd()
        self.workdir = Path(tempfile.mkdtemp(prefix="incrbuild-machine-"))
        self.root = self.workdir / "content"
        self.root.mkdir()
        self.outside = self.workdir / "outside"
        (self.outside / "dir").mkdir(parents=True)
        (self.outside / "o.txt").write_bytes(b"outside")
        if self.relative:
            # As a host following the README does: relative paths, from the project directory.
            os.chdir(self.workdir)
            self.engine = Engine(
                loader=FilesLoader(Path("content")),
                content_dir="content",
                state_dir="state",
                racy_window_ns=self.racy_window_ns,
            )
        else:
            self.engine = Engine(
                loader=FilesLoader(self.root),
                content_dir=self.root,
                state_dir=self.workdir / "state",
                racy_window_ns=self.racy_window_ns,
            )
        if self.quantised:
            detector_of(self.engine).stat = quantised_stat
        self.committed: dict[str, bytes | None] = {}
        self.pending: tuple[Plan, dict[str, bytes | None]] | None = None
        self.plans = 0
        self.events: set[Path] = set()
        self.state_view = committed_view(self.workdir / "state")

    def _event(self, *paths: Path) -> None:
        """What a perfect watcher of the content directory would report for the last operation.

        An edit made through a link is reported on the link's target (and not at all if
        the target lies outside the content directory).
        """
        for path in paths:
            if path.is_symlink():
                real = Path(os.path.realpath(path))
                if self.root in real.parents:
                    self.events.add(real)
                continue
            self.events.add(path)

    def teardown(self) -> None:
        os.chdir(self.original_cwd)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _path(self, rel: str) -> Path:
        return self.root / rel

    # -- operations ------------------------------------------------------------------

    @initialize(target=files, committed=st.booleans())
    def populate(self, committed: bool) -> object:
        """Start from a tree with pages, assets and links to them, usually already committed.

        Random programs are short: starting from a built tree makes each step count.
        """
        for rel, data in [("x.txt", b"x"), ("a/x.txt", b"ax"), ("b/page.md", b"---\nt: 1\n---\n")]:
            self._path(rel).parent.mkdir(parents=True, exist_ok=True)
            self._path(rel).write_bytes(data)
        links = [self._link("", "y.txt", "x.txt"), self._link("a", "page.md", "b/page.md")]
        if committed:
            self.plan()
            self.commit()
        return multiple("x.txt", "a/x.txt", "b/page.md", *links)

    @rule(target=files, directory=st.sampled_from(DIRS), name=st.sampled_from(NAMES), data=CONTENTS)
    def create(self, directory: str, name: str, data: bytes) -> str:
        """Create (or overwrite) a file, making its directory if needed."""
        rel = f"{directory}/{name}" if directory else name
        path = self._path(rel)
        if path.is_symlink() and not path.is_file():
            path.unlink()  # a link to a directory, dangling or looping: replaced by the file
        elif path.is_dir() and not path.is_symlink():
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
        if path.is_file() or path.is_symlink():
            path.unlink()
            self.events.add(path)

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
        if (
            not (path.is_file() or path.is_symlink())
            or (target.is_dir() and not target.is_symlink())
            or not self._can_hold(target)
        ):
            return rel
        # The entries themselves move (a link is renamed, not its target).
        self.events.update(
            {path, target, *(self.root / p for p in target.relative_to(self.root).parents)}
        )
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

    @rule(
        target=files,
        directory=st.sampled_from(DIRS),
        name=st.sampled_from(NAMES),
        to=st.one_of(files, st.sampled_from(LINK_TARGETS)),
    )
    def link(self, directory: str, name: str, to: str) -> str:
        """Create or retarget a symbolic link (to a file, a directory, outside, nothing, itself)."""
        if not self.outside_links and to.startswith("<outside"):
            to = "<missing>"  # keep event-fed plans event-fed (see WatchedMachine)
        return self._link(directory, name, to)

    def _link(self, directory: str, name: str, to: str) -> str:
        rel = f"{directory}/{name}" if directory else name
        path = self._path(rel)
        if not self._can_hold(path) or (path.is_dir() and not path.is_symlink()):
            return rel
        target = {
            "<outside>": self.outside / "o.txt",
            "<outside-dir>": self.outside / "dir",
            "<missing>": self.root / "missing.txt",
            "<self>": path,
        }.get(to, self.root / to)
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.parent / f".{name}.link"
        temp.unlink(missing_ok=True)
        temp.symlink_to(target)
        os.replace(temp, path)  # like ln -sfn: the link is replaced in one step
        self.events.update(
            {temp, path, *(self.root / p for p in path.relative_to(self.root).parents)}
        )
        EXERCISED.update(links=1)
        return rel

    @rule(data=CONTENTS)
    def edit_outside(self, data: bytes) -> None:
        """Edit the file outside the tree that links may point at (a watcher sees nothing)."""
        (self.outside / "o.txt").write_bytes(data)

    @rule(directory=st.sampled_from(["a", "a/deep"]), data=CONTENTS)
    def replace_directory_by_file(self, directory: str, data: bytes) -> None:
        """Replace a directory by a file (links to it now point at a file)."""
        path = self._path(directory)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
            path.write_bytes(data)
            self.events.add(path)

    @rule(seconds=st.sampled_from([0.0, 0.025]))
    def time_passes(self, seconds: float) -> None:
        """Let time pass, so earlier writes leave the racy window."""
        if seconds and not self.quantised:
            time.sleep(seconds)

    def _can_hold(self, target: Path) -> bool:
        for parent in target.relative_to(self.root).parents:
            full = self.root / parent
            if full.is_symlink() or (full.exists() and not full.is_dir()):
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
            if self.committed[k] is None or current[k] is None or current[k] != self.committed[k]
        }
        unreadable = {k for k, v in current.items() if v is None}
        # Errors: pages with bad front matter, or files that cannot be read (link loops).
        assert all(
            p.suffix == ".md" or rel(frozenset([p])) <= unreadable for p, _ in plan.changes.errors
        ), plan.changes.errors
        assert unreadable <= rel(frozenset(p for p, _ in plan.changes.errors)), "errors"
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
        self.state_view = committed_view(self.workdir / "state")

    @invariant()
    def only_commit_writes_state(self) -> None:
        """Planning never changes what the store says was built; only commit does.

        (A plan may refresh records it verified, as git refreshes its index: re-stamp
        stats, re-list a directory whose untracked entries changed, such as a dangling
        link.  So the comparison is of what was built: the commit id, each file's digest
        and front matter, the dependencies and the outputs.)
        """
        assert committed_view(self.workdir / "state") == self.state_view, (
            "the stored state changed without a commit"
        )

    def _relative(self, paths: frozenset[Path]) -> set[str]:
        return {p.relative_to(self.root).as_posix() for p in paths}


class WatchedMachine(DetectorMachine):
    """The same, planning from a perfect watcher's events only (after a first full plan).

    Links stay inside the tree, so that plans stay event-fed (a target outside makes
    every plan a full scan; the relative-paths machine below has those).
    """

    outside_links = False

    def _make_plan(self) -> Plan:
        events, self.events = set(self.events), set()
        plan = self.engine.plan_paths(events)
        EXERCISED.update(partial_plans=int(plan.partial))
        return plan


class CoarseClockMachine(DetectorMachine):
    """The same, with whole-second timestamps: same-second rewrites keep the stat tuple."""

    quantised = True
    racy_window_ns = SECONDS + 50_000_000


class RelativePathsMachine(WatchedMachine):
    """The watched machine built from relative paths, with the working directory changing.

    Its links may also point outside the tree (event-fed plans then fall back to scans).

    Paths given to the engine (its directories, and each batch of events) are relative
    to the working directory of the call that received them.
    """

    relative = True
    outside_links = True

    @rule(where=st.sampled_from(["workdir", "content", "outside", "/"]))
    def change_directory(self, where: str) -> None:
        """chdir somewhere else: nothing the engine was given may change meaning."""
        target = {"workdir": self.workdir, "/": Path("/"), "outside": self.outside}.get(
            where, self.workdir / where
        )
        if target.is_dir() and not target.is_symlink():
            os.chdir(target)
            EXERCISED.update(chdirs=1)

    def _make_plan(self) -> Plan:
        events, self.events = set(self.events), set()
        relative = [os.path.relpath(p) for p in events]  # as a watcher started here reports
        plan = self.engine.plan_paths(relative)
        EXERCISED.update(partial_plans=int(plan.partial))
        return plan


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
TestRelativePathsAndChangingCwd = RelativePathsMachine.TestCase
TestRelativePathsAndChangingCwd.settings = settings(
    max_examples=examples, stateful_step_count=steps, deadline=None
)
