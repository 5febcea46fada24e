"""The offline simulator: an `LLMClient` that answers every catalog model without a network.

It is what runs when no API key is set, in tests and in benchmarks, so it must look like the
real thing to the engine: valid plans, runnable code, critiques, evaluation scores that rise
with iterations, realistic token counts and latencies, and injected faults (429, 500,
timeouts, malformed output) at configurable rates, and, for a share of projects, code with
a bug its tests catch (which a fix round repairs). Every answer says `simulated=True`.

Determinism: an answer's randomness comes from (seed, request hash, how many times this
client has already seen that hash). The same request therefore always gets the same first
answer, a retry gets a fresh draw (so it can succeed where the first attempt faulted), and
the order in which concurrent requests arrive changes nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from random import Random

from orchestrator.config import Catalog, FaultRates, ModelInfo
from orchestrator.domain import Role, TaskType
from orchestrator.errors import (
    InvalidInput,
    MalformedOutput,
    ModelNotFound,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    Where,
)
from orchestrator.providers import sim_content
from orchestrator.providers.base import LLMRequest, LLMResponse
from orchestrator.providers.pricing import input_token_bound
from orchestrator.providers.sim_code import labelled, python_program
from orchestrator.providers.sim_files import files_answer

__all__ = ["SimulatedClient"]

Sleep = Callable[[float], Awaitable[None]]

# Latency model (seconds, before `latency_scale`): lognormal time to first token around
# MEDIAN_S, plus PER_TOKEN_S per output token; both times a speed factor from the model's
# catalog quality (0.6 for a 0.80 model such as gpt-4o-mini, 0.94 for claude-opus-4-6).
MEDIAN_S = 0.6
SIGMA = 0.35
PER_TOKEN_S = 0.004
TIMEOUT_S = 5.0  # how long a simulated timeout hangs before failing
CHARS_PER_TOKEN = 4  # typical of English text and code under BPE tokenizers
FRAMING_TOKENS = 8  # what a chat API adds around one system + one user message
_MALFORMED = (
    'Sure! Here is the JSON you asked for:\n{"score": 0.8, "reasoning": "looks',
    '{"tasks": [{"id": "task_001", "type": "code_generation", "prompt": ',
    "I'm sorry, I can't produce JSON for this request.",
    "```json\n{'score': 0.9,}\n```",
)


class SimulatedClient:
    """Serves every catalog model; deterministic for a seed (see the module docstring)."""

    name = "simulated"
    simulated = True

    def __init__(
        self,
        catalog: Catalog,
        *,
        seed: int = 7,
        latency_scale: float = 1.0,
        faults: FaultRates = FaultRates(),  # noqa: B008 (never mutated here)
        sleep: Sleep = asyncio.sleep,
        billing_log: Path | None = None,
    ) -> None:
        if latency_scale < 0:
            raise InvalidInput(f"latency_scale must be >= 0, got {latency_scale}")
        self._catalog = catalog
        self._seed = seed
        self._scale = latency_scale
        self._faults = faults
        self._sleep = sleep
        self._billing_log = billing_log
        self._seen: Counter[str] = Counter()
        self._thresholds = {t: p.threshold for t, p in catalog.task_types.items()}

    def serves(self, model: str) -> bool:
        return model in self._catalog.models

    def input_tokens_bound(self, request: LLMRequest) -> int:
        """Exactly the input tokens this simulator bills for `request` (`CountsTokens`)."""
        return _input_tokens(request)

    async def complete(self, request: LLMRequest) -> LLMResponse:
        info = self._catalog.models.get(request.model)
        if info is None:
            raise ModelNotFound(
                f"model {request.model!r} is not in the catalog",
                provider=self.name,
                model=request.model,
            )
        # Count before any await, so concurrent requests cannot swap their attempt numbers.
        digest = request.request_hash()
        attempt = self._seen[digest]
        self._seen[digest] += 1
        seed = hashlib.sha256(f"{self._seed}:{digest}:{attempt}".encode()).digest()
        rng = Random(int.from_bytes(seed[:8], "big"))

        if self._billing_log is not None:
            self._bill(request, digest)
        # Always draw the fault first, so the answer does not depend on the fault rates.
        fault = self._fault(rng.random())
        structured = request.json_schema is not None or request.role in (
            Role.DECOMPOSE,
            Role.EVALUATE,
        )
        where = Where(provider=info.provider, model=request.model)
        if fault == "rate_limit":
            retry_after = round(rng.uniform(0.2, 1.0) * self._scale, 3)
            raise RateLimited("simulated 429: rate limited", retry_after=retry_after, **where)
        if fault == "server_error":
            await self._pause(rng.uniform(0.05, 0.3))
            raise ProviderUnavailable("simulated 500: internal server error", **where)
        if fault == "timeout":
            await self._pause(TIMEOUT_S)
            raise ProviderTimeout(f"simulated timeout after {TIMEOUT_S:g} s", **where)
        if fault == "malformed" and not structured:
            # Cut off at the answer cap and unusable, and billed like any answer.
            output_tokens = rng.randint(max(1, request.max_tokens // 2), request.max_tokens)
            await self._pause(rng.lognormvariate(math.log(MEDIAN_S), SIGMA))
            raise MalformedOutput(
                "simulated malformed output: the answer was cut off mid-sentence",
                usage=(_input_tokens(request), output_tokens),
                **where,
            )

        text = rng.choice(_MALFORMED) if fault else self._answer(request, info, rng)
        text, output_tokens = _fit(text, request.max_tokens)
        input_tokens = _input_tokens(request)
        speed = min(1.5, max(0.5, 0.6 + (info.quality - 0.80) * 2))
        latency = speed * (
            rng.lognormvariate(math.log(MEDIAN_S), SIGMA) + PER_TOKEN_S * output_tokens
        )
        await self._pause(latency)
        return LLMResponse(
            model=request.model,
            provider=info.provider,
            text=text,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            # What the model would take; latency_scale only compresses our wall-clock time,
            # so telemetry looks the same at any scale.
            latency_ms=round(latency * 1000, 3),
            simulated=True,
        )

    def _bill(self, request: LLMRequest, digest: str) -> None:
        """Note every call as it starts, like a provider's usage log: tests read it to prove
        that a recovered job does not pay again for calls that had completed."""
        assert self._billing_log is not None
        with self._billing_log.open("a", encoding="utf-8") as log:
            log.write(f"{request.role} {request.model} {digest}\n")

    def _fault(self, u: float) -> str | None:
        """Map one uniform draw to a fault: each rate is its own slice of [0, 1)."""
        edge = 0.0
        for kind in ("rate_limit", "server_error", "timeout", "malformed"):
            edge += getattr(self._faults, kind)
            if u < edge:
                return kind
        return None

    async def _pause(self, seconds: float) -> None:
        if self._scale > 0:
            await self._sleep(seconds * self._scale)

    def _answer(self, request: LLMRequest, info: ModelInfo, rng: Random) -> str:
        if request.role is Role.DECOMPOSE:
            return sim_content.plan(request.prompt, rng, self._thresholds).model_dump_json(indent=1)
        if request.role is Role.EVALUATE:
            return self._evaluation(request, info, rng)
        level = min(3, max(request.iteration, 1) + (request.role is Role.REVISE))
        if request.schema_name == "files":
            bug = self._buggy(request.prompt)
            edits = request.role is Role.GENERATE
            return files_answer(request.prompt, rng, level, bug=bug, edits=edits)
        if request.json_schema is not None:
            return json.dumps(schema_instance(request.json_schema, rng))
        if request.role is Role.CRITIQUE:
            return sim_content.critique(request.task_type, rng, request.iteration)
        if request.task_type is TaskType.CODE_GENERATION:
            return python_program(request.prompt, rng, level)
        return sim_content.markdown(request.task_type, request.prompt, rng, level)

    def _buggy(self, prompt: str) -> bool:
        """Whether the project of `prompt` is one the simulator writes with a bug (fault
        option `bug`): the same answer for every task of one project."""
        if self._faults.bug <= 0:
            return False
        project = labelled(prompt, ("project",)) or ""
        digest = hashlib.sha256(f"{self._seed}:bug:{project}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 < self._faults.bug

    def _evaluation(self, request: LLMRequest, info: ModelInfo, rng: Random) -> str:
        """A score that rises with the iteration: a better evaluator model starts higher.

        Base 0.76..0.82 by catalog quality, +0.08..0.10 per iteration, ±0.015 noise, capped
        at 0.98. When the task type is known and allows few iterations, the rise is steep
        enough that its last iteration clears the threshold (so demos end in SUCCESS).
        """
        base = 0.76 + (info.quality - 0.80) * 0.35
        gain = rng.uniform(0.08, 0.10)
        threshold = 0.85
        if request.task_type is not None:
            policy = self._catalog.policy(request.task_type)
            threshold = policy.threshold
            if policy.max_iterations > 1:
                gain = max(gain, (threshold + 0.03 - base) / (policy.max_iterations - 1))
        steps = max(request.iteration, 1) - 1
        score = min(0.98, max(0.0, base + gain * steps + rng.uniform(-0.015, 0.015)))
        remarks = sim_content.critique(request.task_type, rng, request.iteration + 2)
        verdict = "meets the requirement" if score >= threshold else "needs another revision"
        reasoning = f"The output {verdict}. " + remarks.replace("\n", " ")
        return json.dumps({"score": round(score, 3), "reasoning": reasoning})


def _input_tokens(request: LLMRequest) -> int:
    prompt_text = request.system + request.prompt
    return min(
        math.ceil(len(prompt_text) / CHARS_PER_TOKEN) + FRAMING_TOKENS,
        input_token_bound(prompt_text),
    )


def _fit(text: str, max_tokens: int) -> tuple[str, int]:
    """Cut `text` to `max_tokens` (as a provider does at the length limit); count its tokens."""
    limit = max_tokens * CHARS_PER_TOKEN
    if len(text) > limit:
        text = text[:limit]
    return text, min(max_tokens, max(1, math.ceil(len(text) / CHARS_PER_TOKEN)))


def schema_instance(schema: dict[str, object], rng: Random) -> object:
    """A small JSON value valid for common JSON schemas (objects, arrays, scalars, $ref, enum)."""
    defs = schema.get("$defs") or schema.get("definitions") or {}
    return _instance(schema, defs if isinstance(defs, dict) else {}, rng, 0)


def _instance(schema: object, defs: dict[str, object], rng: Random, depth: int) -> object:
    if not isinstance(schema, dict) or depth > 8:
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return _instance(defs.get(ref.rsplit("/", 1)[-1]), defs, rng, depth + 1)
    for key in ("const", "default"):
        if key in schema:
            return schema[key]
    for key in ("enum", "anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            if key == "enum":
                return options[0]
            usable = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
            return _instance((usable or options)[0], defs, rng, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties")
        items = props.items() if isinstance(props, dict) else []
        return {name: _instance(sub, defs, rng, depth + 1) for name, sub in items}
    if kind == "array":
        count = schema.get("minItems")
        n = count if isinstance(count, int) and count > 0 else rng.randint(1, 3)
        return [_instance(schema.get("items"), defs, rng, depth + 1) for _ in range(n)]
    lo = schema.get("minimum")
    hi = schema.get("maximum")
    low = lo if isinstance(lo, int | float) else 0
    high = hi if isinstance(hi, int | float) else low + 10
    if kind == "integer":
        return rng.randint(math.ceil(low), math.floor(high))
    if kind == "number":
        return round(rng.uniform(low, high), 3)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "string":
        size = schema.get("minLength")
        return "sample value".ljust(size if isinstance(size, int) else 0, "x")
    return None
