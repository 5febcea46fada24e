"""Why a scale-out run's job did not succeed: read from the run's database before it is
dropped (the job's error, its WARNING/ERROR log events, its DBOS workflows in ERROR), and the
workers' own output lines that speak of errors."""

from __future__ import annotations

import json
import re

import psycopg
from dbos._serialization import DBOSDefaultSerializer, deserialize_exception

__all__ = ["error_lines", "failure_report"]

MAX_EVENT_TEXT = 600  # an event's or a workflow's error, cut there: the report stays readable
MAX_WORKER_LINES = 80  # per worker

# A worker logs as "LEVEL logger: message" (cli/worker.py's basicConfig); DBOS and the
# libraries below it may log or print their own way, hence the loose words.
_ERROR_WORDS = re.compile(r"\b(ERROR|CRITICAL|WARNING|Traceback|Exception|Error)\b")
# How this benchmark submits: it writes the job rows only, and a worker's look for runs never
# started puts them on the queue, saying so for every job. Counted, not shown.
_SUBMITTED = "its run was recorded but never started; started"


def failure_report(dsn: str) -> list[str]:
    """A few lines per job whose final status is not SUCCESS (none when all succeeded)."""
    out: list[str] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        jobs = conn.execute(
            "select job_id, final_status, error from jobs "
            "where final_status is distinct from 'SUCCESS' order by created_at"
        ).fetchall()
        for job_id, final, error in jobs:
            out.append(f"job {job_id}: {final}; error: {error or '-'}")
            events = conn.execute(
                "select id, type, data from events where job_id = %s order by id", (job_id,)
            ).fetchall()
            for event_id, kind, data in events:
                line = _warning_or_error(data)
                if line is not None:
                    out.append(f"  event {event_id} ({kind}): {line}")
            workflows = conn.execute(
                "select workflow_uuid, status, error, serialization, executor_id "
                "from dbos.workflow_status "
                "where workflow_uuid like %s || '%%' and status = 'ERROR' "
                "order by created_at",
                (job_id,),
            ).fetchall()
            for workflow, status, wf_error, serialization, executor in workflows:
                said = _workflow_error(wf_error, serialization)
                out.append(f"  workflow {workflow} {status} on {executor}: {said}")
    return out


def _warning_or_error(data: str) -> str | None:
    """The level and message of a WARNING or ERROR log event; None for any other event."""
    try:
        event = json.loads(data)
    except ValueError:
        return None
    if not isinstance(event, dict) or event.get("level") not in ("WARNING", "ERROR"):
        return None
    return f"{event['level']} {_cut(str(event.get('msg', '')))}"


def _workflow_error(stored: str | None, serialization: str | None) -> str:
    """The exception DBOS recorded, by type and message (it stores it serialized, by
    default pickled: this run's own database, written by our workers)."""
    if stored is None:
        return "-"
    try:
        error = deserialize_exception(stored, serialization, DBOSDefaultSerializer)
    except Exception:  # another serializer, or a class this process cannot import
        return _cut(stored)
    return _cut(f"{type(error).__module__}.{type(error).__name__}: {error}")


def _cut(text: str) -> str:
    return text if len(text) <= MAX_EVENT_TEXT else text[:MAX_EVENT_TEXT] + " …"


def error_lines(lines: list[str]) -> list[str]:
    """The lines of a worker's output that speak of an error or a warning, with the whole of
    any traceback (its indented lines and the exception's line after them); none when it
    said nothing but how this benchmark's jobs got on the queue."""
    kept: list[str] = []
    in_traceback = False
    submitted = 0
    for line in lines:
        text = line.rstrip("\n")
        if _SUBMITTED in text:
            submitted += 1
            continue
        if in_traceback:
            kept.append(text)
            # A traceback's frames are indented; its last line, the exception, is not.
            in_traceback = text.startswith((" ", "\t")) or not text
            continue
        if _ERROR_WORDS.search(text):
            kept.append(text)
            in_traceback = text.startswith("Traceback")
    if len(kept) > MAX_WORKER_LINES:
        skipped = len(kept) - MAX_WORKER_LINES
        half = MAX_WORKER_LINES // 2
        kept = [*kept[:half], f"… {skipped} lines …", *kept[-half:]]
    if kept and submitted:
        kept.append(f"(and {submitted} jobs of this benchmark put on the queue: {_SUBMITTED})")
    return kept
