"""The MkDocs plugin on a 1,000+ page project: warm ``--dirty`` vs clean build vs plain ``--dirty``.

Run with MkDocs 1.6 and pymdown-extensions installed (``pip install -e '.[test]'``)::

    python tests/benchmarks/bench_mkdocs.py      # tldr-pages if fetched, else generated
    python tests/benchmarks/bench_mkdocs.py --source generated --pages 1200
    python tests/benchmarks/bench_mkdocs.py --source /path/to/tldr/checkout
    python tests/benchmarks/bench_mkdocs.py --source generated --theme material --edits body,title

The project: the English Linux pages of tldr-pages (https://github.com/tldr-pages/tldr, pinned
at ``TLDR_COMMIT``; the first 1,100 of its 2,030 by name, ``--pages``) read from a local
git checkout, with an ``mkdocs.yml`` that
lists every page in an explicit nav, theme ``mkdocs``, ``search``, ``toc`` and
``pymdownx.snippets``.  tldr-pages is public Markdown, not an MkDocs project upstream: see
docs/mkdocs.md.  Without a checkout (CI has no GitHub) ``--source generated`` writes a
realistic site instead: sections, headings, code, cross links and snippets.

Per edit (one-page body, title, nav order in ``mkdocs.yml``, add + delete) it times, in one
process and one run each: the plugin's warm ``dirty=True`` build, plain ``dirty=True``
(MkDocs's own mtime rule) and a clean build into a fresh directory, the truth; it counts
the files each dirty build leaves different from the truth.  Builds run in process
(``mkdocs.commands.build.build``), so interpreter start-up is not in any figure.
``SOURCE_DATE_EPOCH`` is fixed so clean builds are byte-identical (no masks).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.mkdocs.project import differences, fresh_process, tree  # noqa: E402

#: The tldr-pages commit the figures in docs/mkdocs.md were measured on.
TLDR_COMMIT = "08e345f42639f67d99282813247ac670dc6e87cb"
TLDR_MIRROR = Path("/work/.mirror/tldr-pages+tldr/repo")
SOURCE_DATE_EPOCH = "1700000000"


def tldr_project(
    root: Path, checkout: Path, *, platform_dir: str = "linux", limit: int | None = None
) -> list[str]:
    """Write the tldr-pages *platform_dir* pages under *root*/docs (the first *limit* by
    name); return the nav paths."""
    docs = root / "docs" / platform_dir
    docs.mkdir(parents=True)
    git = ["git", f"--git-dir={checkout}"] if checkout.name.endswith(("repo", ".git")) else None
    if git is not None:
        archive = subprocess.run(
            [*git, "archive", TLDR_COMMIT, f"pages/{platform_dir}"],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
        shutil.rmtree(docs)
        (root / "pages" / platform_dir).rename(docs)
        shutil.rmtree(root / "pages")
    else:
        shutil.copytree(checkout / "pages" / platform_dir, docs, dirs_exist_ok=True)
    (root / "docs" / "index.md").write_text(
        "# tldr pages\n\nSimplified, community-driven man pages.\n", encoding="utf-8"
    )
    pages = sorted(docs.glob("*.md"))
    for extra in pages[limit:] if limit is not None else ():
        extra.unlink()
    return [f"{platform_dir}/{p.name}" for p in pages[:limit]]


def generated_project(root: Path, pages: int, seed: int = 7) -> list[str]:
    """Write a realistic *pages*-page site under *root*; return the nav paths."""
    rng = random.Random(seed)
    docs = root / "docs"
    (root / "snippets").mkdir(parents=True)
    for n in range(5):
        (root / "snippets" / f"note{n}.md").write_text(
            f"!!! note\n    Shared note {n}.\n", encoding="utf-8"
        )
    paths: list[str] = []
    words = [
        "build",
        "cache",
        "page",
        "site",
        "render",
        "nav",
        "title",
        "index",
        "search",
        "theme",
        "plugin",
        "file",
    ]
    for n in range(pages):
        section = f"section{n % 12:02d}/part{(n // 12) % 4}"
        path = f"{section}/page{n:05d}.md"
        paths.append(path)
        body = [f"# {words[n % len(words)].title()} {n}", ""]
        for h in range(rng.randint(2, 5)):
            body += [f"## Heading {h}", ""]
            body += [" ".join(rng.choice(words) for _ in range(60)), ""]
            body += ["```python", f"print({n}, {h})", "```", ""]
        if n % 10 == 0:
            body += [f'--8<-- "note{n % 5}.md"', ""]
        if n:
            target = paths[rng.randrange(len(paths) - 1)]
            link = os.path.relpath(target, os.path.dirname(path)).replace(os.sep, "/")
            body += [f"See also [{target}]({link}).", ""]
        target_file = docs / path
        target_file.parent.mkdir(parents=True, exist_ok=True)
        target_file.write_text("\n".join(body), encoding="utf-8")
    (docs / "index.md").write_text("# Generated site\n\nHello.\n", encoding="utf-8")
    return paths


def write_config(
    root: Path, nav_paths: list[str], *, snippets: bool, theme: str = "mkdocs"
) -> dict[str, Any]:
    sections: dict[str, list[str]] = {}
    for path in nav_paths:
        sections.setdefault(path.split("/")[0], []).append(path)
    nav: list[Any] = [{"Home": "index.md"}]
    nav += [{name.title(): items} for name, items in sections.items()]
    extensions: list[Any] = ["toc", "admonition"]
    if snippets:
        extensions.append({"pymdownx.snippets": {"base_path": [str(root / "snippets")]}})
    config = {
        "site_name": "Benchmark",
        "site_url": "https://example.org/",
        "theme": {"name": theme},
        "plugins": ["search", "incrbuild"],
        "markdown_extensions": extensions,
        "nav": nav,
    }
    (root / "mkdocs.yml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return config


def build(root: Path, site: Path, *, plugin: bool, dirty: bool) -> float:
    """Build in process; return the seconds it took."""
    import logging

    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config

    logging.getLogger("mkdocs").setLevel(logging.ERROR)
    overrides: dict[str, Any] = {"site_dir": str(site)}
    if not plugin:
        overrides["plugins"] = ["search"]
    started = time.perf_counter()
    config = load_config(str(root / "mkdocs.yml"), **overrides)
    fresh_process(config)
    config.plugins.on_startup(command="build", dirty=dirty)
    mkdocs_build(config, dirty=dirty)
    config.plugins.on_shutdown()
    return time.perf_counter() - started


EDITS = ("none", "body", "title", "nav", "add-delete")


def run(
    root: Path,
    nav_paths: list[str],
    *,
    snippets: bool,
    theme: str = "mkdocs",
    edits: tuple[str, ...] = EDITS,
) -> list[dict[str, Any]]:
    os.environ["SOURCE_DATE_EPOCH"] = SOURCE_DATE_EPOCH
    config = write_config(root, nav_paths, snippets=snippets, theme=theme)
    with_plugin, plain, truth = root / "site", root / "plain", root / "truth"
    time.sleep(2.1)  # out of the change detector's racy window: no page is content-checked
    cold = build(root, with_plugin, plugin=True, dirty=False)
    build(root, plain, plugin=False, dirty=False)
    clean = build(root, truth, plugin=False, dirty=False)
    print(f"cold build with the plugin {cold:.1f} s, clean without {clean:.1f} s", file=sys.stderr)
    time.sleep(2.1)
    docs = root / "docs"
    victim = docs / nav_paths[len(nav_paths) // 2]
    rows = []

    def edit_body() -> None:
        with victim.open("a", encoding="utf-8") as stream:
            stream.write("\nOne more line of body text.\n")

    def edit_title() -> None:
        text = victim.read_text(encoding="utf-8")
        first, rest = text.split("\n", 1)
        victim.write_text(f"{first} (renamed)\n{rest}", encoding="utf-8")

    def edit_nav() -> None:
        section = config["nav"][1]
        ((_name, items),) = section.items()
        items.insert(0, items.pop(len(items) // 3))
        (root / "mkdocs.yml").write_text(yaml.safe_dump(config, sort_keys=False), "utf-8")

    def add_delete() -> None:
        added = victim.with_name("zz-added-page.md")
        added.write_text("# Added page\n\nNew.\n", encoding="utf-8")
        doomed = docs / nav_paths[len(nav_paths) // 4]
        doomed.unlink()
        for section in config["nav"][1:]:
            ((_name, items),) = section.items()
            rel = doomed.relative_to(docs).as_posix()
            if rel in items:
                items[items.index(rel)] = added.relative_to(docs).as_posix()
        (root / "mkdocs.yml").write_text(yaml.safe_dump(config, sort_keys=False), "utf-8")

    for key, name, edit in [
        ("none", "no change", lambda: None),
        ("body", "one-page body edit", edit_body),
        ("title", "one-page title edit", edit_title),
        ("nav", "nav edit (mkdocs.yml order)", edit_nav),
        ("add-delete", "add one page + delete one", add_delete),
    ]:
        if key not in edits:
            continue
        edit()
        warm = build(root, with_plugin, plugin=True, dirty=True)
        dirty = build(root, plain, plugin=False, dirty=True)
        if key != "none":  # nothing changed: the truth is the cold clean build
            shutil.rmtree(truth)
            clean = build(root, truth, plugin=False, dirty=False)
        expected = tree(truth)
        rows.append(
            {
                "edit": name,
                "clean_s": clean,
                "plugin_s": warm,
                "plugin_stale": len(differences(tree(with_plugin), expected)),
                "plain_s": dirty,
                "plain_stale": len(differences(tree(plain), expected)),
                "files": len(expected),
            }
        )
        print(rows[-1], file=sys.stderr)
        time.sleep(2.1)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", default="auto", help="auto, generated, or a tldr checkout")
    parser.add_argument(
        "--pages", type=int, default=1100, help="pages: of a generated site, or of tldr's linux/"
    )
    parser.add_argument("--theme", default="mkdocs", help="mkdocs or material")
    parser.add_argument(
        "--edits", default=",".join(EDITS), help=f"comma-separated, of {', '.join(EDITS)}"
    )
    args = parser.parse_args()
    edits = tuple(args.edits.split(","))
    workdir = Path(tempfile.mkdtemp(prefix="bench-mkdocs-"))
    root = workdir / "project"
    root.mkdir()
    try:
        source = args.source
        if source == "auto":
            source = str(TLDR_MIRROR) if TLDR_MIRROR.exists() else "generated"
        if source == "generated":
            nav_paths = generated_project(root, args.pages)
            label = f"generated site, {args.pages} pages"
            snippets = True
        else:
            nav_paths = tldr_project(root, Path(source), limit=args.pages)
            label = f"tldr-pages {TLDR_COMMIT[:10]} pages/linux, {len(nav_paths)} pages"
            snippets = False
        rows = run(root, nav_paths, snippets=snippets, theme=args.theme, edits=edits)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    import mkdocs

    print(f"\n{label}, theme {args.theme}; MkDocs {mkdocs.__version__}, ")
    print(f"Python {platform.python_version()}, ")
    print(f"{platform.machine()}, {os.cpu_count()} cores (shared); one run each, in process\n")
    print(
        "| edit | clean build | plugin --dirty | speed-up | stale (plugin) "
        "| plain --dirty | stale (plain) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['edit']} | {row['clean_s']:.2f} s | {row['plugin_s']:.2f} s "
            f"| {row['clean_s'] / row['plugin_s']:.1f}x | {row['plugin_stale']} "
            f"| {row['plain_s']:.2f} s | {row['plain_stale']} of {row['files']} |"
        )


if __name__ == "__main__":
    main()
