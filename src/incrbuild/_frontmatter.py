"""Front matter: a YAML (``---``) or TOML (``+++``) block at the top of a page source."""

from __future__ import annotations

import datetime
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from incrbuild._errors import FrontMatterError

__all__ = ["parse_front_matter", "split_front_matter"]

_YAML_FENCE = "---"
_TOML_FENCE = "+++"
_TOML_POSITION = re.compile(r"at line (\d+)")
_BASE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BASE_LOADER):  # type: ignore[valid-type,misc]
    """The safe loader, with impossible dates reported at their line (PyYAML raises ValueError)."""


def _construct_timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> object:
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
    except (ValueError, OverflowError) as error:
        raise yaml.constructor.ConstructorError(
            None, None, f"impossible date or time {node.value!r}: {error}", node.start_mark
        ) from None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
_LOADER: type[yaml.SafeLoader] = _Loader


def split_front_matter(text: str, path: Path) -> tuple[str | None, str, str, int]:
    """Split *text* into ``(kind, front matter, body, first front matter line)``.

    *kind* is ``"yaml"``, ``"toml"`` or ``None`` when the page has no front
    matter.  An opening fence without a closing one is an error.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    first, _, rest = text.partition("\n")
    fence = first.rstrip()
    if fence not in (_YAML_FENCE, _TOML_FENCE):
        return None, "", text, 0
    lines = rest.split("\n")
    for number, line in enumerate(lines):
        if line.rstrip() == fence:
            kind = "yaml" if fence == _YAML_FENCE else "toml"
            return kind, "\n".join(lines[:number]), "\n".join(lines[number + 1 :]), 2
    raise FrontMatterError(path, 1, f"opening {fence!r} has no closing {fence!r}")


def parse_front_matter(text: str, path: Path) -> tuple[dict[str, Any], str]:
    """Return ``(metadata, body)`` of a page source; raise :class:`FrontMatterError` if bad."""
    kind, block, body, first_line = split_front_matter(text, path)
    if kind is None:
        return {}, body
    data: object
    if kind == "yaml":
        try:
            data = yaml.load(block, Loader=_LOADER)  # a safe loader
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            line = first_line + (mark.line if mark is not None else 0)
            raise FrontMatterError(path, line, str(error.problem or error)) from None
        except (yaml.YAMLError, ValueError, OverflowError, RecursionError) as error:
            # ValueError and the rest: a constructor rejected a value (a safety net).
            raise FrontMatterError(path, first_line, str(error)) from None
    else:
        try:
            data = tomllib.loads(block)
        except tomllib.TOMLDecodeError as error:
            found = _TOML_POSITION.search(str(error))
            if found:
                line = first_line + int(found.group(1)) - 1
            else:  # "at end of document": the block's last line
                line = first_line + max(block.count("\n"), 0)
            raise FrontMatterError(path, line, str(error)) from None
    if data is None:
        return {}, body
    if not isinstance(data, Mapping):
        raise FrontMatterError(
            path, first_line, f"expected a mapping of keys to values, found {type(data).__name__}"
        )
    metadata = {str(key): _jsonable(value) for key, value in data.items()}
    _check_fields(metadata, path, first_line)
    return metadata, body


def _check_fields(metadata: dict[str, Any], path: Path, line: int) -> None:
    """Reject the field shapes incrbuild relies on when they are plainly wrong."""
    tags = metadata.get("tags")
    if tags is not None and not isinstance(tags, str | list | tuple):
        raise FrontMatterError(path, line, f"'tags' must be a list of strings, not {tags!r}")
    cascade = metadata.get("cascade")
    if cascade is not None and not isinstance(cascade, Mapping):
        raise FrontMatterError(path, line, f"'cascade' must be a mapping, not {cascade!r}")


def _jsonable(value: Any) -> Any:
    """Turn YAML/TOML values into JSON-like ones (dates become ISO strings).

    A cached copy of the front matter then equals a fresh read exactly.
    """
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return value
