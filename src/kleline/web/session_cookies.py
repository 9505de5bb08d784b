"""A back-office area's session cookie (the dashboard's, the console's), defined once so that both keep the same
attributes: ``__Host-`` and ``Secure`` when Kleline is served over HTTPS, a plain name over HTTP (development, where
a browser refuses ``__Host-`` cookies), ``HttpOnly`` and ``SameSite=Lax`` always; and the client's address that
both record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from kleline.web.visits import web_of

__all__ = ["SessionCookie", "client_address"]


def client_address(request: Request) -> str | None:
    """The client's address as the server saw it (behind a proxy: as ``KLELINE_FORWARDED_ALLOW_IPS`` allows)."""
    return request.client.host if request.client else None


@dataclass(frozen=True, slots=True)
class SessionCookie:
    """One area's session cookie: its name over HTTPS and over plain HTTP."""

    secure_name: str
    plain_name: str

    @staticmethod
    def secure(request: Request) -> bool:
        """Whether Kleline is served over HTTPS (the area's other cookies are then ``Secure`` too)."""
        return urlsplit(web_of(request).kleline.settings.public_url).scheme == "https"

    def _name(self, request: Request) -> tuple[str, bool]:
        return (self.secure_name, True) if self.secure(request) else (self.plain_name, False)

    def token(self, request: Request) -> str | None:
        """The session token the browser sent, if any."""
        return request.cookies.get(self._name(request)[0]) or None

    def give(self, request: Request, response: Response, token: str, ttl: timedelta) -> Response:
        """Give the browser ``token`` for ``ttl``."""
        name, secure = self._name(request)
        max_age = int(ttl.total_seconds())
        response.set_cookie(name, token, max_age=max_age, path="/", secure=secure, httponly=True, samesite="lax")
        return response

    def forget(self, request: Request, response: Response) -> Response:
        """Have the browser forget the cookie."""
        name, secure = self._name(request)
        response.delete_cookie(name, path="/", secure=secure, httponly=True, samesite="lax")
        return response
