"""Report what plain ``--dirty`` left stale in the oracle's runs (the plugin must leave nothing)."""

from __future__ import annotations

from typing import Any


def pytest_terminal_summary(terminalreporter: Any) -> None:
    try:
        from tests.mkdocs.test_plugin_oracle import PluginOracle
    except Exception:  # MkDocs missing: the module was skipped
        return
    counts = PluginOracle.stale_counts
    if counts:
        stale = sum(1 for c in counts if c)
        terminalreporter.write_line(
            f"MkDocs oracle: plain --dirty left stale files after {stale} of {len(counts)} "
            f"builds (max {max(counts)}, total {sum(counts)}); the plugin after none."
        )
