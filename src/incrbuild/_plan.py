"""Rebuild planning: from what changed on disk to what must be rendered, with reasons.

The planner reads the :class:`ChangeSet`, the facts stored at the last commit
(each page's front matter, recorded dependencies) and the current site
through the :class:`IndexRegistry`.  Every rule costs time in proportion to
what it affects: changed pages, their sections and tags, and the users of
changed files; never a scan of every page or section.
"""

from __future__ import annotations

import contextlib
import enum
import math
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from typing import Any, Final, final

import attrs
import msgspec

from incrbuild._detect import ChangeSet, Detection, DetectorStats
from incrbuild._registry import IndexRegistry, tags_from_metadata
from incrbuild._state import State
from incrbuild.protocols import PageLike, SectionLike, is_generated

__all__ = [
    "LISTING_KEYS",
    "NAVIGATION_KEYS",
    "Plan",
    "PlanStats",
    "Reason",
    "ReasonKind",
    "navigation_order_key",
    "normalise_metadata",
]

#: Front matter keys that change how a page appears in section and tag listings.
LISTING_KEYS: Final = frozenset({"title", "date", "weight", "draft", "tags"})
#: Front matter keys that change a page's place or label in prev/next navigation.
NAVIGATION_KEYS: Final = frozenset({"title", "date", "weight", "draft"})
INDEX_NAME: Final = "_index.md"


class ReasonKind(enum.Enum):
    """Why something is in a plan."""

    FULL = "full"
    """No usable stored state: everything is rebuilt."""
    ADDED = "added"
    """The page's source is new."""
    MODIFIED = "modified"
    """The page's source changed."""
    REMOVED = "removed"
    """The page's source is gone; its outputs are to be deleted."""
    CASCADE = "cascade"
    """An enclosing section index changed a cascaded value."""
    DEPENDENCY = "dependency"
    """A file the page read (template, data, partial) changed."""
    LINK = "link"
    """A page it links to was removed, added or retitled."""
    GLOBAL = "global"
    """A global input (such as the site configuration) changed."""
    TAXONOMY = "taxonomy"
    """A member of the tag was added, removed, retagged, retitled or redated."""
    SECTION = "section"
    """A member of the section was added, removed, retitled or reordered."""
    NAVIGATION = "navigation"
    """The page's previous or next neighbour changed."""
    FAILED = "failed"
    """The page's last build failed, or its source could not be checked."""


@final
@attrs.frozen
class Reason:
    """One reason a page or term is in the plan; *source* is the file whose change caused it."""

    kind: ReasonKind
    source: Path | None = None
    detail: str = ""

    def __str__(self) -> str:
        return self.describe()

    def describe(self, root: Path | None = None) -> str:
        """Return the reason as a sentence, with *source* shown relative to *root*."""
        source = self.source
        if source is not None and root is not None:
            with contextlib.suppress(ValueError):
                source = Path(source.relative_to(root).as_posix())
        where = f" in {source}" if source is not None else ""
        text = {
            ReasonKind.FULL: "no usable state: full build",
            ReasonKind.ADDED: "source added",
            ReasonKind.MODIFIED: "source modified",
            ReasonKind.REMOVED: "source removed",
            ReasonKind.CASCADE: f"cascade changed{where}",
            ReasonKind.DEPENDENCY: f"depends on{where.replace(' in', '')} which changed",
            ReasonKind.LINK: f"links to{where.replace(' in', '')} whose title or existence changed",
            ReasonKind.GLOBAL: f"global input{where.replace(' in', '')} changed",
            ReasonKind.TAXONOMY: f"tag membership or member listing changed{where}",
            ReasonKind.SECTION: f"section listing changed{where}",
            ReasonKind.NAVIGATION: f"prev/next neighbours changed{where}",
            ReasonKind.FAILED: "last build failed or source unreadable",
        }[self.kind]
        return f"{text} ({self.detail})" if self.detail else text


@final
@attrs.define
class PlanStats:
    """Counts and timings of one plan, for reports and benchmarks."""

    detector: DetectorStats = attrs.field(factory=DetectorStats)
    """What the change detector did."""
    pages_read: int = 0
    """Page sources read to rebuild the site model (proportional discovery)."""
    planning_ns: int = 0
    """Time spent propagating changes, after detection."""
    total_ns: int = 0
    """Time of the whole ``plan()`` call."""
    site_pages: int = 0
    """Pages in the site (what a full rebuild renders)."""


@final
@attrs.frozen
class Plan:
    """What to rebuild: pages by source path, tag term pages, section listings, with reasons.

    ``pages`` are sources to render; ``removed_pages`` are sources whose outputs
    go (``removed_outputs`` lists the outputs recorded for them); ``terms`` are
    tags whose term page to render and ``removed_terms`` tags left with no
    member; ``sections`` are section directories whose listing changed.
    """

    changes: ChangeSet
    pages: frozenset[Path]
    removed_pages: frozenset[Path] = frozenset()
    removed_outputs: frozenset[str] = frozenset()
    terms: frozenset[str] = frozenset()
    removed_terms: frozenset[str] = frozenset()
    sections: frozenset[Path] = frozenset()
    reasons: Mapping[Path, tuple[Reason, ...]] = attrs.field(factory=dict, repr=False)
    term_reasons: Mapping[str, tuple[Reason, ...]] = attrs.field(factory=dict, repr=False)
    full: bool = False
    root: Path | None = None
    stats: PlanStats = attrs.field(factory=PlanStats, repr=False, eq=False)
    detection: Detection | None = attrs.field(default=None, repr=False, eq=False)
    base: State | None = attrs.field(default=None, repr=False, eq=False)
    watched_paths: frozenset[Path] = attrs.field(default=frozenset(), repr=False, eq=False)

    def why(self, target: Path | str) -> tuple[str, ...]:
        """Return the chain of reasons *target* (a page path or a tag) is in the plan.

        Each reason is followed by the reasons of its source, when that source is
        itself in the plan, so a cascade shows as "cascade changed in
        docs/_index.md" then "docs/_index.md: source modified".
        """
        chain: list[str] = []
        seen: set[Path | str] = set()
        queue: list[Path | str] = [target]
        first = True
        while queue:
            current = queue.pop(0)
            if current in seen:
                continue
            seen.add(current)
            if isinstance(current, str) and current in self.term_reasons:
                found: tuple[Reason, ...] = self.term_reasons[current]
            else:
                found = self.reasons.get(Path(current), ())
            for reason in found:
                text = reason.describe(self.root)
                chain.append(text if first else f"{self._show(current)}: {text}")
                if reason.source is not None and reason.source != Path(current):
                    queue.append(reason.source)
            first = False
        return tuple(chain)

    def _show(self, target: Path | str) -> str:
        if isinstance(target, Path) and self.root is not None:
            try:
                return target.relative_to(self.root).as_posix()
            except ValueError:
                pass
        return str(target)


def normalise_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Return *metadata* as plain JSON-like values, as stored and compared across builds."""
    try:
        result = msgspec.to_builtins(dict(metadata), str_keys=True, enc_hook=str)
    except (TypeError, ValueError):
        result = {str(k): repr(v) for k, v in metadata.items()}
    return dict(result) if isinstance(result, Mapping) else {}


def navigation_order_key(metadata: Mapping[str, Any], source_path: Path) -> tuple[Any, ...]:
    """The default prev/next order within a section: weight, then date, title and path."""
    weight = metadata.get("weight")
    number = float(weight) if isinstance(weight, int | float) else math.inf
    return (number, str(metadata.get("date", "")), str(metadata.get("title", "")), source_path)


def _view(metadata: Mapping[str, Any] | None, keys: frozenset[str]) -> tuple[bytes, ...] | None:
    """The values of *keys* in *metadata*, comparable across builds (``None``: no page)."""
    if metadata is None:
        return None
    return tuple(_encoded(metadata.get(key)) for key in sorted(keys))


@attrs.define
class _Builder:
    """Accumulates a plan's members and reasons."""

    pages: dict[Path, list[Reason]] = attrs.field(factory=dict)
    terms: dict[str, list[Reason]] = attrs.field(factory=dict)
    sections: set[Path] = attrs.field(factory=set)

    def page(self, path: Path, reason: Reason) -> None:
        reasons = self.pages.setdefault(path, [])
        if reason not in reasons:
            reasons.append(reason)

    def term(self, tag: str, reason: Reason) -> None:
        reasons = self.terms.setdefault(tag, [])
        if reason not in reasons:
            reasons.append(reason)


@final
class Planner:
    """Turns a detection into a :class:`Plan` using stored facts and the current registry."""

    def __init__(
        self,
        *,
        key_for: Callable[[Path], str],
        path_for: Callable[[str], Path],
        navigation: bool = False,
        order_key: Callable[[Mapping[str, Any], Path], Any] = navigation_order_key,
    ) -> None:
        self._key_for = key_for
        self._path_for = path_for
        self.navigation = navigation
        self.order_key = order_key

    def plan(
        self,
        detection: Detection,
        previous: State,
        registry: IndexRegistry,
        *,
        global_keys: Collection[str] = (),
    ) -> Plan:
        """Propagate *detection* through cascades, tags, dependencies, sections and navigation."""
        changes = detection.changes
        out = _Builder()
        pages = registry.page_by_path
        facts = previous.facts
        full_reason = self._full_rebuild_reason(previous, changes, global_keys)
        if full_reason is not None:
            for page in registry.site.pages:
                out.page(page.source_path, full_reason)
            for tag in registry.tags:
                out.term(tag, full_reason)
            sections = {s.path for s in registry.sections if s.path is not None}
            # What went away must be named too: tags left without pages, vanished sections.
            for path in sorted(changes.removed | changes.modified):
                old = facts.get(self._key_for(path))
                if old is None:
                    continue
                for tag in self._effective_tags(path, old.metadata, registry):
                    out.term(tag, full_reason)
                directory = path.parent
                while path in changes.removed and directory not in sections:
                    sections.add(directory)  # every current section is in already
                    if directory == registry.site.root_path or directory == directory.parent:
                        break
                    directory = directory.parent
            return self._finish(detection, previous, registry, out, sections, full=True)

        for path in sorted(changes.added):
            if path in pages:
                out.page(path, Reason(ReasonKind.ADDED))
        for path in sorted(changes.modified):
            if path in pages:
                out.page(path, Reason(ReasonKind.MODIFIED))
        for path, _message in changes.errors:
            if path in pages:
                out.page(path, Reason(ReasonKind.FAILED))
        removed_pages = frozenset(path for path in changes.removed if self._key_for(path) in facts)
        for path in sorted(removed_pages):
            out.page(path, Reason(ReasonKind.REMOVED))

        changed_sources = changes.changed | {p for p, _ in changes.errors}
        for path in sorted(changed_sources):
            old = facts.get(self._key_for(path))
            current = pages.get(path)
            if current is not None and is_generated(current):
                continue
            if old is None and current is None:
                continue  # neither before nor now a page: an asset, handled as a dependency
            old_meta = None if old is None else old.metadata
            new_meta = None if current is None else normalise_metadata(current.metadata)
            self._cascade(path, old_meta, new_meta, registry, out)
            self._listings(path, old_meta, new_meta, registry, out)
        added_pages = {p for p in changes.added if p in pages}
        self._appeared_or_vanished_sections(added_pages, removed_pages, previous, registry, out)
        self._dependents(changed_sources, previous, pages, out)
        return self._finish(detection, previous, registry, out, out.sections, full=False)

    def _full_rebuild_reason(
        self, previous: State, changes: ChangeSet, global_keys: Collection[str]
    ) -> Reason | None:
        if not previous.commit_id:
            return Reason(ReasonKind.FULL)
        for path in sorted(changes.changed):
            if self._key_for(path) in global_keys:
                return Reason(ReasonKind.GLOBAL, path)
        return None

    # -- cascade (RFC item 4) --------------------------------------------------------

    def _cascade(
        self,
        path: Path,
        old_meta: Mapping[str, Any] | None,
        new_meta: Mapping[str, Any] | None,
        registry: IndexRegistry,
        out: _Builder,
    ) -> None:
        old_cascade = _cascade_of(old_meta)
        new_cascade = _cascade_of(new_meta)
        changed_keys = {
            key
            for key in old_cascade.keys() | new_cascade.keys()
            if _encoded(old_cascade.get(key)) != _encoded(new_cascade.get(key))
        }
        if not changed_keys:
            return
        reason = Reason(ReasonKind.CASCADE, path, ", ".join(sorted(changed_keys)))
        listing_changed = bool(changed_keys & LISTING_KEYS)
        for tag in _cascade_tags(old_cascade) | _cascade_tags(new_cascade):
            out.term(tag, reason)
        section = self._section_of_index(path, registry)
        if section is None:
            if path != registry.site.root_path / INDEX_NAME:
                return  # a cascade on a leaf page has no descendants to reach
            for page in registry.regular_pages():
                if page.source_path != path:
                    out.page(page.source_path, reason)
                    if listing_changed:
                        self._listing_of(page, registry, out, reason)
            return
        self._cascade_into(section, changed_keys, reason, listing_changed, registry, out)

    def _cascade_into(
        self,
        section: SectionLike,
        keys: set[str],
        reason: Reason,
        listing_changed: bool,
        registry: IndexRegistry,
        out: _Builder,
    ) -> None:
        """Mark pages below *section* reached by *keys*, stopping where nested cascades override."""
        stack: list[tuple[SectionLike, frozenset[str]]] = [(section, frozenset(keys))]
        while stack:
            current, reaching = stack.pop()
            own_index = current.index_page
            for page in current.pages:
                if own_index is not None and page.source_path == own_index.source_path:
                    continue
                if not is_generated(page):
                    out.page(page.source_path, reason)
                    if listing_changed:
                        self._listing_of(page, registry, out, reason)
            for child in current.subsections:
                child_index = child.index_page
                if child_index is not None and not is_generated(child_index):
                    out.page(child_index.source_path, reason)
                masked = frozenset(_cascade_of(child_index.metadata if child_index else None))
                remaining = reaching - masked
                if remaining:
                    stack.append((child, remaining))

    @staticmethod
    def _section_of_index(path: Path, registry: IndexRegistry) -> SectionLike | None:
        page = registry.page_for(path)
        if page is not None:
            return registry.section_for_index(page)
        return registry.section_by_path(path.parent) if path.name == INDEX_NAME else None

    # -- listings: taxonomy, sections, navigation -------------------------------------

    def _listings(
        self,
        path: Path,
        old_meta: Mapping[str, Any] | None,
        new_meta: Mapping[str, Any] | None,
        registry: IndexRegistry,
        out: _Builder,
    ) -> None:
        old_tags = self._effective_tags(path, old_meta, registry)
        new_tags = self._effective_tags(path, new_meta, registry)
        listing_changed = _view(old_meta, LISTING_KEYS) != _view(new_meta, LISTING_KEYS)
        reason_tags = Reason(ReasonKind.TAXONOMY, path)
        for tag in (old_tags | new_tags) if listing_changed else (old_tags ^ new_tags):
            out.term(tag, reason_tags)
        if not listing_changed:
            return
        reason_section = Reason(ReasonKind.SECTION, path)
        section_dir = self._listing_section_dir(path, registry)
        if section_dir is not None:
            self._section_listing(section_dir, registry, out, reason_section)
        if path.name == INDEX_NAME:
            # A section's title and order show in its parent's listing.
            parent = path.parent.parent if path.parent != registry.site.root_path else None
            if parent is not None:
                self._section_listing(parent, registry, out, reason_section)
        navigation_changed = _view(old_meta, NAVIGATION_KEYS) != _view(new_meta, NAVIGATION_KEYS)
        if self.navigation and navigation_changed:
            self._navigation(path, old_meta, new_meta, section_dir, registry, out)

    def _appeared_or_vanished_sections(
        self,
        added: Iterable[Path],
        removed: Iterable[Path],
        previous: State,
        registry: IndexRegistry,
        out: _Builder,
    ) -> None:
        """A page added where no section was, or the last page of one removed, makes a
        section appear or vanish: its parent's listing changes, ``_index.md`` or not."""
        root = registry.site.root_path

        def had_pages(directory: Path) -> bool:
            return self._had_pages(self._key_for(directory), previous)

        def gone(directory: Path) -> bool:
            return registry.section_by_path(directory) is None

        # A removed page proves its ancestors were sections; an added one that they are.
        for paths, changed in ((added, lambda d: not had_pages(d)), (removed, gone)):
            for path in sorted(paths):
                reason = Reason(ReasonKind.SECTION, path)
                directory = path.parent
                while directory != root and root in directory.parents and changed(directory):
                    self._section_listing(directory.parent, registry, out, reason)
                    directory = directory.parent

    @staticmethod
    def _had_pages(directory_key: str, previous: State) -> bool:
        """Whether the previous build saw a page below the directory (early exit).

        Directory listings may lag behind a watcher's partial commits; a name is
        trusted only if its page record exists, so a stale listing can make this
        say no (one listing rebuilt for nothing), never a false yes.
        """
        facts = previous.facts
        pending = [directory_key]
        while pending:
            key = pending.pop()
            record = previous.dirs.get(key)
            if record is None:
                continue
            prefix = f"{key}/" if key else ""
            if any(prefix + name in facts for name in record.files):
                return True
            pending.extend(prefix + name for name in record.dirs)
        return False

    @staticmethod
    def _effective_tags(
        path: Path, metadata: Mapping[str, Any] | None, registry: IndexRegistry
    ) -> frozenset[str]:
        """A page's own tags, or (naming none) those its ancestors' cascades give it.

        For the old side this uses today's cascades: if a cascade changed too, the
        cascade rule has already marked every tag it gave or gives.
        """
        if metadata is None:
            return frozenset()
        if "tags" in metadata:
            return tags_from_metadata(metadata)
        return registry.cascaded_tags(path)

    def _listing_of(
        self, page: PageLike, registry: IndexRegistry, out: _Builder, reason: Reason
    ) -> None:
        for tag in registry.tags_of(page):
            out.term(tag, reason)
        section = registry.section_of(page)
        if section is not None and section.path is not None:
            self._section_listing(section.path, registry, out, reason)

    @staticmethod
    def _listing_section_dir(path: Path, registry: IndexRegistry) -> Path | None:
        """The directory of the listing *path* appears in (the site root for root-level pages)."""
        page = registry.page_for(path)
        if page is not None:
            section = registry.section_of(page)
            if section is None:
                return registry.site.root_path
            return section.path
        return path.parent

    def _section_listing(
        self, directory: Path, registry: IndexRegistry, out: _Builder, reason: Reason
    ) -> None:
        if directory in out.sections:
            return
        out.sections.add(directory)
        index = registry.page_for(directory / INDEX_NAME)
        if index is not None and index.source_path != reason.source:
            out.page(index.source_path, reason)

    def _navigation(
        self,
        path: Path,
        old_meta: Mapping[str, Any] | None,
        new_meta: Mapping[str, Any] | None,
        section_dir: Path | None,
        registry: IndexRegistry,
        out: _Builder,
    ) -> None:
        if path.name == INDEX_NAME or section_dir is None:
            return
        section = registry.section_by_path(section_dir)
        members: list[PageLike] = []
        if section is not None:
            members = [
                p for p in section.pages if not is_generated(p) and p.source_path.name != INDEX_NAME
            ]
        elif section_dir == registry.site.root_path:
            members = [
                p
                for p in registry.site.pages
                if registry.is_root_level(p)
                and not is_generated(p)
                and p.source_path.name != INDEX_NAME
            ]
        order = self.order_key
        current = sorted(members, key=lambda p: order(p.metadata, p.source_path))
        keys = [order(p.metadata, p.source_path) for p in current]
        paths = [p.source_path for p in current]
        reason = Reason(ReasonKind.NAVIGATION, path)
        affected: set[Path] = set()
        if path in paths:
            at = paths.index(path)
            affected.update(paths[max(at - 1, 0) : at + 2])
        if old_meta is not None:
            # Where the page stood before: between the members its old key sorts among.
            old_key = order(old_meta, path)
            others = [(k, p) for k, p in zip(keys, paths, strict=True) if p != path]
            at = _bisect_pairs(others, old_key)
            affected.update(p for _, p in others[max(at - 1, 0) : at + 1])
        for neighbour in affected:
            if neighbour != path:
                out.page(neighbour, reason)

    # -- dependencies and links -------------------------------------------------------

    def _dependents(
        self,
        changed: Iterable[Path],
        previous: State,
        pages: Mapping[Path, PageLike],
        out: _Builder,
    ) -> None:
        dependents = previous.dependents
        facts = previous.facts
        for path in sorted(changed):
            key = self._key_for(path)
            users = dependents.get(key)
            if not users:
                continue
            old = facts.get(key)
            page = pages.get(path)
            if old is not None or page is not None:
                # A page used as a link target: only its existence and title matter.
                old_title = None if old is None else old.metadata.get("title")
                new_title = None if page is None else page.metadata.get("title")
                if old is not None and page is not None and old_title == new_title:
                    continue
                reason = Reason(ReasonKind.LINK, path)
            else:
                reason = Reason(ReasonKind.DEPENDENCY, path)
            for user in users:
                user_path = self._path_for(user)
                if user_path in pages:
                    out.page(user_path, reason)

    # -- result -----------------------------------------------------------------------

    def _finish(
        self,
        detection: Detection,
        previous: State,
        registry: IndexRegistry,
        out: _Builder,
        sections: Collection[Path],
        *,
        full: bool,
    ) -> Plan:
        changes = detection.changes
        removed_pages = frozenset(
            path for path in changes.removed if self._key_for(path) in previous.facts
        )
        removed_outputs = frozenset(
            output
            for path in removed_pages
            for output in previous.outputs.get(self._key_for(path), ())
        )
        removed_terms = frozenset(tag for tag in out.terms if not registry.pages_with_tag(tag))
        page_reasons = {path: tuple(reasons) for path, reasons in out.pages.items()}
        return Plan(
            changes=changes,
            pages=frozenset(p for p in out.pages if p not in removed_pages),
            removed_pages=removed_pages,
            removed_outputs=removed_outputs,
            terms=frozenset(t for t in out.terms if t not in removed_terms),
            removed_terms=removed_terms,
            sections=frozenset(sections),
            reasons=page_reasons,
            term_reasons={tag: tuple(reasons) for tag, reasons in out.terms.items()},
            full=full,
            root=registry.site.root_path,
            stats=PlanStats(detector=detection.stats, site_pages=len(registry.site.pages)),
            detection=detection,
            base=previous,
        )


def _cascade_of(metadata: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if metadata is None:
        return {}
    cascade = metadata.get("cascade")
    return cascade if isinstance(cascade, Mapping) else {}


def _cascade_tags(cascade: Mapping[str, Any]) -> frozenset[str]:
    return tags_from_metadata(cascade)


def _encoded(value: Any) -> bytes:
    return msgspec.json.encode(value, order="sorted", enc_hook=str)


def _bisect_pairs(pairs: list[tuple[Any, Path]], key: Any) -> int:
    low, high = 0, len(pairs)
    while low < high:
        middle = (low + high) // 2
        if pairs[middle][0] < key:
            low = middle + 1
        else:
            high = middle
    return low
