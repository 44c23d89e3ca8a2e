"""Generated Bengal projects for the integration tests and the benchmark.

:func:`new_project` runs ``bengal new site`` (the blog template) and
:func:`add_content` adds generated pages: a ``docs`` tree with cascades (the
docs layout, a generated archive page for ``deep``), and ``area-N`` sections,
every other one with an ``_index.md`` cascading a description, the pages
carrying tags from a small pool so tag pages and related posts overlap.

In a docs project (``bengal new site --template docs``, whose root index
cascades ``type: doc`` to every page) the generated pages are what a docs
site has: doc pages without dates, and one dated news section (``area-1``,
``type: blog``) for the edits that need dates and authors.  Bengal 0.5.1's
doc layout cannot render a dated page (``hasattr`` in ``article-jsonld.html``).
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

#: The kinds of edit the tests and the benchmark apply, in order.
EDITS = (
    "body",
    "title",
    "date",
    "weight",
    "draft toggle",
    "tags",
    "description",
    "slug",
    "aliases",
    "link target retitled",
    "author metadata",
    "cascade",
    "add",
    "delete",
    "rename",
    "new section",
    "menu entry in config",
    "template override",
    "data file",
    "css asset",
)

#: The edits the benchmark applies (kinds that touch one page's source first).
BENCH_EDITS = ("body", "title", "tags", "cascade", "add", "delete", "rename")

#: Settings that make full builds fast without changing the shape of any page's HTML.
FAST_BUILD_CONFIG = """\
assets:
  minify: false
  optimize: false
  fingerprint: false
health_check:
  enabled: false
"""

_WORDS = (
    *("build", "cache", "page", "section", "index", "cascade", "tag", "render", "template"),
    *("graph", "change", "detect", "stat", "digest", "snapshot", "commit", "plan", "watch"),
    *("event", "queue", "worker", "thread", "output", "layout"),
)


def sentence(rng: random.Random, words: int) -> str:
    """A sentence of *words* words."""
    return " ".join(rng.choice(_WORDS) for _ in range(words)).capitalize() + "."


def write(path: Path, text: str) -> Path:
    """Write *text* to *path*, creating directories."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def page_text(
    title: str,
    *,
    tags: Sequence[str] = (),
    weight: int | None = None,
    date: str | None = None,
    body: str = "",
    author: str | None = None,
) -> str:
    """A page source with YAML front matter."""
    lines = ["---", f"title: {title}"]
    if author:
        lines.append(f"author: {author}")
    if date:
        lines.append(f"date: '{date}'")
    if weight is not None:
        lines.append(f"weight: {weight}")
    if tags:
        lines.append(f"tags: [{', '.join(tags)}]")
    lines.append("---")
    return "\n".join(lines) + "\n" + body + "\n"


def index_text(title: str, cascade: dict[str, str]) -> str:
    """A section index source with a cascade."""
    lines = ["---", f"title: {title}", "cascade:"]
    lines.extend(f"  {key}: {value}" for key, value in cascade.items())
    return "\n".join([*lines, "---", f"{title}.", ""])


def new_project(parent: Path, name: str = "site", *, template: str = "blog") -> Path:
    """Run ``bengal new site`` (*template*) under *parent*; return the project directory."""
    command = [sys.executable, "-m", "bengal", "new", "site", "--name", name]
    subprocess.run(
        [*command, "--template", template, "--no-init"],
        cwd=parent,
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    root = parent / name
    write(root / "config" / "_default" / "build.yaml", FAST_BUILD_CONFIG)
    return root


def doc_site(content: Path) -> bool:
    """Whether the root index under *content* cascades ``type: doc`` to every page."""
    index = content / "_index.md"
    if not index.exists():
        return False
    parts = index.read_text(encoding="utf-8").split("---\n", 2)
    front = yaml.safe_load(parts[1]) if len(parts) == 3 else None
    cascade = front.get("cascade") if isinstance(front, dict) else None
    return isinstance(cascade, dict) and cascade.get("type") == "doc"


def _dated(directory: Path) -> bool:
    """Whether new pages in *directory* carry a date (not in a doc site's doc sections)."""
    content = next(p for p in directory.parents if p.name == "content")
    if doc_site(content):
        return (directory / "_index.md").exists() and "type: blog" in (
            directory / "_index.md"
        ).read_text(encoding="utf-8")
    return "docs" not in directory.relative_to(content).parts


def add_content(
    root: Path, *, pages: int = 30, sections: int = 3, tags: int = 6, seed: int = 0
) -> list[Path]:
    """Add *pages* generated pages to the project at *root*; return their paths."""
    rng = random.Random(seed)
    content = root / "content"
    tag_names = [f"topic-{i}" for i in range(tags)]
    # An authors page: the theme's authors list shows each author's post count (an aggregate).
    registry = root / "data" / "authors.yml"
    if not registry.exists():
        # Templates without one (portfolio): Bengal 0.5.1 fails to render an authored page's
        # card on tag pages without an author registry (``str.get`` in article.html).
        write(registry, "kida:\n  name: Kida\n  title: Chief Napping Officer\n")
    write(
        content / "authors" / "_index.md", "---\ntitle: Authors\ntemplate: authors/list.html\n---\n"
    )
    docs = content / "docs"
    write(docs / "_index.md", index_text("Docs", {"type": "doc", "description": "Docs one"}))
    write(docs / "guide" / "_index.md", index_text("Guide", {"audience": "beginners"}))
    directories = [docs, docs / "guide", docs / "guide" / "deep"]
    for number in range(sections):
        directory = content / f"area-{number}"
        if number % 2 == 0:
            cascade = {"description": f"Area {number} pages"}
            write(directory / "_index.md", index_text(f"Area {number}", cascade))
        elif number == 1 and doc_site(content):
            # A docs site's dated pages: a news section in the blog layout.
            news = "---\ntitle: News\ntype: blog\ncascade:\n  type: blog\n---\nNews.\n"
            write(directory / "_index.md", news)
        directories.append(directory)
    written = []
    for number in range(pages):
        directory = directories[number % len(directories)]
        # Bengal 0.5.1's doc layout fails to render dated pages (it calls ``hasattr``).
        dated = _dated(directory)
        date = f"2024-{1 + number % 12:02d}-{1 + number % 28:02d}" if dated else None
        body = sentence(rng, 30)
        if number % len(directories) == 3 and number >= len(directories):
            # A link showing its target's title: the target is the previous page of area-1
            # (directories[4]: page numbers there are 4 modulo the number of directories).
            target_number = number - len(directories) + 1
            target = directories[4].relative_to(content) / f"page-{target_number:04d}"
            body += f" See [[{target.as_posix()}]] for more."
        text = page_text(
            f"Page {number}",
            tags=sorted(rng.sample(tag_names, k=rng.randint(0, 2))),
            weight=number % 7 + 1,
            date=date,
            body=body,
            author="kida" if dated and number % 2 == 0 else None,
        )
        written.append(write(directory / f"page-{number:04d}.md", text))
    return written


def _tagged_page(directory: Path) -> Path:
    """The first page in *directory* that carries tags (the generator makes several)."""
    for path in sorted(directory.glob("page-*.md")):
        if re.search(r"^tags: \[.+\]$", path.read_text(encoding="utf-8"), re.MULTILINE):
            return path
    raise AssertionError(f"no tagged page in {directory}")


def _replace(path: Path, pattern: str, replacement: str) -> None:
    text = path.read_text(encoding="utf-8")
    changed, count = re.subn(pattern, replacement, text, count=1, flags=re.MULTILINE)
    assert count == 1, f"{pattern!r} not in {path}"
    path.write_text(changed, encoding="utf-8")


def _add_key(path: Path, line: str) -> None:
    """Add a front matter line just after the opening ``---``."""
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n"), path
    path.write_text("---\n" + line + "\n" + text[4:], encoding="utf-8")


def _theme_file(name: str) -> str:
    import bengal

    theme = Path(bengal.__file__).parent / "themes" / "default"
    return (theme / name).read_text(encoding="utf-8")


def _theme_template(name: str) -> str:
    return _theme_file(f"templates/{name}")


def apply_edit(name: str, content: Path) -> None:
    """Apply the edit called *name* (one of :data:`EDITS`) to the content directory."""
    root = content.parent
    if name == "body":
        page = _tagged_page(content / "area-1")
        page.write_text(page.read_text(encoding="utf-8") + "\nOne more paragraph.\n", "utf-8")
    elif name in ("title", "front matter"):
        _replace(_tagged_page(content / "area-0"), r"^title: (.*)$", r"title: \1, revised")
    elif name == "date":
        _replace(_tagged_page(content / "area-1"), r"^date: '.*'$", "date: '2023-03-03'")
    elif name == "weight":
        page = sorted((content / "docs" / "guide").glob("page-*.md"))[-1]
        _replace(page, r"^weight: .*$", "weight: 0")
    elif name == "draft toggle":
        _add_key(sorted((content / "area-2").glob("page-*.md"))[-1], "draft: true")
    elif name == "tags":
        _replace(_tagged_page(content / "area-2"), r"^tags: \[.*\]$", "tags: [topic-5, fresh]")
    elif name == "description":
        _add_key(_tagged_page(content / "area-1"), "description: A page with a summary")
    elif name == "slug":
        _add_key(sorted((content / "area-0").glob("page-*.md"))[-1], "slug: moved-page")
    elif name == "aliases":
        _add_key(sorted((content / "area-1").glob("page-*.md"))[-1], "aliases: [/old/place/]")
    elif name == "link target retitled":
        linking = next(
            p for p in sorted(content.rglob("page-*.md")) if "[[" in p.read_text("utf-8")
        )
        target = re.search(r"\[\[([^\]|]+)\]\]", linking.read_text("utf-8"))
        assert target is not None
        _replace(content / f"{target.group(1)}.md", r"^title: (.*)$", r"title: \1 (linked)")
    elif name == "author metadata":
        authored = next(
            p for p in sorted(content.glob("area-*/page-*.md")) if "author: kida" in p.read_text()
        )
        _replace(authored, r"^author: kida$", "author: tabby")
    elif name == "cascade":
        _replace(content / "docs" / "_index.md", r"description: Docs one", "description: Docs two")
    elif name == "add":
        date = "2024-05-05" if _dated(content / "area-2") else None
        text = page_text("Newcomer", tags=["topic-2"], weight=2, date=date)
        write(content / "area-2" / "newcomer.md", text)
    elif name == "delete":
        _tagged_page(content / "area-0").unlink()
    elif name == "rename":
        page = sorted((content / "docs" / "guide").glob("page-*.md"))[0]
        page.rename(page.with_name("renamed-" + page.name))
    elif name == "new section":
        write(content / "fresh-area" / "_index.md", index_text("Fresh area", {"audience": "all"}))
        date = None if doc_site(content) else "2024-06-06"
        text = page_text("Fresh page", tags=["topic-1"], weight=1, date=date)
        write(content / "fresh-area" / "fresh-page.md", text)
    elif name == "menu entry in config":
        menu = "menu:\n  main:\n    - name: Elsewhere\n      url: /elsewhere/\n      weight: 90\n"
        write(root / "config" / "_default" / "menu.yaml", menu)
    elif name == "template override":
        original = _theme_template("partials/tag-nav.html")
        changed = original.replace("All Tags", "Every tag")
        write(root / "templates" / "partials" / "tag-nav.html", changed)
    elif name == "data file":
        authors = root / "data" / "authors.yml"
        authors.write_text(
            authors.read_text("utf-8").replace("Chief Napping", "Chief Nap"), "utf-8"
        )
    elif name == "css asset":
        # The project's own copy of the theme's stylesheets (Bengal bundles style.css from the
        # tree it finds it in), with one token changed.
        import shutil

        import bengal

        theme_css = Path(bengal.__file__).parent / "themes" / "default" / "assets" / "css"
        css = root / "assets" / "css"
        if not (css / "tokens").exists():
            shutil.copytree(theme_css, css, dirs_exist_ok=True)
        tokens = css / "tokens" / "foundation.css"
        tokens.write_text(tokens.read_text("utf-8") + "\n:root { --incrbuild-test: 1px; }\n")
    else:
        raise ValueError(name)
