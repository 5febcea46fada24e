"""System and user prompts for every role: decompose, generate, critique, revise, evaluate.

Pure functions of their inputs: the same task and outputs always give the same text, so a
recorded call's request hash still matches when a job is replayed or resumed. Long material
(dependency outputs, candidate outputs) is cut to a fixed size, keeping head and tail.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from orchestrator.domain import JobSpec, TaskResult, TaskState, TaskType, ValidatorResult
from orchestrator.workspace import answers_with_files

# Budgets in characters (~4 characters a token): a dependency's output is context, the
# candidate output is what is judged, so it gets more room.
DEPENDENCY_CHARS = 8_000
PROJECT_CHARS = 24_000  # the project's files a task that writes files starts from
CANDIDATE_CHARS = 24_000
CRITIQUE_CHARS = 8_000

TASK_TYPE_HINTS: dict[TaskType, str] = {
    TaskType.CODE_GENERATION: "write one self-contained Python module",
    TaskType.CODE_REVIEW: "review code produced by another task: concrete defects and fixes",
    TaskType.COMPLEX_REASONING: "analysis, design or planning that needs careful reasoning",
    TaskType.CREATIVE_WRITING: "prose: documentation, README, user-facing copy, stories",
    TaskType.DATA_EXTRACTION: "extract structured data (usually JSON) from given material",
    TaskType.SUMMARIZATION: "condense material into a short, faithful summary",
    TaskType.EVALUATION: "judge other tasks' outputs against explicit criteria",
}

_FORMAT_RULES: dict[TaskType, str] = {
    TaskType.CODE_GENERATION: (
        "Answer with the complete Python source only: no explanation before or after it and "
        "no Markdown fences. It must run with `python main.py` and no arguments, network "
        'access or user input; put any demonstration under `if __name__ == "__main__":`. '
        "When the task asks for tests, write them in the same module as pytest functions "
        "named `test_...` using plain `assert`: they are run with pytest."
    ),
    TaskType.DATA_EXTRACTION: (
        "If the task asks for JSON, answer with the JSON document only, with no Markdown "
        "fences and no commentary."
    ),
}
_DEFAULT_FORMAT = "Answer with the complete deliverable itself, without preamble or sign-off."
_FILES_FORMAT = (
    'Answer with one JSON object and nothing else: {"files": [{"path": "<path>", "content": '
    '"<the whole file>"}, ...]}, one entry for each of the task\'s files ({files}) and no '
    "other, each with its complete contents (no Markdown fences, no explanation inside a "
    "file). Paths are relative to the project's root; the files of the tasks this one "
    "depends on are already there. Python code uses the standard library only, runs without "
    "network access or user input, and keeps any demonstration under "
    '`if __name__ == "__main__":`. Tests are pytest functions named `test_...` using plain '
    "`assert`, in files named test_*.py, importing the code under test by its module name; "
    "they are run with pytest at the project's root. For a file that exists already (a "
    "dependency's, or your previous version of it) you may give, instead of its content, "
    '"edits": [{"search": "<text of the file, exactly>", "replace": "<new text>"}]: each '
    "search text must occur exactly once in the file."
)
_ONE_FILE_FORMAT = (
    "Answer with the complete contents of the file {files} only: no preamble, no sign-off, "
    "no fence around it."
)


class Prompt(NamedTuple):
    system: str
    user: str


def truncate(text: str, limit: int) -> str:
    """Cut `text` to about `limit` characters, keeping the head and the tail."""
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    tail = limit - head
    cut = len(text) - head - tail
    return f"{text[:head]}\n[... {cut} characters cut ...]\n{text[-tail:]}"


def format_rules(task_type: TaskType) -> str:
    return _FORMAT_RULES.get(task_type, _DEFAULT_FORMAT)


def _task_format(task: TaskState) -> str:
    """The answer's form: files for a task with a manifest, else by its type."""
    if answers_with_files(task):
        return _FILES_FORMAT.replace("{files}", ", ".join(task.files))
    if task.files:
        return _ONE_FILE_FORMAT.replace("{files}", task.files[0])
    return format_rules(task.type)


def format_validators(results: Sequence[ValidatorResult]) -> str:
    if not results:
        return "(none)"
    lines = []
    for r in results:
        verdict = "passed" if r.passed else "FAILED"
        detail = f": {truncate(r.detail, 1_500)}" if r.detail else ""
        lines.append(f"- {r.name} {verdict}{detail}")
    return "\n".join(lines)


def decompose(spec: JobSpec) -> Prompt:
    types = "\n".join(f"- {t.value}: {hint}" for t, hint in TASK_TYPE_HINTS.items())
    system = (
        "You are a senior engineer planning a software project for a team of AI models.\n"
        "Split the project into 3 to 8 tasks. Each task is done by one model that sees only "
        "the task's prompt and the outputs of the tasks it depends on, so every prompt must "
        "be self-contained: name the files, functions, inputs and outputs it must deliver.\n\n"
        f"Task types:\n{types}\n\n"
        "Answer with one JSON object and nothing else, of this shape:\n"
        '{"tasks": [{"id": "task_001", "title": "Parse the input file", '
        '"type": "code_generation", "prompt": "...", "dependencies": [], '
        '"acceptance_threshold": 0.85}, ...]}\n'
        "Rules: ids are task_001, task_002, ... in execution order; `title` says what the "
        "task does in a few words (at most 60 characters), for people watching the plan "
        "run; `type` is one of the "
        "task types above; `dependencies` lists ids of earlier tasks whose output this task "
        "needs (no cycles, no unknown ids); `acceptance_threshold` (0.5 to 1.0) is optional "
        "and defaults to the task type's."
    )
    criteria = spec.success_criteria or "(none given: use sound engineering judgement)"
    # "Label: value" on one line, so a reader of the prompt (even a simple one) finds both.
    user = f"Project description: {spec.project_description}\n\nSuccess criteria: {criteria}"
    return Prompt(system, user)


def decompose_retry(base: Prompt, *, previous: str, error: str) -> Prompt:
    """The decomposition prompt again, with the reason the last answer was rejected."""
    user = (
        f"{base.user}\n\nYour previous answer was rejected.\n"
        f"<previous_answer>\n{truncate(previous, 4_000)}\n</previous_answer>\n"
        f"<error>\n{truncate(error, 2_000)}\n</error>\n"
        "Answer again with the corrected JSON object only."
    )
    return Prompt(base.system, user)


def shown_files(files: Mapping[str, str], limit: int = PROJECT_CHARS) -> str:
    """`files` as `<file path="...">` blocks in path order, whole while they fit in about
    `limit` characters; past it the largest are shown first as an outline (their size and
    top-level lines, whole lines only), never cut mid-line."""
    whole = dict(files)
    outlines: dict[str, str] = {}

    def size() -> int:
        return sum(map(len, whole.values())) + sum(map(len, outlines.values()))

    while whole and size() > limit:
        path = max(whole, key=lambda p: (len(whole[p]), p))
        outlines[path] = _outline(whole.pop(path))
    blocks = []
    for path in sorted(files):
        if path in whole:
            blocks.append(f'<file path="{path}">\n{whole[path]}\n</file>')
        else:
            blocks.append(f'<file path="{path}" shown="outline">\n{outlines[path]}\n</file>')
    return "\n".join(blocks)


def _outline(text: str, *, max_lines: int = 40) -> str:
    """A file too large to show: its size, then its unindented lines (imports, definitions,
    top-level statements), at most `max_lines` of them."""
    lines = text.splitlines()
    top = [ln for ln in lines if ln.strip() and not ln[0].isspace()]
    kept = top[:max_lines]
    more = f"\n[... {len(top) - len(kept)} more top-level lines]" if len(top) > len(kept) else ""
    head = f"[{len(lines)} lines, {len(text)} characters: its top-level lines only]"
    return "\n".join([head, *kept]) + more


def _dependencies(deps: Mapping[str, TaskResult], *, files_shown: bool) -> str:
    blocks = []
    for dep_id in sorted(deps):
        dep = deps[dep_id]
        if files_shown and _is_files_answer(dep.output):
            body = "(its files are among the project's files above)"
        else:
            body = truncate(dep.output, DEPENDENCY_CHARS) if dep.output else "(no output)"
        blocks.append(f'<dependency id="{dep_id}" status="{dep.status}">\n{body}\n</dependency>')
    return "\n".join(blocks)


def _is_files_answer(output: str) -> bool:
    return output.lstrip().startswith("{") and '"files"' in output[:200]


def _task_block(task: TaskState) -> str:
    # Only a task with a manifest says so: a planned task's prompts stay as they were.
    files = f"\nFiles it writes: {', '.join(task.files)}" if task.files else ""
    return f'<task id="{task.task_id}" type="{task.type}">\n{task.prompt}{files}\n</task>'


def generate(
    task: TaskState, deps: Mapping[str, TaskResult], tree: Mapping[str, str] | None = None
) -> Prompt:
    """The first answer's prompt. `tree`: the project's files the task starts from (a task
    answering with files), shown as they are now rather than as each dependency wrote them."""
    system = (
        f"You are an expert assigned one task of a larger project ({task.type}). "
        "Deliver exactly what the task asks for, complete and correct, building on the "
        f"outputs of the tasks it depends on.\n{_task_format(task)}"
    )
    parts = [_task_block(task)]
    if tree:
        parts.append(f"The project's files so far, as they are now:\n{shown_files(tree)}")
    if deps:
        listed = _dependencies(deps, files_shown=bool(tree))
        parts.append(f"Outputs of the tasks this one depends on:\n{listed}")
    return Prompt(system, "\n\n".join(parts))


def critique(task: TaskState, output: str, failures: Sequence[ValidatorResult]) -> Prompt:
    system = (
        "You are a demanding reviewer. List the concrete problems of the candidate output "
        "against its task: wrong or missing behaviour, bugs, unmet requirements, unclear "
        "parts. Number them; for each say where it is and how to fix it. Do not rewrite the "
        "output. If there is nothing to fix, answer exactly: No issues found."
    )
    user = (
        f"{_task_block(task)}\n\n"
        f"<candidate_output>\n{truncate(output, CANDIDATE_CHARS)}\n</candidate_output>\n\n"
        f"Automatic checks that failed:\n{format_validators(failures)}"
    )
    return Prompt(system, user)


def revise(
    task: TaskState, output: str, critique_text: str, failures: Sequence[ValidatorResult]
) -> Prompt:
    system = (
        "You improve a deliverable using a reviewer's critique and the results of automatic "
        "checks. Fix every valid issue, keep what is already right, and answer with the "
        f"complete improved output, not a diff or a list of changes.\n{_task_format(task)}"
    )
    review = truncate(critique_text, CRITIQUE_CHARS) if critique_text else "(no critique)"
    user = (
        f"{_task_block(task)}\n\n"
        f"<previous_output>\n{truncate(output, CANDIDATE_CHARS)}\n</previous_output>\n\n"
        f"<critique>\n{review}\n</critique>\n\n"
        f"Automatic checks that failed:\n{format_validators(failures)}"
    )
    return Prompt(system, user)


def evaluate(
    task: TaskState, output: str, checks: Sequence[ValidatorResult], *, threshold: float
) -> Prompt:
    system = (
        "You are a strict, impartial evaluator. Score how well the output fulfils its task, "
        "from 0.0 to 1.0: 1.0 complete and correct; 0.85 complete with minor flaws; 0.6 "
        "usable but with significant gaps; 0.3 mostly wrong or incomplete; 0.0 unusable. "
        "A failed automatic check is strong evidence of a defect.\n"
        'Answer with one JSON object and nothing else: {"score": <0.0-1.0>, '
        '"reasoning": "<two or three sentences>"}'
    )
    user = (
        f"{_task_block(task)}\n\n"
        f"Acceptance: the output passes at a score of {threshold:.2f} or more; it must do "
        "everything the task asks.\n\n"
        f"<output>\n{truncate(output, CANDIDATE_CHARS)}\n</output>\n\n"
        f"Automatic checks:\n{format_validators(checks)}"
    )
    return Prompt(system, user)
