"""Driving Bengal: load a project, plan, build the plan (Bengal is imported when called)."""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any, Final, final

import attrs

from incrbuild import Engine, PlanBuilder, Reason, ReasonKind, RuleContext
from incrbuild.adapters.bengal._comparison import Comparison, compare
from incrbuild.adapters.bengal._handoff import (
    OutputManifest,
    ProjectSnapshot,
    RenderReads,
    RenderSelection,
    audit_written_html,
    content_reads,
    deferred_index_hashes,
    file_stamp,
    forget_formats,
    inventory_for_health_checks,
    link_targets,
    memoized_frontmatter,
    memoized_layout,
    narrowed_formats,
    narrowed_render,
    recording_reads,
    remove_outputs,
    reset_process_caches,
    reused_discovery,
    shared_graph_data,
)
from incrbuild.adapters.bengal._rules import TAG_INDEX, BengalPlan, BengalRules
from incrbuild.adapters.bengal._wrapping import BengalSite, is_virtual

__all__ = [
    "BENGAL_REQUIREMENT",
    "AggregatePages",
    "BengalBuild",
    "BengalProject",
    "GeneratedPageTemplates",
    "global_inputs",
    "load_site",
    "require_bengal",
    "shown_reads",
    "site_reads",
]

#: The Bengal release this adapter is verified against (what ``pip install`` should ask for).
BENGAL_REQUIREMENT: Final = "bengal==0.5.1"
#: Directories (besides the content) whose files Bengal's discovery of a site may read.
_DISCOVERY_DIRS: Final = ("config", "data", "i18n")
#: Discoveries a plan makes while files change under it before it gives up (see plan()).
_DISCOVERY_ATTEMPTS: Final = 3
#: Directories of a Bengal project whose files every page may read (config, templates, data...).
_GLOBAL_DIRS: Final = ("config", "templates", "layouts", "data", "assets", "static", "i18n")
_GLOBAL_FILES: Final = (
    "bengal.toml",
    "bengal.yaml",
    "bengal.yml",
    "config.toml",
    "config.yaml",
    "config.yml",
)


def require_bengal() -> ModuleType:
    """Import and return Bengal, or raise :class:`ImportError` saying how to install it."""
    try:
        module = importlib.import_module("bengal")
    except (ImportError, SyntaxError) as error:
        hint = f"pip install '{BENGAL_REQUIREMENT}'"
        if sys.version_info < (3, 14):
            hint = f"Bengal needs Python >= 3.14; under it: {hint}"
        raise ImportError(f"incrbuild.adapters.bengal needs Bengal ({hint})") from error
    return module


def load_site(project_root: Path | str) -> BengalSite:
    """Load the Bengal project at *project_root* and discover its content (no build)."""
    require_bengal()
    from bengal.core.site import Site

    site = Site.from_config(Path(project_root).resolve())
    site.discover_content()
    return BengalSite(site)


def global_inputs(project_root: Path | str, *, templates: bool = True) -> tuple[Path, ...]:
    """The files outside the content directory that every page may read.

    Configuration, templates, data, assets and static files: a change to any of
    them plans a full rebuild.  With *templates* false the project's
    ``templates/`` are left out (:class:`BengalProject` records which pages
    rendered with which template instead).
    """
    root = Path(project_root)
    found = [root / name for name in _GLOBAL_FILES if (root / name).is_file()]
    for name in _GLOBAL_DIRS:
        if name == "templates" and not templates:
            continue
        found.extend(_files_below(root / name))
    return tuple(found)


def template_inputs(project_root: Path | str) -> tuple[Path, ...]:
    """The project's ``templates/`` files, for the engine's ``inputs`` when they are not global.

    Each plan fingerprints them before the build reads them, so the first commit records
    them even when they were written just before the plan (a fresh clone or export): else
    their readers are rebuilt once more after the first build, or not, as the plan
    started more than the racy window (2 s) after they were written, or less.
    """
    return tuple(_files_below(Path(project_root) / "templates"))


def _files_below(directory: Path) -> list[Path]:
    found: list[Path] = []
    for where, subdirs, files in os.walk(directory):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        found.extend(Path(where, f) for f in sorted(files) if not f.startswith("."))
    return found


#: Every key: Bengal reports the site-wide collections a render asked for, not the fields
#: its templates then read of the members (on Bengal's own page objects).
_ANY_KEY: Final = "*"


def site_reads(found: RenderReads | None) -> dict[str, set[str]]:
    """The collections a source page's render read, as :meth:`Engine.record_reads` takes them.

    Every site-wide collection Bengal hands a template (all pages, regular or
    generated, its query indexes such as ``site.indexes.author``, taxonomies,
    authors) is made of, or derived from, the site's pages: the reader iterated
    ``"pages"``, and any key of any member may show (``"*"``).  Empty when the
    render asked for none (its earlier reads are then replaced by nothing).
    """
    if found is None or not found.collections:
        return {}
    return {"pages": {_ANY_KEY}}


def shown_reads(found: RenderReads | None, reader: Path) -> dict[Path, set[str]]:
    """The pages a source page's render showed as related posts, for :meth:`Engine.record_reads`.

    A card shows the page's title, date and excerpt (body): any key (``"*"``).
    """
    if found is None:
        return {}
    return {path: {_ANY_KEY} for path in found.shown_related if path != reader}


def _generated_aggregate(rendered: list[Any], reads: dict[Path, RenderReads]) -> bool:
    """Whether a generated page's render iterated a site-wide collection."""
    return any(
        is_virtual(page)
        and (found := reads.get(Path(page.source_path))) is not None
        and bool(found.collections)
        for page in rendered
    )


@final
@attrs.frozen
class AggregatePages:
    """A rule: generated pages whose render iterated the site's pages show every page.

    Source pages that iterated a site-wide collection (an authors page with post
    counts, an archive) are planned by the engine from their recorded reads
    (:func:`site_reads`).  Generated pages (tag pages, archives) have no stored
    facts in the engine, so whether one of them iterated the site's pages is kept
    in the hand-off's output manifest; then every term, listing and the all-tags
    page is planned whenever a page was added, removed or changed.  The
    manifest's ``aggregates`` are source pages recorded so by an earlier version
    of the adapter, before reads were recorded: planned the same way until
    they are rendered again.
    """

    manifest_path: Path

    def apply(self, context: RuleContext, out: PlanBuilder) -> None:
        """Plan the aggregate pages if any page changed."""
        if context.full or not context.page_changes:
            return
        manifest = OutputManifest.load(self.manifest_path)
        if manifest is None or not (manifest.aggregates or manifest.generated_aggregates):
            return
        source = context.page_changes[0].path
        reason = Reason(ReasonKind.SHOWS, source, "iterates the site's pages")
        pages = context.registry.page_by_path
        for path in sorted(manifest.aggregates):
            if Path(path) in pages:
                out.page(Path(path), reason)
        if manifest.generated_aggregates:
            for tag in context.registry.tags:
                out.term(tag, reason)
            for section in _all_sections(context.registry.sections):
                if section.path is not None:
                    out.section(section.path, reason)
            out.output(TAG_INDEX, reason)


def _current_links(site: Any, links: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """The recorded links of the pages *site* has now (gone pages' records dropped)."""
    current = {str(page.source_path) for page in site.pages}
    return {path: found for path, found in links.items() if path in current}


def _all_sections(top: Any) -> list[Any]:
    found: list[Any] = []
    stack = list(top)
    while stack:
        section = stack.pop()
        found.append(section)
        stack.extend(section.subsections)
    return found


@final
@attrs.frozen
class GeneratedPageTemplates:
    """A rule: a template that generated pages rendered with changed, so every one of them.

    Generated pages (tag pages, the all-tags page, archives) are Bengal's, not
    the engine's, so their templates are kept, stamped, in the hand-off's
    output manifest; when one changed, appeared or vanished, every term,
    listing and the all-tags page is planned.
    """

    manifest_path: Path
    enabled: bool = True

    def apply(self, context: RuleContext, out: PlanBuilder) -> None:
        """Plan every generated page if one of their templates changed since the last build."""
        if context.full or not self.enabled:
            return
        manifest = OutputManifest.load(self.manifest_path)
        hit = manifest.changed_templates() if manifest is not None else []
        if not hit:
            return
        reason = Reason(ReasonKind.DEPENDENCY, Path(hit[0]), "template of generated pages")
        registry = context.registry
        for tag in registry.tags:
            out.term(tag, reason)
        for section in _all_sections(registry.sections):
            if section.path is not None:
                out.section(section.path, reason)
        out.section(context.root, reason)
        out.output(TAG_INDEX, reason)


def _health_checks(site: Any) -> bool:
    """Whether Bengal's health checks run for *site* (its ``health_check`` setting)."""
    from bengal.config.defaults import get_feature_config

    enabled: Any = get_feature_config(site.config, "health_check").get("enabled", True)
    return bool(enabled)


@final
@attrs.frozen
class BengalBuild:
    """What :meth:`BengalProject.build` did.

    ``stats`` are Bengal's build stats; ``rendered`` the page outputs Bengal
    rendered (paths relative to the output directory; site-wide outputs such
    as the sitemap are regenerated on every build and not listed);
    ``removed`` the outputs deleted because their page is gone; ``errors``
    Bengal's template errors; ``unrendered`` the outputs of planned pages
    Bengal did not render (its render phase has a deadline, 300 s in 0.5.1, and
    skips what is left then without an error); the plan is committed only
    without either;
    ``build_ns`` the wall time of the whole build; ``discovery_reused`` whether
    Bengal kept the content its plan discovered instead of discovering it again.
    """

    stats: Any
    rendered: frozenset[str]
    removed: tuple[str, ...]
    errors: int
    build_ns: int
    discovery_reused: bool = False
    unrendered: tuple[str, ...] = ()


@final
class BengalProject:
    """A Bengal project directory with an incrbuild engine beside it.

    :meth:`plan` re-discovers the site with Bengal and decides what to
    rebuild; :meth:`build` hands Bengal the changed sources and commits the
    plan when the build succeeded; :meth:`explain` compares the plan with
    Bengal's own decision.  The engine's state lives in ``.incrbuild`` under
    the project directory unless *state_dir* says otherwise.
    """

    def __init__(
        self,
        project_root: Path | str,
        *,
        state_dir: Path | str | None = None,
        rules: BengalRules | None = None,
        track_templates: bool = True,
    ) -> None:
        self.root = Path(project_root).resolve()
        self.track_templates = track_templates
        # Front matter parsed by the last discovery, by file text (see _load_site).
        self._frontmatter: dict[str, tuple[Any, str]] = {}
        self.site = self._load_site()
        # The plan's discovery, with the project's files as they were just before it, until
        # a build uses it (see build: the build reuses it if no file changed since).
        self._discovered: tuple[BengalSite, ProjectSnapshot] | None = None
        self._site_built = False
        rules = rules if rules is not None else BengalRules()
        if rules.shown_related is None:
            rules = attrs.evolve(rules, shown_related=self._related_reads)
        if rules.configured_menu is None:
            rules = attrs.evolve(rules, configured_menu=self._configured_menu)
        self.rules = rules
        self.state_dir = Path(state_dir) if state_dir is not None else self.root / ".incrbuild"
        self.manifest_path = self.state_dir / "bengal-outputs.json"
        self.global_inputs = global_inputs(self.root, templates=not track_templates)
        self.inputs = template_inputs(self.root) if track_templates else ()
        self.engine = self._engine()

    def _engine(self) -> Engine:
        return Engine(
            self.site,
            content_dir=self.site.root_path,
            state_dir=self.state_dir,
            global_inputs=self.global_inputs,
            inputs=self.inputs,
            rules=[
                self.rules,
                GeneratedPageTemplates(self.manifest_path, self.track_templates),
                AggregatePages(self.manifest_path),
            ],
        )

    def _load_site(self) -> BengalSite:
        """Discover the site (:func:`load_site`), front matter of unchanged files not parsed again.

        Front matter is a pure function of a file's text (``memoized_frontmatter``):
        a file whose text the last discovery parsed gets that parse (a copy).
        """
        require_bengal()
        with memoized_frontmatter(self._frontmatter) as used:
            site = load_site(self.root)
        self._frontmatter = used
        return site

    def _configured_menu(self) -> bool:
        """Whether the configuration of the site last discovered defines ``menu.main``."""
        menu = self.site.bengal.config.get("menu")
        return isinstance(menu, Mapping) and bool(menu.get("main"))

    def _related_reads(self) -> bool:
        """Whether every page's last render recorded the related posts it showed."""
        manifest = OutputManifest.load(self.manifest_path)
        return manifest is not None and manifest.related_reads

    def plan(self, *, rediscover: bool = True) -> BengalPlan:
        """Re-discover the site (unless told not to) and plan the next build.

        A file added to the project's configuration, templates, data, assets
        or static files is a new global input (a template, when templates are
        tracked: a new input): the engine is remade with it, so the plan sees
        it as added (a full rebuild; for a template, its recorded readers).
        """
        found: BengalPlan | None = None
        for _attempt in range(_DISCOVERY_ATTEMPTS):
            before = None
            if rediscover or self._site_built or found is not None:
                before = self._snapshot()
                self.site = self._load_site()
                self._discovered = None
                self._site_built = False
                self.engine.set_site(self.site)
            current = global_inputs(self.root, templates=not self.track_templates)
            inputs = template_inputs(self.root) if self.track_templates else ()
            if set(current) - set(self.global_inputs) or set(inputs) - set(self.inputs):
                self.global_inputs, self.inputs = current, inputs
                self.engine = self._engine()
            started = time.perf_counter_ns()
            plan = self.engine.plan()
            found = BengalPlan(plan, decision_ns=time.perf_counter_ns() - started)
            # The engine's detection stats the files after Bengal's discovery read them: a
            # file rewritten in between would be committed as built from the older model.
            if before is None:
                return found
            if before.unchanged():
                self._discovered = (self.site, before)
                return found
        assert found is not None
        return found

    def build(self, plan: BengalPlan, *, commit: bool = True, **options: Any) -> BengalBuild:
        """Render *plan* with Bengal as its full build would; commit *plan* on success.

        Bengal builds its whole site model as a full build does and renders
        only the planned pages, tag pages and listings (see
        :mod:`incrbuild.adapters.bengal._handoff`); its site-wide outputs
        (sitemap, feeds, search index, special pages) are regenerated; the
        outputs of pages that are gone are deleted.  The build runs on the site
        :meth:`plan` discovered while no file it read changed (see
        ``_reusable_site``), else on a fresh one.  *options* go to Bengal's
        ``BuildOptions``.
        """
        require_bengal()
        from bengal.core.site import Site
        from bengal.orchestration.build.options import BuildOptions

        started = time.perf_counter_ns()
        settings: dict[str, Any] = {"quiet": True}
        settings.update(options)
        reset_process_caches()
        reuse = self._reusable_site(plan)
        site = reuse if reuse is not None else Site.from_config(self.root)
        self._site_built = self._site_built or reuse is not None
        self._discovered = None
        rendered: list[Any] = []
        reads: dict[Path, RenderReads] = {}
        previous = OutputManifest.load(self.manifest_path)
        links = dict(previous.links) if previous is not None else {}
        readers: set[str] = set()
        known_readers = previous.content_readers if previous is not None else None
        finished: set[int] = set()
        graph_path = self.state_dir / "bengal-graph-digest"
        graph_keys: list[str] = []
        # Coarse file systems stamp a write up to a second early: audit a little more.  A
        # full plan writes every page, and a strict build fails on any missing reference:
        # both audit everything, as Bengal does.
        audit: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
        if not plan.plan.full and not settings.get("strict"):
            audit = audit_written_html(time.time_ns() - 2_000_000_000)
        with (
            narrowed_render(RenderSelection.of(plan), rendered, links),
            recording_reads(reads, finished),
            memoized_layout(self.state_dir / "bengal-graph-layout.json"),
            narrowed_formats(rendered, graph_path, graph_keys, narrow=not plan.all_formats),
            inventory_for_health_checks(_health_checks(site)),
            audit,
            reused_discovery(site, active=reuse is not None) as reused,
            shared_graph_data(),
            content_reads(readers, known_readers),
            deferred_index_hashes(),
        ):
            stats = site.build(BuildOptions(incremental=False, **settings))
        public = Path(site.output_dir)
        forget_formats(rendered)
        manifest = OutputManifest.of_site(site)
        removed: list[str] = []
        if previous is not None:
            removed = remove_outputs(public, manifest.gone_since(previous), manifest.outputs)
        errors = len(getattr(stats, "template_errors", None) or ())
        skipped = [page for page in rendered if id(page) not in finished]
        rendered = [page for page in rendered if id(page) in finished]
        if commit and not errors and not skipped:
            used = self._record_reads(site, rendered, reads, readers)
            generated_aggregate = _generated_aggregate(rendered, reads)
            aggregates: set[str] = set()
            if previous is not None:
                # Earlier versions' aggregates: kept until rendered (their reads recorded).
                again = {str(page.source_path) for page in rendered}
                aggregates = {p for p in previous.aggregates if p not in again}
            if previous is not None and not plan.plan.full:
                used |= set(previous.generated_templates)
                generated_aggregate = generated_aggregate or previous.generated_aggregates
            stamps = {path: file_stamp(path) for path in sorted(used)}
            # A full plan rendered every page with its related posts recorded; a partial
            # one keeps the others' records, so what held before still holds.
            related = plan.plan.full or (previous is not None and previous.related_reads)
            manifest = attrs.evolve(
                manifest,
                generated_templates=stamps,
                aggregates=frozenset(aggregates),
                generated_aggregates=generated_aggregate,
                related_reads=related,
                links=_current_links(site, links),
                content_readers=frozenset(readers),
            )
            manifest.save(self.manifest_path)
            if len(set(graph_keys)) == 1:
                # Every page's formats now match this graph (see narrowed_formats).
                graph_path.write_text(graph_keys[0], encoding="utf-8")
            self.engine.commit(plan.plan)
        outputs = frozenset(
            Path(p.output_path).relative_to(public).as_posix()
            for p in rendered
            if getattr(p, "output_path", None) is not None
        )
        return BengalBuild(
            stats=stats,
            rendered=outputs,
            removed=tuple(removed),
            errors=errors,
            build_ns=time.perf_counter_ns() - started,
            discovery_reused=bool(reused),
            unrendered=tuple(sorted(_output_name(page, public) for page in skipped)),
        )

    def _snapshot(self) -> ProjectSnapshot:
        """The files Bengal's discovery reads: configuration, content, data, ``i18n``."""
        # Bengal 0.5.1 discovers <project>/content; a configured content directory as well.
        content = {self.root / "content", Path(self.site.root_path)}
        directories = (*sorted(content), *(self.root / name for name in _DISCOVERY_DIRS))
        return ProjectSnapshot.take(self.root, directories)

    def _reusable_site(self, plan: BengalPlan) -> Any | None:
        """The Bengal site the plan discovered, if the build may use it as discovered.

        Discovery (pages, sections, cascades, output paths, the cross-reference
        index) is a function of the project's files and configuration: the plan's
        is reused when no file of the project changed since just before it read
        them (:class:`ProjectSnapshot`: same stamps, racy files the same content),
        no build used it yet, health checks are off (they read the raw content a
        build's discovery caches), the site has no autodoc (it reads sources
        outside the project) and no edition (the build filters the site's pages,
        which the commit reads).  Anything else: a fresh site, discovered by the build.
        """
        if self._discovered is None:
            return None
        wrapped, before = self._discovered
        site = wrapped.bengal
        if wrapped is not self.site or _health_checks(site) or site.config.get("autodoc"):
            return None
        params = site.config.get("params")
        if isinstance(params, dict) and params.get("edition") is not None:
            return None  # the build filters the site's pages by edition: the engine's too
        if not before.unchanged():
            return None
        return site

    def _record_reads(
        self,
        site: Any,
        rendered: list[Any],
        reads: dict[Path, RenderReads],
        readers: set[str],
    ) -> set[str]:
        """Record what each rendered source page read; return the generated pages' templates.

        A source page depends on the template files it rendered with, on the
        project override each of their names would resolve to (so a new
        override reaches it), on the pages its ``[[...]]`` links show, and on
        the site-wide collections its templates iterated (:func:`site_reads`), and on
        every page if its Markdown shows other pages (*readers*, :func:`content_reads`).
        Generated pages are not the engine's: their templates are kept in the
        output manifest (:meth:`plan` replans them all when one changes).
        """
        overrides = self.root / "templates"
        xref = getattr(site, "xref_index", None) or {}
        generated: set[str] = set()
        for page in rendered:
            found = reads.get(Path(page.source_path))
            files: set[Path] = set()
            if found is not None and self.track_templates:
                files = set(found.template_files)
                files.update(overrides / name for name in found.template_names)
            if is_virtual(page):
                generated.update(str(f) for f in files)
                continue
            files.update(link_targets(page, xref))
            source = Path(page.source_path)
            self.engine.record_dependencies(source, files)
            collections = site_reads(found)
            if str(source) in readers:
                collections = {"pages": {"*"}}
            self.engine.record_reads(
                source, pages=shown_reads(found, source), collections=collections
            )
        return generated

    def explain(self, plan: BengalPlan, stats: Any) -> Comparison:
        """Compare *plan* with Bengal's own decision in *stats* of the build that followed it."""
        return compare(plan, stats)


def _output_name(page: Any, public: Path) -> str:
    """The output of *page* relative to *public* (its source if it has no output)."""
    output = getattr(page, "output_path", None)
    if output is None:
        return str(page.source_path)
    return Path(output).relative_to(public).as_posix()
