"""The ``incrbuild`` MkDocs plugin: ``--dirty`` builds that equal a clean build.

How one warm (dirty) build goes, event by event (all handlers run after other
plugins' except where noted):

``on_config``
    digest every configuration key; start recording ``pymdownx.snippets`` lookups
    and the files pages open while they are converted and rendered.
``on_files``
    a site directory MkDocs left non-empty means a dirty build; record link lookups.
``on_nav``
    the engine plans: the change detector finds what changed in ``docs_dir`` and in
    every recorded input outside it (templates, snippets); the plugin converts the
    Markdown of the planned pages (changed pages, users of changed inputs, pages the
    detector cannot see) so their new titles are known; :class:`~._rules.NavigationRule` and
    :class:`~._rules.ConfigRule` add every page when the nav as shown or a
    template-visible setting changed.  Pages left out get the title the last build
    gave them (MkDocs would leave ``None``), and each File's ``is_modified`` answers
    from the plan instead of from mtimes.
``on_env``
    switch ``is_modified`` to the render decision; record the templates each page loads.
``on_page_context`` / ``on_post_page``
    collect the search entries and recorded inputs of each rendered page.
``on_post_build`` (before ``search`` writes its index)
    put the remembered search entries of skipped pages back in build order, delete
    outputs no file produces any more, commit the engine's state and the memory.

Anything the plugin cannot vouch for (another MkDocs release, a plugin or hook it
does not know that takes part in building pages, no usable memory) makes it clean
the site directory and let MkDocs build everything: never a stale page.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final, final

import mkdocs
from mkdocs.config import config_options as c
from mkdocs.config.base import Config
from mkdocs.plugins import BasePlugin, event_priority

from incrbuild import ChangeSet, Engine, LoadResult, Plan, PlanBuilder, Reason, RuleContext
from incrbuild.adapters.mkdocs._config import ConfigImpact, config_digests, config_impact
from incrbuild.adapters.mkdocs._memory import BuildMemory, PageMemory, load_memory, save_memory
from incrbuild.adapters.mkdocs._reads import ReadRecorder
from incrbuild.adapters.mkdocs._renders import RenderCache, own_title
from incrbuild.adapters.mkdocs._rules import ConfigRule, NavigationRule, PageSink, nav_signature
from incrbuild.adapters.mkdocs._search import SearchList, find_search, is_known_search
from incrbuild.adapters.mkdocs._serve import make_rebuilds_incremental
from incrbuild.adapters.simple import SimplePage, SimpleSite

__all__ = ["SUPPORTED_MKDOCS", "IncrbuildPlugin", "IncrbuildPluginConfig", "MkDocsRules"]

log = logging.getLogger("mkdocs.plugins.incrbuild")

#: The MkDocs release line whose build loop this plugin is written against.
SUPPORTED_MKDOCS: Final = "1.6."
#: Plugin events that cannot change what is written for a page.
_HARMLESS_EVENTS: Final = frozenset(
    {"on_startup", "on_shutdown", "on_serve", "on_config", "on_build_error"}
)
_BUILD_EVENTS: Final = (
    "on_pre_build",
    "on_files",
    "on_nav",
    "on_env",
    "on_post_build",
    "on_pre_template",
    "on_template_context",
    "on_post_template",
    "on_pre_page",
    "on_page_read_source",
    "on_page_markdown",
    "on_page_content",
    "on_page_context",
    "on_post_page",
)


class IncrbuildPluginConfig(Config):  # type: ignore[no-untyped-call]
    """Options (none needed): where the state lives."""

    state_dir = c.Type(str, default=".incrbuild")
    """Relative to the directory of ``mkdocs.yml``."""


class IncrbuildPlugin(BasePlugin[IncrbuildPluginConfig]):  # type: ignore[no-untyped-call]
    """Makes ``mkdocs build --dirty`` and ``mkdocs serve --dirty`` rebuild what changed, exactly."""

    supports_multiple_instances = False

    def __init__(self) -> None:
        self._engine: Engine | None = None
        self._engine_key: tuple[Path, Path] | None = None
        self._loader: _PageLoader | None = None
        self._build: _Build | None = None
        self._startup_dirty = False
        self._serving = False

    # -- lifetime ----------------------------------------------------------------------

    def on_startup(self, *, command: str, dirty: bool) -> None:
        """Defined so that ``mkdocs serve`` keeps this instance (and its engine) across
        rebuilds; remembers whether ``--dirty`` was asked for."""
        self._startup_dirty = dirty
        # `serve` (not `serve --clean`, which starts as "build") also builds draft pages.
        self._serving = command == "serve"

    @event_priority(-100)
    def on_serve(self, server: Any, *, config: Any, builder: Any) -> Any:
        """Without ``--dirty``, make ``serve``'s rebuilds after the first build incremental."""
        if not self._startup_dirty:
            if make_rebuilds_incremental(server, builder):
                log.info("incrbuild: rebuilds after this one are incremental")
            else:
                log.info("incrbuild: mkdocs serve's builder is not the expected one; full rebuilds")
        return server

    def on_shutdown(self) -> None:
        """Forget the engine at the end of ``mkdocs serve``."""
        self._finish_build()
        self._engine = None

    @event_priority(-100)
    def on_config(self, config: Any) -> Any:
        """Start a build: digest the configuration, start recording snippet lookups."""
        self._finish_build()
        config_file = Path(config.config_file_path or "mkdocs.yml").resolve()
        docs_dir = Path(config.docs_dir).resolve()
        state_dir = config_file.parent / self.config.state_dir
        key = (docs_dir, state_dir.resolve())
        if self._engine is None or self._engine_key != key:
            self._loader = loader = _PageLoader()
            self._engine = Engine(
                loader=loader,
                content_dir=docs_dir,
                state_dir=state_dir,
                rules=[MkDocsRules(lambda: self._build)],
            )
            self._engine_key = key
        assert self._loader is not None
        build = _Build(self._engine, self._loader, config, config_file, docs_dir, state_dir)
        build.serving = self._serving
        build.digests = config_digests(config)
        build.unsupported = _unsupported_reason(config, self)
        self._build = build
        build.stack.enter_context(build.recorder.watching_snippets())
        build.stack.enter_context(
            build.recorder.watching_opens(ignore=(build.site_dir, build.state_dir))
        )
        return config

    @event_priority(-100)
    def on_files(self, files: Any, *, config: Any) -> Any:
        """Tell a dirty build from a clean one; record link lookups."""
        build = self._require()
        site_dir = Path(config.site_dir)
        build.dirty = site_dir.is_dir() and any(os.scandir(site_dir))
        build.files = files
        build.recorder.watch_files(files)
        return files

    @event_priority(-100)
    def on_nav(self, nav: Any, *, config: Any, files: Any) -> Any:
        """Plan the build and make MkDocs follow the plan."""
        build = self._require()
        build.nav = nav
        build.plan_build()
        return nav

    @event_priority(100)
    def on_pre_page(self, page: Any, *, config: Any, files: Any) -> Any:
        """Attribute the reads of the Markdown conversion that starts to *page*."""
        self._require().recorder.begin_conversion(page.file.src_uri)
        return page

    @event_priority(-100)
    def on_page_content(self, html: str, *, page: Any, config: Any, files: Any) -> str:
        """The Markdown conversion of *page* is over: what it read so far is its conversion's."""
        build = self._require()
        build.recorder.end_conversion()
        # What the conversion produced, before any renderer's on_page_context changes it
        # (Material's search strips its data-search-* attributes from page.content).
        build.contents[page.file.src_uri] = html
        return html

    @event_priority(-100)
    def on_env(self, env: Any, *, config: Any, files: Any) -> Any:
        """Switch to rendering: ``is_modified`` now answers "render this page?"."""
        build = self._require()
        build.phase = _Phase.RENDER
        build.recorder.watch_environment(env)
        build.search_mark = 0
        return env

    @event_priority(-100)
    def on_page_context(self, context: Any, *, page: Any, config: Any, nav: Any) -> Any:
        """Collect the search entries of *page*; attribute template loads to it."""
        build = self._require()
        build.recorder.begin_render(page.file.src_uri)
        template = page.meta.get("template", "main.html")
        build.recorder.add_template(template, build.recorder_search_path())
        search = build.search_list()
        if search is not None:
            entries = search.entries
            fresh = entries[build.search_mark :]
            build.search_entries[page.file.src_uri] = [dict(e) for e in fresh]
            build.search_mark = len(entries)
        return context

    @event_priority(-100)
    def on_post_page(self, output: str, *, page: Any, config: Any) -> str:
        """Record what *page* read, and remember its title."""
        build = self._require()
        build.recorder.end()
        build.rendered.append(page)
        return output

    @event_priority(100)
    def on_post_build(self, *, config: Any) -> None:
        """Restore skipped pages' search entries, delete stale outputs, commit."""
        build = self._require()
        try:
            build.finish()
        finally:
            self._finish_build()

    def on_build_error(self, *, error: Exception) -> None:
        """A failed build commits nothing: the next one plans from the last success."""
        self._finish_build()

    # -- helpers -----------------------------------------------------------------------

    def _require(self) -> _Build:
        if self._build is None:
            raise RuntimeError("incrbuild: a build event came before on_config")
        return self._build

    def _finish_build(self) -> None:
        if self._build is not None:
            self._build.stack.close()
            self._build = None


class _Phase:
    POPULATE = "populate"
    RENDER = "render"


class _Build:
    """Everything one MkDocs build needs from the plugin."""

    def __init__(
        self,
        engine: Engine,
        loader: _PageLoader,
        config: Any,
        config_file: Path,
        docs_dir: Path,
        state_dir: Path,
    ) -> None:
        self.engine = engine
        self.loader = loader
        self.config = config
        self.config_file = config_file
        self.docs_dir = docs_dir
        self.state_dir = state_dir
        self.site_dir = Path(config.site_dir)
        self.stack = contextlib.ExitStack()
        self.recorder = ReadRecorder(docs_dir)
        self.digests: dict[str, str] = {}
        self.unsupported: str | None = None
        self.dirty = False
        self.files: Any = None
        self.nav: Any = None
        self.plan: Plan | None = None
        self.memory: BuildMemory | None = None
        self.phase = _Phase.POPULATE
        self.populate: set[str] = set()
        self.render: set[str] = set()
        self.copy: set[str] = set()
        self.populated: set[str] = set()
        self.restored: set[str] = set()
        self.renders = RenderCache(state_dir / "pages")
        self.full = True
        self.render_order: list[Any] = []
        self.rendered: list[Any] = []
        self.search_entries: dict[str, list[dict[str, Any]]] = {}
        self.contents: dict[str, str] = {}
        self.search_mark = 0
        self.reasons: Mapping[Path, tuple[Reason, ...]] = {}
        self.docs: Mapping[Path, Any] = {}
        self.impact = ConfigImpact.NONE
        self.impact_keys = ""
        self.incremental = False
        self.rules_ran = False
        self.serving = False

    # -- planning ----------------------------------------------------------------------

    def plan_build(self) -> None:
        files = self.files
        docs = {Path(f.abs_src_path): f for f in files.documentation_pages() if f.abs_src_path}
        for file in docs.values():
            if file.page is None:  # `not_in_nav` pages: MkDocs makes the same Page later
                from mkdocs.structure.pages import Page

                Page(None, file, self.config)
        loader = self.loader
        memory = load_memory(self.state_dir)
        if memory is not None and self.engine.last_commit_id != memory.engine_commit:
            memory = None
        fallback = self.unsupported
        if fallback is None and memory is None and self.dirty:
            fallback = "no memory of a previous build with incrbuild"
        if fallback is None and memory is not None and memory.mkdocs_version != mkdocs.__version__:
            fallback = f"MkDocs changed from {memory.mkdocs_version} to {mkdocs.__version__}"
        if fallback is None and memory is not None and self.dirty:
            fallback = _site_dir_doubt(memory, self.site_dir)
        if fallback is None and self.dirty and self.serving:
            drafts = [
                f.src_uri for f in files if f.inclusion.is_excluded() and f.inclusion.is_in_serve()
            ]
            if drafts:
                # serve renders them (outside the nav, with it) and indexes them; the plugin
                # plans included pages only.
                fallback = f"draft pages ({drafts[0]}, ...) are built by serve and not planned"
        impact, keys = config_impact(memory.config if memory else {}, self.digests)
        if fallback is None and memory is not None and impact is ConfigImpact.FULL:
            fallback = f"{self.config_file.name} changed ({keys})"
        incremental = self.dirty and fallback is None and self.unsupported is None
        loader.prepare(self, docs, memory)
        self.memory = memory
        self.docs = docs
        self.impact, self.impact_keys = impact, keys
        self.incremental = incremental
        self.plan = plan = self.engine.plan()  # runs MkDocsRules (below) unless nothing changed
        if not self.dirty:
            return  # a clean build: MkDocs builds everything; we only record
        if not incremental:
            assert fallback is not None
            log.warning(
                "incrbuild: %s; building everything (the site directory is cleaned first)",
                fallback,
            )
            _clean_directory(self.site_dir)
            self._mark_everything(files)
            return
        assert memory is not None
        planned: dict[Path, tuple[Reason, ...]] = dict(plan.reasons)
        if not self.rules_ran:
            # The engine skips rules when nothing in docs_dir changed, but mkdocs.yml
            # (which it does not track) may have: the same rules, run here.
            sink = _PageSink()
            self.apply_rules(sink, planned=frozenset(p for p in plan.pages if p in docs))
            planned.update(sink.pages)
        render = set(self.populated)
        render.update(docs[p].src_uri for p in planned if p in docs)
        for file in docs.values():
            if file.src_uri not in memory.pages or _output_changed(memory, file):
                render.add(file.src_uri)  # never built, or its output changed or went missing
        self.reasons = planned
        self.render = render
        # Pages rendered again only for what they show of others keep their conversion.
        cache = self.renders
        by_uri = {file.src_uri: file for file in docs.values()}
        self.restored = set()
        for uri in sorted(render - self.populated):
            inputs = cache.restore(by_uri[uri].page)
            if inputs is not None:
                self.restored.add(uri)
                self.recorder.conversions[uri] = set(inputs)
        self.populate = render - self.populated - self.restored
        changed_statics = {self.engine.key_for(p) for p in plan.changes.changed}
        self.copy = {
            f.src_uri
            for f in files
            if not f.is_documentation_page()
            and (
                f.abs_src_path is None
                or not _inside(Path(f.abs_src_path), self.docs_dir)
                or f.src_uri in changed_statics
                or not self.engine.tracks(self.docs_dir / f.src_uri)  # e.g. below a symlink
                or _output_changed(memory, f)
            )
        }
        self.full = False
        for file in docs.values():
            page = file.page
            if page is None:
                continue
            if file.src_uri not in render:
                remembered = memory.pages[file.src_uri]
                if "title" not in vars(page):
                    page.title = remembered.title
                if remembered.shown:
                    page.meta = dict(remembered.shown)  # what other pages' nav shows of it
            file.is_modified = _Decision(self, file, page=True)
        for file in files:
            if not file.is_documentation_page():
                file.is_modified = _Decision(self, file, page=False)
        log.info(
            "incrbuild: %d of %d pages to render (%d converted while planning); %s",
            len(render),
            len(docs),
            len(self.populated),
            _summary(plan.changes),
        )

    def apply_rules(self, out: PageSink, *, planned: frozenset[Path]) -> None:
        """Convert the *planned* pages, then add what the theme shows of them elsewhere."""
        memory = self.memory
        assert memory is not None
        self.rules_ran = True
        self._populate_planned(self.docs, planned)
        pages = tuple(sorted(self.docs))
        new_nav = nav_signature(self.nav, lambda page: self.shown_for(page, memory))
        NavigationRule(pages, memory.nav, new_nav).apply(None, out)
        keys = self.impact_keys if self.impact else ""
        ConfigRule(pages, self.config_file, keys).apply(None, out)

    def _populate_planned(self, docs: Mapping[Path, Any], planned: frozenset[Path]) -> None:
        """Convert the Markdown of every planned page now, with MkDocs's own population
        (plugin events, snippets, links), so rules see this build's titles.

        Planned: pages whose source changed and users of changed recorded inputs.  Pages
        the change detector does not track (below a symlinked directory, which it does
        not follow; unreadable last time) are converted every time.
        """
        from mkdocs.commands.build import _populate_page

        convert = {p for p in planned if p in docs}
        convert.update(p for p in docs if not self.engine.tracks(p))
        for path in sorted(convert):
            file = docs[path]
            _populate_page(file.page, self.config, self.files)
            self.populated.add(file.src_uri)

    def shown_for(self, page: Any, memory: BuildMemory | None) -> list[Any]:
        """What *page*'s nav entry shows in this build: its title and shown metadata."""
        uri = page.file.src_uri
        remembered = memory.pages.get(uri) if memory else None
        if uri in self.populated:
            return [page.title, shown_meta(page)]
        if remembered is None:
            return [page.title if "title" in vars(page) else None, None]
        title = page.title if "title" in vars(page) else remembered.title
        return [title, remembered.shown]

    def _mark_everything(self, files: Any) -> None:
        self.full = True
        for file in files:
            file.is_modified = _always_modified

    # -- during the build --------------------------------------------------------------

    def decide(self, file: Any, *, page: bool) -> bool:
        if not page:
            return file.src_uri in self.copy
        if self.phase == _Phase.POPULATE:
            return file.src_uri in self.populate
        self.render_order.append(file)
        return file.src_uri in self.render

    def search_list(self) -> SearchList | None:
        return find_search(self.config.plugins)

    def recorder_search_path(self) -> list[str]:
        return getattr(self.recorder, "search_path", []) or list(self.config.theme.dirs)

    # -- the end -----------------------------------------------------------------------

    def finish(self) -> None:
        plan = self.plan
        if plan is None:
            return
        memory = self.memory
        files = self.files
        docs = files.documentation_pages()
        pages: dict[str, PageMemory] = {}
        previous = memory.pages if memory is not None and not self.full else {}
        rendered = {page.file.src_uri: page for page in self.rendered}
        for file in docs:
            uri = file.src_uri
            page = rendered.get(uri)
            if page is not None:
                # The page's own title (not a nav: title): what its nav entry shows
                # when mkdocs.yml gives none.  A restored page's is unchanged.
                kept = previous.get(uri)
                title = kept.title if uri in self.restored and kept else own_title(page)
                shown = shown_meta(page)
                if shown is not None:  # else unknown next time: rendered, nav replanned
                    pages[uri] = PageMemory(title, self.search_entries.get(uri, []), shown)
                if uri not in self.restored:
                    # Before the commit that will trust it.
                    self.renders.store(
                        page, self.recorder.conversions.get(uri, ()), self.contents.get(uri)
                    )
            elif uri in previous:
                pages[uri] = previous[uri]
        search = self.search_list()
        if self.dirty and not self.full and search is not None:
            entries: list[dict[str, Any]] = []
            for file in self.render_order:
                uri = file.src_uri
                remembered = pages.get(uri)
                if remembered is not None:
                    entries.extend(dict(e) for e in remembered.search)
            search.replace(entries)
        if search is not None:
            search.complete()
        outputs = sorted(_outputs(files))
        stamps: dict[str, tuple[int, int, int]] = {}
        for uri in outputs:
            stamp = _stamp(self.site_dir.joinpath(*uri.split("/")))
            if stamp is not None:
                stamps[uri] = stamp
        site_path, site_identity = _site_identity(self.site_dir)
        if self.dirty and memory is not None:
            _delete_stale(self.site_dir, set(memory.outputs) - set(outputs))
        for page in self.rendered:
            path = Path(page.file.abs_src_path)
            self.engine.record_dependencies(path, self.recorder.reads.get(page.file.src_uri, ()))
        self.engine.commit(plan)
        save_memory(
            self.state_dir,
            BuildMemory(
                engine_commit=self.engine.last_commit_id,
                mkdocs_version=mkdocs.__version__,
                config=self.digests,
                nav=nav_signature(self.nav, lambda page: [page.title, shown_meta(page)]),
                pages=pages,
                outputs=outputs,
                site_dir=site_path,
                site_identity=site_identity,
                stamps=stamps,
            ),
        )


class _PageSink:
    """Collects what the rules plan when the engine did not run them."""

    def __init__(self) -> None:
        self.pages: dict[Path, tuple[Reason, ...]] = {}

    def page(self, path: Path, reason: Reason) -> None:
        self.pages[path] = (*self.pages.get(path, ()), reason)


@final
class MkDocsRules:
    """What the MkDocs theme shows of a page elsewhere, as one engine rule.

    Runs after the built-in rules, inside ``Engine.plan()``: converts the pages
    planned so far (changed sources, users of changed inputs) with MkDocs's own
    population, so their titles are this build's, then applies
    :class:`~._rules.NavigationRule` (nav, prev/next: every page) and
    :class:`~._rules.ConfigRule` (template-visible settings: every page).
    Between builds it is idle.
    """

    def __init__(self, current: Callable[[], _Build | None]) -> None:
        self._current = current

    def apply(self, context: RuleContext, out: PlanBuilder) -> None:
        """Add what the current build's nav and configuration changes reach."""
        build = self._current()
        if build is None or not build.incremental or build.memory is None:
            return
        planned = frozenset(out.pages) | frozenset(p for p, _ in context.changes.errors)
        build.apply_rules(out, planned=planned)


class _Decision:
    """A File's ``is_modified`` that answers from the plan."""

    __slots__ = ("build", "file", "page")

    def __init__(self, build: _Build, file: Any, *, page: bool) -> None:
        self.build = build
        self.file = file
        self.page = page

    def __call__(self) -> bool:
        return self.build.decide(self.file, page=self.page)


def _always_modified() -> bool:
    return True


class _PageLoader:
    """The engine's site loader for MkDocs: every documentation page with the title its
    nav entry shows (this build's if the page was converted, else the last build's).

    The engine may call it during ``plan()`` or, when nothing changed, only at commit;
    it reads nothing from disk either way.
    """

    def __init__(self) -> None:
        self.last_reads = 0
        self._build: _Build | None = None
        self._docs: Mapping[Path, Any] = {}
        self._memory: BuildMemory | None = None

    def prepare(self, build: _Build, docs: Mapping[Path, Any], memory: BuildMemory | None) -> None:
        self._build = build
        self._docs = docs
        self._memory = memory

    def load(
        self, changes: ChangeSet, known_metadata: Mapping[Path, Mapping[str, Any]]
    ) -> LoadResult:
        """The :class:`~incrbuild.SiteLoader` hook."""
        site = self(changes, known_metadata)
        return LoadResult(site, pages_read=self.last_reads)

    def __call__(
        self, changes: ChangeSet, known_metadata: Mapping[Path, Mapping[str, Any]]
    ) -> SimpleSite:
        build = self._build
        assert build is not None
        pages = []
        memory = self._memory.pages if self._memory is not None else {}
        for path, file in self._docs.items():
            if file.src_uri in build.populated or "title" in vars(file.page):
                title = file.page.title
            else:
                remembered = memory.get(file.src_uri)
                title = None if remembered is None else remembered.title
            pages.append(SimplePage(path, {} if title is None else {"title": title}))
        return SimpleSite(root_path=build.docs_dir, pages=pages, sections=[])


def _inside(path: Path, directory: Path) -> bool:
    return path == directory or directory in path.parents


def _summary(changes: ChangeSet) -> str:
    return (
        f"{len(changes.added)} added, {len(changes.modified)} modified, "
        f"{len(changes.removed)} removed"
    )


def _outputs(files: Any) -> Iterator[str]:
    """Site-relative paths the build writes for its files (pages and static files)."""
    for file in files:
        if file.inclusion.is_included():
            yield file.dest_uri


#: Page metadata a theme shows on other pages: Material's nav shows each page's
#: ``icon``, ``subtitle`` and ``status`` beside its title.
SHOWN_META_KEYS: Final = ("icon", "subtitle", "status")


def shown_meta(page: Any) -> dict[str, Any] | None:
    """The metadata of *page* other pages show; ``None`` if a value is not plain data
    (it could not be remembered faithfully)."""
    meta = page.meta if isinstance(page.meta, dict) else {}
    shown = {key: meta[key] for key in SHOWN_META_KEYS if key in meta}
    for value in shown.values():
        if value is not None and not isinstance(value, (str, int, float, bool)):
            return None
    return shown


def _site_identity(site_dir: Path) -> tuple[str, tuple[int, int] | None]:
    """The site directory's resolved path and ``(st_dev, st_ino)`` (``None`` if missing)."""
    try:
        status = os.stat(site_dir)
    except OSError:
        return str(site_dir.resolve()), None
    return str(site_dir.resolve()), (status.st_dev, status.st_ino)


def _site_dir_doubt(memory: BuildMemory, site_dir: Path) -> str | None:
    """Why the site directory may not hold what *memory* says the last build wrote."""
    path, identity = _site_identity(site_dir)
    if not memory.site_dir or memory.site_identity is None:
        return "the last build recorded no site directory"
    if memory.site_dir != path:
        return f"the site directory is {path}, the last build wrote {memory.site_dir}"
    if identity != memory.site_identity:
        return (
            f"the site directory {path} is not the directory the last build wrote "
            "(replaced, or put back from elsewhere)"
        )
    return None


def _stamp(path: Path) -> tuple[int, int, int] | None:
    """``(st_ino, st_size, st_mtime_ns)`` of a regular file, ``None`` for anything else."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(status.st_mode):
        return None
    return status.st_ino, status.st_size, status.st_mtime_ns


def _output_changed(memory: BuildMemory, file: Any) -> bool:
    """Whether *file*'s output is missing or not the one the last build left."""
    stamp = _stamp(Path(file.abs_dest_path))
    return stamp is None or memory.stamps.get(file.dest_uri) != stamp


def _delete_stale(site_dir: Path, stale: set[str]) -> None:
    """Delete outputs no current file produces, and directories they leave empty."""
    for uri in sorted(stale):
        target = site_dir.joinpath(*uri.split("/"))
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
            log.info("incrbuild: removed stale output %s", uri)
        parent = target.parent
        while parent != site_dir and _inside(parent, site_dir):
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent


def _clean_directory(directory: Path) -> None:
    from mkdocs import utils

    if directory.is_dir():
        utils.clean_directory(str(directory))


def _handles(plugin: Any, event: str) -> bool:
    """Whether *plugin* (a plugin object or a hooks module) has its own handler for *event*."""
    method = getattr(plugin, event, None)
    if not callable(method):
        return False
    if isinstance(plugin, BasePlugin):
        return getattr(type(plugin), event, None) is not getattr(BasePlugin, event, None)
    return True


def _unsupported_reason(config: Any, own: IncrbuildPlugin) -> str | None:
    """Why this build cannot be incremental, or ``None``: the MkDocs release, unknown plugins."""
    version = mkdocs.__version__
    if not version.startswith(SUPPORTED_MKDOCS):
        return f"MkDocs {version} is not supported (incrbuild knows the {SUPPORTED_MKDOCS}x line)"
    for name, plugin in config.plugins.items():
        if plugin is own or is_known_search(plugin):
            continue
        events = [e for e in _BUILD_EVENTS if _handles(plugin, e)]
        if events:
            return _takes_part(repr(name), events)
    # Handlers registered without being listed among the plugins (Material's `group`
    # plugin registers its members' event handlers directly).
    listed = list(config.plugins.values())
    registered = getattr(config.plugins, "events", {})
    unlisted: dict[str, list[str]] = {}
    for event in _BUILD_EVENTS:
        for method in registered.get(event.removeprefix("on_"), ()):
            owner = getattr(method, "__self__", None)
            if owner is own or any(owner is p or getattr(p, event, None) is method for p in listed):
                continue
            kind = type(owner) if owner is not None else None
            name = (
                f"{kind.__module__}.{kind.__qualname__}"
                if kind is not None
                else getattr(method, "__module__", repr(method))
            )
            unlisted.setdefault(name, []).append(event)
    for name, events in unlisted.items():
        return _takes_part(f"{name} (registered by another plugin)", events)
    return None


def _takes_part(name: str, events: list[str]) -> str:
    return (
        f"plugin {name} takes part in building pages ({', '.join(events)}), "
        "and incrbuild cannot tell what it reads or writes"
    )
