"""A process that runs one job and kills itself with SIGKILL at a named crash point.

`main(data_dir, server_url, job_id, point, occurrence, review)` runs the job against the
fake wire server at SERVER_URL, on the databases under DATA_DIR, and dies the OCCURRENCE-th
time it reaches POINT (see orchestrator/crashpoints.py); with `review`, the job asks for
plan review (with `approve`, and is approved once it awaits review). It returns only if
the job ended without reaching the point (also runs as
`python tests/crash_child.py DATA_DIR SERVER_URL JOB_ID POINT OCCURRENCE [review|approve]`).
test_crash_points.py runs it in a process forked from a server that imported this module
once (importing the app costs seconds a process), then recovers the job in its own process.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from pydantic import SecretStr

from orchestrator import crashpoints
from orchestrator.config import Settings
from orchestrator.domain import JobSpec
from orchestrator.runtime import Runtime

KEY = "sk-crash-test-5a4b3c2d"
SPEC = JobSpec(project_description="Four short summaries", concurrency=1, budget_usd=1.0)


def crash_settings(data_dir: Path, server_url: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=data_dir,
        openai_api_key=SecretStr(KEY),
        openai_base_url=f"{server_url}/v1",
        anthropic_api_key=SecretStr(KEY),
        anthropic_base_url=server_url,
        retry_backoff_s=0.01,
        call_retries=0,
        queue_poll_interval_s=0.02,
    )


def die_at(point: str, occurrence: int) -> None:
    hits = 0

    def hook(name: str) -> None:
        nonlocal hits
        if name == point:
            hits += 1
            if hits == occurrence:
                os.kill(os.getpid(), signal.SIGKILL)

    crashpoints.install(hook)


async def run(settings: Settings, job_id: str, spec: JobSpec, approve: bool = False) -> None:
    runtime = await Runtime.start(settings)
    try:
        await runtime.submit(spec, job_id=job_id)
        if await runtime.wait(job_id) is None and approve:  # it awaits review
            await runtime.approve(job_id)
            await runtime.wait(job_id)
    finally:
        await runtime.stop()


def main(
    data_dir: Path,
    server_url: str,
    job_id: str,
    point: str,
    n: int,
    review: bool,
    approve: bool = False,
) -> None:
    # The parent reads this file when the point was never reached.
    log = os.open(data_dir / "child.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(log, sys.stderr.fileno())
    die_at(point, n)
    spec = SPEC.model_copy(update={"review": review or approve})
    asyncio.run(run(crash_settings(data_dir, server_url), job_id, spec, approve))


HOOK_SECRET = "whsec_" + "cmVqZWN0IGNyYXNoIHRlc3Qgc2VjcmV0IGJ5dGVz"


def hooked_settings(data_dir: Path, server_url: str, hook_url: str) -> Settings:
    """`crash_settings`, sending the job's webhooks to `hook_url`."""
    return crash_settings(data_dir, server_url).model_copy(
        update={
            "webhook_secret": SecretStr(HOOK_SECRET),
            "webhook_urls": [hook_url],
            "webhook_allow_private": True,
        }
    )


def reject_main(data_dir: Path, server_url: str, hook_url: str, point: str, n: int) -> None:
    """The job, planned for review then rejected, its webhooks sent to `hook_url`; dies the
    n-th time it reaches `point`."""
    log = os.open(data_dir / "child.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(log, sys.stderr.fileno())
    die_at(point, n)

    async def run() -> None:
        runtime = await Runtime.start(hooked_settings(data_dir, server_url, hook_url))
        try:
            await runtime.submit(SPEC.model_copy(update={"review": True}), job_id=job_id)
            if await runtime.wait(job_id) is None:
                await runtime.reject(job_id)
        finally:
            await runtime.stop()

    job_id = "job1"
    asyncio.run(run())


if __name__ == "__main__":
    data_dir, server_url, job_id, point, occurrence, *mode = sys.argv[1:]
    main(
        Path(data_dir), server_url, job_id, point, int(occurrence), bool(mode), mode == ["approve"]
    )
