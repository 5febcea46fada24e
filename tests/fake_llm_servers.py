"""A local HTTP server that speaks three LLM wire formats, so tests run the real SDK code.

One `FakeLLMServer` on 127.0.0.1 answers
  * OpenAI Chat Completions   POST /v1/chat/completions   (OpenAI, DeepSeek, Moonshot,
    OpenRouter and any OpenAI-compatible endpoint), tool calls and `response_format`;
  * Anthropic Messages        POST /v1/messages           (text and `tool_use` blocks);
  * Gemini generateContent    POST /v1beta/models/{model}:generateContent (text, functionCall).
It reports token usage, checks the API key it was given, and injects faults the way the real
services fail: 429 with Retry-After, 500, 401/403/404 in each service's error shape, answers
slower than the client's timeout, a body that is not JSON, and answers that ignore the
requested structure. Faults come from a script (`server.script.append("rate_limit")`) or at a
seeded random rate.

Several processes can share one server, each told its own base URL under a path prefix
(`{url}/a/v1` for OpenAI, `{url}/a` for Anthropic): the first segment of a request's path is
its caller, named in its bill line. `hold("a")` keeps caller a's answers back until
`let_go("a", fault)` (a process can be stopped or killed with calls in flight that are
answered, and billed, after it).

It also bills like a provider: every answer it produces is a line of `server.bill` (model,
input and output tokens), a malformed one too, and one it finished after the client had
stopped waiting ("slow"). Refused requests (429, 5xx, 4xx) are not billed. `latency_s` holds
answers back for a random time in a range, so the calls of one job overlap.
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fake_wire import (
    STATUS,
    Answer,
    WireRequest,
    error_body,
    parse_request,
    reply_body,
    usage_of,
)

from orchestrator.providers.simulator import schema_instance

# Every variable that configures a real provider: tests clear them, so a developer's own keys
# never turn a test into a paid call (and a test configures exactly what it means to).
PROVIDER_ENV = (
    *("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"),
    *("DEEPSEEK_API_KEY", "MOONSHOT_API_KEY", "MOONSHOTAI_API_KEY", "OPENROUTER_API_KEY"),
    *("ORCH_OPENAI_COMPAT_BASE_URL", "ORCH_OPENAI_COMPAT_API_KEY", "ORCH_OPENAI_BASE_URL"),
    *("ORCH_ANTHROPIC_BASE_URL", "ORCH_GEMINI_BASE_URL", "ORCH_DEEPSEEK_BASE_URL"),
    *("ORCH_MOONSHOT_BASE_URL", "ORCH_OPENROUTER_BASE_URL", "OPENAI_BASE_URL"),
)

FAULTS = (
    *("rate_limit", "server_error", "unauthorized", "forbidden", "not_found", "slow"),
    *("bad_json", "malformed"),
)


Responder = Callable[[WireRequest], Answer]


@dataclass(frozen=True)
class BillLine:
    """One billed answer, in the provider's own counts."""

    model: str
    input_tokens: int
    output_tokens: int
    fault: str | None  # "malformed", "slow"..., None for a good answer
    caller: str = ""  # the first segment of the request's path
    sent_at: float = 0.0  # when the request arrived (time.monotonic)
    prompt: str = ""  # its system and user text


def clear_provider_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)


def echo(request: WireRequest) -> Answer:
    """Text echoes the prompt; structured output is a small instance of the schema."""
    if request.schema is not None:
        value = schema_instance(request.schema, random.Random(0))
        return value if isinstance(value, dict) else {"value": value}
    return f"echo: {request.prompt[:60]}"


class FakeLLMServer:
    def __init__(
        self,
        responder: Responder = echo,
        *,
        api_key: str | None = None,
        fault_rate: float = 0.0,
        fault_kinds: tuple[str, ...] = ("rate_limit", "server_error", "slow", "malformed"),
        seed: int = 0,
        retry_after: dict[str, str] | None = None,
        slow_s: float = 30.0,
        latency_s: tuple[float, float] = (0.0, 0.0),
    ) -> None:
        self.responder = responder
        self.api_key = api_key
        self.fault_rate = fault_rate
        self.fault_kinds = fault_kinds
        self.retry_after = retry_after or {"retry-after": "2"}
        self.slow_s = slow_s
        self.script: deque[str | None] = deque()  # the next requests' faults; None = answer
        self.requests: list[WireRequest] = []
        self.faults: Counter[str] = Counter()
        self.latency_s = latency_s
        self.bill: list[BillLine] = []
        # What an OpenAI-compatible server may not take, refused with 400 as llama-cpp-python
        # does: "json_schema" (response_format json_schema), "response_format" (any), "tools".
        self.refuses: set[str] = set()
        # The context window of its models: a longer request is refused with 400 as llama.cpp
        # does (tokens counted as request bytes over 4); `/props` tells it when `tells_context`.
        self.context_tokens: int | None = None
        self.tells_context = False
        # `GET /v1/models` lists these (and models of the requests seen).
        self.models: list[str] = []
        self.in_flight = 0  # answers being prepared now
        self.most_in_flight = 0
        self.pending: Counter[str] = Counter()  # caller -> its requests not answered yet
        self._gates: dict[str, threading.Event] = {}  # caller -> gate its answers wait at
        self._late_faults: dict[str, str] = {}  # caller -> the fault let_go gave its answers
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._release = threading.Event()  # lets slow answers go when the server stops
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        # A short poll interval: `shutdown()` waits for the serving loop's next poll.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_port}"

    def __enter__(self) -> FakeLLMServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)

    def next_fault(self) -> str | None:
        with self._lock:
            if self.script:
                fault = self.script.popleft()
            elif self.fault_rate and self._rng.random() < self.fault_rate:
                fault = self._rng.choice(self.fault_kinds)
            else:
                fault = None
            if fault:
                self.faults[fault] += 1
            return fault

    def record(self, request: WireRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def wait_slow(self) -> None:
        self._release.wait(self.slow_s)

    def charge(self, line: BillLine) -> None:
        with self._lock:
            self.bill.append(line)

    def hold(self, caller: str) -> None:
        """Keep the answers to `caller` back (once their latency is over) until `let_go`."""
        with self._lock:
            self._gates.setdefault(caller, threading.Event())

    def let_go(self, caller: str, fault: str | None = None) -> None:
        """Send the answers held for `caller`, and its later ones, with `fault` if given."""
        with self._lock:
            if fault is not None:
                self._late_faults[caller] = fault
            gate = self._gates.pop(caller, None)
        if gate is not None:
            gate.set()

    def wait_at_gate(self, caller: str) -> str | None:
        """Wait while `caller`'s answers are held; the fault `let_go` gave them, if any."""
        with self._lock:
            gate = self._gates.get(caller)
        while gate is not None and not gate.is_set() and not self._release.is_set():
            gate.wait(0.05)
        with self._lock:
            return self._late_faults.get(caller)

    def hold_back(self) -> None:
        """Wait the answer's latency, counting how many answers are held at once."""
        low, high = self.latency_s
        if high <= 0:
            return
        with self._lock:
            delay = self._rng.uniform(low, high)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            self._release.wait(delay)
        finally:
            with self._lock:
                self.in_flight -= 1


def _handler(server: FakeLLMServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        disable_nagle_algorithm = True  # headers and body go out as separate small writes

        def do_POST(self) -> None:
            sent_at = time.monotonic()
            raw = self.rfile.read(int(self.headers.get("content-length", 0)))
            request = parse_request(self.path, dict(self.headers.items()), json.loads(raw))
            if request is None:
                return self._send(404, {"error": {"message": f"no route {self.path}"}})
            caller = self.path.split("/")[1]
            with server._lock:
                server.pending[caller] += 1
            try:
                self._answer(request, caller, sent_at, len(raw))
            finally:
                with server._lock:
                    server.pending[caller] -= 1

        def _answer(self, request: WireRequest, caller: str, sent_at: float, size: int) -> None:
            server.record(request)
            refusal = _refusal(server, request, size)
            if refusal is not None:
                status, message = refusal
                return self._send(status, {"error": {"message": message, "type": "invalid"}})
            fault = server.next_fault()
            if server.api_key is not None and request.api_key != server.api_key:
                fault = "unauthorized"
            if fault in STATUS:
                status = STATUS[fault]
                headers = server.retry_after if status == 429 else {}
                return self._send(status, error_body(request, status, fault), headers)
            server.hold_back()
            fault = server.wait_at_gate(caller) or fault
            answer = server.responder(request)
            reply = reply_body(request, answer, malformed=fault == "malformed", size=size)
            usage = usage_of(request.wire, reply)
            text = f"{request.system}\n{request.prompt}"
            server.charge(BillLine(request.model, *usage, fault, caller, sent_at, text))
            if fault == "slow":  # finished, and billed, after the client stopped waiting
                server.wait_slow()
            if fault == "bad_json":
                return self._send(200, '{"id": "cut-off", "choices": [{"index')
            self._send(200, reply)

        def do_GET(self) -> None:
            if self.path.endswith("/models"):
                seen = [r.model for r in server.requests]
                names = list(dict.fromkeys([*server.models, *seen]))
                data = [{"id": n, "object": "model", "owned_by": "fake"} for n in names]
                return self._send(200, {"object": "list", "data": data})
            if self.path == "/props" and server.tells_context and server.context_tokens:
                settings = {"n_ctx": server.context_tokens}
                return self._send(200, {"default_generation_settings": settings})
            self._send(404, {"error": {"message": f"no route {self.path}"}})

        def _send(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
            data = (body if isinstance(body, str) else json.dumps(body)).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            # The client may have given up (a timeout test): nobody is listening any more.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: the tests read `server.requests` instead

    return Handler


def _refusal(server: FakeLLMServer, request: WireRequest, size: int) -> tuple[int, str] | None:
    """The status and message an OpenAI-compatible server refuses a request with, if it does
    (in llama-cpp-python 0.3.36's words where it has them)."""
    if request.wire != "openai":
        return None
    wanted = size // 4 + request.max_tokens
    if server.context_tokens is not None and wanted > server.context_tokens:
        return 400, (
            f"This model's maximum context length is {server.context_tokens} tokens. However, "
            f"you requested {wanted} tokens. Please reduce the length of the messages."
        )
    kind = (request.body.get("response_format") or {}).get("type")
    if kind == "json_schema" and "json_schema" in server.refuses:
        # Its request validation error, answered as a 500.
        return 500, (
            "1 validation error: {'type': 'literal_error', 'loc': ('body', 'response_format', "
            "'type'), 'msg': \"Input should be 'text' or 'json_object'\"}"
        )
    if kind and kind != "text" and "response_format" in server.refuses:
        return 400, f"Unrecognized request argument supplied: response_format ({kind})"
    if request.body.get("tools") and "tools" in server.refuses:
        return 400, "tools are not supported by this server"
    return None
