"""Run one Bengal build in a fresh interpreter and describe it as JSON (Bengal keeps
process-wide caches, so two builds in one process are not independent).

    python -m tests.bengal.worker ROOT full|incremental OUT.json [CHANGED_SOURCE ...]
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path


def main(argv: list[str]) -> int:
    root, mode, out = Path(argv[0]).resolve(), argv[1], Path(argv[2])
    changed = {Path(p) for p in argv[3:]}
    warnings.simplefilter("ignore")
    from bengal.core.site import Site
    from bengal.orchestration.build.options import BuildOptions

    site = Site.from_config(root)
    options = BuildOptions(
        incremental=mode == "incremental",
        quiet=True,
        explain=True,
        changed_sources=changed or None,
    )
    stats = site.build(options)
    decision = stats.incremental_decision
    public = Path(site.output_dir)
    outputs = {}
    for page in site.pages:
        output = getattr(page, "output_path", None)
        if output is None:
            continue
        meta = page.metadata
        section = meta.get("_section") if meta.get("_generated") else None
        outputs[str(Path(output).relative_to(public))] = {
            "source": str(page.source_path),
            "generated": bool(meta.get("_generated")),
            "type": meta.get("type"),
            "tag": meta.get("_tag"),
            "section": str(section.path) if section is not None and section.path else None,
        }
    result = {
        "skipped": bool(stats.skipped),
        "decision": None
        if decision is None
        else sorted(str(p.source_path) for p in decision.pages_to_build),
        "filter_ms": stats.phase_timings_ms.get("Config/filter"),
        "phases_ms": dict(stats.phase_timings_ms),
        "errors": len(stats.template_errors),
        "outputs": outputs,
    }
    out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
