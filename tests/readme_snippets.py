"""The code blocks of README.md that tests run: each follows a `<!-- README test: NAME -->`
line, so what a reader copies is what the tests exercised."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def snippet(name: str) -> str:
    found = re.search(
        rf"<!-- README test: {re.escape(name)} -->\n```\w*\n(.*?)\n```", README.read_text(), re.S
    )
    assert found, f"README.md has no snippet {name!r}"
    return found.group(1)
