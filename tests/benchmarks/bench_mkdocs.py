"""The MkDocs plugin on a 1,000+ page project: warm ``--dirty`` vs clean build vs plain ``--dirty``.

Run with MkDocs 1.6 and pymdown-extensions installed (``pip install -e '.[test]'``)::

    python tests/benchmarks/bench_mkdocs.py      # tldr-pages if fetched, else generated
    python tests/benchmarks/bench_mkdocs.py --source generated --pages 1200
    python tests/benchmarks/bench_mkdocs.py --source /path/to/tldr/checkout
    python tests/benchmarks/bench_mkdocs.py --source generated --theme material --edits body,title
    python tests/benchmarks/bench_mkdocs.py --source doocs --edits none,body

``--source doocs``: doocs/leetcode, a real MkDocs (Material) project whose documented build
is "run its generator ``main.py``, then ``mkdocs build``", at the pinned ``DOOCS_*_COMMIT``s
from a mirror fetched with the ``fetch`` tool; the benchmark lays it out as its deploy
workflow does, runs the generator once (it needs only the standard library), trims the
plugins and hooks (``DOOCS_KEPT_PLUGINS``) and measures MkDocs on the generated tree.
Nothing of it is committed.

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
import filecmp
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

from tests.mkdocs.project import fresh_process  # noqa: E402

#: The tldr-pages commit the figures in docs/mkdocs.md were measured on.
TLDR_COMMIT = "08e345f42639f67d99282813247ac670dc6e87cb"
TLDR_MIRROR = Path("/work/.mirror/tldr-pages+tldr/repo")
#: doocs/leetcode (https://github.com/doocs/leetcode): its problem sources on ``main`` and
#: its MkDocs project (``mkdocs.yml``, ``main.py``, ``docs/``, ``overrides/``, ``hooks/``)
#: on ``docs``; its deploy workflow copies ``docs`` over ``main``, runs ``python3 main.py``
#: (which writes ``docs/lc/*.md`` etc. and the nav into ``mkdocs.yml``), then ``mkdocs build``.
DOOCS_MAIN_COMMIT = "b6ee4f59f28bcf325b7ec535d0a0e12b409e70f4"
DOOCS_DOCS_COMMIT = "150fd45858c1ea28beaa009117c18e02bbe0b364"
DOOCS_MIRROR = Path("/work/.mirror/doocs+leetcode/repo")
#: What main.py reads on ``main``.
DOOCS_SOURCES = ("solution", "lcof", "lcof2", "lcci", "lcp", "lcs")
#: Kept of doocs's ``plugins:``; ``tags``, ``glightbox`` and ``minify`` handle page events
#: the incrbuild plugin does not know (it would name them and build everything), and the
#: latter two are not installed here.  All six ``hooks:`` go for the same reason (and
#: ``committer.py`` asks the GitHub API for each page's authors).
DOOCS_KEPT_PLUGINS = ("search",)
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


def git_extract(
    gitdir: Path, commit: str, dest: Path, paths: tuple[str, ...] = (), suffix: str = ""
) -> list[str]:
    """Write the blobs of *commit* (below *paths*, ending with *suffix*) under *dest*;
    return the paths of blobs the mirror does not hold (its largest files may be absent)."""
    git = ["git", f"--git-dir={gitdir}"]
    listing = subprocess.run(
        [*git, "ls-tree", "-r", "-z", commit, "--", *paths], check=True, capture_output=True
    ).stdout
    wanted: list[tuple[bytes, str]] = []
    for record in filter(None, listing.split(b"\0")):
        meta, name = record.split(b"\t", 1)
        mode, kind, sha = meta.split()
        path = name.decode()
        if kind == b"blob" and mode != b"120000" and path.endswith(suffix):
            wanted.append((sha, path))
    absent: list[str] = []
    with subprocess.Popen(
        [*git, "cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    ) as batch:
        assert batch.stdin is not None
        assert batch.stdout is not None
        for sha, path in wanted:
            batch.stdin.write(sha + b"\n")
            batch.stdin.flush()
            header = batch.stdout.readline().split()
            if header[-1] == b"missing":
                absent.append(path)
                continue
            data = batch.stdout.read(int(header[2]))
            batch.stdout.read(1)
            target = dest / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        batch.stdin.close()
    return absent


def doocs_project(
    root: Path, mirror: Path, hundreds: int | None = None
) -> tuple[list[str], dict[str, Any]]:
    """Lay out doocs/leetcode's site as its deploy workflow does and run its generator;
    trim ``mkdocs.yml`` (see ``DOOCS_KEPT_PLUGINS``); return the nav paths and the config.

    *hundreds*: give the generator only the first *hundreds* of ``solution/``'s
    directories of 100 problems (``0000-0099``, ...); the other collections stay whole.
    """
    sources: tuple[str, ...] = DOOCS_SOURCES
    if hundreds is not None:
        ranges = [f"solution/{h * 100:04d}-{h * 100 + 99:04d}" for h in range(hundreds)]
        contest = ("solution/CONTEST_README.md", "solution/CONTEST_README_EN.md")
        sources = (*(s for s in DOOCS_SOURCES if s != "solution"), *ranges, *contest)
    absent = git_extract(mirror, DOOCS_MAIN_COMMIT, root, sources, suffix=".md")
    absent += git_extract(mirror, DOOCS_DOCS_COMMIT, root)
    print(f"doocs/leetcode: absent from the mirror (not needed): {absent}", file=sys.stderr)
    (root / "solution" / "CONTEST_README.md").rename(root / "docs" / "contest.md")
    (root / "solution" / "CONTEST_README_EN.md").rename(root / "docs-en" / "contest.md")
    subprocess.run([sys.executable, "main.py"], cwd=root, check=True)
    for name in (*DOOCS_SOURCES, "docs-en", "hooks"):
        shutil.rmtree(root / name)
    config = yaml.safe_load((root / "mkdocs.yml").read_text(encoding="utf-8"))
    config["plugins"] = [
        p
        for p in config["plugins"]
        if (p if isinstance(p, str) else next(iter(p))) in DOOCS_KEPT_PLUGINS
    ] + ["incrbuild"]
    del config["hooks"]
    save_config(root, config)
    return [nav_path(item) for item in flatten_nav(config["nav"])], config


def nav_path(item: Any) -> str:
    """The documentation path of a nav leaf: ``"a.md"`` or ``{"Title": "a.md"}``."""
    return item if isinstance(item, str) else next(iter(item.values()))


def flatten_nav(nav: list[Any]) -> list[Any]:
    leaves: list[Any] = []
    for item in nav:
        value = item if isinstance(item, str) else next(iter(item.values()))
        if isinstance(value, list):
            leaves += flatten_nav(value)
        else:
            leaves.append(item)
    return leaves


def save_config(root: Path, config: dict[str, Any]) -> None:
    text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
    (root / "mkdocs.yml").write_text(text, encoding="utf-8")


def stale_files(built: Path, truth: Path) -> list[str]:
    """Files that differ between the two sites, or that only one has (read file by file:
    a site of thousands of Material pages does not fit in memory twice)."""

    def listing(directory: Path) -> set[str]:
        return {
            Path(base, name).relative_to(directory).as_posix()
            for base, _dirs, files in os.walk(directory)
            for name in files
        }

    left, right = listing(built), listing(truth)
    return sorted(
        (left ^ right)
        | {n for n in left & right if not filecmp.cmp(built / n, truth / n, shallow=False)}
    )


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
    save_config(root, config)
    return config


def build(root: Path, site: Path, *, plugin: bool, dirty: bool) -> float:
    """Build in process; return the seconds it took."""
    import logging

    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config

    logging.getLogger("mkdocs").setLevel(logging.ERROR)
    overrides: dict[str, Any] = {"site_dir": str(site)}
    if not plugin:
        # The project's plugins with their options (search's separator) less incrbuild.
        listed = yaml.safe_load((root / "mkdocs.yml").read_text(encoding="utf-8"))["plugins"]
        overrides["plugins"] = [p for p in listed if p != "incrbuild"]
    started = time.perf_counter()
    config = load_config(str(root / "mkdocs.yml"), **overrides)
    fresh_process(config)
    config.plugins.on_startup(command="build", dirty=dirty)
    mkdocs_build(config, dirty=dirty)
    config.plugins.on_shutdown()
    return time.perf_counter() - started


EDITS = ("none", "body", "title", "nav", "add-delete")


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def run(
    root: Path,
    nav_paths: list[str],
    config: dict[str, Any],
    *,
    edits: tuple[str, ...] = EDITS,
) -> list[dict[str, Any]]:
    """Build, edit and build again; *config* is what ``mkdocs.yml`` holds, *nav_paths*
    the pages of its nav in order."""
    os.environ["SOURCE_DATE_EPOCH"] = SOURCE_DATE_EPOCH
    with_plugin, plain, truth = root / "site", root / "plain", root / "truth"
    time.sleep(2.1)  # out of the change detector's racy window: no page is content-checked
    print(f"load average {load()}", file=sys.stderr)
    cold = build(root, with_plugin, plugin=True, dirty=False)
    clean = build(root, truth, plugin=False, dirty=False)
    # What a clean build wrote, mtimes kept: plain --dirty starts from it.
    shutil.copytree(truth, plain)
    print(
        f"cold build with the plugin {cold:.1f} s, clean without {clean:.1f} s, "
        f"load average {load()}",
        file=sys.stderr,
    )
    time.sleep(2.1)
    docs = root / "docs"
    victim = docs / nav_paths[len(nav_paths) // 2]
    rows = []

    def edit_body() -> None:
        with victim.open("a", encoding="utf-8") as stream:
            stream.write("\nOne more line of body text.\n")

    def edit_title() -> None:
        # The page's first level-1 heading (after front matter, if any).
        lines = victim.read_text(encoding="utf-8").split("\n")
        at = next(n for n, line in enumerate(lines) if line.startswith("# "))
        lines[at] += " (renamed)"
        victim.write_text("\n".join(lines), encoding="utf-8")

    def edit_nav() -> None:
        section = config["nav"][1]
        ((_name, items),) = section.items()
        items.insert(0, items.pop(len(items) // 3))
        save_config(root, config)

    def add_delete() -> None:
        added = victim.with_name("zz-added-page.md")
        added.write_text("# Added page\n\nNew.\n", encoding="utf-8")
        doomed = docs / nav_paths[len(nav_paths) // 4]
        doomed.unlink()
        rel = doomed.relative_to(docs).as_posix()
        new = added.relative_to(docs).as_posix()

        def replace(items: list[Any]) -> None:
            for n, item in enumerate(items):
                value = item if isinstance(item, str) else next(iter(item.values()))
                if isinstance(value, list):
                    replace(value)
                elif value == rel:
                    items[n] = new if isinstance(item, str) else {"Added page": new}

        replace(config["nav"])
        save_config(root, config)

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
        rows.append(
            {
                "edit": name,
                "clean_s": clean,
                "plugin_s": warm,
                "plugin_stale": len(plugin_stale := stale_files(with_plugin, truth)),
                "plain_s": dirty,
                "plain_stale": len(plain_stale := stale_files(plain, truth)),
                "stale_examples": (plugin_stale[:3], plain_stale[:3]),
                "files": sum(len(files) for _base, _dirs, files in os.walk(truth)),
                "load": load(),
            }
        )
        print(rows[-1], file=sys.stderr)
        time.sleep(2.1)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--source", default="auto", help="auto, generated, doocs, or a tldr checkout"
    )
    parser.add_argument(
        "--pages", type=int, default=1100, help="pages: of a generated site, or of tldr's linux/"
    )
    parser.add_argument("--theme", default="mkdocs", help="mkdocs or material")
    parser.add_argument(
        "--doocs-hundreds",
        type=int,
        default=7,
        help="doocs: problems 1-100N of solution/ (0: all 3,900; the cold build of all 4,420 "
        "pages had rendered 505 after 13.5 minutes on 2 shared cores, and wrote 1.4 MB a page)",
    )
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
        if source == "doocs":
            hundreds = args.doocs_hundreds or None
            nav_paths, config = doocs_project(root, DOOCS_MIRROR, hundreds)
            pages = sum(1 for _ in (root / "docs").rglob("*.md"))
            label = (
                f"doocs/leetcode main {DOOCS_MAIN_COMMIT[:10]} + docs {DOOCS_DOCS_COMMIT[:10]}, "
                f"generated by its main.py from solution/'s first {hundreds or 'all'} hundreds: "
                f"{pages} pages, {len(nav_paths)} in its nav"
            )
            args.theme = config["theme"]["name"]
        elif source == "generated":
            nav_paths = generated_project(root, args.pages)
            label = f"generated site, {args.pages} pages"
            config = write_config(root, nav_paths, snippets=True, theme=args.theme)
        else:
            nav_paths = tldr_project(root, Path(source), limit=args.pages)
            label = f"tldr-pages {TLDR_COMMIT[:10]} pages/linux, {len(nav_paths)} pages"
            config = write_config(root, nav_paths, snippets=False, theme=args.theme)
        rows = run(root, nav_paths, config, edits=edits)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    import mkdocs

    print(f"\n{label}, theme {args.theme}; MkDocs {mkdocs.__version__}, ")
    print(f"Python {platform.python_version()}, ")
    print(f"{platform.machine()}, {os.cpu_count()} cores (shared); one run each, in process\n")
    print(
        "| edit | clean build | plugin --dirty | speed-up | stale (plugin) "
        "| plain --dirty | stale (plain) | load after |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for row in rows:
        print(
            f"| {row['edit']} | {row['clean_s']:.2f} s | {row['plugin_s']:.2f} s "
            f"| {row['clean_s'] / row['plugin_s']:.1f}x | {row['plugin_stale']} "
            f"| {row['plain_s']:.2f} s | {row['plain_stale']} of {row['files']} | {row['load']} |"
        )


if __name__ == "__main__":
    main()
