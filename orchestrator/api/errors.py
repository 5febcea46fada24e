"""The orchestrator's errors mapped to HTTP, once, for every route (registered in create_app).

Routes raise the domain errors of `orchestrator.errors`; the client always gets a JSON body
`{"detail": "<a sentence a person understands>"}` (plus `errors` per field on a 422).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

# Routes and auth import ArtifactNotFound, NotAuthenticated and TooManyRequests from here too.
from orchestrator.errors import (
    ArtifactNotFound,
    BudgetExceeded,
    InvalidInput,
    JobConflict,
    JobNotFound,
    NotAuthenticated,
    OrchestratorError,
    ProviderError,
    TaskNotFound,
    TooManyRequests,
    UnusableInput,
)

log = logging.getLogger(__name__)


class FieldError(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    detail: str
    errors: list[FieldError] | None = None


# First match wins: subclasses before their bases.
STATUS_OF: tuple[tuple[type[OrchestratorError], int], ...] = (
    (JobNotFound, 404),
    (TaskNotFound, 404),
    (ArtifactNotFound, 404),
    (JobConflict, 409),
    (BudgetExceeded, 409),
    (UnusableInput, 422),
    (InvalidInput, 400),
    (NotAuthenticated, 401),
    (TooManyRequests, 429),
    (ProviderError, 502),
)


def errors(*codes: int) -> dict[int | str, dict[str, object]]:
    """`responses=` of a route: the error statuses it can answer, with their body."""
    return {code: {"model": ErrorBody} for code in codes}


def status_of(error: OrchestratorError) -> int:
    return next((code for kind, code in STATUS_OF if isinstance(error, kind)), 500)


def _field(loc: Sequence[int | str]) -> str:
    where, *path = [str(p) for p in loc] or ["request"]
    name = ".".join(path)
    if where == "body":
        return name or "body"
    return f"{name} ({where})" if name else where


def _readable(error: FieldError, raw: dict[str, object]) -> FieldError:
    if raw.get("type") == "json_invalid":
        ctx = raw.get("ctx")
        why = ctx.get("error") if isinstance(ctx, dict) else None
        return FieldError(field="body", message=f"invalid JSON: {why or 'cannot parse it'}")
    return error


async def _orchestrator_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OrchestratorError)
    code = status_of(exc)
    if code >= 500:
        log.error("request failed: %s", exc, exc_info=exc)
    headers: dict[str, str] = {}
    if code == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, TooManyRequests):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    body = ErrorBody(detail=str(exc))
    return JSONResponse(body.model_dump(exclude_none=True), status_code=code, headers=headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        FieldError(field=_field(e.get("loc", ())), message=str(e.get("msg", "invalid")))
        for e in exc.errors()
    ]
    errors = [_readable(e, raw) for e, raw in zip(errors, exc.errors(), strict=True)]
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors) or "invalid request"
    body = ErrorBody(detail=detail, errors=errors)
    return JSONResponse(body.model_dump(), status_code=422)


async def _http_error(request: Request, exc: Exception) -> Response:
    """FastAPI's own HTTP errors as they are, except a body it could not decode (not UTF-8):
    FastAPI says 400, but to a client that is invalid JSON like any other, so 422."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.__cause__ is not None:
        error = FieldError(field="body", message="invalid JSON: cannot decode it as UTF-8 text")
        body = ErrorBody(detail=f"body: {error.message}", errors=[error])
        return JSONResponse(body.model_dump(), status_code=422)
    return await http_exception_handler(request, exc)


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error", exc_info=exc)
    body = ErrorBody(detail="internal error: the server logged the details")
    return JSONResponse(body.model_dump(exclude_none=True), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(OrchestratorError, _orchestrator_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
