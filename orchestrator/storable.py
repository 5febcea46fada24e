"""Text every store can keep: PostgreSQL refuses NUL in text, and no database stores a lone
surrogate (UTF-8 has no encoding for it).

Input carrying either is refused where it enters, naming the field (`StorableText` in the
models, `check_storable` on raw parameters): a 422, not a database error. A model's answer is
escaped instead (`storable`): the call was paid for and must be recorded whatever it says.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import AfterValidator, Field

__all__ = ["StorableText", "Where", "check_storable", "refusal", "refusals", "storable"]

_REFUSED = re.compile("[\x00\ud800-\udfff]")
# What JSON Schema tools can check (a JS regex sees an emoji as two surrogates, so only NUL).
_SCHEMA_PATTERN = "^[^\\u0000]*$"


def refusal(text: str) -> str | None:
    """Why `text` cannot be stored, or None when it can."""
    found = _REFUSED.search(text)
    if found is None:
        return None
    char = found.group()
    what = "a NUL character" if char == "\x00" else f"a lone surrogate (U+{ord(char):04X})"
    return f"contains {what} at position {found.start()}, which cannot be stored"


Where = tuple[str | int, ...]


def refusals(value: Any) -> Iterator[tuple[Where, str]]:
    """(where, why) of each string in a JSON-like `value`, keys included, that cannot be
    stored. A loop, not recursion: a deeply nested body must not overflow the stack."""
    stack: list[tuple[Where, Any]] = [((), value)]
    while stack:
        at, item = stack.pop()
        if isinstance(item, str):
            why = refusal(item)
            if why is not None:
                yield at, why
        elif isinstance(item, dict):
            stack.extend((at, key) for key in item)
            stack.extend(((*at, key), child) for key, child in item.items())
        elif isinstance(item, list | tuple):
            stack.extend(((*at, i), child) for i, child in enumerate(item))


def check_storable(text: str) -> str:
    why = refusal(text)
    if why is not None:
        raise ValueError(why)
    return text


def storable(text: str) -> str:
    """`text` with each refused character written as its escape (`\\u0000`), readably."""
    return _REFUSED.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


StorableText = Annotated[
    str, AfterValidator(check_storable), Field(json_schema_extra={"pattern": _SCHEMA_PATTERN})
]
