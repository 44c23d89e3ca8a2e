"""State algebra: how the state a commit stores follows from the last one.

Functions over :class:`~incrbuild.lowlevel.State`; the engine decides which apply.
:func:`next_state` defines what a commit stores; :func:`next_state_in_place`,
:func:`next_state_unchanged` and :func:`next_state_partial` make the same state in
place, in proportion to the change, when their premises hold.  All share the same
pieces: a scan's record carries the stored front matter over
(:func:`carry_front_matter`), failed files stay known, inputs first seen are recorded
only if settled, and what the build recorded lands the same way (:func:`apply_recorded`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, MutableMapping
from typing import Any, final

import attrs
import msgspec

from incrbuild._detect import Detection, unchecked_record
from incrbuild._metadata import normalise_metadata
from incrbuild._reads import invert_reads, read_targets
from incrbuild._state import (
    DirRecord,
    FileRecord,
    State,
    copy_files,
    new_commit_id,
    records_not_in,
)
from incrbuild.protocols import PageLike

__all__ = [
    "Commit",
    "Recorded",
    "apply_recorded",
    "carry_front_matter",
    "completed",
    "copy_state",
    "drop_page",
    "drop_unverified",
    "invert",
    "merge_concurrent",
    "next_state",
    "next_state_in_place",
    "next_state_partial",
    "next_state_unchanged",
    "set_dependencies",
    "set_reads",
]


@final
@attrs.frozen
class Recorded:
    """What one build recorded, by page key: inputs read, outputs written, reads of others."""

    dependencies: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
    outputs: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
    reads: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)


def carry_front_matter(record: FileRecord, previous: FileRecord | None) -> FileRecord:
    """*record* (from a scan, which reads no front matter) with *previous*'s front matter.

    A scan's record of an unchanged or touched file (same bytes) carries none;
    the page's front matter is what was stored for it.
    """
    if record.front_matter or previous is None or not previous.front_matter:
        return record
    return msgspec.structs.replace(record, front_matter=previous.front_matter)


def apply_recorded(state: State, recorded: Recorded) -> None:
    """Store what the build recorded, for the pages *state* knows, in proportion to it."""
    facts = state.facts
    for key, deps in recorded.dependencies.items():
        if key in facts:
            set_dependencies(state, key, deps)
    for key, outputs in recorded.outputs.items():
        if key in facts:
            state.outputs[key] = outputs
    for key, entries in recorded.reads.items():
        if key in facts:
            set_reads(state, key, entries)


def drop_page(state: State, key: str) -> None:
    """Forget the file at *key* and everything recorded for it."""
    state.files.pop(key, None)
    state.outputs.pop(key, None)
    set_dependencies(state, key, ())
    set_reads(state, key, ())


def set_dependencies(state: State, page_key: str, deps: tuple[str, ...]) -> None:
    """Replace *page_key*'s recorded inputs, updating ``dependents`` in proportion."""
    old = state.dependencies.get(page_key, ())
    if old == deps:
        return
    for dep in set(old) - set(deps):
        users = tuple(u for u in state.dependents.get(dep, ()) if u != page_key)
        if users:
            state.dependents[dep] = users
        else:
            state.dependents.pop(dep, None)
    for dep in set(deps) - set(old):
        state.dependents[dep] = tuple(sorted({*state.dependents.get(dep, ()), page_key}))
    if deps:
        state.dependencies[page_key] = deps
    else:
        state.dependencies.pop(page_key, None)


def drop_unverified(state: State, detection: Detection) -> None:
    """Drop records a whole scan did not verify (as a commit would) before its snapshot.

    Raising ``snapshot_ns`` vouches for every record kept; a record the scan did not
    see (a file outside the root no page depends on any more, a vanished directory)
    would otherwise be trusted as of a snapshot that never checked it.
    """
    # The scan's records are a subset of the state's (nothing was added, and new
    # directories were merged in already), so equal sizes mean equal keys.
    if len(state.files) != len(detection.files):
        for key in state.files.keys() - detection.files.keys():
            del state.files[key]
    if len(state.dirs) != len(detection.dirs):
        for key in state.dirs.keys() - detection.dirs.keys():
            del state.dirs[key]


def copy_state(state: State) -> State:
    """A copy whose dictionaries can be changed without touching *state*."""
    return State(
        root=state.root,
        snapshot_ns=state.snapshot_ns,
        commit_id=state.commit_id,
        files=copy_files(state.files),
        dirs=dict(state.dirs),
        dependencies=dict(state.dependencies),
        dependents=dict(state.dependents),
        outputs=dict(state.outputs),
        reads=dict(state.reads),
        readers=dict(state.readers),
    )


def completed(detection: Detection, base: State) -> Detection:
    """Turn a partial detection into a whole one by carrying *base*'s other records over."""
    files = {k: v for k, v in base.files.items() if k not in detection.removed_keys}
    files.update(detection.files)
    dirs = {k: v for k, v in base.dirs.items() if k not in detection.removed_dir_keys}
    dirs.update(detection.dirs)
    return attrs.evolve(
        detection, files=files, dirs=dirs, partial=False, snapshot_ns=base.snapshot_ns
    )


def invert(dependencies: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Return the reverse map ``input -> pages that read it``."""
    inverted: dict[str, set[str]] = {}
    for user, deps in dependencies.items():
        for dep in deps:
            inverted.setdefault(dep, set()).add(user)
    return {dep: tuple(sorted(users)) for dep, users in inverted.items()}


def merge_concurrent(base: State, current: State, ours: State) -> State:
    """Keep only entries on which the base, the other commit and ours all agree."""
    files = {
        key: record
        for key, record in ours.files.items()
        if base.files.get(key) == record and current.files.get(key) == record
    }
    dirs = {
        key: record
        for key, record in ours.dirs.items()
        if base.dirs.get(key) == record and current.dirs.get(key) == record
    }
    dependencies: dict[str, tuple[str, ...]] = {}
    for source in (current.dependencies, ours.dependencies):
        for key, deps in source.items():
            dependencies[key] = tuple(sorted(set(dependencies.get(key, ())) | set(deps)))
    outputs = dict(current.outputs)
    outputs.update(ours.outputs)
    reads = dict(current.reads)
    reads.update(ours.reads)
    return State(
        root=ours.root,
        snapshot_ns=min(ours.snapshot_ns, current.snapshot_ns or ours.snapshot_ns),
        commit_id=new_commit_id(),
        files=files,
        dirs=dirs,
        dependencies=dependencies,
        dependents=invert(dependencies),
        outputs=outputs,
        reads=reads,
        readers=invert_reads(reads),
    )


def set_reads(state: State, page_key: str, entries: tuple[str, ...]) -> None:
    """Replace *page_key*'s stored reads, updating the inverse index in proportion."""
    old = state.reads.get(page_key, ())
    if old == entries:
        return
    before, after = set(read_targets(old)), set(read_targets(entries))
    for target in before - after:
        users = tuple(u for u in state.readers.get(target, ()) if u != page_key)
        if users:
            state.readers[target] = users
        else:
            state.readers.pop(target, None)
    for target in after - before:
        state.readers[target] = tuple(sorted({*state.readers.get(target, ()), page_key}))
    if entries:
        state.reads[page_key] = entries
    else:
        state.reads.pop(page_key, None)


# -- commits: the next state ----------------------------------------------------------------
#
# ``next_state`` defines the state a whole commit stores; the other three make the same
# state in place, in proportion to what changed, when the engine knows its premises hold
# (see each docstring).  They share every step below, and ``tests/conftest.py`` checks
# each in-place whole commit of the test suite against ``next_state``.


@final
@attrs.frozen
class Commit:
    """What one commit brings: the plan's detection and what its build did.

    ``changed_keys`` are the keys of the plan's changed paths; ``failed_keys`` those
    the host could not build; ``fingerprint_settled`` is the detector's (files first
    seen during the build are recorded only if provably unchanged since the plan).
    """

    detection: Detection
    changed_keys: frozenset[str]
    failed_keys: frozenset[str]
    recorded: Recorded
    fingerprint_settled: Callable[[Iterable[str], int], dict[str, FileRecord]]

    def first_seen(
        self, known: Mapping[str, FileRecord], excluded: Collection[str]
    ) -> dict[str, FileRecord]:
        """Records of inputs the build read that *known* lacks, if provably unchanged."""
        keys = {
            dep
            for deps in self.recorded.dependencies.values()
            for dep in deps
            if dep not in known and dep not in excluded
        }
        if not keys:
            return {}
        return self.fingerprint_settled(keys, self.detection.snapshot_ns)


def next_state(
    base: State, commit: Commit, pages: Mapping[str, PageLike], root: str
) -> tuple[State, set[str]]:
    """The state after a whole detection, built over every page of the site.

    *pages* are the site's (non-generated) pages by key.  Returns the state and the
    keys first seen as inputs (stored without front matter: suspects for a later
    in-place commit).
    """
    detection = commit.detection
    files = copy_files(detection.files)
    _mark_failed(files, commit.failed_keys)
    page_keys: set[str] = set()
    for key, page in pages.items():
        record = files.get(key)
        if record is None:
            continue  # not seen by the detection: nothing to store
        page_keys.add(key)
        if key not in commit.changed_keys:
            carried = carry_front_matter(record, base.files.get(key))
            if carried.front_matter:
                files[key] = carried  # unchanged or touched: the stored front matter
                continue
        files[key] = _with_page(record, page)
    for key, record in files.items():
        if record.front_matter and key not in page_keys:
            files[key] = record.with_metadata(None)  # no longer a page of the site
    seen = commit.first_seen(files, detection.error_keys)
    files.update(seen)
    dependencies = {k: v for k, v in base.dependencies.items() if k in page_keys}
    reads = {k: v for k, v in base.reads.items() if k in page_keys}
    state = State(
        root=root,
        snapshot_ns=detection.snapshot_ns,
        commit_id=new_commit_id(),
        files=files,
        dirs=dict(detection.dirs),
        dependencies=dependencies,
        dependents=invert(dependencies),
        outputs={k: v for k, v in base.outputs.items() if k in page_keys},
        reads=reads,
        readers=invert_reads(reads),
    )
    apply_recorded(state, commit.recorded)
    return state, set(seen)


def next_state_in_place(
    state: State,
    commit: Commit,
    pages: Mapping[str, PageLike],
    suspect: Collection[str],
    root: str,
) -> tuple[State, set[str]]:
    """What :func:`next_state` gives, made in place on *state* in proportion to the changes.

    Sound when *pages* agree with *state* outside the *suspect* keys (a key has front
    matter in *state* iff it is a page with a record): a key whose record did not change
    and that no site edit touched keeps its page status, so only changed and suspect keys
    are decided again, and the store journals just what this changed.
    """
    detection = commit.detection
    files = state.files
    scanned = detection.files
    _take_scanned(files, scanned)
    gone: set[str] = set()
    if len(files) != len(scanned):  # the scan's keys are in files now: sizes tell
        gone = files.keys() - scanned.keys()
        for key in gone:
            del files[key]
    _mark_failed(files, commit.failed_keys)
    decide = commit.changed_keys | set(suspect) | commit.failed_keys
    for key in decide:
        record = files.get(key)
        if record is None:
            continue
        page = pages.get(key)
        if page is None:
            if record.front_matter:
                files[key] = record.with_metadata(None)  # no longer a page of the site
        elif key in commit.changed_keys or not record.front_matter:
            files[key] = _with_page(record, page)
    for key in decide | gone:
        if key not in pages or key not in files:
            # Not a page any more: what its builds recorded goes too.
            set_dependencies(state, key, ())
            set_reads(state, key, ())
            state.outputs.pop(key, None)
    seen = commit.first_seen(files, detection.error_keys)
    files.update(seen)
    _take_dirs(state.dirs, detection.dirs, whole=True)
    state.root = root
    state.snapshot_ns = detection.snapshot_ns
    state.commit_id = new_commit_id()
    apply_recorded(state, commit.recorded)
    return state, set(seen)


def next_state_unchanged(state: State, commit: Commit) -> State:
    """:func:`next_state` for a whole detection that found nothing changed, in place.

    No page changed, so page status carries over: only records (re-stamped by the
    scan, failed, first seen) and what the build recorded change.
    """
    detection = commit.detection
    files = state.files
    _take_scanned(files, detection.files)
    _take_dirs(state.dirs, detection.dirs, whole=False)
    drop_unverified(state, detection)
    _mark_failed(files, commit.failed_keys)
    apply_recorded(state, commit.recorded)
    files.update(commit.first_seen(files, commit.failed_keys))
    state.snapshot_ns = detection.snapshot_ns
    state.commit_id = new_commit_id()
    return state


def next_state_partial(
    state: State, commit: Commit, metadata: Mapping[str, Mapping[str, Any] | None]
) -> tuple[State, set[str]]:
    """Apply a partial (watcher) detection to *state* in place, in proportion to it.

    *metadata* is the front matter of each added or modified page by key (``None``:
    not a page).  Returns the state and the keys first seen as inputs.
    """
    detection = commit.detection
    dropped = detection.removed_keys
    for key in dropped:
        drop_page(state, key)
    for key in detection.removed_dir_keys:
        state.dirs.pop(key, None)
    _take_scanned(state.files, detection.files, skip=dropped)
    _mark_failed(state.files, commit.failed_keys)
    state.dirs.update(detection.dirs)
    for key, page_metadata in metadata.items():
        stored = state.files.get(key)
        if key in dropped or stored is None:
            continue
        state.files[key] = stored.with_metadata(
            None if page_metadata is None else normalise_metadata(page_metadata)
        )
    apply_recorded(state, commit.recorded)
    seen = commit.first_seen(state.files, dropped)
    state.files.update(seen)
    # snapshot_ns stays that of the last full scan: entries verified since then carry
    # later timestamps and so stay racy (content-checked) until the next full scan.
    state.commit_id = new_commit_id()
    return state, set(seen)


def _take_scanned(
    files: MutableMapping[str, FileRecord],
    scanned: Mapping[str, FileRecord],
    skip: Collection[str] = (),
) -> None:
    """Store a scan's records, each carrying the stored front matter over."""
    # Rows of the stored columns the scan found unchanged are already the state's records.
    for key, record in records_not_in(scanned, files):
        known = files.get(key)
        if record is not known and key not in skip:  # a scan reuses an unchanged record
            files[key] = carry_front_matter(record, known)


def _mark_failed(files: MutableMapping[str, FileRecord], failed_keys: Collection[str]) -> None:
    """Keep failed files known (so their removal is a change), checked again next time."""
    for key in files.keys() & failed_keys:
        files[key] = unchecked_record(files[key])


def _with_page(record: FileRecord, page: PageLike) -> FileRecord:
    """*record* carrying *page*'s front matter as the site read it."""
    return record.with_metadata(normalise_metadata(page.metadata))


def _take_dirs(
    dirs: dict[str, DirRecord], scanned: Mapping[str, DirRecord], *, whole: bool
) -> None:
    """Store a scan's directory records; a *whole* scan's also drop directories it did not see."""
    for key, listing in scanned.items():
        if dirs.get(key) is not listing:
            dirs[key] = listing
    if whole and len(dirs) != len(scanned):
        for key in dirs.keys() - scanned.keys():
            del dirs[key]
