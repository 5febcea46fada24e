"""Runs recorded as started whose workflow never was: started by whoever notices first.

A job's start (a submit, a resume, an approval) is one write, and its run's workflow starts
right after it. A process that dies between the two leaves a pending job with no run. Every
runtime starts such runs when it starts; a worker also looks for them at every heartbeat
interval, so a live server picks up the approval of a process that died without a restart.

A run is never started twice: its workflow id is fixed by the job and the run's number
(`workflow_id`), and DBOS starts nothing under an id it has recorded (the second start of
two at once, here and in the process that recorded the start, gets the first one's run).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from dbos import DBOS

from orchestrator.runtime.workflows import workflow_id
from orchestrator.store import Store

__all__ = ["UnstartedRuns"]

log = logging.getLogger(__name__)

# How long a run recorded as started may take to start in the process that recorded it.
START_GRACE_S = 10.0


class UnstartedRuns:
    def __init__(self, store: Store, start: Callable[[str, int], Awaitable[None]]) -> None:
        self._store = store
        self._start = start  # starts (or enqueues) the run `attempt` of a job
        self._task: asyncio.Task[None] | None = None

    async def start_all(self, *, before: float | None = None) -> list[str]:
        """Start the run of every pending job that has none (with `before`: pending since
        before that time); the jobs started."""
        runs = await self._store.pending_runs(before=before)
        pending = {workflow_id(j, a): (j, a) for j, a in runs}
        if not pending:
            return []
        found = await DBOS.list_workflows_async(
            workflow_ids=list(pending), load_input=False, load_output=False
        )
        started = []
        for missing in pending.keys() - {w.workflow_id for w in found}:
            job_id, attempt = pending[missing]
            await self._start(job_id, attempt)
            started.append(job_id)
        return started

    def watch(self, every_s: float) -> None:
        """Look again every `every_s` seconds until `stop`."""
        self._task = asyncio.create_task(self._run(every_s), name="unstarted-runs")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self, every_s: float) -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                # Not a run just recorded: the process that recorded it is starting it (a CLI
                # `run` among them, whose job must not go to the workers' queue).
                settled = time.time() - START_GRACE_S
                for job_id in await self.start_all(before=settled):
                    log.warning("job %s: its run was recorded but never started; started", job_id)
            except Exception:  # a store hiccup must not end the watch
                log.exception("could not look for runs never started; looking again")
