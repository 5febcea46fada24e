"""SEARCH/REPLACE edits of a file that exists: each SEARCH text must occur exactly once.

An edit that does not apply is a problem said in words (which edit, and whether its text was
not found or found several times): it goes back to the model as the critique of that
iteration, never silently dropped or applied to the wrong place.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["Edit", "apply_edits"]


class Edit(BaseModel):
    search: str = Field(description="Text of the file as it is, exactly, occurring once")
    replace: str = Field(description="What replaces it")


def apply_edits(path: str, text: str, edits: list[Edit]) -> tuple[str, list[str]]:
    """`text` with `edits` applied in order, and why any did not apply (those are skipped)."""
    problems = []
    for n, edit in enumerate(edits, start=1):
        found = text.count(edit.search) if edit.search else 0
        if found == 1:
            text = text.replace(edit.search, edit.replace, 1)
            continue
        where = (
            "is empty"
            if not edit.search
            else "was not found"
            if not found
            else (f"was found {found} times (give more of the text around it)")
        )
        shown = edit.search[:120].replace("\n", "\\n")
        problems.append(f"{path}: edit {n} does not apply: its search text {where}: {shown!r}")
    return text, problems
