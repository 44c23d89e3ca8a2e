"""Change detection: what was added, modified or removed since the last commit.

The rule is *never miss a change*.  So, following git's index:

- a file's stat tuple ``(mtime_ns, size, inode, ctime_ns, mode)`` is compared
  for inequality, never "newer than" (restored files with old mtimes count);
- a file whose timestamps fall within the racy window of the last snapshot
  could be rewritten without its stat changing, so its content is compared;
- a changed stat with an unchanged content digest is *touched*, not modified
  (early cutoff);
- a directory whose stat is unchanged (and not racy) is not re-listed, since
  its listing cannot have changed, but its files are still stat'ed: an
  in-place rewrite does not change the directory's mtime.

:attr:`DetectionMode.DIRECTORY_MTIME` is the RFC's shortcut that also skips
those stats.  It is unsound (it misses in-place rewrites) and exists only as
an explicit opt-in for hosts that accept that.
"""

from __future__ import annotations

import bisect
import enum
import os
import stat as stat_module
import time
import warnings
from collections.abc import Callable, Collection, Iterable, Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final, final

import attrs

from incrbuild._errors import SourceError, StateWarning
from incrbuild._layout import DEFAULT_RACY_WINDOW_NS
from incrbuild._paths import absolute
from incrbuild._state import DirRecord, FileRecord, FileTable, State, StatTuple

if TYPE_CHECKING:
    import hashlib
    from concurrent.futures import Executor

__all__ = [
    "DEFAULT_RACY_WINDOW_NS",
    "ChangeDetector",
    "ChangeSet",
    "DetectionMode",
    "DetectorStats",
    "content_digest",
    "default_ignore",
    "unchecked_record",
]

_DIGEST_SIZE: Final = 16
_ALWAYS_RACY: Final = -(2**63)  # a racy floor every timestamp is at or above
_S_ISREG = stat_module.S_ISREG
_POSIX_PATH: Final = type(Path()) if os.sep == "/" else None
#: A child path from its parent and one name, unparsed, where pathlib has it (CPython
#: 3.11 and 3.12 ``_make_child_relpath``, what ``iterdir`` uses): ``parent / name`` parses
#: the name through five Python calls, about a tenth of a cold build's own work on 3.11.
#: ``TestColdReads`` pins its paths to ``path_for``'s; without it, ``/`` is used.
_CHILD_PATH: Final[Callable[[Path, str], Path] | None] = getattr(
    _POSIX_PATH, "_make_child_relpath", None
)
#: Names ``/`` would drop or that ``_CHILD_PATH`` would keep: made with ``path_for``.
_NOT_A_NAME: Final = frozenset({"", "."})
_S_ISDIR = stat_module.S_ISDIR


class DetectionMode(enum.Enum):
    """How much the detector trusts metadata; every mode but one is sound."""

    STAT = "stat"
    """Sound and fast: stat every known file, re-list only changed directories (the default)."""
    CONTENT = "content"
    """Sound and slow: hash every file on every plan, whatever its stat says."""
    DIRECTORY_MTIME = "directory-mtime"
    """UNSOUND opt-in (the RFC's shortcut): skip files of directories whose mtime is unchanged.

    Misses every in-place rewrite that leaves the directory's mtime alone.
    """


def default_ignore(name: str) -> bool:
    """Tell whether a directory entry is hidden or an editor's scratch file (not tracked)."""
    return name.startswith((".", "#")) or name.endswith("~")


def content_digest(path: str | Path) -> bytes:
    """Return the 128-bit BLAKE2b digest of a file's bytes."""
    import hashlib  # not at import time: a no-op plan hashes nothing

    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, _new_hash).digest()


def unchecked_record(known: FileRecord | None) -> FileRecord:
    """The record of a file that could not be checked (unreadable, bad front matter, failed).

    Its key stays known, so a later removal or rename of the file is a change; its
    stat (size -1) matches no real file, so every detection examines it again and
    reports it modified until it reads cleanly.  A page keeps its stored front matter.
    """
    return FileRecord(0, -1, 0, 0, 0, None, known.front_matter if known is not None else b"")


def _new_hash() -> hashlib.blake2b:
    import hashlib

    return hashlib.blake2b(digest_size=_DIGEST_SIZE)


def _bytes_digest(data: bytes) -> bytes:
    """The digest :func:`content_digest` gives a file holding *data*."""
    import hashlib

    return hashlib.blake2b(data, digest_size=_DIGEST_SIZE).digest()


def _read_file(name: str, where: str, directory_fd: int | None, size: int) -> bytes:
    """Every byte of a file: *name* in the open directory *directory_fd*, else at *where*.

    ``os.open`` and ``os.read`` rather than a buffered file object, whose set-up (an
    ``fstat``, an ``isatty``, a ``seek`` and two objects) costs more than reading a
    page: a cold build reads every file.  *size*, the file's stat'ed size, sizes the
    first read; reading goes on to the end of the file, as ``read()`` does.
    """
    if directory_fd is not None:
        handle = os.open(name, _READ_FLAGS, dir_fd=directory_fd)
    else:
        handle = os.open(where, _READ_FLAGS)
    try:
        chunks = []
        want = max(size, 0) + 1
        while chunk := os.read(handle, want):
            chunks.append(chunk)
            want = _READ_SIZE
    finally:
        os.close(handle)
    if len(chunks) == 1:
        return chunks[0]
    return b"".join(chunks)


@final
@attrs.frozen
class ChangeSet:
    """What changed on disk since the last commit, as paths in the site's form.

    ``touched`` files had a new stat but the same content (early cutoff): they
    are not changes.  ``errors`` names files that could not be checked; they
    are also counted as modified (or added), so the host tries them and reports.
    """

    added: frozenset[Path] = frozenset()
    modified: frozenset[Path] = frozenset()
    removed: frozenset[Path] = frozenset()
    touched: frozenset[Path] = frozenset()
    errors: tuple[tuple[Path, str], ...] = ()

    @property
    def changed(self) -> frozenset[Path]:
        """Every added, modified or removed path."""
        return self.added | self.modified | self.removed

    def __bool__(self) -> bool:
        return bool(self.added or self.modified or self.removed)

    def __len__(self) -> int:
        return len(self.added) + len(self.modified) + len(self.removed)


@final
@attrs.define
class DetectorStats:
    """Counts of one detection's work (system calls and reads), for benchmarks and tests."""

    files_stat: int = 0
    """``stat`` calls on files."""
    files_skipped: int = 0
    """Files assumed unchanged without a ``stat`` (only in the unsound mode)."""
    dirs_stat: int = 0
    """``stat`` calls on directories."""
    dirs_listed: int = 0
    """Directories re-listed because their stat changed, was racy, or was unknown."""
    digests: int = 0
    """Files whose content was read and hashed."""
    racy_checks: int = 0
    """Files content-checked because their stat was too close to the last snapshot."""
    early_cutoffs: int = 0
    """Files whose stat changed but whose content did not."""
    elapsed_ns: int = 0
    """Wall time of the detection."""


@final
@attrs.frozen
class Detection:
    """One detection's outcome: the change set and the records a commit would store."""

    changes: ChangeSet
    files: MutableMapping[str, FileRecord]
    """Every file's record: a dict, or a :class:`FileTable` over the stored state's columns."""
    dirs: dict[str, DirRecord]
    snapshot_ns: int
    stats: DetectorStats
    error_keys: frozenset[str]
    partial: bool = False
    """True for :meth:`ChangeDetector.detect_paths`: ``files`` and ``dirs`` hold only updates."""
    removed_keys: frozenset[str] = frozenset()
    """In a partial detection: file keys to drop from the state."""
    removed_dir_keys: frozenset[str] = frozenset()
    """In a partial detection: directory keys to drop from the state."""


class _Scan:
    """Mutable accumulator of one detection.

    A plain class, not attrs: it is state of one scan, and creating an attrs class
    costs every fresh process that imports the detector a millisecond or more.
    """

    __slots__ = (
        "added",
        "dir_errors",
        "dirs",
        "errors",
        "files",
        "modified",
        "previous_dirs",
        "previous_files",
        "racy_floor",
        "relist",
        "reused_listing",
        "stats",
        "touched",
    )

    def __init__(
        self,
        previous_files: Mapping[str, FileRecord],
        previous_dirs: dict[str, DirRecord],
        racy_floor: int,
        relist: bool = False,
    ) -> None:
        self.previous_files = previous_files
        self.previous_dirs = previous_dirs
        self.racy_floor = racy_floor
        self.relist = relist
        self.reused_listing = False
        self.files: MutableMapping[str, FileRecord] = {}
        self.dirs: dict[str, DirRecord] = {}
        self.added: list[str] = []
        self.modified: list[str] = []
        self.touched: list[str] = []
        # Files that could not be checked: each is also in ``added`` or ``modified``.
        self.errors: dict[str, str] = {}
        # Directories that could not be stat'ed or listed (kept apart: they are not files).
        self.dir_errors: dict[str, str] = {}
        self.stats = DetectorStats()

    def all_errors(self) -> dict[str, str]:
        return {**self.dir_errors, **self.errors}


@final
class ChangeDetector:
    """Finds what changed below one content root (plus individually tracked files).

    *stat_executor*, if given, runs the per-file checks in parallel chunks:
    worthwhile on high-latency file systems (NFS).  Without one, a scan of many
    files runs its checks on *stat_threads* plain threads.  The default is one:
    on a local disk and 2 shared cores, two or four threads cost 20-40% more CPU
    time for no steady gain in wall time (docs/benchmarks.md, issue 16).
    *stat* replaces ``os.stat`` (to inject latency in benchmarks, or faults in tests).
    """

    def __init__(
        self,
        root: Path | str,
        *,
        mode: DetectionMode = DetectionMode.STAT,
        racy_window_ns: int = DEFAULT_RACY_WINDOW_NS,
        ignore: Callable[[str], bool] = default_ignore,
        stat_executor: Executor | None = None,
        stat_chunk_size: int = 256,
        stat_threads: int = 1,
        stat: Callable[[str], os.stat_result] = os.stat,
        changed_contents: Callable[[str, bytes], None] | None = None,
        exclude: Collection[str] = (),
    ) -> None:
        self.root = absolute(root)
        # Keys of directories never tracked (the engine's own state directory).
        self.exclude = frozenset(exclude)
        self.stat = stat
        # Given the bytes of each file found added or modified (read once, for its digest),
        # so a loader need not open it again.
        self.changed_contents = changed_contents
        self.mode = mode
        self.racy_window_ns = racy_window_ns
        self.ignore = ignore
        self.stat_executor = stat_executor
        self.stat_chunk_size = stat_chunk_size
        self.stat_threads = stat_threads
        self._root_str = os.fspath(self.root)
        self._prefix = self._root_str.rstrip("/\\") + "/"
        # Symbolic links seen in the listings this detector made: directory key ->
        # {name: the link's resolved target}.  Watchers report an edit made through a
        # link on its target, so event-fed detection maps targets back to links.
        self._links: dict[str, dict[str, tuple[str, ...]]] = {}
        self._link_hops: list[tuple[str, str]] | None = None
        self._links_watchable = True
        self._links_listed = False

    # -- keys and paths -----------------------------------------------------------

    def key_for(self, path: Path | str) -> str:
        """Return the state key of *path*: POSIX relative to the root, or absolute outside it.

        A relative *path* is taken relative to the working directory now (see
        :mod:`incrbuild._paths`), not to the root.
        """
        if type(path) is _POSIX_PATH:
            # Fast path: a Path's string is normalised already, so a key below the root is
            # a prefix strip (no relative_to, which costs microseconds per call).
            text = str(path)
            if text.startswith(self._prefix):
                return text[len(self._prefix) :]
        candidate = Path(path)
        if not candidate.is_absolute():
            candidate = absolute(candidate)
        try:
            return candidate.relative_to(self.root).as_posix()
        except ValueError:
            return candidate.as_posix()

    def path_for(self, key: str) -> Path:
        """Return the site-form path of state key *key*."""
        if key == "":
            return self.root
        if _is_absolute_key(key):
            return Path(key)
        return self.root / key

    def _paths_for(self, keys: Iterable[str]) -> frozenset[Path]:
        """:meth:`path_for` of each key, each directory's path made once for its files.

        A ``Path`` costs microseconds to make, less from its parent and a single name:
        a cold build makes one per file.
        """
        parents: dict[str, Path] = {}
        paths: list[Path] = []
        child = _CHILD_PATH
        for key in keys:
            directory, slash, name = key.rpartition("/")
            if not (directory and slash) or name in _NOT_A_NAME or _is_absolute_key(key):
                paths.append(self.path_for(key))
                continue
            parent = parents.get(directory)
            if parent is None:
                parent = parents[directory] = self.path_for(directory)
            paths.append(parent / name if child is None else child(parent, name))
        return frozenset(paths)

    def _os_path(self, key: str) -> str:
        if _is_absolute_key(key):
            return key
        return self._prefix + key if key else self._root_str

    # -- detection ---------------------------------------------------------------

    def detect(
        self, previous: State, extra_keys: Collection[str] = (), *, relist: bool = False
    ) -> Detection:
        """Compare the disk with *previous*; *extra_keys* are tracked files outside the walk.

        *relist* re-lists every directory, even unchanged ones, so that every
        symbolic link is known (:attr:`links_known`) before events are trusted.
        """
        started = time.perf_counter_ns()
        # Taken before the first stat: anything written after it is racy or visibly new.
        snapshot = time.time_ns()
        if not os.path.isdir(self._root_str):
            raise SourceError(self.root, "content directory does not exist or is not a directory")
        same_root = previous.root in ("", self._root_str)
        racy_floor = self._racy_floor(previous, snapshot)
        scan = _Scan(
            previous_files=previous.files if same_root else {},
            previous_dirs=previous.dirs if same_root else {},
            racy_floor=racy_floor,
            relist=relist,
        )
        if isinstance(scan.previous_files, FileTable) and scan.previous_files.columns is not None:
            # Unchanged files are marked on rows of the stored columns, not built as records.
            scan.files = scan.previous_files.derive()
            columns = scan.previous_files.columns
            columns.keys(), columns.strays()  # once, before any thread looks a key up
        if relist:
            self._links.clear()
            self._link_hops = None
        pending_dirs = [""]
        while pending_dirs:
            pending_dirs = self._check_files(self._walk(pending_dirs, scan), scan)
        if not scan.reused_listing and not scan.dir_errors:
            self._links_listed = True  # every directory was listed: every link is known
        if isinstance(scan.files, FileTable):
            scan.files.recount()
        extras = [k for k in extra_keys if k not in scan.files and k not in scan.errors]
        if extras:
            self._check_files(_group(extras), scan)
            if isinstance(scan.files, FileTable):
                scan.files.recount()
        removed: list[str] = []
        # Every new file key is "added" (errors included), so if the file keys seen minus the
        # added ones are as many as the previous keys, every previous key was seen: nothing
        # was removed.  Directory errors are kept out of the count: they are not file keys.
        files = scan.files
        seen = len(files) + sum(1 for key in scan.errors if key not in files)
        seen_known = seen - len(set(scan.added))
        if seen_known != len(scan.previous_files):
            removed = [
                key
                for key in scan.previous_files
                if key not in scan.files
                and key not in scan.errors
                and (not _is_absolute_key(key) or key in extra_keys)
            ]
        path_for = self.path_for
        errors = scan.all_errors()
        error_paths = tuple(sorted((path_for(k), m) for k, m in errors.items()))
        paths_for = self._paths_for
        changes = ChangeSet(
            added=paths_for(scan.added),
            modified=paths_for(scan.modified),
            removed=paths_for(removed),
            touched=paths_for(scan.touched),
            errors=error_paths,
        )
        scan.stats.elapsed_ns = time.perf_counter_ns() - started
        return Detection(changes, scan.files, scan.dirs, snapshot, scan.stats, frozenset(errors))

    def _racy_floor(self, previous: State, snapshot: int) -> int:
        """Timestamps at or above the returned value are racy (their content is checked)."""
        if snapshot >= previous.snapshot_ns:
            return previous.snapshot_ns - self.racy_window_ns
        # The clock went backwards since the last commit: timestamps cannot be compared
        # with it, so every file counts as racy (its content is checked) this once.
        warnings.warn(
            "the system clock is earlier than at the last commit; "
            "checking every file's content this time",
            StateWarning,
            stacklevel=4,
        )
        return _ALWAYS_RACY

    def detect_paths(
        self,
        previous: State,
        paths: Iterable[Path | str],
        extra_keys: Collection[str] = (),
    ) -> Detection:
        """Check only *paths* (as reported by a file watcher); the rest is taken as unchanged.

        Costs time in proportion to the paths and the directories whose listing
        they change: a file that appeared or vanished re-lists its parent, a new
        directory is walked whole (its files may predate the watch on it).
        The result is *partial*: it holds only the records to update or drop.
        """
        started = time.perf_counter_ns()
        snapshot = time.time_ns()
        scan = _Scan(previous.files, previous.dirs, self._racy_floor(previous, snapshot))
        paths = list(paths)
        # A watcher reports an edit made through a link on the link's target (or on a
        # link it goes through): check the link too, and resolve it afresh.  A reported
        # path may also have become a link (a link renamed over a file) or stopped being
        # one: what is known of links follows, or later edits through it would be missed.
        linked = {link for path in paths for link in self.links_to(os.fspath(path))}
        for key in linked | {self.key_for(path) for path in paths}:
            self._refresh_link(key)
        paths.extend(map(self.path_for, linked))
        removed: set[str] = set()
        removed_dirs: set[str] = set()
        check: list[str] = []
        reconcile: set[str] = set()
        for raw in paths:
            key = self.key_for(raw)
            if _is_absolute_key(key):
                if key in extra_keys or key in previous.files:
                    check.append(key)
                continue
            if key and any(self.ignore(part) for part in key.split("/")):
                continue
            if self.exclude and self._excluded(key):
                continue
            where = self._os_path(key)
            known_dirs = previous.dirs
            try:
                info = self.stat(where)
            except (FileNotFoundError, NotADirectoryError):
                if key in previous.files:
                    # Gone, or now a dangling link (still listed): either way no file now.
                    removed.add(key)
                if key in previous.files or key in known_dirs:
                    reconcile.add(_known_ancestor(_parent_key(key), known_dirs))
                continue
            except OSError as error:
                self._record_error(key, f"cannot stat: {error.strerror}", scan)
                continue
            if _S_ISDIR(info.st_mode):
                if key in previous.files and _is_link(where):
                    removed.add(key)  # a link whose target became a directory: no file now
                    continue
                # A directory new to the state is walked from its nearest known ancestor,
                # whose listing gains it (its files may predate any watch on it).
                reconcile.add(_known_ancestor(key, known_dirs))
            elif key in previous.files:
                check.append(key)
            else:
                reconcile.add(_known_ancestor(_parent_key(key), known_dirs))
        work = _group(check)
        for directory in sorted(reconcile, key=lambda k: k.count("/")):
            if directory in removed_dirs or any(
                directory.startswith(gone + "/") for gone in removed_dirs
            ):
                continue
            work.extend(self._reconcile(directory, previous, scan, removed, removed_dirs))
        pending = self._check_files(work, scan)
        while pending:
            pending = self._check_files(self._walk(pending, scan), scan)
        removed.difference_update(scan.files)
        path_for = self.path_for
        errors = scan.all_errors()
        changes = ChangeSet(
            added=frozenset(map(path_for, scan.added)),
            modified=frozenset(map(path_for, scan.modified)),
            removed=frozenset(map(path_for, removed)),
            touched=frozenset(map(path_for, scan.touched)),
            errors=tuple(sorted((path_for(k), m) for k, m in errors.items())),
        )
        scan.stats.elapsed_ns = time.perf_counter_ns() - started
        return Detection(
            changes,
            scan.files,
            scan.dirs,
            snapshot,
            scan.stats,
            frozenset(errors),
            partial=True,
            removed_keys=frozenset(removed),
            removed_dir_keys=frozenset(removed_dirs),
        )

    def _excluded(self, key: str) -> bool:
        return any(key == gone or key.startswith(gone + "/") for gone in self.exclude)

    def _reconcile(
        self,
        key: str,
        previous: State,
        scan: _Scan,
        removed: set[str],
        removed_dirs: set[str],
    ) -> list[_Group]:
        """Re-list directory *key*, diff it with the stored listing; return files to check."""
        where = self._os_path(key)
        known = previous.dirs.get(key)
        try:
            info = self.stat(where)
        except OSError:
            info = None
        if info is None or not _S_ISDIR(info.st_mode):
            if known is not None:
                self._drop_subtree(key, previous, removed, removed_dirs)
            if info is not None and key:
                return _group([key])  # a directory replaced by a file
            return []
        listed = self._list(where, key, scan)
        if listed is None:
            return []
        files, dirs = listed
        stat_tuple = _stat_tuple(info)
        scan.dirs[key] = DirRecord(stat_tuple, files, dirs)
        prefix = f"{key}/" if key else ""
        old_files = set(known.files) if known is not None else set()
        old_dirs = set(known.dirs) if known is not None else set()
        for name in old_files - set(files):
            if prefix + name in previous.files:  # unrecorded (errored) files were never there
                removed.add(prefix + name)
        for name in old_dirs - set(dirs):
            self._drop_subtree(prefix + name, previous, removed, removed_dirs)
        # Walk subdirectories new to the listing, and those never listed (a directory
        # that could not be listed last time has no record: its files were never seen).
        new_dirs = [
            prefix + name
            for name in dirs
            if name not in old_dirs or prefix + name not in previous.dirs
        ]
        to_check: list[_Group] = [
            (
                key,
                [n for n in files if n not in old_files or prefix + n not in previous.files],
            )
        ]
        if new_dirs:
            to_check.extend(self._walk(new_dirs, scan))
        return to_check

    @staticmethod
    def _drop_subtree(key: str, previous: State, removed: set[str], removed_dirs: set[str]) -> None:
        """Mark every stored file and directory below *key* (inclusive) as gone."""
        stack = [key]
        while stack:
            current = stack.pop()
            record = previous.dirs.get(current)
            if record is None:
                if current in previous.files:
                    removed.add(current)
                continue
            removed_dirs.add(current)
            prefix = f"{current}/" if current else ""
            removed.update(k for k in (prefix + n for n in record.files) if k in previous.files)
            stack.extend(prefix + name for name in record.dirs)

    def _walk(self, start: Sequence[str], scan: _Scan) -> list[_Group]:
        """Stat (and if needed re-list) directories from *start* down; return files by directory."""
        groups: list[_Group] = []
        stack = list(start)
        unsound = self.mode is DetectionMode.DIRECTORY_MTIME
        racy_floor = scan.racy_floor
        while stack:
            key = stack.pop()
            where = self._os_path(key)
            try:
                info = self.stat(where)
            except (FileNotFoundError, NotADirectoryError):
                continue
            except OSError as error:
                scan.dir_errors[key] = f"cannot stat directory: {error.strerror}"
                self._keep_unreachable(key, scan)
                continue
            scan.stats.dirs_stat += 1
            if not _S_ISDIR(info.st_mode):
                groups.extend(_group([key]))
                continue
            current = _stat_tuple(info)
            known = scan.previous_dirs.get(key)
            if known is not None and unsound and known.stat[0] == current[0]:
                # The RFC's shortcut: trust the directory's mtime for its files too.
                record = known
                scan.reused_listing = True
                for name in known.files:
                    child = f"{key}/{name}" if key else name
                    previous = scan.previous_files.get(child)
                    if previous is not None:
                        scan.files[child] = previous
                        scan.stats.files_skipped += 1
                scan.dirs[key] = record
                stack.extend(f"{key}/{name}" if key else name for name in record.dirs)
                continue
            if (
                known is not None
                and not scan.relist
                and known.stat == current
                and current[0] < racy_floor
                and current[3] < racy_floor
            ):
                record = known
                scan.reused_listing = True
            else:
                listed = self._list(where, key, scan)
                if listed is None:
                    if known is None:
                        continue
                    record = known
                    scan.reused_listing = True
                else:
                    record = DirRecord(current, *listed)
            scan.dirs[key] = record
            if record.files:
                groups.append((key, record.files))
            prefix = f"{key}/" if key else ""
            stack.extend(prefix + name for name in record.dirs)
        return groups

    def _list(
        self, where: str, key: str, scan: _Scan
    ) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
        scan.stats.dirs_listed += 1
        files: list[str] = []
        dirs: list[str] = []
        links: dict[str, tuple[str, ...]] = {}
        ignore = self.ignore
        exclude = self.exclude
        prefix = f"{key}/" if key else ""
        try:
            with os.scandir(where) as entries:
                for entry in entries:
                    name = entry.name
                    if ignore(name) or (exclude and prefix + name in exclude):
                        continue
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            dirs.append(name)
                            continue
                        if entry.is_symlink():
                            links[name] = _hops(entry.path)
                    except OSError:
                        pass
                    # Links stay in the listing, whatever they point at, so every scan stats
                    # them: a link to a directory (never followed: no loops, no duplicates)
                    # whose target becomes a file is tracked from then on.
                    files.append(name)
        except OSError as error:
            scan.dir_errors[key] = f"cannot list directory: {error.strerror}"
            return None
        if links or key in self._links:
            self._set_links(key, links)
        files.sort()
        dirs.sort()
        return tuple(files), tuple(dirs)

    # -- symbolic links -------------------------------------------------------------

    def _set_links(self, key: str, links: dict[str, tuple[str, ...]]) -> None:
        if links:
            self._links[key] = links
        else:
            self._links.pop(key, None)
        self._link_hops = None

    @property
    def links_known(self) -> bool:
        """Whether every symbolic link below the root is known (a relisting detection ran).

        Until then, event-fed detection cannot map a watcher's events on a link's
        target back to the link, and must not be trusted.
        """
        return self._links_listed

    @property
    def links_watchable(self) -> bool:
        """Whether every known link's target lies below the root, outside ignored entries.

        A watcher of the root never reports edits to a target elsewhere, so with
        such links only a full scan sees every change.
        """
        self._hop_index()
        return self._links_watchable

    def _watched_key(self, target: str) -> str | None:
        """The key of *target* if it lies below the root and no part of it is ignored."""
        if not target.startswith(self._prefix):
            return None
        key = target[len(self._prefix) :]
        if any(self.ignore(part) for part in key.split("/")):
            return None
        return key

    def links_to(self, path: str) -> set[str]:
        """Keys of the known links that resolve through *path* or through anything below it.

        *path* may be a hop of a link, its final target, or a directory holding one
        (a directory removed, renamed or replaced changes every link into it).
        """
        hops = self._hop_index()
        found: set[str] = set()
        if not hops:
            return found
        for where in {os.path.normpath(path), os.path.realpath(path)}:
            # The hops equal to *where* or below it: one sorted range ("/" < "0").
            start = bisect.bisect_left(hops, (where, ""))
            end = bisect.bisect_left(hops, (where + "0", ""))
            for hop, link in hops[start:end]:
                if hop == where or hop.startswith(where + "/"):
                    found.add(link)
        return found

    def _hop_index(self) -> list[tuple[str, str]]:
        """``(hop, link key)`` pairs, sorted; built once per change of the known links."""
        hops = self._link_hops
        if hops is None:
            hops = []
            for directory, links in self._links.items():
                prefix = f"{directory}/" if directory else ""
                for name, chain in links.items():
                    hops.extend((hop, prefix + name) for hop in chain)
            hops.sort()
            self._links_watchable = all(self._watched_key(hop) is not None for hop, _ in hops)
            self._link_hops = hops
        return hops

    def _refresh_link(self, key: str) -> None:
        """Bring what is known of *key* as a link up to date: it may have become a link,
        stopped being one, or been retargeted (or a hop of it was)."""
        if (
            not key
            or _is_absolute_key(key)
            or any(self.ignore(part) for part in key.split("/"))
            or (self.exclude and self._excluded(key))
        ):
            return
        directory, _, name = key.rpartition("/")
        links = self._links.get(directory)
        where = self._os_path(key)
        if _is_link(where):
            hops = _hops(where)
            if links is None:
                links = self._links[directory] = {}
            if links.get(name) != hops:
                links[name] = hops
                self._link_hops = None
        elif links is not None and name in links:
            del links[name]
            if not links:
                del self._links[directory]
            self._link_hops = None

    def _check_files(self, groups: list[_Group], scan: _Scan) -> list[str]:
        """Stat and compare files, by directory; return keys that turned out to be directories."""
        executor = self.stat_executor
        size = self.stat_chunk_size
        total = sum(len(names) for _, names in groups)
        threads = self._threads_for(total) if executor is None else 1
        if total <= size or (executor is None and threads <= 1):
            found: list[str] = []
            for directory, names in groups:
                found.extend(self._check_group(directory, names, scan))
            return found
        tasks = [
            (directory, names[i : i + size])
            for directory, names in groups
            for i in range(0, len(names), size)
        ]
        partials = [_Scan(scan.previous_files, scan.previous_dirs, scan.racy_floor) for _ in tasks]
        if isinstance(scan.files, FileTable):
            for part in partials:
                part.files = scan.files.sibling()  # marks rows on the scan's own table

        def check(task: _Group, part: _Scan) -> list[str]:
            return self._check_group(task[0], task[1], part)

        found_dirs: list[str] = []
        if executor is not None:
            results: Iterable[list[str]] = executor.map(check, tasks, partials)
        else:
            results = _in_threads(check, tasks, partials, threads)
        for more in results:
            found_dirs.extend(more)
        for part in partials:
            if isinstance(scan.files, FileTable) and isinstance(part.files, FileTable):
                scan.files.absorb(part.files)
            else:
                scan.files.update(part.files)
            scan.added.extend(part.added)
            scan.modified.extend(part.modified)
            scan.touched.extend(part.touched)
            scan.errors.update(part.errors)
            scan.dir_errors.update(part.dir_errors)
            for field in attrs.fields(DetectorStats):
                name = field.name
                setattr(scan.stats, name, getattr(scan.stats, name) + getattr(part.stats, name))
        return found_dirs

    def _threads_for(self, files: int) -> int:
        """How many threads stat *files* files (``os.stat`` releases the GIL while it waits)."""
        return max(1, self.stat_threads) if files >= _THREADS_FROM_FILES else 1

    def _check_group(self, directory: str, names: Sequence[str], scan: _Scan) -> list[str]:
        """Stat and compare the files *names* of one directory (a state key, or absolute)."""
        found_dirs: list[str] = []
        files = scan.files
        previous_get = scan.previous_files.get
        # In content mode no stat is trusted: a floor no timestamp is below makes all racy.
        racy_floor = _ALWAYS_RACY if self.mode is DetectionMode.CONTENT else scan.racy_floor
        prefix = _prefix_of(directory)
        where_dir = self._os_path(directory) if directory != "/" else ""
        stat = self.stat
        os_stat = os.stat
        # Stat names relative to an open directory (fstatat): no full path to build,
        # and the kernel resolves one component instead of the whole path.
        fd = self._open_directory(where_dir) if stat is os_stat else None
        failed = 0
        # With a stored state's columns, an unchanged file is compared with its row and
        # marked on the scan's table: no record is built or stored for it.
        previous = scan.previous_files
        stray_row: Callable[[str], int | None] = _NO_ROWS.get
        marks = live = bytearray()
        mtimes = sizes = inodes = ctimes = modes = memoryview(b"").cast("q")
        # This directory's rows: its keys are increasing there, as its names are, so one
        # pointer walks both (no key lookup); a key not found there may be a stray row.
        keys: list[str] = []
        row, end = 0, 0
        if isinstance(scan.files, FileTable) and isinstance(previous, FileTable):
            columns = previous.columns
            if columns is not None and scan.files.shares_rows(previous):
                keys = columns.keys()
                stray_row = columns.strays().get
                row, end = columns.runs.get(directory, (0, 0))
                marks, live = scan.files.present, previous.present
                mtimes, sizes, inodes = columns.mtime, columns.size, columns.ino
                ctimes, modes = columns.ctime, columns.mode
        try:
            for name in names:
                try:
                    if fd is not None:
                        info = os_stat(name, dir_fd=fd)
                    else:
                        info = stat(f"{where_dir}/{name}")
                except (FileNotFoundError, NotADirectoryError):
                    failed += 1
                    continue
                except OSError as error:
                    failed += 1
                    self._record_error(prefix + name, f"cannot stat: {error.strerror}", scan)
                    continue
                key = prefix + name
                while row < end and keys[row] < key:
                    row += 1
                found = row if row < end and keys[row] == key else stray_row(key)
                if (
                    found is not None
                    and live[found]
                    and mtimes[found] == info.st_mtime_ns
                    and sizes[found] == info.st_size
                    and inodes[found] == info.st_ino
                    and ctimes[found] == info.st_ctime_ns
                    and modes[found] == info.st_mode
                    and mtimes[found] < racy_floor
                    and ctimes[found] < racy_floor
                ):
                    marks[found] = 1
                    continue
                known = previous_get(key)
                if (
                    known is not None
                    and known.mtime_ns == info.st_mtime_ns
                    and known.size == info.st_size
                    and known.ino == info.st_ino
                    and known.ctime_ns == info.st_ctime_ns
                    and known.mode == info.st_mode
                    and known.mtime_ns < racy_floor
                    and known.ctime_ns < racy_floor
                ):
                    files[key] = known
                    continue
                current = _stat_tuple(info)
                if not _S_ISREG(current[4]):
                    if (
                        _S_ISDIR(current[4])
                        and not _is_absolute_key(key)
                        and not _is_link(f"{where_dir}/{name}")
                    ):
                        found_dirs.append(key)  # a file replaced by a directory
                    continue
                self._examine(key, f"{where_dir}/{name}", current, known, scan, name, fd)
        finally:
            if fd is not None:
                os.close(fd)
        scan.stats.files_stat += len(names) - failed
        return found_dirs

    @staticmethod
    def _open_directory(where: str) -> int | None:
        if not _HAS_DIR_FD:
            return None
        try:
            return os.open(where or "/", _DIRECTORY_FLAGS)
        except OSError:
            return None  # fall back to full paths; their stat reports the real error

    def _examine(
        self,
        key: str,
        where: str,
        current: StatTuple,
        known: FileRecord | None,
        scan: _Scan,
        name: str = "",
        directory_fd: int | None = None,
    ) -> None:
        """Decide a file that is new, changed in stat, racy, or in content mode.

        *name*, in the open directory *directory_fd*, is the file at *where*, if given.
        """
        keep = self.changed_contents
        data = b""
        try:
            if keep is None:
                digest = content_digest(where)
            else:
                data = _read_file(name, where, directory_fd if name else None, current[1])
                digest = _bytes_digest(data)
        except FileNotFoundError:
            return
        except OSError as error:
            self._record_error(key, f"cannot read: {error.strerror}", scan)
            return
        scan.stats.digests += 1
        record = FileRecord.of(current, digest)
        scan.files[key] = record
        if known is None:
            scan.added.append(key)
            if keep is not None:
                keep(where, data)
            return
        if known.stat == current:
            scan.stats.racy_checks += 1
        if known.digest == digest:
            if known.stat != current:
                scan.stats.early_cutoffs += 1
                scan.touched.append(key)
            return
        scan.modified.append(key)
        if keep is not None:
            keep(where, data)

    def fingerprint_settled(self, keys: Iterable[str], before_ns: int) -> dict[str, FileRecord]:
        """Fingerprint files first seen during a build, if provably unchanged since *before_ns*.

        A file whose mtime or ctime is later than ``before_ns`` minus the racy
        window may have changed after the build read it; it is left out, so the
        next detection counts it as added (and rebuilds its users).
        """
        floor = before_ns - self.racy_window_ns
        found: dict[str, FileRecord] = {}
        for key in keys:
            where = self._os_path(key)
            try:
                info = self.stat(where)
                if not _S_ISREG(info.st_mode):
                    continue
                if info.st_mtime_ns >= floor or info.st_ctime_ns >= floor:
                    continue
                digest = content_digest(where)
                after = self.stat(where)
            except OSError:
                continue
            current = _stat_tuple(info)
            again = (after.st_mtime_ns, after.st_size, after.st_ino, after.st_ctime_ns)
            if again == current[:4]:  # not rewritten while being hashed
                found[key] = FileRecord.of(current, digest)
        return found

    def _keep_unreachable(self, key: str, scan: _Scan) -> None:
        """Count every known file below an unreachable directory as changed, not removed."""
        prefix = f"{key}/" if key else ""
        for known in scan.previous_files:
            if known.startswith(prefix) and not _is_absolute_key(known):
                self._record_error(known, "its directory cannot be read", scan)

    @staticmethod
    def _record_error(key: str, message: str, scan: _Scan) -> None:
        # Counted as changed so the host tries it (and reports).  Its record matches no
        # stat, so the next detection looks again; and it keeps the key known, so that
        # a later removal of the file is reported.
        scan.errors[key] = message
        known = scan.previous_files.get(key)
        scan.files[key] = unchecked_record(known)
        if known is not None:
            scan.modified.append(key)
        else:
            scan.added.append(key)


_NO_ROWS: Final[dict[str, int]] = {}
#: Scans of fewer files than this never start threads (not worth their start).
_THREADS_FROM_FILES: Final = 4_096


def _in_threads(
    run: Callable[[_Group, _Scan], list[str]],
    tasks: Sequence[_Group],
    partials: Sequence[_Scan],
    threads: int,
) -> list[list[str]]:
    """``run`` over each task and its partial scan on *threads* threads (this one among them).

    Plain threads rather than ``concurrent.futures`` (whose import alone costs a
    fresh ``incrbuild plan`` about 10 ms).  Tasks are taken in turn from a shared
    counter; results come back in task order; the first error is raised.
    """
    import threading

    results: list[list[str]] = [[] for _ in tasks]
    errors: list[BaseException] = []
    lock = threading.Lock()
    position = iter(range(len(tasks)))

    def work() -> None:
        while not errors:
            with lock:
                index = next(position, None)
            if index is None:
                return
            try:
                results[index] = run(tasks[index], partials[index])
            except BaseException as error:  # re-raised in the calling thread
                errors.append(error)
                return

    helpers = [threading.Thread(target=work, daemon=True) for _ in range(threads - 1)]
    for helper in helpers:
        helper.start()
    work()
    for helper in helpers:
        helper.join()
    if errors:
        raise errors[0]
    return results


#: A directory (state key, or absolute path for tracked files outside the root) and file names.
_Group = tuple[str, Sequence[str]]
_HAS_DIR_FD: Final = os.stat in os.supports_dir_fd and hasattr(os, "O_DIRECTORY")
_DIRECTORY_FLAGS: Final = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_READ_FLAGS: Final = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
#: Bytes asked of each ``os.read`` after the first (which asks for the stat'ed size).
_READ_SIZE: Final = 1 << 16


def _group(keys: Iterable[str]) -> list[_Group]:
    """Group file keys by their directory, keeping first-seen order."""
    by_directory: dict[str, list[str]] = {}
    for key in keys:
        directory, _, name = key.rpartition("/")
        if not directory and key.startswith("/"):
            directory = "/"
        by_directory.setdefault(directory, []).append(name)
    return list(by_directory.items())


def _prefix_of(directory: str) -> str:
    """The key prefix of files in *directory* ("" at the content root)."""
    if not directory:
        return ""
    return "/" if directory == "/" else directory + "/"


def _stat_tuple(info: os.stat_result) -> StatTuple:
    return (info.st_mtime_ns, info.st_size, info.st_ino, info.st_ctime_ns, info.st_mode)


def _parent_key(key: str) -> str:
    return key.rpartition("/")[0]


def _known_ancestor(key: str, known: Mapping[str, DirRecord]) -> str:
    """*key* itself if the state lists it, else its nearest listed ancestor (the root last)."""
    while key and key not in known:
        key = _parent_key(key)
    return key


def _hops(where: str) -> tuple[str, ...]:
    """Every path a link resolves through: each link in its chain, then the final target."""
    hops: list[str] = []
    current = where
    for _ in range(40):  # the kernel's own limit on a chain (ELOOP beyond)
        try:
            target = os.readlink(current)
        except OSError:
            break
        current = os.path.normpath(os.path.join(os.path.dirname(current), target))
        hops.append(current)
    hops.append(os.path.realpath(where))
    return tuple(dict.fromkeys(hops))


def _is_link(where: str) -> bool:
    """Whether *where* is a symbolic link (one ``lstat``; asked of event paths and directories)."""
    try:
        return stat_module.S_ISLNK(os.lstat(where).st_mode)
    except OSError:
        return False


def _is_absolute_key(key: str) -> bool:
    return key.startswith("/") or (len(key) > 2 and key[1] == ":" and key[2] in "/\\")
