"""The plugin's oracle: after any batch of edits, ``--dirty`` with the plugin equals a clean build.

A hypothesis state machine edits a real MkDocs project (theme ``mkdocs``,
``pymdownx.snippets``, an ``overrides`` directory): page bodies, titles,
headings, snippets, template overrides, ``mkdocs.yml`` (site name, an explicit
nav, Markdown extensions), added, deleted and renamed pages, and outputs deleted or
edited (or the whole site directory replaced by a copy) behind the plugin's back.  After each batch
it builds ``site/`` with the plugin and ``dirty=True`` and compares every byte
with a clean build into a fresh directory.  Beside it, plain ``--dirty`` (no
plugin) builds ``plain/`` and the files it leaves stale are counted, to show
what the plugin fixes; the count is reported, not asserted.

The default run uses few, short examples; ``nox -s mkdocs`` runs many more.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import ClassVar

import pytest

if os.environ.get("INCRBUILD_REQUIRE_MKDOCS"):
    import mkdocs  # noqa: F401  (nox -s mkdocs: a missing MkDocs is an error, not a skip)
else:
    pytest.importorskip("mkdocs")
    pytest.importorskip("pymdownx")

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from tests.mkdocs.project import Project, differences, tree


def _has_material() -> bool:
    import importlib.util

    return importlib.util.find_spec("material") is not None


WORDS = st.sampled_from(["alpha", "beta", "gamma", "delta", "Ünïcode", "zeta"])
SLOTS = 8  # page names p0..p7, in the root or in "guide/"
OVERRIDE = (
    '{% extends "base.html" %}\n'
    "{% block content %}<p>override {{ page.title }} MARK</p>{{ super() }}{% endblock %}\n"
)


def page_text(title: str, body: str, heading: str, snippet: int | None, link: str | None) -> str:
    lines = [f"# {title}", "", body, "", f"## {heading}", ""]
    if snippet is not None:
        lines += [f'--8<-- "s{snippet}.md"', ""]
    if link is not None:
        lines += [f"See [the other page]({link}).", ""]
    return "\n".join(lines)


class PluginOracle(RuleBasedStateMachine):
    """Random edit batches; the plugin's dirty build must equal a clean one."""

    stale_counts: ClassVar[list[int]] = []

    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="incrbuild-mkdocs-"))
        self.project = Project(self.tmp / "project")
        self.pages: dict[
            str, list[object]
        ] = {}  # docs-relative path -> [title, body, heading, snippet, link]

    def teardown(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- helpers ---------------------------------------------------------------------

    def _write_page(self, path: str) -> None:
        title, body, heading, snippet, link = self.pages[path]
        self.project.write(
            f"docs/{path}",
            page_text(str(title), str(body), str(heading), snippet, link),  # type: ignore[arg-type]
        )

    def _link_for(self, path: str, target: str) -> str:
        return os.path.relpath(target, os.path.dirname(path) or ".").replace(os.sep, "/")

    # -- setup -------------------------------------------------------------------------

    @initialize(count=st.integers(2, 5), data=st.data())
    def start(self, count: int, data: st.DataObject) -> None:
        self.project.write("snippets/s0.md", "snippet zero\n")
        self.project.write("snippets/s1.md", "snippet one\n")
        self.pages["index.md"] = ["Home", "welcome", "Start", 0, None]
        self._write_page("index.md")
        for n in range(count):
            path = f"guide/p{n}.md" if data.draw(st.booleans()) else f"p{n}.md"
            self.pages[path] = [f"Page {n}", "text", "Part", None, "index.md"]
            self.pages[path][4] = self._link_for(path, "index.md")
            self._write_page(path)
        self.project.build(self.tmp / "site", plugin=True, dirty=False)
        self.project.build(self.tmp / "plain", plugin=False, dirty=False)

    # -- edits -------------------------------------------------------------------------

    @rule(data=st.data(), word=WORDS)
    def edit_body(self, data: st.DataObject, word: str) -> None:
        path = data.draw(st.sampled_from(sorted(self.pages)))
        self.pages[path][1] = f"{self.pages[path][1]} {word}"
        self._write_page(path)

    @rule(data=st.data(), word=WORDS)
    def edit_title(self, data: st.DataObject, word: str) -> None:
        path = data.draw(st.sampled_from(sorted(self.pages)))
        self.pages[path][0] = f"{word} {len(str(self.pages[path][0]))}"
        self._write_page(path)

    @rule(data=st.data(), word=WORDS)
    def edit_heading(self, data: st.DataObject, word: str) -> None:
        path = data.draw(st.sampled_from(sorted(self.pages)))
        self.pages[path][2] = word
        self._write_page(path)

    @rule(data=st.data(), which=st.sampled_from([0, 1, None]))
    def include_snippet(self, data: st.DataObject, which: int | None) -> None:
        path = data.draw(st.sampled_from(sorted(self.pages)))
        self.pages[path][3] = which
        self._write_page(path)

    @rule(which=st.integers(0, 2), word=WORDS)
    def edit_snippet(self, which: int, word: str) -> None:
        # s2 does not exist at first: creating it must reach no page, editing s0/s1 their users.
        self.project.write(f"snippets/s{which}.md", f"snippet {which} {word}\n")

    @rule(present=st.booleans())
    def template_override(self, present: bool) -> None:
        target = self.project.root / "overrides" / "main.html"
        if present:
            self.project.write("overrides/main.html", OVERRIDE)
        elif target.exists():
            target.unlink()

    @rule(name=WORDS)
    def config_site_name(self, name: str) -> None:
        self.project.config["site_name"] = f"Oracle {name}"
        self.project.write_config()

    @rule(data=st.data())
    def config_nav(self, data: st.DataObject) -> None:
        if data.draw(st.booleans()):
            self.project.config.pop("nav", None)
        else:
            listed = data.draw(st.permutations(sorted(self.pages)))
            nav: list[object] = []
            for n, path in enumerate(listed):
                nav.append({f"Nav {n}": path} if n % 2 else path)
            self.project.config["nav"] = nav
        self.project.write_config()

    @rule(admonition=st.booleans())
    def config_extensions(self, admonition: bool) -> None:
        extensions = [e for e in self.project.config["markdown_extensions"] if e != "admonition"]
        if admonition:
            extensions.append("admonition")
        self.project.config["markdown_extensions"] = extensions
        self.project.write_config()

    @precondition(lambda self: len(self.pages) < 10)
    @rule(n=st.integers(0, SLOTS - 1), nested=st.booleans(), word=WORDS)
    def add_page(self, n: int, nested: bool, word: str) -> None:
        path = f"guide/p{n}.md" if nested else f"p{n}.md"
        if path in self.pages:
            return
        self.pages[path] = [f"New {word}", word, "Intro", None, None]
        self._write_page(path)

    @precondition(lambda self: len(self.pages) > 2)
    @rule(data=st.data())
    def delete_page(self, data: st.DataObject) -> None:
        path = data.draw(st.sampled_from(sorted(p for p in self.pages if p != "index.md")))
        del self.pages[path]
        self.project.remove(f"docs/{path}")

    @precondition(lambda self: len(self.pages) > 1)
    @rule(data=st.data(), n=st.integers(0, SLOTS - 1), nested=st.booleans())
    def rename_page(self, data: st.DataObject, n: int, nested: bool) -> None:
        path = data.draw(st.sampled_from(sorted(p for p in self.pages if p != "index.md")))
        target = f"guide/p{n}.md" if nested else f"p{n}.md"
        if target in self.pages:
            return
        self.pages[target] = self.pages.pop(path)
        (self.project.docs / target).parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.project.docs / path, self.project.docs / target)
        self._write_page(target)  # its relative link may need the new depth; same text otherwise
        with_parent = (self.project.docs / path).parent
        if with_parent != self.project.docs and not any(with_parent.iterdir()):
            with_parent.rmdir()

    # -- outputs changed behind the plugin's back ---------------------------------------

    @rule(data=st.data(), delete=st.booleans())
    def tamper_output(self, data: st.DataObject, delete: bool) -> None:
        site = self.tmp / "site"
        outputs = sorted(p for p in site.rglob("*") if p.is_file())
        target = data.draw(st.sampled_from(outputs))
        if delete:
            target.unlink()
        else:  # same size, other bytes
            original = target.read_bytes()
            target.write_bytes(bytes([original[0] ^ 1]) + original[1:] if original else b"x")

    @rule()
    def put_back_an_old_site(self) -> None:
        # The site directory replaced by a copy of itself: another directory at that path.
        site, copy = self.tmp / "site", self.tmp / "site-copy"
        shutil.copytree(site, copy, copy_function=shutil.copy2)
        shutil.rmtree(site)
        copy.rename(site)

    # -- the oracle --------------------------------------------------------------------

    @invariant()
    def dirty_build_equals_clean_build(self) -> None:
        if not self.pages:
            return  # before start()
        site, plain = self.tmp / "site", self.tmp / "plain"
        self.project.build(site, plugin=True, dirty=True)
        self.project.build(plain, plugin=False, dirty=True)
        truth = self.project.truth(self.tmp / "truth")
        stale = differences(tree(plain), truth)
        PluginOracle.stale_counts.append(len(stale))
        wrong = differences(tree(site), truth)
        assert not wrong, f"the plugin's dirty build differs from a clean build in {wrong}"


# The default run keeps this short; `nox -s mkdocs` sets INCRBUILD_MKDOCS_EXAMPLES higher.
PluginOracle.TestCase.settings = settings(
    max_examples=int(os.environ.get("INCRBUILD_MKDOCS_EXAMPLES", "4")),
    stateful_step_count=int(os.environ.get("INCRBUILD_MKDOCS_STEPS", "6")),
)
TestPluginOracle = PluginOracle.TestCase


ICONS = st.sampled_from([None, "material/home", "material/star"])
SHOWN = {
    "icon": ICONS,
    "subtitle": st.sampled_from([None, "Sub one", "Sub two"]),
    "status": st.sampled_from([None, "new", "deprecated"]),
}


class MaterialOracle(PluginOracle):
    """The same machine on a project with ``theme: material`` (search is then
    ``material/search``), with the features that show other pages (tabs, footer
    prev/next, section index pages, breadcrumbs), and edits of the metadata Material's
    nav shows of each page (``icon``, ``subtitle``, ``status``)."""

    def __init__(self) -> None:
        super().__init__()
        self.project.config["theme"] = {
            "name": "material",
            "custom_dir": "overrides",
            "features": [
                "navigation.tabs",
                "navigation.footer",
                "navigation.indexes",
                "navigation.path",
                "toc.follow",
            ],
        }
        self.project.write_config()
        self.meta: dict[str, dict[str, str]] = {}

    def _write_page(self, path: str) -> None:
        super()._write_page(path)
        shown = {k: v for k, v in self.meta.get(path, {}).items() if v is not None}
        if shown:
            target = self.project.docs / path
            front = "".join(f"{key}: {value}\n" for key, value in sorted(shown.items()))
            target.write_text(f"---\n{front}---\n\n{target.read_text('utf-8')}", "utf-8")

    @rule(data=st.data(), key=st.sampled_from(sorted(SHOWN)))
    def edit_shown_meta(self, data: st.DataObject, key: str) -> None:
        path = data.draw(st.sampled_from(sorted(self.pages)))
        self.meta.setdefault(path, {})[key] = data.draw(SHOWN[key])
        self._write_page(path)


# Material builds cost more: fewer examples by default; `nox -s mkdocs` runs more.
MaterialOracle.TestCase.settings = settings(
    max_examples=int(os.environ.get("INCRBUILD_MATERIAL_EXAMPLES", "2")),
    stateful_step_count=int(os.environ.get("INCRBUILD_MATERIAL_STEPS", "5")),
)
TestMaterialOracle = pytest.mark.skipif(
    not os.environ.get("INCRBUILD_REQUIRE_MKDOCS") and not _has_material(),
    reason="mkdocs-material is not installed",
)(MaterialOracle.TestCase)
