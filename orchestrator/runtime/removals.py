"""Deleted jobs: hidden at once, removed in the background once their runs have stopped.

A deletion is one write before the answer (the job is hidden from every listing); its rows,
events, recorded calls, result files and workspace go later, once calls in flight have
finished and been recorded. A process that stops first leaves the job hidden: the next start
of a worker removes it (`Runtime.start`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

from dbos import DBOS

from orchestrator.errors import JobConflict, JobNotFound
from orchestrator.runtime.workflows import workflow_id
from orchestrator.runtime.workspaces import remove_workspace, workspace_of

if TYPE_CHECKING:
    from orchestrator.runtime.service import Runtime

__all__ = ["Removals"]

log = logging.getLogger(__name__)


class Removals:
    """The removals of deleted jobs under way in this process."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._tasks: set[asyncio.Task[None]] = set()

    async def delete(self, job_id: str, *, stop_timeout_s: float) -> None:
        rt = self._runtime
        # One write before the answer: under load each write waits behind the running jobs'.
        await rt.store.hide_job(job_id, now=time.time())  # JobNotFound for a second delete
        rt.runs.cancel(job_id)  # no new call of it starts here from now on
        self.later(job_id, stop_timeout_s)

    def later(self, job_id: str, stop_timeout_s: float) -> None:
        task = asyncio.create_task(self._remove(job_id, stop_timeout_s), name=f"remove {job_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self, within_s: float) -> None:
        """Let removals under way finish for up to `within_s` (the next start resumes the
        others), then cancel them."""
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=within_s)
            for task in self._tasks:
                task.cancel()

    async def _remove(self, job_id: str, stop_timeout_s: float) -> None:
        """Remove a deleted job once its run has stopped: calls in flight finish and are
        recorded first. A run still going after `stop_timeout_s` (its worker may be gone) has
        its workflows cancelled in DBOS, so no process recovers them later."""
        rt = self._runtime
        try:
            job = await rt.store.get_job(job_id)
            if not job.status.is_terminal():  # other processes running it stop too
                with contextlib.suppress(JobConflict):  # it has just ended
                    await rt.cancel(job_id)
            if await rt.is_active(job_id) and not await rt.ended_within(job_id, stop_timeout_s):
                await DBOS.cancel_workflow_async(
                    workflow_id(job_id, job.attempt), cancel_children=True
                )
            await rt.events.flush(job_id)
            await rt.store.delete_job(job_id)
        except JobNotFound:
            return  # another process removed it
        except Exception:  # hidden still: the next start of a worker tries again
            log.exception("could not remove the deleted job %s", job_id)
            return
        rt.events.forget(job_id)
        settings = rt.deps.settings
        files = Path(settings.artifacts_dir) / job_id
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(shutil.rmtree, files)
        await asyncio.to_thread(remove_workspace, workspace_of(settings, job_id))
