"""Comparison: our plan beside Bengal's own incremental decision for the same edit."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, final

import attrs

from incrbuild.adapters.bengal._rules import BengalPlan
from incrbuild.adapters.bengal._wrapping import is_virtual

__all__ = ["Comparison", "compare"]


@final
@attrs.frozen
class Comparison:
    """Our plan beside Bengal's own incremental decision for the same edit.

    ``ours`` and ``bengal`` are source pages to render; ``our_ms`` is our
    decision time and ``bengal_ms`` Bengal's "Config/filter" phase.
    """

    ours: frozenset[Path]
    bengal: frozenset[Path]
    our_ms: float
    bengal_ms: float | None

    @property
    def only_ours(self) -> frozenset[Path]:
        """Pages we rebuild that Bengal does not."""
        return self.ours - self.bengal

    @property
    def only_bengal(self) -> frozenset[Path]:
        """Pages Bengal rebuilds that we do not."""
        return self.bengal - self.ours

    def describe(self, root: Path | None = None) -> str:
        """Return the comparison as a few lines of text, paths relative to *root*."""

        def show(paths: Iterable[Path]) -> str:
            shown = sorted(_relative(p, root) for p in paths)
            text = ", ".join(shown[:8])
            return text + (f", ... ({len(shown)} in all)" if len(shown) > 8 else "")

        bengal_ms = "n/a" if self.bengal_ms is None else f"{self.bengal_ms:.1f} ms"
        return "\n".join(
            [
                f"incrbuild: {len(self.ours)} pages in {self.our_ms:.2f} ms",
                f"Bengal:    {len(self.bengal)} pages, filter phase {bengal_ms}",
                f"only incrbuild: {show(self.only_ours) or '-'}",
                f"only Bengal:    {show(self.only_bengal) or '-'}",
            ]
        )


def compare(plan: BengalPlan, stats: Any) -> Comparison:
    """Compare *plan* with the decision in Bengal's build *stats* (``BuildOptions(explain=True)``).

    A build Bengal skipped (nothing changed, to Bengal) counts as an empty decision.
    """
    decision = getattr(stats, "incremental_decision", None)
    chosen = () if decision is None else decision.pages_to_build
    bengal = frozenset(Path(page.source_path) for page in chosen if not is_virtual(page))
    phases = getattr(stats, "phase_timings_ms", None) or {}
    filter_ms = phases.get("Config/filter")
    ours = frozenset(p for p in plan.pages if plan.plan.root is None or plan.plan.root in p.parents)
    return Comparison(ours, bengal, plan.decision_ns / 1e6, filter_ms)


def _relative(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            pass
    return path.as_posix()
