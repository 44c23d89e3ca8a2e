"""ChangeDetector, one scenario at a time: each rule the detector follows, pinned."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from incrbuild import DetectionMode
from incrbuild._detect import Detection, _read_file, unchecked_record
from incrbuild._state import State
from incrbuild.lowlevel import ChangeDetector, content_digest

from .helpers import SECONDS

OLD = 1_600_000_000 * SECONDS


class FrozenTimesStat:
    """A stat result whose mtime and ctime are one fixed instant (a clock stuck in one tick)."""

    __slots__ = ("st_ctime_ns", "st_ino", "st_mode", "st_mtime_ns", "st_size")

    def __init__(self, real: os.stat_result, instant: int) -> None:
        self.st_mtime_ns = self.st_ctime_ns = instant
        self.st_size = real.st_size
        self.st_ino = real.st_ino
        self.st_mode = real.st_mode


def frozen_times_stat(instant: int) -> Any:
    """``os.stat`` as seen on a file system whose timestamps never leave *instant*."""
    return lambda path: FrozenTimesStat(os.stat(path), instant)


def same_stat(a: Any, b: Any) -> bool:
    return all(getattr(a, f) == getattr(b, f) for f in STAT_FIELDS)


def committed(detection: Detection, root: Path) -> State:
    """The state a commit of *detection* would store."""
    return State(
        root=str(root),
        snapshot_ns=detection.snapshot_ns,
        commit_id="test",
        files=detection.files,
        dirs=detection.dirs,
    )


def settle(*paths: Path) -> None:
    """Give *paths* an old mtime so they are well outside the racy window."""
    for path in paths:
        os.utime(path, ns=(OLD, OLD))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "a.md").write_text("alpha")
    (root / "docs" / "b.md").write_text("beta")
    (root / "top.md").write_text("top")
    return root


def first_commit(root: Path, **options: Any) -> tuple[ChangeDetector, State]:
    """Commit the tree once its files have left the 10 ms racy window."""
    time.sleep(0.02)
    detector = ChangeDetector(root, racy_window_ns=10_000_000, **options)
    return detector, committed(detector.detect(State()), root)


def names(paths: frozenset[Path], root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in paths}


class TestChangeDetector:
    def test_first_detection_sees_everything_added(self, tree: Path) -> None:
        """With no state, every tracked file is added and hashed."""
        detection = ChangeDetector(tree).detect(State())
        assert names(detection.changes.added, tree) == {"docs/a.md", "docs/b.md", "top.md"}
        assert detection.stats.digests == 3

    def test_no_op_stats_every_file_and_lists_nothing(self, tree: Path) -> None:
        """An unchanged tree costs one stat per file and directory, and no listing or read."""
        settle(*tree.rglob("*.md"))
        time.sleep(0.02)
        detector, state = first_commit(tree)
        time.sleep(0.02)
        detection = detector.detect(state)
        assert not detection.changes
        assert detection.stats.files_stat == 3
        assert detection.stats.dirs_listed == 0
        assert detection.stats.digests == 0

    def test_in_place_rewrite_is_seen_although_the_directory_is_unchanged(self, tree: Path) -> None:
        """A rewrite in place keeps the directory's mtime, and is still detected."""
        settle(*tree.rglob("*.md"), tree / "docs")
        detector, state = first_commit(tree)
        dir_mtime = (tree / "docs").stat().st_mtime_ns
        with open(tree / "docs" / "a.md", "r+") as handle:
            handle.write("ALPHA")
        assert (tree / "docs").stat().st_mtime_ns == dir_mtime
        detection = detector.detect(state)
        assert names(detection.changes.modified, tree) == {"docs/a.md"}
        assert detection.stats.dirs_listed == 0

    def test_unsound_directory_mtime_mode_misses_in_place_rewrites(self, tree: Path) -> None:
        """The RFC's shortcut (opt-in) misses exactly the edit the sound mode catches."""
        settle(*tree.rglob("*.md"), tree / "docs", tree)
        time.sleep(0.02)
        unsound, state = first_commit(tree, mode=DetectionMode.DIRECTORY_MTIME)
        time.sleep(0.02)
        with open(tree / "docs" / "a.md", "r+") as handle:
            handle.write("ALPHA")
        missed = unsound.detect(state)
        assert not missed.changes  # the documented miss
        assert missed.stats.files_skipped == 3
        sound = ChangeDetector(tree, racy_window_ns=10_000_000).detect(state)
        assert names(sound.changes.modified, tree) == {"docs/a.md"}

    def test_same_second_same_size_rewrite_is_caught_by_the_racy_rule(self, tree: Path) -> None:
        """Timestamps that cannot tell two writes apart keep the stat; the content is checked.

        The file system's clock is frozen (a coarse clock, always in the same tick), so
        the rewrite keeps the whole stat tuple on every run, not only when it happens to
        fall in the same second.
        """
        stat = frozen_times_stat(time.time_ns())
        detector = ChangeDetector(tree, racy_window_ns=2 * SECONDS, stat=stat)
        state = committed(detector.detect(State()), tree)
        before = stat(str(tree / "docs" / "a.md"))
        (tree / "docs" / "a.md").write_text("ALPHA")  # same size, same inode
        assert same_stat(stat(str(tree / "docs" / "a.md")), before)
        detection = detector.detect(state)
        assert names(detection.changes.modified, tree) == {"docs/a.md"}
        assert detection.stats.racy_checks >= 1

    def test_without_the_racy_rule_such_a_rewrite_would_be_missed(self, tree: Path) -> None:
        """The racy rule is what catches it: with no window, an equal stat is trusted."""
        path = tree / "docs" / "a.md"
        stat = frozen_times_stat(time.time_ns())
        trusting = ChangeDetector(tree, racy_window_ns=-(10**18), stat=stat)
        state = committed(trusting.detect(State()), tree)
        before = stat(str(path))
        path.write_text("ALPHA")
        assert same_stat(stat(str(path)), before)
        assert not trusting.detect(state).changes  # what a "trust the stat" detector gets wrong
        sound = ChangeDetector(tree, racy_window_ns=2 * SECONDS, stat=stat)
        assert names(sound.detect(state).changes.modified, tree) == {"docs/a.md"}

    def test_touch_without_change_is_an_early_cutoff(self, tree: Path) -> None:
        """A new mtime with the same bytes is touched, not modified."""
        detector, state = first_commit(tree)
        os.utime(tree / "top.md", ns=(OLD, OLD))
        detection = detector.detect(state)
        assert not detection.changes
        assert names(detection.changes.touched, tree) == {"top.md"}
        assert detection.stats.early_cutoffs == 1

    def test_restored_file_with_an_older_mtime_is_modified(self, tree: Path) -> None:
        """A file restored with an old mtime (cp -p, tar x) is a change: never "newer than"."""
        detector, state = first_commit(tree)
        (tree / "top.md").write_text("restored")
        os.utime(tree / "top.md", ns=(OLD, OLD))
        assert names(detector.detect(state).changes.modified, tree) == {"top.md"}

    def test_atomic_save_with_same_content_is_touched(self, tree: Path) -> None:
        """Temp-file-and-rename with identical bytes changes the inode but not the content."""
        detector, state = first_commit(tree)
        (tree / "docs" / ".a.md.tmp").write_text("alpha")
        os.replace(tree / "docs" / ".a.md.tmp", tree / "docs" / "a.md")
        detection = detector.detect(state)
        assert not detection.changes
        assert names(detection.changes.touched, tree) == {"docs/a.md"}

    def test_add_remove_rename_and_new_directory(self, tree: Path) -> None:
        """Creations, deletions, renames and new directories are listed correctly."""
        detector, state = first_commit(tree)
        (tree / "docs" / "b.md").unlink()
        os.replace(tree / "top.md", tree / "docs" / "top.md")
        (tree / "new" / "deep").mkdir(parents=True)
        (tree / "new" / "deep" / "c.md").write_text("c")
        changes = detector.detect(state).changes
        assert names(changes.added, tree) == {"docs/top.md", "new/deep/c.md"}
        assert names(changes.removed, tree) == {"docs/b.md", "top.md"}
        assert not changes.modified

    def test_removed_directory_removes_its_files(self, tree: Path) -> None:
        """Deleting a directory tree reports each file in it as removed."""
        detector, state = first_commit(tree)
        for path in (tree / "docs").iterdir():
            path.unlink()
        (tree / "docs").rmdir()
        changes = detector.detect(state).changes
        assert names(changes.removed, tree) == {"docs/a.md", "docs/b.md"}

    def test_file_replaced_by_a_directory(self, tree: Path) -> None:
        """A file that becomes a directory is removed, and the directory's files are added."""
        detector, state = first_commit(tree)
        (tree / "top.md").unlink()
        (tree / "top.md").mkdir()
        (tree / "top.md" / "inner.md").write_text("inner")
        changes = detector.detect(state).changes
        assert names(changes.removed, tree) == {"top.md"}
        assert names(changes.added, tree) == {"top.md/inner.md"}

    def test_hidden_entries_and_directory_links_are_not_tracked(self, tree: Path) -> None:
        """Dot files, editor backups and links to directories are ignored; file links followed."""
        (tree / ".git").mkdir()
        (tree / ".git" / "x").write_text("x")
        (tree / "a.md~").write_text("backup")
        (tree / "loop").symlink_to(tree)
        (tree / "link.md").symlink_to(tree / "top.md")
        detection = ChangeDetector(tree).detect(State())
        assert names(detection.changes.added, tree) == {
            "docs/a.md",
            "docs/b.md",
            "top.md",
            "link.md",
        }

    def test_self_referencing_link_is_an_error_not_a_crash(self, tree: Path) -> None:
        """A file link that loops on itself is reported as an error for that file."""
        (tree / "self.md").symlink_to(tree / "self.md")
        detection = ChangeDetector(tree).detect(State())
        errors = {p.name: message for p, message in detection.changes.errors}
        assert "self.md" in errors
        assert "self.md" in names(detection.changes.added, tree)
        assert detection.files["self.md"] == unchecked_record(None)  # known, checked next time

    def test_unreadable_file_counts_as_changed_and_stays_known(
        self, tree: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A file whose content cannot be read is reported changed, and checked again next time.

        It stays known to the state (with a record no stat matches), so that its
        later removal is reported (issue 12, miss 3).
        """
        detector, state = first_commit(tree)
        (tree / "top.md").write_text("new top")

        def failing_digest(path: str | Path) -> bytes:
            raise PermissionError(13, "Permission denied")

        with monkeypatch.context() as patched:
            patched.setattr("incrbuild._detect.content_digest", failing_digest)
            detection = detector.detect(state)
        assert names(detection.changes.modified, tree) == {"top.md"}
        assert [p.name for p, _ in detection.changes.errors] == ["top.md"]
        assert detection.files["top.md"] == unchecked_record(state.files["top.md"])
        after = committed(detection, tree)
        again = detector.detect(after)  # readable now: examined again, not trusted
        assert names(again.changes.modified, tree) == {"top.md"}
        assert again.files["top.md"].digest is not None
        (tree / "top.md").unlink()
        assert names(detector.detect(after).changes.removed, tree) == {"top.md"}

    def test_files_outside_the_root_are_tracked_individually(self, tree: Path) -> None:
        """A template outside the content directory is stat'ed as an extra key."""
        template = tree.parent / "templates" / "base.html"
        template.parent.mkdir()
        template.write_text("<html>")
        detector = ChangeDetector(tree, racy_window_ns=10_000_000)
        key = detector.key_for(template)
        assert key == template.as_posix()
        state = committed(detector.detect(State(), extra_keys={key}), tree)
        template.write_text("<html lang=en>")
        changes = detector.detect(state, extra_keys={key}).changes
        assert changes.modified == {template}
        template.unlink()
        assert detector.detect(state, extra_keys={key}).changes.removed == {template}

    def test_future_mtime_is_always_content_checked(self, tree: Path) -> None:
        """A file stamped in the future stays racy, so an equal stat never hides an edit."""
        future = time.time_ns() + 3600 * SECONDS
        os.utime(tree / "top.md", ns=(future, future))
        detector, state = first_commit(tree)
        detection = detector.detect(state)
        assert not detection.changes
        assert detection.stats.racy_checks == 1

    def test_missing_root_is_a_clear_error(self, tmp_path: Path) -> None:
        """Detection on a missing content directory raises instead of reporting all removed."""
        from incrbuild import SourceError

        with pytest.raises(SourceError, match="does not exist"):
            ChangeDetector(tmp_path / "gone").detect(State())

    def test_parallel_checks_equal_sequential(self, tree: Path) -> None:
        """Checking files in parallel chunks gives the same answer as one thread."""
        from concurrent.futures import ThreadPoolExecutor

        for i in range(50):
            (tree / "docs" / f"n{i}.md").write_text(str(i))
        sequential, state = first_commit(tree)
        with ThreadPoolExecutor(4) as pool:
            parallel = ChangeDetector(
                tree, racy_window_ns=10_000_000, stat_executor=pool, stat_chunk_size=7
            )
            (tree / "docs" / "n3.md").write_text("changed")
            (tree / "docs" / "n9.md").unlink()
            a = sequential.detect(state)
            b = parallel.detect(state)
        assert a.changes == b.changes
        assert a.files == b.files
        assert a.stats.files_stat == b.stats.files_stat


class TestClockGoingBackwards:
    def test_every_file_is_content_checked_once(self, tree: Path) -> None:
        """A last commit "in the future" (clock set back) makes the next plan verify every file."""
        from incrbuild import StateWarning

        detector, state = first_commit(tree)
        ahead = State(
            root=state.root,
            snapshot_ns=time.time_ns() + 3600 * SECONDS,
            commit_id=state.commit_id,
            files=state.files,
            dirs=state.dirs,
        )
        with pytest.warns(StateWarning, match="clock is earlier"):
            detection = detector.detect(ahead)
        assert not detection.changes
        assert detection.stats.racy_checks == 3
        assert detection.stats.dirs_listed == 2

    def test_a_rewrite_with_an_equal_stat_is_found(self, tree: Path) -> None:
        """With the clock set back, even a rewrite that keeps the stat tuple is caught."""
        from incrbuild import StateWarning

        path = tree / "top.md"
        detector = ChangeDetector(tree, racy_window_ns=10_000_000)
        time.sleep(0.02)
        state = committed(detector.detect(State()), tree)
        record = state.files["top.md"]
        path.write_text("TOP")  # same size
        fake = State(
            root=state.root,
            snapshot_ns=time.time_ns() + 3600 * SECONDS,
            commit_id="x",
            files={
                "top.md": type(record).of(
                    tuple(getattr(os.stat(path), f) for f in STAT_FIELDS), record.digest
                ),
                **{k: v for k, v in state.files.items() if k != "top.md"},
            },
            dirs=state.dirs,
        )
        with pytest.warns(StateWarning):
            changes = detector.detect(fake).changes
        assert names(changes.modified, tree) == {"top.md"}


STAT_FIELDS = ("st_mtime_ns", "st_size", "st_ino", "st_ctime_ns", "st_mode")


def make_too_long_directory(parent: Path) -> None:
    """Make a directory below *parent* whose path exceeds PATH_MAX (even root cannot stat it)."""
    fd = os.open(parent, os.O_RDONLY)
    fd_done = False
    try:
        for _ in range(20):  # 20 x 250 characters > 4096
            name = "d" * 250
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
        with open(os.open("x.md", os.O_WRONLY | os.O_CREAT, dir_fd=fd), "w") as handle:
            handle.write("deep")
            fd_done = True
    finally:
        if not fd_done:
            os.close(fd)


class TestErrorsDoNotHideRemovals:
    """Issue 12, miss 2: a directory in ``changes.errors`` must not hide removals elsewhere."""

    def test_a_deletion_beside_a_too_long_directory_is_reported(self, tree: Path) -> None:
        make_too_long_directory(tree / "docs")
        detector, state = first_commit(tree)
        first = detector.detect(state)
        assert any("too long" in message for _, message in first.changes.errors)
        (tree / "top.md").unlink()
        changes = detector.detect(state).changes
        assert names(changes.removed, tree) == {"top.md"}

    def test_a_rename_beside_an_unlistable_directory_reports_its_old_name(self, tree: Path) -> None:
        (tree / "locked").mkdir()
        (tree / "locked" / "x.md").write_text("x")

        def stat(path: str) -> os.stat_result:
            if path.endswith("/locked"):
                raise PermissionError(13, "Permission denied", path)
            return os.stat(path)

        detector, state = first_commit(tree, stat=stat)
        os.replace(tree / "docs" / "a.md", tree / "docs" / "c.md")
        changes = detector.detect(state).changes
        assert names(changes.added, tree) == {"docs/c.md"}
        assert names(changes.removed, tree) == {"docs/a.md"}
        assert "locked" in {p.name for p, _ in changes.errors}


class TestColdReads:
    """What a cold scan reads and names: every byte of each file, each path as ``path_for``'s."""

    @pytest.mark.parametrize("stated", [0, 10, 70_000, 200_000, 10**6])
    @pytest.mark.parametrize("through_directory", [True, False])
    def test_a_read_gets_every_byte_whatever_the_stated_size(
        self, tmp_path: Path, stated: int, through_directory: bool
    ) -> None:
        """The stat'ed size only sizes the first read: a file that grew is read to its end."""
        data = bytes(range(256)) * 800  # 204,800 bytes: more than one read after the first
        (tmp_path / "big.md").write_bytes(data)
        fd = os.open(tmp_path, os.O_RDONLY) if through_directory else None
        try:
            read = _read_file("big.md", str(tmp_path / "big.md"), fd, stated)
        finally:
            if fd is not None:
                os.close(fd)
        assert read == data

    def test_kept_bytes_and_digest_are_the_whole_file(self, tmp_path: Path) -> None:
        """A file whose stat said it was empty is still hashed and handed over whole."""
        data = b"---\ntitle: grown\n---\n" + b"x" * 100_000
        (tmp_path / "page.md").write_bytes(data)
        kept: dict[str, bytes] = {}

        def stat(path: str) -> Any:
            info = FrozenTimesStat(os.stat(path), OLD)
            info.st_size = 0  # as if the file grew between its stat and its read
            return info

        detector = ChangeDetector(tmp_path, stat=stat, changed_contents=kept.__setitem__)
        detection = detector.detect(State())
        assert kept == {str(tmp_path / "page.md"): data}
        assert detection.files["page.md"].digest == content_digest(tmp_path / "page.md")

    def test_paths_made_per_directory_equal_path_for(self, tmp_path: Path) -> None:
        """Paths made from their directory's path equal those made from the root."""
        detector = ChangeDetector(tmp_path)
        keys = ["top.md", "a/b.md", "a/c.md", "a/b/c/d.md", "/elsewhere/x.md", "C:/x.md", ""]
        # Keys no listing makes (a store written by hand): still the paths ``/`` makes.
        keys += ["a/b/", "a/./b", "a//b", "a/..", "a/.", "a/.../b", "a\\b/c", "é/ü.md"]
        made = detector._paths_for(keys)
        assert made == frozenset(map(detector.path_for, keys))
        assert {str(path) for path in made} == {str(detector.path_for(key)) for key in keys}

    def test_an_unreadable_file_is_an_error_when_its_bytes_are_kept(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The read that keeps a page's bytes fails as the plain digest does: a clear error."""
        (tmp_path / "a.md").write_text("a")

        def refuse(name: str, where: str, directory_fd: int | None, size: int) -> bytes:
            raise PermissionError(13, "Permission denied", where)

        monkeypatch.setattr("incrbuild._detect._read_file", refuse)
        kept: dict[str, bytes] = {}
        detection = ChangeDetector(tmp_path, changed_contents=kept.__setitem__).detect(State())
        assert detection.changes.errors == ((tmp_path / "a.md", "cannot read: Permission denied"),)
        assert kept == {}
