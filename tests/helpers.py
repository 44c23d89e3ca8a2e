"""Helpers shared by several test files (test files never import one another).

Writing files, a coarse-clock ``stat``, picklable functions for the parallel
backends, and :class:`CommandProcess`, which runs the ``incrbuild`` command in a
subprocess and waits on its output lines (with a deadline, never a bare sleep).
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

SECONDS: Final = 1_000_000_000


def write(path: Path, text: str) -> Path:
    """Write *text* (UTF-8) to *path*, creating its directories; return *path*."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


class QuantisedStat:
    """Stat results with whole-second mtimes and ctimes, like HFS+ (or a coarse clock)."""

    __slots__ = ("st_ctime_ns", "st_ino", "st_mode", "st_mtime_ns", "st_size")

    def __init__(self, real: os.stat_result) -> None:
        self.st_mtime_ns = real.st_mtime_ns // SECONDS * SECONDS
        self.st_ctime_ns = real.st_ctime_ns // SECONDS * SECONDS
        self.st_size = real.st_size
        self.st_ino = real.st_ino
        self.st_mode = real.st_mode


def quantised_stat(path: str) -> Any:
    """``os.stat`` with timestamps cut to whole seconds."""
    return QuantisedStat(os.stat(path))


def square(value: int) -> int:
    """A picklable task for the parallel backends."""
    return value * value


def fail_on_multiples(divisor: int, value: int) -> int:
    """A picklable task that fails on multiples of *divisor*."""
    if value % divisor == 0:
        raise ValueError(f"{value} is a multiple of {divisor}")
    return value + 1


#: Runs the command line of the checkout under test, whatever is installed.
COMMAND: Final = (sys.executable, "-m", "incrbuild")


def run_command(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[bytes]:
    """Run ``incrbuild *args`` to completion; stdout and stderr as bytes."""
    return subprocess.run(
        [*COMMAND, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        timeout=timeout,
        check=False,
    )


def _ctrl_c_as_at_a_terminal() -> None:
    """Let the child take Ctrl-C even if the suite runs as a background job (SIGINT ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class CommandProcess:
    """A long-running ``incrbuild`` subprocess whose stdout is read line by line in a thread."""

    def __init__(self, args: Sequence[str], *, cwd: Path | None = None) -> None:
        self.process = subprocess.Popen(
            [*COMMAND, *args],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="strict",
            preexec_fn=_ctrl_c_as_at_a_terminal if os.name == "posix" else None,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        """Read lines until one matches *pattern*; fail after *timeout* seconds."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no line matched {pattern!r} in {timeout} s: {self.lines}")
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"output ended before {pattern!r}: {self.lines}")
            self.lines.append(line)
            found = re.search(pattern, line)
            if found is not None:
                return found

    def lines_within(self, seconds: float) -> list[str]:
        """Collect the lines printed during the next *seconds* (to show that none come)."""
        deadline = time.monotonic() + seconds
        seen: list[str] = []
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
            seen.append(line)
        return seen

    def interrupt(self, timeout: float = 20.0) -> tuple[int, str]:
        """Send Ctrl-C (SIGINT); return the exit status and stderr once it stopped."""
        self.process.send_signal(signal.SIGINT)
        return self.finish(timeout)

    def finish(self, timeout: float = 30.0) -> tuple[int, str]:
        """Wait for the process to end; return its exit status and stderr."""
        try:
            returncode = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        assert self.process.stderr is not None
        return returncode, self.process.stderr.read()

    def kill(self) -> None:
        """Stop the process for good (cleanup after a failed assertion)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
