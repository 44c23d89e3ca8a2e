"""The built-in planning rules: what every host's pages show of each other.

Each rule is a :class:`~incrbuild.Rule` like a host's, and costs time in
proportion to what the change affects (changed pages, their sections and
tags, the users of changed files), never a scan of every page or section,
except when a full rebuild is planned anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, final

import attrs

from incrbuild._metadata import (
    INDEX_NAME,
    LISTING_KEYS,
    NAVIGATION_KEYS,
    cascade_of,
    changed_keys,
    navigation_order_key,
)
from incrbuild._plan import Reason, ReasonKind
from incrbuild._registry import IndexRegistry
from incrbuild._rules import PageChange, PlanBuilder, Rule, RuleContext, full_reason, previous_state
from incrbuild.protocols import PageLike, SectionLike, is_generated

__all__ = [
    "CascadeRule",
    "DependentsRule",
    "FullRebuildRule",
    "ListingRule",
    "NavigationRule",
    "OwnSourceRule",
    "SectionPresenceRule",
    "builtin_rules",
]


def builtin_rules(
    *,
    navigation: bool = False,
    order_key: Callable[[Mapping[str, Any], Path], Any] = navigation_order_key,
) -> tuple[Rule, ...]:
    """The built-in rules in the order they run (navigation only if asked for)."""
    rules: list[Rule] = [FullRebuildRule(), OwnSourceRule(), CascadeRule(), ListingRule()]
    if navigation:
        rules.append(NavigationRule(order_key))
    rules += [SectionPresenceRule(), DependentsRule()]
    return tuple(rules)


@final
@attrs.frozen
class FullRebuildRule:
    """With no usable state (or a global input changed): every page, term and section.

    What went away is named too: tags left without pages, vanished sections.
    """

    def apply(self, context: RuleContext, out: PlanBuilder) -> None:
        """Plan everything when ``context.full`` is set."""
        if not context.full:
            return
        reason = full_reason(context) or Reason(ReasonKind.FULL)
        registry = context.registry
        for page in registry.site.pages:
            out.page(page.source_path, reason)
        for tag in registry.tags:
            out.term(tag, reason)
        sections = {s.path for s in registry.sections if s.path is not None}
        changes = context.changes
        root = registry.site.root_path
        for path in sorted(changes.removed | changes.modified):
            old = context.previous_metadata(path)
            if old is None:
                continue
            for tag in effective_tags(path, old, registry):
                out.term(tag, reason)
            directory = path.parent
            while path in changes.removed and directory not in sections:
                sections.add(directory)  # every current section is in already
                if directory == root or directory == directory.parent:
                    break
                directory = directory.parent
        for directory in sorted(sections):
            out.section(directory, reason)


@final
@attrs.frozen
class OwnSourceRule:
    """Pages whose own source was added, modified, unreadable or removed."""

    def apply(self, context: RuleContext, out: PlanBuilder) -> None:
        """Plan each changed page for its own change."""
        if context.full:
            return
        changes = context.changes
        pages = context.registry.page_by_path
        for path in sorted(changes.added):
            if path in pages:
                out.page(path, Reason(ReasonKind.ADDED))
        for path in sorted(changes.modified):
            if path in pages:
                out.page(path, Reason(ReasonKind.MODIFIED))
        for path, _message in changes.errors:
            if path in pages:
                out.page(path, Reason(ReasonKind.FAILED))
        facts = previous_state(context).facts
        for path in sorted(changes.removed):
            if context.key_for(path) in facts:
                out.page(path, Reason(ReasonKind.REMOVED))


@final
@attrs.frozen
class CascadeRule:
    """An index page's cascade changed: the pages below it that the changed keys reach."""

    def apply(self, context: RuleContext, out: PlanBuilder) -> None:
        """Plan the pages (and, for listing keys, their listings) a changed cascade reaches."""
        if context.full:
            return
        registry = context.registry
        for change in context.page_changes:
            if "cascade" not in change.changed_keys:
                continue
            keys = changed_keys(cascade_of(change.old), cascade_of(change.new))
            if not keys:
                continue
            path = change.path
            reason = Reason(ReasonKind.CASCADE, path, ", ".join(sorted(keys)))
            listing_changed = bool(keys & LISTING_KEYS)
            old_tags = registry.terms_from(cascade_of(change.old))
            for tag in old_tags | registry.terms_from(cascade_of(change.new)):
                out.term(tag, reason)
            section = _section_of_index(path, registry)
            if section is not None:
                _cascade_into(section, keys, reason, listing_changed, registry, out)
            elif path == registry.site.root_path / INDEX_NAME:
                for page in registry.regular_pages():
                    if page.source_path != path:
                        out.page(page.source_path, reason)
                        if listing_changed:
                            _listing_of(page, registry, out, reason)
            # else: a cascade on a leaf page has no descendants to reach


def _cascade_into(
    section: SectionLike,
    keys: frozenset[str],
    reason: Reason,
    listing_changed: bool,
    registry: IndexRegistry,
    out: PlanBuilder,
) -> None:
    """Mark pages below *section* reached by *keys*, stopping where nested cascades override."""
    stack: list[tuple[SectionLike, frozenset[str]]] = [(section, keys)]
    while stack:
        current, reaching = stack.pop()
        own_index = current.index_page
        for page in current.pages:
            if own_index is not None and page.source_path == own_index.source_path:
                continue
            if not is_generated(page):
                out.page(page.source_path, reason)
                if listing_changed:
                    _listing_of(page, registry, out, reason)
        for child in current.subsections:
            child_index = child.index_page
            if child_index is not None and not is_generated(child_index):
                out.page(child_index.source_path, reason)
                if listing_changed:
                    _listing_of(child_index, registry, out, reason)
            masked = frozenset(cascade_of(child_index.metadata if child_index else None))
            remaining = reaching - masked
            if remaining:
                stack.append((child, remaining))


def _section_of_index(path: Path, registry: IndexRegistry) -> SectionLike | None:
    page = registry.page_for(path)
    if page is not None:
        return registry.section_for_index(page)
    return registry.section_by_path(path.parent) if path.name == INDEX_NAME else None


def _listing_of(page: PageLike, registry: IndexRegistry, out: PlanBuilder, reason: Reason) -> None:
    """Plan the listings that show a page a cascade reached: its tags', its section's.

    A section's index page also shows (title, date, order) in the parent's listing.
    """
    for tag in registry.tags_of(page):
        out.term(tag, reason)
    section = registry.section_of(page)
    if section is not None and section.path is not None:
        out.section(section.path, reason)
    path = page.source_path
    if path.name == INDEX_NAME and path.parent != registry.site.root_path:
        out.section(path.parent.parent, reason)


@final
@attrs.frozen
class ListingRule:
    """A page's card changed: its tags' term pages and its section's (and parent's) listing."""

    def apply(self, context: RuleContext, out: PlanBuilder) -> None:
        """Plan the term pages and section listings each changed page appears in."""
        if context.full:
            return
        registry = context.registry
        root = registry.site.root_path
        for change in context.page_changes:
            path = change.path
            old_tags = effective_tags(path, change.old, registry)
            new_tags = effective_tags(path, change.new, registry)
            listing_changed = _shows_change(change, LISTING_KEYS)
            reason_tags = Reason(ReasonKind.TAXONOMY, path)
            for tag in (old_tags | new_tags) if listing_changed else (old_tags ^ new_tags):
                out.term(tag, reason_tags)
            if not listing_changed:
                continue
            reason_section = Reason(ReasonKind.SECTION, path)
            section_dir = listing_section_dir(path, registry)
            if section_dir is not None:
                out.section(section_dir, reason_section)
            if path.name == INDEX_NAME and path.parent != root:
                # A section's title and order show in its parent's listing.
                out.section(path.parent.parent, reason_section)


def _shows_change(change: PageChange, keys: frozenset[str]) -> bool:
    """Whether a listing showing *keys* of the page changes: it came, went, or one changed."""
    if change.old is None or change.new is None:
        return True
    return not change.changed_keys.isdisjoint(keys)


def effective_tags(
    path: Path, metadata: Mapping[str, Any] | None, registry: IndexRegistry
) -> frozenset[str]:
    """A page's own terms or, per taxonomy it does not name, those its ancestors' cascades give.

    For the old side this uses today's cascades: if a cascade changed too, the
    cascade rule has already marked every tag it gave or gives.
    """
    if metadata is None:
        return frozenset()
    return registry.terms_of_metadata(path, metadata)


def listing_section_dir(path: Path, registry: IndexRegistry) -> Path | None:
    """The directory of the listing *path* appears in (the site root for root-level pages)."""
    page = registry.page_for(path)
    if page is not None:
        section = registry.section_of(page)
        if section is None:
            return registry.site.root_path
        return section.path
    return path.parent


@final
@attrs.frozen
class NavigationRule:
    """A page moved or was retitled in its section's order: its old and new neighbours."""

    order_key: Callable[[Mapping[str, Any], Path], Any] = navigation_order_key

    def apply(self, context: RuleContext, out: PlanBuilder) -> None:
        """Plan the prev/next neighbours of each page whose navigation keys changed."""
        if context.full:
            return
        registry = context.registry
        for change in context.page_changes:
            if not _shows_change(change, NAVIGATION_KEYS):
                continue
            path = change.path
            section_dir = listing_section_dir(path, registry)
            if path.name == INDEX_NAME or section_dir is None:
                continue
            self._neighbours(path, change.old, section_dir, registry, out)

    def _neighbours(
        self,
        path: Path,
        old_meta: Mapping[str, Any] | None,
        section_dir: Path,
        registry: IndexRegistry,
        out: PlanBuilder,
    ) -> None:
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
        for neighbour in sorted(affected):
            if neighbour != path:
                out.page(neighbour, reason)


def _bisect_pairs(pairs: list[tuple[Any, Path]], key: Any) -> int:
    low, high = 0, len(pairs)
    while low < high:
        middle = (low + high) // 2
        if pairs[middle][0] < key:
            low = middle + 1
        else:
            high = middle
    return low


@final
@attrs.frozen
class SectionPresenceRule:
    """A page added where no section was, or the last page of one removed.

    The section appears or vanishes, so its parent's listing changes
    (``_index.md`` or not).
    """

    def apply(self, context: RuleContext, out: PlanBuilder) -> None:
        """Plan the parent listings of sections that appeared or vanished."""
        if context.full:
            return
        registry = context.registry
        root = registry.site.root_path
        pages = registry.page_by_path
        changes = context.changes
        added = sorted(p for p in changes.added if p in pages)
        removed = sorted(c.path for c in context.page_changes if c.path in changes.removed)

        def gone(directory: Path) -> bool:
            return registry.section_by_path(directory) is None

        def new(directory: Path) -> bool:
            return not context.existed_before(directory)

        # A removed page proves its ancestors were sections; an added one that they are.
        for paths, changed in ((added, new), (removed, gone)):
            for path in paths:
                reason = Reason(ReasonKind.SECTION, path)
                directory = path.parent
                while directory != root and root in directory.parents and changed(directory):
                    out.section(directory.parent, reason)
                    directory = directory.parent


@final
@attrs.frozen
class DependentsRule:
    """A file pages recorded reading changed: a template or data file, or a linked page.

    For a linked page only its existence and title matter.
    """

    def apply(self, context: RuleContext, out: PlanBuilder) -> None:
        """Plan the recorded users of each changed file."""
        if context.full:
            return
        pages = context.registry.page_by_path
        for path in context.changed_sources():
            users = context.dependents(path)
            if not users:
                continue
            old = context.previous_metadata(path)
            page = pages.get(path)
            if old is not None or page is not None:
                old_title = None if old is None else old.get("title")
                new_title = None if page is None else page.metadata.get("title")
                if old is not None and page is not None and old_title == new_title:
                    continue
                reason = Reason(ReasonKind.LINK, path)
            else:
                reason = Reason(ReasonKind.DEPENDENCY, path)
            for user in sorted(users):
                if user in pages:
                    out.page(user, reason)
