"""JSON Schema: find the one a task gives, and check an output against it.

Checking uses the `jsonschema` library when it is installed (an optional dependency: the
orchestrator runs without it, and then says in the detail that the schema was not
checked). Remote `$ref`s are never fetched: `jsonschema` resolves only what the schema
itself holds unless given a retriever, and none is given.
"""

from __future__ import annotations

import json
import re
from typing import Any

from orchestrator.domain import ValidatorResult

__all__ = ["check_against_schema", "find_schema"]

_FENCE = re.compile(
    r"^```[ \t]*(?:json|jsonschema|json-schema)?[ \t]*\n(.*?)^```", re.MULTILINE | re.DOTALL
)
_SCHEMA_KEYS = frozenset({"properties", "items", "required", "enum", "oneOf", "anyOf", "allOf"})
_MAX_ERRORS = 5


def _looks_like_schema(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    if "$schema" in value:
        return True
    return value.get("type") in {"object", "array"} and bool(_SCHEMA_KEYS & value.keys())


def find_schema(prompt: str) -> dict[str, Any] | None:
    """The first fenced JSON block of `prompt` that is a JSON Schema, if any.

    A schema is an object with `$schema`, or of type object/array with `properties`,
    `items`, `required` or a combinator: an example document is not mistaken for one.
    """
    for block in _FENCE.findall(prompt):
        try:
            value = json.loads(block)
        except json.JSONDecodeError:
            continue
        if _looks_like_schema(value):
            return dict(value)
    return None


def _where(path: Any) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def check_against_schema(instance: Any, schema: dict[str, Any]) -> ValidatorResult | None:
    """`json_schema` result of `instance`; None when `jsonschema` is not installed."""
    try:
        import jsonschema
        from jsonschema.exceptions import SchemaError
    except ImportError:
        return None
    cls = jsonschema.validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except SchemaError as e:
        # The task's fault, not the output's: say so without failing the output.
        detail = f"not checked: the task's schema is invalid ({e.message})"
        return ValidatorResult(name="json_schema", passed=True, detail=detail)
    # Sorted by location, then message: the same document always lists the same errors.
    errors = sorted(
        cls(schema).iter_errors(instance), key=lambda e: (_where(e.absolute_path), e.message)
    )
    if not errors:
        return ValidatorResult(name="json_schema", passed=True, detail="matches the schema")
    lines = [f"- at {_where(e.absolute_path)}: {e.message}" for e in errors[:_MAX_ERRORS]]
    more = len(errors) - _MAX_ERRORS
    if more > 0:
        lines.append(f"- and {more} more")
    detail = f"{len(errors)} schema violation(s):\n" + "\n".join(lines)
    return ValidatorResult(name="json_schema", passed=False, detail=detail)
