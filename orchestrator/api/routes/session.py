"""The dashboard's login: trade the API token for an HttpOnly session cookie, and back.

Open routes (they are how a browser gets access); attempts are rate-limited per address so
the token cannot be guessed online.
"""

from __future__ import annotations

from http import HTTPStatus

from fastapi import APIRouter, Request, Response

from orchestrator.api.auth import check_access, end_session, start_session
from orchestrator.api.deps import ApiSettingsDep, BearerDep, ServicesDep, SessionCookieDep
from orchestrator.api.errors import NotAuthenticated, errors
from orchestrator.api.schemas import SessionCreate, SessionPublic

router = APIRouter(prefix="/api/session", tags=["session"])


@router.get("")
async def get_session(
    api: ApiSettingsDep, bearer: BearerDep, session: SessionCookieDep
) -> SessionPublic:
    """Whether the server needs a token, and whether this request has access."""
    try:
        check_access(api, bearer.credentials if bearer is not None else None, session)
    except NotAuthenticated:
        return SessionPublic(auth_required=True, authenticated=False)
    return SessionPublic(auth_required=api.token is not None, authenticated=True)


@router.post("", status_code=HTTPStatus.NO_CONTENT, responses=errors(401, 413, 422, 429))
async def create_session(
    body: SessionCreate, request: Request, response: Response, services: ServicesDep
) -> None:
    """Log in: 204 with the session cookie when `token` is the server's API token."""
    services.logins.take(request.client.host if request.client else "unknown")
    start_session(request, response, services.api, body.token.get_secret_value())


@router.delete("", status_code=HTTPStatus.NO_CONTENT)
async def delete_session(response: Response) -> None:
    """Log out: the browser drops the session cookie."""
    end_session(response)
