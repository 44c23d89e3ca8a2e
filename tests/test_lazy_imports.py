"""``import incrbuild`` is cheap: every public name is imported on first use (PEP 562)."""

from __future__ import annotations

import importlib
import subprocess
import sys
import time
from pathlib import Path

import pytest

import incrbuild
from incrbuild._detect import DEFAULT_RACY_WINDOW_NS


def test_the_lazy_table_serves_exactly_all() -> None:
    """Each name in ``__all__`` has a defining module, and the table names nothing else."""
    assert sorted(incrbuild._MODULE_OF) == sorted(incrbuild.__all__)
    for name, module in incrbuild._MODULE_OF.items():
        assert getattr(importlib.import_module(module), name) is getattr(incrbuild, name)


def test_unknown_names_raise_attribute_error() -> None:
    """A name the package does not export is an AttributeError, as without the table."""
    with pytest.raises(AttributeError, match="no_such_name"):
        incrbuild.no_such_name  # noqa: B018


def test_plain_import_loads_no_private_module_or_heavy_dependency() -> None:
    """A fresh ``import incrbuild`` imports none of the package's modules or dependencies.

    Only what the import itself adds counts: an interpreter may preload modules (``typing`` from
    a ``.pth`` file or ``sitecustomize``) before any of our code runs.
    """
    code = (
        "import sys; before = set(sys.modules); import incrbuild; "
        "print(sorted(m for m in set(sys.modules) - before if m.startswith('incrbuild.') or "
        "m.split('.')[0] in ('attrs', 'attr', 'msgspec', 'yaml', 'concurrent', 'logging', "
        "'multiprocessing', 'typing')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


#: What a no-op plan never needs: parsers, the planner and indexes (no site model is built),
#: writers' helpers (nothing is written), JSON and traceback
#: output (plain output, no error).  Each costs a fresh process milliseconds to import.
HEAVY_FOR_A_NOOP = (
    "yaml",
    "tomllib",
    "importlib.metadata",
    "incrbuild._frontmatter",
    "incrbuild._planner",
    "incrbuild._registry",
    "incrbuild._builtin_rules",
    "incrbuild._rules",
    "incrbuild.adapters.simple",
    "tempfile",
    "secrets",
    "json",
    "traceback",
)


@pytest.mark.parametrize("config", [None, "hugo.toml"])
def test_a_noop_cli_plan_imports_no_parser_it_does_not_use(tmp_path, config) -> None:  # type: ignore[no-untyped-def]
    """A fresh ``incrbuild plan`` that finds nothing changed imports no parser it does not use.

    YAML, TOML and ``importlib.metadata`` (for ``--version``) cost a no-op plan, which is
    what users run most, tens of milliseconds; each is imported when needed (a TOML site
    configuration is read on every run, for its taxonomies).  So are the planner, the
    indexes and the writers' helpers (:data:`HEAVY_FOR_A_NOOP`).  Only what the plan adds
    counts: an interpreter may preload modules (``tempfile`` from a ``.pth`` file) first.
    """
    content = tmp_path / "content"
    (content / "s").mkdir(parents=True)
    (content / "s" / "p.md").write_text("---\ntitle: P\ntags: [a]\n---\nbody\n")
    if config is not None:
        (tmp_path / config).write_text("[taxonomies]\ntag = 'tags'\n")
    state = tmp_path / "state"
    subprocess.run(
        [sys.executable, "-m", "incrbuild", "commit", str(content), "--state-dir", str(state)],
        check=True,
        capture_output=True,
    )
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "from incrbuild._cli import main\n"
        f"status = main(['plan', {str(content)!r}, '--state-dir', {str(state)!r}])\n"
        f"heavy = {HEAVY_FOR_A_NOOP!r}\n"
        "print(status, sorted(m for m in set(sys.modules) - before if m in heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    expected = "['tomllib']" if config == "hugo.toml" else "[]"
    assert out.stdout.strip().splitlines()[-1] == f"0 {expected}"


#: What an aged no-op plan (nothing changed, no racy record to refresh) never needs: the
#: next state's builders and the read records, which only a commit or a refresh uses.
COMMIT_ONLY = ("incrbuild._transitions", "incrbuild._reads")


def test_an_aged_noop_cli_plan_imports_no_commit_machinery(tmp_path: Path) -> None:
    """The no-op users run most (files settled before the commit) imports nothing a commit uses.

    A plan within the racy window after a commit content-checks the racy records and may
    refresh them (``_transitions``), so the files here settle before the commit.
    """
    content = tmp_path / "content"
    (content / "s").mkdir(parents=True)
    (content / "s" / "p.md").write_text("---\ntitle: P\ntags: [a]\n---\nbody\n")
    time.sleep(DEFAULT_RACY_WINDOW_NS / 1e9 + 0.2)  # the files settle: no racy record
    state = tmp_path / "state"
    subprocess.run(
        [sys.executable, "-m", "incrbuild", "commit", str(content), "--state-dir", str(state)],
        check=True,
        capture_output=True,
    )
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "from incrbuild._cli import main\n"
        f"status = main(['plan', {str(content)!r}, '--state-dir', {str(state)!r}])\n"
        f"heavy = {COMMIT_ONLY!r}\n"
        "print(status, sorted(m for m in set(sys.modules) - before if m in heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "0 digests" in out.stdout  # aged: nothing content-checked
    assert out.stdout.strip().splitlines()[-1] == "0 []"
