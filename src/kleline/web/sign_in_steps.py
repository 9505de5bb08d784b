"""What the back office's sign-ins (the dashboard's, the console's) share, step by step: the address that carries
``next``, the client's rate limit counted at each attempt, the status and ``Retry-After`` of a refusal, and the
check of a typed authenticator code's shape before any service is asked."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from kleline.errors import KlelineError
from kleline.ratelimit import SIGN_IN as SIGN_IN_SCOPE
from kleline.ratelimit import RateLimited
from kleline.web.i18n import language_of
from kleline.web.refusals import PageError
from kleline.web.session_cookies import client_address
from kleline.web.visits import web_of

__all__ = ["code_problem", "rate_limit", "refusal_status", "with_next", "with_retry_after"]


def with_next(path: str, next_url: str) -> str:
    """``path`` with ``next`` in its query."""
    return f"{path}?{urlencode({'next': next_url})}"


def rate_limit(request: Request) -> None:
    """Count a sign-in attempt (a password, a code, a passkey) against the client's rate limit."""
    web_of(request).kleline.rate_limits.take(SIGN_IN_SCOPE, client_address(request))


def refusal_status(error: KlelineError) -> int:
    """The status of a refused step's page: the rate limit's own (429), else 400."""
    return error.status if isinstance(error, RateLimited) else 400


def with_retry_after(response: Response, error: KlelineError | None) -> Response:
    """``response`` with ``Retry-After`` when the refusal was the rate limit's."""
    if isinstance(error, RateLimited):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def code_problem(request: Request, code: str) -> PageError | None:
    """Why a typed code cannot be one (six digits, spaces allowed), or None."""
    digits = "".join(code.split())
    if digits.isascii() and digits.isdigit() and len(digits) == 6:
        return None
    message = language_of(request).gettext("Enter the 6-digit code from your authenticator app")
    return PageError(message, "validation_error", "code")
