"""Following a job's event stream across reconnects: what to ask for, when to stop.

The server ends a stream after the `done` of a finished job, or when it shuts down (then
the client reconnects with `Last-Event-ID` and gets exactly what it missed). A 204 says
the job has finished and the client has every event.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import httpx
from httpx_sse import ServerSentEvent

from orchestrator.errors import ServerUnreachable
from orchestrator.events import StoredEvent, job_event_adapter

# Waits between reconnects while the server is unreachable (the last one repeats).
BACKOFF_S = (0.1, 0.25, 0.5, 1.0, 2.0)


@dataclass
class Follower:
    job_id: str
    last_id: int = 0
    # How long the server may stay unreachable before following gives up.
    patience_s: float = 120.0
    _at_done: bool = False
    _failures: int = 0
    _unreachable_since: float | None = field(default=None, repr=False)

    def headers(self) -> dict[str, str]:
        return {"Last-Event-ID": str(self.last_id)} if self.last_id else {}

    def connected(self) -> None:
        self._failures, self._unreachable_since = 0, None

    def accept(self, sse: ServerSentEvent) -> StoredEvent | None:
        """The stored event an SSE message carries (None for one without data)."""
        if not sse.data:
            return None
        event = job_event_adapter.validate_json(sse.data)
        self.last_id = int(sse.id) if sse.id else self.last_id + 1
        self._at_done = event.type == "done"
        return StoredEvent(job_id=self.job_id, id=self.last_id, event=event)

    def finished(self) -> bool:
        """After a stream ended: it ended on its job's final `done` (else: reconnect)."""
        return self._at_done

    def backoff(self, error: httpx.TransportError | None = None) -> float:
        """Seconds to wait before reconnecting; raises ServerUnreachable past `patience_s`."""
        now = time.monotonic()
        if error is not None:
            self._unreachable_since = self._unreachable_since or now
            if now - self._unreachable_since > self.patience_s:
                raise ServerUnreachable(
                    f"lost the event stream of job {self.job_id} and the server stayed "
                    f"unreachable for {self.patience_s:g} s: {error}"
                ) from error
        delay = BACKOFF_S[min(self._failures, len(BACKOFF_S) - 1)]
        self._failures += 1
        return delay
