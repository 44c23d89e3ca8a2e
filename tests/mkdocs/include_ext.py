"""A Markdown extension that pastes files in with plain ``open`` (as ``markdown-include`` does).

``{!name!}`` on a line of its own becomes the text of ``name`` below the configured
``base`` directory, or ``missing: name``.  The plugin sees no event of it: only the
files a page opens while it is converted tell it that the page read them.
"""

from __future__ import annotations

import os
import re
from typing import Any

from markdown import Markdown
from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor

_LINE = re.compile(r"^\{!(?P<name>[^!]+)!\}$")


class _Include(Preprocessor):
    def __init__(self, md: Markdown, base: str) -> None:
        super().__init__(md)
        self.base = base

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        for line in lines:
            found = _LINE.match(line.strip())
            if found is None:
                out.append(line)
                continue
            name = found["name"]
            try:
                with open(os.path.join(self.base, name), encoding="utf-8") as handle:
                    out.extend(handle.read().splitlines())
            except FileNotFoundError:
                out.append(f"missing: {name}")
        return out


class IncludeExtension(Extension):
    def __init__(self, **kwargs: Any) -> None:
        self.config = {"base": [".", "the directory names are relative to"]}
        super().__init__(**kwargs)

    def extendMarkdown(self, md: Markdown) -> None:
        md.preprocessors.register(_Include(md, self.getConfig("base")), "test_include", 31)


def makeExtension(**kwargs: Any) -> IncludeExtension:
    return IncludeExtension(**kwargs)
