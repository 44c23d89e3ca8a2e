"""Hypothesis strategies shared by the tests: random site trees in memory."""

from __future__ import annotations

from pathlib import Path

from hypothesis import strategies as st

from incrbuild.adapters.simple import SimplePage, SimpleSite, assemble_site

ROOT = Path("/site/content")

TAGS = st.lists(st.sampled_from(["a", "b", "c", "d", " e ", ""]), max_size=4)
NAMES = st.sampled_from(["alpha", "beta", "gamma", "délta", "日本", "x y"])


@st.composite
def directories(draw: st.DrawFn) -> Path:
    """A directory below ROOT (or ROOT itself), up to three levels deep."""
    depth = draw(st.integers(min_value=0, max_value=3))
    parts = [draw(NAMES) for _ in range(depth)]
    return ROOT.joinpath(*parts)


@st.composite
def pages(draw: st.DrawFn, directory: Path, name: str) -> SimplePage:
    """A page at *directory*/*name* with random tags, cascade, generated flag and headings."""
    metadata: dict[str, object] = {"title": draw(st.text(max_size=5))}
    tags = draw(TAGS)
    if tags or draw(st.booleans()):  # an explicit empty list opts out of cascaded tags
        metadata["tags"] = tags
    if name == "_index.md" and draw(st.booleans()):
        cascade: dict[str, object] = {"layout": draw(st.sampled_from(["a", "b"]))}
        if draw(st.booleans()):
            cascade["tags"] = draw(TAGS)
        metadata["cascade"] = cascade
    if draw(st.integers(0, 9)) == 0:
        metadata["_generated"] = True
    headings = draw(st.lists(st.sampled_from(["Intro", "Usage", "intro", "API"]), max_size=3))
    toc = [{"title": title, "id": f"{title.lower()}-{i}"} for i, title in enumerate(headings)]
    return SimplePage(directory / name, metadata, toc)


@st.composite
def sites(draw: st.DrawFn) -> SimpleSite:
    """A random site: nested sections, empty ones, root-level pages, index pages, tags."""
    dirs = draw(st.lists(directories(), max_size=8, unique=True))
    result: list[SimplePage] = []
    used: set[Path] = set()
    for directory in [ROOT, *dirs]:
        names = draw(
            st.lists(
                st.sampled_from(["_index.md", "a.md", "b.md", "ü.md"]), unique=True, max_size=3
            )
        )
        for name in names:
            path = directory / name
            if path not in used:
                used.add(path)
                result.append(draw(pages(directory, name)))
    empty = draw(st.lists(directories(), max_size=3))
    return assemble_site(ROOT, result, section_dirs=empty)
