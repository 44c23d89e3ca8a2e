"""Rendering: Markdown with page links resolved to titles, Jinja2 templates that report their use.

Every render returns the HTML and the files it read besides the page's own
source (templates, linked pages, the section pages of its breadcrumbs): the
builder hands those to :meth:`incrbuild.Engine.record_dependencies`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import jinja2
import jinja2.meta
from examples.minissg.model import Entry, SiteModel
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

__all__ = ["GENERATED_TEMPLATES", "Rendered", "Renderer", "static_closure"]

#: The templates of pages with no source (listings without ``_index.md``, tag pages).
GENERATED_TEMPLATES = ("list.html", "term.html", "terms.html")


@attrs.frozen
class Rendered:
    """One rendered output and the inputs it read."""

    html: str
    inputs: frozenset[Path]


class RecordingEnvironment(jinja2.Environment):
    """A Jinja2 environment that records the name of every template looked up.

    ``{% extends %}``, ``{% include %}`` and ``{% import %}`` all go through
    :meth:`get_template`, so the record is exactly what a render used,
    including names that were tried and did not exist (adding them later must
    rebuild the page).
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.looked_up: set[str] = set()

    def get_template(
        self,
        name: str | jinja2.Template,
        parent: str | None = None,
        globals: MutableMapping[str, Any] | None = None,
    ) -> jinja2.Template:
        """Record *name*, then load it as Jinja2 does."""
        if isinstance(name, str):
            self.looked_up.add(self.join_path(name, parent) if parent else name)
        return super().get_template(name, parent, globals)

    def select_template(
        self,
        names: Iterable[str | jinja2.Template],
        parent: str | None = None,
        globals: MutableMapping[str, Any] | None = None,
    ) -> jinja2.Template:
        """Return the first of *names* that exists, recording each one tried."""
        tried = list(names)
        for name in tried:
            try:
                return self.get_template(name, parent, globals)
            except jinja2.TemplateNotFound:
                continue
        raise jinja2.TemplatesNotFound([str(n) for n in tried])


def static_closure(templates_dir: Path, names: Sequence[str]) -> frozenset[Path]:
    """Return the template files *names* may load, following static extends and includes.

    A dynamic reference (a template name computed at render time) makes the
    answer every template in *templates_dir*: the conservative choice.
    """
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(templates_dir))
    seen: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            source, _, _ = env.loader.get_source(env, name)  # type: ignore[union-attr]
        except jinja2.TemplateNotFound:
            continue
        for referenced in jinja2.meta.find_referenced_templates(env.parse(source)):
            if referenced is None:
                every = (p.relative_to(templates_dir).as_posix() for p in templates_dir.rglob("*"))
                seen.update(every)
                pending.clear()
                break
            pending.append(referenced)
    return frozenset(templates_dir / name for name in seen)


class Renderer:
    """Renders pages, listings and tag pages of one build.

    A renderer lives for one build, so its template cache never outlives a
    template edit.
    """

    def __init__(self, model: SiteModel, templates_dir: Path, site: Mapping[str, Any]) -> None:
        self.model = model
        self.templates_dir = templates_dir
        self.site = dict(site)
        self.env = RecordingEnvironment(
            loader=jinja2.FileSystemLoader(templates_dir),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            auto_reload=False,
        )
        self.markdown = MarkdownIt("commonmark", {"html": False})

    # -- pages with a source ---------------------------------------------------------

    def render_page(self, path: Path, body: str) -> Rendered:
        """Render a page (regular, section or home) from its Markdown *body*."""
        model = self.model
        meta = model.effective(path)
        html, linked = self._markdown(path, body)
        crumbs = model.crumb_sources(path)
        context: dict[str, Any] = {
            "page": {
                "title": model.title_of(path),
                "date": model.date_of(path),
                "url": model.url_of(path),
                "banner": meta.get("banner"),
                "tags": [Entry(t, model.term_url(t)) for t in model.tags_of(path)],
                "content": Markup(html),
                "crumbs": [model.entry(c) if model.page(c) else self._bare(c) for c in crumbs],
            }
        }
        layout = meta.get("layout")
        if model.is_index(path):
            directory = path.parent
            context["listing"] = self._listing(directory)
            base = "home" if directory == model.root else "section"
            fallbacks = [f"{base}.html"] if base == "section" else ["home.html", "section.html"]
        else:
            before, after = model.neighbours(path)
            context["page"]["prev"] = before
            context["page"]["next"] = after
            fallbacks = ["page.html"]
            base = "page"
        chosen = [f"{base}-{layout}.html"] if isinstance(layout, str) and layout else []
        names = chosen + fallbacks
        html_out, used = self._render(names, context)
        return Rendered(html_out, used | linked | frozenset(crumbs))

    def _bare(self, index: Path) -> Entry:
        """A breadcrumb for a section without an ``_index.md``."""
        return Entry(self.model.section_name(index.parent), self.model.section_url(index.parent))

    def _markdown(self, source: Path, body: str) -> tuple[str, frozenset[Path]]:
        """Render *body*, pointing page links at their URLs and titles; return the targets."""
        model = self.model
        tokens = self.markdown.parse(body)
        targets: set[Path] = set()
        for block in tokens:
            children = block.children
            if block.type != "inline" or not children:
                continue
            for at, token in enumerate(children):
                if token.type != "link_open":
                    continue
                resolved = model.resolve_link(source, str(token.attrGet("href") or ""))
                if resolved is None:
                    continue
                target, fragment = resolved
                targets.add(target)
                if model.page(target) is None:
                    del token.attrs["href"]
                    token.attrSet("class", "broken-link")
                    token.attrSet("title", f"missing page: {target.relative_to(model.root)}")
                    continue
                title = model.title_of(target)
                token.attrSet("href", model.url_of(target) + fragment)
                token.attrSet("title", title)
                if at + 1 < len(children) and children[at + 1].type == "link_close":
                    children.insert(at + 1, Token("text", "", 0, content=title))
        html = self.markdown.renderer.render(tokens, self.markdown.options, {})
        return html, frozenset(targets)

    # -- generated pages --------------------------------------------------------------

    def render_listing(self, directory: Path) -> str:
        """Render the listing of a section (or the home page) that has no ``_index.md``."""
        model = self.model
        context = {
            "section": {
                "title": model.section_name(directory),
                "url": model.section_url(directory),
            },
            "listing": self._listing(directory),
        }
        return self._render(["list.html"], context)[0]

    def render_term(self, tag: str) -> str:
        """Render the page listing the pages tagged *tag*."""
        model = self.model
        members = model.terms().get(tag, [])
        context = {
            "term": {"name": tag, "url": model.term_url(tag)},
            "pages": [model.entry(p.source_path) for p in members],
        }
        return self._render(["term.html"], context)[0]

    def render_terms(self) -> str:
        """Render the index of every tag with its page count."""
        model = self.model
        terms = model.terms()
        context = {
            "terms": [
                {"name": tag, "url": model.term_url(tag), "count": len(terms[tag])}
                for tag in sorted(terms)
            ]
        }
        return self._render(["terms.html"], context)[0]

    # -- shared -----------------------------------------------------------------------------

    def _listing(self, directory: Path) -> dict[str, list[Entry]]:
        model = self.model
        return {
            "pages": [model.entry(p) for p in model.member_paths(directory)],
            "sections": [model.section_entry(d) for d in model.subsection_dirs(directory)],
        }

    def _render(self, names: Sequence[str], context: dict[str, Any]) -> tuple[str, frozenset[Path]]:
        """Render the first existing template of *names*; return the HTML and templates used."""
        env = self.env
        env.looked_up = set()
        template = env.select_template(names)
        html = template.render(site=self.site, **context)
        used = frozenset(self.templates_dir / name for name in env.looked_up)
        env.looked_up = set()
        return html, used
