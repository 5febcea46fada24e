"""A task's answer as files: parsed leniently, checked strictly, stored canonically.

Models answer with `{"files": [{"path": ..., "content": ...}]}` (structured output); a file
that exists already (a dependency's, or the task's previous version) may come as SEARCH/
REPLACE `edits` instead of `content`, applied here, so what is stored is whole files. What
they do around it is tolerated where the intent is unambiguous: a fence around the whole
answer or around one file's code, prose before or after the code of a code file (dropped,
and said), a `{"path": "content"}` mapping, or the bare contents when the task writes one
file. What is not (a path outside the task's files, a bad path, a missing file) is a
problem, said in words: it becomes the critique of that iteration, never silently dropped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel, Field, ValidationError

from orchestrator.domain import TaskState, TaskType
from orchestrator.project_paths import path_problem
from orchestrator.workspace._edits import Edit, apply_edits

__all__ = ["FileContent", "FilesAnswer", "ParsedFiles", "answers_with_files", "parse_files"]

# Extensions whose contents are code: prose around a fenced block there is not the file's.
CODE_SUFFIXES = (".py", ".pyi", ".js", ".ts", ".json", ".toml", ".yaml", ".yml", ".cfg", ".ini")
_FENCE = re.compile(r"^[ \t]*```[^\n`]*\n(.*?)^[ \t]*```[ \t]*$", re.MULTILINE | re.DOTALL)


class FileContent(BaseModel):
    path: str = Field(description="Relative to the project's root, e.g. 'src/app.py'")
    content: str | None = Field(default=None, description="The whole contents of the file")
    edits: list[Edit] = Field(
        default_factory=list,
        description="Instead of content, for a file that exists: SEARCH/REPLACE edits",
    )


class FilesAnswer(BaseModel):
    """The structured answer of a task that writes files."""

    files: list[FileContent] = Field(description="Every file the task writes, whole")


@dataclass
class ParsedFiles:
    """The files an answer gives (path -> contents), what was fixed on the way (`notes`) and
    what makes the answer unusable as it is (`problems`)."""

    files: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def canonical(self) -> str:
        """The answer as stored and shown: one JSON document, files in the manifest's order."""
        answer = FilesAnswer(files=[FileContent(path=p, content=c) for p, c in self.files.items()])
        return answer.model_dump_json(indent=1, exclude={"files": {"__all__": {"edits"}}})


def answers_with_files(task: TaskState) -> bool:
    """Whether the task answers with a files object: a code task with a manifest, or any task
    writing several files. A text task owning one file answers with the file's text."""
    if not task.files:
        return False
    return task.type is TaskType.CODE_GENERATION or len(task.files) > 1


def parse_files(
    text: str, manifest: list[str], existing: Mapping[str, str] | None = None
) -> ParsedFiles:
    """The files of `text` for a task whose manifest is `manifest`; edits apply to the
    files of `existing` (path -> contents). Never raises."""
    parsed = ParsedFiles()
    raw = _raw_files(text, manifest, parsed)
    if raw is None:
        return parsed
    for path, given in raw:
        content = given if isinstance(given, str) else _edited(path, given, existing, parsed)
        if content is None:
            continue
        problem = path_problem(path)
        if problem is not None:
            parsed.problems.append(f"{path[:80]!r} refused: {problem}")
        elif path not in manifest:
            parsed.problems.append(
                f"{path!r} is not among the task's files ({', '.join(manifest)}): write only those"
            )
        else:
            if path in parsed.files:
                parsed.notes.append(f"{path} was given twice: the last one is kept")
            parsed.files[path] = _file_body(path, content, parsed.notes)
    missing = [p for p in manifest if p not in parsed.files]
    if missing:
        parsed.problems.append(f"missing file(s): {', '.join(missing)}")
    # The manifest's order: the same files always give the same stored answer.
    parsed.files = {p: parsed.files[p] for p in manifest if p in parsed.files}
    return parsed


def _edited(
    path: str, edits: list[Edit], existing: Mapping[str, str] | None, parsed: ParsedFiles
) -> str | None:
    """The file at `path` with `edits` applied (problems said); None when it cannot be."""
    current = parsed.files.get(path, (existing or {}).get(path))
    if current is None:
        parsed.problems.append(
            f"{path}: edits given for a file that does not exist yet: give its whole content"
        )
        return None
    text, problems = apply_edits(path, current, edits)
    parsed.problems += problems
    return text


def _raw_files(
    text: str, manifest: list[str], parsed: ParsedFiles
) -> list[tuple[str, str | list[Edit]]] | None:
    body = _single_block(text) or text
    try:
        answer = FilesAnswer.model_validate_json(body.strip())
    except ValidationError:
        pass
    else:
        return [(f.path, f.content if f.content is not None else f.edits) for f in answer.files]
    try:
        document = json.loads(body)
    except (json.JSONDecodeError, RecursionError):
        document = None
    if isinstance(document, dict):
        mapping = document.get("files", document)
        if isinstance(mapping, dict) and all(isinstance(v, str) for v in mapping.values()):
            return [(str(k), v) for k, v in mapping.items()]
    if document is None and len(manifest) == 1:
        parsed.notes.append(f"the answer was not a files object: taken whole as {manifest[0]}")
        return [(manifest[0], text)]
    parsed.problems.append(
        'the answer is not a files object: answer {"files": [{"path": ..., "content": ...}]} '
        "with the whole contents of every file of the task"
    )
    return None


def _single_block(text: str) -> str | None:
    """The body of the only fenced block of `text`, or None when it has none or several."""
    blocks = _FENCE.findall(text)
    return blocks[0] if len(blocks) == 1 else None


def _file_body(path: str, content: str, notes: list[str]) -> str:
    """A file's contents without a fence around them; for a code file, without prose."""
    block = _single_block(content)
    if block is None:
        return content
    outside = _FENCE.sub("", content).strip()
    if outside and not path.endswith(CODE_SUFFIXES):
        return content  # a document that shows one code sample: the sample is part of it
    if outside:
        notes.append(f"{path}: the text around its code was not part of the file: dropped")
    return block
