"""Where recovered workflows run: in the process that recovers them, and nowhere else.

DBOS recovers a workflow by putting it back on a queue: its own queue if it had one (a job
workflow enqueued on `jobs`), else DBOS's internal queue, which every process serves whatever
its `listen_queues` says, a CLI `run` too. Left so, after a restart or a takeover the task
workflows of a job could start in any process sharing the database, apart from their job
workflow (two processes spending for one job), and one a CLI process took would stay pending
under that CLI's executor id once it exited, its job waiting for it forever.

Two changes to how DBOS queues recovered work, made in every process before DBOS launches
(`install`):
- from the internal queue a process takes only the workflows recorded under its own executor
  id: those its own start recovered (DBOS's recovery keeps the executor id) and those a
  takeover handed to it (`requeue_for`). A CLI process never takes another job's workflow;
- a recovered workflow goes to the internal queue even when it came from another one, so a
  job workflow comes back to the process that gets its tasks.

A takeover of a dead worker (runtime/workers.py) hands each of its unfinished workflows to the
worker that claimed it, queued again under the taker's executor id: the taker, and only it,
runs the job and its tasks, as the job's one owner (its fencing token, store/_fence.py).

This reaches into DBOS's system database (dbos 3.4: `SystemDatabase._claim_gate`, the hook its
queue claims take extra conditions from, and `reenqueue_for_recovery`); tests/test_recovery.py
checks both on the installed version.
"""

from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa
from dbos._dbos import _get_dbos_instance
from dbos._sys_db import SystemDatabase, WorkflowStatusString
from dbos._utils import INTERNAL_QUEUE_NAME, GlobalParams

PENDING = WorkflowStatusString.PENDING.value
ENQUEUED = WorkflowStatusString.ENQUEUED.value

_installed = threading.Lock()
_done: list[bool] = []


def install() -> None:
    """Make this process's DBOS queue recovered work as the module docstring says (once)."""
    with _installed:
        if _done:
            return
        claim_gate = SystemDatabase._claim_gate
        reenqueue = SystemDatabase.reenqueue_for_recovery

        def own_claims_only(
            self: SystemDatabase, queue_name: str, partition_key: str | None
        ) -> list[sa.ColumnElement[bool]]:
            gates = claim_gate(self, queue_name, partition_key)
            if queue_name != INTERNAL_QUEUE_NAME:
                return gates
            status = self.tables.workflow_status
            return [*gates, status.c.executor_id == GlobalParams.executor_id]

        def to_internal_queue(
            self: SystemDatabase, workflow_id: str, executor_ids: list[str], queue_name: str
        ) -> bool:
            status = self.tables.workflow_status
            with self.engine.begin() as c:  # DBOS keeps a queue the workflow had: not here
                c.execute(
                    sa.update(status)
                    .where(*self._wf(status, workflow_id))
                    .where(status.c.status == PENDING, status.c.executor_id.in_(executor_ids))
                    .values(queue_name=None)
                )
            return reenqueue(self, workflow_id, executor_ids, queue_name)

        SystemDatabase._claim_gate = own_claims_only  # type: ignore[method-assign]
        SystemDatabase.reenqueue_for_recovery = to_internal_queue  # type: ignore[method-assign,assignment]
        _done.append(True)


def requeue_for(dead: str, taker: str) -> list[str]:
    """Queue every unfinished workflow of executor `dead` again, for executor `taker` alone
    (see the module docstring); the ids of those it queued. Blocking: run it in a thread."""
    db: Any = _get_dbos_instance()._sys_db
    status = db.tables.workflow_status
    mine = [
        status.c.executor_id == dead,
        db._name_filter(status.c.application_name, db.app_name),
        status.c.application_version == GlobalParams.app_version,
    ]
    with db.engine.begin() as c:
        running = c.execute(
            sa.update(status)
            .where(*mine, status.c.status == PENDING)
            .values(
                status=ENQUEUED,
                executor_id=taker,
                queue_name=INTERNAL_QUEUE_NAME,
                owner_xid=None,
                started_at_epoch_ms=None,
                updated_at=db._now_ms_sql(),
            )
            .returning(status.c.workflow_uuid)
        ).scalars()
        ids = list(running)
        # Recovered by the dead one's own start, not yet taken up again when it died.
        queued = c.execute(
            sa.update(status)
            .where(*mine, status.c.status == ENQUEUED, status.c.queue_name == INTERNAL_QUEUE_NAME)
            .values(executor_id=taker)
            .returning(status.c.workflow_uuid)
        ).scalars()
        ids.extend(queued)
    return ids
