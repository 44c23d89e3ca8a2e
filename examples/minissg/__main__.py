"""Command line: ``python -m examples.minissg build SITE OUT`` (run from the repository root).

SITE holds ``content/``, ``templates/`` and an optional ``config.toml``; OUT
receives the HTML and, in ``OUT/.incrbuild``, the state that makes the next
build incremental.  ``--explain`` prints why each page was rendered.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from examples.minissg.builder import Builder

from incrbuild import IncrbuildError


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m examples.minissg",
        description="minissg: a small static site generator driven by incrbuild.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build a site (incrementally when it can)")
    build.add_argument("site", type=Path, help="directory with content/, templates/, config.toml")
    build.add_argument("output", type=Path, help="output directory")
    build.add_argument("--full", action="store_true", help="rebuild everything from scratch")
    build.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="incrbuild's state (default: OUTPUT/.incrbuild)",
    )
    build.add_argument("--explain", action="store_true", help="print why each page was rendered")
    args = parser.parse_args(argv)

    site: Path = args.site
    if not (site / "content").is_dir() or not (site / "templates").is_dir():
        parser.error(f"{site}: expected content/ and templates/ directories")
    builder = Builder(
        site / "content",
        site / "templates",
        args.output,
        state_dir=args.state_dir,
        config_file=site / "config.toml",
    )
    try:
        report = builder.build(incremental=not args.full)
    except IncrbuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(report.summary())
    plan = report.plan
    if args.explain and plan is not None and not report.full:
        root = builder.content_dir
        # Reasons name files outside the content directory (templates) by absolute path.
        prefix = f"{site.resolve()}{os.sep}"
        for path in sorted(plan.pages):
            why = "; ".join(plan.why(path)).replace(prefix, "")
            print(f"  {path.relative_to(root).as_posix()}: {why}")
        for tag in sorted(plan.terms | plan.removed_terms):
            print(f"  #{tag}: {'; '.join(plan.why(tag))}")
    for path, message in sorted(report.errors.items()):
        print(f"error: {path}: {message}", file=sys.stderr)
    return 1 if report.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
