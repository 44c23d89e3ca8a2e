"""Development sessions: ``nox`` runs tests, lint, typing and demo; ``nox -s bench`` benchmarks."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint", "typing", "demo"]
nox.options.reuse_existing_virtualenvs = True

ROOT = Path(__file__).parent
PYTHON_314 = ROOT.parent / "shared" / "tools" / "python3.14"


@nox.session
def tests(session: nox.Session) -> None:
    """Run the default test suite (what CI runs), with any extra pytest arguments."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session(name="tests-long")
def tests_long(session: nox.Session) -> None:
    """Run the stateful and property tests with many more examples than CI does."""
    session.install("-e", ".[test]")
    session.run("pytest", "--hypothesis-profile=long", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check style and common bugs with ruff (lint and format check)."""
    session.install("ruff")
    session.run("ruff", "check", "src", "tests", "examples", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "tests", "examples", "noxfile.py")


@nox.session
def typing(session: nox.Session) -> None:
    """Type-check the package, and code written as a host writes it, with ``mypy --strict``."""
    session.install("-e", ".[test]", "mypy", "types-PyYAML")
    session.run("mypy", "--strict", "src")
    # User code (tests/typing): signatures must accept what users really pass.
    session.run("mypy", "--strict", "tests/typing", env={"MYPYPATH": "src"})


@nox.session
def demo(session: nox.Session) -> None:
    """Run ``incrbuild demo``, the walk-through a newcomer runs first."""
    session.install("-e", ".")
    session.run("incrbuild", "demo", *session.posargs)


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Run the benchmark suites in tests/benchmarks and write docs/benchmarks.md."""
    session.install("-e", ".[test,dask]", "matplotlib", "doit")
    session.run(
        "pytest",
        "tests/benchmarks",
        "--benchmark-only",
        "--override-ini=addopts=-p no:cacheprovider",
        "-o",
        "python_files=bench_*.py",
        *session.posargs,
    )
    session.run("python", "tests/benchmarks/report.py")


@nox.session(default=False)
def bengal(session: nox.Session) -> None:
    """Install Bengal 0.5.1 under Python 3.14; run its end-to-end tests against clean builds."""
    if not PYTHON_314.exists():
        # A host session fails, never skips: CI must not pass without running it.
        session.error(f"{PYTHON_314} is not here (it comes with ../shared)")
    bin_dir = subprocess.run(
        [str(PYTHON_314), "--print-bin-dir"], capture_output=True, text=True, check=True
    ).stdout.strip()
    session.env["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    # Debian's 3.14 has no ensurepip, so virtualenv (which carries pip) makes the environment.
    # It lives under .nox/ (ignored), never beside pyproject.toml, where virtualenv would
    # also write a ".venv" pointer file.
    session.install("virtualenv")
    venv = ROOT / ".nox" / "bengal-py314"
    session.run(
        "virtualenv", "--quiet", "--clear", "-p", str(Path(bin_dir) / "python3.14"), str(venv)
    )
    python = str(venv / "bin" / "python")
    # The pin is the release the adapter is verified against (BENGAL_REQUIREMENT).
    packages = ["bengal==0.5.1", "-e", ".", "pytest", "hypothesis"]
    session.run(python, "-m", "pip", "install", "--quiet", *packages, external=True)
    session.run(python, "-c", "import bengal, incrbuild", external=True)
    session.env["INCRBUILD_REQUIRE_BENGAL"] = "1"  # a missing Bengal fails, never skips
    session.run(python, "-m", "pytest", "tests/bengal", *session.posargs, external=True)


@nox.session(default=False)
def mkdocs(session: nox.Session) -> None:
    """Install MkDocs 1.6 and run the plugin's oracle tests with many more examples."""
    # The pin is the `mkdocs` extra's; a failed install fails the session (no skip).
    session.install("-e", ".[test,mkdocs]")
    session.run("python", "-c", "import mkdocs, pymdownx, material, incrbuild.adapters.mkdocs")
    session.env["INCRBUILD_REQUIRE_MKDOCS"] = "1"  # a missing MkDocs fails, never skips
    session.env.setdefault("INCRBUILD_MKDOCS_EXAMPLES", "30")
    session.env.setdefault("INCRBUILD_MKDOCS_STEPS", "10")
    session.env.setdefault("INCRBUILD_MATERIAL_EXAMPLES", "15")
    session.env.setdefault("INCRBUILD_MATERIAL_STEPS", "8")
    session.run("pytest", "tests/mkdocs", *session.posargs)
