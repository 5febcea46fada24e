"""Python programs the offline simulator writes for code tasks.

Every program is stdlib-only, runs in milliseconds, exits 0, and prints exactly "Hello World"
when the task asks for hello world. What else it does follows the task's words (an API, data,
maths, or a text utility by default), so code validators have something real to check.
"""

from __future__ import annotations

import re
from random import Random
from textwrap import dedent

__all__ = [
    "BUG_MARK",
    "labelled",
    "polished",
    "program_body",
    "program_kind",
    "python_program",
    "repaired",
    "topic",
]

# kind -> (body, the assertion of its test function)
_BODIES: dict[str, tuple[str, str]] = {
    "hello": (
        dedent("""\
            @NAME@ = "Hello World"


            def build_greeting() -> str:
                return @NAME@


            def main() -> int:
                print(build_greeting())
                return 0
        """),
        'assert build_greeting() == "Hello World"',
    ),
    "api": (
        dedent("""\
            import json

            ROUTES: dict[str, object] = {
                "/health": {"status": "ok"},
                "/items": [{"id": 1, "name": "@ITEM@"}, {"id": 2, "name": "spare"}],
            }


            def handle(method: str, path: str) -> tuple[int, str]:
                if method != "GET":
                    return 405, json.dumps({"error": "method not allowed"})
                if path not in ROUTES:
                    return 404, json.dumps({"error": "not found"})
                return 200, json.dumps(ROUTES[path])


            def main() -> int:
                for method, path in [("GET", "/health"), ("GET", "/items"), ("POST", "/x")]:
                    status, body = handle(method, path)
                    print(method, path, status, body)
                return 0
        """),
        'assert handle("GET", "/health")[0] == 200 and handle("GET", "/nope")[0] == 404',
    ),
    "data": (
        dedent("""\
            import csv
            import io

            DATA = "name,quantity,price\\n@ITEM@,3,2.50\\ngadget,@COUNT@,10.00\\nbolt,7,0.75\\n"


            def load(text: str) -> list[dict[str, str]]:
                return list(csv.DictReader(io.StringIO(text)))


            def total(rows: list[dict[str, str]]) -> float:
                return sum(int(r["quantity"]) * float(r["price"]) for r in rows)


            def main() -> int:
                rows = load(DATA)
                for row in rows:
                    print(f"{row['name']}: {row['quantity']} x {row['price']}")
                print(f"total: {total(rows):.2f}")
                return 0
        """),
        "assert len(load(DATA)) == 3 and total(load(DATA)) > 0",
    ),
    "math": (
        dedent("""\
            def primes(limit: int) -> list[int]:
                return [n for n in range(2, limit + 1) if all(n % d for d in range(2, n))]


            def fibonacci(count: int) -> list[int]:
                values = [0, 1]
                while len(values) < count:
                    values.append(values[-1] + values[-2])
                return values[:count]


            def main() -> int:
                print("primes:", primes(@COUNT@ * 10))
                print("fibonacci:", fibonacci(@COUNT@))
                return 0
        """),
        "assert primes(10) == [2, 3, 5, 7] and fibonacci(5) == [0, 1, 1, 2, 3]",
    ),
    "text": (
        dedent("""\
            from collections import Counter

            TEXT = @PROMPT@


            def word_counts(text: str) -> Counter[str]:
                words = (w.strip(".,;:!?()'\\"").lower() for w in text.split())
                return Counter(w for w in words if w)


            def main() -> int:
                counts = word_counts(TEXT)
                for word, count in counts.most_common(@COUNT@):
                    print(f"{word}: {count}")
                print(f"{sum(counts.values())} words, {len(counts)} distinct")
                return 0
        """),
        'assert word_counts("a b a")["a"] == 2',
    ),
    "csv_json": (
        dedent("""\
            import csv
            import io
            import json
            import sys

            SAMPLE = "name,quantity\\n@ITEM@,3\\nbolt,@COUNT@\\n"


            def csv_to_records(text: str) -> list[dict[str, str]]:
                return list(csv.DictReader(io.StringIO(text)))


            def csv_to_json(text: str, indent: int | None = 2) -> str:
                return json.dumps(csv_to_records(text), indent=indent)


            def main(argv: list[str] | None = None) -> int:
                args = sys.argv[1:] if argv is None else argv
                if args:
                    with open(args[0], encoding="utf-8", newline="") as source:
                        text = source.read()
                else:
                    text = SAMPLE
                print(csv_to_json(text))
                return 0
        """),
        'assert csv_to_records("a,b\\n1,2\\n") == [{"a": "1", "b": "2"}] '
        'and csv_to_json("a\\n1\\n", None) == \'[{"a": "1"}]\'',
    ),
    "duration": (
        dedent("""\
            import re

            PATTERN = re.compile(r"^P(?:(\\d+)D)?(?:T(?:(\\d+)H)?(?:(\\d+)M)?(?:(\\d+)S)?)?$")


            def parse_duration(text: str) -> int:
                \"\"\"Seconds in an ISO-8601 duration such as P1DT2H3M4S.\"\"\"
                found = PATTERN.match(text)
                if found is None or text in ("P", "PT") or text.endswith("T"):
                    raise ValueError(f"not an ISO-8601 duration: {text!r}")
                days, hours, minutes, seconds = (int(g or 0) for g in found.groups())
                return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


            def main() -> int:
                for text in ("PT@COUNT@M", "P1DT2H", "PT90S"):
                    print(text, parse_duration(text))
                return 0
        """),
        'assert parse_duration("P1DT2H3M4S") == 93784 and parse_duration("PT90S") == 90',
    ),
}
# The simulated bug of each kind (fault option `bug`): a line of its template, and what takes
# its place; the test of the kind fails on it. The line says it is a simulated bug.
BUG_MARK = "  # simulated bug"
_BUGS: dict[str, tuple[str, str]] = {
    "hello": ("return @NAME@\n", "return @NAME@.lower()"),
    "api": (
        'return 404, json.dumps({"error": "not found"})\n',
        'return 200, json.dumps({"error": "not found"})',
    ),
    "data": (
        "return list(csv.DictReader(io.StringIO(text)))\n",
        "return list(csv.DictReader(io.StringIO(text)))[1:]",
    ),
    "math": ("return values[:count]\n", "return values[: count - 1]"),
    "csv_json": (
        "return list(csv.DictReader(io.StringIO(text)))\n",
        "return list(csv.DictReader(io.StringIO(text)))[1:]",
    ),
    "duration": (
        "return ((days * 24 + hours) * 60 + minutes) * 60 + seconds\n",
        "return ((days * 24 + hours) * 60 + minutes) * 60",
    ),
    "text": (
        "return Counter(w for w in words if w)\n",
        "return Counter(set(w for w in words if w))",
    ),
}
_KIND_WORDS = {
    "duration": {"duration", "durations", "8601"},
    "api": {"api", "endpoint", "http", "rest", "server", "route", "web"},
    "data": {"csv", "data", "parse", "extract", "records", "table", "json"},
    "math": {"prime", "primes", "fibonacci", "math", "calculator", "number", "sort"},
}


def labelled(prompt: str, labels: tuple[str, ...]) -> str | None:
    """The text after the first "<label>:" line of `prompt` (labels lower-case), if any."""
    for line in prompt.splitlines():
        head, sep, rest = line.partition(":")
        if sep and rest.strip() and head.strip().lower() in labels:
            return rest.strip()
    return None


def topic(prompt: str, limit: int = 70) -> str:
    """A short quote-free label for `prompt` (its "Project:" line, else its first line)."""
    lines = [ln for ln in prompt.splitlines() if ln.strip()]
    text = labelled(prompt, ("project",)) or (lines[0] if lines else "")
    label = " ".join(re.sub(r"[^A-Za-z0-9 ,.;:()-]+", " ", text).split())[:limit]
    return label.rstrip(" ,.;:-") or "the task"


def program_kind(text: str) -> str:
    """Which program `text` (a task's prompt, or its project) asks for."""
    lowered = text.lower()
    words = set(re.findall(r"[a-z0-9]+", lowered))
    if "hello world" in lowered:
        return "hello"
    if {"csv", "json"} <= words:
        return "csv_json"
    return next((k for k, keys in _KIND_WORDS.items() if words & keys), "text")


def program_body(kind: str, prompt: str, rng: Random, *, bug: bool = False) -> tuple[str, str]:
    """The functions of a program of `kind` and the assertion a test of them makes; with
    `bug`, one line of them is wrong (and says it is a simulated bug)."""
    body, check = _BODIES[kind]
    if bug:
        good, bad = _BUGS[kind]
        body = body.replace(good, f"{bad}{BUG_MARK}\n", 1)
    for placeholder, value in (
        ("@NAME@", rng.choice(["GREETING", "MESSAGE", "TEXT_OUT"])),
        ("@ITEM@", rng.choice(["widget", "sprocket", "gizmo"])),
        ("@COUNT@", str(rng.randint(3, 9))),
        ("@PROMPT@", repr(prompt[:400])),
    ):
        body = body.replace(placeholder, value)
    return body, check


def repaired(line: str) -> str | None:
    """The right line for a line that carries a simulated bug (None: it carries none)."""
    if BUG_MARK not in line:
        return None
    code = line.replace(BUG_MARK, "")
    indent = code[: len(code) - len(code.lstrip())]
    for good, bad in _BUGS.values():
        pattern = re.escape(bad).replace("@NAME@", r"(\w+)")
        found = re.fullmatch(pattern, code.strip())
        if found is not None:
            name = found.group(1) if found.groups() else ""
            return indent + good.rstrip("\n").replace("@NAME@", name)
    return None


def python_program(prompt: str, rng: Random, level: int) -> str:
    """Source of a runnable program for `prompt`; `level` 1-3 polishes it (revisions).

    1: a comment and a bare call of main(); 2: module docstring and a main guard;
    3: also `from __future__ import annotations` and `__all__`.
    """
    kind = program_kind(prompt)
    words = set(re.findall(r"[a-z0-9]+", prompt.lower()))
    body, check = program_body(kind, prompt, rng)
    return polished(body, check, kind, prompt, level, tests={"test", "tests"} & words)


def polished(body: str, check: str, kind: str, prompt: str, level: int, *, tests: object) -> str:
    """`body` as a whole program at `level` (see `python_program`), with a test of `check`
    in it when `tests`."""
    if tests:
        body += f"\n\ndef test_{kind}() -> None:\n    {check}\n"
        run = f"    test_{kind}()\n"
    else:
        run = ""
    label = topic(prompt)
    if level <= 1:
        return f"# {label}\n{body}\n\n{run.strip()}{chr(10) if run else ''}main()\n"
    head = f'"""{label}."""\n\n'
    if level >= 3:
        head += 'from __future__ import annotations\n\n__all__ = ["main"]\n\n'
    return f'{head}{body}\n\nif __name__ == "__main__":\n{run}    raise SystemExit(main())\n'
