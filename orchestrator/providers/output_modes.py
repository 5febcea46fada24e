"""How one OpenAI-compatible endpoint is asked for structured output, and how `auto` finds it.

Servers differ: OpenAI, Ollama, vLLM and llama.cpp's own server take `response_format`
`json_schema`; llama-cpp-python's server answers 400 to it but constrains `json_object` with a
`schema` by grammar; some take neither and only forced tool calls; some take no tools either.
The modes, in the order `auto` tries them:

    json_schema   response_format {"type": "json_schema", ...}       (pydantic-ai NativeOutput)
    json_object   response_format {"type": "json_object", "schema"}  (PromptedOutput + the schema)
    tool          a forced tool call                                  (pydantic-ai ToolOutput)
    prompted      the schema in the instructions, no response_format  (PromptedOutput)

In `auto`, a 400/422 whose message names `response_format` (or, for `tool`, the tools) moves
the endpoint to the next mode for good (so does a 500 that is the server's own request
validation error naming it: llama-cpp-python's way of refusing `json_schema`); a set mode is
never changed. One `OutputModes` per endpoint, shared by every model and job of the process,
so the detection happens once.
"""

from __future__ import annotations

import threading
from typing import Literal, get_args

from orchestrator.config import OutputSetting

__all__ = ["OUTPUT_MODES", "OutputMode", "OutputModes", "grammar_schema", "names_refused_feature"]

OutputMode = Literal["json_schema", "json_object", "tool", "prompted"]
OUTPUT_MODES: tuple[OutputMode, ...] = get_args(OutputMode)

# What a refusal of each mode names in the server's message (lower case).
_FEATURE_WORDS: dict[OutputMode, tuple[str, ...]] = {
    "json_schema": ("response_format", "json_schema", "response format"),
    "json_object": ("response_format", "json_object", "response format"),
    "tool": ("tool",),
    "prompted": (),
}


# llama-cpp-python 0.3.36 answers a `json_schema` response_format with HTTP 500 and its
# request validation error ("Input should be 'text' or 'json_object'"), not a 400.
_VALIDATION_WORDS = ("validation error", "input should be")


def names_refused_feature(mode: OutputMode, status: int | None, message: str) -> bool:
    """Whether an HTTP error refuses `mode` itself (rather than the request's content)."""
    text = message.lower()
    if status == 500 and not any(word in text for word in _VALIDATION_WORDS):
        return False
    if status not in (400, 422, 500):
        return False
    return any(word in text for word in _FEATURE_WORDS[mode])


class OutputModes:
    """The structured-output mode of one endpoint: set, or detected once in `auto`."""

    def __init__(self, setting: OutputSetting = "auto") -> None:
        self.setting = setting
        self._mode: OutputMode = "json_schema" if setting == "auto" else setting
        self._refused: list[str] = []  # "json_schema (HTTP 400: …)", for the log
        self._lock = threading.Lock()

    @property
    def mode(self) -> OutputMode:
        return self._mode

    def describe(self) -> str:
        """The mode and how it was chosen, e.g. "json_object (auto; refused: json_schema …)"."""
        if self.setting != "auto":
            return f"{self._mode} (set by ORCH_OPENAI_COMPAT_OUTPUT)"
        if not self._refused:
            return f"{self._mode} (auto)"
        return f"{self._mode} (auto; the server refused {'; '.join(self._refused)})"

    def refused(self, mode: OutputMode, why: str) -> bool:
        """`mode` was refused: move on (in `auto`) and say whether to try again in the new one.

        Two calls that fail at once in the same mode move it once; a call that comes back
        refused after another already moved on just tries the current mode."""
        if self.setting != "auto":
            return False
        with self._lock:
            if mode != self._mode:
                return True
            index = OUTPUT_MODES.index(mode)
            if index + 1 >= len(OUTPUT_MODES):
                return False
            self._refused.append(f"{mode} ({why})")
            self._mode = OUTPUT_MODES[index + 1]
            return True


# Bounds a grammar-constrained server would unroll into huge grammars (llama-cpp-python turns
# `maxLength: 20000` into 20,000 optional characters, and hangs): the engine validates the
# answer against the full schema anyway, so the server is given the structure only.
_UNROLLED_KEYS = frozenset(
    {"maxLength", "minLength", "pattern", "maxItems", "minItems", "format", "minimum", "maximum"}
)


def grammar_schema(schema: object) -> object:
    """`schema` without the bounds that grammars unroll (types, enums, required kept)."""
    if isinstance(schema, dict):
        return {k: grammar_schema(v) for k, v in schema.items() if k not in _UNROLLED_KEYS}
    if isinstance(schema, list):
        return [grammar_schema(v) for v in schema]
    return schema
