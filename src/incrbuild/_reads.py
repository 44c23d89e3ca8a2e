"""Recorded reads: what each render showed of other pages, learned rather than guessed.

A host reports, per rendered page, the front matter keys it showed of specific
other pages (``"content"`` standing for the body or summary) and the
collections it iterated, with the keys it showed of each member:

- ``"pages"``: every page the host did not generate;
- ``"section:<dir>"``: the pages in a directory (POSIX, relative to the content
  root; ``"section:"`` is the root), its index page included;
- ``"tag:<term>"``: the pages with that tag;
- ``"taxonomy:tags"``: every tagged page (a tag cloud, an all-terms page).

The key ``"*"`` (:data:`ANY_KEY`) stands for every key: a host that learns
which collections a render iterated but not which fields it showed of their
members records it, and the reader is replanned on any change of a member.

At commit the reads are stored per reader, with an inverse index, so that
:class:`RecordedReadsRule` replans a reader, in time proportional to what
changed, when a page it showed changes one of the shown keys, comes or goes,
or a collection it iterated gains or loses a member.  Hand-written rules stay
a fast path; recorded reads can only widen a plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final, final

import attrs

from incrbuild._metadata import cascade_of, changed_keys
from incrbuild._plan import Reason, ReasonKind
from incrbuild.protocols import is_generated

if TYPE_CHECKING:
    # The rule's machinery: imported when the rule runs, so that the engine, which
    # needs only this module's table helpers, does not load the planner for a no-op plan.
    from incrbuild._rules import PlanBuilder, RuleContext

__all__ = [
    "ANY_KEY",
    "CONTENT_KEY",
    "RecordedReadsRule",
    "collection_target",
    "decode_reads",
    "encode_reads",
    "invert_reads",
    "page_target",
    "read_targets",
]

#: The key that stands for a page's body (or summary) in recorded reads.
CONTENT_KEY: Final = "content"
#: The key that stands for every key (the render showed members' fields not known which).
ANY_KEY: Final = "*"
_PAGE: Final = "page:"
_COLLECTION: Final = "collection:"


def encode_reads(
    pages: Mapping[str, Iterable[str]], collections: Mapping[str, Iterable[str]]
) -> tuple[str, ...]:
    """One reader's reads as stored: ``(target, count, key, key, ..., target, ...)``.

    *pages* maps stored page keys to the keys shown; *collections* collection
    names to the keys shown of each member.  Sorted, so equal reads are equal.
    """
    entries: list[str] = []
    for prefix, table in ((_PAGE, pages), (_COLLECTION, collections)):
        for name in sorted(table):
            keys = sorted(set(table[name]))
            entries += [prefix + name, str(len(keys)), *keys]
    return tuple(entries)


def decode_reads(entries: tuple[str, ...]) -> dict[str, frozenset[str]]:
    """The stored reads *entries* as ``target -> keys shown``."""
    found: dict[str, frozenset[str]] = {}
    at = 0
    while at + 1 < len(entries):
        count = int(entries[at + 1])
        found[entries[at]] = frozenset(entries[at + 2 : at + 2 + count])
        at += 2 + count
    return found


def read_targets(entries: tuple[str, ...]) -> tuple[str, ...]:
    """The targets of stored reads: ``"page:<key>"`` and ``"collection:<name>"``."""
    return tuple(decode_reads(entries))


def page_target(key: str) -> str:
    """The target of a page, by stored key."""
    return _PAGE + key


def collection_target(name: str) -> str:
    """The target of a collection, by name."""
    return _COLLECTION + name


@final
@attrs.frozen
class RecordedReadsRule:
    """Replans the pages whose recorded reads a change reaches."""

    def apply(self, context: RuleContext, out: PlanBuilder) -> None:
        """Plan each reader that showed a changed key of a changed page or collection member."""
        if context.full:
            return
        from incrbuild._rules import previous_state

        state = previous_state(context)
        if not state.readers:
            return
        check = _Checker(context, out, state.readers, state.reads)
        cascades: dict[Path, frozenset[str]] = {}
        body_changed = context.changes.modified | {p for p, _ in context.changes.errors}
        for change in context.page_changes:
            shown = change.changed_keys
            if change.path in body_changed:
                shown = shown | {CONTENT_KEY}
            came_or_went = change.added or change.removed
            check.target(
                page_target(context.key_for(change.path)), change.path, shown, came_or_went
            )
            before = _collections(change.path, change.old, context)
            after = _collections(change.path, change.new, context)
            for name in sorted(before | after):
                joined_or_left = (name in before) != (name in after)
                check.target(collection_target(name), change.path, shown, joined_or_left)
            if "cascade" in shown:
                keys = changed_keys(cascade_of(change.old), cascade_of(change.new))
                if keys:
                    cascades[change.path] = keys
        if cascades:
            self._cascaded(context, out, check, cascades)

    @staticmethod
    def _cascaded(
        context: RuleContext,
        out: PlanBuilder,
        check: _Checker,
        cascades: Mapping[Path, frozenset[str]],
    ) -> None:
        """Pages a changed cascade reached show different values of its keys."""
        registry = context.registry
        cascade_tags = frozenset(
            tag
            for change in context.page_changes
            if change.path in cascades
            for side in (change.old, change.new)
            for tag in _tags_in(cascade_of(side))
        )
        for path, reasons in list(out.pages.items()):
            sources = [r.source for r in reasons if r.kind is ReasonKind.CASCADE]
            keys = frozenset[str]().union(*(cascades.get(s, frozenset()) for s in sources if s))
            if not keys:
                continue
            source = next(s for s in sources if s is not None and s in cascades)
            check.target(page_target(context.key_for(path)), source, keys, False)
            page = registry.page_for(path)
            names = _collections(path, None if page is None else page.metadata, context)
            if "tags" in keys:
                # The tags a cascade gave or gives: memberships may have changed.
                names |= {f"tag:{tag}" for tag in cascade_tags} | {"taxonomy:tags"}
            for name in sorted(names):
                check.target(collection_target(name), source, keys, "tags" in keys)


def _tags_in(cascade: Mapping[str, object]) -> frozenset[str]:
    from incrbuild._registry import tags_from_metadata

    return tags_from_metadata(cascade)


def _collections(
    path: Path, metadata: Mapping[str, object] | None, context: RuleContext
) -> frozenset[str]:
    """The collections a page with *metadata* (``None``: no page) belongs to."""
    if metadata is None:
        return frozenset()
    page = context.registry.page_for(path)
    if page is not None and is_generated(page):
        return frozenset()
    directory = context.key_for(path.parent) if path.parent != context.root else ""
    names = {"pages", f"section:{directory}"}
    from incrbuild._builtin_rules import effective_tags

    tags = effective_tags(path, metadata, context.registry)
    if tags:
        names.add("taxonomy:tags")
        names.update(f"tag:{tag}" for tag in tags)
    return frozenset(names)


class _Checker:
    """Looks up the readers of a target and plans those whose shown keys changed."""

    def __init__(
        self,
        context: RuleContext,
        out: PlanBuilder,
        readers: Mapping[str, tuple[str, ...]],
        reads: Mapping[str, tuple[str, ...]],
    ) -> None:
        self._context = context
        self._out = out
        self._readers = readers
        self._reads = reads
        self._decoded: dict[str, dict[str, frozenset[str]]] = {}
        self._pages = context.registry.page_by_path

    def target(self, target: str, source: Path, shown: frozenset[str], membership: bool) -> None:
        users = self._readers.get(target)
        if not users:
            return
        for user in users:
            decoded = self._decoded.get(user)
            if decoded is None:
                decoded = self._decoded[user] = decode_reads(self._reads.get(user, ()))
            keys = decoded.get(target, frozenset())
            hit = shown if ANY_KEY in keys else keys & shown
            if not (membership or hit):
                continue
            path = self._context.path_for(user)
            if path == source or path not in self._pages:
                continue
            name = target.partition(":")[2] if target.startswith(_COLLECTION) else ""
            what = ", ".join(sorted(hit)) if hit else "came or went"
            detail = f"{what} in {name}" if name else what
            self._out.page(path, Reason(ReasonKind.SHOWS, source, detail))


def invert_reads(reads: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Return ``target -> readers`` for stored *reads*."""
    inverted: dict[str, set[str]] = {}
    for reader, entries in reads.items():
        for target in read_targets(entries):
            inverted.setdefault(target, set()).add(reader)
    return {target: tuple(sorted(users)) for target, users in inverted.items()}
