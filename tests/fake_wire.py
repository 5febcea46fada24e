"""The three LLM wire formats the fake servers speak: a request parsed whatever its format
(OpenAI Chat Completions, Anthropic Messages, Gemini generateContent), and each service's
answer, error body and usage counts, as the real SDKs expect them."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "STATUS",
    "Answer",
    "Mode",
    "Wire",
    "WireRequest",
    "error_body",
    "parse_request",
    "prompted_schema",
    "reply_body",
    "usage_of",
]

Wire = Literal["openai", "anthropic", "gemini"]
Answer = str | dict[str, Any]  # text, or the structured object asked for
Mode = Literal["text", "tool", "native", "json_object", "prompted"]
STATUS = {"rate_limit": 429, "server_error": 500, "unauthorized": 401, "forbidden": 403}
STATUS["not_found"] = 404
_KIND = {  # the error type each service names in its body
    "openai": {429: "rate_limit_exceeded", 500: "server_error", 401: "invalid_api_key",
               403: "permission_denied", 404: "model_not_found"},
    "anthropic": {429: "rate_limit_error", 500: "api_error", 401: "authentication_error",
                  403: "permission_error", 404: "not_found_error"},
    "gemini": {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 401: "UNAUTHENTICATED",
               403: "PERMISSION_DENIED", 404: "NOT_FOUND"},
}  # fmt: skip


@dataclass
class WireRequest:
    """One request as the server understood it, whatever its wire format."""

    wire: Wire
    model: str
    api_key: str | None
    system: str
    prompt: str
    schema: dict[str, Any] | None  # the structured-output schema the SDK sent, if any
    mode: Mode
    tool_name: str
    max_tokens: int
    body: dict[str, Any] = field(repr=False)


def prompted_schema(system: str) -> dict[str, Any] | None:
    """The schema pydantic-ai's prompted output writes into the instructions, if any."""
    head = "compatible with this schema:"
    if head not in system:
        return None
    text = system.split(head, 1)[1].lstrip()
    with contextlib.suppress(ValueError):
        schema, _ = json.JSONDecoder().raw_decode(text)
        return schema if isinstance(schema, dict) else None
    return None


def usage_of(wire: Wire, reply: dict[str, Any]) -> tuple[int, int]:
    """The input and output tokens a reply reports (what the provider bills)."""
    if wire == "openai":
        return reply["usage"]["prompt_tokens"], reply["usage"]["completion_tokens"]
    if wire == "anthropic":
        return reply["usage"]["input_tokens"], reply["usage"]["output_tokens"]
    meta = reply["usageMetadata"]
    return meta["promptTokenCount"], meta["candidatesTokenCount"]


def _text(content: object) -> str:
    """Text of a message content: a string, or a list of parts with `text`."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def parse_request(path: str, headers: dict[str, str], body: dict[str, Any]) -> WireRequest | None:
    h = {k.lower(): v for k, v in headers.items()}
    bearer = h.get("authorization", "").removeprefix("Bearer ") or None
    key = h.get("x-api-key") or h.get("x-goog-api-key") or bearer
    schema: dict[str, Any] | None = None
    mode: Mode = "text"
    tool = ""
    if path.endswith("/chat/completions"):
        messages = body.get("messages", [])
        system = "\n".join(_text(m["content"]) for m in messages if m["role"] != "user")
        prompt = _text(next(m for m in reversed(messages) if m["role"] == "user")["content"])
        if body.get("tools"):
            fn = body["tools"][0]["function"]
            schema, mode, tool = fn.get("parameters"), "tool", str(fn["name"])
        elif (body.get("response_format") or {}).get("type") == "json_schema":
            schema, mode = body["response_format"]["json_schema"]["schema"], "native"
        elif (body.get("response_format") or {}).get("type") == "json_object":
            schema, mode = body["response_format"].get("schema"), "json_object"
        elif (found := prompted_schema(system)) is not None:
            schema, mode = found, "prompted"
        limit = body.get("max_completion_tokens") or body.get("max_tokens") or 4096
        return WireRequest("openai", body["model"], key, system, prompt, schema, mode, tool,
                           limit, body)  # fmt: skip
    if path.endswith("/messages"):
        if body.get("tools"):
            schema, mode, tool = body["tools"][0]["input_schema"], "tool", body["tools"][0]["name"]
        prompt = _text(body["messages"][-1]["content"])
        return WireRequest("anthropic", body["model"], key, _text(body.get("system", "")),
                           prompt, schema, mode, tool, body["max_tokens"], body)  # fmt: skip
    if path.endswith(":generateContent"):
        model = path.rsplit("/", 1)[-1].removesuffix(":generateContent")
        config = body.get("generationConfig", {})
        if body.get("tools"):
            decl = body["tools"][0]["functionDeclarations"][0]
            schema = decl.get("parameters_json_schema") or decl.get("parameters")
            mode, tool = "tool", decl["name"]
        elif config.get("responseJsonSchema") or config.get("responseSchema"):
            schema = config.get("responseJsonSchema") or config.get("responseSchema")
            mode = "native"
        system = _text((body.get("systemInstruction") or {}).get("parts", []))
        prompt = _text(body["contents"][-1]["parts"])
        return WireRequest("gemini", model, key, system, prompt, schema, mode, tool,
                           config.get("maxOutputTokens", 4096), body)  # fmt: skip
    return None


def error_body(request: WireRequest, status: int, fault: str) -> dict[str, Any]:
    kind = _KIND[request.wire][status]
    message = f"fake {fault}"
    if status == 401:  # real services quote (part of) the key they refused
        message = f"Incorrect API key provided: {request.api_key}"
    if request.wire == "openai":
        return {"error": {"message": message, "type": kind, "code": kind}}
    if request.wire == "anthropic":
        return {"type": "error", "error": {"type": kind, "message": message}}
    return {"error": {"code": status, "message": message, "status": kind}}


def reply_body(
    request: WireRequest, answer: Answer, *, malformed: bool, size: int
) -> dict[str, Any]:
    """The service's success body; `malformed` answers in a shape the client did not ask for."""
    text = answer if isinstance(answer, str) else json.dumps(answer)
    as_tool = request.mode == "tool" and not malformed
    if malformed:
        text = text[: len(text) // 2] if request.mode != "text" else ""
    out_tokens = min(request.max_tokens, max(1, len(text) // 4))
    in_tokens = max(1, size // 4)  # bytes of the whole request, tools included, over 4
    args = answer if isinstance(answer, dict) else {"value": answer}
    if request.wire == "openai":
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if request.mode == "tool":
            arguments = json.dumps(args) if as_tool else text  # cut-off JSON when malformed
            call = {"id": "call_1", "type": "function",
                    "function": {"name": request.tool_name, "arguments": arguments}}  # fmt: skip
            message = {"role": "assistant", "content": None, "tool_calls": [call]}
        usage = {"prompt_tokens": in_tokens, "completion_tokens": out_tokens,
                 "total_tokens": in_tokens + out_tokens}  # fmt: skip
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
        # `provider` is OpenRouter's addition (the upstream it routed to); others ignore it.
        return {"id": "chatcmpl-1", "object": "chat.completion", "created": 1,
                "model": request.model, "choices": [choice], "usage": usage,
                "provider": "fake-upstream"}  # fmt: skip
    # Malformed: a forced tool call answered with prose, cut-off JSON, or an empty answer.
    prose = {"tool": "I would rather not call the tool.", "native": text, "text": ""}[request.mode]
    if request.wire == "anthropic":
        block: dict[str, Any] = {"type": "text", "text": text if not malformed else prose}
        if as_tool:
            block = {"type": "tool_use", "id": "toolu_1", "name": request.tool_name, "input": args}
        return {"id": "msg_1", "type": "message", "role": "assistant", "model": request.model,
                "content": [block], "stop_reason": "tool_use" if as_tool else "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": in_tokens, "output_tokens": out_tokens}}  # fmt: skip
    part: dict[str, Any] = {"text": text if not malformed else prose}
    if as_tool:
        part = {"functionCall": {"name": request.tool_name, "args": args}}
    usage = {"promptTokenCount": in_tokens, "candidatesTokenCount": out_tokens,
             "totalTokenCount": in_tokens + out_tokens}  # fmt: skip
    candidate = {"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}
    return {"candidates": [candidate], "usageMetadata": usage, "modelVersion": request.model}
