"""The no-op path of ``incrbuild plan`` (``_noop``): fast, and never different from the engine.

A fresh ``incrbuild plan`` first tries to prove, without the engine, that nothing
changed.  These tests check what that buys (a no-op process imports none of the
engine's dependencies) and what it must never cost: for every tree and store, the
command prints, exits and leaves the store exactly as the full machinery does.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from incrbuild import _cli, _layout, _msgpack, _noop
from incrbuild._detect import DEFAULT_RACY_WINDOW_NS
from incrbuild._state import FileRecord, _Delta, _Snapshot

from .helpers import write

#: Modules a no-op ``incrbuild plan`` must not import: the engine, its dependencies, and the
#: standard library's heavier modules (each costs a fresh process milliseconds).
ENGINE_MACHINERY = (
    "attr",
    "attrs",
    "msgspec",
    "argparse",
    "typing",
    "pathlib",
    "contextlib",
    "urllib",
    "incrbuild._engine",
    "incrbuild._detect",
    "incrbuild._state",
    "incrbuild._plan",
    "incrbuild._commands",
    "incrbuild.adapters.files",
)


def _site(root: Path) -> None:
    write(root / "docs" / "_index.md", "---\ntitle: Docs\ncascade: {layout: doc}\n---\n")
    write(root / "docs" / "a.md", "---\ntitle: A\ntags: [x]\n---\nA\n")
    write(root / "docs" / "deep" / "b.md", "---\ntitle: B\n---\nB\n")
    write(root / "top.md", "---\ntitle: Top\n---\n")
    write(root / "docs" / "logo.png", "not really a PNG")


def test_a_noop_plan_imports_none_of_the_engine(tmp_path: Path) -> None:
    """A fresh no-op ``incrbuild plan`` imports no attrs, msgspec, argparse, typing, engine.

    Only what the plan adds counts: an interpreter may preload modules first.
    """
    content = tmp_path / "content"
    _site(content)
    time.sleep(DEFAULT_RACY_WINDOW_NS / 1e9 + 0.2)  # the files settle: no racy record
    state = tmp_path / "state"
    command = [sys.executable, "-m", "incrbuild"]
    subprocess.run([*command, "commit", str(content), "--state-dir", str(state)], check=True)
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "from incrbuild._cli import main\n"
        f"status = main(['plan', {str(content)!r}, '--state-dir', {str(state)!r}])\n"
        f"heavy = {ENGINE_MACHINERY!r}\n"
        "new = set(sys.modules) - before\n"
        "print(status, sorted(m for m in new if m in heavy or m.split('.')[0] in heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = out.stdout.strip().splitlines()
    assert lines[0] == "changes: 0 added, 0 modified, 0 removed (0 touched, unchanged)"
    assert lines[1].startswith("rebuild: 0 of 4 pages,")
    assert lines[-1] == "0 []"


# -- the same answer as the engine ------------------------------------------------------------


class _Clock:
    """``time.time_ns`` running ahead of the real clock by ``offset``: files "settle" at once.

    Both paths read the clock through ``time.time_ns``, so they see the same time; file
    timestamps stay real, so a file written before the offset grew is old to both.
    """

    def __init__(self) -> None:
        self.offset = 0
        self._real = time.time_ns

    def __call__(self) -> int:
        return self._real() + self.offset


@contextlib.contextmanager
def _clock() -> Iterator[_Clock]:
    clock = _Clock()
    real = time.time_ns
    time.time_ns = clock
    try:
        yield clock
    finally:
        time.time_ns = real


def _files(directory: Path) -> dict[str, bytes]:
    if not directory.is_dir():
        return {}
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()}


def _restore(directory: Path, files: dict[str, bytes]) -> None:
    if directory.is_dir():
        for path in directory.iterdir():
            if path.is_file() and path.name not in files:
                path.unlink()
    for name, data in files.items():
        directory.mkdir(parents=True, exist_ok=True)
        (directory / name).write_bytes(data)


def _run(words: list[str], *, fast: bool) -> tuple[int, str, str, bool]:
    """``main(words)`` in process: status, stdout (timing masked), stderr, whether proven."""
    proven: list[bool] = []
    real_prove = _noop.unchanged_since_commit
    real_try = _cli._unchanged_plan

    def prove(*args: Any, **kwargs: Any) -> _noop.Unchanged | None:
        found = real_prove(*args, **kwargs)
        proven.append(found is not None)
        return found

    out, err = io.StringIO(), io.StringIO()
    _noop.unchanged_since_commit = prove
    if not fast:
        _cli._unchanged_plan = lambda words: None
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = _cli.main(words)
    finally:
        _noop.unchanged_since_commit = real_prove
        _cli._unchanged_plan = real_try
    text = re.sub(r"decided in [0-9.]+ ms", "decided in X ms", out.getvalue())
    text = re.sub(r'"(detect|plan)_ms": [0-9.e+-]+', r'"\1_ms": X', text)
    return status, text, err.getvalue(), any(proven)


def plan_both_ways(words: list[str], state: Path) -> bool:
    """Plan with the engine alone, then (from the same store) as the command does; compare.

    Returns whether the no-op path answered.  The store is left as the command left it.
    """
    before = _files(state)
    full = _run(words, fast=False)
    after_full = _files(state)
    _restore(state, before)
    fast = _run(words, fast=True)
    assert fast[:3] == full[:3]
    if fast[3]:
        assert _files(state) == before, "the no-op path wrote to the store"
        assert after_full == before, "the no-op path answered a plan that writes to the store"
    return fast[3]


@pytest.fixture
def clock() -> Iterator[_Clock]:
    with _clock() as found:
        yield found


def _plan(content: Path, *extra: str) -> list[str]:
    return ["plan", str(content), *extra]


def _commit(content: Path, *extra: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert _cli.main(["commit", str(content), *extra]) == 0


class TestSameAnswerAsTheEngine:
    """Each case: the no-op path answers exactly when the engine finds nothing, and alike."""

    @pytest.fixture
    def site(self, tmp_path: Path, clock: _Clock) -> Path:
        """A site committed after its files settled, then planned once.

        The commit creates the state directory in the content root, after its scan: the
        root's new stat is re-stamped by that first plan (and so is never a no-op).
        """
        content = tmp_path / "content"
        _site(content)
        clock.offset = 3 * DEFAULT_RACY_WINDOW_NS
        _commit(content)
        assert not plan_both_ways(_plan(content), self.state(content))
        return content

    def state(self, content: Path) -> Path:
        return content / _layout.DEFAULT_STATE_DIR_NAME

    def test_settled_noop_is_answered(self, site: Path) -> None:
        assert plan_both_ways(_plan(site), self.state(site))
        for extra in (["--explain"], ["-q", "--navigation"], ["--mode=stat", "--taxonomy", "x"]):
            assert plan_both_ways(_plan(site, *extra), self.state(site))

    def test_a_large_store_is_decoded_with_msgspec(
        self, site: Path, clock: _Clock, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(_noop, "_MSGSPEC_FROM", 0)
        assert plan_both_ways(_plan(site), self.state(site))
        write(site / "docs" / "a.md", "---\ntitle: A2\n---\n")
        clock.offset += 3 * DEFAULT_RACY_WINDOW_NS
        _commit(site)  # a journal entry, decoded with msgspec too
        assert plan_both_ways(_plan(site), self.state(site))

    def test_forms_it_does_not_read_go_to_argparse(self, site: Path) -> None:
        for extra in (["--json"], ["--mode", "content"], ["--expl"], ["--state-dir"], ["-h"]):
            assert not plan_both_ways(_plan(site, *extra), self.state(site)), extra

    def test_racy_records_are_left_to_the_engine(self, tmp_path: Path, clock: _Clock) -> None:
        content = tmp_path / "racy"
        _site(content)
        _commit(content)  # right after the writes: every record is racy
        assert not plan_both_ways(_plan(content), self.state(content))
        clock.offset += 2 * DEFAULT_RACY_WINDOW_NS
        assert not plan_both_ways(_plan(content), self.state(content))  # checks, re-stamps
        assert plan_both_ways(_plan(content), self.state(content))

    def test_a_racy_file_in_a_settled_directory_is_left_to_the_engine(self, tmp_path: Path) -> None:
        """A file rewritten in place just before the commit (its directory's stat is old)."""
        content = tmp_path / "content"
        _site(content)
        state = tmp_path / "state"
        words = _plan(content, "--state-dir", str(state))
        time.sleep(DEFAULT_RACY_WINDOW_NS / 1e9 + 0.2)  # real time: ctimes cannot be faked
        _commit(content, "--state-dir", str(state))
        assert plan_both_ways(words, state)
        write(content / "docs" / "a.md", "---\ntitle: A\ntags: [x]\n---\nA\n")  # same bytes
        _commit(content, "--state-dir", str(state))  # its new record is racy (in the journal)
        assert not plan_both_ways(words, state)
        snapshot = tmp_path / "snapshot"
        _commit(content, "--state-dir", str(snapshot))  # and in a snapshot's columns
        assert not plan_both_ways(_plan(content, "--state-dir", str(snapshot)), snapshot)

    @pytest.mark.parametrize(
        "edit",
        [
            lambda root: write(root / "docs" / "a.md", "---\ntitle: Z\ntags: [x]\n---\nA\n"),
            lambda root: write(root / "docs" / "new.md", "---\ntitle: N\n---\n"),
            lambda root: (root / "top.md").unlink(),
            lambda root: shutil.rmtree(root / "docs" / "deep"),
            lambda root: write(root / "more" / "c.md", "---\ntitle: C\n---\n"),
            lambda root: os.utime(root / "docs" / "logo.png", ns=(1, 1)),
            lambda root: os.chmod(root / "top.md", 0o600),
        ],
    )
    def test_any_change_is_left_to_the_engine(self, site: Path, edit: Any) -> None:
        edit(site)
        assert not plan_both_ways(_plan(site), self.state(site))

    def test_a_journal_is_applied(self, site: Path, clock: _Clock) -> None:
        write(site / "docs" / "a.md", "---\ntitle: A2\n---\n")
        (site / "top.md").unlink()
        clock.offset += 3 * DEFAULT_RACY_WINDOW_NS
        _commit(site)
        assert (self.state(site) / _layout.JOURNAL_FILE_NAME).exists()
        assert plan_both_ways(_plan(site), self.state(site))
        write(site / "top.md", "---\ntitle: Top again\n---\n")
        assert not plan_both_ways(_plan(site), self.state(site))

    def test_a_torn_journal_tail_is_ignored(self, site: Path, clock: _Clock) -> None:
        write(site / "docs" / "a.md", "---\ntitle: A2\n---\n")
        clock.offset += 3 * DEFAULT_RACY_WINDOW_NS
        _commit(site)
        journal = self.state(site) / _layout.JOURNAL_FILE_NAME
        journal.write_bytes(journal.read_bytes() + b"\x10\x00\x00\x00garbage")
        assert plan_both_ways(_plan(site), self.state(site))

    @pytest.mark.parametrize("where", [60, -6, "truncate", "version"])
    def test_a_damaged_snapshot_is_left_to_the_engine(self, site: Path, where: Any) -> None:
        path = self.state(site) / _layout.STATE_FILE_NAME
        data = bytearray(path.read_bytes())
        if where == "truncate":
            data = data[: len(data) // 2]
        elif where == "version":
            data[8] += 1
        else:
            data[where] ^= 0x40
        path.write_bytes(bytes(data))
        assert not plan_both_ways(_plan(site), self.state(site))

    def test_a_clock_gone_backwards_is_left_to_the_engine(self, site: Path, clock: _Clock) -> None:
        clock.offset = 0  # now is before the commit's snapshot
        assert not plan_both_ways(_plan(site), self.state(site))

    def test_a_state_of_another_root_is_left_to_the_engine(self, site: Path) -> None:
        moved = site.parent / "moved"
        site.rename(moved)
        assert not plan_both_ways(_plan(moved), self.state(moved))

    def test_a_site_configuration_is_left_to_the_engine(self, site: Path) -> None:
        write(site.parent / "hugo.toml", "[taxonomies]\ntag = 'tags'\n")
        assert not plan_both_ways(_plan(site), self.state(site))
        assert plan_both_ways(_plan(site, "--taxonomy", "tags"), self.state(site))
        write(site.parent / "hugo.toml", "[taxonomies\n")  # invalid: the engine says so
        assert not plan_both_ways(_plan(site), self.state(site))

    def test_no_state_is_left_to_the_engine(self, tmp_path: Path) -> None:
        content = tmp_path / "fresh"
        _site(content)
        assert not plan_both_ways(_plan(content), self.state(content))

    def test_a_relative_content_dir_and_state_dir(
        self, site: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(site.parent)
        words = ["plan", "./content/", "--state-dir", "content/.incrbuild"]
        assert plan_both_ways(words, self.state(site))


class TreeAndStore(RuleBasedStateMachine):
    """Random edits, commits and clock steps: the command's plan always equals the engine's."""

    FILES = ("a.md", "s/b.md", "s/t/c.md", "s/t/img.png", "u/d.md", "u/e.txt")
    DIRS = ("s", "s/t", "u")
    TEXTS = ("---\ntitle: One\n---\n", "---\ntitle: Two\ntags: [x]\n---\nbody\n", "plain")

    def __init__(self) -> None:
        super().__init__()
        self.workdir = Path(tempfile.mkdtemp(prefix="incrbuild-noop-"))
        self.content = self.workdir / "content"
        self.content.mkdir()
        self.state = self.workdir / "state"
        self.words = ["--state-dir", str(self.state)]
        self._clock = _clock()
        self.clock = self._clock.__enter__()
        self.committed = False

    def teardown(self) -> None:
        self._clock.__exit__(None, None, None)
        shutil.rmtree(self.workdir, ignore_errors=True)

    @rule(name=st.sampled_from(FILES), text=st.sampled_from(TEXTS))
    def write_file(self, name: str, text: str) -> None:
        write(self.content / name, text)

    @rule(name=st.sampled_from(FILES), nanoseconds=st.integers(0, 2**40))
    def touch(self, name: str, nanoseconds: int) -> None:
        with contextlib.suppress(OSError):
            os.utime(self.content / name, ns=(nanoseconds, nanoseconds))

    @rule(name=st.sampled_from(FILES))
    def remove_file(self, name: str) -> None:
        with contextlib.suppress(OSError):
            (self.content / name).unlink()

    @rule(name=st.sampled_from(DIRS))
    def remove_directory(self, name: str) -> None:
        shutil.rmtree(self.content / name, ignore_errors=True)

    @rule()
    def commit(self) -> None:
        _commit(self.content, *self.words)
        self.committed = True

    @rule()
    def time_passes(self) -> None:
        self.clock.offset += DEFAULT_RACY_WINDOW_NS + 1

    @precondition(lambda self: self.committed)
    @rule(
        extra=st.sampled_from([(), ("--explain",), ("--taxonomy", "tags"), ("--json",)]),
    )
    def plan(self, extra: tuple[str, ...]) -> None:
        plan_both_ways(["plan", str(self.content), *self.words, *extra], self.state)

    @invariant()
    def plain_plan_agrees(self) -> None:
        plan_both_ways(["plan", str(self.content), *self.words], self.state)


TestTreeAndStore = TreeAndStore.TestCase
TestTreeAndStore.settings = settings(
    max_examples=max(20, settings().max_examples // 4),
    stateful_step_count=15,
    deadline=None,
)


# -- the pieces --------------------------------------------------------------------------------


def test_the_layout_names_the_store_fields_in_order() -> None:
    """``_noop`` reads the store's msgpack arrays by position: the positions are the store's."""
    assert _Snapshot.__struct_fields__ == _layout.SNAPSHOT_FIELDS
    assert _Delta.__struct_fields__ == ("root", "snapshot_ns", "commit_id", "files", *_noop._TABLES)
    assert FileRecord.__struct_fields__[5:] == ("digest", "front_matter")


msgpack_integers = st.integers(-(2**63), 2**64 - 1)
msgpack_values = st.recursive(
    st.none() | st.booleans() | msgpack_integers | st.text() | st.binary(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text() | msgpack_integers, inner),
    max_leaves=30,
)


def _plain(value: object) -> object:
    if isinstance(value, memoryview):
        return bytes(value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


@given(msgpack_values)
def test_the_msgpack_reader_reads_what_msgspec_writes(value: object) -> None:
    data = msgspec.msgpack.encode(value)
    assert _plain(_msgpack.unpack(memoryview(data))) == msgspec.msgpack.decode(data)


@given(st.binary(max_size=40))
def test_the_msgpack_reader_refuses_with_value_error_only(data: bytes) -> None:
    with contextlib.suppress(ValueError):
        _msgpack.unpack(memoryview(data))


@given(st.text(alphabet="/.ab", max_size=12))
def test_posix_path_text_is_what_pathlib_prints(raw: str) -> None:
    assert _cli.posix_path_text(raw) == str(PurePosixPath(raw))
