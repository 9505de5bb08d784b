"""One webhook POST over HTTP(S), to the address the SSRF guard checked, with a hard time limit.

The standard library's ``http.client`` is used on purpose: it never follows redirects, and it lets the connection
go to the checked IP address while the request (Host header, TLS server name and certificate check) still names
the endpoint's host, so that a DNS answer changed between the check and the connection cannot steer it elsewhere.
The whole exchange, connection included, is bounded by one deadline: a watchdog shuts the socket when it passes,
so that a server dripping its answer byte by byte cannot hold a worker.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from kleline.events.ssrf import Target

__all__ = ["HttpTransport", "PostResult", "Transport"]

_MAX_BODY_READ = 64 * 1024  # a little of the answer is read so that the server sees a clean close; never kept


@dataclass(frozen=True, slots=True)
class PostResult:
    """How a POST ended: the status code, or the error that prevented one."""

    status_code: int | None
    error: str | None


class Transport(Protocol):
    """Sends one POST to a checked target."""

    def post(self, target: Target, body: bytes, headers: Mapping[str, str], timeout: float) -> PostResult:
        """POST ``body`` to ``target``; never raises for network trouble (it is a result)."""
        ...


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to a fixed address, whatever the host name would resolve to now."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = str(target.address)

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to a fixed address, with SNI and the certificate checked against the host name."""

    def __init__(self, target: Target, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=context)
        self._address = str(target.address)
        self._tls = context

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        try:
            self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)
        except BaseException:
            raw.close()
            raise


class HttpTransport:
    """POSTs with the standard library, pinned to the checked address; ``tls`` overrides certificate trust."""

    def __init__(self, tls: ssl.SSLContext | None = None, user_agent: str = "Kleline-Webhooks/1") -> None:
        self._tls = tls or ssl.create_default_context()
        self._user_agent = user_agent

    def post(self, target: Target, body: bytes, headers: Mapping[str, str], timeout: float) -> PostResult:
        """POST and read the status line; errors (refused, timeout, TLS) come back as ``PostResult.error``."""
        if target.address is None:
            return PostResult(None, "the target was not checked")
        connection: http.client.HTTPConnection
        if target.scheme == "https":
            connection = _PinnedHTTPSConnection(target, timeout, self._tls)
        else:
            connection = _PinnedHTTPConnection(target, timeout)
        expired = threading.Event()

        def _expire() -> None:
            expired.set()
            sock = connection.sock
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)  # wakes a blocked read; close() alone would not
                except OSError:
                    pass

        watchdog = threading.Timer(timeout, _expire)
        watchdog.daemon = True
        watchdog.start()
        try:
            request_headers = {"User-Agent": self._user_agent, "Connection": "close", **headers}
            connection.request("POST", target.path, body=body, headers=request_headers)
            response = connection.getresponse()
            response.read(_MAX_BODY_READ)
            return PostResult(response.status, None)
        except (OSError, http.client.HTTPException) as error:
            if expired.is_set() or isinstance(error, TimeoutError):
                return PostResult(None, f"timed out after {timeout:g} s")
            return PostResult(None, _describe(error))
        finally:
            watchdog.cancel()
            connection.close()


def _describe(error: BaseException) -> str:
    """A short, secret-free description of a network error."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"TLS certificate refused: {error.verify_message}"
    if isinstance(error, ssl.SSLError):
        return f"TLS error: {error.reason or type(error).__name__}"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, http.client.RemoteDisconnected):  # before its base, ConnectionResetError
        return "the server closed the connection without answering"
    if isinstance(error, ConnectionResetError):
        return "connection reset by the server"
    text = str(error) or type(error).__name__
    return f"{type(error).__name__}: {text}"[:200]
