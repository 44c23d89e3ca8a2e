"""The commands behind ``incrbuild``: the argument parser and what each command does.

:func:`incrbuild._cli.main` comes here for everything but a ``plan`` it proved to
be a no-op without the engine (see :mod:`incrbuild._noop`); the console, the
exit statuses and how plans are shown are :mod:`incrbuild._cli`'s.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from incrbuild._cli import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    Console,
    plan_as_json,
    plural,
    print_plan,
    report_problems,
    silence_stdout,
)
from incrbuild._detect import DetectionMode
from incrbuild._errors import IncrbuildError, StateWarning

__all__ = ["build_parser", "run"]


class _UsageError(IncrbuildError):
    """The command cannot run as asked (a missing extra, a bad option value)."""


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


def _cmd_plan(args: argparse.Namespace, console: Console) -> int:
    engine = _engine_for(args)
    with console.progress(f"planning {args.content_dir}"):
        plan = engine.plan()
    root = engine.content_dir
    if args.json:
        import json  # only here: the plain output does not pay its import

        json.dump(plan_as_json(plan, root, reasons=True), console.out, indent=2)
        print(file=console.out)
    else:
        print_plan(plan, root, console, explain=args.explain)
    return report_problems(plan, root, console)


def _cmd_commit(args: argparse.Namespace, console: Console) -> int:
    engine = _engine_for(args)
    with console.progress(f"planning {args.content_dir}"):
        plan = engine.plan()
    with console.progress("recording"), _interrupts_deferred():
        engine.commit(plan)
    status = report_problems(plan, engine.content_dir, console)
    console.result(
        f"committed: {plural(plan.stats.site_pages, 'page')}, "
        f"{plural(len(plan.changes), 'change')} recorded in {engine.state_dir}"
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


def _cmd_watch(args: argparse.Namespace, console: Console) -> int:
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
                print_plan(plan, root, console, explain=True)
                console.out.flush()
                report_problems(plan, root, console)
            if not args.no_commit and (something or plan.full or count == 1):
                with _interrupts_deferred():
                    engine.commit(plan)
            if args.max_plans is not None and count >= args.max_plans:
                break
    except KeyboardInterrupt:
        # Ctrl-C is how watch mode is meant to end: a normal stop, not a failure.
        console.status(f"stopped after {plural(count, 'plan')}")
    finally:
        session.close()
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace, console: Console) -> int:
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


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line with the full machinery; return the exit status."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # --help, --version, usage errors
        return stop.code if isinstance(stop.code, int) else EXIT_USAGE
    stdout: TextIO | None = sys.stdout  # None when the caller closed it (``>&-``)
    console = Console(
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
            silence_stdout()
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
