"""The ``incrbuild`` command line: ``plan``, ``commit``, ``watch``, ``demo``.

Conventions (``docs/cli.md``): the plan goes to stdout; progress, per-file
problems, warnings and errors go to stderr.  Exit status: 0 ok; 1 the plan was
made but some files could not be read or parsed (they are listed, and planned);
2 usage, state or environment errors; 3 an internal error (a bug: one line,
the traceback only with ``INCRBUILD_TRACEBACK=1``); 130 interrupted (Ctrl-C);
141 the reader of stdout went away (``incrbuild plan | head``).

This module is what every ``incrbuild`` process imports first, so it imports
next to nothing: the common ``incrbuild plan DIR`` that finds nothing changed is
answered here with :mod:`incrbuild._noop` (no attrs, msgspec, argparse or
typing); everything else goes to :mod:`incrbuild._commands` and the engine.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not typing's: importing typing costs a fresh process milliseconds
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from pathlib import Path
    from typing import Any, Final, TextIO

    from incrbuild._noop import Unchanged
    from incrbuild._plan import Plan

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_FILE_PROBLEMS",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "JSON_SCHEMA_VERSION",
    "Console",
    "display_path",
    "main",
    "plan_as_json",
    "plural",
    "print_plan",
    "report_problems",
    "silence_stdout",
]

#: The version of ``plan --json``'s layout; it changes only when a field changes meaning.
JSON_SCHEMA_VERSION: Final = 1

EXIT_OK: Final = 0
EXIT_FILE_PROBLEMS: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERNAL: Final = 3
EXIT_INTERRUPTED: Final = 130
EXIT_BROKEN_PIPE: Final = 141


# -- paths as text ---------------------------------------------------------------------


def _quote(raw: bytes) -> str:
    """Quote *raw* like git's ``core.quotePath``: C escapes inside double quotes."""
    out = ['"']
    for byte in raw:
        if byte in (0x22, 0x5C):
            out.append("\\" + chr(byte))
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:03o}")
    out.append('"')
    return "".join(out)


def display_path(path: Path, root: Path | None = None) -> str:
    """Return *path* (POSIX, relative to *root* when below it) as text that names it losslessly.

    A name that is valid UTF-8, has no control characters and does not start
    with ``"`` is shown as is; any other is quoted like git does (``"caf\\351.md"``),
    so a name that is not UTF-8 is neither lost nor printed as lone surrogates.
    """
    text = path.as_posix()
    if root is not None:
        try:  # noqa: SIM105 - contextlib is not imported on the no-op path
            text = path.relative_to(root).as_posix()
        except ValueError:
            pass
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _quote(os.fsencode(text))
    if text.startswith('"') or any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        return _quote(os.fsencode(text))
    return text


def _printable(text: str) -> str:
    """Return *text* with undecodable bytes (lone surrogates) written as ``\\xNN``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(text).decode("utf-8", "backslashreplace")
    return text


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


# -- the console -------------------------------------------------------------------------


class Console:
    """Where the command writes: data to stdout, everything else to stderr.

    A plain class, not attrs: it is mutable state of one run, and creating an attrs
    class costs every fresh ``incrbuild`` process about a millisecond.
    """

    __slots__ = ("_progress_shown", "err", "out", "quiet")

    def __init__(
        self, *, quiet: bool = False, out: TextIO | None = None, err: TextIO | None = None
    ) -> None:
        self.quiet = quiet
        self.out = sys.stdout if out is None else out
        self.err = sys.stderr if err is None else err
        self._progress_shown = False

    @property
    def interactive(self) -> bool:
        """Progress is drawn only for a person watching a terminal."""
        if self.quiet:
            return False
        try:
            return self.err.isatty()
        except (AttributeError, ValueError):
            return False

    def status(self, message: str) -> None:
        """An informational line (suppressed by ``--quiet``)."""
        if not self.quiet:
            self._end_progress()
            print(f"incrbuild: {_printable(message)}", file=self.err, flush=True)

    def result(self, message: str) -> None:
        """A one-line result of a command, on stdout (suppressed by ``--quiet``)."""
        if not self.quiet:
            print(_printable(message), file=self.out)

    def problem(self, message: str) -> None:
        """A per-file problem, warning or error: always shown."""
        self._end_progress()
        print(f"incrbuild: {_printable(message)}", file=self.err, flush=True)

    def progress(self, message: str) -> _Progress:
        """Show *message* on the terminal while the ``with`` block runs (nothing if not a TTY)."""
        return _Progress(self, message)

    def _start_progress(self, message: str) -> None:
        if self.interactive:
            self.err.write(f"\rincrbuild: {_printable(message)}\x1b[K")
            self.err.flush()
            self._progress_shown = True

    def _end_progress(self) -> None:
        if self._progress_shown:
            self.err.write("\r\x1b[K")
            self.err.flush()
            self._progress_shown = False


class _Progress:
    """The ``with`` block of :meth:`Console.progress` (not ``contextlib``: see the module)."""

    __slots__ = ("_console", "_message")

    def __init__(self, console: Console, message: str) -> None:
        self._console = console
        self._message = message

    def __enter__(self) -> None:
        self._console._start_progress(self._message)

    def __exit__(self, *exc_info: object) -> None:
        self._console._end_progress()


# -- plans as JSON and as text ------------------------------------------------------------


def plan_as_json(plan: Plan, root: Path, *, reasons: bool = True) -> dict[str, Any]:
    """Return *plan* as JSON-ready data (schema :data:`JSON_SCHEMA_VERSION`, see docs/cli.md)."""

    def paths(items: Iterable[Path]) -> list[str]:
        return sorted(display_path(p, root) for p in items)

    changes = plan.changes
    detector = plan.stats.detector
    data: dict[str, Any] = {
        "schema": JSON_SCHEMA_VERSION,
        "content_dir": display_path(root),
        "full": plan.full,
        "changes": {
            "added": paths(changes.added),
            "modified": paths(changes.modified),
            "removed": paths(changes.removed),
            "touched": paths(changes.touched),
        },
        "errors": [
            {"path": display_path(path, root), "message": _printable(message)}
            for path, message in changes.errors
        ],
        "pages": paths(plan.pages),
        "removed_pages": paths(plan.removed_pages),
        "terms": sorted(_printable(t) for t in plan.terms),
        "removed_terms": sorted(_printable(t) for t in plan.removed_terms),
        "sections": paths(plan.sections),
        "outputs": sorted(plan.outputs),
        "removed_outputs": sorted(_printable(o) for o in plan.removed_outputs),
        "stats": {
            "site_pages": plan.stats.site_pages,
            "pages_read": plan.stats.pages_read,
            "files_stat": detector.files_stat,
            "dirs_stat": detector.dirs_stat,
            "dirs_listed": detector.dirs_listed,
            "digests": detector.digests,
            "racy_checks": detector.racy_checks,
            "early_cutoffs": detector.early_cutoffs,
            "detect_ms": detector.elapsed_ns / 1e6,
            "plan_ms": plan.stats.total_ns / 1e6,
        },
    }
    if reasons:
        data["reasons"] = {
            display_path(path, root): [_printable(r.describe(root)) for r in found]
            for path, found in sorted(plan.reasons.items())
        }
        data["term_reasons"] = {
            _printable(tag): [_printable(r.describe(root)) for r in found]
            for tag, found in sorted(plan.term_reasons.items())
        }
        data["output_reasons"] = {
            name: [_printable(r.describe(root)) for r in found]
            for name, found in sorted(plan.output_reasons.items())
        }
    return data


def _reasons_of(
    plan: Plan, target: Path | str, root: Path, *, output: bool = False
) -> tuple[str, ...]:
    if output:
        found = plan.output_reasons.get(str(target), ())
    elif isinstance(target, str):
        found = plan.term_reasons.get(target, ())
    else:
        found = plan.reasons.get(target, ())
    return tuple(_printable(r.describe(root)) for r in found)


def print_plan(plan: Plan, root: Path, console: Console, *, explain: bool) -> None:
    out = console.out
    changes = plan.changes
    counts = (len(changes.added), len(changes.modified), len(changes.removed))
    print(_changes_line(*counts, len(changes.touched)), file=out)
    for label, items in (
        ("added", changes.added),
        ("modified", changes.modified),
        ("removed", changes.removed),
    ):
        for path in sorted(items):
            print(f"  {label:8} {display_path(path, root)}", file=out)
    if changes.errors:
        print(f"  {plural(len(changes.errors), 'file')} with problems (see stderr)", file=out)
    sizes = (len(plan.pages), len(plan.terms), len(plan.outputs))
    removals = (len(plan.removed_pages), len(plan.removed_terms))
    print(_rebuild_line(*sizes, *removals, plan.stats.site_pages, full=plan.full), file=out)
    if explain:
        _print_explanation(plan, root, out)
    stats = plan.stats
    detector = stats.detector
    work = (detector.files_stat, detector.dirs_listed, detector.digests, stats.pages_read)
    print(_decided_line(stats.total_ns, *work), file=out)


def _print_unchanged(found: Unchanged, out: TextIO) -> None:
    """What :func:`print_plan` prints of a plan that found nothing changed (with or without
    ``--explain``: such a plan has nothing to explain)."""
    print(_changes_line(0, 0, 0, 0), file=out)
    print(_rebuild_line(0, 0, 0, 0, 0, found.pages, full=False), file=out)
    print(_decided_line(found.elapsed_ns, found.files_stat, 0, 0, 0), file=out)


def _changes_line(added: int, modified: int, removed: int, touched: int) -> str:
    return (
        f"changes: {added} added, {modified} modified, "
        f"{removed} removed ({touched} touched, unchanged)"
    )


def _rebuild_line(
    pages: int,
    terms: int,
    outputs: int,
    removed_pages: int,
    removed_terms: int,
    site_pages: int,
    *,
    full: bool,
) -> str:
    return (
        f"rebuild: {pages} of {plural(site_pages, 'page')}, "
        f"{plural(terms, 'term page')}, {plural(outputs, 'output')}; "
        f"delete: {plural(removed_pages, 'page')}, "
        f"{plural(removed_terms, 'term page')}" + (" (full build)" if full else "")
    )


def _decided_line(total_ns: int, stats: int, listings: int, digests: int, pages_read: int) -> str:
    return (
        f"decided in {total_ns / 1e6:.1f} ms ({plural(stats, 'stat')}, "
        f"{plural(listings, 'listing')}, {plural(digests, 'digest')}, "
        f"{plural(pages_read, 'page')} read)"
    )


def _print_explanation(plan: Plan, root: Path, out: TextIO) -> None:
    """Group targets by action and reasons, so a reason shared by many is printed once."""
    groups: dict[tuple[str, str, tuple[str, ...]], list[str]] = {}
    for action, targets in (("rebuild", plan.pages), ("delete", plan.removed_pages)):
        for path in sorted(targets):
            key = (action, "page", _reasons_of(plan, path, root))
            groups.setdefault(key, []).append(display_path(path, root))
    for action, tags in (
        ("rebuild", plan.terms - plan.removed_terms),
        ("delete", plan.removed_terms),
    ):
        for tag in sorted(tags):
            key = (action, "term page", _reasons_of(plan, tag, root))
            groups.setdefault(key, []).append(f"term {_printable(tag)!r}")
    for name in sorted(plan.outputs):
        key = ("rebuild", "output", _reasons_of(plan, name, root, output=True))
        groups.setdefault(key, []).append(f"output {name!r}")
    for (action, noun, reasons), items in groups.items():
        because = "; ".join(reasons) if reasons else "no reason recorded"
        # Deletions stand out: capitals, and a dash before each item.
        header = "DELETE" if action == "delete" else "rebuild"
        print(f"  {header} {plural(len(items), noun)}, because {because}:", file=out)
        for item in items:
            print(f"    {'- ' if action == 'delete' else ''}{item}", file=out)


def _problem_line(path: Path, message: str, root: Path) -> str:
    """``<relative path>: <message>``, without the absolute path the message may start with."""
    shown = display_path(path, root)
    if message.startswith(f"{path}:"):
        return shown + message[len(str(path)) :]
    return f"{shown}: {message}"


def report_problems(plan: Plan, root: Path, console: Console) -> int:
    for path, message in plan.changes.errors:
        console.problem(_problem_line(path, message, root))
    return EXIT_FILE_PROBLEMS if plan.changes.errors else EXIT_OK


def silence_stdout() -> None:
    """After the reader of stdout left, send what is still buffered nowhere."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # not a real file (captured in tests)
        pass


# -- main ---------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    words = sys.argv[1:] if argv is None else list(argv)
    status = _unchanged_plan(words)
    if status is not None:
        return status
    from incrbuild._commands import run

    return run(words)


def _unchanged_plan(words: list[str]) -> int | None:
    """Answer ``incrbuild plan DIR`` without the engine if nothing changed (``None``: not so).

    Only the forms :class:`_PlanRequest` reads, and only when :mod:`incrbuild._noop`
    proves the plan empty: its output, status and effects (none on disk) are then
    those of the full machinery, which :func:`main` runs in every other case.
    """
    request = _PlanRequest.read(words)
    if request is None or sys.stdout is None:
        return None
    console = Console(quiet=request.quiet)
    try:
        with console.progress(f"planning {request.shown}"):
            found = _prove_unchanged(request)
        if found is None:
            return None
        _print_unchanged(found, console.out)
        console.out.flush()
        return EXIT_OK
    except BrokenPipeError:
        silence_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        console.problem("interrupted")
        return EXIT_INTERRUPTED


def _prove_unchanged(request: _PlanRequest) -> Unchanged | None:
    from incrbuild._noop import unchanged_since_commit

    config_names: tuple[str, ...] = ()
    if request.reads_config:
        from incrbuild.adapters._site_config import CONFIG_FILE_NAMES

        config_names = CONFIG_FILE_NAMES
    try:
        return unchanged_since_commit(
            request.content_dir, request.state_dir, config_names=config_names
        )
    except Exception:  # a bug here must cost only time: the full machinery decides
        return None


class _PlanRequest:
    """An ``incrbuild plan`` in one of the forms the no-op path answers.

    ``plan DIR`` with any of ``--state-dir DIR``, ``--explain``, ``--navigation``,
    ``-q``/``--quiet``, ``--mode stat``, ``--taxonomy KEY`` (none of which changes
    an empty plan), spelled out in full; anything else (``--json``, another mode,
    abbreviations, ``--help``, values argparse would question) goes to argparse.
    """

    __slots__ = ("content_dir", "quiet", "reads_config", "shown", "state_dir")

    def __init__(self, raw_content: str, raw_state: str | None, *, quiet: bool, taxonomy: bool):
        from incrbuild._layout import DEFAULT_STATE_DIR_NAME

        # As ``_paths.absolute`` makes the engine's paths (``.`` and ``..`` collapsed,
        # links kept); the progress line shows what argparse's ``Path`` would.
        self.content_dir = os.path.abspath(raw_content)
        self.state_dir = (
            os.path.abspath(raw_state)
            if raw_state is not None
            else os.path.join(self.content_dir, DEFAULT_STATE_DIR_NAME)
        )
        self.shown = posix_path_text(raw_content)
        self.quiet = quiet
        self.reads_config = not taxonomy  # the taxonomies come from the site's config file

    @classmethod
    def read(cls, words: list[str]) -> _PlanRequest | None:
        if os.name != "posix" or not words or words[0] != "plan":
            return None
        content: str | None = None
        state: str | None = None
        quiet = taxonomy = False
        rest = iter(words[1:])
        for word in rest:
            name, equals, value = word.partition("=")
            if word in ("-q", "--quiet"):
                quiet = True
            elif word in ("--explain", "--navigation"):
                pass
            elif name in ("--state-dir", "--mode", "--taxonomy") and word.startswith("--"):
                if not equals:
                    value = next(rest, "")
                if not value or value.startswith("-"):
                    return None  # argparse's to judge
                if name == "--state-dir":
                    state = value
                elif name == "--mode" and value != "stat":
                    return None
                elif name == "--taxonomy":
                    taxonomy = True
            elif word and not word.startswith("-") and content is None:
                content = word
            else:
                return None
        if content is None:
            return None
        return cls(content, state, quiet=quiet, taxonomy=taxonomy)


def posix_path_text(raw: str) -> str:
    """``str(pathlib.PurePosixPath(raw))``, without importing pathlib."""
    parts = [part for part in raw.split("/") if part and part != "."]
    root = ""
    if raw.startswith("/"):
        root = "//" if raw.startswith("//") and not raw.startswith("///") else "/"
    return root + "/".join(parts) if root or parts else "."
