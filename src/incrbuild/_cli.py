"""The ``incrbuild`` command line: ``plan``, ``commit``, ``watch``, ``demo``.

Conventions (``docs/cli.md``): the plan goes to stdout; progress, per-file
problems, warnings and errors go to stderr.  Exit status: 0 ok; 1 the plan was
made but some files could not be read or parsed (they are listed, and planned);
2 usage, state or environment errors; 3 an internal error (a bug: one line,
the traceback only with ``INCRBUILD_TRACEBACK=1``); 130 interrupted (Ctrl-C);
141 the reader of stdout went away (``incrbuild plan | head``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final, TextIO, final

from incrbuild._detect import DetectionMode
from incrbuild._errors import IncrbuildError, StateWarning
from incrbuild._plan import Plan

__all__ = ["JSON_SCHEMA_VERSION", "display_path", "main", "plan_as_json"]

#: The version of ``plan --json``'s layout; it changes only when a field changes meaning.
JSON_SCHEMA_VERSION: Final = 1

EXIT_OK: Final = 0
EXIT_FILE_PROBLEMS: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERNAL: Final = 3
EXIT_INTERRUPTED: Final = 130
EXIT_BROKEN_PIPE: Final = 141


class _UsageError(IncrbuildError):
    """The command cannot run as asked (a missing extra, a bad option value)."""


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
        with contextlib.suppress(ValueError):
            text = path.relative_to(root).as_posix()
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


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


# -- the console -------------------------------------------------------------------------


@final
class _Console:
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

    @contextlib.contextmanager
    def progress(self, message: str) -> Iterator[None]:
        """Show *message* on the terminal while the block runs (nothing if not a TTY)."""
        if not self.interactive:
            yield
            return
        self.err.write(f"\rincrbuild: {_printable(message)}\x1b[K")
        self.err.flush()
        self._progress_shown = True
        try:
            yield
        finally:
            self._end_progress()

    def _end_progress(self) -> None:
        if self._progress_shown:
            self.err.write("\r\x1b[K")
            self.err.flush()
            self._progress_shown = False


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


def _print_plan(plan: Plan, root: Path, console: _Console, *, explain: bool) -> None:
    out = console.out
    changes = plan.changes
    print(
        f"changes: {len(changes.added)} added, {len(changes.modified)} modified, "
        f"{len(changes.removed)} removed ({len(changes.touched)} touched, unchanged)",
        file=out,
    )
    for label, items in (
        ("added", changes.added),
        ("modified", changes.modified),
        ("removed", changes.removed),
    ):
        for path in sorted(items):
            print(f"  {label:8} {display_path(path, root)}", file=out)
    if changes.errors:
        print(f"  {_plural(len(changes.errors), 'file')} with problems (see stderr)", file=out)
    print(
        f"rebuild: {len(plan.pages)} of {_plural(plan.stats.site_pages, 'page')}, "
        f"{_plural(len(plan.terms), 'term page')}, {_plural(len(plan.outputs), 'output')}; "
        f"delete: {_plural(len(plan.removed_pages), 'page')}, "
        f"{_plural(len(plan.removed_terms), 'term page')}" + (" (full build)" if plan.full else ""),
        file=out,
    )
    if explain:
        _print_explanation(plan, root, out)
    stats = plan.stats
    print(
        f"decided in {stats.total_ns / 1e6:.1f} ms "
        f"({_plural(stats.detector.files_stat, 'stat')}, "
        f"{_plural(stats.detector.dirs_listed, 'listing')}, "
        f"{_plural(stats.detector.digests, 'digest')}, "
        f"{_plural(stats.pages_read, 'page')} read)",
        file=out,
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
        print(f"  {header} {_plural(len(items), noun)}, because {because}:", file=out)
        for item in items:
            print(f"    {'- ' if action == 'delete' else ''}{item}", file=out)


def _problem_line(path: Path, message: str, root: Path) -> str:
    """``<relative path>: <message>``, without the absolute path the message may start with."""
    shown = display_path(path, root)
    if message.startswith(f"{path}:"):
        return shown + message[len(str(path)) :]
    return f"{shown}: {message}"


def _report_problems(plan: Plan, root: Path, console: _Console) -> int:
    for path, message in plan.changes.errors:
        console.problem(_problem_line(path, message, root))
    return EXIT_FILE_PROBLEMS if plan.changes.errors else EXIT_OK


# -- commands -----------------------------------------------------------------------------


def _engine_for(args: argparse.Namespace) -> Any:
    from incrbuild.adapters.files import open_engine

    return open_engine(
        args.content_dir,
        state_dir=args.state_dir,
        mode=DetectionMode(args.mode),
        navigation=args.navigation,
        taxonomies=args.taxonomy,
    )


def _cmd_plan(args: argparse.Namespace, console: _Console) -> int:
    engine = _engine_for(args)
    with console.progress(f"planning {args.content_dir}"):
        plan = engine.plan()
    root = engine.content_dir
    if args.json:
        import json  # only here: the plain output does not pay its import

        json.dump(plan_as_json(plan, root, reasons=True), console.out, indent=2)
        print(file=console.out)
    else:
        _print_plan(plan, root, console, explain=args.explain)
    return _report_problems(plan, root, console)


def _cmd_commit(args: argparse.Namespace, console: _Console) -> int:
    engine = _engine_for(args)
    with console.progress(f"planning {args.content_dir}"):
        plan = engine.plan()
    with console.progress("recording"), _interrupts_deferred():
        engine.commit(plan)
    status = _report_problems(plan, engine.content_dir, console)
    console.result(
        f"committed: {_plural(plan.stats.site_pages, 'page')}, "
        f"{_plural(len(plan.changes), 'change')} recorded in {engine.state_dir}"
    )
    return status


def _require_watchfiles() -> None:
    """Fail before anything is planned or committed if the ``watch`` extra is missing."""
    try:
        import watchfiles  # noqa: F401
    except ImportError:
        raise _UsageError(
            "watch mode needs the 'watch' extra: pip install 'incrbuild[watch]'"
        ) from None


def _cmd_watch(args: argparse.Namespace, console: _Console) -> int:
    _require_watchfiles()
    from incrbuild._watch import WatchfilesSource, WatchSession

    engine = _engine_for(args)
    root = engine.content_dir
    source = WatchfilesSource(
        [root], debounce_ms=args.debounce_ms, ignore=[Path(engine.state_dir).resolve()]
    )
    session = WatchSession(engine, source, rescan_interval=args.rescan_interval)
    console.status(f"watching {root} (Ctrl-C to stop)")
    count = 0
    try:
        plans = session.plans()
        while True:
            event_plans = session.stats.event_plans
            plan = next(plans, None)  # blocks until files settle: no progress line while idle
            if plan is None:
                break
            count += 1
            kind = "event" if session.stats.event_plans > event_plans else "full scan"
            something = bool(plan.changes or plan.changes.touched or plan.changes.errors)
            if something or plan.full or count == 1:
                print(f"--- plan {count} ({kind})", file=console.out)
                _print_plan(plan, root, console, explain=True)
                console.out.flush()
                _report_problems(plan, root, console)
            if not args.no_commit and (something or plan.full or count == 1):
                with _interrupts_deferred():
                    engine.commit(plan)
            if args.max_plans is not None and count >= args.max_plans:
                break
    except KeyboardInterrupt:
        # Ctrl-C is how watch mode is meant to end: a normal stop, not a failure.
        console.status(f"stopped after {_plural(count, 'plan')}")
    finally:
        session.close()
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace, console: _Console) -> int:
    from incrbuild._demo import run_demo

    return run_demo(pages=args.pages, keep=args.keep, seed=args.seed)


@contextlib.contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C until the block ends, so a commit is never cut in the middle."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


# -- the parser ---------------------------------------------------------------------------


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("incrbuild")
    except PackageNotFoundError:  # pragma: no cover - running from an uninstalled tree
        return "unknown"


class _VersionAction(argparse.Action):
    """``--version``, looked up when asked: ``importlib.metadata`` costs every run ~10 ms."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS) -> None:
        super().__init__(
            option_strings, dest, nargs=0, default=argparse.SUPPRESS, help="show the version"
        )

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        print(f"incrbuild {_version()}")
        parser.exit()


def _common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-q", "--quiet", action="store_true", help="print no progress or status lines"
    )
    return common


def _content_options() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("content_dir", type=Path, help="the content directory to scan")
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="where state is kept (default: CONTENT_DIR/.incrbuild, never scanned or watched)",
    )
    parser.add_argument(
        "--mode",
        choices=[m.value for m in DetectionMode],
        default=DetectionMode.STAT.value,
        help="detection mode; 'directory-mtime' is UNSOUND (misses in-place edits)",
    )
    parser.add_argument(
        "--navigation", action="store_true", help="also rebuild prev/next neighbours"
    )
    parser.add_argument(
        "--taxonomy",
        action="append",
        default=None,
        metavar="KEY",
        help="a front-matter key whose terms have pages (repeatable; default: the site "
        "config's taxonomies, else 'tags')",
    )
    return parser


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``incrbuild`` command."""
    parser = argparse.ArgumentParser(
        prog="incrbuild",
        description="Decide what a static site generator must rebuild after files changed.",
        epilog=(
            "exit status: 0 ok; 1 some files could not be read or parsed (listed on stderr, "
            "and planned); 2 usage or state error; 3 internal error; 130 interrupted; "
            "141 output closed early"
        ),
    )
    parser.add_argument("--version", action=_VersionAction)
    common = _common_options()
    content = _content_options()
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", parents=[common], help="walk through incremental decisions on a sample site"
    )
    demo.add_argument("--pages", type=int, default=3000, help="pages in the sample site")
    demo.add_argument("--seed", type=int, default=0, help="seed of the sample site")
    demo.add_argument("--keep", type=Path, default=None, help="write the site here and keep it")
    demo.set_defaults(handler=_cmd_demo)
    plan = commands.add_parser(
        "plan", parents=[common, content], help="print what changed since the last commit"
    )
    plan.add_argument("--json", action="store_true", help="print JSON (schema: docs/cli.md)")
    plan.add_argument("--explain", action="store_true", help="print why each page is rebuilt")
    plan.set_defaults(handler=_cmd_plan)
    watch = commands.add_parser(
        "watch",
        parents=[common, content],
        help="print a plan (with reasons) each time files settle; needs [watch]",
    )
    watch.add_argument("--debounce-ms", type=int, default=50, help="settle time of a batch")
    watch.add_argument(
        "--rescan-interval", type=float, default=600.0, help="full verification at most this often"
    )
    watch.add_argument("--no-commit", action="store_true", help="do not record after each plan")
    watch.add_argument("--max-plans", type=int, default=None, help=argparse.SUPPRESS)
    watch.set_defaults(handler=_cmd_watch)
    commit = commands.add_parser(
        "commit", parents=[common, content], help="record the current state as built"
    )
    commit.set_defaults(handler=_cmd_commit)
    return parser


# -- main ---------------------------------------------------------------------------------


def _silence_stdout() -> None:
    """After the reader of stdout left, send what is still buffered nowhere."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # not a real file (captured in tests)
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # --help, --version, usage errors
        return stop.code if isinstance(stop.code, int) else EXIT_USAGE
    stdout: TextIO | None = sys.stdout  # None when the caller closed it (``>&-``)
    console = _Console(
        quiet=getattr(args, "quiet", False),
        out=stdout if stdout is not None else open(os.devnull, "w"),  # noqa: SIM115
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", StateWarning)
        try:
            status = int(args.handler(args, console))
            console.out.flush()
            return status
        except BrokenPipeError:
            _silence_stdout()
            return EXIT_BROKEN_PIPE
        except IncrbuildError as error:
            console.problem(f"error: {error}")
            return EXIT_USAGE
        except KeyboardInterrupt:
            console.problem("interrupted")
            return EXIT_INTERRUPTED
        except Exception as error:
            if os.environ.get("INCRBUILD_TRACEBACK"):
                import traceback

                traceback.print_exc()
            console.problem(
                f"internal error: {type(error).__name__}: {error} "
                "(a bug; set INCRBUILD_TRACEBACK=1 to see where)"
            )
            return EXIT_INTERNAL
        finally:
            for warning in caught:
                console.problem(f"warning: {warning.message}")
