"""Rules: what Bengal's default theme shows of one page on other pages, as plan additions."""

from __future__ import annotations

import bisect
import os
import time
from collections.abc import Callable, Container, Iterator, Mapping
from pathlib import Path
from typing import Any, Final, final

import attrs
import msgspec

from incrbuild._engine import Engine
from incrbuild._plan import LISTING_KEYS, Plan, Reason, ReasonKind, normalise_metadata
from incrbuild._registry import IndexRegistry, tags_from_metadata
from incrbuild.adapters.bengal._wrapping import discovery_order_key, is_virtual
from incrbuild.protocols import PageLike, SectionLike

__all__ = ["NAVIGATION_KEYS", "BengalPlan", "BengalRules"]

#: Front matter keys that change how a page shows in Bengal's navigation (menus, sidebars,
#: breadcrumbs, prev/next): a change to one of them reaches the pages that show it.
NAVIGATION_KEYS: Final = frozenset(
    {"title", "nav_title", "weight", "draft", "hidden", "icon", "menu", "slug", "url", "aliases"}
)

#: Section index file names Bengal recognises.
_INDEX_NAMES: Final = frozenset({"_index.md", "index.md"})


@final
@attrs.frozen
class BengalPlan:
    """An engine's plan extended by :class:`BengalRules`, with what Bengal must regenerate.

    ``plan`` carries every source page to render (with reasons, so
    ``plan.why()`` explains the additions), the tags whose term pages to
    render and the section directories whose listing (``_index.md`` or
    generated archive page) to render.  ``tag_index`` says the all-tags page
    and every tag page's tag navigation changed; ``site_wide`` that Bengal's
    site-wide outputs (search, graph, sitemap, feeds, indexes) must be
    regenerated.  ``decision_ns`` is the time of the engine's plan plus the rules.
    """

    plan: Plan
    tag_index: bool = False
    site_wide: bool = False
    decision_ns: int = 0

    @property
    def pages(self) -> frozenset[Path]:
        """The source pages to render."""
        return self.plan.pages

    def changed_sources(self) -> frozenset[Path]:
        """The sources to hand Bengal as ``BuildOptions(changed_sources=...)``.

        Only files that exist below the content directory: Bengal regenerates
        its generated pages, and cleans up after removed ones, by itself.
        """
        root = self.plan.root
        return frozenset(
            path
            for path in self.plan.pages
            if (root is None or root in path.parents) and os.path.isfile(path)
        )


@attrs.define
class _Additions:
    """What the rules add to a plan, with reasons."""

    pages: dict[Path, list[Reason]] = attrs.field(factory=dict)
    terms: dict[str, list[Reason]] = attrs.field(factory=dict)
    sections: set[Path] = attrs.field(factory=set)
    tag_index: bool = False
    site_wide: bool = False
    everything: Reason | None = None

    def page(self, page: PageLike | None, reason: Reason) -> None:
        if page is None or is_virtual(page):
            return
        reasons = self.pages.setdefault(page.source_path, [])
        if reason not in reasons:
            reasons.append(reason)

    def term(self, tag: str, reason: Reason) -> None:
        reasons = self.terms.setdefault(tag, [])
        if reason not in reasons:
            reasons.append(reason)


@attrs.frozen
class _Change:
    """A page whose own source changed: its front matter before and after (``None``: absent)."""

    path: Path
    old: Mapping[str, Any] | None
    new: Mapping[str, Any] | None
    page: PageLike | None

    @property
    def changed_keys(self) -> frozenset[str]:
        if self.old is None or self.new is None:
            # Appearing or vanishing changes everything shown of the page, its title first.
            return frozenset((self.old or self.new or {}).keys()) | {"title"}
        return _changed_keys(self.old, self.new)

    @property
    def old_tags(self) -> frozenset[str]:
        return tags_from_metadata(self.old) if self.old is not None else frozenset()

    @property
    def new_tags(self) -> frozenset[str]:
        return tags_from_metadata(self.new) if self.new is not None else frozenset()


@attrs.frozen
class _Context:
    """What every rule reads: the registry, the content root, and what the last commit knew."""

    registry: IndexRegistry
    root: Path
    known_dirs: Container[str]
    key_for: Callable[[Path], str]

    def section_of(self, path: Path, page: PageLike | None) -> SectionLike | None:
        """The section of *path*, or of its nearest surviving ancestor directory if it is gone."""
        if page is not None:
            return self.registry.section_of(page)
        for directory in path.parents:
            if directory == self.root or self.root not in directory.parents:
                return None
            section = self.registry.section_by_path(directory)
            if section is not None:
                return section
        return None


@final
@attrs.frozen
class BengalRules:
    """What Bengal's default theme shows of one page on other pages, as plan rules.

    incrbuild's planner knows cascades, tag and section listings and recorded
    dependencies.  Bengal's default theme also shows, on *other* pages, a
    page's card (title, date, excerpt: on its tag pages, its section's list,
    related posts of pages sharing a tag, the home page), its title in
    navigation (the automatic site menu of top-level sections and root-level
    pages, the docs sidebar of its whole top-level section for
    *tree_nav_types*, breadcrumbs below a section index, prev/next in site and
    section order) and tag counts (every tag page's tag navigation).
    :meth:`expand` adds those pages, each rule costing in proportion to what it
    reaches; only a change to the site menu reaches every page.
    """

    tree_nav_types: frozenset[str] = frozenset({"doc"})
    """Page types whose layout shows the whole top-level section as a sidebar."""
    related_posts: bool = True
    """Whether pages show related posts (pages sharing a tag) as cards."""
    related_limit: int = 5
    """How many related posts Bengal keeps per page (its build asks for 5)."""

    def expand(self, plan: Plan, engine: Engine, *, started_ns: int | None = None) -> BengalPlan:
        """Return *plan* extended with the pages, terms and sections Bengal's theme reaches.

        *started_ns* (``time.perf_counter_ns()`` before ``engine.plan()``) makes
        ``decision_ns`` cover the engine's plan too.
        """
        began = time.perf_counter_ns() if started_ns is None else started_ns
        if plan.full:
            return BengalPlan(
                plan, tag_index=True, site_wide=True, decision_ns=time.perf_counter_ns() - began
            )
        base = plan.base
        context = _Context(
            registry=engine.registry,
            root=engine.registry.site.root_path,
            known_dirs=base.dirs if base is not None else {},
            key_for=engine.detector.key_for,
        )
        found = self._changes(plan, context)
        out = _Additions()
        for change in found:
            self._own_change(change, context, out)
        if self.related_posts and found:
            _RelatedPosts(context, found, self.related_limit).mark(out)
        self._cascaded(plan, found, context, out)
        if out.everything is not None:
            _everything(context.registry, out, out.everything)
        return BengalPlan(
            _merged(plan, out, context.registry),
            tag_index=out.tag_index,
            site_wide=out.site_wide,
            decision_ns=time.perf_counter_ns() - began,
        )

    @staticmethod
    def _changes(plan: Plan, context: _Context) -> list[_Change]:
        """The pages whose own source was added, modified, removed or unreadable."""
        facts = plan.base.facts if plan.base is not None else {}
        index = context.registry.page_by_path
        changes = plan.changes
        candidates = changes.added | changes.modified | plan.removed_pages
        candidates |= {path for path, _ in changes.errors}
        found: list[_Change] = []
        for path in sorted(candidates):
            record = facts.get(context.key_for(path))
            page = index.get(path)
            if page is not None and is_virtual(page):
                continue
            if record is None and page is None:
                continue  # neither before nor now a page: an asset or a data file
            old = None if record is None else record.metadata
            new = None if page is None else normalise_metadata(page.metadata)
            found.append(_Change(path, old, new, page))
        return found

    # -- a page whose own source changed ----------------------------------------------

    def _own_change(self, change: _Change, context: _Context, out: _Additions) -> None:
        registry = context.registry
        out.site_wide = True  # search index, graph, sitemap and feeds carry every page
        path = change.path
        tags = change.old_tags | change.new_tags
        card = Reason(ReasonKind.TAXONOMY, path, "card on tag pages")
        for tag in tags:
            out.term(tag, card)
        if change.old_tags != change.new_tags:
            out.tag_index = True  # every tag page lists every tag with its count
            counts = Reason(ReasonKind.TAXONOMY, path, "tag counts in tag navigation")
            for tag in registry.tags:
                out.term(tag, counts)
        section = context.section_of(path, change.page)
        listing = Reason(ReasonKind.SECTION, path, "card in the section listing")
        _listing(section, context, out, listing)
        home = Reason(ReasonKind.SECTION, path, "recent pages on the home page")
        out.page(_home_page(context), home)
        if change.changed_keys & (NAVIGATION_KEYS | LISTING_KEYS):
            self._navigation(change, section, context, out)

    def _navigation(
        self, change: _Change, section: SectionLike | None, context: _Context, out: _Additions
    ) -> None:
        path = change.path
        top = _top_level(section)
        if out.everything is None and _in_menu(change, section, top, context):
            # Bengal's automatic menu lists top-level sections and root-level pages on every page.
            out.everything = Reason(ReasonKind.NAVIGATION, path, "site menu")
            return
        if top is not None and self._tree_nav(top, change):
            sidebar = Reason(ReasonKind.NAVIGATION, path, "docs navigation")
            _whole_section(top, context, out, sidebar)
        if section is not None and path.name in _INDEX_NAMES and section.path == path.parent:
            breadcrumbs = Reason(ReasonKind.NAVIGATION, path, "breadcrumbs")
            _whole_section(section, context, out, breadcrumbs)
        neighbours = Reason(ReasonKind.NAVIGATION, path, "prev/next")
        for neighbour in _site_neighbours(path, context):
            out.page(neighbour, neighbours)
        if section is not None:
            for neighbour in _section_neighbours(change, section):
                out.page(neighbour, neighbours)

    def _tree_nav(self, top: SectionLike, change: _Change) -> bool:
        """Tell whether pages of *top* show it as a sidebar (the page's or the index's type)."""
        types = {str(meta.get("type")) for meta in (change.old, change.new) if meta is not None}
        index = top.index_page
        # A generated archive index has the doc type whatever its pages' layout: not a signal.
        if index is not None and not is_virtual(index):
            types.add(str(index.metadata.get("type")))
        return bool(types & self.tree_nav_types)

    # -- pages a cascade reached ---------------------------------------------------------

    def _cascaded(
        self, plan: Plan, found: list[_Change], context: _Context, out: _Additions
    ) -> None:
        """Cascaded values show on the reached pages' cards; titles and tags in navigation too."""
        cascade_keys = {
            change.path: keys
            for change in found
            if (keys := _changed_keys(_cascade_of(change.old), _cascade_of(change.new)))
        }
        if not cascade_keys:
            return
        registry = context.registry
        listed: set[int] = set()
        for path, reasons in plan.reasons.items():
            sources = [r.source for r in reasons if r.kind is ReasonKind.CASCADE and r.source]
            page = registry.page_for(path) if sources else None
            if page is None or is_virtual(page):
                continue
            keys = frozenset[str]().union(*(cascade_keys.get(s, frozenset()) for s in sources))
            reason = Reason(ReasonKind.CASCADE, sources[0], "card of a page it reaches")
            for tag in registry.tags_of(page):
                out.term(tag, reason)
            section = registry.section_of(page)
            if section is not None and id(section) not in listed:
                listed.add(id(section))
                _listing(section, context, out, reason)
            if "tags" in keys:
                out.tag_index = True
            if keys & (NAVIGATION_KEYS | LISTING_KEYS):
                # Its title or tags changed for everyone who shows it (old place unknown).
                current = normalise_metadata(page.metadata)
                if self.related_posts:
                    for tag in registry.tags_of(page):
                        for member in registry.pages_with_tag(tag):
                            out.page(member, reason)
                self._navigation(_Change(path, current, current, page), section, context, out)


def _slug(tag: str) -> str:
    """Bengal's tag identity (``normalize_taxonomy_slug``): lower case, spaces to hyphens."""
    return tag.lower().replace(" ", "-")


def _own_tags(page: PageLike) -> frozenset[str]:
    """The tag slugs Bengal relates *page* by: its own ``tags`` (cascaded tags make no taxonomy)."""
    own = getattr(page, "tags", None)
    tags = (
        tags_from_metadata({"tags": own}) if own is not None else tags_from_metadata(page.metadata)
    )
    return frozenset(_slug(tag) for tag in tags)


class _RelatedPosts:
    """Which pages' related posts show a changed page, before or after the change.

    Bengal relates pages by shared tags: each page keeps the *limit* others sharing most
    of its tags, ties broken by source path, leaving out generated pages and the home page.
    A page whose lists, before and after, hold no changed page shows the same cards:
    the others' scores did not change.  A changed page's old tags are its stored front
    matter's (cascade included, so a superset of its own): that can only rank it higher,
    which plans more, never less.
    """

    def __init__(self, context: _Context, found: list[_Change], limit: int) -> None:
        self.context = context
        self.limit = limit
        self.home = _home_page(context)
        self.members_cache: dict[str, tuple[PageLike, ...]] = {}
        self.tags_cache: dict[Path, frozenset[str]] = {}
        self.slug_index: dict[str, list[str]] | None = None
        self.before: dict[Path, frozenset[str]] = {}  # changed pages that existed before
        self.after: dict[Path, frozenset[str]] = {}  # changed pages that exist now
        for change in found:
            if change.old is not None:
                self.before[change.path] = frozenset(_slug(t) for t in change.old_tags)
            if change.page is not None:
                self.after[change.path] = _own_tags(change.page)
        self.changed = frozenset(self.before) | frozenset(self.after)

    def mark(self, out: _Additions) -> None:
        """Plan every page whose related posts show a changed page, before or after."""
        slugs = frozenset().union(*self.before.values(), *self.after.values())
        reason_for = {
            path: Reason(ReasonKind.TAXONOMY, path, "related posts") for path in self.changed
        }
        seen: set[Path] = set()
        for slug in sorted(slugs):
            for page in self.members(slug):
                path = page.source_path
                if path in seen or path in self.changed:
                    continue
                seen.add(path)
                for shown in self.shown_changed(page):
                    out.page(page, reason_for[shown])

    def shown_changed(self, page: PageLike) -> list[Path]:
        """The changed pages among *page*'s related posts before or after the change."""
        own = self.own_tags(page)
        home = self.home
        after: dict[Path, int] = {}
        for slug in own:
            for candidate in self.members(slug):
                if candidate is not page and candidate is not home:
                    path = candidate.source_path
                    after[path] = after.get(path, 0) + 1
        before = dict(after)
        for path in self.changed:
            before.pop(path, None)
            after.pop(path, None)
            if path in self.after and self.after[path] & own:
                after[path] = len(self.after[path] & own)
            if path in self.before and self.before[path] & own:
                before[path] = len(self.before[path] & own)
        shown: list[Path] = []
        for scores in (before, after):
            for path in self.changed:
                if path in scores and path not in shown and self.ranks_in(path, scores):
                    shown.append(path)
        return shown

    def ranks_in(self, path: Path, scores: dict[Path, int]) -> bool:
        """Tell whether *path* is among the *limit* best of *scores* (score, then path)."""
        mine = (-scores[path], str(path))
        above = 0
        for other, score in scores.items():
            if -score < mine[0] or (-score == mine[0] and str(other) < mine[1]):
                above += 1
                if above >= self.limit:
                    return False
        return True

    def own_tags(self, page: PageLike) -> frozenset[str]:
        """:func:`_own_tags`, once per page."""
        found = self.tags_cache.get(page.source_path)
        if found is None:
            found = _own_tags(page)
            self.tags_cache[page.source_path] = found
        return found

    def members(self, slug: str) -> tuple[PageLike, ...]:
        """The source pages (home included) whose own tags include *slug* now."""
        cached = self.members_cache.get(slug)
        if cached is None:
            registry = self.context.registry
            if self.slug_index is None:
                self.slug_index = {}
                for tag in registry.tags:
                    self.slug_index.setdefault(_slug(tag), []).append(tag)
            # The registry's tag members are never generated; autodoc pages are only virtual.
            found = {
                page.source_path: page
                for tag in self.slug_index.get(slug, ())
                for page in registry.pages_with_tag(tag)
                if slug in self.own_tags(page) and not getattr(page, "virtual", False)
            }
            cached = tuple(found[path] for path in sorted(found))
            self.members_cache[slug] = cached
        return cached


def _in_menu(
    change: _Change, section: SectionLike | None, top: SectionLike | None, context: _Context
) -> bool:
    """Tell whether *change* shows in Bengal's automatic site menu."""
    if any(meta is not None and "menu" in meta for meta in (change.old, change.new)):
        return True
    path = change.path
    if path.parent == context.root:
        return True  # a root-level page (the menu lists them) or the home page
    if top is None or top.path is None:
        return True  # its top-level section is gone: the menu lost an entry
    if section is top and path.name in _INDEX_NAMES and path.parent == top.path:
        return True  # a top-level section's own index: its title is the menu entry
    # The first page of a new top-level section adds a menu entry.
    return change.old is None and context.key_for(top.path) not in context.known_dirs


def _listing(
    section: SectionLike | None, context: _Context, out: _Additions, reason: Reason
) -> None:
    """Mark the listing *section* shows (the root's, for root-level pages)."""
    if section is None or section.path is None:
        out.sections.add(context.root)
        return
    out.sections.add(section.path)
    out.page(section.index_page, reason)


def _whole_section(
    section: SectionLike, context: _Context, out: _Additions, reason: Reason
) -> None:
    """Mark every page and listing at or below *section*."""
    out.page(section.index_page, reason)
    for page in context.registry.regular_pages_under(section):
        out.page(page, reason)
    for below in _sections_under(section):
        if below.path is not None:
            out.sections.add(below.path)


def _everything(registry: IndexRegistry, out: _Additions, reason: Reason) -> None:
    """Every page, tag and listing: what a change to the site menu reaches."""
    out.tag_index = True
    out.site_wide = True
    for page in registry.site.pages:
        out.page(page, reason)
    for tag in registry.tags:
        out.term(tag, reason)
    for section in registry.sections:
        if section.path is not None:
            out.sections.add(section.path)
    out.sections.add(registry.site.root_path)


def _merged(plan: Plan, out: _Additions, registry: IndexRegistry) -> Plan:
    """*plan* with the additions; a page already planned gets the new reasons after its own."""
    if not (out.pages or out.terms or out.sections):
        return plan
    removed = plan.removed_pages
    reasons = dict(plan.reasons)
    for path, added in out.pages.items():
        if path in removed:
            continue
        kept = list(reasons.get(path, ()))
        kept.extend(r for r in added if r not in kept)
        reasons[path] = tuple(kept)
    term_reasons = dict(plan.term_reasons)
    for tag, added in out.terms.items():
        kept = list(term_reasons.get(tag, ()))
        kept.extend(r for r in added if r not in kept)
        term_reasons[tag] = tuple(kept)
    every_term = set(plan.terms) | set(plan.removed_terms) | set(out.terms)
    gone = frozenset(tag for tag in every_term if not registry.pages_with_tag(tag))
    return attrs.evolve(
        plan,
        pages=plan.pages | frozenset(p for p in out.pages if p not in removed),
        terms=frozenset(every_term - gone),
        removed_terms=gone,
        sections=plan.sections | frozenset(out.sections),
        reasons=reasons,
        term_reasons=term_reasons,
    )


def _encoded(value: Any) -> bytes:
    return msgspec.json.encode(value, order="sorted", enc_hook=str)


def _changed_keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(
        key for key in old.keys() | new.keys() if _encoded(old.get(key)) != _encoded(new.get(key))
    )


def _cascade_of(metadata: Mapping[str, Any] | None) -> Mapping[str, Any]:
    cascade = None if metadata is None else metadata.get("cascade")
    return cascade if isinstance(cascade, Mapping) else {}


def _home_page(context: _Context) -> PageLike | None:
    for name in ("_index.md", "index.md"):
        page = context.registry.page_for(context.root / name)
        if page is not None:
            return page
    return None


def _top_level(section: SectionLike | None) -> SectionLike | None:
    while section is not None and section.parent is not None:
        section = section.parent
    return section


def _sections_under(section: SectionLike) -> Iterator[SectionLike]:
    stack = [section]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(current.subsections)


def _site_neighbours(path: Path, context: _Context) -> list[PageLike]:
    """The pages before and after *path*'s place in Bengal's discovery order, in O(log P).

    Bisection needs ``site.pages`` in a cold discovery's order, which :func:`load_site`
    gives (an incremental build's discovery puts pages read from its cache first).
    """
    pages = context.registry.site.pages
    root = context.root
    at = bisect.bisect_left(
        pages,
        discovery_order_key(path, root),
        key=lambda page: discovery_order_key(page.source_path, root),
    )
    found: list[PageLike] = []
    if at > 0:
        found.append(pages[at - 1])
    after = at + 1 if at < len(pages) and pages[at].source_path == path else at
    if after < len(pages):
        found.append(pages[after])
    return found


def _section_neighbours(change: _Change, section: SectionLike) -> list[PageLike]:
    """The changed page's neighbours in its section's weight-then-title order, before and after.

    Bengal leaves section index pages out of in-section prev/next.
    """
    if change.path.name in _INDEX_NAMES:
        return []
    members = sorted(
        (
            page
            for page in section.pages
            if page.source_path.name not in _INDEX_NAMES and page.source_path != change.path
        ),
        key=_weight_title,
    )
    keys = [_weight_title(page) for page in members]
    found: list[PageLike] = []
    for metadata in (change.old, change.new):
        if metadata is not None:
            at = bisect.bisect_left(keys, _weight_title_of(metadata, change.path))
            found.extend(members[max(at - 1, 0) : at + 1])
    return found


def _weight_title(page: PageLike) -> tuple[float, str]:
    return _weight_title_of(page.metadata, page.source_path)


def _weight_title_of(metadata: Mapping[str, Any], path: Path) -> tuple[float, str]:
    """Bengal's in-section order: weight (none sorts last), then title, case-folded."""
    try:
        weight = float(metadata.get("weight", "inf"))
    except (TypeError, ValueError):
        weight = float("inf")
    title = metadata.get("title")
    if title is None:
        title = path.parent.name if path.name in _INDEX_NAMES else path.stem
    return (weight, str(title).lower())
