"""The ``incrbuild`` command line: plan, commit, demo, and errors as messages."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from incrbuild._cli import main


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def content(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    write(root / "docs" / "_index.md", "---\ntitle: Docs\ncascade: {layout: doc}\n---\n")
    write(root / "docs" / "a.md", "---\ntitle: A\ntags: [x]\n---\nA\n")
    write(root / "docs" / "b.md", "---\ntitle: B\n---\nB\n")
    write(root / "top.md", "---\ntitle: Top\n---\n")
    return root


class TestPlanCommand:
    def test_json_shape_and_relative_paths(self, content: Path, capsys) -> None:  # type: ignore[no-untyped-def]
        """``plan --json`` prints changes, pages, reasons and stats with POSIX relative paths."""
        assert main(["plan", str(content), "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["changes"]["added"] == ["docs/_index.md", "docs/a.md", "docs/b.md", "top.md"]
        assert data["changes"]["modified"] == []
        assert data["changes"]["removed"] == []
        assert data["pages"] == ["docs/_index.md", "docs/a.md", "docs/b.md", "top.md"]
        assert data["reasons"]["top.md"] == ["no usable state: full build"]
        assert data["stats"]["files_stat"] == 4
        assert data["full"] is True

    def test_commit_then_plan_explains_a_cascade(self, content: Path, capsys) -> None:  # type: ignore[no-untyped-def]
        """After ``commit``, a cascade edit is planned and explained."""
        assert main(["commit", str(content)]) == 0
        assert "committed" in capsys.readouterr().out
        write(content / "docs" / "_index.md", "---\ntitle: Docs\ncascade: {layout: wide}\n---\n")
        assert main(["plan", str(content), "--explain"]) == 0
        out = capsys.readouterr().out
        assert "1 modified" in out
        assert "docs/a.md" in out
        assert "because cascade changed in docs/_index.md (layout)" in out
        assert main(["plan", str(content), "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["reasons"]["docs/b.md"] == ["cascade changed in docs/_index.md (layout)"]
        assert data["stats"]["pages_read"] == 1

    def test_plan_does_not_commit(self, content: Path, capsys) -> None:  # type: ignore[no-untyped-def]
        """Planning twice reports the same changes: only ``commit`` records state."""
        main(["plan", str(content), "--json"])
        first = json.loads(capsys.readouterr().out)
        main(["plan", str(content), "--json"])
        assert json.loads(capsys.readouterr().out)["changes"] == first["changes"]

    def test_bad_front_matter_is_reported_not_raised(self, content: Path, capsys) -> None:  # type: ignore[no-untyped-def]
        """A page with bad front matter is listed as an error and planned, not a traceback."""
        bad = write(content / "docs" / "bad.md", "---\ntitle: [oops\n---\n")
        assert main(["plan", str(content)]) == 0
        out = capsys.readouterr().out
        assert re.search(
            rf"error    docs/bad.md: {re.escape(str(bad))}:[23]: bad front matter", out
        )

    def test_missing_content_dir_exits_2_with_a_message(self, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
        """A missing directory is one clear line on stderr and exit status 2."""
        assert main(["plan", str(tmp_path / "nope")]) == 2
        err = capsys.readouterr().err
        assert err.startswith("incrbuild: error:")
        assert "does not exist" in err

    def test_corrupt_state_warns_and_plans_everything(self, content: Path, capsys) -> None:  # type: ignore[no-untyped-def]
        """A damaged state file gives a warning line and a full plan."""
        main(["commit", str(content)])
        (content / ".incrbuild" / "state.bin").write_bytes(b"junk")
        capsys.readouterr()
        assert main(["plan", str(content), "--json"]) == 0
        captured = capsys.readouterr()
        assert "incrbuild: warning:" in captured.err
        assert json.loads(captured.out)["full"] is True


class TestModuleEntryPoint:
    def test_python_dash_m(self, content: Path) -> None:
        """``python -m incrbuild`` runs the same command line."""
        result = subprocess.run(
            [sys.executable, "-m", "incrbuild", "plan", str(content), "--json"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert json.loads(result.stdout)["pages"]


class TestDemo:
    def test_demo_runs_every_step(self, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
        """The demo builds a small site and reports each kind of edit in a table."""
        assert main(["demo", "--pages", "300", "--keep", str(tmp_path / "demo")]) == 0
        out = capsys.readouterr().out
        for step in ("no-op", "edit body", "edit cascade", "add a tag", "add one page"):
            assert step in out
        assert "| decision" in out
        assert (tmp_path / "demo" / "content").is_dir()


class TestProportionalDiscovery:
    def test_plan_on_10000_pages_reads_only_the_edited_page(self, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
        """``incrbuild plan`` on a 10,000-page tree with one edit reads that one file."""
        import os
        import time

        from incrbuild import generate_site

        site = generate_site(tmp_path / "content", pages=10_000, sections=100, seed=3)
        time.sleep(2.1)  # files younger than the racy window would be hashed (opened) on each plan
        state = tmp_path / "state"
        assert main(["commit", str(site.root), "--state-dir", str(state)]) == 0
        capsys.readouterr()
        edited = site.pages[4321]
        edited.write_text(edited.read_text(encoding="utf-8") + "\nedited\n", encoding="utf-8")
        # Count every open() of a page source during the second, cold plan.
        opened: list[str] = []
        real_open = open

        def counting_open(file, *args, **kwargs):  # type: ignore[no-untyped-def]
            if str(file).endswith(".md"):
                opened.append(os.fspath(file))
            return real_open(file, *args, **kwargs)

        import builtins

        builtins.open = counting_open
        try:
            assert main(["plan", str(site.root), "--state-dir", str(state), "--json"]) == 0
        finally:
            builtins.open = real_open
        data = json.loads(capsys.readouterr().out)
        relative = edited.relative_to(site.root).as_posix()
        assert data["changes"]["modified"] == [relative]
        assert data["pages"] == [relative]
        assert data["stats"]["pages_read"] == 1
        assert data["stats"]["files_stat"] >= 10_000
        assert set(opened) == {os.fspath(edited)}
