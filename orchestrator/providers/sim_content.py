"""What the offline simulator says besides code: plans, markdown texts, critiques.

Pure functions of (prompt, random generator); the simulator seeds the generator, so the same
request gives the same text. A decomposition prompt is read leniently: lines starting with
"Project:"/"Description:" and "Criteria:"/"Success criteria:" are used when present, else the
first line of the prompt stands for the project.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from random import Random
from typing import NamedTuple

from orchestrator.domain import TaskType
from orchestrator.plan import Plan, PlannedTask, short_title
from orchestrator.providers.sim_code import labelled, topic
from orchestrator.storable import storable

__all__ = ["critique", "markdown", "plan", "project_brief"]

T = TaskType


class _Step(NamedTuple):
    key: str
    type: TaskType
    instruction: str
    deps: tuple[str, ...] = ()
    keep: float = 1.0  # probability that a plan includes this step
    files: tuple[str, ...] = ()  # the project files it writes


# Step tables are hand-aligned: two lines per step read better than ruff's seven.
_CODE = (
    _Step("design", T.COMPLEX_REASONING, "Design the solution: the functions, their inputs and "
          "outputs, error handling, edge cases and how the result is checked."),
    _Step("impl", T.CODE_GENERATION, "Implement the project as one runnable Python 3 script "
          "(main.py), standard library only, with a main() entry point.", ("design",),
          files=("main.py",)),
    _Step("tests", T.CODE_GENERATION, "Write test_main.py: pytest-style test_ functions for the "
          "normal and edge cases; the file must also run as a plain script.",
          ("design", "impl"), files=("test_main.py",)),
    _Step("cli", T.CODE_GENERATION, "Write cli.py: an argparse wrapper whose default run (no "
          "arguments) behaves exactly like main.py.", ("design", "impl"), 0.3, ("cli.py",)),
    _Step("review", T.CODE_REVIEW, "Review the code against the design and the criteria: "
          "correctness, error handling, naming, type hints, tests; list concrete fixes.",
          ("design", "impl", "tests", "cli")),
    _Step("readme", T.SUMMARIZATION, "Write README.md: purpose, requirements, how to run it "
          "(python main.py), the expected output, how to run the tests.", ("impl",),
          files=("README.md",)),
    _Step("final", T.EVALUATION, "Check the delivered files against the success criteria and "
          "list anything missing.", ("review", "readme"), 0.5),
)  # fmt: skip
_WRITING = (
    _Step("outline", T.COMPLEX_REASONING, "Outline the piece: audience, thesis, section plan "
          "and tone."),
    _Step("research", T.COMPLEX_REASONING, "Collect the facts, arguments and examples the piece "
          "needs, one line each.", (), 0.5),
    _Step("part1", T.CREATIVE_WRITING, "Write the first half of the piece following the outline.",
          ("outline", "research")),
    _Step("part2", T.CREATIVE_WRITING, "Write the second half of the piece following the outline.",
          ("outline", "research")),
    _Step("edit", T.CREATIVE_WRITING, "Merge both halves into one polished piece with one voice.",
          ("part1", "part2")),
    _Step("summary", T.SUMMARIZATION, "Write a short abstract of the final piece.", ("edit",), 0.6),
    _Step("final", T.EVALUATION, "Check the final piece against the success criteria.",
          ("edit", "summary"), 0.4),
)  # fmt: skip
_DATA = (
    _Step("schema", T.COMPLEX_REASONING, "Define the output schema: fields, types, units and how "
          "missing values are written."),
    _Step("extract", T.DATA_EXTRACTION, "Extract the records into the schema as JSON.",
          ("schema",)),
    _Step("check", T.CODE_GENERATION, "Write a Python 3 script (standard library only) that "
          "validates records against the schema and prints a summary.", ("schema",), 0.6,
          ("check_records.py",)),
    _Step("report", T.SUMMARIZATION, "Summarise the extracted data: counts, totals, anomalies.",
          ("extract",)),
    _Step("final", T.EVALUATION, "Check the extracted data and the report against the success "
          "criteria.", ("extract", "report", "check")),
)  # fmt: skip
_ANALYSIS = (
    _Step("frame", T.COMPLEX_REASONING, "Frame the question: scope, assumptions, what a good "
          "answer contains."),
    _Step("options", T.COMPLEX_REASONING, "Analyse the main options and their trade-offs.",
          ("frame",)),
    _Step("risks", T.COMPLEX_REASONING, "Analyse the risks and how to mitigate each.", ("frame",)),
    _Step("synthesis", T.SUMMARIZATION, "Synthesise a recommendation from the analyses.",
          ("options", "risks")),
    _Step("final", T.EVALUATION, "Check the recommendation against the success criteria.",
          ("synthesis",), 0.5),
)  # fmt: skip
# The first kind whose words the project mentions wins; analysis is the default.
_KINDS = (
    ({"python", "script", "code", "program", "api", "function", "cli", "library", "module",
      "app", "implement", "endpoint", "server", "bot", "tool", "package", "hello"}, _CODE),
    ({"csv", "json", "extract", "extraction", "dataset", "table", "parse", "records",
      "spreadsheet", "scrape", "data"}, _DATA),
    ({"essay", "story", "poem", "article", "blog", "post", "letter", "novel", "chapter",
      "speech", "narrative"}, _WRITING),
)  # fmt: skip


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def project_brief(prompt: str) -> tuple[str, str]:
    """(description, success criteria) found in a decomposition prompt."""
    lines = [ln.strip() for ln in prompt.splitlines() if ln.strip()]
    description = labelled(prompt, ("project", "description", "project description"))
    criteria = labelled(prompt, ("criteria", "success criteria")) or ""
    # Echoed into the plan as a model would write them: never a character no store keeps.
    brief = (description or (lines[0] if lines else "the project"))[:500]
    return storable(brief), storable(criteria[:500])


def plan(prompt: str, rng: Random, thresholds: Mapping[TaskType, float]) -> Plan:
    """A 4-7 task graph (forks and joins) for the project in `prompt`, by kind of project.

    Every task prompt repeats the project, its criteria and its key requirement, so a task
    can be done without seeing the others (e.g. code that must print "Hello World").
    """
    description, criteria = project_brief(prompt)
    words = _words(f"{description} {criteria}")
    steps = next((steps for keys, steps in _KINDS if words & keys), _ANALYSIS)
    chosen = [s for s in steps if s.keep >= 1.0 or rng.random() < s.keep]
    ids = {s.key: f"task_{i:03d}" for i, s in enumerate(chosen, start=1)}
    context = f"\nProject: {description}"
    if criteria:
        context += f"\nSuccess criteria: {criteria}"
    if "hello world" in prompt.lower():
        context += '\nKey requirement: the program must print exactly "Hello World".'
    tasks = [
        PlannedTask(
            id=ids[s.key],
            title=_title(s.instruction),
            type=s.type,
            prompt=s.instruction + context,
            dependencies=[ids[d] for d in s.deps if d in ids],
            acceptance_threshold=thresholds.get(s.type),
            files=list(s.files),
        )
        for s in chosen
    ]
    return Plan(tasks=tasks)


def _title(instruction: str) -> str:
    """The instruction's first clause: "Write test_main.py", "Design the solution"."""
    return short_title(re.split(r"[:;,] |\. ", instruction, maxsplit=1)[0].rstrip("."))


_HEADINGS = {
    T.CODE_REVIEW: ["Summary", "Correctness", "Error handling", "Style and typing", "Tests"],
    T.COMPLEX_REASONING: ["Goal", "Assumptions", "Approach", "Trade-offs", "Risks", "Decision"],
    T.CREATIVE_WRITING: ["Opening", "Development", "Turning point", "Resolution"],
    T.DATA_EXTRACTION: ["Sources", "Fields", "Records", "Gaps"],
    T.SUMMARIZATION: ["Overview", "Key points", "Details", "Next steps"],
    T.EVALUATION: ["Criteria", "Findings", "Verdict"],
}
_SENTENCES = [
    "The work starts from the stated requirement and keeps every step checkable.",
    "Each part has one clear responsibility, which keeps changes local and reviewable.",
    "The main risk is ambiguity in the criteria, so the interpretation is written down.",
    "Inputs are validated at the boundary, and failures produce a clear message, not a crash.",
    "The simplest design that meets the criteria is preferred over a more general one.",
    "A short example shows the expected behaviour, so a reader can verify it in seconds.",
    "Where two options were close, the one that is easier to test was chosen.",
    "Edge cases (empty input, very large input, unexpected characters) are handled explicitly.",
    "The result is reproducible: the same input gives the same output.",
    "Open questions are listed at the end rather than hidden in the text.",
]
_BULLETS = [
    "state the requirement in one sentence",
    "keep functions small and named after what they do",
    "document how to run and check the result",
    "list the assumptions made",
    "prefer the standard library over extra dependencies",
    "verify the output against the success criteria",
    "note what was left out and why",
    "give one concrete example of the expected result",
]


def markdown(task_type: TaskType | None, prompt: str, rng: Random, level: int) -> str:
    """A few hundred tokens of structured markdown for a non-code task."""
    label = topic(prompt)
    headings = _HEADINGS.get(task_type or T.COMPLEX_REASONING, _HEADINGS[T.SUMMARIZATION])
    lines = [f"# {label}", ""]
    if "readme" in prompt.lower():
        expected = "Hello World" if "hello world" in prompt.lower() else "a short summary"
        lines += [
            "## Usage",
            "",
            "```bash",
            "python main.py",
            "```",
            "",
            f"Expected output: {expected}",
            "",
        ]
    for heading in headings[: rng.randint(2, 3)]:
        lines += [f"## {heading}", "", " ".join(rng.sample(_SENTENCES, 3)), ""]
        lines += [f"- {bullet}" for bullet in rng.sample(_BULLETS, 3)]
        lines.append("")
    if level >= 2:
        lines += ["## Changes in this revision", "", "- addressed every point of the review", ""]
    return "\n".join(lines)


_CODE_POINTS = [
    "Add type hints to every function signature.",
    'Guard the entry point with `if __name__ == "__main__":` so importing has no side effects.',
    "Add a module docstring that says what the program prints.",
    "Return an exit code from main() and pass it to SystemExit.",
    "Add a test function covering the main behaviour.",
    "Keep constants at module level and state inside main().",
    "Name functions after what they return, not how they work.",
    "Avoid printing from helpers; return values and print in main().",
]
_TEXT_POINTS = [
    "The opening does not state the goal in its first sentence.",
    "Two sections overlap; merge them and cut the repetition.",
    "Add one concrete example for the central claim.",
    "Bullets mix levels of detail; make each one actionable.",
    "The ending should tie back to the success criteria.",
    "Cut filler phrases; several sentences say the same thing twice.",
    "Headings are generic; name them after their content.",
    "State the assumptions explicitly instead of implying them.",
]


def critique(task_type: TaskType | None, rng: Random, iteration: int) -> str:
    """A numbered list of concrete review points; fewer as iterations go by."""
    code = task_type in (T.CODE_GENERATION, T.CODE_REVIEW)
    points = rng.sample(_CODE_POINTS if code else _TEXT_POINTS, max(2, 5 - max(iteration, 1)))
    return "Review points:\n" + "\n".join(f"{i}. {p}" for i, p in enumerate(points, start=1))
