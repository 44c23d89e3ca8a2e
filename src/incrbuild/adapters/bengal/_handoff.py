"""The hand-off: Bengal builds its whole site model as a full build does, and renders only the plan.

Bengal's own incremental pipeline re-discovers pages in cache order, rebuilds
taxonomies, menus and related posts from partial data, and skips site-wide
outputs, so what it renders differs from a full build (see ``docs/bengal.md``).
A full build's model is exact; only its *render* phase costs in proportion to
the site.  So the hand-off runs Bengal's full build (``incremental=False``:
discovery, sections, taxonomies, menus, related posts, parsing from Bengal's
own parse cache, the snapshot, assets, post-processing: sitemap, feeds, search
index, special pages) and narrows one internal, the render phase
``bengal.orchestration.build.rendering.phase_render`` (verified on Bengal
0.5.1, :data:`~incrbuild.adapters.bengal.BENGAL_REQUIREMENT`), to the pages the
plan names.  Everything else in the output directory is left as it was.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any, Final, final

import attrs
import msgspec

from incrbuild.adapters.bengal._rules import CARD_IN_PLACE, BengalPlan, tag_slug

__all__ = [
    "OutputManifest",
    "ProjectSnapshot",
    "RenderReads",
    "RenderSelection",
    "audit_written_html",
    "content_reads",
    "deferred_index_hashes",
    "file_stamp",
    "forget_formats",
    "graph_key",
    "inventory_for_health_checks",
    "link_targets",
    "memoized_frontmatter",
    "memoized_layout",
    "narrowed_formats",
    "narrowed_render",
    "recording_reads",
    "remove_outputs",
    "reset_process_caches",
    "reused_discovery",
    "shared_graph_data",
]

#: The Bengal internal the hand-off narrows: the module and its render-phase function.
RENDER_MODULE: Final = "bengal.orchestration.build.rendering"
RENDER_FUNCTION: Final = "phase_render"
#: Position of ``pages_to_build`` among ``phase_render``'s positional arguments (0.5.1).
_PAGES_ARGUMENT: Final = 7
#: Bengal's own incremental bookkeeping after the render phase, for the pages it was given
#: (narrowed to the pages rendered: hashing every page's inputs costs as much as rendering).
PROVENANCE_MODULE: Final = "bengal.orchestration.build.provenance_filter"
PROVENANCE_FUNCTION: Final = "record_all_page_builds"


@final
@attrs.frozen
class RenderSelection:
    """Which of Bengal's pages (source or generated) a plan asks to render.

    Source pages by path; tag pages (every page of a paginated tag) by their
    tag's slug; the all-tags page by ``tag_index``; a section's generated
    archive by its directory.  Generated or virtual pages of kinds the plan
    has no name for (autodoc, unknown kinds) are always rendered: more work,
    never a stale page.

    ``tag_cards``: tags planned only because cards changed in place (every reason
    :data:`~incrbuild.adapters.bengal._rules.CARD_IN_PLACE`), with those pages: of such a
    tag, only the pagination pages whose slice shows one of them are rendered (the
    others list the same pages in the same order, and the tag's counts are the same).
    """

    everything: bool
    pages: frozenset[Path]
    tag_slugs: frozenset[str]
    tag_index: bool
    sections: frozenset[Path]
    tag_cards: Mapping[str, frozenset[Path]] = attrs.field(factory=dict)

    @classmethod
    def of(cls, plan: BengalPlan) -> RenderSelection:
        """The selection *plan* asks for."""
        inner = plan.plan
        whole: set[str] = {tag_slug(t) for t in inner.removed_terms}
        cards: dict[str, set[Path]] = {}
        for term in inner.terms:
            slug = tag_slug(term)
            reasons = inner.term_reasons.get(term, ())
            if not reasons or any(r.detail != CARD_IN_PLACE or r.source is None for r in reasons):
                whole.add(slug)
                continue
            cards.setdefault(slug, set()).update(r.source for r in reasons if r.source)
        return cls(
            everything=inner.full,
            pages=inner.pages,
            tag_slugs=frozenset(tag_slug(t) for t in inner.terms | inner.removed_terms),
            tag_index=plan.tag_index,
            sections=inner.sections,
            tag_cards={s: frozenset(p) for s, p in cards.items() if s not in whole},
        )

    def __call__(self, page: Any) -> bool:
        """Tell whether Bengal should render *page*."""
        if self.everything:
            return True
        metadata: Mapping[str, Any] = page.metadata
        if not metadata.get("_generated"):
            if getattr(page, "virtual", False):
                return True
            return Path(page.source_path) in self.pages
        kind = metadata.get("type")
        if kind == "tag":
            slug = tag_slug(str(metadata.get("_tag_slug") or metadata.get("_tag") or ""))
            if slug not in self.tag_slugs:
                return False
            cards = self.tag_cards.get(slug)
            return cards is None or _shows_any(metadata, cards)
        if kind == "tag-index":
            return self.tag_index
        section = metadata.get("_section")
        directory = getattr(section, "path", None)
        if directory is not None:
            return Path(directory) in self.sections
        return True


def _shows_any(metadata: Mapping[str, Any], cards: frozenset[Path]) -> bool:
    """Whether a paginated tag page's slice (``_paginator``, ``_page_num``) shows one of *cards*.

    A page without Bengal's paginator, or one it cannot slice, counts as showing them.
    """
    paginator = metadata.get("_paginator")
    number = metadata.get("_page_num")
    if paginator is None or number is None:
        return True
    try:
        shown = list(paginator.page(int(number)))
    except Exception:  # whatever Bengal raises: render the page
        return True
    return any(Path(getattr(p, "source_path", "")) in cards for p in shown)


@contextlib.contextmanager
def narrowed_render(
    select: Callable[[Any], bool],
    rendered: list[Any] | None = None,
    links: dict[str, list[str]] | None = None,
) -> Iterator[None]:
    """Within the block, Bengal's render phase renders only the pages *select* accepts.

    The pages it renders are appended to *rendered*.  With *links* (source
    path -> the links the page's last render gave it), the links of each page
    rendered are recorded there, each page not rendered gets its recorded
    links back before post-processing reads them, and a source page without
    a record is rendered too (see :func:`_restore_links`).  Not thread-safe: it
    replaces a module attribute of Bengal's for the duration of the block.
    """
    import importlib

    module: ModuleType = importlib.import_module(RENDER_MODULE)
    original = getattr(module, RENDER_FUNCTION)
    provenance: ModuleType = importlib.import_module(PROVENANCE_MODULE)
    original_record = getattr(provenance, PROVENANCE_FUNCTION)
    done: set[int] = set()

    def phase_render(*args: Any, **kwargs: Any) -> Any:
        def wanted(page: Any) -> bool:
            return select(page) or (links is not None and _unrecorded(page, links))

        if "pages_to_build" in kwargs:
            every = list(kwargs["pages_to_build"])
            kwargs["pages_to_build"] = chosen = [p for p in every if wanted(p)]
        else:
            listed = list(args)
            every = list(listed[_PAGES_ARGUMENT])
            listed[_PAGES_ARGUMENT] = chosen = [p for p in every if wanted(p)]
            args = tuple(listed)
        if rendered is not None:
            rendered.extend(chosen)
        done.update(id(page) for page in chosen)
        context = original(*args, **kwargs)
        if links is not None:
            _restore_links(every, chosen, links)
        _accumulate_unrendered(args[0], context, every, chosen)
        return context

    def record_page_builds(orchestrator: Any, pages: Any, *args: Any, **kwargs: Any) -> Any:
        # Provenance is Bengal's record for its own incremental builds: of what it rendered.
        return original_record(orchestrator, [p for p in pages if id(p) in done], *args, **kwargs)

    setattr(module, RENDER_FUNCTION, phase_render)
    setattr(provenance, PROVENANCE_FUNCTION, record_page_builds)
    try:
        yield
    finally:
        setattr(module, RENDER_FUNCTION, original)
        setattr(provenance, PROVENANCE_FUNCTION, original_record)


def _unrecorded(page: Any, links: Mapping[str, list[str]]) -> bool:
    """Whether *page* is a source page whose links no render recorded."""
    if page.metadata.get("_generated") or getattr(page, "virtual", False):
        return False
    return str(page.source_path) not in links


def _restore_links(every: list[Any], chosen: list[Any], links: dict[str, list[str]]) -> None:
    """Record the links of the pages just rendered; give the others their recorded links.

    Bengal's knowledge graph (its page counts in every ``index.json``, the
    graph page) counts the links of every page.  A render sets a page's links
    from its parse: Markdown and HTML links in the source, resolved ``[[...]]``
    references, directives' links.  A page not rendered has none, and the
    graph then extracts them from the page's cached HTML, which finds more
    (every anchor a directive or a template wrote): on Bengal's own
    documentation site, 24 pages gained 1 to 27 links and 179 pages' counts went
    stale.  A page's links are a function of what its render reads, so the
    plan re-renders it when they may change, and its last render's hold until then.
    """
    done = {id(page) for page in chosen}
    for page in chosen:
        links[str(page.source_path)] = [str(link) for link in getattr(page, "links", None) or ()]
    for page in every:
        if id(page) in done:
            continue
        recorded = links.get(str(page.source_path))
        if recorded is not None:
            page.links = list(recorded)


def reset_process_caches() -> None:
    """Clear Bengal's process-wide caches, so a build sees only this build's site.

    Bengal memoises rendering helpers across builds in one process (its dev
    server resets them between rebuilds); without this, a second build in the
    same process rendered tag-page cards with a page's previous title.  Uses
    what Bengal's own isolated render workers call: the cache registry's
    ``clear_all_caches``, the directive cache and the navigation-tree cache.
    """
    from bengal.cache import directive_cache
    from bengal.core.nav_tree import NavTreeCache
    from bengal.utils.cache_registry import clear_all_caches

    clear_all_caches()
    directive_cache.clear_cache()
    NavTreeCache.invalidate()


def forget_formats(pages: list[Any]) -> list[str]:
    """Delete the companion formats (JSON, text, Markdown) of rendered pages that have none now.

    Bengal writes them for pages open to machine readers (``in_ai_input``;
    a draft is not); a page that lost them keeps the old files unless they
    are deleted, where a full build into an empty directory has none.
    Returns the deleted files.
    """
    deleted: list[str] = []
    for page in pages:
        output = getattr(page, "output_path", None)
        if output is None or Path(output).name != "index.html":
            continue
        if getattr(page, "in_ai_input", True):
            continue
        for name in _PAGE_FORMATS[1:]:
            sibling = Path(output).with_name(name)
            if sibling.is_file():
                sibling.unlink()
                deleted.append(str(sibling))
    return deleted


def _accumulate_unrendered(
    orchestrator: Any, context: Any, every: list[Any], chosen: list[Any]
) -> None:
    """Give post-processing the page data a full build's render would have accumulated.

    Rendering a page also accumulates its search-index and JSON data
    (``JsonAccumulator``, a second internal the hand-off uses); post-processing
    writes ``index.json`` from it, and falls back to a slightly different
    summary (empty tags and section left out) for pages without it.  The
    skipped pages' data comes from Bengal's own accumulator, as their render would,
    with two parts of it left until something reads them (see :func:`_add_unrendered`).
    """
    if context is None:
        return
    from bengal.rendering.pipeline.json_accumulator import JsonAccumulator

    collected: list[Any] = []
    accumulator = JsonAccumulator(orchestrator.site, _Collecting(context, collected))
    make_json = accumulator.build_full_json_data
    # An instance attribute: this accumulator's per-page JSON is made when first read.
    accumulator.build_full_json_data = lambda page: _DeferredJson(make_json, page)
    done = {id(page) for page in chosen}
    for page in every:
        if id(page) not in done:
            accumulator.accumulate_unified_page_data(page)
    _add_unrendered(context, collected)


#: ``BuildContext``'s accumulated page data: the list and its index by source path, and
#: their lock (Bengal 0.5.1).  ``accumulate_page_data`` adds to these and also freezes a
#: ``PageArtifact`` of the data, which nothing in Bengal 0.5.1 reads back.
ACCUMULATED_LIST: Final = "_accumulated_page_data"
ACCUMULATED_INDEX: Final = "_accumulated_page_index"
ACCUMULATED_LOCK: Final = "_accumulated_page_data_lock"


def _add_unrendered(context: Any, collected: list[Any]) -> None:
    """Add the unrendered pages' accumulated data to *context*, their per-page JSON deferred.

    The per-page JSON (``full_json_data``: what a page's ``index.json`` holds
    without its graph connections) is written only for the pages whose
    companion formats post-processing writes, and stored by Bengal's cache save
    only when it stores every page's data (see :func:`narrowed_formats`): made
    for every unrendered page, it cost about 0.3 s at 1,000 pages, most of them
    never written.  So it is made when first read.  The frozen ``PageArtifact``
    that ``BuildContext.accumulate_page_data`` makes of each page's data (about
    0.4 s at 1,000 pages) is read by nothing in Bengal 0.5.1 (its build context's
    ``get_page_artifacts`` and ``get_artifact_for_page`` have no callers): the
    data goes into the context's list and index directly.  A context without
    them (another Bengal) gets every page's JSON made and ``accumulate_page_data``.
    """
    items = getattr(context, ACCUMULATED_LIST, None)
    index = getattr(context, ACCUMULATED_INDEX, None)
    lock = getattr(context, ACCUMULATED_LOCK, None)
    if not isinstance(items, list) or not isinstance(index, dict) or lock is None:
        for data in collected:
            made = data.full_json_data
            if isinstance(made, _DeferredJson):
                data.full_json_data = made()
            context.accumulate_page_data(data)
        return
    with lock:
        for data in collected:
            data.__class__ = _deferring(type(data))
            items.append(data)
            index[data.source_path] = data


class _Collecting:
    """A build context that keeps the page data accumulated into it (other names go through)."""

    def __init__(self, context: Any, collected: list[Any]) -> None:
        self._context = context
        self._collected = collected

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)

    def accumulate_page_data(self, data: Any) -> None:
        self._collected.append(data)


class _DeferredJson:
    """A page's per-page JSON data, made (once) when called."""

    def __init__(self, make: Callable[[Any], Any], page: Any) -> None:
        self._make = make
        self._page = page

    def __call__(self) -> Any:
        return self._make(self._page)


_DEFERRING: dict[type, type] = {}


def _skip_deferred(context: Any, written: list[Any]) -> None:
    """Drop the deferred per-page JSON of the pages whose ``index.json`` is not written.

    Bengal's output formats read every accumulated page's ``full_json_data`` to
    pick those of the pages it writes (by URL); a page it does not write needs
    none (``None`` is what it skips), and the cache save stores only the
    rendered pages' data when formats are narrowed (:func:`narrowed_formats`).
    """
    accumulated = getattr(context, "get_accumulated_page_data", None)
    if not callable(accumulated):
        return
    kept = {str(getattr(page, "source_path", "")) for page in written}
    for data in accumulated():
        values = getattr(data, "__dict__", {})
        deferred = isinstance(values.get("full_json_data"), _DeferredJson)
        if deferred and str(data.source_path) not in kept:
            values["full_json_data"] = None


def _deferring(base: type) -> type:
    """A subclass of Bengal's accumulated-data class whose ``full_json_data`` is made when read.

    The value stays in the instance's ``__dict__`` (where the dataclass put it);
    a :class:`_DeferredJson` there is made on the first read and replaced by its result.
    """
    found = _DEFERRING.get(base)
    if found is not None:
        return found
    lock = threading.Lock()

    def get(self: Any) -> Any:
        value = self.__dict__.get("full_json_data")
        if isinstance(value, _DeferredJson):
            with lock:
                value = self.__dict__.get("full_json_data")
                if isinstance(value, _DeferredJson):
                    value = value()
                    self.__dict__["full_json_data"] = value
        return value

    def put(self: Any, value: Any) -> None:
        self.__dict__["full_json_data"] = value

    made = type(base.__name__, (base,), {"full_json_data": property(get, put)})
    _DEFERRING[base] = made
    return made


class _Manifest(msgspec.Struct, frozen=True):
    """What the last build's pages wrote: output path (relative) -> source path."""

    outputs: dict[str, str]
    generated_templates: dict[str, tuple[int, int]] = {}
    aggregates: list[str] = []
    generated_aggregates: bool = False
    related_reads: bool = False
    links: dict[str, list[str]] = {}
    content_readers: list[str] | None = None


@final
@attrs.frozen
class OutputManifest:
    """The page outputs of a build (relative to the output directory), kept between builds.

    A full build writes only the outputs of pages that exist; the hand-off
    leaves unrendered files alone, so an output whose page is gone (a removed
    or renamed page, a tag without pages, a page count that shrank) is found
    here and deleted, with the page's other formats beside it.
    """

    outputs: Mapping[str, str]
    generated_templates: Mapping[str, tuple[int, int]] = attrs.field(factory=dict)
    """Template files generated pages (tag pages, archives) rendered with, cumulative,
    each with its modification time and size then (``(0, -1)``: absent)."""
    aggregates: frozenset[str] = frozenset()
    """Source pages whose last render iterated a site-wide page collection."""
    generated_aggregates: bool = False
    """Whether a generated page's last render iterated a site-wide page collection."""
    related_reads: bool = False
    """Whether every source page's last render recorded the related posts it showed
    (true from a full build on; manifests of earlier versions have not)."""
    links: Mapping[str, list[str]] = attrs.field(factory=dict)
    """Source path -> the links the page's last render gave it (see ``narrowed_render``)."""
    content_readers: frozenset[str] | None = None
    """Source pages whose Markdown shows other pages (see :func:`content_reads`); ``None``
    when no build recorded them yet (manifests of earlier versions)."""

    @classmethod
    def of_site(cls, site: Any) -> OutputManifest:
        """The outputs of *site*'s pages after a build."""
        public = Path(site.output_dir)
        found: dict[str, str] = {}
        for page in site.pages:
            output = getattr(page, "output_path", None)
            if output is None:
                continue
            try:
                relative = Path(output).relative_to(public).as_posix()
            except ValueError:
                continue
            found[relative] = str(page.source_path)
        return cls(found)

    @classmethod
    def load(cls, path: Path) -> OutputManifest | None:
        """The manifest saved at *path*, or ``None`` if there is none (or it is unreadable)."""
        try:
            data = msgspec.json.decode(path.read_bytes(), type=_Manifest)
        except (OSError, msgspec.DecodeError):
            return None
        return cls(
            data.outputs,
            data.generated_templates,
            frozenset(data.aggregates),
            data.generated_aggregates,
            data.related_reads,
            data.links,
            None if data.content_readers is None else frozenset(data.content_readers),
        )

    def save(self, path: Path) -> None:
        """Write the manifest to *path* (atomically)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(path.name + ".tmp")
        data = _Manifest(
            dict(self.outputs),
            dict(self.generated_templates),
            sorted(self.aggregates),
            self.generated_aggregates,
            self.related_reads,
            {path: list(found) for path, found in self.links.items()},
            None if self.content_readers is None else sorted(self.content_readers),
        )
        scratch.write_bytes(msgspec.json.encode(data))
        os.replace(scratch, path)

    def changed_templates(self) -> list[str]:
        """The generated pages' templates whose file changed, appeared or vanished since."""
        return sorted(
            path for path, stamp in self.generated_templates.items() if file_stamp(path) != stamp
        )

    def gone_since(self, previous: OutputManifest) -> list[str]:
        """Outputs *previous* had and this manifest has not."""
        return sorted(set(previous.outputs) - set(self.outputs))


def file_stamp(path: str) -> tuple[int, int]:
    """A file's modification time and size, ``(0, -1)`` if it is not there."""
    try:
        info = os.stat(path)
    except OSError:
        return (0, -1)
    return (info.st_mtime_ns, info.st_size)


#: Files Bengal writes beside a page's HTML (its other output formats).
_PAGE_FORMATS: Final = ("index.html", "index.json", "index.txt", "index.md", "llm.txt")


def remove_outputs(public: Path, outputs: list[str], keep: Mapping[str, str]) -> list[str]:
    """Delete *outputs* (relative to *public*) and their pages' other formats; return deleted.

    A sibling format file is deleted only if no current page writes there
    (*keep*); directories left empty are removed.
    """
    deleted: list[str] = []
    kept_dirs = {Path(p).parent for p in keep}
    for relative in outputs:
        target = public / relative
        names = [target.name]
        if Path(relative).parent not in kept_dirs and target.name in _PAGE_FORMATS:
            names = list(_PAGE_FORMATS)
        for name in names:
            path = target.with_name(name)
            if path.is_file():
                path.unlink()
                deleted.append(path.relative_to(public).as_posix())
        directory = target.parent
        while directory != public and public in directory.parents:
            try:
                directory.rmdir()
            except OSError:
                break
            directory = directory.parent
    return deleted


#: The Bengal internal that renders one page (wrapped to learn what each render read).
PIPELINE_MODULE: Final = "bengal.rendering.pipeline.core"
#: The template-facing site wrapper (``site`` in templates), and the site attributes that
#: hand a template pages of the whole site (iterating one makes the page an aggregate).
SITE_CONTEXT_MODULE: Final = "bengal.rendering.context.site_wrappers"
#: Bengal's accumulator of each page's JSON data (search index, ``index.json``).
ACCUMULATOR_MODULE: Final = "bengal.rendering.pipeline.json_accumulator"
SITE_COLLECTIONS: Final = frozenset(
    {"pages", "regular_pages", "generated_pages", "indexes", "taxonomies", "authors"}
)


@final
@attrs.frozen
class RenderReads:
    """What rendering one page read, as Bengal's template engine reports it.

    ``template_names``: the page's template and every template it extends,
    includes, embeds or imports (Bengal walks them statically from the one it
    renders); ``template_files``: where those resolved (a project override or
    the theme's file); ``collections``: the site-wide page collections the
    templates asked the site for (:data:`SITE_COLLECTIONS`), such as all pages
    for an archive or an authors page with post counts.
    """

    template_names: frozenset[str]
    template_files: frozenset[Path]
    collections: frozenset[str] = frozenset()
    shown_related: frozenset[Path] = frozenset()
    """The source pages among the page's related posts that its templates took (a
    theme shows a few of the five Bengal ranks: the default theme's cards, three)."""


@attrs.define
class _Reading:
    """What the page being rendered has read so far."""

    names: set[str] = attrs.field(factory=set)
    files: set[Path] = attrs.field(factory=set)
    collections: set[str] = attrs.field(factory=set)
    related: set[Path] = attrs.field(factory=set)


class _ShownList(list[Any]):
    """A page's related posts as its templates see them: records the members they take.

    Indexing and slicing record what they return; anything else that reaches the
    members (iteration, search, copies, concatenation, comparison) records them all.
    """

    def __init__(self, members: list[Any], shown: set[Path]) -> None:
        super().__init__(members)
        self._shown = shown

    def _took(self, members: Any) -> None:
        if _ACCUMULATING.get():
            return
        for member in members:
            source = getattr(member, "source_path", None)
            if source is not None:
                self._shown.add(Path(source))

    def _took_all(self) -> None:
        self._took(list.__iter__(self))

    def __getitem__(self, index: Any) -> Any:
        found = list.__getitem__(self, index)
        self._took(found if isinstance(index, slice) else (found,))
        return found

    def __iter__(self) -> Iterator[Any]:
        self._took_all()
        return list.__iter__(self)

    def __reversed__(self) -> Iterator[Any]:
        self._took_all()
        return list.__reversed__(self)

    def __contains__(self, item: object) -> bool:
        self._took_all()
        return list.__contains__(self, item)

    def __add__(self, other: Any) -> Any:
        self._took_all()
        return list.__add__(self, other)

    def __radd__(self, other: Any) -> Any:
        self._took_all()
        return list(other) + list(list.__iter__(self))

    def __mul__(self, count: Any) -> Any:
        self._took_all()
        return list.__mul__(self, count)

    __rmul__ = __mul__

    def __eq__(self, other: object) -> bool:
        self._took_all()
        return list.__eq__(self, other)

    __hash__ = None

    def copy(self) -> list[Any]:
        self._took_all()
        return list(list.__iter__(self))

    def index(self, *args: Any) -> int:
        self._took_all()
        return list.index(self, *args)

    def count(self, value: Any) -> int:
        self._took_all()
        return list.count(self, value)

    def pop(self, index: Any = -1) -> Any:
        self._took_all()
        return list.pop(self, index)


_READING: contextvars.ContextVar[_Reading | None] = contextvars.ContextVar(
    "incrbuild_bengal_reading", default=None
)
#: Set while Bengal accumulates a page's JSON data (its ``index.json`` lists the related
#: posts' URLs): that data is made afresh for every page on every hand-off, rendered or not
#: (:func:`_accumulate_unrendered`), so what it reads is not what the page's HTML showed.
_ACCUMULATING: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "incrbuild_bengal_accumulating", default=False
)


@contextlib.contextmanager
def recording_reads(
    reads: dict[Path, RenderReads], finished: set[int] | None = None
) -> Iterator[None]:
    """Within the block, record in *reads* the templates each rendered page used.

    The ``id`` of every page whose render returned goes into *finished*: Bengal
    skips the pages still waiting when its render deadline passes, with no error.

    Bengal's template engine reports every template it renders, and those it
    references, through ``bengal.effects.render_integration``'s
    ``record_template_include`` and ``record_extra_dependency`` (for its own
    effect tracer).  The hand-off wraps both, and
    ``RenderingPipeline.process_page`` to know which page is being rendered
    (a context variable of its own, so Bengal's tracer is undisturbed).
    """
    import importlib

    from bengal.effects import render_integration

    module: ModuleType = importlib.import_module(PIPELINE_MODULE)
    pipeline = module.RenderingPipeline
    original = pipeline.process_page
    original_include = render_integration.record_template_include
    original_dependency = render_integration.record_extra_dependency
    site_context = importlib.import_module(SITE_CONTEXT_MODULE).SiteContext
    original_getattr = site_context.__getattr__
    accumulator = importlib.import_module(ACCUMULATOR_MODULE).JsonAccumulator
    original_accumulate = accumulator.accumulate_unified_page_data
    lock = threading.Lock()

    def process_page(self: Any, page: Any) -> None:
        reading = _Reading()
        token = _READING.set(reading)
        # Bengal ranks five related posts; the templates take some: learn which, for this render.
        related = getattr(page, "related_posts", None)
        shown = None
        if isinstance(related, list) and type(related) is list and related:
            shown = _ShownList(related, reading.related)
            page.related_posts = shown
        try:
            original(self, page)
            if finished is not None:
                with lock:
                    finished.add(id(page))
        finally:
            if shown is not None:
                page.related_posts = related
            _READING.reset(token)
            found = RenderReads(
                frozenset(reading.names),
                frozenset(reading.files),
                frozenset(reading.collections),
                frozenset(reading.related),
            )
            with lock:
                reads[Path(page.source_path)] = found

    def record_template_include(name: str) -> None:
        original_include(name)
        reading = _READING.get()
        if reading is not None:
            reading.names.add(str(name))

    def record_extra_dependency(dependency: Any) -> None:
        original_dependency(dependency)
        reading = _READING.get()
        if reading is not None and isinstance(dependency, (str, Path)):
            reading.files.add(Path(dependency))

    def site_getattr(self: Any, name: str) -> Any:
        if name in SITE_COLLECTIONS:
            reading = _READING.get()
            if reading is not None:
                reading.collections.add(name)
        return original_getattr(self, name)

    def accumulate(self: Any, *args: Any, **kwargs: Any) -> Any:
        token = _ACCUMULATING.set(True)
        try:
            return original_accumulate(self, *args, **kwargs)
        finally:
            _ACCUMULATING.reset(token)

    pipeline.process_page = process_page
    render_integration.record_template_include = record_template_include
    render_integration.record_extra_dependency = record_extra_dependency
    site_context.__getattr__ = site_getattr
    accumulator.accumulate_unified_page_data = accumulate
    try:
        yield
    finally:
        pipeline.process_page = original
        render_integration.record_template_include = original_include
        render_integration.record_extra_dependency = original_dependency
        site_context.__getattr__ = original_getattr
        accumulator.accumulate_unified_page_data = original_accumulate


#: Where Bengal evaluates ``{{ ... }}`` in a page's Markdown while parsing it (0.5.1).
SUBSTITUTION_MODULE: Final = "bengal.rendering.plugins.variable_substitution"
SUBSTITUTION_EVAL: Final = "_eval_expression"  # VariableSubstitutionPlugin's, per expression
#: The parse caches a build serves unchanged pages from: the parsing phase's snapshot
#: cache, and the render pipeline's parsed and rendered output caches.
SNAPSHOT_MODULE: Final = "bengal.snapshots.persistence"
CACHE_CHECKER_MODULE: Final = "bengal.rendering.pipeline.cache_checker"
#: What ``site.<name>`` in a page's Markdown may read without reading other pages.
_SITE_STATIC: Final = frozenset(
    {"config", "baseurl", "title", "description", "params", "data", "author", "language"}
)
#: What ``page.<name>`` reads of other pages (its neighbours, section, children, related).
_PAGE_RELATIONS: Final = frozenset(
    {
        *("parent", "section", "ancestors", "children", "subsections", "pages"),
        *("next", "prev", "next_in_section", "prev_in_section", "related_posts", "site"),
    }
)


def reads_other_pages(expression: str) -> bool:
    """Whether a ``{{ ... }}`` expression in a page's Markdown may show other pages.

    ``site.pages`` (Bengal's own documentation prints it), ``site.sections``,
    a page's neighbours or section: yes.  The page's own fields and the
    configuration: no.  Anything not understood: yes.
    """
    parts = [part.strip() for part in expression.strip().split(".")]
    if not parts or not parts[0]:
        return True
    head = parts[0]
    if head == "config":
        return False
    if head == "site":
        return len(parts) < 2 or parts[1] not in _SITE_STATIC
    if head == "page":
        return len(parts) >= 2 and parts[1] in _PAGE_RELATIONS
    return True


@contextlib.contextmanager
def content_reads(readers: set[str], reparse: frozenset[str] | None) -> Iterator[None]:
    """Within the block, learn which pages' Markdown shows other pages; parse those afresh.

    Bengal substitutes ``{{ ... }}`` in Markdown when it parses a page, and
    keeps the result in its parse caches: a page whose text prints
    ``site.pages`` shows every page, yet its cached HTML holds the list of the
    build that parsed it.  The source path of each page whose parse evaluated
    an expression that may show other pages (:func:`reads_other_pages`) is
    added to *readers*; the pages in *reparse* (every page if ``None``, when
    the readers are not known yet) are kept out of Bengal's parse caches, so
    they are parsed, and their reads seen, in every build, as in a full build
    into an empty directory.
    """
    import importlib

    plugin = importlib.import_module(SUBSTITUTION_MODULE).VariableSubstitutionPlugin
    original_eval = getattr(plugin, SUBSTITUTION_EVAL)
    snapshots: ModuleType = importlib.import_module(SNAPSHOT_MODULE)
    original_apply = snapshots.apply_cached_parsing
    checker = importlib.import_module(CACHE_CHECKER_MODULE).CacheChecker
    original_parsed = checker.try_parsed_cache
    original_rendered = checker.try_rendered_cache
    lock = threading.Lock()

    def fresh(page: Any) -> bool:
        return reparse is None or str(getattr(page, "source_path", "")) in reparse

    def eval_expression(self: Any, expression: str) -> Any:
        if isinstance(expression, str) and reads_other_pages(expression):
            page = self.context.get("page") if isinstance(self.context, Mapping) else None
            source = getattr(page, "source_path", None)
            if source is not None:
                with lock:
                    readers.add(str(source))
        return original_eval(self, expression)

    def apply_cached_parsing(pages: Any, cache: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(cache, Mapping):
            if reparse is None:
                cache = {}
            else:
                cache = {key: value for key, value in cache.items() if key not in reparse}
        return original_apply(pages, cache, *args, **kwargs)

    def try_parsed_cache(self: Any, page: Any, *args: Any, **kwargs: Any) -> bool:
        return False if fresh(page) else bool(original_parsed(self, page, *args, **kwargs))

    def try_rendered_cache(self: Any, page: Any, *args: Any, **kwargs: Any) -> bool:
        return False if fresh(page) else bool(original_rendered(self, page, *args, **kwargs))

    setattr(plugin, SUBSTITUTION_EVAL, eval_expression)
    snapshots.apply_cached_parsing = apply_cached_parsing  # type: ignore[attr-defined]
    checker.try_parsed_cache = try_parsed_cache
    checker.try_rendered_cache = try_rendered_cache
    try:
        yield
    finally:
        setattr(plugin, SUBSTITUTION_EVAL, original_eval)
        snapshots.apply_cached_parsing = original_apply  # type: ignore[attr-defined]
        checker.try_parsed_cache = original_parsed
        checker.try_rendered_cache = original_rendered


#: ``[[target]]`` or ``[[target|text]]``: Bengal's cross-reference, shown with the target's title.
_XREF = re.compile(r"\[\[(?!#|!|ext:)([^\]|#]+?)(?:#[^\]|]*)?(?:\|[^\]]*)?\]\]")


def link_targets(page: Any, xref_index: Mapping[str, Any]) -> list[Path]:
    """The source pages *page*'s ``[[...]]`` cross-references resolve to (by path or id)."""
    try:
        text = Path(page.source_path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    by_path = xref_index.get("by_path") or {}
    by_id = xref_index.get("by_id") or {}
    found: list[Path] = []
    for match in _XREF.finditer(text):
        target = match.group(1).strip()
        if target.startswith("id:"):
            page_found = by_id.get(target[3:].strip())
        else:
            key = target.strip("/").removesuffix(".md")
            page_found = by_path.get(key)
        source = getattr(page_found, "source_path", None)
        if source is not None:
            found.append(Path(source))
    return found


#: Bengal's audit of the local CSS/JS references in the output's HTML (a diagnostic: it
#: warns, or fails a strict build; it writes nothing).
AUDIT_MODULE: Final = "bengal.rendering.asset_audit"
AUDIT_FUNCTION: Final = "find_missing_local_asset_references"


@contextlib.contextmanager
def audit_written_html(since_ns: int) -> Iterator[None]:
    """Within the block, Bengal's asset audit reads only the HTML written since *since_ns*.

    A full build audits every HTML file in the output (reading each: about
    0.6-0.9 s at 1,000 pages here).  The hand-off leaves the files it does not
    write as they were, audited when they were written; references from them to
    an asset that has gone cannot appear without a full plan (assets are global
    inputs).  So the audit is handed the files this build wrote (modified at or
    after *since_ns*: rendered pages, special pages, redirects).  Warnings only
    change: Bengal reports missing references of the files it wrote.
    """
    import importlib

    module: ModuleType = importlib.import_module(AUDIT_MODULE)
    original = getattr(module, AUDIT_FUNCTION)

    def find_missing(output_dir: Path, *args: Any, **kwargs: Any) -> Any:
        given = kwargs.get("html_paths", args[1] if len(args) > 1 else None)
        if given is None:
            written = [
                path for path in Path(output_dir).rglob("*.html") if _modified_ns(path) >= since_ns
            ]
            if len(args) > 1:
                args = (args[0], written, *args[2:])
            else:
                kwargs["html_paths"] = written
        return original(output_dir, *args, **kwargs)

    setattr(module, AUDIT_FUNCTION, find_missing)
    try:
        yield
    finally:
        setattr(module, AUDIT_FUNCTION, original)


def _modified_ns(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


#: Bengal's force-directed layout of the site graph: a pure function of the graph, whose
#: cost grows with the square of the page count (most of a hand-off at 1,000 pages).
LAYOUT_MODULE: Final = "bengal.analysis.graph.layout"
LAYOUT_FUNCTION: Final = "compute_force_layout"


class _Layout(msgspec.Struct, frozen=True):
    """The last graph layout: the digest of its input and the positions."""

    key: str
    positions: dict[str, tuple[float, float]]


@contextlib.contextmanager
def memoized_layout(path: Path) -> Iterator[None]:
    """Within the block, Bengal's graph layout is reused when the graph is the same.

    ``compute_force_layout(node_ids, edges, seed=, iterations=)`` is
    deterministic (seeded, sorted input); its result for the last graph is
    kept at *path* and returned again for an identical input, so a hand-off
    that changed no page or link of the graph skips the layout.  Positions
    are stored as JSON floats, which read back to the same values.
    """
    import hashlib
    import importlib

    module: ModuleType = importlib.import_module(LAYOUT_MODULE)
    original = getattr(module, LAYOUT_FUNCTION)

    def compute_force_layout(
        node_ids: Any, edges: Any, *args: Any, **kwargs: Any
    ) -> dict[str, tuple[float, float]]:
        given = [sorted(set(map(str, node_ids))), sorted([str(s), str(t)] for s, t in edges)]
        text = json.dumps([given, list(args), sorted(kwargs.items())], default=repr)
        key = hashlib.sha256(text.encode("utf-8")).hexdigest()
        try:
            cached = msgspec.json.decode(path.read_bytes(), type=_Layout)
        except (OSError, msgspec.DecodeError, msgspec.ValidationError):
            cached = None
        if cached is not None and cached.key == key:
            return dict(cached.positions)
        positions: dict[str, tuple[float, float]] = original(node_ids, edges, *args, **kwargs)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            scratch = path.with_name(path.name + ".tmp")
            scratch.write_bytes(msgspec.json.encode(_Layout(key, dict(positions))))
            os.replace(scratch, path)
        except OSError:
            pass  # a cache only
        return positions

    setattr(module, LAYOUT_FUNCTION, compute_force_layout)
    try:
        yield
    finally:
        setattr(module, LAYOUT_FUNCTION, original)


#: Bengal's post-processing of output formats, which picks the pages whose companion
#: formats (``index.json``, ``index.txt``, ``index.md``) it writes.
FORMATS_MODULE: Final = "bengal.postprocess.output_formats"
FORMATS_METHOD: Final = "_per_page_target_pages"


def graph_key(graph: Any) -> str:
    """A digest of Bengal's graph data (``none`` without one)."""
    import hashlib

    if graph is None:
        return "none"
    text = json.dumps(graph, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@contextlib.contextmanager
def narrowed_formats(
    rendered: list[Any], path: Path, keys: list[str], *, narrow: bool = True
) -> Iterator[None]:
    """Within the block, Bengal writes the companion formats of rendered pages only, if it may.

    A page's ``index.json`` carries, besides its own data and its navigation
    (planned with its HTML), its connections in the site graph: titles and
    links of other pages.  So the formats of the pages not rendered are left as
    they are only when the graph is the one the last committed build wrote them
    with: its digest is kept at *path*, removed here (a build that is not
    committed leaves none, so the next one writes every page's formats) and
    appended to *keys* for the caller to store on commit.  Pages whose format
    file is missing get it written.  Without *narrow* (a full plan) every page's
    formats are written and the digest is still taken.

    Bengal's cache save then stores the accumulated data (its page artifacts,
    for its own incremental builds) of the rendered pages only, when every
    format was narrowed: the others' data is what the last build stored.
    """
    import importlib

    try:
        previous: str | None = path.read_text(encoding="utf-8").strip() or None
    except OSError:
        previous = None
    path.unlink(missing_ok=True)
    module: ModuleType = importlib.import_module(FORMATS_MODULE)
    generator = module.OutputFormatsGenerator
    original = getattr(generator, FORMATS_METHOD)
    output_path = getattr(module, "_per_page_output_path", None)
    cache_module: ModuleType = importlib.import_module(CACHE_MANAGER_MODULE)
    manager = cache_module.CacheManager
    original_store = getattr(manager, CACHE_MANAGER_METHOD)
    decided: list[bool] = []
    lock = threading.Lock()

    def targets(self: Any, pages: list[Any], output_format: str) -> list[Any]:
        chosen: list[Any] = original(self, pages, output_format)
        try:
            graph = self._get_graph_data_if_needed(chosen)
        except AttributeError:
            return chosen
        key = graph_key(graph)
        with lock:
            keys.append(key)
        narrowed = narrow and previous is not None and key == previous and output_path is not None
        with lock:
            decided.append(narrowed)
        if not narrowed or output_path is None:
            return chosen
        done = {id(page) for page in rendered}
        written = [
            p for p in chosen if id(p) in done or not _written(output_path(p, output_format))
        ]
        if output_format == "json":
            _skip_deferred(getattr(self, "build_context", None), written)
        return written

    def store_page_artifacts(self: Any, build_context: Any) -> Any:
        if build_context is None or not decided or not all(decided):
            return original_store(self, build_context)
        sources = {str(page.source_path) for page in rendered}
        return original_store(self, _RenderedData(build_context, sources))

    setattr(generator, FORMATS_METHOD, targets)
    setattr(manager, CACHE_MANAGER_METHOD, store_page_artifacts)
    try:
        yield
    finally:
        setattr(generator, FORMATS_METHOD, original)
        setattr(manager, CACHE_MANAGER_METHOD, original_store)


#: Bengal's cache manager, whose save stores every page's accumulated data.
CACHE_MANAGER_MODULE: Final = "bengal.orchestration.incremental.cache_manager"
CACHE_MANAGER_METHOD: Final = "_store_page_artifacts"


class _RenderedData:
    """A build context whose accumulated page data is that of the rendered pages only."""

    def __init__(self, context: Any, sources: set[str]) -> None:
        self._context = context
        self._sources = sources

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)

    def get_accumulated_page_data(self) -> list[Any]:
        return [
            data
            for data in self._context.get_accumulated_page_data()
            if str(getattr(data, "source_path", "")) in self._sources
        ]


def _written(path: Any) -> bool:
    return path is None or Path(path).is_file()


#: Bengal's inventory of the output's generated files, made for its health checks only.
INVENTORY_MODULE: Final = "bengal.orchestration.build.artifact_inventory"
INVENTORY_FUNCTION: Final = "populate_artifact_inventory"


@contextlib.contextmanager
def inventory_for_health_checks(enabled: bool) -> Iterator[None]:
    """Within the block, Bengal takes its artifact inventory only if health checks run.

    The inventory (every page's output and formats, looked up on disk: about
    4,500 files at 1,000 pages) feeds the link registry of the health checks
    and nothing else; with them disabled (*enabled* false) it is skipped.
    """
    import importlib

    module: ModuleType = importlib.import_module(INVENTORY_MODULE)
    original = getattr(module, INVENTORY_FUNCTION)

    def populate(site: Any, build_context: Any) -> None:
        if enabled:
            original(site, build_context)

    setattr(module, INVENTORY_FUNCTION, populate)
    try:
        yield
    finally:
        setattr(module, INVENTORY_FUNCTION, original)


#: Bengal's discovery phase of a build: content (pages, sections, cascades, output paths,
#: cross-reference index) and assets, run on the build's site.
DISCOVERY_MODULE: Final = "bengal.orchestration.build.initialization"
DISCOVERY_FUNCTION: Final = "run_discovery_phase"
#: Timestamps this close to (or after) a snapshot cannot show a rewrite in the same tick:
#: such files are compared by content (git's "racy" rule, incrbuild's detector's window).
RACY_WINDOW_NS: Final = 2_000_000_000

Stamp = tuple[int, int, int, int]


@final
@attrs.frozen
class ProjectSnapshot:
    """Files of a project as they were at ``taken_ns``: stat stamps, racy files' digests.

    The files directly in ``root`` (configuration files, ``collections.py``) and
    every file below ``directories`` (the content, ``config/``...).  Taken before
    Bengal's discovery reads the project: if a later look finds nothing different
    (same files, same ``(mtime, ctime, size, inode)``, and the files whose
    timestamps were within :data:`RACY_WINDOW_NS` of the snapshot have the same
    content), no file was rewritten in between, so what discovery read is what is
    on disk at that later look.
    """

    root: Path
    directories: tuple[Path, ...]
    stamps: Mapping[str, Stamp]
    racy: Mapping[str, str]
    taken_ns: int

    @classmethod
    def take(cls, root: Path, directories: tuple[Path, ...] = ()) -> ProjectSnapshot:
        """Snapshot the files in *root* and below *directories*, hidden entries left out."""
        import time

        taken = time.time_ns()
        stamps: dict[str, Stamp] = {}
        _stamp_directory(root, stamps, recursive=False)
        for directory in directories:
            _stamp_directory(directory, stamps, recursive=True)
        floor = taken - RACY_WINDOW_NS
        racy = {
            name: _digest(name)
            for name, (mtime, ctime, _size, _inode) in stamps.items()
            if max(mtime, ctime) >= floor
        }
        return cls(root, tuple(directories), stamps, racy, taken)

    def unchanged(self) -> bool:
        """Whether no file was added, removed or rewritten since this snapshot.

        The racy files' content is read again and compared with the digests taken then.
        """
        now = ProjectSnapshot.take(self.root, self.directories)
        if now.stamps != self.stamps:
            return False
        return all(
            now.racy.get(name, _digest(name)) == digest for name, digest in self.racy.items()
        )


def _stamp_directory(top: Path, stamps: dict[str, Stamp], *, recursive: bool) -> None:
    stack = [top]
    seen: set[tuple[int, int]] = set()  # directories (device, inode): symlinks may loop
    while stack:
        directory = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            stamps[str(directory)] = (-1, -1, -1, -1)  # missing (or unreadable): as such
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir():
                if recursive:
                    with contextlib.suppress(OSError):
                        info = entry.stat()
                        if (info.st_dev, info.st_ino) not in seen:
                            seen.add((info.st_dev, info.st_ino))
                            stack.append(Path(entry.path))
                continue
            try:
                info = entry.stat()
            except OSError:
                continue
            stamps[entry.path] = (info.st_mtime_ns, info.st_ctime_ns, info.st_size, info.st_ino)


def _digest(name: str) -> str:
    import hashlib

    try:
        return hashlib.sha256(Path(name).read_bytes()).hexdigest()
    except OSError:
        return ""


@contextlib.contextmanager
def reused_discovery(site: Any, active: bool = True) -> Iterator[list[bool]]:
    """Within the block, Bengal's build of *site* keeps the content *site* already discovered.

    *site* is the plan's Bengal ``Site``, discovered (``Site.discover_content``)
    outside a build: the build's discovery phase then discovers only assets and
    hands on the pages and sections as they are.  What content discovery puts on
    the build's state when it runs inside a build (CSS features detected, the
    cascade snapshot, the timing breakdown) is copied there from the site.  The
    yielded list holds ``True`` once the reuse happened.  Falls back to Bengal's
    own discovery for any other site, an incremental build, or an active plugin
    registry (a ``pre_discovery`` hook may change what discovery finds).
    """
    import importlib
    import time

    module: ModuleType = importlib.import_module(DISCOVERY_MODULE)
    original = getattr(module, DISCOVERY_FUNCTION)
    reused: list[bool] = []

    def run_discovery_phase(phase_input: Any) -> Any:
        from bengal.plugins import get_active_registry

        if (
            not active
            or reused
            or phase_input.site is not site
            or phase_input.incremental
            or get_active_registry() is not None
        ):
            return original(phase_input)
        from bengal.orchestration.build.results import DiscoveryPhaseOutput
        from bengal.orchestration.content import ContentOrchestrator

        reused.append(True)
        state = getattr(site, "build_state", None)
        if state is not None:
            state.features_detected.update(site.features_detected)
            # Bengal's Site keeps these where its discovery puts them outside a build.
            state.cascade_snapshot = getattr(site, "_cascade_snapshot", None)
            state.discovery_timing_ms = getattr(site, "_discovery_breakdown_ms", None)
        content = phase_input.content_orchestrator or ContentOrchestrator(site)
        started = time.time()
        content.discover_assets()
        return DiscoveryPhaseOutput(
            pages=site.pages,
            sections=site.sections,
            assets=site.assets,
            content_ms=0.0,
            assets_ms=(time.time() - started) * 1000,
        )

    setattr(module, DISCOVERY_FUNCTION, run_discovery_phase)
    try:
        yield reused
    finally:
        setattr(module, DISCOVERY_FUNCTION, original)


#: Bengal's graph data (nodes with their laid-out positions, edges, stats), made from the
#: knowledge graph by each of post-processing's users: the graph page (twice: its HTML
#: shows the stats, ``graph.json`` is the data) and the companion formats.
VISUALIZER_MODULE: Final = "bengal.analysis.graph.visualizer"
VISUALIZER_CLASS: Final = "GraphVisualizer"
VISUALIZER_METHOD: Final = "generate_graph_data"


@contextlib.contextmanager
def shared_graph_data() -> Iterator[None]:
    """Within the block, Bengal makes the graph data of one knowledge graph once.

    ``GraphVisualizer(site, graph).generate_graph_data()`` reads the graph
    (built once per build and shared through the build context), the pages'
    own attributes and the layout (seeded: :func:`memoized_layout`); nothing
    changes them while post-processing writes its outputs.  So the first call
    for a graph computes it, and every later call for the same graph and site
    gets a deep copy (callers may not share a mutable result).  Threads asking
    at once wait for the first.
    """
    import copy
    import importlib

    module: ModuleType = importlib.import_module(VISUALIZER_MODULE)
    visualizer = getattr(module, VISUALIZER_CLASS)
    original = getattr(visualizer, VISUALIZER_METHOD)
    made: dict[tuple[int, int], tuple[Any, Any, Any]] = {}
    locks: dict[tuple[int, int], threading.Lock] = {}
    guard = threading.Lock()

    def generate_graph_data(self: Any) -> Any:
        graph, site = getattr(self, "graph", None), getattr(self, "site", None)
        if graph is None or site is None:
            return original(self)
        key = (id(graph), id(site))
        with guard:
            lock = locks.setdefault(key, threading.Lock())
        with lock:
            found = made.get(key)
            if found is not None and found[0] is graph and found[1] is site:
                return copy.deepcopy(found[2])
            data = original(self)
            # The graph and site are kept with the data, so their ids stay theirs.
            made[key] = (graph, site, copy.deepcopy(data))
            return data

    setattr(visualizer, VISUALIZER_METHOD, generate_graph_data)
    try:
        yield
    finally:
        setattr(visualizer, VISUALIZER_METHOD, original)


#: The front matter parser Bengal's content discovery calls (``ContentParser.parse_file``,
#: as ``patitas.parse_frontmatter``): YAML, parsed in pure Python.
FRONTMATTER_MODULE: Final = "patitas"
FRONTMATTER_FUNCTION: Final = "parse_frontmatter"

Frontmatter = dict[str, tuple[Any, str]]


@contextlib.contextmanager
def memoized_frontmatter(memo: Frontmatter) -> Iterator[Frontmatter]:
    """Within the block, a file text parsed before (in *memo*) is not parsed again.

    ``parse_frontmatter(text)`` is a pure function of the text (YAML's safe
    loader, then numeric fields normalised) and costs about 0.4 ms a page: most of
    a discovery of the site (0.4 s of about 1 s at 1,000 pages), which every plan
    makes.  *memo* maps each text parsed before to its metadata and body; a text
    found there gets a deep copy of its metadata (Bengal's pages may change
    theirs) and the same body.  The yielded dict holds what this block parsed or
    found, to be the next block's *memo* (so it holds only the current files).
    """
    import copy
    import importlib

    module: ModuleType = importlib.import_module(FRONTMATTER_MODULE)
    original = getattr(module, FRONTMATTER_FUNCTION)
    used: Frontmatter = {}

    def parse_frontmatter(content: Any, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs or not isinstance(content, str):
            return original(content, *args, **kwargs)
        found = memo.get(content) or used.get(content)
        if found is None:
            metadata, body = original(content)
            found = (copy.deepcopy(metadata), body)
        used[content] = found
        return copy.deepcopy(found[0]), found[1]

    setattr(module, FRONTMATTER_FUNCTION, parse_frontmatter)
    try:
        yield used
    finally:
        setattr(module, FRONTMATTER_FUNCTION, original)


#: Bengal's query indexes (``site.indexes``: by section, author, category, date...), which a
#: full build makes from scratch (``QueryIndexRegistry.build_all``), and their entries.
QUERY_INDEX_MODULE: Final = "bengal.cache.query_index"
QUERY_REGISTRY_MODULE: Final = "bengal.cache.query_index_registry"
ENTRY_HASH: Final = "_compute_hash"  # IndexEntry's digest of its pages (sorted, as JSON)


@contextlib.contextmanager
def deferred_index_hashes() -> Iterator[None]:
    """Within the block, a full build's query indexes digest each entry once, when saved.

    ``build_all`` adds the site's pages to each index one at a time, and every
    add recomputes the entry's ``content_hash`` (its pages, sorted, as JSON,
    hashed): quadratic in an entry's size (an author with 300 posts), 0.3 s of a
    1,000-page hand-off.  Nothing reads the digest while the indexes are made;
    ``save_to_disk`` writes it.  So while ``build_all`` runs, an add leaves the
    digest empty, and each entry's digest is computed from its final pages
    before the index is saved: what every add's recomputation left last.
    """
    import importlib

    entry = importlib.import_module(QUERY_INDEX_MODULE).IndexEntry
    index = importlib.import_module(QUERY_INDEX_MODULE).QueryIndex
    registry = importlib.import_module(QUERY_REGISTRY_MODULE).QueryIndexRegistry
    original_hash = getattr(entry, ENTRY_HASH)
    original_save = index.save_to_disk
    original_build = registry.build_all
    building: list[bool] = []

    def compute_hash(self: Any) -> str:
        return "" if building else str(original_hash(self))

    def save_to_disk(self: Any, *args: Any, **kwargs: Any) -> Any:
        if building:
            for found in list(self.entries.values()):
                found.content_hash = original_hash(found)
        return original_save(self, *args, **kwargs)

    def build_all(self: Any, *args: Any, **kwargs: Any) -> Any:
        building.append(True)
        try:
            return original_build(self, *args, **kwargs)
        finally:
            building.pop()

    setattr(entry, ENTRY_HASH, compute_hash)
    index.save_to_disk = save_to_disk
    registry.build_all = build_all
    try:
        yield
    finally:
        setattr(entry, ENTRY_HASH, original_hash)
        index.save_to_disk = original_save
        registry.build_all = original_build
