"""Project YAML files and readable validation messages.

A project file has the same fields as `POST /api/jobs`: project_description,
success_criteria, budget_usd, time_limit_s, concurrency.

Files may come from anyone, so they are read with limits: size, nesting depth, number of
aliases, and the size the document would have with every alias expanded (a "billion laughs"
file is a few hundred bytes of nested aliases that expand to 10^9 values; it is refused after
one pass over its few nodes, before anything is built from it). Safe loading only: no tags
that construct Python objects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from orchestrator.domain import JobSpec
from orchestrator.errors import InvalidInput

MAX_PROJECT_FILE_BYTES = 256 * 1024
MAX_YAML_DEPTH = 32
MAX_YAML_ALIASES = 100
# A project file is five fields: thousands of values are already far more than one needs.
MAX_YAML_VALUES = 10_000


class YamlTooComplex(yaml.YAMLError):
    """The document goes over a limit of `load_limited_yaml`."""


class _LimitedLoader(yaml.SafeLoader):
    """SafeLoader that counts depth and aliases while it builds the node graph."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_YAML_ALIASES:
                raise YamlTooComplex(f"it uses more than {MAX_YAML_ALIASES} aliases (*name)")
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise YamlTooComplex(f"it nests deeper than {MAX_YAML_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _expanded_values(root: yaml.Node) -> int:
    """How many values the document has once every alias is expanded: one pass over the
    distinct nodes (an alias is the same node object as its anchor), without recursion."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()  # on the current path: seeing one again is a cycle
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
        elif key in open_nodes:
            raise YamlTooComplex("an alias refers to a value that contains it")
        elif key not in sizes:
            open_nodes.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node))
    return sizes[id(root)]


def load_limited_yaml(text: str) -> object:
    """`yaml.safe_load` with depth, alias and expanded-size limits (raises YamlTooComplex)."""
    loader = _LimitedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_values(node) > MAX_YAML_VALUES:
            raise YamlTooComplex(
                f"with its aliases expanded it has more than {MAX_YAML_VALUES} values "
                "(an alias bomb?)"
            )
        return loader.construct_document(node)
    finally:
        loader.dispose()


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
        with path.open("rb") as file:  # never more than the limit in memory
            raw = file.read(MAX_PROJECT_FILE_BYTES + 1)
    except OSError as e:
        raise InvalidInput(f"cannot read {path}: {e.strerror or e}") from e
    return parse_project_yaml(raw, str(path))


def parse_project_yaml(raw: bytes, source: str) -> dict[str, Any]:
    """The mapping in project YAML text read from `source` (named in messages)."""
    if len(raw) > MAX_PROJECT_FILE_BYTES:
        raise InvalidInput(f"{source} is larger than {MAX_PROJECT_FILE_BYTES // 1024} KiB")
    try:
        data = load_limited_yaml(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise InvalidInput(f"{source} is not UTF-8 text") from e
    except YamlTooComplex as e:
        raise InvalidInput(f"{source} is refused: {e}") from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or "malformed YAML"
        raise InvalidInput(f"{source} is not valid YAML{where}: {problem}") from e
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise InvalidInput(f"{source} must contain a mapping of job fields, not {kind}")
    return data
