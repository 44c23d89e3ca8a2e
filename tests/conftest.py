"""Shared test configuration: hypothesis profiles (``ci`` by default, ``long`` via nox)."""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from incrbuild._transitions import copy_state

settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "long",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# -- every in-place whole commit is checked against the whole next state ---------------------

_TABLES = ("files", "dirs", "dependencies", "dependents", "outputs", "reads", "readers")


def _checked_apply_whole(apply_whole: Any, next_state: Any) -> Any:
    """Wrap ``Engine._apply_whole`` so that it must give what ``Engine._next_state`` gives.

    The in-place commit decides again only changed and suspect keys; this oracle
    rebuilds the next state over every page beside it, in every test that commits.
    """

    def checked(engine: Any, plan: Any, state: Any, recorded: Any, failed_keys: Any) -> Any:
        pages, suspect = engine._pages, engine._pages_suspect
        expected = next_state(engine, plan, copy_state(state), recorded, set(failed_keys))
        engine._pages, engine._pages_suspect = pages, suspect  # the reference's, not kept
        got = apply_whole(engine, plan, state, recorded, failed_keys)
        for name in _TABLES:
            assert dict(getattr(got, name)) == dict(getattr(expected, name)), name
        assert (got.root, got.snapshot_ns) == (expected.root, expected.snapshot_ns)
        return got

    return checked


@pytest.fixture(autouse=True)
def _whole_commits_checked(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if "benchmarks" in request.path.parts:
        return  # benchmarks time the commit itself
    from incrbuild._engine import Engine

    checked = _checked_apply_whole(Engine._apply_whole, Engine._next_state)
    monkeypatch.setattr(Engine, "_apply_whole", checked)
