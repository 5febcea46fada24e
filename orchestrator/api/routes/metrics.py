"""Prometheus scrape endpoint."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from orchestrator.api.deps import MetricsDep, StoreDep
from orchestrator.api.metrics import CONTENT_TYPE_LATEST

router = APIRouter(tags=["metrics"])

_TEXT: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}
}


@router.get("/metrics", response_class=Response, responses=_TEXT)
async def metrics(store: StoreDep, metrics: MetricsDep) -> Response:
    return Response(await metrics.render(store), media_type=CONTENT_TYPE_LATEST)
