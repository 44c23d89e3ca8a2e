"""The files adapter and front matter: real directories, unicode names, bad input."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from incrbuild import ChangeSet, FrontMatterError, IndexRegistry, SourceError
from incrbuild._frontmatter import parse_front_matter
from incrbuild.adapters.files import FilesLoader, load_site, open_engine, read_page, walk_content


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


class TestParseFrontMatter:
    def test_yaml(self) -> None:
        """YAML front matter becomes metadata, dates become ISO strings."""
        meta, body = parse_front_matter(
            "---\ntitle: Hi\ndate: 2024-01-02\ntags: [a, b]\n---\nBody\n", Path("p.md")
        )
        assert meta == {"title": "Hi", "date": "2024-01-02", "tags": ["a", "b"]}
        assert body == "Body\n"

    def test_toml(self) -> None:
        """TOML front matter between ``+++`` fences is read too."""
        meta, body = parse_front_matter(
            '+++\ntitle = "Hi"\n[cascade]\nlayout = "x"\n+++\nBody', Path("p.md")
        )
        assert meta == {"title": "Hi", "cascade": {"layout": "x"}}
        assert body == "Body"

    def test_no_front_matter(self) -> None:
        """A page without fences has empty metadata and its whole text as body."""
        assert parse_front_matter("# Title\n", Path("p.md")) == ({}, "# Title\n")

    def test_empty_front_matter(self) -> None:
        """An empty block is empty metadata, not an error."""
        assert parse_front_matter("---\n---\nx", Path("p.md")) == ({}, "x")

    def test_bad_yaml_names_file_and_line(self) -> None:
        """A YAML syntax error names the file and the line within the file."""
        with pytest.raises(FrontMatterError) as caught:
            parse_front_matter("---\ntitle: ok\ntags: [a, b\nx: 1\n---\n", Path("dir/p.md"))
        assert caught.value.path == Path("dir/p.md")
        assert caught.value.line in (3, 4)
        assert str(caught.value).startswith(f"dir/p.md:{caught.value.line}: bad front matter")

    def test_bad_toml_names_file_and_line(self) -> None:
        """A TOML syntax error names the file and its line."""
        with pytest.raises(FrontMatterError) as caught:
            parse_front_matter('+++\ntitle = "x"\ntags = \n+++\n', Path("p.md"))
        assert caught.value.line == 3

    def test_unclosed_fence(self) -> None:
        """An opening fence without a closing one is reported on line 1."""
        with pytest.raises(FrontMatterError, match="no closing"):
            parse_front_matter("---\ntitle: x\n", Path("p.md"))

    def test_not_a_mapping(self) -> None:
        """Front matter that is a list, not a mapping, is an error."""
        with pytest.raises(FrontMatterError, match="mapping"):
            parse_front_matter("---\n- a\n- b\n---\n", Path("p.md"))

    @pytest.mark.parametrize(
        ("text", "field"),
        [("tags: 3", "tags"), ("cascade: [1]", "cascade")],
    )
    def test_wrong_field_shapes(self, text: str, field: str) -> None:
        """``tags`` that is a number or ``cascade`` that is a list is rejected with its name."""
        with pytest.raises(FrontMatterError, match=field):
            parse_front_matter(f"---\n{text}\n---\n", Path("p.md"))


class TestLoadSite:
    def test_layout(self, tmp_path: Path) -> None:
        """Directories become sections, ``_index.md`` their index, root files root-level."""
        write(tmp_path / "_index.md", "---\ntitle: Home\n---\n")
        write(tmp_path / "about.md", "---\ntitle: About\n---\n")
        write(tmp_path / "docs" / "_index.md", "---\ncascade: {layout: doc}\n---\n")
        write(tmp_path / "docs" / "intro.md", "---\ntags: [x]\n---\n")
        write(tmp_path / "docs" / "api" / "ref.md", "ref")
        write(tmp_path / "docs" / "image.png", "not a page")
        write(tmp_path / ".hidden" / "secret.md", "skip")
        site = load_site(tmp_path)
        registry = IndexRegistry(site)
        paths = sorted(p.source_path.relative_to(tmp_path).as_posix() for p in site.pages)
        assert paths == [
            "_index.md",
            "about.md",
            "docs/_index.md",
            "docs/api/ref.md",
            "docs/intro.md",
        ]
        docs = registry.section_by_path(tmp_path / "docs")
        assert docs is not None
        assert docs.index_page is registry.page_for(tmp_path / "docs" / "_index.md")
        assert [s.path for s in docs.subsections] == [tmp_path / "docs" / "api"]
        assert registry.is_root_level(registry.page_for(tmp_path / "about.md"))  # type: ignore[arg-type]

    def test_unicode_and_odd_names(self, tmp_path: Path) -> None:
        """Unicode and spaces in file and directory names load like any other."""
        write(tmp_path / "日本語" / "ページ.md", "---\ntitle: こんにちは\n---\n")
        write(tmp_path / "with space" / "a b.md", "---\ntitle: x\n---\n")
        site = load_site(tmp_path)
        titles = sorted(p.metadata["title"] for p in site.pages)
        assert titles == ["x", "こんにちは"]

    def test_bad_front_matter_is_a_clear_error(self, tmp_path: Path) -> None:
        """A bad page stops the load with its path and line, not a traceback from YAML."""
        bad = write(tmp_path / "s" / "bad.md", "---\ntitle: [oops\n---\n")
        with pytest.raises(FrontMatterError) as caught:
            load_site(tmp_path)
        assert caught.value.path == bad
        assert f"{bad}:" in str(caught.value)

    def test_not_utf8_is_a_clear_error(self, tmp_path: Path) -> None:
        """A page that is not UTF-8 is reported as such."""
        (tmp_path / "latin.md").write_bytes(b"---\ntitle: caf\xe9\n---\n")
        with pytest.raises(SourceError, match="not UTF-8"):
            load_site(tmp_path)

    def test_unreadable_page_is_a_clear_error(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A page that cannot be read is reported with its path and the system's reason."""
        page = write(tmp_path / "locked.md", "x")
        if os.geteuid() == 0:  # root reads regardless of mode bits: fail the read itself
            real = Path.read_bytes

            def refuse(self: Path) -> bytes:
                if self == page:
                    raise PermissionError(13, "Permission denied", str(self))
                return real(self)

            monkeypatch.setattr(Path, "read_bytes", refuse)
        else:
            page.chmod(0)
        with pytest.raises(SourceError, match="cannot read: Permission denied") as caught:
            read_page(page)
        assert caught.value.path == page

    def test_missing_content_dir(self, tmp_path: Path) -> None:
        """A content directory that does not exist is a clear error."""
        with pytest.raises(SourceError, match="does not exist"):
            load_site(tmp_path / "nope")

    def test_symlink_loop_does_not_trap_the_walk(self, tmp_path: Path) -> None:
        """A directory link pointing at its parent is not followed."""
        write(tmp_path / "s" / "a.md", "a")
        (tmp_path / "s" / "loop").symlink_to(tmp_path / "s")
        pages, _dirs = walk_content(tmp_path)
        assert pages == [tmp_path / "s" / "a.md"]


class TestFilesLoader:
    def test_reads_only_changed_pages(self, tmp_path: Path) -> None:
        """A loader fed a change set reads only the changed pages' sources."""
        pages = [write(tmp_path / "s" / f"{i}.md", f"---\ntitle: P{i}\n---\n") for i in range(20)]
        loader = FilesLoader(tmp_path)
        every = ChangeSet(added=frozenset(pages))
        site = loader(every, {})
        assert loader.last_reads == 20
        known = {p.source_path: p.metadata for p in site.pages}
        write(pages[3], "---\ntitle: Changed\n---\n")
        same = loader(ChangeSet(modified=frozenset({pages[3]})), known)
        assert same is site
        assert loader.last_reads == 1
        assert [p.metadata["title"] for p in site.pages if p.source_path == pages[3]] == ["Changed"]

    def test_adding_a_page_rebuilds_the_model_without_rereading(self, tmp_path: Path) -> None:
        """Adding a page reads that page only, reusing stored metadata for the rest."""
        pages = [write(tmp_path / f"{i}.md", f"---\ntitle: P{i}\n---\n") for i in range(5)]
        loader = FilesLoader(tmp_path)
        site = loader(ChangeSet(added=frozenset(pages)), {})
        known = {p.source_path: dict(p.metadata) for p in site.pages}
        new = write(tmp_path / "new" / "n.md", "---\ntitle: N\n---\n")
        grown = loader(ChangeSet(added=frozenset({new})), known)
        assert loader.last_reads == 1
        assert len(grown.pages) == 6
        assert [s.path for s in grown.sections] == [tmp_path / "new"]

    def test_pages_own_their_front_matter(self, tmp_path: Path) -> None:
        """A page reused or kept after a failed read gets a copy of the known front matter."""
        good = write(tmp_path / "s" / "good.md", "---\ntitle: Good\n---\n")
        bad = write(tmp_path / "s" / "bad.md", "---\ntitle: [unclosed\n---\n")
        known = {good: {"title": "Good"}, bad: {"title": "Before"}}
        site = FilesLoader(tmp_path)(ChangeSet(modified=frozenset({bad})), known)
        by_path = {page.source_path: page for page in site.pages}
        for path in (good, bad):
            assert by_path[path].metadata == known[path]
            assert by_path[path].metadata is not known[path]


class TestOpenEngine:
    def test_warm_plan_reads_one_file_of_many(self, tmp_path: Path) -> None:
        """On a 500-page tree with one edit, a warm plan reads that one page's contents."""
        pages = [
            write(tmp_path / "c" / f"s{i % 10}" / f"{i}.md", f"---\ntitle: P{i}\n---\n")
            for i in range(500)
        ]
        engine = open_engine(tmp_path / "c", state_dir=tmp_path / "state")
        first = engine.plan()
        assert first.stats.pages_read == 500
        engine.commit(first)
        write(pages[42], "---\ntitle: P42 edited\n---\n")
        cold = open_engine(tmp_path / "c", state_dir=tmp_path / "state")
        plan = cold.plan()
        assert plan.stats.pages_read == 1
        assert plan.pages == {pages[42]}


@pytest.mark.parametrize(
    "name",
    ["b.md", ".md", "b.MD", "b.markdown", "b.md.", "b", "b.txt", "..md", "x.Markdown", "a.md.txt"],
)
def test_page_sources_are_told_from_text_as_from_paths(name: str, tmp_path: Path) -> None:
    """The loader's check on a path's text agrees with ``is_page_source`` (``Path.suffix``)."""
    from incrbuild.adapters.files import _is_page_text, is_page_source

    path = tmp_path / "d.md" / name
    assert _is_page_text(os.fspath(path)) == is_page_source(path)
