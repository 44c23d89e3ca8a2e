"""The example SSG (examples/minissg): unit tests, and the oracle that proves the planner.

The oracle is a stateful hypothesis test: it edits the example site's sources
at random (bodies, tags, titles, order, cascades, templates, configuration,
pages and sections added, removed and renamed, links added and removed) and
after every step asserts that the incremental build's output tree is
byte-identical to a from-scratch build of the same sources.  Since minissg
renders exactly what incrbuild's plan names, any difference is a change the
planner (or minissg) missed.  Some steps batch several edits into one build;
on a settled site a body edit must render exactly one page, a touch none.
"""

from __future__ import annotations

import difflib
import os
import posixpath
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs
import pytest
import yaml
from examples.minissg import Builder, BuildReport, build
from examples.minissg.__main__ import main
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from incrbuild import Engine, ReasonKind
from incrbuild.adapters.files import open_engine, read_page

SAMPLE_SITE = Path(__file__).resolve().parent.parent / "examples" / "minissg" / "site"

#: Section directories the machine may create pages in ("" is the content root).
SECTION_DIRS = ("", "docs", "docs/guide", "docs/guide/deep", "blog", "blog/old", "news")
#: Names of new pages (never the name of a section directory, so URLs cannot collide).
PAGE_NAMES = ("alpha", "beta", "gamma", "delta")
TAGS = ("basics", "news", "setup", "extra")
TITLES = ("Alpha", "Beta", "Zeta", "Omega page")
DATES = ("2023-05-01", "2024-01-15", "2024-06-30")
CASCADE_VALUES: dict[str, tuple[Any, ...]] = {
    "banner": ("Hello", "Read me", ""),
    "layout": ("wide", "plain", ""),
    "tags": (["extra"], ["news", "setup"], []),
    "date": DATES[:2],
}
#: Templates the machine may add and remove (layouts chosen by cascaded ``layout``).
OPTIONAL_TEMPLATES = {
    "page-plain.html": '{% extends "page.html" %}\n{% block layout %}plain{% endblock %}\n',
    "section-wide.html": '{% extends "section.html" %}\n{% block title %}Wide {{ page.title }}'
    "{% endblock %}\n",
}
_LINK = re.compile(r"\[[^\]]*\]\([^)]*\)")


def write_source(path: Path, metadata: dict[str, Any], body: str) -> None:
    """Write a page source: YAML front matter (when there is any) and a Markdown body."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = body
    if metadata:
        text = f"---\n{yaml.safe_dump(metadata, sort_keys=True)}---\n{body}"
    path.write_text(text, encoding="utf-8")


def output_tree(root: Path) -> dict[str, bytes]:
    """Return every file below *root* (hidden entries skipped) by relative POSIX path."""
    tree: dict[str, bytes] = {}
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if not name.startswith("."):
                path = Path(directory, name)
                tree[path.relative_to(root).as_posix()] = path.read_bytes()
    return tree


def describe_difference(
    incremental: dict[str, bytes], full: dict[str, bytes], report: BuildReport
) -> str:
    """Explain how two output trees differ, with a diff of the first differing file."""
    lines = []
    missing = sorted(full.keys() - incremental.keys())
    extra = sorted(incremental.keys() - full.keys())
    differ = sorted(k for k in full.keys() & incremental.keys() if full[k] != incremental[k])
    if missing:
        lines.append(f"missing from the incremental build: {missing}")
    if extra:
        lines.append(f"stale in the incremental build: {extra}")
    if differ:
        lines.append(f"different: {differ}")
        first = differ[0]
        diff = difflib.unified_diff(
            incremental[first].decode().splitlines(),
            full[first].decode().splitlines(),
            "incremental/" + first,
            "full/" + first,
            lineterm="",
        )
        lines.extend(list(diff)[:40])
    plan = report.plan
    if plan is not None:
        lines.append(f"plan: pages={sorted(p.as_posix() for p in plan.pages)}")
        lines.append(f"      sections={sorted(p.as_posix() for p in plan.sections)}")
        lines.append(f"      terms={sorted(plan.terms)} removed_terms={sorted(plan.removed_terms)}")
        lines.append(f"      changes={plan.changes}")
    return "\n".join(lines)


@attrs.define
class OracleTotals:
    """What the oracle's incremental builds did, summed over a whole run."""

    steps: int = 0
    site_pages: int = 0
    pages_rendered: int = 0
    outputs_rendered: int = 0
    outputs_changed: int = 0
    full_builds: int = 0

    def summary(self) -> str:
        """Return the totals as one line."""
        return (
            f"{self.steps} incremental builds ({self.full_builds} full): rendered "
            f"{self.pages_rendered} of {self.site_pages} page sources and "
            f"{self.outputs_rendered} outputs; {self.outputs_changed} outputs actually changed"
        )


TOTALS = OracleTotals()


class ExampleSiteMachine(RuleBasedStateMachine):
    """Edits a copy of the sample site; every incremental build must equal a full one."""

    def __init__(self) -> None:
        super().__init__()
        self.workdir = Path(tempfile.mkdtemp(prefix="minissg-oracle-"))
        self.site = self.workdir / "site"
        self.content = self.site / "content"
        self.templates = self.site / "templates"
        self.config = self.site / "config.toml"
        self.output = self.workdir / "out_inc"
        self.pages: dict[str, tuple[dict[str, Any], str]] = {}
        self.edits = 0
        # Builds to skip, so that several edits reach one build (as in a watcher's batch).
        self.hold = 0
        # Minimality checks of the next build: the pages it renders, or no work at all.
        self.expected_pages: set[Path] | None = None
        self.expect_no_work = False
        self.builder: Builder | None = None

    def teardown(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)

    # -- helpers -------------------------------------------------------------------------

    def new_builder(self) -> Builder:
        return Builder(
            self.content,
            self.templates,
            self.output,
            state_dir=self.workdir / "state_inc",
            config_file=self.config,
        )

    def put(self, relative: str, metadata: dict[str, Any], body: str) -> None:
        self.pages[relative] = (metadata, body)
        write_source(self.content / relative, metadata, body)

    def drop(self, relative: str) -> None:
        del self.pages[relative]
        (self.content / relative).unlink()

    def next_text(self) -> str:
        self.edits += 1
        return f"Edit number {self.edits}."

    def pick_page(self, data: st.DataObject, *, index: bool | None = None) -> str:
        choices = sorted(p for p in self.pages if index is None or p.endswith("_index.md") == index)
        return data.draw(st.sampled_from(choices), label="page")

    def section_dirs(self) -> set[str]:
        """Directories holding at least one page, and the directories above them."""
        found = {""}
        for relative in self.pages:
            directory = posixpath.dirname(relative)
            while directory:
                found.add(directory)
                directory = posixpath.dirname(directory)
        return found

    def has_regular_pages(self) -> bool:
        return any(not p.endswith("_index.md") for p in self.pages)

    def settle(self) -> None:
        """Build once more, so that the next build has nothing left over to re-check.

        A template a build reads for the first time is recorded only if it is
        provably older than the build (outside incrbuild's 2-second racy
        window); a fresh one counts as added in the next plan, which re-renders
        its users.  After one more build everything read is recorded, so the
        next build renders exactly what the next edit affects.
        """
        assert self.builder is not None
        self.builder.build()
        self.hold = 0

    # -- setup ---------------------------------------------------------------------------

    @initialize()
    def copy_sample_site(self) -> None:
        shutil.copytree(SAMPLE_SITE, self.site)
        for path in sorted(self.content.rglob("*.md")):
            metadata, body = read_page(path)
            self.pages[path.relative_to(self.content).as_posix()] = (metadata, body)
        self.builder = self.new_builder()

    # -- page content ----------------------------------------------------------------------

    @precondition(lambda self: self.pages)
    @rule(data=st.data())
    def edit_body(self, data: st.DataObject) -> None:
        page = self.pick_page(data)
        metadata, body = self.pages[page]
        self.put(page, metadata, f"{body.rstrip()}\n\n{self.next_text()}\n")

    @precondition(lambda self: self.pages)
    @rule(data=st.data(), tags=st.lists(st.sampled_from(TAGS), unique=True, max_size=2))
    def set_tags(self, data: st.DataObject, tags: list[str]) -> None:
        page = self.pick_page(data)
        metadata, body = self.pages[page]
        changed = {k: v for k, v in metadata.items() if k != "tags"}
        if tags:
            changed["tags"] = tags
        self.put(page, changed, body)

    @precondition(lambda self: self.pages)
    @rule(data=st.data(), title=st.none() | st.sampled_from(TITLES))
    def set_title(self, data: st.DataObject, title: str | None) -> None:
        page = self.pick_page(data)
        metadata, body = self.pages[page]
        changed = {k: v for k, v in metadata.items() if k != "title"}
        if title is not None:
            changed["title"] = title
        self.put(page, changed, body)

    @precondition(lambda self: self.pages)
    @rule(
        data=st.data(),
        weight=st.none() | st.integers(1, 3),
        date=st.none() | st.sampled_from(DATES),
    )
    def set_order(self, data: st.DataObject, weight: int | None, date: str | None) -> None:
        page = self.pick_page(data)
        metadata, body = self.pages[page]
        changed = {k: v for k, v in metadata.items() if k not in ("weight", "date")}
        if weight is not None:
            changed["weight"] = weight
        if date is not None:
            changed["date"] = date
        self.put(page, changed, body)

    @precondition(lambda self: any(p.endswith("_index.md") for p in self.pages))
    @rule(data=st.data(), key=st.sampled_from(sorted(CASCADE_VALUES)))
    def set_cascade(self, data: st.DataObject, key: str) -> None:
        page = self.pick_page(data, index=True)
        value = data.draw(st.none() | st.sampled_from(CASCADE_VALUES[key]), label="value")
        metadata, body = self.pages[page]
        cascade = dict(metadata.get("cascade") or {})
        if value is None:
            cascade.pop(key, None)
        else:
            cascade[key] = value
        changed = {k: v for k, v in metadata.items() if k != "cascade"}
        if cascade:
            changed["cascade"] = cascade
        self.put(page, changed, body)

    @precondition(lambda self: self.pages)
    @rule(data=st.data())
    def edit_body_alone(self, data: st.DataObject) -> None:
        """Edit one page's body on a settled site: exactly that page is rendered."""
        self.settle()
        page = self.pick_page(data)
        metadata, body = self.pages[page]
        self.put(page, metadata, f"{body.rstrip()}\n\nOnly the body: {self.next_text()}\n")
        self.expected_pages = {self.content / page}

    @precondition(lambda self: self.pages)
    @rule(data=st.data())
    def same_size_edit(self, data: st.DataObject) -> None:
        """Change a built page without changing its size, and restore its old mtime."""
        page = self.pick_page(data)
        metadata, body = self.pages[page]
        marks = {"Mark: A.\n": "Mark: B.\n", "Mark: B.\n": "Mark: A.\n"}
        last = body[-len("Mark: A.\n") :]
        if last not in marks:
            last = "Mark: A.\n"
            body = f"{body.rstrip()}\n\n{last}"
            self.put(page, metadata, body)
            self.settle()  # the page with its mark is built and recorded
        path = self.content / page
        before = path.stat()
        self.put(page, metadata, body[: -len(last)] + marks[last])
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert path.stat().st_size == before.st_size

    @precondition(lambda self: self.pages)
    @rule(data=st.data())
    def touch(self, data: st.DataObject) -> None:
        """Rewrite a source with the same bytes on a settled site: a new stat, no work."""
        self.settle()
        page = self.pick_page(data)
        path = self.content / page
        path.write_bytes(path.read_bytes())
        self.expect_no_work = True

    # -- links -----------------------------------------------------------------------------

    @precondition(lambda self: self.pages)
    @rule(data=st.data(), rooted=st.booleans(), text=st.sampled_from(["", "see this"]))
    def add_link(self, data: st.DataObject, rooted: bool, text: str) -> None:
        page = self.pick_page(data)
        candidates = sorted({*self.pages, "docs/missing.md", "news/alpha.md"} - {page})
        target = data.draw(st.sampled_from(candidates), label="target")
        href = "/" + target if rooted else posixpath.relpath(target, posixpath.dirname(page) or ".")
        metadata, body = self.pages[page]
        self.put(page, metadata, f"{body.rstrip()}\n\nLink: [{text}]({href}).\n")

    @precondition(lambda self: any(_LINK.search(body) for _, body in self.pages.values()))
    @rule(data=st.data())
    def remove_links(self, data: st.DataObject) -> None:
        linking = sorted(p for p, (_, body) in self.pages.items() if _LINK.search(body))
        page = data.draw(st.sampled_from(linking), label="page")
        metadata, body = self.pages[page]
        self.put(page, metadata, _LINK.sub("a link", body))

    # -- pages and sections -------------------------------------------------------------

    @rule(
        directory=st.sampled_from(SECTION_DIRS),
        name=st.sampled_from(PAGE_NAMES),
        tags=st.lists(st.sampled_from(TAGS), unique=True, max_size=2),
        weight=st.none() | st.integers(1, 3),
    )
    def add_page(self, directory: str, name: str, tags: list[str], weight: int | None) -> None:
        page = posixpath.join(directory, f"{name}.md")
        if page in self.pages:
            return
        metadata: dict[str, Any] = {"title": name.capitalize()}
        if tags:
            metadata["tags"] = tags
        if weight is not None:
            metadata["weight"] = weight
        self.put(page, metadata, f"The {name} page. {self.next_text()}\n")

    @precondition(lambda self: self.has_regular_pages())
    @rule(data=st.data())
    def remove_page(self, data: st.DataObject) -> None:
        self.drop(self.pick_page(data, index=False))

    @precondition(lambda self: self.has_regular_pages())
    @rule(
        data=st.data(),
        directory=st.sampled_from(SECTION_DIRS),
        name=st.sampled_from(PAGE_NAMES),
    )
    def rename_page(self, data: st.DataObject, directory: str, name: str) -> None:
        """Move a page (``os.rename``: same inode and mtime) within or across sections."""
        page = self.pick_page(data, index=False)
        target = posixpath.join(directory, f"{name}.md")
        if target in self.pages:
            return
        (self.content / target).parent.mkdir(parents=True, exist_ok=True)
        os.rename(self.content / page, self.content / target)
        self.pages[target] = self.pages.pop(page)

    @precondition(lambda self: len(self.section_dirs()) > 1)
    @rule(data=st.data())
    def rename_section(self, data: st.DataObject) -> None:
        """Move a whole directory (``os.rename``: its files keep their inodes and mtimes)."""
        existing = self.section_dirs()
        source = data.draw(st.sampled_from(sorted(existing - {""})), label="from")
        targets = sorted(
            d
            for d in SECTION_DIRS
            if d not in existing and not d.startswith(source + "/") and d != source
        )
        if not targets:
            return
        target = data.draw(st.sampled_from(targets), label="to")
        where = self.content / target
        if where.exists():
            shutil.rmtree(where)  # left behind empty by earlier moves: holds no page
        where.parent.mkdir(parents=True, exist_ok=True)
        os.rename(self.content / source, where)
        prefix = source + "/"
        for page in sorted(p for p in self.pages if p.startswith(prefix)):
            self.pages[target + "/" + page.removeprefix(prefix)] = self.pages.pop(page)

    @rule(
        directory=st.sampled_from([d for d in SECTION_DIRS if d]),
        with_index=st.booleans(),
        count=st.integers(1, 2),
    )
    def add_section(self, directory: str, with_index: bool, count: int) -> None:
        if directory in self.section_dirs():
            return
        if with_index:
            cascade = {"banner": f"Section {directory}"}
            self.put(f"{directory}/_index.md", {"title": directory, "cascade": cascade}, "")
        for name in PAGE_NAMES[:count]:
            self.put(f"{directory}/{name}.md", {"title": name.capitalize()}, "Text.\n")

    @precondition(lambda self: len(self.section_dirs()) > 1)
    @rule(data=st.data())
    def remove_section(self, data: st.DataObject) -> None:
        directory = data.draw(st.sampled_from(sorted(self.section_dirs() - {""})), label="dir")
        for page in [p for p in self.pages if p.startswith(directory + "/")]:
            del self.pages[page]
        shutil.rmtree(self.content / directory)

    @rule(data=st.data())
    def toggle_index(self, data: st.DataObject) -> None:
        """Add a section's ``_index.md`` (with a cascade), or remove it."""
        directory = data.draw(st.sampled_from(sorted(self.section_dirs())), label="dir")
        index = posixpath.join(directory, "_index.md")
        if index in self.pages:
            self.drop(index)
        else:
            metadata = {"title": f"Index of {directory or 'home'}", "cascade": {"layout": "wide"}}
            self.put(index, metadata, "An index page.\n")

    # -- templates and configuration ----------------------------------------------------

    @rule(data=st.data())
    def edit_template(self, data: st.DataObject) -> None:
        names = sorted(p.name for p in self.templates.glob("*.html"))
        name = data.draw(st.sampled_from(names), label="template")
        path = self.templates / name
        path.write_text(f"{path.read_text()}<!-- {self.next_text()} -->\n")

    @rule(name=st.sampled_from(sorted(OPTIONAL_TEMPLATES)))
    def toggle_template(self, name: str) -> None:
        path = self.templates / name
        if path.exists():
            path.unlink()
        else:
            path.write_text(OPTIONAL_TEMPLATES[name])

    @rule(title=st.sampled_from(["Minissg example", "Another title"]))
    def edit_config(self, title: str) -> None:
        self.config.write_text(f'title = "{title}"\n')

    @precondition(lambda self: self.hold == 0)
    @rule(edits=st.integers(1, 3))
    def start_batch(self, edits: int) -> None:
        """Let the next 2 to 4 edits reach a single build together."""
        self.hold = edits + 1

    @rule()
    def restart_builder(self) -> None:
        """Forget the in-memory engine: the next build starts from the state on disk."""
        self.builder = self.new_builder()

    # -- the oracle ----------------------------------------------------------------------

    @invariant()
    def incremental_equals_full(self) -> None:
        """The incremental build's output equals a full build's, and is no bigger than needed."""
        if self.hold:
            self.hold -= 1
            return
        assert self.builder is not None
        report = self.builder.build()
        with tempfile.TemporaryDirectory(prefix="minissg-full-") as scratch:
            full_out = Path(scratch, "out")
            build(
                self.content,
                self.templates,
                full_out,
                incremental=False,
                state_dir=Path(scratch, "state"),
                config_file=self.config,
            )
            full = output_tree(full_out)
        incremental = output_tree(self.output)
        assert incremental == full, describe_difference(incremental, full, report)
        assert not report.errors
        assert report.plan is not None
        if self.expected_pages is not None:
            rendered = set(report.plan.pages)
            assert rendered == self.expected_pages, "a body edit must render that page only"
            assert (report.pages, report.listings, report.terms, report.written) == (1, 0, 0, 1)
            self.expected_pages = None
        if self.expect_no_work:
            assert report.rendered == 0, "an unchanged source must not be rendered"
            self.expect_no_work = False
        TOTALS.steps += 1
        TOTALS.site_pages += report.site_pages
        TOTALS.pages_rendered += report.pages
        TOTALS.outputs_rendered += report.rendered
        TOTALS.outputs_changed += report.changed
        TOTALS.full_builds += report.full


def write_site(root: Path) -> tuple[Path, Path, Path]:
    """Copy the sample site into *root*; return its content, templates and config paths."""
    site = root / "site"
    shutil.copytree(SAMPLE_SITE, site)
    return site / "content", site / "templates", site / "config.toml"


def page_names(paths: Iterable[Path], root: Path) -> list[str]:
    """Return *paths* relative to *root*, as sorted POSIX strings."""
    return sorted(path.relative_to(root).as_posix() for path in paths)


@pytest.fixture
def sample(tmp_path: Path) -> Builder:
    """A builder of a fresh copy of the sample site, built from scratch, then settled.

    The copy's templates are new, so the first build cannot prove they did not
    change while it read them (incrbuild's racy window): the second build
    re-renders their users once and records them.  Tests start after that.
    """
    content, templates, config = write_site(tmp_path)
    builder = Builder(content, templates, tmp_path / "public", config_file=config)
    builder.build()
    builder.build()
    return builder


class TestFullBuild:
    def test_outputs(self, sample: Builder) -> None:
        """A full build writes every page, listing and tag page of the sample site."""
        assert sorted(output_tree(sample.output_dir)) == [
            "about/index.html",
            "blog/first-post/index.html",
            "blog/index.html",
            "blog/second-post/index.html",
            "docs/guide/advanced/index.html",
            "docs/guide/basics/index.html",
            "docs/guide/index.html",
            "docs/index.html",
            "docs/install/index.html",
            "docs/intro/index.html",
            "index.html",
            "tags/advanced/index.html",
            "tags/basics/index.html",
            "tags/index.html",
            "tags/news/index.html",
            "tags/setup/index.html",
        ]

    def test_cascade_and_links(self, sample: Builder) -> None:
        """Cascaded layout and banner apply, nearest first; links show their target's title."""
        out = sample.output_dir
        intro = (out / "docs/intro/index.html").read_text()
        assert '<article class="wide">' in intro
        assert "incrbuild deciding what to rebuild" in intro
        advanced = (out / "docs/guide/advanced/index.html").read_text()
        assert '<article class="standard">' in advanced
        assert "The guide overrides the site banner." in advanced
        assert 'href="/docs/intro/#top" title="Introduction"' in advanced
        assert 'class="broken-link"' in advanced
        about = (out / "about/index.html").read_text()
        assert '<a href="/docs/guide/basics/" title="Basics">Basics</a>' in about

    def test_listing_order(self, sample: Builder) -> None:
        """Listings and prev/next links follow weight, then date and title."""
        docs = (sample.output_dir / "docs/index.html").read_text()
        assert docs.index("Introduction") < docs.index("Installation")
        intro = (sample.output_dir / "docs/intro/index.html").read_text()
        assert 'rel="next" href="/docs/install/"' in intro

    def test_same_as_incremental_full(self, sample: Builder, tmp_path: Path) -> None:
        """A build from scratch into a fresh directory equals the incrementally kept output."""
        fresh = tmp_path / "fresh"
        build(
            sample.content_dir,
            sample.templates_dir,
            fresh,
            incremental=False,
            state_dir=tmp_path / "fresh-state",
            config_file=sample.config_file,
        )
        assert output_tree(fresh) == output_tree(sample.output_dir)


class TestIncrementalBuild:
    def test_fresh_templates_are_rechecked_once(self, tmp_path: Path) -> None:
        """Templates written just before a build re-render their users once, then never again."""
        content, templates, config = write_site(tmp_path)
        builder = Builder(content, templates, tmp_path / "public", config_file=config)
        assert builder.build().full
        second = builder.build()
        assert second.plan is not None
        assert (second.pages, second.written) == (10, 0)
        for path in second.plan.pages:
            kinds = {reason.kind for reason in second.plan.reasons[path]}
            assert kinds == {ReasonKind.DEPENDENCY}, (path, second.plan.why(path))
        assert builder.build().rendered == 0

    def test_no_op(self, sample: Builder) -> None:
        """A build with nothing changed renders nothing."""
        report = sample.build()
        assert (report.full, report.rendered, report.changed) == (False, 0, 0)

    def test_body_edit(self, sample: Builder) -> None:
        """Editing one page's body renders that page only."""
        page = sample.content_dir / "docs/install.md"
        page.write_text(page.read_text() + "\nMore.\n")
        report = sample.build()
        assert (report.pages, report.listings, report.terms, report.written) == (1, 0, 0, 1)
        assert report.plan is not None
        assert report.plan.why(page) == ("source modified",)

    def test_retitle_rebuilds_linkers(self, sample: Builder) -> None:
        """Retitling a page re-renders the pages that link to it, showing the new title."""
        page = sample.content_dir / "docs/guide/basics.md"
        page.write_text(page.read_text().replace("title: Basics", "title: Fundamentals"))
        report = sample.build()
        assert report.plan is not None
        about = sample.content_dir / "about.md"
        assert ReasonKind.LINK in {reason.kind for reason in report.plan.reasons[about]}
        html = (sample.output_dir / "about/index.html").read_text()
        assert '<a href="/docs/guide/basics/" title="Fundamentals">Fundamentals</a>' in html

    def test_removed_page(self, sample: Builder) -> None:
        """Removing a page deletes its output and its tag page when it was the last member."""
        (sample.content_dir / "docs/guide/advanced.md").unlink()
        report = sample.build()
        assert not (sample.output_dir / "docs/guide/advanced/index.html").exists()
        assert not (sample.output_dir / "tags/advanced/index.html").exists()
        assert report.deleted == 2

    def test_template_edit(self, sample: Builder) -> None:
        """Editing a page-only template re-renders exactly the pages that used it."""
        template = sample.templates_dir / "page-wide.html"
        template.write_text(template.read_text() + "<!-- edited -->\n")
        report = sample.build()
        assert report.plan is not None
        assert page_names(report.plan.pages, sample.content_dir) == [
            "docs/install.md",
            "docs/intro.md",
        ]

    def test_cascade_edit(self, sample: Builder) -> None:
        """A cascade edit re-renders the pages it reaches, not those a nested cascade masks."""
        index = sample.content_dir / "docs/_index.md"
        index.write_text(index.read_text().replace("layout: wide", "layout: plain"))
        report = sample.build()
        assert report.plan is not None
        assert page_names(report.plan.pages, sample.content_dir) == [
            "docs/_index.md",
            "docs/guide/_index.md",
            "docs/install.md",
            "docs/intro.md",
        ]
        intro = (sample.output_dir / "docs/intro/index.html").read_text()
        assert '<article class="standard">' in intro

    def test_global_edit(self, sample: Builder) -> None:
        """Editing the configuration rebuilds the whole site from scratch."""
        assert sample.config_file is not None
        sample.config_file.write_text('title = "Renamed"\n')
        report = sample.build()
        assert report.full
        assert report.pages == report.site_pages
        assert "Renamed" in (sample.output_dir / "tags/index.html").read_text()

    def test_section_appears_and_goes(self, sample: Builder) -> None:
        """A section without ``_index.md`` shows in its parent's listing while it has pages."""
        write_source(sample.content_dir / "news/alpha.md", {"title": "Alpha"}, "News.\n")
        sample.build()
        home = sample.output_dir / "index.html"
        assert '<a href="/news/">news</a>' in home.read_text()
        assert (sample.output_dir / "news/index.html").exists()
        shutil.rmtree(sample.content_dir / "news")
        sample.build()
        assert "/news/" not in home.read_text()
        assert not (sample.output_dir / "news").exists()

    def test_new_builder_is_incremental(self, sample: Builder) -> None:
        """A new builder over the same output directory continues from the state on disk."""
        fresh = Builder(
            sample.content_dir,
            sample.templates_dir,
            sample.output_dir,
            config_file=sample.config_file,
        )
        report = fresh.build()
        assert (report.full, report.rendered) == (False, 0)


class TestCommandLine:
    def test_build_and_explain(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """``build`` reports what it rendered; ``--explain`` says why each page was."""
        write_site(tmp_path)
        site, out = str(tmp_path / "site"), str(tmp_path / "out")
        assert main(["build", site, out]) == 0
        assert capsys.readouterr().out.startswith("full build: 10/10 pages")
        main(["build", site, out])
        capsys.readouterr()
        page = tmp_path / "site/content/blog/first-post.md"
        page.write_text(page.read_text() + "\nMore.\n")
        assert main(["build", site, out, "--explain"]) == 0
        printed = capsys.readouterr().out.splitlines()
        assert printed[0].startswith("incremental build: 1/10 pages")
        assert printed[1:] == ["  blog/first-post.md: source modified"]

    def test_full_flag(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """``--full`` rebuilds everything even when the state would allow an incremental build."""
        write_site(tmp_path)
        site, out = str(tmp_path / "site"), str(tmp_path / "out")
        main(["build", site, out])
        assert main(["build", site, out, "--full"]) == 0
        assert capsys.readouterr().out.splitlines()[-1].startswith("full build: 10/10 pages")

    def test_not_a_site(self, tmp_path: Path) -> None:
        """A directory without ``content/`` and ``templates/`` is a usage error."""
        with pytest.raises(SystemExit) as raised:
            main(["build", str(tmp_path), str(tmp_path / "out")])
        assert raised.value.code == 2

    def test_module_entry_point(self, tmp_path: Path) -> None:
        """``python -m examples.minissg build`` runs from the repository root."""
        result = subprocess.run(
            [sys.executable, "-m", "examples.minissg", "build", str(SAMPLE_SITE), str(tmp_path)],
            cwd=SAMPLE_SITE.parents[2],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert "full build" in result.stdout
        assert (tmp_path / "docs/intro/index.html").is_file()


class TestPlanContract:
    """What minissg relies on incrbuild's plan for, checked on the engine directly."""

    @pytest.fixture
    def engine_root(self, tmp_path: Path) -> tuple[Engine, Path]:
        """A committed two-page site: a home page and ``blog/post.md``."""
        root = tmp_path / "content"
        write_source(root / "_index.md", {"title": "Home"}, "")
        write_source(root / "blog/post.md", {"title": "Post"}, "")
        engine = open_engine(root, state_dir=tmp_path / "state")
        engine.commit(engine.plan())
        return engine, root

    def test_new_section_lists_in_parent(self, engine_root: tuple[Engine, Path]) -> None:
        """A page in a new directory without ``_index.md`` changes the parent's listing."""
        engine, root = engine_root
        write_source(root / "news/item.md", {"title": "Item"}, "")
        plan = engine.plan()
        assert root / "_index.md" in plan.pages

    def test_gone_section_leaves_parent(self, engine_root: tuple[Engine, Path]) -> None:
        """Removing the last page of a directory without ``_index.md`` changes the parent's."""
        engine, root = engine_root
        shutil.rmtree(root / "blog")
        plan = engine.plan()
        assert root / "_index.md" in plan.pages

    def test_refilled_directory_lists_in_parent(self, engine_root: tuple[Engine, Path]) -> None:
        """A page added to a directory left empty makes a section appear in the parent's."""
        engine, root = engine_root
        (root / "blog/post.md").unlink()  # blog/ stays on disk, empty: no longer a section
        engine.commit(engine.plan())
        write_source(root / "blog/new.md", {"title": "New"}, "")
        plan = engine.plan()
        assert root / "_index.md" in plan.pages

    def test_cascaded_tag_is_a_term(self, engine_root: tuple[Engine, Path]) -> None:
        """A tag the pages below a section get only by cascade is a term, not a removed one."""
        engine, root = engine_root
        write_source(root / "_index.md", {"title": "Home", "cascade": {"tags": ["x"]}}, "")
        plan = engine.plan()
        assert "x" in plan.terms
        assert "x" not in plan.removed_terms
        tagged = [page.source_path for page in engine.registry.pages_with_tag("x")]
        assert tagged == [root / "blog/post.md"]


class TestOracle:
    def test_incremental_equals_full(self) -> None:
        """After random edits, every incremental build equals a from-scratch build byte for byte."""
        # 20 examples of 15 steps by default (the "ci" profile), 400 with --hypothesis-profile=long.
        examples = int(os.environ.get("MINISSG_EXAMPLES") or max(3, settings().max_examples // 5))
        steps = int(os.environ.get("MINISSG_STEPS") or 15)
        run_state_machine_as_test(
            ExampleSiteMachine,
            settings=settings(max_examples=examples, stateful_step_count=steps, deadline=None),
        )
        print(TOTALS.summary())
        assert TOTALS.steps > 0
