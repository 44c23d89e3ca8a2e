"""The taxonomies a site declares in its configuration file (Hugo, Bengal).

A taxonomy is a front-matter key whose values are terms with pages of their
own (``tags: [go]`` gives ``/tags/go/``).  Hugo's ``[taxonomies]`` table maps
each singular name to that key (``category = "categories"``); without the
table, Hugo indexes ``tags`` and ``categories``.  Bengal indexes ``tags``.
"""

from __future__ import annotations

from incrbuild._errors import SourceError

# A fresh ``incrbuild plan`` imports this module for CONFIG_FILE_NAMES alone: what else it
# needs is imported where used, and type names only for type checkers (not typing's flag).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path
    from typing import Any, Final

__all__ = ["CONFIG_FILE_NAMES", "find_site_config", "taxonomies_of_site"]

#: Configuration files looked for in the site directory (the content directory's parent).
CONFIG_FILE_NAMES: Final = (
    "hugo.toml",
    "hugo.yaml",
    "hugo.yml",
    "config.toml",
    "config.yaml",
    "config.yml",
    "config/_default/hugo.toml",
    "config/_default/config.toml",
    "bengal.toml",
)
_HUGO_DEFAULT: Final = ("tags", "categories")
_BENGAL_DEFAULT: Final = ("tags",)


def find_site_config(content_dir: Path) -> Path | None:
    """Return the first configuration file of the site around *content_dir*, if any."""
    site = content_dir.parent
    for name in CONFIG_FILE_NAMES:
        candidate = site / name
        if candidate.is_file():
            return candidate
    return None


def taxonomies_of_site(content_dir: Path) -> tuple[str, ...]:
    """The front-matter keys the site's configuration makes taxonomies (``("tags",)`` if none)."""
    config = find_site_config(content_dir)
    if config is None:
        return _BENGAL_DEFAULT
    default = _BENGAL_DEFAULT if config.name == "bengal.toml" else _HUGO_DEFAULT
    from collections.abc import Mapping, Sequence

    declared = _load(config).get("taxonomies", None)
    if declared is None:
        return default
    if isinstance(declared, Mapping):  # Hugo: singular -> plural (the front-matter key)
        names = [str(value) for value in declared.values()]
    elif isinstance(declared, Sequence) and not isinstance(declared, str):
        names = [str(value) for value in declared]
    else:
        raise SourceError(config, "'taxonomies' must be a table or a list of names")
    return tuple(dict.fromkeys(name.strip() for name in names if name.strip()))


def _load(config: Path) -> Mapping[str, Any]:
    from collections.abc import Mapping

    try:
        text = config.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SourceError(config, f"cannot read the site configuration: {error}") from None
    try:
        data = _parse_toml(text) if config.suffix == ".toml" else _parse_yaml(text)
    except ValueError as error:
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise SourceError(config, f"cannot parse the site configuration: {detail}") from None
    return data if isinstance(data, Mapping) else {}


# The parsers are imported when a file needs one: a no-op plan should not pay for YAML.


def _parse_toml(text: str) -> Any:
    import tomllib  # its TOMLDecodeError is a ValueError

    return tomllib.loads(text)


def _parse_yaml(text: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ValueError(str(error) or type(error).__name__) from None
