"""Exceptions and warnings incrbuild raises, all under :class:`IncrbuildError`."""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: the CLI's no-op path imports this module
if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "FrontMatterError",
    "IncrbuildError",
    "SourceError",
    "StateLockedError",
    "StateWarning",
    "StateWriteError",
]


class IncrbuildError(Exception):
    """The base class of every error incrbuild raises on purpose."""


class SourceError(IncrbuildError):
    """A source file cannot be read (permissions, not UTF-8, vanished); names the file."""

    def __init__(self, path: Path, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


class FrontMatterError(SourceError, ValueError):
    """A page's front matter cannot be parsed; names the file and the line."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        self.line = line
        super().__init__(path, message)
        self.args = (f"{path}:{line}: bad front matter: {message}",)

    def __str__(self) -> str:
        return str(self.args[0])


class StateLockedError(IncrbuildError):
    """Another process holds the state directory's lock longer than we may wait."""


class StateWriteError(IncrbuildError, OSError):
    """The state store could not be written; the previous state is left intact."""


class StateWarning(UserWarning):
    """The stored state was unusable (corrupt, other version): everything counts as changed."""
