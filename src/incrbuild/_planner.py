"""Rebuild planning: from a detection to a :class:`~incrbuild.Plan`, by running rules.

The planner decides whether a full rebuild is due (no usable state, or a
global input changed), builds one :class:`~incrbuild.RuleContext` and one
:class:`~incrbuild.PlanBuilder`, runs the built-in rules then the host's, and
turns the builder into a plan.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from typing import Any, final

from incrbuild._builtin_rules import builtin_rules
from incrbuild._detect import ChangeSet, Detection
from incrbuild._metadata import navigation_order_key
from incrbuild._plan import Plan, PlanBasis, PlanStats, Reason, ReasonKind
from incrbuild._reads import RecordedReadsRule
from incrbuild._registry import IndexRegistry
from incrbuild._rules import PlanBuilder, Rule, RuleContext, builder_members
from incrbuild._state import State

__all__ = ["Planner"]


@final
class Planner:
    """Turns a detection into a :class:`Plan` using stored facts and the current registry."""

    def __init__(
        self,
        *,
        key_for: Callable[[Path], str],
        path_for: Callable[[str], Path],
        navigation: bool = False,
        order_key: Callable[[Mapping[str, Any], Path], Any] = navigation_order_key,
        rules: Iterable[Rule] = (),
    ) -> None:
        self._key_for = key_for
        self._path_for = path_for
        self._builtin = (
            *builtin_rules(navigation=navigation, order_key=order_key),
            RecordedReadsRule(),
        )
        self._host_rules = tuple(rules)

    def plan(
        self,
        detection: Detection,
        previous: State,
        registry: IndexRegistry,
        *,
        global_keys: Collection[str] = (),
        watched_paths: frozenset[Path] = frozenset(),
    ) -> Plan:
        """Run every rule over *detection* against *previous* and the current *registry*.

        *watched_paths* are the paths a partial (watcher) detection checked.
        """
        changes = detection.changes
        full_reason = self._full_rebuild_reason(previous, changes, global_keys)
        context = RuleContext(
            registry=registry,
            changes=changes,
            full_reason=full_reason,
            previous=previous,
            key_for=self._key_for,
            path_for=self._path_for,
        )
        out = PlanBuilder(registry)
        if (
            full_reason is not None
            or changes.added
            or changes.modified
            or changes.removed
            or changes.errors
        ):
            for rule in self._builtin:
                rule.apply(context, out)
        # else: no source changed (at most touched), so no built-in rule can add anything.
        for rule in self._host_rules:
            rule.apply(context, out)
        return self._finish(
            detection, previous, registry, out, full_reason is not None, watched_paths
        )

    def _full_rebuild_reason(
        self, previous: State, changes: ChangeSet, global_keys: Collection[str]
    ) -> Reason | None:
        if not previous.commit_id:
            return Reason(ReasonKind.FULL)
        for path in sorted(changes.changed):
            if self._key_for(path) in global_keys:
                return Reason(ReasonKind.GLOBAL, path)
        return None

    def _finish(
        self,
        detection: Detection,
        previous: State,
        registry: IndexRegistry,
        out: PlanBuilder,
        full: bool,
        watched_paths: frozenset[Path],
    ) -> Plan:
        changes = detection.changes
        key_for = self._key_for
        facts = previous.facts
        removed_pages = frozenset(path for path in changes.removed if key_for(path) in facts)
        removed_outputs = frozenset(
            output for path in removed_pages for output in previous.outputs.get(key_for(path), ())
        )
        pages, terms, sections, outputs = builder_members(out)
        if full:
            # The full rebuild rule asked for the set of terms (collected without the tag
            # maps, which a cold plan needs no more of): a term outside it has no page.
            removed_terms = frozenset(terms.keys() - registry.tags)
        else:
            removed_terms = frozenset(tag for tag in terms if not registry.pages_with_tag(tag))
        return Plan(
            changes=changes,
            pages=frozenset(pages.keys() - removed_pages),
            removed_pages=removed_pages,
            removed_outputs=removed_outputs,
            terms=frozenset(terms.keys() - removed_terms),
            removed_terms=removed_terms,
            sections=frozenset(sections),
            outputs=frozenset(outputs),
            reasons=pages,
            term_reasons=terms,
            output_reasons=outputs,
            full=full,
            root=registry.site.root_path,
            stats=PlanStats(detector=detection.stats, site_pages=len(registry.site.pages)),
            _basis=PlanBasis(detection, previous, watched_paths),
        )
