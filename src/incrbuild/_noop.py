"""Prove that nothing changed since the last commit, with nothing but ``os`` and the store's bytes.

What a fresh ``incrbuild plan`` process runs first.  Most runs find nothing
changed; for those, the engine's full machinery (attrs and msgspec classes, the
detector, the store) costs more to import than the scan itself.  This module
repeats, for that one outcome, exactly the checks the change detector makes
(:meth:`incrbuild._detect.ChangeDetector.detect` in ``stat`` mode) on the
stored state as :class:`incrbuild._state.StateStore` would load it:

- the snapshot and its journal are read as the store reads them (header,
  schema version, checksums, every valid journal entry applied);
- every stored directory must have its stored stat, outside the racy window, so
  its stored listing is current; every listed file must have its record's stat,
  outside the racy window; every record must be seen (nothing removed), and every
  file a page recorded reading must be among them.

Any other finding (a change, a racy entry, a missing or unusable store, a clock
gone backwards, a state for another root, strings stored escaped, a symbolic
link's listing, a site configuration file to read) is not judged here: the
answer is ``None`` and the caller runs the full machinery, which decides, warns
and reports as it always does.  So this path can make a plan faster, never
different.
"""

from __future__ import annotations

import os
import stat as stat_module
import sys
import time
import zlib

from incrbuild._layout import (
    DEFAULT_RACY_WINDOW_NS,
    ENTRY_HEADER,
    ESCAPED,
    HEADER,
    INT_FORMATS,
    JOURNAL_FILE_NAME,
    JOURNAL_HEADER,
    JOURNAL_MAGIC,
    MAGIC,
    NUMBER_COLUMNS,
    PAGE_BYTES,
    SCHEMA_VERSION,
    SNAPSHOT_FIELDS,
    STATE_FILE_NAME,
    TRAILER,
)
from incrbuild._msgpack import unpack

TYPE_CHECKING = False  # not typing's: see the module docstring
if TYPE_CHECKING:
    from typing import Final

__all__ = ["Unchanged", "unchanged_since_commit"]

_TABLES: Final = ("dirs", "dependencies", "dependents", "outputs", "reads", "readers")
_DIRECTORY_FLAGS: Final = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_USABLE: Final = (
    os.name == "posix"
    and sys.byteorder == "little"
    and os.stat in os.supports_dir_fd
    and hasattr(os, "O_DIRECTORY")
)


#: Payloads from this size on are decoded with msgspec: past a few tens of thousands of
#: files, decoding their listings in Python costs more than importing msgspec (10-15 ms).
_MSGSPEC_FROM = 4 * 2**20


def _decode(data: memoryview) -> object:
    """The msgpack value *data* holds; ``ValueError`` if it is not the store's kind."""
    if len(data) < _MSGSPEC_FROM:
        return unpack(data)
    import msgspec

    try:
        return msgspec.msgpack.decode(data)
    except msgspec.DecodeError as error:
        raise ValueError(str(error)) from None


class _Unproven(Exception):
    """Something this module does not judge: the full machinery must."""


class Unchanged:
    """What a no-op plan reports: files stat'ed, pages in the state, and the time taken."""

    __slots__ = ("elapsed_ns", "files_stat", "pages")

    def __init__(self, files_stat: int, pages: int, elapsed_ns: int) -> None:
        self.files_stat = files_stat
        self.pages = pages
        self.elapsed_ns = elapsed_ns


def unchanged_since_commit(
    content_dir: str, state_dir: str, *, config_names: tuple[str, ...] = ()
) -> Unchanged | None:
    """Prove that nothing below *content_dir* changed since the state in *state_dir*.

    Both are absolute and normalised (as :func:`os.path.abspath` gives them).
    *config_names* are site configuration files looked for beside *content_dir*:
    if one exists, the full machinery reads it (it may be invalid), so the answer
    is ``None``.  ``None`` also means "not proven": never "changed".
    """
    if not _USABLE:
        return None
    started = time.perf_counter_ns()
    try:
        if _any_file(os.path.dirname(content_dir), config_names):
            return None
        state = _StoredState.read(state_dir)
        files_stat = state.verify(content_dir)
    except (_Unproven, OSError, ValueError, KeyError, IndexError, TypeError, OverflowError):
        return None
    return Unchanged(files_stat, state.pages(), time.perf_counter_ns() - started)


def _any_file(directory: str, names: tuple[str, ...]) -> bool:
    for name in names:
        try:
            info = os.stat(f"{directory}/{name}")
        except (FileNotFoundError, NotADirectoryError):
            continue
        if stat_module.S_ISREG(info.st_mode):
            return True
    return False


def _require(condition: bool) -> None:
    if not condition:
        raise _Unproven


# Decoded values are checked as msgspec checks them against the store's types: a value
# msgspec would refuse makes the full machinery warn, so here it is not proven.


def _str(value: object) -> str:
    if type(value) is not str:
        raise _Unproven
    return value


def _int(value: object) -> int:
    if type(value) is not int:
        raise _Unproven
    return value


def _blob(value: object) -> memoryview:
    """A binary: a view into the store's bytes (``_msgpack``) or bytes (msgspec)."""
    if isinstance(value, bytes):
        return memoryview(value)
    if not isinstance(value, memoryview):
        raise _Unproven
    return value


def _list(value: object, size: int | None = None) -> list[object]:
    if not isinstance(value, list) or (size is not None and len(value) != size):
        raise _Unproven
    return value


def _strings(value: object) -> list[str]:
    items = _list(value)
    if not set(map(type, items)) <= {str}:  # one pass at C speed: listings are long
        raise _Unproven
    return items  # type: ignore[return-value]


def _dict(value: object) -> dict[str, object]:
    if not isinstance(value, dict) or not all(type(key) is str for key in value):
        raise _Unproven
    return value


_DirRecord = tuple[tuple[int, ...], list[str], list[str]]


def _dir_record(value: object) -> _DirRecord:
    """A stored directory record: ``(stat, files, dirs)``."""
    stat, files, dirs = _list(value, 3)
    return tuple(map(_int, _list(stat, 5))), _strings(files), _strings(dirs)


def _file_record(value: object) -> tuple[tuple[int, ...], bool]:
    """A record a journal entry set: its stat tuple and whether it is a page."""
    fields = _list(value)
    _require(5 <= len(fields) <= 7)
    digest = fields[5] if len(fields) > 5 else None
    front_matter = _blob(fields[6]) if len(fields) > 6 else b""
    _require(digest is None or isinstance(digest, bytes | memoryview))
    return tuple(map(_int, fields[:5])), len(front_matter) > 0


def _table(value: object, *, dropped: bool = False) -> dict[str, object]:
    """A stored table of string tuples; *dropped*: a journal's, where ``None`` drops a key."""
    table = _dict(value)
    for item in table.values():
        if item is not None or not dropped:
            _strings(item)
    return table


def _dirs(value: object, *, dropped: bool = False) -> dict[str, _DirRecord | None]:
    """A stored table of directory records (*dropped*: as in :func:`_table`)."""
    return {
        key: None if item is None and dropped else _dir_record(item)
        for key, item in _dict(value).items()
    }


class _StoredState:
    """The stored state as ``StateStore.load`` would build it, kept in the snapshot's columns."""

    def __init__(self, payload: list[object]) -> None:
        fields = dict(zip(SNAPSHOT_FIELDS, payload, strict=True))
        self.root = _str(fields["root"])
        self.snapshot_ns = _int(fields["snapshot_ns"])
        self.commit_id = _str(fields["commit_id"])
        self.count = count = _int(fields["count"])
        _require(count >= 0)
        numbers = _blob(fields["numbers"])
        columns: list[memoryview] = []
        offset = 0
        for width in bytes(_blob(fields["widths"])):
            _require(width in INT_FORMATS and offset + width * count <= len(numbers))
            column = numbers[offset : offset + width * count].cast(INT_FORMATS[width])  # type: ignore[call-overload]
            columns.append(column)
            offset += width * count
        _require(len(columns) == len(NUMBER_COLUMNS) and offset == len(numbers))
        self.mtime, self.size, self.ino, self.ctime, self.mode, digest_lengths, fm_lengths = columns
        # What building a record from a row checks (``_Columns._ends``), summed at C speed.
        _require(sum(digest_lengths) == len(_blob(fields["digests"])))
        _require(sum(fm_lengths) == len(_blob(fields["front_matter"])))
        self.flags = bytes(_blob(fields["flags"]))
        _require(len(self.flags) == count)
        self.runs: dict[str, tuple[int, int]] = {}
        for key, run in _dict(fields["runs"]).items():
            start, end = map(_int, _list(run, 2))
            _require(0 <= start <= end <= count)
            self.runs[key] = (start, end)
        keys = bytes(_blob(fields["keys"]))
        _require((keys.count(0) + 1 if count else len(keys)) == count)
        self.keys = keys.decode("utf-8", "surrogatepass").split("\0") if count else []
        strays = [_int(row) for row in _list(fields["strays"])]
        _require(all(0 <= row < count for row in strays))
        self.strays = {self.keys[row]: row for row in strays}
        self.dirs = _dirs(fields["dirs"])
        self.dependents = _table(fields["dependents"])
        for name in ("dependencies", "outputs", "reads", "readers"):
            _table(fields[name])
        # Rows stay live until a journal entry sets or drops their key (as in ``FileTable``).
        self.dead: set[int] = set()
        self.extra: dict[str, tuple[tuple[int, ...], bool]] = {}

    @classmethod
    def read(cls, state_dir: str) -> _StoredState:
        """Read the snapshot and apply its journal, as ``StateStore.load`` does."""
        with open(f"{state_dir}/{STATE_FILE_NAME}", "rb") as handle:
            data = handle.read()
        _require(len(data) >= HEADER.size + TRAILER.size)
        magic, version, flags, _, token = HEADER.unpack_from(data)
        _require(magic == MAGIC and version == SCHEMA_VERSION and not flags & ESCAPED)
        (checksum,) = TRAILER.unpack_from(data, len(data) - TRAILER.size)
        view = memoryview(data)
        _require(zlib.crc32(view[8 : len(data) - TRAILER.size]) == checksum)
        payload = _decode(view[HEADER.size : len(data) - TRAILER.size])
        state = cls(_list(payload, len(SNAPSHOT_FIELDS)))
        try:
            with open(f"{state_dir}/{JOURNAL_FILE_NAME}", "rb") as handle:
                journal = handle.read()
        except OSError:
            journal = b""
        state._apply_journal(journal, token)
        return state

    def _apply_journal(self, journal: bytes, token: bytes) -> None:
        """Apply the journal's valid entries (``_scan_journal``, then ``_apply_entry``)."""
        if len(journal) < JOURNAL_HEADER.size or JOURNAL_HEADER.unpack_from(journal) != (
            JOURNAL_MAGIC,
            SCHEMA_VERSION,
            token,
        ):
            return
        view = memoryview(journal)
        offset = JOURNAL_HEADER.size
        while offset + ENTRY_HEADER.size <= len(journal):
            length, checksum, flags, _ = ENTRY_HEADER.unpack_from(journal, offset)
            begin = offset + ENTRY_HEADER.size
            if begin + length > len(journal):
                break
            if zlib.crc32(view[offset + 8 : begin + length]) != checksum:
                break  # the torn tail of a killed append: never a commit
            _require(not flags & ESCAPED)
            self._apply_entry(_decode(view[begin : begin + length]))
            offset = begin + length

    def _apply_entry(self, entry: object) -> None:
        root, snapshot_ns, commit_id, files, *tables = _list(entry, 10)
        self.root, self.snapshot_ns, self.commit_id = _str(root), _int(snapshot_ns), _str(commit_id)
        for key, value in _dict(files).items():
            row = self._row(key)
            if row is not None:
                self.dead.add(row)  # set or dropped: the row is no longer the key's record
            if value is None:
                self.extra.pop(key, None)
            else:
                self.extra[key] = _file_record(value)
        named = dict(zip(_TABLES, tables, strict=True))
        for key, record in _dirs(named["dirs"], dropped=True).items():
            if record is None:
                self.dirs.pop(key, None)
            else:
                self.dirs[key] = record
        for key, value in _table(named["dependents"], dropped=True).items():
            if value is None:
                self.dependents.pop(key, None)
            else:
                self.dependents[key] = value
        for name in ("dependencies", "outputs", "reads", "readers"):
            _table(named[name], dropped=True)

    def _row(self, key: str) -> int | None:
        """The row of *key* in the columns (``_Columns.row``), live or not."""
        run = self.runs.get(key.rpartition("/")[0])
        if run is not None:
            start, end = run
            keys = self.keys
            # A bisection, as the store's lookup does (only journal keys come here).
            while start < end:
                middle = (start + end) // 2
                if keys[middle] < key:
                    start = middle + 1
                else:
                    end = middle
            if start < run[1] and keys[start] == key:
                return start
        return self.strays.get(key)

    def pages(self) -> int:
        """How many records carry front matter (``PageRecords.__len__``)."""
        pages = self.flags.translate(PAGE_BYTES)
        count = pages.count(1) - sum(pages[row] for row in self.dead)
        return count + sum(1 for _, page in self.extra.values() if page)

    def verify(self, root: str) -> int:
        """Stat every tracked file below *root*; return how many, or raise :class:`_Unproven`."""
        _require(bool(self.commit_id) and self.root in ("", root))
        snapshot = time.time_ns()  # as the detector takes it: before the first stat
        _require(snapshot >= self.snapshot_ns)  # else the clock went back: the engine warns
        floor = self.snapshot_ns - DEFAULT_RACY_WINDOW_NS
        _require(os.path.isdir(root))
        groups: list[tuple[str, list[str]]] = []
        stack = [""]
        while stack:
            key = stack.pop()
            info = os.stat(f"{root}/{key}" if key else root)
            known = self.dirs.get(key)
            if known is None:
                raise _Unproven
            stat, files, dirs = known
            _require(
                stat[0] == info.st_mtime_ns
                and stat[1] == info.st_size
                and stat[2] == info.st_ino
                and stat[3] == info.st_ctime_ns
                and stat[4] == info.st_mode
                and stat[0] < floor
                and stat[3] < floor
            )
            if files:
                groups.append((key, files))
            prefix = f"{key}/" if key else ""
            stack.extend(prefix + name for name in dirs)
        seen = bytearray(self.count)
        seen_extra: set[str] = set()
        total = 0
        for directory, names in groups:
            total += len(names)
            self._check_group(root, directory, names, floor, seen, seen_extra)
        live = self.count - len(self.dead)
        _require(seen.count(1) + len(seen_extra) == live + len(self.extra))
        if self.dependents:
            # Files a page read are checked too; those outside the walk are the engine's.
            walked = {directory: set(names) for directory, names in groups}
            for key in self.dependents:
                directory, _, name = key.rpartition("/")
                _require(name in walked.get(directory, ()))
        return total

    def _check_group(
        self,
        root: str,
        directory: str,
        names: list[str],
        floor: int,
        seen: bytearray,
        seen_extra: set[str],
    ) -> None:
        """Stat the files of one directory against their rows (``_check_group``)."""
        prefix = f"{directory}/" if directory else ""
        keys = self.keys
        row, end = self.runs.get(directory, (0, 0))
        strays, dead, extra = self.strays, self.dead, self.extra
        mtimes, sizes, inodes, ctimes, modes = (
            self.mtime,
            self.size,
            self.ino,
            self.ctime,
            self.mode,
        )
        os_stat = os.stat
        fd = os.open(f"{root}/{directory}" if directory else root, _DIRECTORY_FLAGS)
        try:
            start = row
            expected = [prefix + name for name in names]
            if (
                keys[start:end] == expected
                and not any(start <= gone < end for gone in dead)
                and extra.keys().isdisjoint(expected)
            ):
                # The usual case: the listing is its directory's run of rows, all live.
                for at, name in enumerate(names, start):
                    info = os_stat(name, dir_fd=fd)
                    if not (
                        mtimes[at] == info.st_mtime_ns
                        and sizes[at] == info.st_size
                        and inodes[at] == info.st_ino
                        and ctimes[at] == info.st_ctime_ns
                        and modes[at] == info.st_mode
                        and mtimes[at] < floor
                        and ctimes[at] < floor
                    ):
                        raise _Unproven
                seen[start:end] = b"\x01" * (end - start)
                return
            for name in names:
                info = os_stat(name, dir_fd=fd)
                key = prefix + name
                while row < end and keys[row] < key:
                    row += 1
                found = row if row < end and keys[row] == key else strays.get(key)
                if key in extra:
                    stat = extra[key][0]
                    seen_extra.add(key)
                elif found is not None and found not in dead:
                    stat = (mtimes[found], sizes[found], inodes[found], ctimes[found], modes[found])
                    seen[found] = 1
                else:
                    raise _Unproven  # a file the state does not know: added
                if not (
                    stat[0] == info.st_mtime_ns
                    and stat[1] == info.st_size
                    and stat[2] == info.st_ino
                    and stat[3] == info.st_ctime_ns
                    and stat[4] == info.st_mode
                    and stat[0] < floor
                    and stat[3] < floor
                ):
                    raise _Unproven
        finally:
            os.close(fd)
