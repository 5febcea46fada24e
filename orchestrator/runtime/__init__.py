"""Durable execution of jobs (DBOS) and their event log."""

from orchestrator.runtime.events import EventBus, EventLog
from orchestrator.runtime.service import Runtime, new_job_id, request_cancel

__all__ = ["EventBus", "EventLog", "Runtime", "new_job_id", "request_cancel"]
