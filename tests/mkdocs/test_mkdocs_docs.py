"""The oracle on MkDocs's own documentation (MkDocs 1.6.1's ``docs/`` and ``mkdocs.yml``).

The 1.6.1 source distribution on PyPI carries no ``docs/``, so the project comes
from a git checkout of https://github.com/mkdocs/mkdocs at tag 1.6.1
(``MKDOCS_DOCS_COMMIT``), named by ``INCRBUILD_MKDOCS_SOURCE`` or found at the
path below; without one this module is skipped (CI cannot reach GitHub: it runs
the test only on a machine where a checkout was left at that path).

The configuration is trimmed: the ``redirects``, ``autorefs``, ``literate-nav``
and ``mkdocstrings`` plugins and the ``docs/hooks.py`` hook are removed (so the
nav is MkDocs's automatic one; ``literate-nav`` made it from README files); the
Markdown extensions (from ``markdown-callouts``, ``mdx_gh_links``, ``mkdocs-click``)
are kept when installed, dropped otherwise.  A second test keeps the hook: the plugin must name
it and build everything.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

pytest.importorskip("mkdocs")
pytest.importorskip("pymdownx")

from tests.mkdocs.project import _build_date, differences, tree

MKDOCS_DOCS_COMMIT = "bb7e8b62185b11d9f59bb7f50b13c15134f62f8a"  # tag 1.6.1
SOURCE = Path(os.environ.get("INCRBUILD_MKDOCS_SOURCE", "/work/.mirror/mkdocs+mkdocs/repo"))

pytestmark = pytest.mark.skipif(
    not SOURCE.exists(), reason=f"no MkDocs checkout at {SOURCE} (set INCRBUILD_MKDOCS_SOURCE)"
)


def installed(extension: str | dict[str, object]) -> bool:
    """Whether Python-Markdown finds *extension* as MkDocs names it: by entry point
    (``toc``, ``callouts``) or by module (``pymdownx.snippets``)."""
    import markdown

    name = extension if isinstance(extension, str) else next(iter(extension))
    try:
        markdown.Markdown().build_extension(name, {})
    except (ImportError, AttributeError):
        return False
    except TypeError:  # found, but it wants its configuration (mdx_gh_links: user, repo)
        return True
    return True


def materialise(root: Path, *, keep_hooks: bool) -> list[str]:
    """Write the project under *root*; return the names of the Markdown extensions kept."""
    archive = subprocess.run(
        ["git", f"--git-dir={SOURCE}", "archive", MKDOCS_DOCS_COMMIT, "docs", "mkdocs.yml"],
        check=True,
        capture_output=True,
    ).stdout
    root.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
    config = yaml.load((root / "mkdocs.yml").read_text("utf-8"), Loader=yaml.Loader)
    config["plugins"] = ["search", "incrbuild"]
    config.pop("nav")
    config.pop("watch", None)
    if not keep_hooks:
        config.pop("hooks")
    config["markdown_extensions"] = [e for e in config["markdown_extensions"] if installed(e)]
    (root / "mkdocs.yml").write_text(yaml.safe_dump(config, sort_keys=False), "utf-8")
    return [e if isinstance(e, str) else next(iter(e)) for e in config["markdown_extensions"]]


def build(root: Path, site: Path, *, plugin: bool, dirty: bool) -> None:
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config

    overrides: dict[str, object] = {"site_dir": str(site)}
    if not plugin:
        overrides["plugins"] = ["search"]
    with _build_date():
        config = load_config(str(root / "mkdocs.yml"), **overrides)
        config.plugins.on_startup(command="build", dirty=dirty)
        mkdocs_build(config, dirty=dirty)
        config.plugins.on_shutdown()


def check(root: Path) -> list[str]:
    build(root, root.parent / "site", plugin=True, dirty=True)
    truth = root.parent / "truth"
    shutil.rmtree(truth, ignore_errors=True)
    build(root, truth, plugin=False, dirty=False)
    return differences(tree(root.parent / "site"), tree(truth))


def test_every_edit_kind_on_the_mkdocs_docs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "mkdocs-docs"
    kept = materialise(root, keep_hooks=False)
    # Python-Markdown's own extensions are always there (found by entry point, not module).
    assert {"toc", "attr_list", "def_list", "tables", "pymdownx.snippets"} <= set(kept), kept
    docs = root / "docs"
    build(root, tmp_path / "site", plugin=True, dirty=False)
    time.sleep(2.1)  # out of the racy window: each plan below is the exact one
    page = docs / "user-guide" / "writing-your-docs.md"
    edits = {
        "body": lambda: page.write_text(page.read_text("utf-8") + "\nMore.\n", "utf-8"),
        "heading": lambda: page.write_text(page.read_text("utf-8") + "\n## New part\n", "utf-8"),
        "title": lambda: page.write_text(
            page.read_text("utf-8").replace("# Writing your docs", "# Writing docs", 1), "utf-8"
        ),
        "add": lambda: (docs / "user-guide" / "added.md").write_text("# Added\n", "utf-8"),
        "rename": lambda: (docs / "user-guide" / "added.md").rename(docs / "renamed.md"),
        "delete": lambda: (docs / "about" / "license.md").unlink(),
        "css": lambda: (docs / "css" / "extra.css").write_text("body{}\n", "utf-8"),
        "config": lambda: (root / "mkdocs.yml").write_text(
            (root / "mkdocs.yml").read_text("utf-8").replace("site_name: MkDocs", "site_name: M"),
            "utf-8",
        ),
    }
    for name, edit in edits.items():
        edit()
        with caplog.at_level(logging.INFO, logger="mkdocs.plugins.incrbuild"):
            wrong = check(root)
        assert not wrong, f"after the {name} edit, the dirty build differs in {wrong}"
        assert "building everything" not in caplog.text, name
        caplog.clear()


def test_the_docs_hook_makes_a_full_build(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "mkdocs-docs"
    materialise(root, keep_hooks=True)
    build(root, tmp_path / "site", plugin=True, dirty=False)
    (root / "docs" / "index.md").write_text("# MkDocs\n\nEdited.\n", "utf-8")
    with caplog.at_level(logging.WARNING, logger="mkdocs.plugins.incrbuild"):
        assert not check(root)
    assert "hooks.py" in caplog.text
    assert "building everything" in caplog.text
