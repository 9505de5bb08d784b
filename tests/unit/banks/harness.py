"""A card network on a real socket whose answers can be lost: the sandbox issuers behind ``Iso8583Server``.

``LossyIssuers`` wraps ``SandboxIssuers.handle``: for the message types in ``lose`` the issuer acts and the answer is
lost (the server drops the connection instead of answering, as a network does when a link breaks after the issuer
processed the request); for those in ``drop`` the request is lost on the way and the issuer never sees it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from kleline.banks import Iso8583Server, SandboxIssuers

__all__ = ["LossyIssuers", "serving"]


class LossyIssuers:
    """The sandbox issuers, with answers (``lose``) or requests (``drop``) of chosen message types lost."""

    def __init__(self, issuers: SandboxIssuers | None = None) -> None:
        self.issuers = issuers or SandboxIssuers()
        self.lose: set[str] = set()
        self.drop: set[str] = set()
        self.seen: list[str] = []
        """The message types that reached the issuers, in order."""
        self._lock = threading.Lock()

    def handle(self, request: bytes) -> bytes:
        mti = request[:4].decode("ascii", "replace")
        if mti in self.drop:
            raise ConnectionAbortedError(f"the {mti} request is lost on its way")
        with self._lock:
            self.seen.append(mti)
        answer = self.issuers.handle(request)
        if mti in self.lose:
            raise ConnectionAbortedError(f"the {mti} answer is lost on its way back")
        return answer


@contextmanager
def serving(handler: LossyIssuers, port: int = 0) -> Iterator[Iso8583Server]:
    """An ``Iso8583Server`` for ``handler`` on a loopback port (0: any free one), shut down afterwards."""
    server = Iso8583Server(handler.handle, "127.0.0.1", port).start()
    try:
        yield server
    finally:
        server.shutdown()
