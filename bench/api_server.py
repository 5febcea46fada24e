"""The real API server for the API benchmarks: `orchestrator serve` in a subprocess."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ORCHESTRATOR = str(Path(sys.executable).with_name("orchestrator"))
# Provider keys of the environment would make the server call real providers.
KEYS = re.compile(
    r"^(ANTHROPIC|OPENAI|GEMINI|GOOGLE|DEEPSEEK|MOONSHOT|MOONSHOTAI|OPENROUTER)_API_KEY$"
)
STARTED = re.compile(r"Uvicorn running on http://([\d.]+):(\d+)")


@contextmanager
def api_server(data_dir: Path, **env: str) -> Iterator[tuple[str, int]]:
    """(host, port) of a server on a free port, stopped (SIGTERM) on exit."""
    # The simulator only, and no .env of the checkout (the server runs in `data_dir`'s parent).
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ORCH_") and not KEYS.match(k)}
    proc = subprocess.Popen(
        [ORCHESTRATOR, "serve", "--port", "0", "--worker-id", "bench", "--no-access-log"],
        env={**clean, "ORCH_DATA_DIR": str(data_dir), **env},
        cwd=data_dir.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    output: list[str] = []
    for line in proc.stdout:
        output.append(line)
        found = STARTED.search(line)
        if found:
            break
    else:
        raise RuntimeError("server did not start:\n" + "".join(output))
    # Keep reading so a chatty server never blocks on a full pipe; shown if the run fails.
    threading.Thread(target=lambda: output.extend(proc.stdout or ()), daemon=True).start()
    try:
        yield found.group(1), int(found.group(2))
    except BaseException:
        print("".join(output[-80:]), file=sys.stderr)
        raise
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]
