"""The persisted state: fingerprints, directory listings and page facts, as msgspec on disk.

Layout of ``<state_dir>/state.bin``: an 8-byte magic, a little-endian u32
schema version, the msgpack payload, and a CRC-32 of the payload.  A file
that is missing, empty, truncated, garbage or of another version is reported
with a :class:`StateWarning` and read as the empty state, which makes every
file count as added: the safe direction.  Writes go to a temporary file that
is fsynced and renamed over the old one, under an inter-process lock, so a
reader sees the old state or the new one, never a torn one.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import struct
import sys
import tempfile
import time
import warnings
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final, final

import msgspec

from incrbuild._errors import StateLockedError, StateWarning, StateWriteError

__all__ = [
    "SCHEMA_VERSION",
    "DirRecord",
    "FileRecord",
    "PageRecords",
    "StatTuple",
    "State",
    "StateStore",
]

SCHEMA_VERSION: Final = 3
_MAGIC: Final = b"INCRBLD\x00"
_HEADER = struct.Struct("<8sI")
_TRAILER = struct.Struct("<I")
STATE_FILE_NAME: Final = "state.bin"
LOCK_FILE_NAME: Final = "lock"

#: ``(mtime_ns, size, inode, ctime_ns, mode)`` as ``os.stat`` reports them.
StatTuple = tuple[int, int, int, int, int]


class FileRecord(msgspec.Struct, array_like=True, frozen=True, gc=False, omit_defaults=True):
    """What was known of one tracked file: stat fields, content digest, and a page's front matter.

    The stat fields are flat rather than a tuple (at 100,000 files a tuple each
    is 10 MB).  ``front_matter`` is set for pages: their JSON-like front matter,
    kept encoded until a plan asks for it, which it does only for pages that
    changed (100,000 pages cost bytes, not dictionaries).  It lets a warm build plan, and
    rebuild its site model, without re-reading pages that did not change.
    """

    mtime_ns: int
    size: int
    ino: int
    ctime_ns: int
    mode: int
    digest: bytes | None = None
    front_matter: bytes = b""  # msgpack of the front matter; empty: not a page

    @classmethod
    def of(cls, stat: StatTuple, digest: bytes | None = None) -> FileRecord:
        """Return the record of stat tuple *stat* and *digest*."""
        return cls(stat[0], stat[1], stat[2], stat[3], stat[4], digest)

    def with_metadata(self, metadata: dict[str, Any] | None) -> FileRecord:
        """Return this record carrying *metadata* as its page's front matter (``None``: no page)."""
        encoded = b"" if metadata is None else _ENCODER.encode(metadata)
        return msgspec.structs.replace(self, front_matter=encoded)

    @property
    def metadata(self) -> dict[str, Any]:
        """The page's front matter, decoded afresh on each access (``{}`` if not a page)."""
        if not self.front_matter:
            return {}
        return _METADATA_DECODER.decode(self.front_matter)

    @property
    def stat(self) -> StatTuple:
        """The stat tuple ``(mtime_ns, size, inode, ctime_ns, mode)``."""
        return (self.mtime_ns, self.size, self.ino, self.ctime_ns, self.mode)


class DirRecord(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """One listed directory: its stat tuple and its tracked files' and subdirectories' names."""

    stat: StatTuple
    files: tuple[str, ...]
    dirs: tuple[str, ...]


class PageRecords(Mapping[str, FileRecord]):
    """The file records that belong to pages (those with front matter): a view, not a copy."""

    __slots__ = ("_files",)

    def __init__(self, files: Mapping[str, FileRecord]) -> None:
        self._files = files

    def __getitem__(self, key: str) -> FileRecord:
        record = self._files[key]
        if not record.front_matter:
            raise KeyError(key)
        return record

    def __contains__(self, key: object) -> bool:
        record = self._files.get(key) if isinstance(key, str) else None
        return record is not None and bool(record.front_matter)

    def __iter__(self) -> Iterator[str]:
        return (key for key, record in self._files.items() if record.front_matter)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class State(msgspec.Struct, kw_only=True):
    """Everything one commit recorded; keys are POSIX paths relative to ``root``."""

    root: str = ""
    snapshot_ns: int = 0
    commit_id: str = ""
    files: dict[str, FileRecord] = msgspec.field(default_factory=dict)
    dirs: dict[str, DirRecord] = msgspec.field(default_factory=dict)
    dependencies: dict[str, tuple[str, ...]] = msgspec.field(default_factory=dict)
    dependents: dict[str, tuple[str, ...]] = msgspec.field(default_factory=dict)
    outputs: dict[str, tuple[str, ...]] = msgspec.field(default_factory=dict)

    @property
    def facts(self) -> PageRecords:
        """The records of pages (files with stored front matter), keyed like ``files``."""
        return PageRecords(self.files)


_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(State)
_METADATA_DECODER = msgspec.msgpack.Decoder(dict[str, Any])


def encode_state(state: State) -> bytes:
    """Serialise *state* with header and checksum."""
    payload = _ENCODER.encode(state)
    return _HEADER.pack(_MAGIC, SCHEMA_VERSION) + payload + _TRAILER.pack(zlib.crc32(payload))


def decode_state(data: bytes) -> State:
    """Parse bytes written by :func:`encode_state`; raise ``ValueError`` saying what is wrong."""
    if not data:
        raise ValueError("the state file is empty")
    if len(data) < _HEADER.size + _TRAILER.size:
        raise ValueError("the state file is truncated")
    magic, version = _HEADER.unpack_from(data)
    if magic != _MAGIC:
        raise ValueError("the state file is not an incrbuild state (bad magic bytes)")
    if version != SCHEMA_VERSION:
        raise ValueError(f"the state file has schema version {version}, expected {SCHEMA_VERSION}")
    payload = memoryview(data)[_HEADER.size : len(data) - _TRAILER.size]
    (checksum,) = _TRAILER.unpack_from(data, len(data) - _TRAILER.size)
    if zlib.crc32(payload) != checksum:
        raise ValueError("the state file is truncated or corrupt (checksum mismatch)")
    try:
        return _DECODER.decode(payload)
    except msgspec.DecodeError as error:
        raise ValueError(f"the state file cannot be decoded: {error}") from None


@final
class StateStore:
    """Loads and atomically saves the :class:`State` kept in one state directory."""

    def __init__(self, state_dir: Path | str, *, lock_timeout: float = 30.0) -> None:
        self.state_dir = Path(state_dir)
        self.lock_timeout = lock_timeout
        self.path = self.state_dir / STATE_FILE_NAME

    def load(self) -> State:
        """Return the stored state, or an empty one (with a :class:`StateWarning`) if unusable."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return State()
        except OSError as error:
            self._warn(f"cannot read {self.path}: {error.strerror}")
            return State()
        try:
            return decode_state(data)
        except ValueError as error:
            self._warn(f"{self.path}: {error}")
            return State()

    def current_commit_id(self) -> str:
        """Return the commit id of the stored state ("" if none or unusable), without warnings."""
        try:
            return decode_state(self.path.read_bytes()).commit_id
        except (OSError, ValueError):
            return ""

    @staticmethod
    def _warn(message: str) -> None:
        warnings.warn(
            f"{message}; treating every file as changed (a full rebuild)",
            StateWarning,
            stacklevel=3,
        )

    def save(self, state: State) -> None:
        """Write *state* atomically: temp file, fsync, rename, fsync of the directory."""
        data = encode_state(state)
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            fd, temp_name = tempfile.mkstemp(prefix=".state-", suffix=".tmp", dir=self.state_dir)
        except OSError as error:
            raise StateWriteError(
                f"cannot write state in {self.state_dir}: {error.strerror}"
            ) from None
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp_name, self.path)
        except OSError as error:
            with contextlib.suppress(OSError):
                os.unlink(temp_name)
            raise StateWriteError(f"cannot write {self.path}: {error.strerror}") from None
        _fsync_directory(self.state_dir)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the state directory's inter-process lock for the duration of the block."""
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            handle = open(self.state_dir / LOCK_FILE_NAME, "a+b")  # noqa: SIM115
        except OSError as error:
            raise StateWriteError(
                f"cannot lock state in {self.state_dir}: {error.strerror}"
            ) from None
        with handle:
            _acquire(handle.fileno(), self.lock_timeout, self.state_dir)
            try:
                yield
            finally:
                _release(handle.fileno())


def new_commit_id() -> str:
    """Return a fresh random token identifying one commit."""
    return secrets.token_hex(8)


def _fsync_directory(directory: Path) -> None:
    if sys.platform == "win32":  # pragma: no cover - directories cannot be opened there
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _release(fd: int) -> None:
        with contextlib.suppress(OSError):
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _release(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _acquire(fd: int, timeout: float, where: Path) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.001
    while not _try_lock(fd):
        if time.monotonic() >= deadline:
            raise StateLockedError(
                f"another incrbuild process holds the lock on {where} (waited {timeout:g} s)"
            )
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
