"""Fitting a request into a model's context window before it is sent.

Local models often have 4-8k tokens of context, and a prompt that carries the outputs of
several dependencies does not fit: the server refuses it (or silently drops its start). So
before sending: the answer cap is lowered to the room left, down to a floor; when even that
floor does not fit, the middle of the user prompt is cut at line boundaries (the task comes
first and the instructions last in our prompts, the dependency outputs in between) with a
marker saying how much went, and the caller says so in the job's log.

No tokenizer here: tokens are estimated from bytes. `BYTES_PER_TOKEN` = 3 over-counts
English prose and code for every tokenizer we know (about 4 bytes a token), so a fitted
prompt fits.
"""

from __future__ import annotations

import json

from pydantic import BaseModel

from orchestrator.providers.base import KnowsContext, LLMClient, LLMRequest

__all__ = ["ContextFit", "cut_middle", "estimate_tokens", "fit_for_client", "fit_to_context"]

BYTES_PER_TOKEN = 3
FRAMING_TOKENS = 64  # chat template markers around the messages
MIN_ANSWER_TOKENS = 256  # an answer cap is not lowered below this (or a quarter of the window)
HEAD_SHARE = 0.4  # of the prompt kept when cutting: the beginning (the rest from the end)


class ContextFit(BaseModel):
    request: LLMRequest
    note: str = ""  # what was changed, for the job's log ("" when it fit as it was)


def estimate_tokens(text: str) -> int:
    return -(-len(text.encode("utf-8")) // BYTES_PER_TOKEN)


def _fixed_tokens(request: LLMRequest) -> int:
    schema = json.dumps(request.json_schema) if request.json_schema is not None else ""
    return estimate_tokens(request.system) + estimate_tokens(schema) + FRAMING_TOKENS


async def fit_for_client(client: LLMClient, request: LLMRequest) -> ContextFit:
    """`request` fitted to the model's context window, when its client knows that window."""
    if not isinstance(client, KnowsContext):
        return ContextFit(request=request)
    context = await client.context_tokens(request.model)
    return ContextFit(request=request) if context is None else fit_to_context(request, context)


def fit_to_context(request: LLMRequest, context_tokens: int) -> ContextFit:
    """`request` made to fit `context_tokens` (prompt + answer), with a note of what changed."""
    fixed = _fixed_tokens(request)
    prompt_tokens = estimate_tokens(request.sent_prompt)
    room = context_tokens - fixed - prompt_tokens
    if room >= request.max_tokens:
        return ContextFit(request=request)
    floor = min(request.max_tokens, max(MIN_ANSWER_TOKENS, context_tokens // 4))
    identity = request.request_hash()
    if room >= floor:
        shorter = request.model_copy(update={"max_tokens": room, "fitted_from": identity})
        return ContextFit(request=shorter)  # a lower answer cap is not worth a log line
    allowed = max(context_tokens - fixed - floor, 0) * BYTES_PER_TOKEN  # bytes of prompt
    cut, dropped = cut_middle(request.prompt, allowed)
    fitted = request.model_copy(
        update={"prompt": cut, "max_tokens": floor, "fitted_from": identity}
    )
    note = (
        f"{request.model}: the prompt (~{prompt_tokens} tokens) does not fit its context of "
        f"{context_tokens} tokens; {dropped} lines in its middle were cut"
    )
    return ContextFit(request=fitted, note=note)


def cut_middle(
    text: str, allowed_bytes: int, why: str = "to fit the model's context"
) -> tuple[str, int]:
    """`text` within `allowed_bytes`: whole lines from its start and its end, and a marker
    where the middle was (saying `why`); also the number of lines cut."""
    lines = text.splitlines()
    marker = "[… {n} lines cut here " + why + " …]"
    budget = max(allowed_bytes - len(marker) - 8, 0)
    head: list[str] = []
    used = 0
    for line in lines:
        size = len(line.encode("utf-8")) + 1
        if used + size > budget * HEAD_SHARE:
            break
        head.append(line)
        used += size
    tail: list[str] = []
    for line in reversed(lines[len(head) :]):
        size = len(line.encode("utf-8")) + 1
        if used + size > budget:
            break
        tail.append(line)
        used += size
    tail.reverse()
    dropped = len(lines) - len(head) - len(tail)
    return "\n".join([*head, marker.format(n=dropped), *tail]), dropped
