"""State algebra: how the state a commit stores follows from the last one.

Pure functions over :class:`~incrbuild.lowlevel.State`; the engine decides which
apply.  Whole and partial (watcher) commits share the same pieces: a scan's
record carries the stored front matter over (:func:`carry_front_matter`), and
what the build recorded lands the same way (:func:`apply_recorded`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import final

import attrs
import msgspec

from incrbuild._detect import Detection
from incrbuild._reads import invert_reads, read_targets
from incrbuild._state import FileRecord, State, new_commit_id

__all__ = [
    "Recorded",
    "apply_recorded",
    "carry_front_matter",
    "completed",
    "copy_state",
    "drop_page",
    "drop_unverified",
    "invert",
    "merge_concurrent",
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
        files=dict(state.files),
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
