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


def _checked_in_place(in_place: Any, reference: Any) -> Any:
    """Wrap ``next_state_in_place`` so that it must give what ``next_state`` gives.

    The in-place commit decides again only changed and suspect keys; this oracle
    rebuilds the next state over every page beside it, in every test that commits.
    """

    def checked(state: Any, commit: Any, pages: Any, suspect: Any, root: Any) -> Any:
        expected, expected_seen = reference(copy_state(state), commit, pages, root)
        got, seen = in_place(state, commit, pages, suspect, root)
        for name in _TABLES:
            assert dict(getattr(got, name)) == dict(getattr(expected, name)), name
        assert (got.root, got.snapshot_ns) == (expected.root, expected.snapshot_ns)
        assert seen == expected_seen
        return got, seen

    return checked


@pytest.fixture(autouse=True)
def _whole_commits_checked(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if "benchmarks" in request.path.parts:
        return  # benchmarks time the commit itself
    from incrbuild import _transitions  # the engine imports it when it commits

    checked = _checked_in_place(_transitions.next_state_in_place, _transitions.next_state)
    monkeypatch.setattr(_transitions, "next_state_in_place", checked)
