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
from orchestrator.providers.sim_code import labelled, polished, program_body, program_kind, topic
from orchestrator.providers.sim_content import markdown

__all__ = ["files_answer", "files_of_prompt"]

_BUILTINS = frozenset({"len", "sum", "list", "dict", "set", "sorted", "str", "int", "float"})


def files_of_prompt(prompt: str) -> list[str]:
    """The files a task's prompt says it writes."""
    named = labelled(prompt, ("files it writes",)) or ""
    return [p.strip() for p in named.split(",") if p.strip()]


def files_answer(prompt: str, rng: Random, level: int) -> str:
    """`{"files": [...]}` with every file the prompt names, whole."""
    project = (
        (labelled(prompt, ("project",)) or "")
        + " "
        + (labelled(prompt, ("key requirement",)) or "")
    )
    kind = program_kind(project)
    body, check = program_body(kind, project, rng)
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


def _test_module(module: str, kind: str, check: str) -> str:
    names = sorted({n for n in re.findall(r"([A-Za-z_]\w*)\(", check) if n not in _BUILTINS})
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
