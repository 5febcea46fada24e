"""The simulator's answer for a task that writes files: a coherent project, not fragments.

The task's prompt names its files ("Files it writes: main.py, test_main.py"); the project
(its "Project:" line) decides what the program does, so every task of one job writes the
same program's parts: `main.py` has the functions, `test_X.py` tests module `X` with pytest
and also runs as a script, `cli.py` wraps `main()`, and a document is markdown. Pure given
the random generator, like the rest of the simulator.
"""

from __future__ import annotations

import json
import re
from random import Random

from orchestrator.domain import TaskType
from orchestrator.providers.sim_code import (
    labelled,
    polished,
    program_body,
    program_kind,
    repaired,
    topic,
)
from orchestrator.providers.sim_content import markdown

__all__ = ["FIX_HEADER", "files_answer", "files_of_prompt"]

# How a fix round's prompt starts (engine/fix_round.py; a test checks they agree).
FIX_HEADER = "Fix the project so that its tests pass."
_SHOWN_FILE = re.compile(r'^<file path="([^"]+)">\n(.*?)\n</file>$', re.MULTILINE | re.DOTALL)
_BUILTINS = frozenset({"len", "sum", "list", "dict", "set", "sorted", "str", "int", "float"})


def files_of_prompt(prompt: str) -> list[str]:
    """The files a task's prompt says it writes."""
    named = labelled(prompt, ("files it writes",)) or ""
    return [p.strip() for p in named.split(",") if p.strip()]


def files_answer(
    prompt: str, rng: Random, level: int, *, bug: bool = False, edits: bool = False
) -> str:
    """`{"files": [...]}` with every file the prompt names, whole; with `bug`, the code
    files carry the simulated bug of their kind. A fix round's prompt gets its shown files
    repaired (as SEARCH/REPLACE `edits`, else whole)."""
    if FIX_HEADER in prompt:
        return _fix_answer(prompt, edits=edits)
    project = (
        (labelled(prompt, ("project",)) or "")
        + " "
        + (labelled(prompt, ("key requirement",)) or "")
    )
    kind = program_kind(project)
    body, check = program_body(kind, project, rng, bug=bug)
    files = []
    for path in files_of_prompt(prompt):
        name = path.rsplit("/", 1)[-1]
        if name.startswith("test_") and name.endswith(".py"):
            content = _test_module(name[len("test_") : -len(".py")], kind, check)
        elif name == "cli.py":
            content = _cli(topic(prompt))
        elif name.endswith(".py"):
            content = polished(body, check, kind, prompt, level, tests=False)
        else:
            content = markdown(TaskType.SUMMARIZATION, f"{prompt}\n{path}", rng, level)
        files.append({"path": path, "content": content})
    return json.dumps({"files": files})


def _fix_answer(prompt: str, *, edits: bool) -> str:
    """Each file the fix round shows, its simulated bug repaired (a file without one is
    given with no edits: as it is)."""
    shown = dict(_SHOWN_FILE.findall(prompt))
    files: list[dict[str, object]] = []
    for path in files_of_prompt(prompt):
        content = shown.get(path, "")
        changes = [
            {"search": line, "replace": good}
            for line in content.splitlines()
            if (good := repaired(line)) is not None
        ]
        if edits or not changes:
            files.append({"path": path, "edits": changes})
        else:
            for change in changes:
                content = content.replace(change["search"], change["replace"], 1)
            files.append({"path": path, "content": content})
    return json.dumps({"files": files})


def _test_module(module: str, kind: str, check: str) -> str:
    called = {n for n in re.findall(r"([A-Za-z_]\w*)\(", check) if n not in _BUILTINS}
    code = re.sub(r"\"[^\"]*\"|'[^']*'", "", check)  # names, not words in strings
    constants = set(re.findall(r"\b([A-Z][A-Z_]+)\b", code))  # the module's data: DATA
    names = sorted(called | constants)
    return (
        f'"""Tests of {module}.py: run with pytest, or as a script."""\n\n'
        f"from {module} import {', '.join(names)}\n\n\n"
        f"def test_{kind}() -> None:\n    {check}\n\n\n"
        f'if __name__ == "__main__":\n    test_{kind}()\n    print("ok")\n'
    )


def _cli(label: str) -> str:
    return (
        f'"""Command line of {label}."""\n\n'
        "import argparse\n\nfrom main import main\n\n\n"
        "def run(argv: list[str] | None = None) -> int:\n"
        '    parser = argparse.ArgumentParser(description="Runs the program.")\n'
        "    parser.parse_args(argv)\n"
        "    return main()\n\n\n"
        'if __name__ == "__main__":\n    raise SystemExit(run())\n'
    )
