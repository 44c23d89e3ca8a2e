"""Deterministic synthetic content trees for the demo, tests and benchmarks."""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Final, final

import attrs

__all__ = ["SyntheticSite", "generate_site"]

_WORDS: Final = (
    "build",
    "cache",
    "page",
    "section",
    "index",
    "cascade",
    "tag",
    "render",
    "template",
    "graph",
    "change",
    "detect",
    "stat",
    "digest",
    "snapshot",
    "commit",
    "plan",
    "watch",
    "event",
    "queue",
    "worker",
    "thread",
    "process",
    "output",
    "content",
    "layout",
    "partial",
    "menu",
    "archive",
    "feed",
    "sitemap",
    "search",
    "anchor",
    "heading",
    "link",
    "asset",
)


@final
@attrs.frozen
class SyntheticSite:
    """What :func:`generate_site` wrote: the root, every page, section directory and tag."""

    root: Path
    pages: tuple[Path, ...]
    sections: tuple[Path, ...]
    index_pages: tuple[Path, ...]
    tags: tuple[str, ...]


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words)).capitalize() + "."


def generate_site(
    root: Path | str,
    *,
    pages: int = 1000,
    sections: int | None = None,
    tags: int | None = None,
    depth: int = 2,
    body_paragraphs: int = 4,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> SyntheticSite:
    """Write a content tree of *pages* pages in *sections* sections (nested up to *depth*).

    The same arguments always give the same tree.  About one section in three
    has an ``_index.md`` with a ``cascade``; pages carry 0-3 of *tags* tags,
    a title, a date and a weight.  *progress* is called as pages are written.
    """
    rng = random.Random(seed)
    root = Path(root)
    section_count = sections if sections is not None else max(1, pages // 100)
    tag_count = tags if tags is not None else max(1, pages // 50)
    tag_names = tuple(f"tag-{i:04d}" for i in range(tag_count))
    section_dirs: list[Path] = []
    for number in range(section_count):
        if section_dirs and depth > 1 and rng.random() < 0.4:
            parent = rng.choice(section_dirs)
            if len(parent.relative_to(root).parts) >= depth:
                parent = root
        else:
            parent = root
        section_dirs.append(parent / f"section-{number:04d}")
    index_pages: list[Path] = []
    for number, directory in enumerate(section_dirs):
        directory.mkdir(parents=True, exist_ok=True)
        if number % 3 == 0:
            index = directory / "_index.md"
            layout = rng.choice(["docs", "blog", "wide"])
            index.write_text(
                f"---\ntitle: Section {number}\ncascade:\n  layout: {layout}\n"
                f"  banner: banner-{number % 7}\n---\n{_sentence(rng, 12)}\n",
                encoding="utf-8",
            )
            index_pages.append(index)
    written: list[Path] = []
    for number in range(pages):
        directory = section_dirs[number % section_count] if section_dirs else root
        page_tags = sorted(rng.sample(tag_names, k=min(len(tag_names), rng.randint(0, 3))))
        day = 1 + number % 28
        month = 1 + (number // 28) % 12
        body = "\n\n".join(
            f"## {_sentence(rng, 3)[:-1]}\n\n{_sentence(rng, 40)}" for _ in range(body_paragraphs)
        )
        text = (
            f"---\ntitle: Page {number}\ndate: 2024-{month:02d}-{day:02d}\n"
            f"weight: {rng.randint(1, 100)}\ntags: [{', '.join(page_tags)}]\n---\n{body}\n"
        )
        path = directory / f"page-{number:05d}.md"
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        written.append(path)
        if progress is not None and (number % 500 == 0 or number == pages - 1):
            progress(number + 1, pages)
    # Give every file one old, shared mtime: generation order must not look like edits.
    stamp = 1_700_000_000_000_000_000
    for path in (*written, *index_pages):
        os.utime(path, ns=(stamp, stamp))
    return SyntheticSite(
        root=root,
        pages=tuple(written),
        sections=tuple(section_dirs),
        index_pages=tuple(index_pages),
        tags=tag_names,
    )
