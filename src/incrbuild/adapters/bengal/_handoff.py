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
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any, Final, final

import attrs
import msgspec

from incrbuild.adapters.bengal._rules import BengalPlan, tag_slug

__all__ = [
    "OutputManifest",
    "RenderSelection",
    "forget_formats",
    "narrowed_render",
    "remove_outputs",
    "reset_process_caches",
]

#: The Bengal internal the hand-off narrows: the module and its render-phase function.
RENDER_MODULE: Final = "bengal.orchestration.build.rendering"
RENDER_FUNCTION: Final = "phase_render"
#: Position of ``pages_to_build`` among ``phase_render``'s positional arguments (0.5.1).
_PAGES_ARGUMENT: Final = 7


@final
@attrs.frozen
class RenderSelection:
    """Which of Bengal's pages (source or generated) a plan asks to render.

    Source pages by path; tag pages (every page of a paginated tag) by their
    tag's slug; the all-tags page by ``tag_index``; a section's generated
    archive by its directory.  Generated or virtual pages of kinds the plan
    has no name for (autodoc, unknown kinds) are always rendered: more work,
    never a stale page.
    """

    everything: bool
    pages: frozenset[Path]
    tag_slugs: frozenset[str]
    tag_index: bool
    sections: frozenset[Path]

    @classmethod
    def of(cls, plan: BengalPlan) -> RenderSelection:
        """The selection *plan* asks for."""
        inner = plan.plan
        return cls(
            everything=inner.full,
            pages=inner.pages,
            tag_slugs=frozenset(tag_slug(t) for t in inner.terms | inner.removed_terms),
            tag_index=plan.tag_index,
            sections=inner.sections,
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
            slug = metadata.get("_tag_slug") or metadata.get("_tag") or ""
            return tag_slug(str(slug)) in self.tag_slugs
        if kind == "tag-index":
            return self.tag_index
        section = metadata.get("_section")
        directory = getattr(section, "path", None)
        if directory is not None:
            return Path(directory) in self.sections
        return True


@contextlib.contextmanager
def narrowed_render(
    select: Callable[[Any], bool], rendered: list[Any] | None = None
) -> Iterator[None]:
    """Within the block, Bengal's render phase renders only the pages *select* accepts.

    The pages it renders are appended to *rendered*.  Not thread-safe: it
    replaces a module attribute of Bengal's for the duration of the block.
    """
    import importlib

    module: ModuleType = importlib.import_module(RENDER_MODULE)
    original = getattr(module, RENDER_FUNCTION)

    def phase_render(*args: Any, **kwargs: Any) -> Any:
        if "pages_to_build" in kwargs:
            every = list(kwargs["pages_to_build"])
            kwargs["pages_to_build"] = chosen = [p for p in every if select(p)]
        else:
            listed = list(args)
            every = list(listed[_PAGES_ARGUMENT])
            listed[_PAGES_ARGUMENT] = chosen = [p for p in every if select(p)]
            args = tuple(listed)
        if rendered is not None:
            rendered.extend(chosen)
        context = original(*args, **kwargs)
        _accumulate_unrendered(args[0].site, context, every, chosen)
        return context

    setattr(module, RENDER_FUNCTION, phase_render)
    try:
        yield
    finally:
        setattr(module, RENDER_FUNCTION, original)


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


def _accumulate_unrendered(site: Any, context: Any, every: list[Any], chosen: list[Any]) -> None:
    """Give post-processing the page data a full build's render would have accumulated.

    Rendering a page also accumulates its search-index and JSON data
    (``JsonAccumulator``, a second internal the hand-off uses); post-processing
    writes ``index.json`` from it, and falls back to a slightly different
    summary (empty tags and section left out) for pages without it.  The
    skipped pages' data comes from Bengal's own accumulator, as their render would.
    """
    if context is None:
        return
    from bengal.rendering.pipeline.json_accumulator import JsonAccumulator

    accumulator = JsonAccumulator(site, context)
    done = {id(page) for page in chosen}
    for page in every:
        if id(page) not in done:
            accumulator.accumulate_unified_page_data(page)


class _Manifest(msgspec.Struct, frozen=True):
    """What the last build's pages wrote: output path (relative) -> source path."""

    outputs: dict[str, str]


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
        return cls(data.outputs)

    def save(self, path: Path) -> None:
        """Write the manifest to *path* (atomically)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(path.name + ".tmp")
        scratch.write_bytes(msgspec.json.encode(_Manifest(dict(self.outputs))))
        os.replace(scratch, path)

    def gone_since(self, previous: OutputManifest) -> list[str]:
        """Outputs *previous* had and this manifest has not."""
        return sorted(set(previous.outputs) - set(self.outputs))


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
