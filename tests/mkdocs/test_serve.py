"""``mkdocs serve`` without ``--dirty``: its rebuilds are incremental and equal a clean build.

Runs MkDocs's own ``mkdocs.commands.serve.serve`` with the network side replaced:
the server's ``serve`` (bind, watch, serve forever) becomes a script of edits, each
followed by a call of the server's builder, as the watcher would make it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

if os.environ.get("INCRBUILD_REQUIRE_MKDOCS"):
    import mkdocs  # noqa: F401
else:
    pytest.importorskip("mkdocs")
    pytest.importorskip("pymdownx")

from tests.mkdocs.project import SOURCE_DATE_EPOCH, Project, differences, tree

#: What ``serve`` sets ``site_url`` to with ``dev_addr: 127.0.0.1:0``; the truth uses it too.
SERVE_URL = "http://127.0.0.1:0/"


def _edits(project: Project) -> list[tuple[str, Callable[[], None]]]:
    return [
        ("nothing", lambda: None),
        ("body", lambda: project.write("docs/b.md", "# Beta\n\n[home](index.md) edited\n")),
        ("title", lambda: project.write("docs/b.md", "# Beta renamed\n\n[home](index.md)\n")),
        ("snippet", lambda: project.write("snippets/s.md", "snippet changed\n")),
        ("add", lambda: project.write("docs/c.md", "# Gamma\n\nnew\n")),
        ("delete", lambda: project.remove("docs/a.md")),
        ("site_name", lambda: _set(project, "site_name", "Renamed")),
    ]


def _set(project: Project, key: str, value: Any) -> None:
    project.config[key] = value
    project.write_config()


@pytest.mark.parametrize("build_type", [None, "clean"])
def test_serve_rebuilds_are_incremental_and_equal_a_clean_build(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    build_type: str | None,
) -> None:
    from mkdocs.commands.serve import serve
    from mkdocs.livereload import LiveReloadServer

    project = Project(tmp_path / "project")
    project.write("docs/index.md", "# Home\n\nhello\n")
    project.write("docs/a.md", '# Alpha\n\n## One\n\n--8<-- "s.md"\n')
    project.write("docs/b.md", "# Beta\n\n[home](index.md)\n")
    project.write("snippets/s.md", "snippet\n")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH)
    checked: list[str] = []

    def script(server: LiveReloadServer, *, open_in_browser: bool = False) -> None:
        for name, edit in _edits(project):
            edit()
            caplog.clear()
            with caplog.at_level(logging.INFO):
                server.builder()
            text = caplog.text
            assert "A 'dirty' build" not in text, name
            assert "pages to render" in text, name  # planned, not a full rebuild
            assert "building everything" not in text, name
            serve_url = None if build_type == "clean" else SERVE_URL
            truth = project.truth(tmp_path / "truth", serve_url=serve_url, site_url=SERVE_URL)
            assert not differences(tree(Path(server.root)), truth), name
            checked.append(name)

    monkeypatch.setattr(LiveReloadServer, "serve", script)
    serve(str(project.root / "mkdocs.yml"), build_type=build_type, dev_addr="127.0.0.1:0")
    assert len(checked) == len(_edits(project))


def test_serve_dirty_is_left_as_it_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mkdocs.commands.serve import serve
    from mkdocs.livereload import LiveReloadServer

    project = Project(tmp_path / "project")
    project.write("docs/index.md", "# Home\n")
    seen: list[Any] = []

    def script(server: LiveReloadServer, *, open_in_browser: bool = False) -> None:
        seen.append(server.builder)

    monkeypatch.setattr(LiveReloadServer, "serve", script)
    serve(str(project.root / "mkdocs.yml"), build_type="dirty", dev_addr="127.0.0.1:0")
    assert seen[0].__module__ == "mkdocs.commands.serve"  # not wrapped: --dirty already is


def test_draft_pages_under_serve_make_full_rebuilds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # serve builds draft pages (draft_docs) too, outside the nav; MkDocs decides by mtime
    # whether to render them, and they show the nav: the plugin does not plan them.
    from mkdocs.commands.serve import serve
    from mkdocs.livereload import LiveReloadServer

    project = Project(tmp_path / "project")
    project.config["draft_docs"] = "drafts/\n"
    project.write_config()
    project.write("docs/index.md", "# Home\n\nhello\n")
    project.write("docs/b.md", "# Beta\n")
    project.write("docs/drafts/d.md", "# Draft\n\nnot yet\n")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH)
    checked: list[str] = []

    def script(server: LiveReloadServer, *, open_in_browser: bool = False) -> None:
        for name, edit in _edits(project)[:3]:
            edit()
            caplog.clear()
            with caplog.at_level(logging.INFO):
                server.builder()
            assert "draft" in caplog.text, name
            truth = project.truth(tmp_path / "truth", serve_url=SERVE_URL, site_url=SERVE_URL)
            assert not differences(tree(Path(server.root)), truth), name
            checked.append(name)

    monkeypatch.setattr(LiveReloadServer, "serve", script)
    serve(str(project.root / "mkdocs.yml"), dev_addr="127.0.0.1:0")
    assert len(checked) == 3


def test_material_serve_dirty_full_rebuild_keeps_one_search_entry_per_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Under serve --dirty Material merges the previous rebuild's index into the next,
    # assuming one page was rebuilt; after a full rebuild (here: a Markdown extension
    # added) that would duplicate every other page's entries.
    if os.environ.get("INCRBUILD_REQUIRE_MKDOCS"):
        import material  # noqa: F401
    else:
        pytest.importorskip("material")
    from mkdocs.commands.serve import serve
    from mkdocs.livereload import LiveReloadServer

    project = Project(tmp_path / "project")
    project.config["theme"] = {"name": "material"}
    # The first entry's location prefixes all others' when it is "" (the home page with
    # directory URLs): then Material's merge drops the whole previous index, harmlessly.
    project.config["use_directory_urls"] = False
    project.write_config()
    project.write("docs/index.md", "# Home\n\nhello\n")
    project.write("docs/a.md", '# Alpha\n\n## One\n\n--8<-- "s.md"\n')
    project.write("docs/b.md", "# Beta\n\n[home](index.md)\n")
    project.write("snippets/s.md", "snippet\n")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH)
    edits = [
        ("body", lambda: project.write("docs/b.md", "# Beta\n\n[home](index.md) edited\n")),
        ("extension", lambda: _set(project, "markdown_extensions", ["toc", "admonition"])),
        ("body again", lambda: project.write("docs/b.md", "# Beta\n\nagain\n")),
    ]
    checked: list[str] = []

    def script(server: LiveReloadServer, *, open_in_browser: bool = False) -> None:
        for name, edit in edits:
            edit()
            server.builder()
            truth = project.truth(tmp_path / "truth", serve_url=SERVE_URL, site_url=SERVE_URL)
            assert not differences(tree(Path(server.root)), truth), name
            checked.append(name)

    monkeypatch.setattr(LiveReloadServer, "serve", script)
    serve(str(project.root / "mkdocs.yml"), build_type="dirty", dev_addr="127.0.0.1:0")
    assert checked == [name for name, _ in edits]
