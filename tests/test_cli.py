"""The ``incrbuild`` command line: plans, terminal conventions, and hostile inputs as messages."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from incrbuild._cli import JSON_SCHEMA_VERSION, main, plan_as_json
from incrbuild._state import FileRecord, State, StateStore, encode_state

from .helpers import COMMAND, run_command, write

DOCS = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


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
        assert data["schema"] == JSON_SCHEMA_VERSION == 1
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

    def test_bad_front_matter_is_reported_on_stderr_and_planned(
        self, content: Path, capsys
    ) -> None:  # type: ignore[no-untyped-def]
        """A page with bad front matter: one line on stderr, the page planned, exit status 1."""
        write(content / "docs" / "bad.md", "---\ntitle: [oops\n---\n")
        assert main(["plan", str(content)]) == 1
        captured = capsys.readouterr()
        assert re.search(r"^incrbuild: docs/bad.md:[23]: bad front matter", captured.err, re.M)
        assert "bad front matter" not in captured.out
        assert main(["plan", str(content), "--json"]) == 1
        data = json.loads(capsys.readouterr().out)
        assert "docs/bad.md" in data["pages"]
        assert [e["path"] for e in data["errors"]] == ["docs/bad.md"]

    def test_missing_content_dir_exits_2_with_a_message(self, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
        """A missing directory is one clear line on stderr and exit status 2."""
        assert main(["plan", str(tmp_path / "nope")]) == 2
        captured = capsys.readouterr()
        assert captured.err.startswith("incrbuild: error:")
        assert "does not exist" in captured.err
        assert captured.out == ""

    def test_corrupt_state_warns_and_plans_everything(self, content: Path, capsys) -> None:  # type: ignore[no-untyped-def]
        """A damaged state file gives a warning line and a full plan."""
        main(["commit", str(content)])
        (content / ".incrbuild" / "state.bin").write_bytes(b"junk")
        capsys.readouterr()
        assert main(["plan", str(content), "--json"]) == 0
        captured = capsys.readouterr()
        assert "incrbuild: warning:" in captured.err
        assert json.loads(captured.out)["full"] is True


class TestTerminalConventions:
    def test_version(self, capsys) -> None:  # type: ignore[no-untyped-def]
        """``--version`` prints the installed version and exits 0."""
        from importlib.metadata import version

        assert main(["--version"]) == 0
        assert capsys.readouterr().out.strip() == f"incrbuild {version('incrbuild')}"

    def test_usage_error_exits_2(self, content: Path, capsys) -> None:  # type: ignore[no-untyped-def]
        """An unknown option is a usage error: status 2, message on stderr, nothing on stdout."""
        assert main(["plan", str(content), "--no-such-option"]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert "unrecognized arguments" in captured.err

    def test_quiet_commit_prints_nothing(self, content: Path, capsys) -> None:  # type: ignore[no-untyped-def]
        """``commit --quiet`` records state and prints nothing at all."""
        assert main(["commit", str(content), "--quiet"]) == 0
        assert capsys.readouterr() == ("", "")
        assert (content / ".incrbuild" / "state.bin").exists()

    def test_progress_only_on_a_terminal(self, content: Path) -> None:
        """A progress line is drawn when stderr is a terminal, and never into a pipe or file."""
        import pty

        piped = run_command("plan", str(content))
        assert piped.returncode == 0
        assert piped.stderr == b""
        leader, follower = pty.openpty()
        try:
            process = subprocess.run(
                [*COMMAND, "plan", str(content)],
                stdout=subprocess.PIPE,
                stderr=follower,
                timeout=60,
                check=False,
            )
            os.close(follower)
            terminal = b""
            while True:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # EIO: the terminal's other side is closed and drained
                    break
                if not chunk:
                    break
                terminal += chunk
        finally:
            os.close(leader)
        assert process.returncode == 0
        assert b"planning" in terminal
        assert b"planning" not in process.stdout
        quiet = subprocess.run(
            [*COMMAND, "plan", str(content), "--quiet"],
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert quiet.stderr == b""

    def test_explain_marks_deletions_counts_and_shares_reasons(self, content: Path, capsys) -> None:  # type: ignore[no-untyped-def]
        """``--explain``: deletions marked, "1 page" (singular), a shared reason printed once."""
        for i in range(5):
            write(content / "docs" / f"c{i}.md", f"---\ntitle: C{i}\n---\n")
        assert main(["commit", str(content)]) == 0
        write(content / "docs" / "_index.md", "---\ntitle: Docs\ncascade: {layout: wide}\n---\n")
        (content / "top.md").unlink()
        capsys.readouterr()
        assert main(["plan", str(content), "--explain"]) == 0
        out = capsys.readouterr().out
        assert "delete: 1 page," in out
        assert "1 pages" not in out
        assert out.count("cascade changed in docs/_index.md") == 1
        assert re.search(r"DELETE 1 page, because source removed:\n    - top\.md\n", out)

    def test_every_json_field_is_documented(self, content: Path, capsys) -> None:  # type: ignore[no-untyped-def]
        """Each field ``plan --json`` prints is described in docs/cli.md, with the schema."""
        write(content / "docs" / "bad.md", "---\ntitle: [oops\n---\n")
        main(["plan", str(content), "--json"])
        data = json.loads(capsys.readouterr().out)
        documented = DOCS.read_text(encoding="utf-8")
        assert '"schema": 1' in documented

        def fields(value: Any, prefix: str) -> set[str]:
            found: set[str] = set()
            if isinstance(value, dict) and prefix not in ("reasons", "term_reasons"):
                for key, item in value.items():
                    name = f"{prefix}.{key}" if prefix else key
                    found |= {name} | fields(item, name)
            elif isinstance(value, list) and value and isinstance(value[0], dict):
                found |= fields(value[0], prefix + "[]")
            return found

        missing = sorted(f for f in fields(data, "") if f"`{f}`" not in documented)
        assert not missing, f"fields not described in docs/cli.md: {missing}"

    def test_exit_status_table_is_documented(self) -> None:
        """docs/cli.md lists every exit status the command uses."""
        from incrbuild import _cli

        documented = DOCS.read_text(encoding="utf-8")
        for name in dir(_cli):
            if name.startswith("EXIT_"):
                assert f"| {getattr(_cli, name)} |" in documented, name


class TestNamesThatAreNotText:
    @pytest.mark.skipif(sys.platform != "linux", reason="needs a file system of raw bytes")
    def test_non_utf8_and_odd_names_are_printed_losslessly(self, content: Path) -> None:
        """Names that are not UTF-8, hold a newline or start with a quote: valid JSON, no loss."""
        odd = [b"caf\xe9.md", b"line\nbreak.md", b'"quoted".md', "日本 語.md".encode()]
        for name in odd:
            with open(os.path.join(os.fsencode(content), name), "wb") as handle:
                handle.write(b"---\ntitle: odd\n---\n")
        result = run_command("plan", str(content), "--json")
        assert result.returncode == 0, result.stderr
        text = result.stdout.decode("utf-8", "strict")
        data = json.loads(text)
        shown = set(data["pages"])
        assert '"caf\\351.md"' in shown
        assert '"line\\nbreak.md"' not in shown
        assert '"line\\012break.md"' in shown
        assert '"\\"quoted\\".md"' in shown
        assert "日本 語.md" in shown
        assert all(c.encode("utf-8") for name in shown for c in name)  # no lone surrogates
        listing = run_command("plan", str(content))
        assert b'added    "caf\\351.md"' in listing.stdout
        assert listing.returncode == 0, listing.stderr

    def test_plan_as_json_names_a_quoted_path_like_git(self, tmp_path: Path) -> None:
        """The quoting is git's: octal escapes for bytes that are not printable ASCII."""
        from incrbuild._cli import display_path

        root = tmp_path
        assert display_path(root / "a b/é.md", root) == "a b/é.md"
        assert display_path(root / os.fsdecode(b"x\xff.md"), root) == '"x\\377.md"'
        assert display_path(root / 'in\\side"', root) == 'in\\side"'  # unambiguous as is
        assert display_path(root / '"lead\\', root) == '"\\"lead\\\\"'
        assert callable(plan_as_json)


class TestCrashes:
    def test_output_closed_early_is_not_a_traceback(self, content: Path) -> None:
        """``incrbuild plan X | head``: the reader leaves; no traceback, status 141."""
        process = subprocess.Popen(
            [*COMMAND, "plan", str(content), "--explain"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert process.stdout is not None
        process.stdout.close()  # the reader is gone before the first line is written
        _, err = process.communicate(timeout=60)
        assert b"Traceback" not in err
        assert b"Exception ignored" not in err
        assert process.returncode == 141

    def test_output_closed_by_head_in_a_shell(self, content: Path) -> None:
        """The same through a real shell pipeline into ``head -1``."""
        command = " ".join([*COMMAND, "plan", str(content), "--explain"])
        result = subprocess.run(
            ["sh", "-c", f"{command} | head -1"], capture_output=True, timeout=60, check=False
        )
        assert result.stdout.startswith(b"changes:")
        assert b"Traceback" not in result.stderr

    def test_closed_stdout_is_not_an_error(self, content: Path) -> None:
        """``incrbuild commit X >&-``: no stdout at all is no reason to fail."""
        result = subprocess.run(
            ["sh", "-c", " ".join([*COMMAND, "commit", str(content)]) + " >&-"],
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert (content / ".incrbuild" / "state.bin").exists()

    def test_watch_without_the_extra_fails_before_committing(self, content: Path) -> None:
        """``incrbuild watch`` without watchfiles: status 2, a clear line, and nothing recorded."""
        script = textwrap.dedent(
            f"""
            import sys
            sys.modules["watchfiles"] = None  # as if the 'watch' extra were not installed
            from incrbuild._cli import main
            raise SystemExit(main(["watch", {str(content)!r}]))
            """
        )
        result = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 2
        assert "Traceback" not in result.stderr
        assert "pip install 'incrbuild[watch]'" in result.stderr
        assert not (content / ".incrbuild" / "state.bin").exists()

    def test_malformed_store_payload_is_a_warning_and_a_full_plan(self, content: Path) -> None:
        """A state file with a valid checksum but front matter that is not msgpack."""
        assert main(["commit", str(content), "--quiet"]) == 0
        store = StateStore(content / ".incrbuild")
        state = store.load()
        files = {
            key: FileRecord(*record.stat, digest=record.digest, front_matter=b"\xc1")
            if record.front_matter
            else record
            for key, record in state.files.items()
        }
        bad = State(root=state.root, snapshot_ns=state.snapshot_ns, commit_id="x", files=files)
        store.path.write_bytes(encode_state(bad))
        # An edit makes the plan read the stored front matter of the other pages.
        write(content / "docs" / "b.md", "---\ntitle: B, edited\n---\nB\n")
        result = run_command("plan", str(content), "--json")
        err = result.stderr.decode()
        assert "Traceback" not in err
        assert "internal error" not in err
        assert result.returncode == 0, err
        assert "incrbuild: warning:" in err
        assert json.loads(result.stdout)["full"] is True


class TestCtrlC:
    def run_interrupted(
        self, content: Path, where: str, command: str
    ) -> subprocess.CompletedProcess[str]:
        """Run *command* with SIGINT delivered from inside *where* (no timing involved)."""
        script = textwrap.dedent(
            f"""
            import os, signal
            # As at a terminal: a shell's background job starts with SIGINT ignored.
            signal.signal(signal.SIGINT, signal.default_int_handler)
            from incrbuild import _engine, _state
            owner = _engine.Engine if {where!r} == "plan" else _state.StateStore
            real = getattr(owner, {where!r})
            def interrupted(self, *args, **kwargs):
                os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, right here
                return real(self, *args, **kwargs)
            setattr(owner, {where!r}, interrupted)
            from incrbuild._cli import main
            raise SystemExit(main([{command!r}, {str(content)!r}]))
            """
        )
        return subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
        )

    def test_ctrl_c_during_a_plan_exits_130_quietly(self, content: Path) -> None:
        """Ctrl-C while planning: one line, status 130, no traceback."""
        result = self.run_interrupted(content, "plan", "plan")
        assert result.returncode == 130, result.stderr
        assert result.stderr.strip() == "incrbuild: interrupted"
        assert result.stdout == ""

    def test_ctrl_c_during_a_commit_waits_for_the_commit(self, content: Path) -> None:
        """Ctrl-C while the state is written: the commit completes first, then status 130."""
        result = self.run_interrupted(content, "save", "commit")
        assert result.returncode == 130, result.stderr
        assert "Traceback" not in result.stderr
        state_dir = content / ".incrbuild"
        assert list(state_dir.glob(".state-*.tmp")) == []
        assert len(StateStore(state_dir).load().files) == 4


class TestKilledCommit:
    def test_temporaries_of_killed_commits_do_not_accumulate(self, content: Path) -> None:
        """kill -9 between writing and renaming the state: the next commit removes the leftover."""
        state_dir = content / ".incrbuild"
        script = textwrap.dedent(
            f"""
            import os, signal
            def killed(*args, **kwargs):  # the moment between write+fsync and rename
                os.kill(os.getpid(), signal.SIGKILL)
            os.replace = killed
            from incrbuild._cli import main
            main(["commit", {str(content)!r}, "--quiet"])
            """
        )
        for _ in range(3):
            killed = subprocess.run([sys.executable, "-c", script], timeout=60, check=False)
            assert killed.returncode == -9
            # Each killed commit left exactly its own temporary: earlier ones were removed.
            assert len(list(state_dir.glob(".state-*.tmp"))) == 1
            assert not (state_dir / "state.bin").exists()
        assert main(["commit", str(content), "--quiet"]) == 0
        assert list(state_dir.glob(".state-*.tmp")) == []
        assert StateStore(state_dir).load().files


def _deep_page(root: Path) -> str:
    """A page whose path exceeds PATH_MAX ("File name too long"), built level by level."""
    fd = os.open(root, os.O_RDONLY)
    try:
        for _ in range(25):  # 25 x 201 bytes > 4096
            os.mkdir("d" * 200, dir_fd=fd)
            inner = os.open("d" * 200, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
        page = os.open("deep.md", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(page, b"---\ntitle: deep\n---\n")
        os.close(page)
    finally:
        os.close(fd)
    return "d" * 200


def _write_bytes(root: Path, name: bytes, data: bytes) -> str:
    with open(os.path.join(os.fsencode(root), name), "wb") as handle:
        handle.write(data)
    return os.fsdecode(name)


def _link(root: Path, name: str, target: str) -> str:
    (root / name).symlink_to(target)
    return name


def _fifo(root: Path) -> str:
    os.mkfifo(root / "fifo.md")
    return "fifo.md"


#: Each hostile input of issue 12: (id, make it below the content root -> the name it made).
HOSTILE: list[Any] = [
    pytest.param(lambda r: write(r / "bad.md", "---\ntitle: [oops\n---\n").name, id="bad-yaml"),
    pytest.param(
        lambda r: _write_bytes(r, b"latin.md", b"---\ntitle: caf\xe9\n---\n"),
        id="non-utf8-front-matter",
    ),
    pytest.param(
        lambda r: write(r / "open.md", "---\ntitle: never closed\n").name,
        id="unterminated-front-matter",
    ),
    pytest.param(lambda r: write(r / "empty.md", "").name, id="empty-page"),
    pytest.param(
        lambda r: write(r / "date.md", "---\ndate: 2024-13-45\n---\n").name,
        id="impossible-month",
    ),
    pytest.param(
        lambda r: write(r / "date.md", "---\ndate: 2024-02-30\n---\n").name,
        id="impossible-day",
    ),
    pytest.param(
        lambda r: _write_bytes(r, b"caf\xe9.md", b"---\ntitle: x\n---\n"),
        id="non-utf8-name",
    ),
    pytest.param(
        lambda r: _write_bytes(r, b"new\nline.md", b"---\ntitle: x\n---\n"),
        id="newline-in-name",
    ),
    pytest.param(lambda r: _link(r, "loop.md", "loop.md"), id="symlink-loop-page"),
    pytest.param(lambda r: _link(r, "dangling.md", "nowhere.md"), id="dangling-link"),
    pytest.param(lambda r: _link(r, "linked.md", "docs/a.md"), id="link-to-page"),
    pytest.param(lambda r: _link(r / "docs", "up", ".."), id="directory-link-loop"),
    pytest.param(lambda r: _link(r, "dirlink.md", "docs"), id="directory-link-named-md"),
    pytest.param(_fifo, id="fifo-named-md"),
    pytest.param(_deep_page, id="path-beyond-path-max"),
    pytest.param(
        lambda r: (r / ".incrbuild" / "state.bin").write_bytes(b"junk") and ".incrbuild",
        id="corrupt-store",
    ),
]


class TestHostileInputs:
    """Every input of issue 12 through the real command: a message, never a traceback."""

    @staticmethod
    def run_clean(*args: str, cwd: Path | None = None) -> tuple[int, str, str]:
        result = run_command(*args, cwd=cwd)
        out = result.stdout.decode("utf-8", "strict")  # valid UTF-8, whatever the names
        err = result.stderr.decode("utf-8", "backslashreplace")
        assert "Traceback" not in err, err
        assert "internal error" not in err, err
        assert result.returncode in (0, 1), (result.returncode, err)
        return result.returncode, out, err

    @pytest.mark.parametrize("make", HOSTILE)
    def test_plan_commit_plan(self, content: Path, make: Any) -> None:
        """Commit a clean tree, add the input, then plan (JSON and text), commit, plan again."""
        self.run_clean("commit", str(content))
        made = make(content)
        _, out, err = self.run_clean("plan", str(content), "--json")
        data = json.loads(out)
        top = made.split("/")[0]
        named = [*data["pages"], *data["changes"]["added"], *(e["path"] for e in data["errors"])]
        # Not content: the store, links to nothing or to directories, special files.
        if top != ".incrbuild" and not top.startswith(("dangling", "dirlink", "up", "fifo")):
            # What changed is planned or reported: never silently dropped.
            assert any(top in name or name.startswith('"') for name in named), (named, err)
        self.run_clean("plan", str(content), "--explain")
        self.run_clean("commit", str(content))
        self.run_clean("plan", str(content), "--json")

    def test_relative_paths_and_another_working_directory(self, content: Path) -> None:
        """Relative content and state dirs from the parent; an edit is then planned."""
        parent = content.parent
        self.run_clean("commit", "content", "--state-dir", "state", cwd=parent)
        write(content / "docs" / "b.md", "---\ntitle: B2\n---\nB\n")
        _, out, _ = self.run_clean("plan", "content", "--state-dir", "state", "--json", cwd=parent)
        assert "docs/b.md" in json.loads(out)["pages"]
        _, out, _ = self.run_clean("plan", ".", "--state-dir", "../state", "--json", cwd=content)
        data = json.loads(out)
        assert "docs/b.md" in data["pages"]
        assert data["full"] is False

    @pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
    def test_unreadable_page(self, content: Path) -> None:
        """A page that cannot be read: named on stderr, planned, status 1."""
        self.run_clean("commit", str(content))
        page = write(content / "secret.md", "---\ntitle: S\n---\n")
        page.chmod(0)
        try:
            status, _, err = self.run_clean("plan", str(content), "--json")
        finally:
            page.chmod(0o644)
        assert status == 1
        assert "secret.md" in err


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
        captured = capsys.readouterr()
        out = captured.out
        assert "generating  [" not in captured.err  # no progress bar when not on a terminal
        for step in ("no-op", "edit body", "edit cascade", "add a tag", "add one page"):
            assert step in out
        assert "| decision" in out
        assert (tmp_path / "demo" / "content").is_dir()


class TestProportionalDiscovery:
    def test_plan_on_10000_pages_reads_only_the_edited_page(  # type: ignore[no-untyped-def]
        self, tmp_path: Path, capsys, monkeypatch
    ) -> None:
        """``incrbuild plan`` on a 10,000-page tree with one edit reads that one file."""
        import builtins
        import time

        from incrbuild.testing import generate_site

        site = generate_site(tmp_path / "content", pages=10_000, sections=100, seed=3)
        time.sleep(2.1)  # files younger than the racy window would be hashed (opened) on each plan
        state = tmp_path / "state"
        assert main(["commit", str(site.root), "--state-dir", str(state)]) == 0
        capsys.readouterr()
        edited = site.pages[4321]
        edited.write_text(edited.read_text(encoding="utf-8") + "\nedited\n", encoding="utf-8")
        # Count every open() of a page source during the second, cold plan.
        opened: list[str] = []
        real_open = builtins.open
        real_os_open = os.open
        directories: dict[int, str] = {}  # open directory fds, to name files opened in them

        def counting_open(file, *args, **kwargs):  # type: ignore[no-untyped-def]
            if str(file).endswith(".md"):
                opened.append(os.fspath(file))
            return real_open(file, *args, **kwargs)

        def counting_os_open(path, flags, mode=0o777, *, dir_fd=None):  # type: ignore[no-untyped-def]
            fd = real_os_open(path, flags, mode, dir_fd=dir_fd)
            where = os.fspath(path) if dir_fd is None else os.path.join(directories[dir_fd], path)
            if flags & getattr(os, "O_DIRECTORY", 0):
                directories[fd] = where
            elif where.endswith(".md"):
                opened.append(where)
            return fd

        import io

        with monkeypatch.context() as patched:
            # pathlib opens through io.open, the detector's reads through os.open (relative
            # to an open directory), its other digests through builtins.open.
            patched.setattr(builtins, "open", counting_open)
            patched.setattr(io, "open", counting_open)
            patched.setattr(os, "open", counting_os_open)
            assert main(["plan", str(site.root), "--state-dir", str(state), "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
        relative = edited.relative_to(site.root).as_posix()
        assert data["changes"]["modified"] == [relative]
        assert data["pages"] == [relative]
        assert data["stats"]["pages_read"] == 1
        assert data["stats"]["files_stat"] >= 10_000
        assert set(opened) == {os.fspath(edited)}
