"""Project YAML files and readable validation messages.

A project file has the same fields as `POST /api/jobs`: project_description,
success_criteria, budget_usd, time_limit_s, concurrency.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from orchestrator.domain import JobSpec
from orchestrator.errors import InvalidInput

MAX_PROJECT_FILE_BYTES = 256 * 1024


def describe_validation_error(error: ValidationError) -> str:
    """One line per problem, naming the field: `budget_usd: Input should be greater than 0`."""
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "body"
        msg = item["msg"]
        if item["type"] == "extra_forbidden":
            msg = "is not a known field"
        parts.append(f"{where}: {msg}")
    return "; ".join(parts)


def parse_spec(data: dict[str, Any]) -> JobSpec:
    try:
        return JobSpec.model_validate(data)
    except ValidationError as e:
        raise InvalidInput(f"invalid job spec: {describe_validation_error(e)}") from e


def read_project_file(path: Path) -> dict[str, Any]:
    """The mapping in a project YAML file; raises InvalidInput with a line number when it can."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InvalidInput(f"cannot read {path}: {e.strerror or e}") from e
    if len(raw) > MAX_PROJECT_FILE_BYTES:
        raise InvalidInput(f"{path} is larger than {MAX_PROJECT_FILE_BYTES // 1024} KiB")
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise InvalidInput(f"{path} is not UTF-8 text") from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or "malformed YAML"
        raise InvalidInput(f"{path} is not valid YAML{where}: {problem}") from e
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise InvalidInput(f"{path} must contain a mapping of job fields, not {kind}")
    return data
