"""The build: ask incrbuild what to rebuild, render exactly that, tell incrbuild what it read.

A full build (``incremental=False``, no usable state, or a changed global
input: ``plan.full``) empties the output directory and renders the whole site
from minissg's own model.  An incremental build renders what the plan names:

=========================  ====================================================
``plan.pages``             render each page source (regular, section, home)
``plan.removed_outputs``   delete (the outputs recorded for removed sources)
``plan.sections``          render the listing of each section: its
                           ``_index.md`` page, or the generated listing of a
                           section without one; delete it if the section is gone
``plan.terms``             render each tag page
``plan.removed_terms``     delete each tag page
tags index                 render when any term was rendered or removed
=========================  ====================================================

Each rendered page's inputs (templates, linked pages, breadcrumb section
pages) go to :meth:`~incrbuild.Engine.record_dependencies` and its output to
:meth:`~incrbuild.Engine.record_outputs`.  Generated pages have no source to
record against, so the templates they use are the engine's global inputs: an
edit to one rebuilds everything.
"""

from __future__ import annotations

import os
import shutil
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs
from examples.minissg.model import INDEX_NAME, TAGS_DIR, SiteModel, output_for_url
from examples.minissg.render import GENERATED_TEMPLATES, Renderer, static_closure

from incrbuild import Engine, Plan, SourceError
from incrbuild.adapters.files import open_engine, read_page
from incrbuild.protocols import is_generated

__all__ = ["BuildReport", "Builder", "build", "build_site"]

#: The site title when the configuration names none.
DEFAULT_TITLE = "A minissg site"


@attrs.define
class BuildReport:
    """What one build did: how much it rendered, and how much of that changed on disk."""

    full: bool
    """Whether the whole site was rendered from scratch."""
    pages: int = 0
    """Page sources rendered."""
    listings: int = 0
    """Generated section listings rendered (sections without an ``_index.md``)."""
    terms: int = 0
    """Tag pages rendered (the tags index included)."""
    written: int = 0
    """Outputs rendered whose bytes were new or different."""
    unchanged: int = 0
    """Outputs rendered to the very bytes already on disk."""
    deleted: int = 0
    """Outputs deleted."""
    site_pages: int = 0
    """Page sources in the site."""
    errors: dict[Path, str] = attrs.field(factory=dict)
    """Pages that failed to render, with the reason; they are rebuilt next time."""
    plan: Plan | None = attrs.field(default=None, repr=False)
    """The plan the build followed."""

    @property
    def rendered(self) -> int:
        """Every output rendered."""
        return self.written + self.unchanged

    @property
    def changed(self) -> int:
        """Every output whose bytes changed, appeared or went."""
        return self.written + self.deleted

    def summary(self) -> str:
        """Return the report as one line."""
        kind = "full" if self.full else "incremental"
        text = (
            f"{kind} build: {self.pages}/{self.site_pages} pages, {self.listings} listings, "
            f"{self.terms} tag pages rendered; {self.written} outputs written, "
            f"{self.unchanged} unchanged, {self.deleted} deleted"
        )
        if self.errors:
            text += f"; {len(self.errors)} failed"
        return text


class Builder:
    """Builds one site into one output directory, incrementally when it can.

    Keep a builder alive between builds (a watch loop) or make a new one per
    build: incrbuild's state on disk makes both incremental.  The state lives
    in *state_dir*, by default ``.incrbuild`` inside the output directory, so
    that deleting the output also forgets what was built.
    """

    def __init__(
        self,
        content_dir: Path | str,
        templates_dir: Path | str,
        output_dir: Path | str,
        *,
        state_dir: Path | str | None = None,
        config_file: Path | str | None = None,
    ) -> None:
        self.content_dir = Path(content_dir).resolve()
        self.templates_dir = Path(templates_dir).resolve()
        self.output_dir = Path(output_dir).resolve()
        self.state_dir = (
            Path(state_dir).resolve() if state_dir is not None else self.output_dir / ".incrbuild"
        )
        self.config_file = Path(config_file).resolve() if config_file is not None else None
        self._engine: Engine | None = None
        self._global_inputs: frozenset[Path] = frozenset()

    # -- the engine ----------------------------------------------------------------------

    def global_inputs(self) -> frozenset[Path]:
        """The files whose change rebuilds everything: configuration, generated pages' templates."""
        found = set(static_closure(self.templates_dir, GENERATED_TEMPLATES))
        if self.config_file is not None:
            found.add(self.config_file)
        return frozenset(found)

    def engine(self) -> Engine:
        """Return the engine, opened anew when the set of global inputs changed."""
        inputs = self.global_inputs()
        if self._engine is None or inputs != self._global_inputs:
            self._engine = open_engine(
                self.content_dir,
                state_dir=self.state_dir,
                navigation=True,
                global_inputs=sorted(inputs),
            )
            self._global_inputs = inputs
        return self._engine

    def site_config(self) -> dict[str, Any]:
        """Return the site configuration (``title``), with defaults."""
        config: dict[str, Any] = {"title": DEFAULT_TITLE}
        if self.config_file is not None and self.config_file.is_file():
            with self.config_file.open("rb") as handle:
                config.update(tomllib.load(handle))
        return config

    # -- building ------------------------------------------------------------------------------

    def build(self, *, incremental: bool = True) -> BuildReport:
        """Build the site; with *incremental*, render only what incrbuild's plan names."""
        engine = self.engine()
        plan = engine.plan()
        model = SiteModel(engine.registry)
        renderer = Renderer(model, self.templates_dir, self.site_config())
        # plan.full: no usable state, or a global input changed: build from scratch.
        full = not incremental or plan.full
        report = BuildReport(full=full, site_pages=len(engine.site.pages), plan=plan)
        out = _Outputs(self.output_dir, report)
        if full:
            # From scratch: nothing on disk can be trusted, everything is rendered.
            out.clean(keep=self.state_dir)
            pages: Iterable[Path] = (p.source_path for p in engine.site.pages)
            listings = [d for d in model.section_dirs() if not model.has_index(d)]
            terms: Iterable[str] = model.terms()
            tags_index = True
        else:
            for output in sorted(plan.removed_outputs):
                out.delete(output)
            for tag in sorted(plan.removed_terms):
                out.delete(output_for_url(model.term_url(tag)))
            pages = set(plan.pages)
            listings = []
            for directory in sorted(plan.sections):
                if model.has_index(directory):
                    pages.add(directory / INDEX_NAME)  # its listing is its _index.md page
                elif model.section_exists(directory):
                    listings.append(directory)
                else:
                    out.delete(output_for_url(model.section_url(directory)))
            terms = plan.terms
            tags_index = bool(plan.terms or plan.removed_terms)

        failed = self._render_pages(engine, model, renderer, sorted(pages), out, report)
        for directory in listings:
            html = renderer.render_listing(directory)
            out.write(output_for_url(model.section_url(directory)), html)
            report.listings += 1
        for tag in sorted(terms):
            out.write(output_for_url(model.term_url(tag)), renderer.render_term(tag))
            report.terms += 1
        if tags_index:
            out.write(output_for_url(f"/{TAGS_DIR}/"), renderer.render_terms())
            report.terms += 1
        engine.commit(plan, failed=failed)
        return report

    def _render_pages(
        self,
        engine: Engine,
        model: SiteModel,
        renderer: Renderer,
        pages: list[Path],
        out: _Outputs,
        report: BuildReport,
    ) -> list[Path]:
        """Render *pages*, recording what each read and wrote; return those that failed."""
        failed: list[Path] = []
        for path in pages:
            page = model.page(path)
            if page is None or is_generated(page):
                continue
            try:
                _, body = read_page(path)
            except SourceError as error:
                report.errors[path] = str(error)
                failed.append(path)
                continue
            rendered = renderer.render_page(path, body)
            output = output_for_url(model.url_of(path))
            out.write(output, rendered.html)
            engine.record_dependencies(path, sorted(rendered.inputs))
            engine.record_outputs(path, [output])
            report.pages += 1
        return failed


class _Outputs:
    """The output directory: writes only changed bytes, deletes and prunes, counts both."""

    def __init__(self, root: Path, report: BuildReport) -> None:
        self.root = root
        self.report = report

    def write(self, relative: str, text: str) -> None:
        """Write *text* to *relative* unless the file already holds exactly those bytes."""
        target = self.root / relative
        data = text.encode("utf-8")
        try:
            if target.read_bytes() == data:
                self.report.unchanged += 1
                return
        except FileNotFoundError:
            pass
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        self.report.written += 1

    def delete(self, relative: str) -> None:
        """Delete *relative* if it exists, then the directories it leaves empty."""
        target = self.root / relative
        try:
            target.unlink()
        except FileNotFoundError:
            return
        self.report.deleted += 1
        parent = target.parent
        while parent != self.root and self.root in parent.parents:
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    def clean(self, *, keep: Path) -> None:
        """Empty the output directory, keeping *keep* (the state) if it lives inside."""
        if not self.root.exists():
            self.root.mkdir(parents=True)
            return
        for entry in os.scandir(self.root):
            path = Path(entry.path)
            if path == keep:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path)
            else:
                path.unlink()


def build(
    content_dir: Path | str,
    templates_dir: Path | str,
    output_dir: Path | str,
    *,
    incremental: bool = True,
    state_dir: Path | str | None = None,
    config_file: Path | str | None = None,
) -> BuildReport:
    """Build *content_dir* with *templates_dir* into *output_dir* (see :class:`Builder`)."""
    builder = Builder(
        content_dir, templates_dir, output_dir, state_dir=state_dir, config_file=config_file
    )
    return builder.build(incremental=incremental)


def build_site(
    site_dir: Path | str,
    output_dir: Path | str,
    *,
    incremental: bool = True,
    state_dir: Path | str | None = None,
) -> BuildReport:
    """Build a site laid out as ``content/``, ``templates/`` and ``config.toml``."""
    site = Path(site_dir)
    return build(
        site / "content",
        site / "templates",
        output_dir,
        incremental=incremental,
        state_dir=state_dir,
        config_file=site / "config.toml",
    )
