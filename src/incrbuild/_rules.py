"""The planner's extension point: rules that read what changed and add to the plan.

A :class:`Rule` is the hook spec.  For each plan the planner builds one
:class:`RuleContext` (the registry, the change set, each changed page's old
and new front matter, stored facts of the last build) and one
:class:`PlanBuilder`, then runs the built-in rules and the host's rules in
order.  A rule only adds: pages, tag terms, section listings and named
outputs, each with a :class:`~incrbuild.Reason`.  Rules run inside
``Engine.plan()`` and are timed with it.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, TypeVar, final

import attrs

from incrbuild._detect import ChangeSet
from incrbuild._metadata import INDEX_NAME, changed_keys, normalise_metadata
from incrbuild._plan import Reason
from incrbuild._registry import IndexRegistry
from incrbuild._state import State
from incrbuild.protocols import PageLike, is_generated

__all__ = ["PageChange", "PlanBuilder", "Rule", "RuleContext"]

_K = TypeVar("_K")


class Rule(Protocol):
    """A planning rule: reads a :class:`RuleContext`, adds to a :class:`PlanBuilder`.

    Built-in rules (cascade, listings, taxonomy, sections, navigation, recorded
    dependencies) run first, then the host's in the order given to
    :class:`~incrbuild.Engine`; a rule sees what earlier rules planned through
    the builder's read-only views.  A rule must cost time in proportion to what
    changed (``context.page_changes``, ``context.changes``), not to the site,
    unless ``context.full`` is set.
    """

    def apply(self, context: RuleContext, out: PlanBuilder) -> None:
        """Add what the changes in *context* make stale to *out*."""
        ...


@final
@attrs.frozen
class PageChange:
    """A page whose own source was added, modified, removed or could not be read.

    ``old`` is the front matter stored at the last commit (``None``: not a page
    then), ``new`` the current normalised front matter (``None``: not a page
    now), ``page`` the current page object if any.
    """

    path: Path
    old: Mapping[str, Any] | None
    new: Mapping[str, Any] | None
    page: PageLike | None = attrs.field(default=None, eq=False, repr=False)
    _changed_keys: frozenset[str] | None = attrs.field(
        default=None, init=False, eq=False, repr=False, alias="_changed_keys"
    )

    @property
    def added(self) -> bool:
        """The page is new since the last build."""
        return self.old is None and self.new is not None

    @property
    def removed(self) -> bool:
        """The page is gone since the last build."""
        return self.old is not None and self.new is None

    @property
    def changed_keys(self) -> frozenset[str]:
        """Top-level front matter keys whose values differ (a key only one side has counts)."""
        found = self._changed_keys
        if found is None:
            found = changed_keys(self.old, self.new)
            object.__setattr__(self, "_changed_keys", found)
        return found


@final
class RuleContext:
    """What a rule may read: the current site, the change, and the last build's facts.

    Read-only; built by the planner once per plan.
    """

    def __init__(
        self,
        *,
        registry: IndexRegistry,
        changes: ChangeSet,
        full_reason: Reason | None,
        previous: State,
        key_for: Callable[[Path], str],
        path_for: Callable[[str], Path],
    ) -> None:
        self._registry = registry
        self._changes = changes
        self._full_reason = full_reason
        self._previous = previous
        self._key_for = key_for
        self._path_for = path_for
        self._keys: dict[Path, str] = {}
        self._page_changes: tuple[PageChange, ...] | None = None
        self._changed_sources: tuple[Path, ...] | None = None

    @property
    def registry(self) -> IndexRegistry:
        """The indexes over the current site (sections, tags, cascades)."""
        return self._registry

    @property
    def changes(self) -> ChangeSet:
        """What the detector (and the loader) found changed on disk."""
        return self._changes

    @property
    def full(self) -> bool:
        """Whether a full rebuild is already planned (every page and term)."""
        return self._full_reason is not None

    @property
    def root(self) -> Path:
        """The content directory (absolute)."""
        return self.registry.site.root_path

    @property
    def page_changes(self) -> tuple[PageChange, ...]:
        """Each page whose source changed, was added, removed or unreadable, by path.

        Computed on first access, in proportion to the change.  Pages the host
        generated, and changed files that were never and are not pages
        (assets, data files), are not listed.
        """
        if self._page_changes is not None:
            return self._page_changes
        facts = self._previous.facts
        pages = self.registry.page_by_path
        found: list[PageChange] = []
        for path in self.changed_sources():
            record = facts.get(self.key_for(path))
            page = pages.get(path)
            if page is not None and is_generated(page):
                continue
            if record is None and page is None:
                continue
            old = None if record is None else record.metadata
            new = None if page is None else normalise_metadata(page.metadata)
            found.append(PageChange(path, old, new, page))
        self._page_changes = tuple(found)
        return self._page_changes

    def changed_sources(self) -> tuple[Path, ...]:
        """Every path added, modified, removed or unreadable (pages or not), sorted."""
        if self._changed_sources is None:
            changes = self._changes
            errors = {path for path, _ in changes.errors}
            self._changed_sources = tuple(sorted(changes.changed | errors))
        return self._changed_sources

    def previous_metadata(self, path: Path) -> Mapping[str, Any] | None:
        """The front matter *path* had at the last commit (``None``: it was not a page)."""
        record = self._previous.facts.get(self.key_for(path))
        return None if record is None else record.metadata

    def existed_before(self, directory: Path) -> bool:
        """Whether the last build saw a page below *directory*.

        Directory listings may lag behind a watcher's partial commits; a name is
        trusted only if its page record exists, so a stale listing can make this
        say no (one listing rebuilt for nothing), never a false yes.
        """
        previous = self._previous
        facts = previous.facts
        pending = [self._key_for(directory)]
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

    def dependents(self, path: Path) -> frozenset[Path]:
        """The pages that recorded reading *path* (a template, data file, or page) last build."""
        users = self._previous.dependents.get(self.key_for(path), ())
        return frozenset(self._path_for(user) for user in users)

    def key_for(self, path: Path) -> str:
        """The stored key of *path* (POSIX, relative to the content directory)."""
        key = self._keys.get(path)
        if key is None:
            key = self._keys[path] = self._key_for(path)
        return key

    def path_for(self, key: str) -> Path:
        """The path of stored key *key*."""
        return self._path_for(key)


@final
class PlanBuilder:
    """Collects what rules add to a plan, each member with its reasons (no duplicates)."""

    __slots__ = ("_outputs", "_pages", "_registry", "_sections", "_terms")

    def __init__(self, registry: IndexRegistry) -> None:
        self._registry = registry
        self._pages: dict[Path, tuple[Reason, ...]] = {}
        self._terms: dict[str, tuple[Reason, ...]] = {}
        self._sections: dict[Path, tuple[Reason, ...]] = {}
        self._outputs: dict[str, tuple[Reason, ...]] = {}

    def page(self, path: Path, reason: Reason) -> None:
        """Plan the page whose source is *path*."""
        _add(self._pages, path, reason)

    def term(self, tag: str, reason: Reason) -> None:
        """Plan the term page of *tag* (or its removal, if no page has it any more)."""
        _add(self._terms, tag, reason)

    def section(self, directory: Path, reason: Reason) -> None:
        """Plan the listing of the section at *directory*, and its index page if it has one."""
        _add(self._sections, directory, reason)
        index = self._registry.page_for(directory / INDEX_NAME)
        if index is not None and index.source_path != reason.source:
            _add(self._pages, index.source_path, reason)

    def output(self, name: str, reason: Reason) -> None:
        """Plan the named site-wide output *name* (``"sitemap"``, ``"search-index"``...)."""
        _add(self._outputs, name, reason)

    @property
    def pages(self) -> Mapping[Path, tuple[Reason, ...]]:
        """Pages planned so far, with their reasons (read-only)."""
        return types.MappingProxyType(self._pages)

    @property
    def terms(self) -> Mapping[str, tuple[Reason, ...]]:
        """Tag terms planned so far, with their reasons (read-only)."""
        return types.MappingProxyType(self._terms)

    @property
    def sections(self) -> Mapping[Path, tuple[Reason, ...]]:
        """Section listings planned so far, with their reasons (read-only)."""
        return types.MappingProxyType(self._sections)

    @property
    def outputs(self) -> Mapping[str, tuple[Reason, ...]]:
        """Named outputs planned so far, with their reasons (read-only)."""
        return types.MappingProxyType(self._outputs)


def previous_state(context: RuleContext) -> State:
    """The last committed state behind *context*: for the engine's built-in rules only."""
    return context._previous


def full_reason(context: RuleContext) -> Reason | None:
    """Why a full rebuild is planned (``None``: it is not): for the built-in rules only."""
    return context._full_reason


def builder_members(
    out: PlanBuilder,
) -> tuple[
    dict[Path, tuple[Reason, ...]],
    dict[str, tuple[Reason, ...]],
    dict[Path, tuple[Reason, ...]],
    dict[str, tuple[Reason, ...]],
]:
    """*out*'s pages, terms, sections and outputs with their reasons: for the planner only."""
    return out._pages, out._terms, out._sections, out._outputs


def _add(members: dict[_K, tuple[Reason, ...]], key: _K, reason: Reason) -> None:
    reasons = members.get(key)
    if reasons is None:
        members[key] = (reason,)
    elif reason not in reasons:
        members[key] = (*reasons, reason)
