"""The ``incrbuild`` command line: ``demo``, ``plan``, ``commit``."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from incrbuild._detect import DetectionMode
from incrbuild._errors import IncrbuildError, StateWarning
from incrbuild._plan import Plan

__all__ = ["main", "plan_as_json"]


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def plan_as_json(plan: Plan, root: Path, *, reasons: bool = False) -> dict[str, Any]:
    """Return *plan* as JSON-ready data with POSIX paths relative to *root*."""

    def paths(items: Any) -> list[str]:
        return sorted(_relative(p, root) for p in items)

    detector = plan.stats.detector
    data: dict[str, Any] = {
        "changes": {
            "added": paths(plan.changes.added),
            "modified": paths(plan.changes.modified),
            "removed": paths(plan.changes.removed),
        },
        "pages": paths(plan.pages),
        "removed_pages": paths(plan.removed_pages),
        "terms": sorted(plan.terms),
        "removed_terms": sorted(plan.removed_terms),
        "sections": paths(plan.sections),
        "errors": [[_relative(p, root), message] for p, message in plan.changes.errors],
        "full": plan.full,
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
            _relative(path, root): [r.describe(root) for r in found]
            for path, found in sorted(plan.reasons.items())
        }
        data["term_reasons"] = {
            tag: [r.describe(root) for r in found]
            for tag, found in sorted(plan.term_reasons.items())
        }
    return data


def _print_plan(plan: Plan, root: Path, *, explain: bool) -> None:
    changes = plan.changes
    print(
        f"changes: {len(changes.added)} added, {len(changes.modified)} modified, "
        f"{len(changes.removed)} removed ({len(changes.touched)} touched, unchanged)"
    )
    for label, items in (
        ("added", changes.added),
        ("modified", changes.modified),
        ("removed", changes.removed),
    ):
        for path in sorted(items):
            print(f"  {label:8} {_relative(path, root)}")
    for path, message in changes.errors:
        print(f"  error    {_relative(path, root)}: {message}")
    print(
        f"rebuild: {len(plan.pages)} of {plan.stats.site_pages} pages, "
        f"{len(plan.terms)} tag pages, {len(plan.removed_pages)} pages to delete"
        + (" (full build)" if plan.full else "")
    )
    if explain:
        for path in sorted(plan.pages | plan.removed_pages):
            print(f"  {_relative(path, root)}")
            for line in plan.why(path):
                print(f"      because {line}")
        for tag in sorted(plan.terms | plan.removed_terms):
            print(f"  tag {tag!r}" + (" (now empty: remove)" if tag in plan.removed_terms else ""))
            for line in plan.why(tag):
                print(f"      because {line}")
    stats = plan.stats
    print(
        f"decided in {stats.total_ns / 1e6:.1f} ms "
        f"({stats.detector.files_stat} stats, {stats.detector.dirs_listed} listings, "
        f"{stats.detector.digests} digests, {stats.pages_read} pages read)"
    )


def _engine_for(args: argparse.Namespace) -> Any:
    from incrbuild.adapters.files import open_engine

    return open_engine(
        args.content_dir,
        state_dir=args.state_dir,
        mode=DetectionMode(args.mode),
        navigation=args.navigation,
    )


def _cmd_plan(args: argparse.Namespace) -> int:
    engine = _engine_for(args)
    plan = engine.plan()
    root = engine.content_dir
    if args.json:
        json.dump(plan_as_json(plan, root, reasons=True), sys.stdout, indent=2)
        print()
    else:
        _print_plan(plan, root, explain=args.explain)
    return 0


def _cmd_commit(args: argparse.Namespace) -> int:
    engine = _engine_for(args)
    plan = engine.plan()
    engine.commit(plan)
    print(
        f"committed: {plan.stats.site_pages} pages, {len(plan.changes)} changes recorded "
        f"in {engine.state_dir}"
    )
    return 0


def _cmd_watch(args: argparse.Namespace) -> int:
    from incrbuild._watch import WatchfilesSource, WatchSession

    engine = _engine_for(args)
    source = WatchfilesSource([engine.content_dir], debounce_ms=args.debounce_ms)
    session = WatchSession(engine, source, rescan_interval=args.rescan_interval)
    root = engine.content_dir
    print(f"watching {root} (Ctrl-C to stop)", flush=True)
    count = 0
    try:
        for plan in session.plans():
            kind = "event" if plan.detection is not None and plan.detection.partial else "full scan"
            if plan.changes or plan.full or count == 0:
                print(f"--- plan {count + 1} ({kind})")
                _print_plan(plan, root, explain=True)
                sys.stdout.flush()
            if not args.no_commit:
                engine.commit(plan)
            count += 1
            if args.max_plans is not None and count >= args.max_plans:
                break
    except KeyboardInterrupt:
        pass
    finally:
        session.close()
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from incrbuild._demo import run_demo

    return run_demo(pages=args.pages, keep=args.keep, seed=args.seed)


def _add_content_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("content_dir", type=Path, help="the content directory to scan")
    parser.add_argument(
        "--state-dir", type=Path, default=None, help="where state is kept (CONTENT_DIR/.incrbuild)"
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


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``incrbuild`` command."""
    parser = argparse.ArgumentParser(
        prog="incrbuild",
        description="Decide what a static site generator must rebuild after files changed.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="walk through incremental decisions on a sample site")
    demo.add_argument("--pages", type=int, default=3000, help="pages in the sample site")
    demo.add_argument("--seed", type=int, default=0, help="seed of the sample site")
    demo.add_argument("--keep", type=Path, default=None, help="write the site here and keep it")
    demo.set_defaults(handler=_cmd_demo)
    plan = commands.add_parser("plan", help="print what changed since the last commit")
    _add_content_arguments(plan)
    plan.add_argument("--json", action="store_true", help="print JSON")
    plan.add_argument("--explain", action="store_true", help="print why each page is rebuilt")
    plan.set_defaults(handler=_cmd_plan)
    watch = commands.add_parser(
        "watch", help="print a plan (with reasons) each time files settle; needs [watch]"
    )
    _add_content_arguments(watch)
    watch.add_argument("--debounce-ms", type=int, default=50, help="settle time of a batch")
    watch.add_argument(
        "--rescan-interval", type=float, default=600.0, help="full verification at most this often"
    )
    watch.add_argument("--no-commit", action="store_true", help="do not record after each plan")
    watch.add_argument("--max-plans", type=int, default=None, help=argparse.SUPPRESS)
    watch.set_defaults(handler=_cmd_watch)
    commit = commands.add_parser("commit", help="record the current state as built")
    _add_content_arguments(commit)
    commit.set_defaults(handler=_cmd_commit)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", StateWarning)
        try:
            return int(args.handler(args))
        except IncrbuildError as error:
            print(f"incrbuild: error: {error}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            return 130
        finally:
            for warning in caught:
                print(f"incrbuild: warning: {warning.message}", file=sys.stderr)
