"""Edits applied one after another to a Bengal project, each built through incrbuild and checked.

Used by the integration tests and by ``tests/benchmarks/bench_bengal.py``.
Per edit: the edit, then (side by side) a clean full build of a copy of the
sources in a fresh directory in another interpreter, and our plan and
:meth:`BengalProject.build` in this process; then the oracle's verdict.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest

from incrbuild.adapters.bengal import BengalBuild, BengalPlan, BengalProject
from tests.bengal import oracle


@attrs.frozen
class Outcome:
    """What one edit did: our plan and build, the oracle's verdict, the full build's time."""

    plan: BengalPlan
    build: BengalBuild
    check: oracle.HandOffCheck
    full_build_s: float = 0.0
    bengal_build_s: float | None = None
    bengal_stale: frozenset[str] | None = None
    our_build_s: float = 0.0


def _empty_check() -> oracle.HandOffCheck:
    return oracle.HandOffCheck(frozenset(), frozenset(), frozenset(), frozenset())


def run(
    root: Path,
    scratch: Path,
    edits: Iterable[str],
    apply_edit: Callable[[str, Path], None],
    *,
    on_outcome: Callable[[str, Outcome], None] | None = None,
    measure: bool = False,
) -> dict[str, Outcome]:
    """Build *root* through incrbuild, then apply each edit in turn and check each build.

    With *measure*, builds run one after another (not side by side) so their
    wall times are comparable, and Bengal's own incremental build of the same
    edit runs first (from the same pre-edit output and cache, restored after
    it), its output compared with the full build too.
    """
    project = BengalProject(root, state_dir=scratch / "state")
    first_plan = project.plan()
    first = project.build(first_plan)
    assert first.errors == 0, "the first build had template errors"
    assert first.unrendered == (), f"Bengal skipped pages: {first.unrendered[:10]}"
    truth = scratch / "truth-0"
    reference: dict[str, Any] = oracle.fresh_full_build(root, truth)
    assert reference["errors"] == 0
    baseline = oracle.differing(root / "public", truth / "project" / "public")
    assert baseline == set(), f"a first build through incrbuild differs: {sorted(baseline)[:10]}"
    outcomes = {"first build": Outcome(first_plan, first, _empty_check())}
    for number, name in enumerate(edits, start=1):
        if measure:
            _backup(root, scratch / "pre")
        apply_edit(name, root / "content")
        before, truth = truth, scratch / f"truth-{number}"
        bengal_s = bengal_public = None
        if measure:
            began = time.perf_counter()
            oracle.build(root, "incremental")
            bengal_s = time.perf_counter() - began
            bengal_public = scratch / "bengal-public"
            shutil.rmtree(bengal_public, ignore_errors=True)
            shutil.copytree(root / "public", bengal_public)
            _restore(scratch / "pre", root)
        started = time.perf_counter()
        pending = None if measure else oracle.start_fresh_full_build(root, truth)  # side by side
        plan = project.plan()
        result = project.build(plan)
        our_s = time.perf_counter() - started
        if pending is None:
            began = time.perf_counter()
            after = oracle.fresh_full_build(root, truth)
            full_s = time.perf_counter() - began
        else:
            after = pending.result()
            full_s = time.perf_counter() - started
        assert result.errors == 0, name
        assert result.unrendered == (), f"{name}: Bengal skipped {result.unrendered[:10]}"
        assert after["errors"] == 0, name
        verdict = oracle.check(
            root / "public",
            truth / "project" / "public",
            before / "project" / "public",
            rendered=result.rendered,
            removed=result.removed,
            page_outputs=set(reference["outputs"]) | set(after["outputs"]),
        )
        bengal_stale = None
        if bengal_public is not None:
            bengal_stale = frozenset(oracle.differing(bengal_public, truth / "project" / "public"))
        outcome = Outcome(plan, result, verdict, full_s, bengal_s, bengal_stale, our_s)
        outcomes[name] = outcome
        if on_outcome is not None:
            on_outcome(name, outcome)
        if not verdict.stale:
            shutil.rmtree(before, ignore_errors=True)
        reference = after
    return outcomes


def run_checked(
    root: Path,
    edits: Iterable[str],
    apply_edit: Callable[[str, Path], None],
    *,
    note: Callable[[], str] | None = None,
) -> dict[str, Outcome]:
    """:func:`run` for a test, printing the table's header and each edit's row.

    The clean builds and the state go to ``checks/`` beside *root* (a test's
    temporary directory). *note*, if given, is called after each build; what it
    returns ends the row (pytest shows the rows with ``-s`` or on a failure).
    """
    print("\n" + HEADER)

    def show(name: str, outcome: Outcome) -> None:
        row = describe(name, outcome)
        print(row if note is None else f"{row} {note()}")

    return run(root, root.parent / "checks", edits, apply_edit, on_outcome=show)


def assert_equals_clean_build(outcome: Outcome) -> None:
    """Every output equals the clean full build's; no page the full builds changed was left out."""
    check = outcome.check
    # An explicit message: pytest rewrites asserts in test modules only, not in this helper.
    found = f"stale: {sorted(check.stale)}; missed: {sorted(check.missed)}"
    assert not check.stale, found
    assert not check.missed, found


def clean_build_test(edits: Sequence[str]) -> Callable[[dict[str, Outcome], str], None]:
    """A test of each of *edits*: :func:`assert_equals_clean_build` on its outcome.

    Bind it to a ``test_`` name in a module whose ``outcomes`` fixture returns
    :func:`run_checked`'s result; pytest collects it there, once per edit.
    """

    @pytest.mark.parametrize("edit", edits)
    def test(outcomes: dict[str, Outcome], edit: str) -> None:
        """Every output equals the clean full build's; no changed page was left out."""
        assert_equals_clean_build(outcomes[edit])

    return test


def _backup(root: Path, target: Path) -> None:
    for name in ("public", ".bengal"):
        shutil.rmtree(target / name, ignore_errors=True)
        shutil.copytree(root / name, target / name, symlinks=True)


def _restore(backup: Path, root: Path) -> None:
    for name in ("public", ".bengal"):
        shutil.rmtree(root / name, ignore_errors=True)
        shutil.copytree(backup / name, root / name, symlinks=True)


def describe(name: str, outcome: Outcome) -> str:
    """One table row, and the stale files and misses if any."""
    check = outcome.check
    row = (
        f"| {name} | {len(check.stale)} | {len(check.missed)} | {len(check.changed)} "
        f"| {len(check.rendered)} | {check.precision:.2f} "
        f"| {outcome.plan.decision_ns / 1e6:.1f} ms | {outcome.build.build_ns / 1e9:.2f} s |"
    )
    if check.stale:
        row += f"\n    stale: {sorted(check.stale)[:12]}"
    if check.missed:
        row += f"\n    missed: {sorted(check.missed)[:12]}"
    return row


HEADER = (
    "| edit | stale | misses | HTML changed | rendered | precision | decision | build |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|"
)
