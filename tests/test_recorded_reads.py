"""Recorded reads: an aggregate page is replanned from what its render showed, and only then.

The oracle renders a tiny site from scratch and incrementally (rendering only
what each plan names, recording what each render read) after every edit, and
the two must be equal; the precision checks say an aggregate is *not* replanned
for an edit it cannot show.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incrbuild import Engine, Plan
from incrbuild.adapters.files import open_engine, read_page

AUTHORS = "authors.md"
FEATURED = "featured.md"
TOPICS = "topics.md"
DIGEST = "digest.md"
FEATURED_SOURCE = "blog/p0.md"
AGGREGATES = {AUTHORS, FEATURED, TOPICS, DIGEST}


def write_page(
    root: Path, rel: str, *, title: str, author: str, body: str, tags: list[str] | None = None
) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    meta: dict[str, object] = {"title": title, "author": author}
    if tags:
        meta["tags"] = tags
    front = yaml.safe_dump(meta, sort_keys=True)
    path.write_text(f"---\n{front}---\n{body}\n", encoding="utf-8")


def regular_pages(root: Path) -> list[str]:
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*.md")
        if p.relative_to(root).as_posix() not in AGGREGATES
    )


class Site:
    """A content tree, a renderer that records its reads, and the rendered outputs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.outputs: dict[str, str] = {}

    def render(self, rel: str, engine: Engine | None) -> str:
        """Render one page; with *engine*, record what the render read."""
        root = self.root
        if rel == AUTHORS:
            # The aggregate: every regular page's author.
            lines = []
            for other in regular_pages(root):
                lines.append(f"{other}: {read_page(root / other)[0].get('author')}")
            if engine is not None:
                engine.record_reads(root / rel, collections={"pages": {"author"}})
            return "\n".join(lines)
        if rel == TOPICS:
            # A tag page: the titles of the pages tagged "x".
            titles = []
            for other in regular_pages(root):
                meta = read_page(root / other)[0]
                if "x" in (meta.get("tags") or []):
                    titles.append(f"{other}: {meta.get('title')}")
            if engine is not None:
                engine.record_reads(root / rel, collections={"tag:x": {"title"}})
            return "\n".join(titles)
        if rel == DIGEST:
            # A section listing: the titles of the pages directly in blog/.
            titles = [
                f"{other}: {read_page(root / other)[0].get('title')}"
                for other in regular_pages(root)
                if other.count("/") == 1 and other.startswith("blog/")
            ]
            if engine is not None:
                engine.record_reads(root / rel, collections={"section:blog": {"title"}})
            return "\n".join(titles)
        if rel == FEATURED:
            # Shows the body of one page.
            source = root / FEATURED_SOURCE
            text = read_page(source)[1] if source.exists() else ""
            if engine is not None:
                engine.record_reads(root / rel, pages={source: {"content"}})
            return text
        meta, body = read_page(root / rel)
        return f"{meta.get('title')} by {meta.get('author')}: {body}"

    def full(self) -> dict[str, str]:
        every = [*regular_pages(self.root), *sorted(AGGREGATES)]
        return {rel: self.render(rel, None) for rel in every}

    def build(self, engine: Engine) -> Plan:
        plan = engine.plan()
        for path in plan.removed_pages:
            self.outputs.pop(path.relative_to(self.root).as_posix(), None)
        for path in plan.pages:
            rel = path.relative_to(self.root).as_posix()
            self.outputs[rel] = self.render(rel, engine)
        engine.commit(plan)
        return plan


EDITS = st.lists(
    st.tuples(
        st.sampled_from(["author", "title", "body", "add", "remove", "tag", "nest"]),
        st.integers(min_value=0, max_value=5),
        st.sampled_from(["ann", "bob", "cyd"]),
    ),
    min_size=1,
    max_size=8,
)


def seed(root: Path) -> None:
    for number in range(3):
        rel = f"blog/p{number}.md"
        write_page(root, rel, title=f"P{number}", author="ann", body=f"body {number}")
    for rel in sorted(AGGREGATES):
        write_page(root, rel, title=rel, author="", body="")


def apply_edit(root: Path, edit: tuple[str, int, str], counter: list[int]) -> str | None:
    """Apply one edit; return the page it touched (``None``: nothing to do)."""
    kind, number, author = edit
    pages = regular_pages(root)
    if kind in {"add", "nest"}:
        counter[0] += 1
        where = "blog" if kind == "add" else "blog/deep"
        rel = f"{where}/new{counter[0]}.md"
        tags = ["x"] if number % 2 else None
        write_page(root, rel, title=f"New {counter[0]}", author=author, body="fresh", tags=tags)
        return rel
    if not pages:
        return None
    rel = pages[number % len(pages)]
    meta, body = read_page(root / rel)
    title, old_author = str(meta["title"]), str(meta["author"])
    tags = list(meta.get("tags") or [])
    if kind == "tag":
        tags = [] if "x" in tags else ["x"]
        write_page(root, rel, title=title, author=old_author, body=body.strip(), tags=tags)
        return rel
    if kind == "remove":
        (root / rel).unlink()
    elif kind == "author":
        new_author = author if author != old_author else f"{author}2"
        write_page(root, rel, title=title, author=new_author, body=body.strip(), tags=tags)
    elif kind == "title":
        write_page(root, rel, title=title + "!", author=old_author, body=body.strip(), tags=tags)
    else:
        write_page(
            root, rel, title=title, author=old_author, body=body.strip() + " more", tags=tags
        )
    return rel


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(edits=EDITS)
def test_incremental_equals_full_and_aggregates_only_when_shown(
    edits: list[tuple[str, int, str]],
) -> None:
    """After every edit: incremental outputs equal a full render; aggregates move only if shown."""
    workdir = Path(tempfile.mkdtemp(prefix="incrbuild-reads-"))
    try:
        root = workdir / "content"
        seed(root)
        site = Site(root)
        engine = open_engine(root, state_dir=workdir / "state")
        assert site.build(engine).full
        counter = [0]
        for edit in edits:
            touched = apply_edit(root, edit, counter)
            plan = site.build(engine)
            assert site.outputs == site.full(), (edit, sorted(plan.pages))
            planned = {p.relative_to(root).as_posix() for p in plan.pages}
            kind = edit[0]
            if touched is None:
                continue
            # Precision: the authors page shows authors and membership only.
            if kind in {"title", "body", "tag"}:
                assert AUTHORS not in planned, plan.why(root / AUTHORS)
            else:
                assert AUTHORS in planned
            # Tag and section pages show titles: never moved by a body or author edit.
            if kind in {"body", "author"}:
                assert TOPICS not in planned, plan.why(root / TOPICS)
                assert DIGEST not in planned, plan.why(root / DIGEST)
            if kind == "tag":
                assert TOPICS in planned
            # The featured page shows one page's body.
            shows_featured = touched == FEATURED_SOURCE and kind in {"body", "remove"}
            if touched != FEATURED_SOURCE:
                assert FEATURED not in planned, plan.why(root / FEATURED)
            elif shows_featured:
                assert FEATURED in planned
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


class TestRecordedReads:
    @pytest.fixture
    def built(self, tmp_path: Path) -> tuple[Site, Engine]:
        root = tmp_path / "content"
        seed(root)
        site = Site(root)
        engine = open_engine(root, state_dir=tmp_path / "state")
        site.build(engine)
        return site, engine

    def test_author_change_explained(self, built: tuple[Site, Engine]) -> None:
        """``why`` names the page whose shown key changed, and the key."""
        site, engine = built
        root = site.root
        write_page(root, "blog/p1.md", title="P1", author="bob", body="body 1")
        plan = site.build(engine)
        assert plan.why(root / AUTHORS) == (
            "shows something of blog/p1.md, which changed (author in pages)",
            "blog/p1.md: source modified",
        )

    def test_reads_survive_a_new_engine(self, built: tuple[Site, Engine], tmp_path: Path) -> None:
        """Reads are stored at commit: a fresh process plans from them."""
        site, _ = built
        root = site.root
        write_page(root, "blog/p2.md", title="P2", author="cyd", body="body 2")
        fresh = open_engine(root, state_dir=tmp_path / "state")
        plan = fresh.plan()
        assert root / AUTHORS in plan.pages

    def test_watched_plans_use_reads_too(self, built: tuple[Site, Engine]) -> None:
        """``plan_paths`` (a watcher's partial plan) replans readers the same way."""
        site, engine = built
        root = site.root
        write_page(root, "blog/p0.md", title="P0", author="ann", body="new featured body")
        plan = engine.plan_paths([root / "blog/p0.md"])
        assert plan.partial
        rel = {p.relative_to(root).as_posix() for p in plan.pages}
        assert rel == {"blog/p0.md", FEATURED}
        for path in plan.pages:
            site.outputs[path.relative_to(root).as_posix()] = site.render(
                path.relative_to(root).as_posix(), engine
            )
        engine.commit(plan)
        write_page(root, "blog/p0.md", title="P0", author="dee", body="new featured body")
        again = engine.plan_paths([root / "blog/p0.md"])
        # The author shows on the authors page; and since the file's bytes changed, its
        # "content" counts as changed too (the body is not fingerprinted apart).
        assert {p.relative_to(root).as_posix() for p in again.pages} == {
            "blog/p0.md",
            AUTHORS,
            FEATURED,
        }

    def test_any_key_replans_on_every_member_change(self, built: tuple[Site, Engine]) -> None:
        """``"*"``: a reader that iterated a collection, fields not known, moves on any change."""
        site, engine = built
        root = site.root
        engine.record_reads(root / TOPICS, collections={"pages": {"*"}})
        engine.record_reads(root / DIGEST, collections={"pages": {"title"}})
        engine.commit(engine.plan())
        write_page(root, "blog/p1.md", title="P1", author="ann", body="body 1, longer")
        plan = engine.plan()
        planned = {p.relative_to(root).as_posix() for p in plan.pages}
        assert TOPICS in planned, plan.why(root / TOPICS)
        assert plan.why(root / TOPICS)[0] == (
            "shows something of blog/p1.md, which changed (content in pages)"
        )
        assert DIGEST not in planned  # it showed titles only
